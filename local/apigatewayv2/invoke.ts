/**
 * HTTP API invoke URLs: a request to a stage becomes a payload format 2.0 event (or 1.0, as
 * the integration says) for its Lambda proxy integration, and the function's answer becomes the
 * HTTP response, with HTTP API's rules and limits: a 30 s integration timeout that cannot be
 * raised (503), a function error or malformed answer (500), no route (404), a 10 MB request
 * (413). Every answer carries `apigw-requestid`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { BodyTooLargeError } from '../errors';
import { ACCOUNT_ID, decodePart, readBody, send } from '../http';
import { answerHeaders, buildEvent, invokeWithin, parseProxyResponse, type ExecuteTarget } from '../apigateway/invoke';
import type { InvocationResult } from '../lambda/types';
import { matchHttpRoute } from './model';
import type { HttpApi, HttpApiStore, HttpIntegration, HttpStage } from './model';
import { HTTP_INTEGRATION_TIMEOUT_MS } from './provider';

/** Largest request payload an HTTP API accepts. */
export const MAX_HTTP_API_PAYLOAD = 10 * 1024 * 1024;

/** HTTP API's own answers when a request does not reach its integration or its answer does not come back. */
export const HTTP_API_RESPONSES = {
  /** No stage serves the path, or no route matches it. */
  NOT_FOUND: { status: 404, message: 'Not Found' },
  /** The API's default endpoint is disabled (`disableExecuteApiEndpoint`). */
  FORBIDDEN: { status: 403, message: 'Forbidden' },
  /** The body is over the 10 MB payload limit. */
  REQUEST_TOO_LARGE: { status: 413, message: 'Request Entity Too Large' },
  /** The function failed, could not be called, or answered with something HTTP API cannot map. */
  INTERNAL_SERVER_ERROR: { status: 500, message: 'Internal Server Error' },
  /** The integration did not answer within its timeout (30 s at most). */
  SERVICE_UNAVAILABLE: { status: 503, message: 'Service Unavailable' },
} as const;

/** The name of one of HTTP API's own answers. */
export type HttpApiResponseType = keyof typeof HTTP_API_RESPONSES;

/** Content types whose bodies reach a 2.0 integration as text; every other body is base64. */
const TEXT_TYPES = /^(text\/[^;]*|application\/json|application\/xml|application\/javascript)\s*(;|$)/i;
const LAMBDA_PATH_URI = /^arn:aws[a-zA-Z-]*:apigateway:[a-z0-9-]+:lambda:path\/2015-03-31\/functions\/(.+)\/invocations$/;

/** What the invoke side needs. */
export interface HttpApiInvokeDeps {
  /** The HTTP APIs. */
  store: HttpApiStore;
  /** Invokes a Lambda function synchronously by name or ARN. */
  invokeLambda(ref: string, payload: string): Promise<InvocationResult>;
  /**
   * The stack's integration-timeout setting (ms): below AWS's 29000 default it scales every
   * integration down to it (for fast tests); otherwise each integration's own timeout applies.
   */
  integrationTimeoutMs: number;
  /** Console line writer. */
  log(line: string): void;
  /** Whether the function's resource policy refuses this API's call (`API/STAGE/METHOD/PATH` of the matched route: {@link httpSourceArn}); undefined when allowed. */
  refusesInvoke?: (ref: string, sourceArn: string, credentials?: string) => string | undefined;
}

function sendOwn(res: ServerResponse, type: HttpApiResponseType, headers: Record<string, string>): number {
  const { status, message } = HTTP_API_RESPONSES[type];
  send(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify({ message }));
  return status;
}

