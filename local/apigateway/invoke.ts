/**
 * API Gateway invoke URLs: a request to a deployed stage becomes a v1.0
 * proxy event for the AWS_PROXY Lambda integration, and the function's
 * answer becomes the HTTP response, with API Gateway's limits (29 s
 * integration timeout → 504, malformed answer or function error → 502,
 * 10 MB request → 413). A STREAM integration (`responseTransferMode`)
 * forwards the function's metadata, then its body as it is written, within
 * the integration timeout (up to 15 minutes) and the stream's idle timeout.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { randomBytes, randomUUID } from 'node:crypto';
import { AwsError, BodyTooLargeError } from '../errors';
import { ACCOUNT_ID, decodePart, readBody, send } from '../http';
import { sendGatewayResponse } from './errors';
import type { InvocationResult, ResponseSink } from '../lambda/types';
import { matchRoute } from './model';
import type { ApiGatewayStore, RestApi } from './model';

/** Largest request payload API Gateway accepts. */
export const MAX_API_PAYLOAD = 10 * 1024 * 1024;
/** API Gateway's default integration timeout. */
export const DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000;

/** The stream's idle timeout on Regional and private endpoints (5 minutes). */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
/** A streamed response is sent at full speed up to this many bytes (10 MB)... */
export const STREAM_UNTHROTTLED_BYTES = 10 * 1024 * 1024;
/** ...and at this many bytes a second after that (2 MB/s). */
export const STREAM_BYTES_PER_SECOND = 2 * 1024 * 1024;
/** The metadata and its 8-NUL delimiter must come within the first 16 KB of a stream. */
const MAX_METADATA_BYTES = 16 * 1024;
const DELIMITER = Buffer.alloc(8);

const LAMBDA_URI = /^arn:aws[a-zA-Z-]*:apigateway:[a-z0-9-]+:lambda:path\/2015-03-31\/functions\/(.+)\/invocations$/;
const STREAMING_LAMBDA_URI = /^arn:aws[a-zA-Z-]*:apigateway:[a-z0-9-]+:lambda:path\/2021-11-15\/functions\/(.+)\/response-streaming-invocations$/;

/** What the invoke side needs. */
export interface ApiInvokeDeps {
  /** API Gateway data. */
  store: ApiGatewayStore;
  /** Invokes a Lambda function synchronously by name or ARN. */
  invokeLambda(ref: string, payload: string): Promise<InvocationResult>;
  /** Invokes a Lambda function with its response streamed to `sink`. */
  invokeLambdaStreaming(ref: string, payload: string, sink: ResponseSink): Promise<InvocationResult>;
  /** The buffered-integration timeout quota (ms): a buffered integration waits at most this. */
  integrationTimeoutMs: number;
  /** How long a streamed response may stay silent (ms), before its first byte too. */
  streamIdleTimeoutMs: number;
  /**
   * Whether the function's resource policy refuses API Gateway's call from this source ARN:
   * undefined when it is allowed, else why not (AWS answers 500 "Internal server error").
   */
  refusesInvoke?: (ref: string, sourceArn: string, credentials?: string) => string | undefined;
  /** Console line writer. */
  log(line: string): void;
}

/** Where an invoke URL points. */
export interface ExecuteTarget {
  /** API id. */
  apiId: string;
  /** Stage name: the first segment after the API id (empty when there is none). */
  stage: string;
  /** Path after the stage, starting with `/` (still percent-encoded). */
  path: string;
  /**
   * The whole path after the API id, starting with `/` (still percent-encoded): an HTTP API
   * decides from its stages whether the first segment names one, or the `$default` stage serves it.
   */
  apiPath: string;
  /** Raw query string without `?`. */
  query: string;
}

/**
 * Recognises the invoke URL shapes: `/_aws/execute-api/{api}/{stage}/...`,
 * `/restapis/{api}/{stage}/_user_request_/...` and the host
 * `{api}.execute-api.localhost.localstack.cloud` with `/{stage}/...` (for an HTTP API's
 * `$default` stage, the path follows the API id or the host directly).
 * @param rawUrl the request URL
 * @param host the Host header
 */
