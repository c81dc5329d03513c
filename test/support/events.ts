/**
 * API Gateway events built from a URL, as API Gateway would send them to the Proxy.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

export interface RequestSpec {
  method?: string;
  /** The full URL the client requested, e.g. https://abc.execute-api.us-east-1.amazonaws.com/dev/jobs?x=1 */
  url: string;
  /** The prefix before the API's own path: the stage, a base path, or nothing. */
  prefix?: string;
  headers?: Record<string, string | string[]>;
  body?: string;
  isBase64Encoded?: boolean;
}

function splitHeaders(headers: Record<string, string | string[]> = {}) {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const values = Array.isArray(value) ? value : [value];
    multi[name] = values;
    single[name] = values[values.length - 1] as string;
  }
  return { single, multi };
}

function apiPath(url: URL, prefix: string): string {
  const path = decodeURIComponent(url.pathname);
  return path.startsWith(prefix) ? path.slice(prefix.length) || '/' : path;
}

/** A REST API (payload 1.0) proxy event. */
export function restEvent(spec: RequestSpec): APIGatewayProxyEvent {
  const url = new URL(spec.url);
  const prefix = spec.prefix ?? '';
  const { single, multi } = splitHeaders({ Host: url.host, ...spec.headers });
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const path = apiPath(url, prefix);
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: spec.method ?? 'GET',
    headers: single,
    multiValueHeaders: multi,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'abc123',
      authorizer: undefined,
      protocol: 'HTTP/1.1',
      httpMethod: spec.method ?? 'GET',
      identity: { sourceIp: '127.0.0.1', userAgent: 'test' } as APIGatewayProxyEvent['requestContext']['identity'],
      path: decodeURIComponent(url.pathname),
      stage: prefix.replace(/^\//, '') || '$default',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'res1',
      resourcePath: '/{proxy+}',
    },
    body: spec.body ?? null,
    isBase64Encoded: spec.isBase64Encoded ?? false,
  };
}

/** An HTTP API (payload 2.0) event. */
export function httpApiEvent(spec: RequestSpec): APIGatewayProxyEventV2 {
  const url = new URL(spec.url);
  const headers: Record<string, string> = { host: url.host };
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    if (name.toLowerCase() === 'cookie') cookies.push(...values.flatMap((v) => v.split(/;\s*/)));
    else headers[name.toLowerCase()] = values.join(',');
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: decodeURIComponent(url.pathname),
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'http123',
      domainName: url.hostname,
      domainPrefix: url.hostname.split('.')[0] as string,
      http: { method: spec.method ?? 'GET', path: decodeURIComponent(url.pathname), protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: spec.isBase64Encoded ?? false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (spec.body !== undefined) event.body = spec.body;
  return event;
}