function requestTime(d: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** The stage a path names: a named stage by its first segment, else `$default` with the whole path. */
function stageFor(api: HttpApi, apiPath: string): { stage: HttpStage; path: string } | undefined {
  const m = /^\/([^/]+)(\/.*)?$/.exec(apiPath);
  const first = m?.[1] !== undefined ? decodePart(m[1]) : undefined;
  const named = first !== undefined && first !== '$default' ? api.stages.get(first) : undefined;
  if (named) return { stage: named, path: m?.[2] ?? '/' };
  const fallback = api.stages.get('$default');
  return fallback ? { stage: fallback, path: apiPath } : undefined;
}

/**
 * The `API/STAGE/METHOD/PATH` part of the source ARN of an HTTP API's call to its Lambda
 * integration, from the matched route, not from the request: `GET /items/{id}` gives
 * `API/STAGE/GET/items/{id}`, `ANY /{proxy+}` gives `API/STAGE/ANY/{proxy+}`, and the `$default`
 * route `API/STAGE/$default`. Chosen so because AWS's HTTP API developer guide describes the
 * source ARN as `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH` with the route's method
 * and path, and writes `$default` in place of both for the `$default` route; LocalStack's
 * community code has no HTTP APIs to compare with (its REST `get_source_arn` likewise uses the
 * matched method resource, not the request). The stage part is the stage's name (`$default` for
 * the default stage).
 * @param apiId the API
 * @param stage the stage's name
 * @param routeKey the matched route's key
 */
export function httpSourceArn(apiId: string, stage: string, routeKey: string): string {
  if (routeKey === '$default') return `${apiId}/${stage}/$default`;
  const space = routeKey.indexOf(' ');
  return `${apiId}/${stage}/${routeKey.slice(0, space)}/${routeKey.slice(space + 1).replace(/^\//, '')}`;
}

/** What a 2.0 event is built from. */
export interface EventV2Input {
  /** The API. */
  api: HttpApi;
  /** The stage. */
  stage: HttpStage;
  /** The matched route's key. */
  routeKey: string;
  /** Path parameters, if the route has any. */
  pathParameters?: Record<string, string> | undefined;
  /** The path as the client sent it, after the API id (a named stage's segment included). */
  rawPath: string;
  /** The raw query string. */
  rawQueryString: string;
  /** The request body. */
  body: Buffer;
  /** The request id (also `apigw-requestid`). */
  requestId: string;
  /** When the request arrived. */
  now: Date;
}

/**
 * Builds a payload format 2.0 event as HTTP APIs send it: header names lower-cased and repeats
 * joined with commas, the Cookie header moved to `cookies`, repeated query parameters joined
 * with commas, a body that is not text base64-encoded, and absent members left out.
 * @param req the request
 * @param input the API, stage, route and request data
 */
export function buildEventV2(req: IncomingMessage, input: EventV2Input): Record<string, unknown> {
  const headers: Record<string, string> = {};
  let cookies: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') {
      cookies = [...cookies, ...value.split(';').map((c) => c.trim()).filter(Boolean)];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  headers['x-forwarded-for'] ??= sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-forwarded-port'] ??= String(req.socket.localPort ?? 4566);
  headers['x-amzn-trace-id'] ??= `Root=1-${Math.floor(input.now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

  let queryStringParameters: Record<string, string> | undefined;
  if (input.rawQueryString) {
    for (const [k, v] of new URLSearchParams(input.rawQueryString)) {
      queryStringParameters ??= {};
      queryStringParameters[k] = queryStringParameters[k] === undefined ? v : `${queryStringParameters[k]},${v}`;
    }
  }
  const hasBody = input.body.length > 0;
  const base64 = hasBody && !TEXT_TYPES.test(headers['content-type'] ?? '');
  const domainName = String(req.headers.host ?? 'localhost');
  return {
    version: '2.0',
    routeKey: input.routeKey,
    rawPath: input.rawPath,
    rawQueryString: input.rawQueryString,
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(queryStringParameters && { queryStringParameters }),
    requestContext: {
      accountId: ACCOUNT_ID,
      apiId: input.api.apiId,
      domainName,
      domainPrefix: domainName.split('.')[0]?.split(':')[0] ?? '',
      http: {
        method: String(req.method),
        path: input.rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: input.requestId,
      routeKey: input.routeKey,
      stage: input.stage.stageName,
      time: requestTime(input.now),
      timeEpoch: input.now.getTime(),
    },
    ...(hasBody && { body: base64 ? input.body.toString('base64') : input.body.toString('utf8') }),
    ...(input.pathParameters && { pathParameters: input.pathParameters }),
    isBase64Encoded: base64,
    ...(Object.keys(input.stage.stageVariables).length > 0 && { stageVariables: input.stage.stageVariables }),
  };
}

/** A mapped 2.0 answer, or why it cannot be mapped. */
export type ResponseV2 = { status: number; headers: [string, string][]; cookies: string[]; body: Buffer } | { malformed: string };

/**
 * Maps a function's answer as payload format 2.0 does: an object with `statusCode` is a
 * structured response (headers, `cookies` as Set-Cookie, body, isBase64Encoded); any other
 * valid JSON is a 200 `application/json` answer whose body is the string itself, or the JSON.
 * @param payload the function's result
 */
export function parseResponseV2(payload: string): ResponseV2 {
  let r: unknown;
  try {
    r = JSON.parse(payload);
  } catch {
    return { malformed: 'result is not JSON' };
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r) || !('statusCode' in r)) {
    const body = typeof r === 'string' ? r : payload;
    return { status: 200, headers: [['content-type', 'application/json']], cookies: [], body: Buffer.from(body, 'utf8') };
  }
  const o = r as Record<string, unknown>;
  const status = typeof o.statusCode === 'string' && /^\d+$/.test(o.statusCode) ? Number(o.statusCode) : o.statusCode;
  // 1xx are interim answers, never a final one: HTTP cannot end a request with them.
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) return { malformed: 'statusCode is not a valid final HTTP status (200 to 599)' };
  const scalar = (v: unknown): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v);
  const headers: [string, string][] = [];
  if (o.headers !== undefined && o.headers !== null) {
    if (typeof o.headers !== 'object' || Array.isArray(o.headers)) return { malformed: 'headers is not an object' };
    for (const [k, v] of Object.entries(o.headers as Record<string, unknown>)) {
      if (v === null) continue;
      if (!scalar(v)) return { malformed: `headers.${k} is not a string` };
      headers.push([k, String(v)]);
    }
  }
  let cookies: string[] = [];
  if (o.cookies !== undefined && o.cookies !== null) {
    if (!Array.isArray(o.cookies) || !o.cookies.every((c) => typeof c === 'string')) return { malformed: 'cookies is not a list of strings' };
    cookies = o.cookies as string[];
  }
  if (o.body !== undefined && o.body !== null && typeof o.body !== 'string') return { malformed: 'body is not a string' };
  if (o.isBase64Encoded !== undefined && o.isBase64Encoded !== null && typeof o.isBase64Encoded !== 'boolean') return { malformed: 'isBase64Encoded is not a boolean' };
  const text = typeof o.body === 'string' ? o.body : '';
  return { status, headers, cookies, body: o.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8') };
}

/** The function an AWS_PROXY integration calls: its ARN, or the one inside an Invoke URI. */
function lambdaOf(integration: HttpIntegration | undefined): string | undefined {
  if (integration?.integrationType !== 'AWS_PROXY' || typeof integration.integrationUri !== 'string') return undefined;
  const inner = LAMBDA_PATH_URI.exec(integration.integrationUri)?.[1];
  return inner !== undefined ? decodePart(inner) : integration.integrationUri;
}

/**
 * Answers one request to an HTTP API's invoke URL.
 * @param deps what the invoke side needs
 * @param req the request
 * @param res the response
 * @param target where the invoke URL points (its `apiPath` is read)
 */
export async function handleHttpApiExecute(deps: HttpApiInvokeDeps, req: IncomingMessage, res: ServerResponse, target: ExecuteTarget): Promise<void> {
  const started = Date.now();
  const now = new Date();
  const requestId = randomBytes(12).toString('base64').slice(0, 15) + '=';
  const base = { 'apigw-requestid': requestId };
  const done = (status: number, note = ''): void =>
    deps.log(`[apigateway] ${req.method} /${target.apiId}${target.apiPath} -> ${status} (${Date.now() - started} ms)${note ? ' ' + note : ''}`);

  let body: Buffer;
  try {
    body = await readBody(req, MAX_HTTP_API_PAYLOAD);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      done(sendOwn(res, 'REQUEST_TOO_LARGE', base));
      return;
    }
    throw err;
  }
  // Looked up after the body was read: the API may have been deleted meanwhile.
  const api = deps.store.apis.get(target.apiId);
  if (!api) {
    done(sendOwn(res, 'NOT_FOUND', base), '(no such API)');
    return;
  }
  if (api.disableExecuteApiEndpoint) {
    done(sendOwn(res, 'FORBIDDEN', base), '(the default endpoint is disabled)');
    return;
  }
  const served = stageFor(api, target.apiPath);
  const deployment = served?.stage.deploymentId !== undefined ? api.deployments.get(served.stage.deploymentId) : undefined;
  if (!served || !deployment) {
    done(sendOwn(res, 'NOT_FOUND', base), '(no stage serves this path)');
    return;
  }
  const match = matchHttpRoute(deployment.routes, served.path, String(req.method));
  if (!match) {
    done(sendOwn(res, 'NOT_FOUND', base), '(no route)');
    return;
  }
  const integrationId = /^integrations\/(.+)$/.exec(match.route.target ?? '')?.[1];
  const integration = integrationId !== undefined ? deployment.integrations.get(integrationId) : undefined;
  const lambdaRef = lambdaOf(integration);
  if (!integration || lambdaRef === undefined) {
    done(sendOwn(res, 'INTERNAL_SERVER_ERROR', base), `(route ${match.route.routeKey}: ${integration ? `integration type ${integration.integrationType} is not emulated` : 'no integration'})`);
    return;
  }
  // An integration with `credentialsArn` invokes as that role (its policies decide, not the function's).
  const refused = deps.refusesInvoke?.(lambdaRef, httpSourceArn(api.apiId, served.stage.stageName, match.route.routeKey), typeof integration.credentialsArn === 'string' ? integration.credentialsArn : undefined);
  if (refused !== undefined) {
    done(sendOwn(res, 'INTERNAL_SERVER_ERROR', base), `(Invalid permissions on Lambda function: ${refused})`);
    return;
  }
  const format = integration.payloadFormatVersion === '1.0' ? '1.0' : '2.0';
  const event = format === '2.0'
    ? buildEventV2(req, {
      api, stage: served.stage, routeKey: match.route.routeKey, pathParameters: match.pathParameters,
      rawPath: target.apiPath.split('?')[0] ?? '/', rawQueryString: target.query, body, requestId, now,
    })
    : {
      version: '1.0',
      ...buildEvent(req, { ...target, stage: served.stage.stageName, path: served.path }, { id: api.apiId, binaryMediaTypes: [] }, body, {
        resourcePath: match.route.routeKey === '$default' ? '$default' : match.route.routeKey.slice(match.route.routeKey.indexOf(' ') + 1),
        resourceId: match.route.routeId, pathParameters: match.pathParameters ?? null,
      }, { requestId, extendedRequestId: requestId, now }, Object.keys(served.stage.stageVariables).length ? served.stage.stageVariables : null, { restRules: false }),
    };
  const own = Math.min(integration.timeoutInMillis, HTTP_INTEGRATION_TIMEOUT_MS.max);
  const timeoutMs = deps.integrationTimeoutMs < 29_000 ? Math.min(own, deps.integrationTimeoutMs) : own;

  const called = await invokeWithin(deps.invokeLambda, lambdaRef, JSON.stringify(event), timeoutMs);
  if ('refused' in called) {
    done(sendOwn(res, 'INTERNAL_SERVER_ERROR', base), `(${called.refused})`);
    return;
  }
  if ('timedOut' in called) {
    done(sendOwn(res, 'SERVICE_UNAVAILABLE', base), `(integration timeout ${timeoutMs} ms)`);
    return;
  }
  const outcome = called.result;
  if (!outcome.ok) {
    done(sendOwn(res, 'INTERNAL_SERVER_ERROR', base), `(function error ${outcome.errorType ?? ''})`);
    return;
  }
  const parsed = format === '2.0' ? parseResponseV2(outcome.payload) : withoutCookies(parseProxyResponse(outcome.payload, { onlyKnownMembers: false }));
  if ('malformed' in parsed) {
    done(sendOwn(res, 'INTERNAL_SERVER_ERROR', base), `(malformed Lambda proxy response, payload ${format}: ${parsed.malformed})`);
    return;
  }
  if (res.headersSent || res.destroyed) return;
  const grouped = answerHeaders(parsed.headers);
  // `cookies` join a Set-Cookie the headers carry: one header, every cookie once.
  if (parsed.cookies.length > 0) {
    const setCookie = grouped.get('set-cookie') ?? { name: 'Set-Cookie', values: [] };
    setCookie.values.push(...parsed.cookies);
    grouped.set('set-cookie', setCookie);
  }
  const headers: Record<string, string | string[]> = {};
  for (const { name, values } of grouped.values()) headers[name] = values.length === 1 && name.toLowerCase() !== 'set-cookie' ? (values[0] ?? '') : values;
  Object.assign(headers, base);
  try {
    send(res, parsed.status, headers, parsed.body);
  } catch (err) {
    // A header HTTP cannot carry (a newline, a space in a name).
    if (res.headersSent) throw err;
    done(sendOwn(res, 'INTERNAL_SERVER_ERROR', base), `(a header cannot be sent: ${err instanceof Error ? err.message : String(err)})`);
    return;
  }
  done(parsed.status);
}

function withoutCookies(parsed: ReturnType<typeof parseProxyResponse>): ResponseV2 {
  return 'malformed' in parsed ? parsed : { ...parsed, cookies: [] };
}