export function executeTarget(rawUrl: string, host: string | undefined): ExecuteTarget | undefined {
  const q = rawUrl.indexOf('?');
  const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = q < 0 ? '' : rawUrl.slice(q + 1);
  const split = (apiId: string, apiPath: string): ExecuteTarget => {
    const p = /^\/([^/]+)(\/.*)?$/.exec(apiPath);
    return { apiId, stage: p?.[1] ?? '', path: p?.[2] ?? '/', apiPath, query };
  };
  let m = /^\/_aws\/execute-api\/([a-z0-9]+)(\/.*)?$/.exec(pathname);
  if (m) return split(m[1] ?? '', m[2] ?? '/');
  m = /^\/restapis\/([a-z0-9]+)\/([^/]+)\/_user_request_(\/.*)?$/.exec(pathname);
  if (m) return { apiId: m[1] ?? '', stage: m[2] ?? '', path: m[3] ?? '/', apiPath: `/${m[2] ?? ''}${m[3] ?? '/'}`, query };
  const h = /^([a-z0-9]+)\.execute-api\.localhost\.localstack\.cloud(:\d+)?$/.exec(host ?? '');
  if (h) return split(h[1] ?? '', pathname || '/');
  return undefined;
}

/** True when a content type matches one of the API's binary media types (with `*` wildcards). */
function isBinaryType(contentType: string | undefined, binaryMediaTypes: string[]): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return binaryMediaTypes.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p === '*/*') return true;
    if (p.endsWith('/*')) return type.startsWith(p.slice(0, -1));
    return p === type;
  });
}

function requestTime(d: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/**
 * A parsed proxy response, or a reason why it is malformed. `body` is decoded when the response
 * says `isBase64Encoded`; `encoded` then keeps the text, which a REST API sends as it is unless
 * the request's Accept names a binary media type.
 */
type ProxyResponse = { status: number; headers: [string, string][]; body: Buffer; encoded?: string } | { malformed: string };

/** The members of a REST API's Lambda proxy response; any other one is refused with 502. */
export const PROXY_RESPONSE_MEMBERS: ReadonlySet<string> = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded']);

/**
 * Checks and converts a Lambda proxy integration response (v1.0 format), as a REST API reads it
 * (recorded on AWS: LocalStack's parity snapshot `tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json`,
 * `test_aws_proxy_response_payload_format_validation`): a member other than the five of
 * {@link PROXY_RESPONSE_MEMBERS} is malformed, a missing `statusCode` is 200, a string of digits
 * is a status.
 * @param payload the function's result JSON
 * @param options `onlyKnownMembers: false` for an HTTP API's payload 1.0, which does not refuse other members
 */
export function parseProxyResponse(payload: string, options: { onlyKnownMembers?: boolean } = {}): ProxyResponse {
  let r: unknown;
  try {
    r = JSON.parse(payload);
  } catch {
    return { malformed: 'result is not JSON' };
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return { malformed: 'result is not an object' };
  const o = r as Record<string, unknown>;
  if (options.onlyKnownMembers !== false) {
    const extra = Object.keys(o).find((key) => !PROXY_RESPONSE_MEMBERS.has(key));
    if (extra !== undefined) return { malformed: `the member ${JSON.stringify(extra)} is not one of ${[...PROXY_RESPONSE_MEMBERS].join(', ')}` };
  }
  const given = o.statusCode === undefined ? 200 : o.statusCode;
  const status = typeof given === 'string' && /^\d+$/.test(given) ? Number(given) : given;
  // 1xx are interim answers, never a final one.
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    return { malformed: 'statusCode is not a valid final HTTP status (200 to 599)' };
  }
  const scalar = (v: unknown): v is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof v);
  const headers: [string, string][] = [];
  if (o.multiValueHeaders !== undefined && o.multiValueHeaders !== null) {
    if (typeof o.multiValueHeaders !== 'object' || Array.isArray(o.multiValueHeaders)) return { malformed: 'multiValueHeaders is not an object' };
    for (const [k, vs] of Object.entries(o.multiValueHeaders as Record<string, unknown>)) {
      if (vs === null) continue;
      if (!Array.isArray(vs) || !vs.every(scalar)) return { malformed: `multiValueHeaders.${k} is not a list of strings` };
      for (const v of vs) headers.push([k, String(v)]);
    }
  }
  if (o.headers !== undefined && o.headers !== null) {
    if (typeof o.headers !== 'object' || Array.isArray(o.headers)) return { malformed: 'headers is not an object' };
    for (const [k, v] of Object.entries(o.headers as Record<string, unknown>)) {
      if (v === null) continue;
      if (!scalar(v)) return { malformed: `headers.${k} is not a string` };
      // A pair given in both places appears once (multiValueHeaders wins).
      if (!headers.some(([hk, hv]) => hk.toLowerCase() === k.toLowerCase() && hv === String(v))) headers.push([k, String(v)]);
    }
  }
  if (o.body !== undefined && o.body !== null && typeof o.body !== 'string') return { malformed: 'body is not a string' };
  if (o.isBase64Encoded !== undefined && o.isBase64Encoded !== null && typeof o.isBase64Encoded !== 'boolean') {
    return { malformed: 'isBase64Encoded is not a boolean' };
  }
  const text = typeof o.body === 'string' ? o.body : '';
  if (o.isBase64Encoded !== true) return { status, headers, body: Buffer.from(text, 'utf8') };
  return { status, headers, body: Buffer.from(text, 'base64'), encoded: text };
}

