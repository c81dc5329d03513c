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

/** Sets an own property, even for names like `__proto__` or `constructor` (as JSON.parse would). */
function setOwn<T>(target: Record<string, T>, name: string, value: T): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

function own<T>(target: Record<string, T>, name: string): T | undefined {
  return Object.hasOwn(target, name) ? target[name] : undefined;
}

function splitHeaders(headers: Record<string, string | string[]> = {}) {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const values = Array.isArray(value) ? value : [value];
    setOwn(multi, name, values);
    setOwn(single, name, values[values.length - 1] as string);
  }
  return { single, multi };
}

/** Decodes a path as API Gateway shows it; a malformed escape stays as sent. */
function decodePath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

function apiPath(url: URL, prefix: string): string {
  const path = decodePath(url.pathname);
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
    setOwn(query, name, value);
    setOwn(multiQuery, name, [...(own(multiQuery, name) ?? []), value]);
  }
  const path = apiPath(url, prefix);
  const hasQuery = Object.keys(query).length > 0;
  return {
    resource: path === '/' ? '/' : '/{proxy+}',
    path,
    httpMethod: spec.method ?? 'GET',
    headers: single,
    multiValueHeaders: multi,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: path === '/' ? null : { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'abc123',
      authorizer: undefined,
      protocol: 'HTTP/1.1',
      httpMethod: spec.method ?? 'GET',
      identity: { sourceIp: '127.0.0.1', userAgent: 'test' } as APIGatewayProxyEvent['requestContext']['identity'],
      path: decodePath(url.pathname),
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
    else setOwn(headers, name.toLowerCase(), values.join(','));
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    const before = own(query, name);
    setOwn(query, name, before === undefined ? value : `${before},${value}`);
  }
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: decodePath(url.pathname),
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: '000000000000',
      apiId: 'http123',
      domainName: url.hostname,
      domainPrefix: url.hostname.split('.')[0] as string,
      http: { method: spec.method ?? 'GET', path: decodePath(url.pathname), protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
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
