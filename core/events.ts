/**
 * Reading API Gateway events of both payload formats (REST 1.0, HTTP API 2.0) into one shape.
 *
 * @module
 */
import type { ApiGatewayEvent, PayloadFormat } from './types';

/** A request as the Proxy needs to see it, whatever the payload format. */
export interface IncomingRequest {
  /** The payload format of the event. */
  format: PayloadFormat;
  /** The HTTP method in upper case. */
  method: string;
  /** The request path as API Gateway reports it. */
  path: string;
  /**
   * The path below the API's root, as the client's URL ends: the route template filled with
   * the path parameters (so without a stage or a custom domain's base path).
   */
  apiPath: string;
  /**
   * The path as the client sent it, with the stage or base path: REST's `requestContext.path`,
   * an HTTP API's `rawPath`.
   */
  clientPath?: string;
  /** When API Gateway received the request (epoch ms), if the event says. */
  receivedAt?: number;
  /** Query parameters, each with all its values, names as sent. */
  query: ReadonlyMap<string, readonly string[]>;
  /** Request headers, names in lower case, each with all its values. */
  headers: ReadonlyMap<string, readonly string[]>;
  /** The size of the decoded body in bytes. */
  bodyBytes: number;
}

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Tells the payload format of an event.
 *
 * @param event - an API Gateway event
 * @returns `2.0` for HTTP API payloads, `1.0` otherwise
 */
export function payloadFormatOf(event: ApiGatewayEvent): PayloadFormat {
  return (event as { version?: unknown }).version === '2.0' ? '2.0' : '1.0';
}

function addAll(target: Map<string, string[]>, name: string, values: readonly unknown[], lowerCase: boolean): void {
  const key = lowerCase ? name.toLowerCase() : name;
  const list = target.get(key) ?? [];
  for (const value of values) if (typeof value === 'string') list.push(value);
  target.set(key, list);
}

function collect(
  single: unknown,
  multi: unknown,
  lowerCase: boolean,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (isObject(multi)) {
    for (const [name, values] of Object.entries(multi)) if (Array.isArray(values)) addAll(out, name, values, lowerCase);
  }
  if (isObject(single)) {
    for (const [name, value] of Object.entries(single)) {
      const key = lowerCase ? name.toLowerCase() : name;
      if (!out.has(key) && typeof value === 'string') addAll(out, name, [value], lowerCase);
    }
  }
  return out;
}

function fillTemplate(template: string, params: unknown): string | undefined {
  if (!template.startsWith('/')) return undefined;
  const values = isObject(params) ? params : {};
  let complete = true;
  const filled = template.replace(/\{([^}+]+)\+?\}/g, (_match, name: string) => {
    const value = values[name];
    if (typeof value !== 'string') complete = false;
    return typeof value === 'string' ? value : '';
  });
  return complete ? filled : undefined;
}

function epoch(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

function parseRawQuery(raw: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(raw)) addAll(out, name, [value], false);
  return out;
}

function bodySize(body: unknown, base64: unknown): number {
  if (typeof body !== 'string') return 0;
  return base64 === true ? Buffer.byteLength(body, 'base64') : Buffer.byteLength(body, 'utf8');
}

/**
 * Reads an API Gateway event of either format. Tolerates missing or mistyped fields (an event
 * is input from the outside): what is absent reads as empty.
 *
 * @param event - the event as API Gateway sent it
 */
export function readRequest(event: ApiGatewayEvent): IncomingRequest {
  const raw = (isObject(event) ? event : {}) as Record<string, unknown>;
  const context = isObject(raw['requestContext']) ? raw['requestContext'] : {};
  if (payloadFormatOf(event) === '2.0') {
    const http = isObject(context['http']) ? context['http'] : {};
    const rawQuery = typeof raw['rawQueryString'] === 'string' ? raw['rawQueryString'] : undefined;
    const path = text(raw['rawPath'], text(http['path'], '/'));
    const routeKey = text(raw['routeKey'], '$default');
    const template = routeKey.includes(' ') ? routeKey.slice(routeKey.indexOf(' ') + 1) : undefined;
    const stage = text(context['stage'], '$default');
    const stagePrefix = stage !== '$default' && (path === `/${stage}` || path.startsWith(`/${stage}/`)) ? `/${stage}` : '';
    const receivedAt = epoch(context['timeEpoch']);
    return {
      ...(receivedAt !== undefined && { receivedAt }),
      format: '2.0',
      method: text(http['method'], 'GET').toUpperCase(),
      path,
      apiPath: (template !== undefined ? fillTemplate(template, raw['pathParameters']) : undefined) ?? (path.slice(stagePrefix.length) || '/'),
      // rawPath keeps a named stage, as REST's requestContext.path does: relative links need it.
      clientPath: path,
      query: rawQuery !== undefined ? parseRawQuery(rawQuery) : collect(raw['queryStringParameters'], undefined, false),
      headers: collect(raw['headers'], undefined, true),
      bodyBytes: bodySize(raw['body'], raw['isBase64Encoded']),
    };
  }
  const path = text(raw['path'], '/');
  const clientPath = typeof context['path'] === 'string' ? context['path'] : undefined;
  const receivedAt = epoch(context['requestTimeEpoch']);
  return {
    ...(receivedAt !== undefined && { receivedAt }),
    format: '1.0',
    method: text(raw['httpMethod'], 'GET').toUpperCase(),
    path,
    apiPath: fillTemplate(text(raw['resource'], ''), raw['pathParameters']) ?? path,
    ...(clientPath !== undefined && { clientPath }),
    query: collect(raw['queryStringParameters'], raw['multiValueQueryStringParameters'], false),
    headers: collect(raw['headers'], raw['multiValueHeaders'], true),
    bodyBytes: bodySize(raw['body'], raw['isBase64Encoded']),
  };
}

/**
 * The first value of a request header, or `undefined`. HTTP API joins repeated headers with
 * commas; callers that parse lists split on commas themselves.
 *
 * @param request - the request
 * @param name - the header's name, any case
 */
export function headerValue(request: IncomingRequest, name: string): string | undefined {
  return request.headers.get(name.toLowerCase())?.[0];
}

/**
 * Whether the caller is a browser navigating: its `Accept` header names `text/html`.
 *
 * @param request - the request
 */
export function acceptsHtml(request: IncomingRequest): boolean {
  const accept = request.headers.get('accept')?.join(',') ?? '';
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(accept);
}