/** Text that is base64 (whitespace aside), as API Gateway decodes it. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Whether a REST API sends a base64 body decoded, as recorded on AWS (LocalStack's
 * `tests/aws/services/apigateway/test_apigateway_lambda.py::test_aws_proxy_binary_response`,
 * validated against AWS): only the first media range of the request's Accept counts, without
 * its parameters; it must equal a binary media type, or fall under one whose subtype is `*`
 * (`application/*`). A type with a star on the left ("star/test") matches nothing; "star/star",
 * the usual "everything is binary", is taken to match every Accept (not in that recording). The
 * function's Content-Type plays no part.
 * @param accept the request's Accept header
 * @param binaryMediaTypes the deployed API's binary media types
 */
export function acceptsBinary(accept: string | undefined, binaryMediaTypes: readonly string[]): boolean {
  const first = (accept ?? '').split(',')[0]?.split(';')[0]?.trim().toLowerCase() ?? '';
  if (!/^[^/\s]+\/[^/\s]+$/.test(first)) return false;
  return binaryMediaTypes.some((raw) => {
    const pattern = raw.toLowerCase();
    if (pattern === '*/*') return true;
    if (pattern.startsWith('*')) return false;
    if (pattern.endsWith('/*')) return first.startsWith(pattern.slice(0, -1));
    return pattern === first;
  });
}

/** How a buffered integration's call ended: the function's result, its timeout, or a refused call. */
export type IntegrationOutcome = { result: InvocationResult } | { timedOut: true } | { refused: string };

/**
 * Calls a function for an integration and waits for it at most `timeoutMs`; the function keeps
 * running after a timeout, as on AWS. A call the stack refuses (missing, throttled) is `refused`.
 * @param invoke the Lambda invoke
 * @param ref the function's name or ARN
 * @param payload the event
 * @param timeoutMs the integration's timeout
 */
