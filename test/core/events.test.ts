import { describe, expect, it } from 'vitest';
import { acceptsHtml, headerValue, payloadFormatOf, readRequest } from '../../core/events';
import type { ApiGatewayEvent } from '../../core/types';

// Events as API Gateway sends them (shapes from AWS's documentation of the two payload formats).
const rest = (extra: Record<string, unknown> = {}): ApiGatewayEvent => ({
  resource: '/{proxy+}',
  path: '/orders/7',
  httpMethod: 'post',
  headers: { Accept: 'text/html', 'X-One': 'last' },
  multiValueHeaders: { Accept: ['text/html'], 'X-One': ['first', 'last'] },
  queryStringParameters: { a: '2' },
  multiValueQueryStringParameters: { a: ['1', '2'] },
  pathParameters: { proxy: 'orders/7' },
  requestContext: { path: '/prod/orders/7', requestTimeEpoch: 1_700_000_000_000, stage: 'prod' },
  body: 'aGVsbG8=',
  isBase64Encoded: true,
  ...extra,
} as unknown as ApiGatewayEvent);

const http = (extra: Record<string, unknown> = {}): ApiGatewayEvent => ({
  version: '2.0',
  routeKey: '$default',
  rawPath: '/orders/7',
  rawQueryString: 'a=1&a=2&b=',
  headers: { accept: 'application/json', 'x-one': 'first,last' },
  queryStringParameters: { a: '1,2', b: '' },
  requestContext: { http: { method: 'GET', path: '/orders/7' }, stage: '$default', timeEpoch: 1_700_000_000_001 },
  body: 'hello',
  isBase64Encoded: false,
  ...extra,
} as unknown as ApiGatewayEvent);

describe('payloadFormatOf', () => {
  it('tells HTTP API events (version 2.0) from REST ones', () => {
    expect(payloadFormatOf(http())).toBe('2.0');
    expect(payloadFormatOf(rest())).toBe('1.0');
    expect(payloadFormatOf({ version: '1.0' } as unknown as ApiGatewayEvent)).toBe('1.0');
  });
});

describe('readRequest, REST payload 1.0', () => {
  it('reads the method in upper case, the paths, the arrival time and the decoded body size', () => {
    const request = readRequest(rest());
    expect(request).toMatchObject({ format: '1.0', method: 'POST', path: '/orders/7', apiPath: '/orders/7', clientPath: '/prod/orders/7', receivedAt: 1_700_000_000_000, bodyBytes: 5 });
  });

  it('keeps every value of a repeated header and query parameter, header names in lower case', () => {
    const request = readRequest(rest());
    expect(request.headers.get('x-one')).toEqual(['first', 'last']);
    expect(request.query.get('a')).toEqual(['1', '2']);
    expect(headerValue(request, 'X-ONE')).toBe('first');
  });

  it('falls back to the single-value maps when the multi-value ones are absent', () => {
    const request = readRequest(rest({ multiValueHeaders: null, multiValueQueryStringParameters: null }));
    expect(request.headers.get('x-one')).toEqual(['last']);
    expect(request.query.get('a')).toEqual(['2']);
  });

  it('fills the route template with the path parameters for the path below the API root', () => {
    expect(readRequest(rest({ resource: '/items/{id}', pathParameters: { id: '42' }, path: '/items/42' })).apiPath).toBe('/items/42');
    // A parameter missing from the event: the template cannot be filled, the path is used.
    expect(readRequest(rest({ resource: '/items/{id}', pathParameters: null, path: '/items/42' })).apiPath).toBe('/items/42');
  });
});

describe('readRequest, HTTP API payload 2.0', () => {
  it('reads the method from requestContext.http, the raw path and query, and the arrival time', () => {
    const request = readRequest(http());
    expect(request).toMatchObject({ format: '2.0', method: 'GET', path: '/orders/7', apiPath: '/orders/7', receivedAt: 1_700_000_000_001, bodyBytes: 5 });
    // rawQueryString keeps repeated parameters apart; queryStringParameters joins them with commas.
    expect(request.query.get('a')).toEqual(['1', '2']);
    expect(request.query.get('b')).toEqual(['']);
    // Repeated headers arrive comma-joined: one value.
    expect(request.headers.get('x-one')).toEqual(['first,last']);
  });

  it('removes a named stage from the path below the API root, and keeps $default paths whole', () => {
    const staged = readRequest(http({ rawPath: '/prod/orders/7', requestContext: { http: { method: 'GET' }, stage: 'prod' } }));
    expect(staged.apiPath).toBe('/orders/7');
    expect(readRequest(http()).apiPath).toBe('/orders/7');
  });

  it('keeps the path as the client sent it, a bare named stage included, for relative links', () => {
    const bare = readRequest(http({ routeKey: 'ANY /', rawPath: '/live', requestContext: { http: { method: 'GET' }, stage: 'live' } }));
    expect(bare).toMatchObject({ apiPath: '/', clientPath: '/live' });
    const $default = readRequest(http({ rawPath: '/', requestContext: { http: { method: 'GET' }, stage: '$default' } }));
    expect($default).toMatchObject({ apiPath: '/', clientPath: '/' });
    expect(readRequest(http({ rawPath: '/live', requestContext: { http: { method: 'GET' }, stage: 'live' } })).apiPath).toBe('/');
  });

  it('uses the route template of a route key with a path', () => {
    const routed = readRequest(http({ routeKey: 'ANY /{proxy+}', rawPath: '/prod/a/b', pathParameters: { proxy: 'a/b' }, requestContext: { http: { method: 'GET' }, stage: 'prod' } }));
    expect(routed.apiPath).toBe('/a/b');
  });
});

describe('readRequest on malformed events', () => {
  it.each([
    ['nothing at all', {}],
    ['null fields', { headers: null, multiValueHeaders: null, queryStringParameters: null, requestContext: null, body: null }],
    ['wrong types', { httpMethod: 7, path: ['x'], headers: 'x', requestContext: 'x', body: 42, isBase64Encoded: 'yes' }],
    ['a 2.0 event without requestContext', { version: '2.0', rawPath: 5 }],
  ])('reads %s as an empty GET of /', (_name, event) => {
    const request = readRequest(event as unknown as ApiGatewayEvent);
    expect(request.method).toBe('GET');
    expect(request.path).toBe('/');
    expect(request.headers.size).toBe(0);
    expect(request.bodyBytes).toBe(0);
    expect(request.receivedAt).toBeUndefined();
  });

  it('ignores a time stamp that is not a positive number', () => {
    expect(readRequest(rest({ requestContext: { requestTimeEpoch: -1 } })).receivedAt).toBeUndefined();
    expect(readRequest(rest({ requestContext: { requestTimeEpoch: '1700000000000' } })).receivedAt).toBeUndefined();
  });
});

describe('acceptsHtml', () => {
  it.each([
    ['text/html', true],
    ['text/html,application/xhtml+xml;q=0.9', true],
    ['application/json, TEXT/HTML;q=0.1', true],
    ['application/json', false],
    ['text/htmlx', false],
    ['', false],
  ])('Accept: %s → %s', (accept, expected) => {
    expect(acceptsHtml(readRequest(rest({ headers: { Accept: accept }, multiValueHeaders: { Accept: [accept] } })))).toBe(expected);
  });
});