export async function invokeWithin(invoke: (ref: string, payload: string) => Promise<InvocationResult>, ref: string, payload: string, timeoutMs: number): Promise<IntegrationOutcome> {
  const invocation = invoke(ref, payload);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([invocation, timeout]);
    if (outcome !== 'timeout') return { result: outcome };
    invocation.catch(() => undefined);
    return { timedOut: true };
  } catch (err) {
    return { refused: err instanceof AwsError ? `${err.code}: ${err.message}` : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A function's response headers as API Gateway sends them: grouped by name (any case, the first
 * spelling kept), without the hop-by-hop ones, `Content-Type: application/json` when none.
 * @param pairs the headers in order
 */
export function answerHeaders(pairs: ReadonlyArray<readonly [string, string]>): Map<string, { name: string; values: string[] }> {
  const grouped = new Map<string, { name: string; values: string[] }>();
  for (const [k, v] of pairs) {
    const key = k.toLowerCase();
    if (key === 'content-length' || key === 'transfer-encoding' || key === 'connection') continue;
    const g = grouped.get(key) ?? { name: k, values: [] };
    g.values.push(v);
    grouped.set(key, g);
  }
  if (!grouped.has('content-type')) grouped.set('content-type', { name: 'Content-Type', values: ['application/json'] });
  return grouped;
}

/** Whether `x-api-key` names an enabled key of a usage plan covering this stage. */
function apiKeyAllowed(store: ApiGatewayStore, apiId: string, stage: string, key: string | undefined): boolean {
  if (!key) return false;
  const found = [...store.apiKeys.values()].find((k) => k.value === key && k.enabled);
  if (!found) return false;
  return [...store.usagePlans.values()].some(
    (p) => p.keyIds.has(found.id) && p.apiStages.some((s) => s.apiId === apiId && s.stage === stage),
  );
}

/**
 * Header names a REST API's event spells its own way, whatever the client sent, and headers it
 * leaves out, as recorded on AWS (LocalStack's `test_apigateway_lambda.snapshot.json`,
 * `test_lambda_aws_proxy_integration`: `authorization` arrives as `Authorization`; a POST's
 * `Content-Length` and `Connection` are not in the event).
 */
const CANONICAL_HEADER_NAMES: Readonly<Record<string, string>> = { authorization: 'Authorization', 'user-agent': 'User-Agent' };
const DROPPED_HEADERS: ReadonlySet<string> = new Set(['content-length', 'connection']);

/**
 * Builds the v1.0 proxy event (a REST API's, and an HTTP API's with payload format 1.0).
 * @param req the request
 * @param target where the invoke URL points
 * @param api the API: its id, and the media types it passes as base64
 * @param body request body
 * @param route matched resource and path parameters
 * @param ids request ids (`deploymentId` for a REST API's event)
 * @param stageVariables the stage's variables
 * @param options `restRules: false` for an HTTP API's payload 1.0: the REST-only rules recorded for
 *   REST APIs (`Authorization`/`User-Agent` respelt, `Content-Length` and `Connection` left out,
 *   `requestContext.deploymentId`) do not apply; headers arrive as received, as AWS's HTTP API
 *   guide shows the 1.0 format (its example has no `deploymentId`)
 */
export function buildEvent(
  req: IncomingMessage, target: ExecuteTarget, api: Pick<RestApi, 'id' | 'binaryMediaTypes'>, body: Buffer,
  route: { resourcePath: string; resourceId: string; pathParameters: Record<string, string> | null },
  ids: { requestId: string; extendedRequestId: string; now: Date; deploymentId?: string },
  stageVariables: Record<string, string> | null,
  options: { restRules?: boolean } = {},
): Record<string, unknown> {
  const rest = options.restRules !== false;
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const add = (name: string, value: string): void => {
    const canonical = (rest ? CANONICAL_HEADER_NAMES[name.toLowerCase()] : undefined) ?? name;
    const existing = Object.keys(multiValueHeaders).find((k) => k.toLowerCase() === canonical.toLowerCase()) ?? canonical;
    headers[existing] = value;
    (multiValueHeaders[existing] ??= []).push(value);
  };
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? '';
    if (rest && DROPPED_HEADERS.has(name.toLowerCase())) continue;
    add(name, req.rawHeaders[i + 1] ?? '');
  }
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const has = (name: string): boolean => Object.keys(headers).some((k) => k.toLowerCase() === name.toLowerCase());
  if (!has('X-Forwarded-For')) add('X-Forwarded-For', sourceIp);
  if (!has('X-Forwarded-Proto')) add('X-Forwarded-Proto', 'http');
  if (!has('X-Forwarded-Port')) add('X-Forwarded-Port', String(req.socket.localPort ?? 4566));
  if (!has('X-Amzn-Trace-Id')) add('X-Amzn-Trace-Id', `Root=1-${Math.floor(ids.now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`);

  let queryStringParameters: Record<string, string> | null = null;
  let multiValueQueryStringParameters: Record<string, string[]> | null = null;
  if (target.query) {
    for (const [k, v] of new URLSearchParams(target.query)) {
      (queryStringParameters ??= {})[k] = v;
      ((multiValueQueryStringParameters ??= {})[k] ??= []).push(v);
    }
  }
  const binary = body.length > 0 && (isBinaryType(req.headers['content-type'], api.binaryMediaTypes) || !isUtf8(body));
  // The API's own host, as on AWS; a path-style URL of the stack names it in the path only.
  const host = String(req.headers.host ?? 'localhost');
  const domainName = host.startsWith(`${api.id}.execute-api.`) ? host : `${api.id}.execute-api.localhost.localstack.cloud:${req.socket.localPort ?? 4566}`;
  const userAgent = req.headers['user-agent'] ?? null;
  const apiKey = typeof req.headers['x-api-key'] === 'string' ? req.headers['x-api-key'] : null;
  return {
    resource: route.resourcePath,
    // Recorded on AWS: a path sent as //proxy-value is /proxy-value here (and kept in requestContext.path).
    path: target.path.replace(/^\/{2,}/, '/'),
    httpMethod: req.method,
    headers: Object.keys(headers).length ? headers : null,
    multiValueHeaders: Object.keys(multiValueHeaders).length ? multiValueHeaders : null,
    queryStringParameters,
    multiValueQueryStringParameters,
    pathParameters: route.pathParameters,
    stageVariables,
    requestContext: {
      resourceId: route.resourceId,
      ...(rest && ids.deploymentId !== undefined && { deploymentId: ids.deploymentId }),
      resourcePath: route.resourcePath,
      httpMethod: req.method,
      extendedRequestId: ids.extendedRequestId,
      requestTime: requestTime(ids.now),
      path: `/${target.stage}${target.path}`,
      accountId: ACCOUNT_ID,
      protocol: `HTTP/${req.httpVersion}`,
      stage: target.stage,
      domainPrefix: domainName.split('.')[0]?.split(':')[0] ?? '',
      requestTimeEpoch: ids.now.getTime(),
      requestId: ids.requestId,
      identity: {
        cognitoIdentityPoolId: null, accountId: null, cognitoIdentityId: null, caller: null,
        sourceIp, principalOrgId: null, accessKey: null, cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null, userArn: null, userAgent, user: null,
        ...(apiKey ? { apiKey } : {}),
      },
      domainName,
      apiId: api.id,
    },
    body: body.length === 0 ? null : binary ? body.toString('base64') : body.toString('utf8'),
    isBase64Encoded: binary,
  };
}

/**
 * The `API/STAGE/HTTPMETHOD/RESOURCEPATH` part of the source ARN of a REST API's call to its
 * integration: from the method resource that matched (`ANY` for an ANY method, the path template).
 * @param apiId the API
 * @param stage the stage's name
 * @param httpMethod the method's own httpMethod
 * @param resourcePath the resource's path, e.g. `/items/{id}` (`/` for the root)
 */
export function restSourceArn(apiId: string, stage: string, httpMethod: string, resourcePath: string): string {
  return `${apiId}/${stage}/${httpMethod}/${resourcePath.replace(/^\//, '')}`;
}

/**
 * Answers one request to an invoke URL.
 * @param deps what the invoke side needs
 * @param req the request
 * @param res the response
 * @param target where the invoke URL points
 */
export async function handleExecute(deps: ApiInvokeDeps, req: IncomingMessage, res: ServerResponse, target: ExecuteTarget): Promise<void> {
  const started = Date.now();
  const now = new Date();
  const requestId = randomUUID();
  const extendedRequestId = randomBytes(12).toString('base64').slice(0, 16);
  const base = { 'x-amzn-RequestId': requestId, 'x-amz-apigw-id': extendedRequestId };
  const done = (status: number, note = ''): void =>
    deps.log(`[apigateway] ${req.method} /${target.apiId}/${target.stage}${target.path} -> ${status} (${Date.now() - started} ms)${note ? ' ' + note : ''}`);

  let body: Buffer;
  try {
    body = await readBody(req, MAX_API_PAYLOAD);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      done(sendGatewayResponse(res, 'REQUEST_TOO_LARGE', base));
      return;
    }
    throw err;
  }
  const api = deps.store.apis.get(target.apiId);
  const stage = api?.stages.get(target.stage);
  const deployment = stage ? api?.deployments.get(stage.deploymentId) : undefined;
  if (!api || !stage || !deployment) {
    done(sendGatewayResponse(res, 'DEFAULT_4XX', base), '(no such API or stage)');
    return;
  }
  const route = matchRoute(deployment.snapshot, target.path, String(req.method));
  if (!route) {
    done(sendGatewayResponse(res, 'MISSING_AUTHENTICATION_TOKEN', base), '(no route)');
    return;
  }
  if (route.method.apiKeyRequired && api.apiKeySource === 'HEADER') {
    const key = req.headers['x-api-key'];
    if (!apiKeyAllowed(deps.store, api.id, stage.stageName, typeof key === 'string' ? key : undefined)) {
      done(sendGatewayResponse(res, 'INVALID_API_KEY', base), '(API key)');
      return;
    }
  }
  const integration = route.method.methodIntegration;
  if (integration?.type === 'MOCK') {
    send(res, 200, { 'Content-Type': 'application/json', ...base });
    done(200);
    return;
  }
  const streaming = integration?.['responseTransferMode'] === 'STREAM';
  const uriPattern = streaming ? STREAMING_LAMBDA_URI : LAMBDA_URI;
  const lambdaRef = integration?.type === 'AWS_PROXY' ? uriPattern.exec(String(integration.uri ?? ''))?.[1] : undefined;
  if (!lambdaRef) {
    done(sendGatewayResponse(res, 'API_CONFIGURATION_ERROR', base), `(unsupported integration ${integration?.type ?? 'none'})`);
    return;
  }
  // The call comes from arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/HTTPMETHOD/RESOURCEPATH, built
  // from the method resource, not from the request: the method's own httpMethod (ANY for an ANY
  // method) and the resource's path template without its leading slash (`items/{id}`, `{proxy+}`;
  // empty for the root: `.../dev/ANY/`), as AWS's "Control access to a REST API with IAM
  // permissions" (execute-api ARN format) and LocalStack's `get_source_arn`
  // (services/apigateway/next_gen/execute_api/helpers.py) build it. The function's resource policy
  // must allow it (lambda add-permission), or AWS answers 500.
  // An integration with `credentials` invokes as that role (its policies, not the function's
  // resource policy, decide); `arn:aws:iam::*:user/*` passes the caller's own credentials on.
  const credentials = typeof integration?.['credentials'] === 'string' ? integration['credentials'] : undefined;
  const refused = deps.refusesInvoke?.(decodePart(lambdaRef), restSourceArn(api.id, stage.stageName, route.method.httpMethod, route.resource.path), credentials);
  if (refused !== undefined) {
    done(sendGatewayResponse(res, 'API_CONFIGURATION_ERROR', base), `(Execution failed due to configuration error: Invalid permissions on Lambda function: ${refused})`);
    return;
  }
  const event = buildEvent(req, target, api, body, {
    resourcePath: route.resource.path, resourceId: route.resource.id, pathParameters: route.pathParameters,
  }, { requestId, extendedRequestId, now, deploymentId: deployment.id }, stage.variables && Object.keys(stage.variables).length ? stage.variables : null);
  const own = typeof integration?.['timeoutInMillis'] === 'number' ? integration['timeoutInMillis'] : DEFAULT_INTEGRATION_TIMEOUT_MS;
  const traceId = String((event.headers as Record<string, string>)['X-Amzn-Trace-Id'] ?? '');
  if (streaming) {
    await forwardStream(deps, res, decodePart(lambdaRef), JSON.stringify(event), { ...base, 'X-Amzn-Trace-Id': traceId }, own, done);
    return;
  }
  const timeoutMs = Math.min(own, deps.integrationTimeoutMs);

  const called = await invokeWithin(deps.invokeLambda, decodePart(lambdaRef), JSON.stringify(event), timeoutMs);
  if ('refused' in called) {
    // The function is missing, throttled or the call was refused: a configuration error on AWS.
    done(sendGatewayResponse(res, 'API_CONFIGURATION_ERROR', base), `(${called.refused})`);
    return;
  }
  if ('timedOut' in called) {
    done(sendGatewayResponse(res, 'INTEGRATION_TIMEOUT', base), `(integration timeout ${timeoutMs} ms)`);
    return;
  }
  const outcome = called.result;
  if (!outcome.ok) {
    done(sendGatewayResponse(res, 'DEFAULT_5XX', base), `(function error ${outcome.errorType ?? ''})`);
    return;
  }
  const parsed = parseProxyResponse(outcome.payload);
  if ('malformed' in parsed) {
    done(sendGatewayResponse(res, 'DEFAULT_5XX', base), `(malformed Lambda proxy response: ${parsed.malformed})`);
    return;
  }
  let answerBody = parsed.body;
  if (parsed.encoded !== undefined) {
    if (!acceptsBinary(req.headers.accept, deployment.binaryMediaTypes ?? api.binaryMediaTypes)) answerBody = Buffer.from(parsed.encoded, 'utf8');
    else if (!BASE64.test(parsed.encoded.replace(/\s/g, ''))) {
      // Recorded on AWS: a body that is not base64, to be decoded, is a 500.
      done(sendGatewayResponse(res, 'API_CONFIGURATION_ERROR', base), '(isBase64Encoded, but the body is not base64)');
      return;
    }
  }
  if (res.headersSent || res.destroyed) return;
  const grouped = answerHeaders(parsed.headers);
  const headers: Record<string, string | string[]> = { ...base, 'X-Amzn-Trace-Id': traceId };
  for (const { name, values } of grouped.values()) headers[name] = values.length === 1 ? (values[0] ?? '') : values;
  send(res, parsed.status, headers, answerBody);
  done(parsed.status);
}

/** The status and headers a streamed response starts with, read from the function's metadata. */
function streamHead(metadata: unknown): { status: number; headers: Record<string, string | string[]> } | { malformed: string } {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return { malformed: 'the metadata is not a JSON object' };
  const m = metadata as Record<string, unknown>;
  const status = m['statusCode'] ?? 200;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return { malformed: 'statusCode is not a valid HTTP status' };
  const grouped = new Map<string, { name: string; values: string[] }>();
  const put = (name: string, values: string[]): void => {
    const key = name.toLowerCase();
    if (key === 'content-length' || key === 'connection') return;
    grouped.set(key, { name, values });
  };
  if (m['headers'] !== undefined) {
    if (typeof m['headers'] !== 'object' || m['headers'] === null || Array.isArray(m['headers'])) return { malformed: 'headers is not an object' };
    for (const [k, v] of Object.entries(m['headers'] as Record<string, unknown>)) if (v !== null && v !== undefined) put(k, [String(v)]);
  }
  if (m['multiValueHeaders'] !== undefined) {
    if (typeof m['multiValueHeaders'] !== 'object' || m['multiValueHeaders'] === null || Array.isArray(m['multiValueHeaders'])) return { malformed: 'multiValueHeaders is not an object' };
    // For a name in both, the multi-value headers win.
    for (const [k, vs] of Object.entries(m['multiValueHeaders'] as Record<string, unknown>)) if (Array.isArray(vs)) put(k, vs.map(String));
  }
  const headers: Record<string, string | string[]> = {};
  for (const { name, values } of grouped.values()) headers[name] = values.length === 1 ? (values[0] ?? '') : values;
  if (m['cookies'] !== undefined) {
    if (!Array.isArray(m['cookies'])) return { malformed: 'cookies is not a list' };
    const cookies = (m['cookies'] as unknown[]).map(String);
    if (cookies.length) headers['Set-Cookie'] = cookies;
  }
  return { status, headers };
}

/**
 * Forwards a STREAM integration's answer: the function's metadata (up to 8 NUL bytes within the
 * first 16 KB) becomes the status and headers, and the rest is sent as it arrives, at full speed
 * for 10 MB and at 2 MB/s after that. Before the metadata, a timeout is API Gateway's 504 and an
 * answer without metadata a 500; after it, a timeout or a function error cuts the connection
 * (the client sees a transfer closed with data outstanding).
 */
async function forwardStream(
  deps: ApiInvokeDeps, res: ServerResponse, ref: string, payload: string, base: Record<string, string>, timeoutMs: number,
  done: (status: number, note?: string) => void,
): Promise<void> {
  let prelude: Buffer | undefined = Buffer.alloc(0);
  let sent = 0;
  let throttledFrom = 0;
  let writing: Promise<void> = Promise.resolve();
  let ended = false;
  const endWith = (type: 'INTEGRATION_TIMEOUT' | 'DEFAULT_5XX' | 'API_CONFIGURATION_ERROR', note: string, status?: number): void => {
    if (ended) return;
    ended = true;
    clearTimeout(overall);
    clearTimeout(idle);
    if (!res.headersSent) {
      if (status === 500) {
        send(res, 500, { 'Content-Type': 'application/json', ...base, 'x-amzn-ErrorType': 'InternalServerErrorException' }, JSON.stringify({ message: 'Internal server error' }));
        done(500, note);
      } else done(sendGatewayResponse(res, type, base), note);
      return;
    }
    res.destroy();
    done(res.statusCode, `${note}, after ${sent} bytes: connection cut`);
  };
  // A stream that does not start with valid metadata: 500 at once (the function may run on).
  const malformed = (why: string): void => endWith('DEFAULT_5XX', `(malformed streamed response: ${why})`, 500);
  const overall = setTimeout(() => endWith('INTEGRATION_TIMEOUT', `(integration timeout ${timeoutMs} ms)`), timeoutMs);
  let idle = setTimeout(() => endWith('INTEGRATION_TIMEOUT', `(stream idle ${deps.streamIdleTimeoutMs} ms)`), deps.streamIdleTimeoutMs);
  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => endWith('INTEGRATION_TIMEOUT', `(stream idle ${deps.streamIdleTimeoutMs} ms)`), deps.streamIdleTimeoutMs);
  };
  // Paced from the first byte past 10 MB that is sent: the bytes after it go at 2 MB/s.
  let throttledBytes = 0;
  const forward = (data: Buffer): void => {
    if (data.length === 0) return;
    sent += data.length;
    const upTo = sent;
    writing = writing.then(async () => {
      if (ended || res.destroyed) return;
      const over = Math.min(data.length, Math.max(0, upTo - STREAM_UNTHROTTLED_BYTES - throttledBytes));
      if (over > 0) {
        if (throttledFrom === 0) throttledFrom = Date.now();
        throttledBytes += over;
        const wait = throttledFrom + (throttledBytes / STREAM_BYTES_PER_SECOND) * 1000 - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        if (ended || res.destroyed) return;
      }
      res.write(data);
      // Bytes on their way to the client: the stream is not idle while it is paced.
      touch();
    });
  };
  const sink: ResponseSink = {
    contentType: () => undefined,
    chunk: (data) => {
      if (ended) return;
      touch();
      if (prelude === undefined) {
        forward(data);
        return;
      }
      prelude = Buffer.concat([prelude, data]);
      const at = prelude.indexOf(DELIMITER);
      if (at < 0) {
        if (prelude.length > MAX_METADATA_BYTES) malformed('no metadata delimiter within the first 16 KB');
        return;
      }
      let metadata: unknown;
      try {
        metadata = JSON.parse(prelude.subarray(0, at).toString('utf8'));
      } catch {
        malformed('the metadata is not JSON');
        return;
      }
      const head = streamHead(metadata);
      if ('malformed' in head) {
        malformed(head.malformed);
        return;
      }
      if (at > MAX_METADATA_BYTES) {
        malformed('the metadata delimiter comes after the first 16 KB');
        return;
      }
      const rest = prelude.subarray(at + DELIMITER.length);
      prelude = undefined;
      const headers: Record<string, string | string[]> = { ...base, ...head.headers };
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
      try {
        res.writeHead(head.status, headers);
      } catch (err) {
        // A header name or value HTTP cannot carry (a newline, a space in a name).
        malformed(`a header cannot be sent: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      res.flushHeaders();
      forward(rest);
    },
  };
  let result: InvocationResult;
  try {
    result = await deps.invokeLambdaStreaming(ref, payload, sink);
  } catch (err) {
    endWith('API_CONFIGURATION_ERROR', `(${err instanceof AwsError ? `${err.code}: ${err.message}` : String(err)})`);
    return;
  }
  if (ended) return;
  if (!result.ok) {
    endWith('DEFAULT_5XX', `(function error ${result.errorType ?? ''})`);
    return;
  }
  if (prelude !== undefined) {
    malformed(result.streamed ? 'no metadata delimiter' : 'the function does not stream');
    return;
  }
  await writing;
  if (ended) return;
  ended = true;
  clearTimeout(overall);
  clearTimeout(idle);
  res.end();
  done(res.statusCode, `(streamed ${sent} bytes)`);
}
