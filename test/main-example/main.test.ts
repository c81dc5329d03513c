import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  acceptsHtml,
  createHandler,
  describeRequest,
  escapeHtml,
  handleRequest,
  MAX_PAD_BYTES,
  readSettings,
  SAFETY_MARGIN_MS,
} from '../../main-example/main';
import type { MainClock, MainContext, MainEvent, MainSettings } from '../../main-example/main';

const START = Date.UTC(2025, 0, 2, 3, 4, 5);

/** A clock that never waits: sleeping moves its time forward and is recorded. */
function fakeClock(): MainClock & { sleeps: number[] } {
  let t = START;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

function context(remainingMs = 150_000): MainContext {
  return { awsRequestId: 'req-1234', getRemainingTimeInMillis: () => remainingMs };
}

function restEvent(overrides: Partial<APIGatewayProxyEvent> = {}): MainEvent {
  return {
    resource: '/{proxy+}',
    path: '/orders/42',
    httpMethod: 'POST',
    headers: { Accept: 'application/json', Authorization: 'Bearer SECRET-TOKEN', Cookie: 'sid=SECRET-COOKIE' },
    multiValueHeaders: {
      Accept: ['application/json'],
      Authorization: ['Bearer SECRET-TOKEN'],
      Cookie: ['sid=SECRET-COOKIE'],
    },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: 'orders/42' },
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
    body: '{"hello":"wörld"}',
    isBase64Encoded: false,
    ...overrides,
  };
}

function httpApiEvent(overrides: Partial<APIGatewayProxyEventV2> = {}): MainEvent {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/things',
    rawQueryString: 'a=1&a=2',
    headers: { accept: '*/*', 'x-secret': 'SECRET-HEADER' },
    queryStringParameters: { a: '1,2' },
    requestContext: {
      http: { method: 'PUT', path: '/things', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
    } as APIGatewayProxyEventV2['requestContext'],
    body: Buffer.from([0, 1, 2, 3, 4]).toString('base64'),
    isBase64Encoded: true,
    ...overrides,
  };
}

function withQuery(query: Record<string, string>, accept?: string): MainEvent {
  const multi = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]]));
  const headers: Record<string, string> = accept ? { Accept: accept } : {};
  return restEvent({ httpMethod: 'GET', body: null, queryStringParameters: query, multiValueQueryStringParameters: multi, headers, multiValueHeaders: {} });
}

const settings: MainSettings = { delaySeconds: 60 };

async function run(event: MainEvent, opts: { remainingMs?: number; settings?: MainSettings } = {}) {
  const clock = fakeClock();
  const response = await handleRequest(event, context(opts.remainingMs), clock, opts.settings ?? settings);
  return { clock, response, json: () => JSON.parse(response.body) as Record<string, unknown> };
}

describe('main-example', () => {
  it('waits DELAY_SECONDS and then answers 200 JSON describing a REST request', async () => {
    const { clock, response, json } = await run(restEvent());
    expect(clock.sleeps).toEqual([60_000]);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.isBase64Encoded).toBe(false);
    expect(json()).toEqual({
      method: 'POST',
      path: '/orders/42',
      query: {},
      bodyBytes: Buffer.byteLength('{"hello":"wörld"}'),
      headerCount: 3,
      payloadVersion: '1.0',
      awsRequestId: 'req-1234',
      startedAt: new Date(START).toISOString(),
      waitedSeconds: 60,
      waitClamped: false,
      ranMs: 60_000,
    });
  });

  it('describes an HTTP API (2.0) request: method, raw path, joined query values, decoded body size', async () => {
    const { json } = await run(httpApiEvent(), { settings: { delaySeconds: 0 } });
    expect(json()).toMatchObject({ method: 'PUT', path: '/things', query: { a: ['1', '2'] }, bodyBytes: 5, headerCount: 2, payloadVersion: '2.0' });
  });

  it('never echoes a header value', async () => {
    const { response } = await run(restEvent(), { settings: { delaySeconds: 0 } });
    expect(response.body).not.toContain('SECRET');
    const v2 = await run(httpApiEvent(), { settings: { delaySeconds: 0 } });
    expect(v2.response.body).not.toContain('SECRET');
  });

  it('redacts the values of secret-looking query parameters such as api-key', () => {
    const d = describeRequest(withQuery({ 'api-key': 'K3Y', sig: 'abc', page: '2' }));
    expect(d.query).toEqual({ 'api-key': ['[redacted]'], sig: ['[redacted]'], page: ['2'] });
  });

  it('lets ?seconds=N override the wait, decimals included', async () => {
    const { clock, json } = await run(withQuery({ seconds: '0.3' }));
    expect(clock.sleeps).toEqual([300]);
    expect(json()).toMatchObject({ waitedSeconds: 0.3, ranMs: 300 });
  });

  it('does not sleep at all for ?seconds=0', async () => {
    const { clock, response } = await run(withQuery({ seconds: '0' }));
    expect(clock.sleeps).toEqual([]);
    expect(response.statusCode).toBe(200);
  });

  it('answers 400 when ?seconds asks for more than its remaining time allows', async () => {
    const { clock, response, json } = await run(withQuery({ seconds: '200' }), { remainingMs: 150_000 });
    expect(response.statusCode).toBe(400);
    expect(String(json().message)).toMatch(/seconds=200 is more than this function can wait/);
    expect(clock.sleeps).toEqual([]);
  });

  it('cuts the default wait to its remaining time minus a safety margin, and says so', async () => {
    const { clock, json } = await run(restEvent(), { remainingMs: 10_000 });
    expect(clock.sleeps).toEqual([10_000 - SAFETY_MARGIN_MS]);
    expect(json()).toMatchObject({ waitClamped: true });
  });

  it.each([
    ['seconds', 'abc'],
    ['seconds', '-1'],
    ['seconds', '1e3'],
    ['fail', 'maybe'],
    ['bytes', '12.5'],
    ['bytes', String(MAX_PAD_BYTES + 1)],
    ['fill', 'zeros'],
  ])('answers 400 JSON with a message for an invalid %s=%s', async (name, value) => {
    const { response, json } = await run(withQuery({ [name]: value }));
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(String(json().message)).toContain(name);
  });

  it('answers 400 when a knob is given twice', async () => {
    const event = restEvent({ httpMethod: 'GET', body: null, multiValueQueryStringParameters: { seconds: ['1', '2'] }, queryStringParameters: { seconds: '2' } });
    const { response } = await run(event);
    expect(response.statusCode).toBe(400);
  });

  it('throws when asked to fail, at once when no seconds are given', async () => {
    const clock = fakeClock();
    await expect(handleRequest(withQuery({ fail: '1' }), context(), clock, settings)).rejects.toThrow(/asked it to \(fail=1\)/);
    expect(clock.sleeps).toEqual([]);
  });

  it('throws when asked to fail after the wait given by ?seconds', async () => {
    const clock = fakeClock();
    await expect(handleRequest(withQuery({ fail: 'true', seconds: '40' }), context(), clock, settings)).rejects.toThrow(Error);
    expect(clock.sleeps).toEqual([40_000]);
  });

  it('does not fail for fail=0', async () => {
    const { response } = await run(withQuery({ fail: '0', seconds: '0' }));
    expect(response.statusCode).toBe(200);
  });

  it('pads the JSON body to exactly N bytes with ?bytes=N', async () => {
    const { response, json } = await run(withQuery({ bytes: '5000', seconds: '0' }));
    expect(Buffer.byteLength(response.body)).toBe(5000);
    expect(String(json().padding)).toMatch(/^x+$/);
  });

  it('pads with random letters that do not compress when fill=random', async () => {
    const { response, json } = await run(withQuery({ bytes: '3000', seconds: '0', fill: 'random' }));
    expect(Buffer.byteLength(response.body)).toBe(3000);
    expect(String(json().padding)).toMatch(/^[A-Za-z0-9]+$/);
    expect(String(json().padding)).not.toMatch(/^x+$/);
  });

  it('never cuts the body when ?bytes is smaller than its natural size', async () => {
    const { json } = await run(withQuery({ bytes: '10', seconds: '0' }));
    expect(json().padding).toBeUndefined();
    expect(json().method).toBe('GET');
  });

  it('answers an HTML page with the same facts when the caller accepts text/html', async () => {
    const { response } = await run(withQuery({ seconds: '0.5', page: '<script>alert(1)</script>' }, 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8'));
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('<!doctype html>');
    expect(response.body).toContain('req-1234');
    expect(response.body).toContain('500 ms');
    expect(response.body).not.toContain('<script>');
    expect(response.body).toContain('&#60;script&#62;');
  });

  it('pads the HTML page to exactly N bytes too', async () => {
    const { response } = await run(withQuery({ seconds: '0', bytes: '4096' }, 'text/html'));
    expect(Buffer.byteLength(response.body)).toBe(4096);
  });

  it('prefers JSON when text/html is refused with q=0 or not asked for', () => {
    expect(acceptsHtml(withQuery({}, 'text/html;q=0, application/json'))).toBe(false);
    expect(acceptsHtml(withQuery({}, 'application/json'))).toBe(false);
    expect(acceptsHtml(withQuery({}))).toBe(false);
    expect(acceptsHtml(httpApiEvent({ headers: { accept: 'text/html' } }))).toBe(true);
  });

  it('escapes every HTML-special character', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });

  it('reads DELAY_SECONDS at cold start, defaulting to 60 and refusing nonsense with the variable named', () => {
    expect(readSettings({})).toEqual({ delaySeconds: 60 });
    expect(readSettings({ DELAY_SECONDS: '2.5' })).toEqual({ delaySeconds: 2.5 });
    expect(() => readSettings({ DELAY_SECONDS: 'soon' })).toThrow(/DELAY_SECONDS/);
    expect(() => createHandler(fakeClock(), { DELAY_SECONDS: '-3' })).toThrow(/DELAY_SECONDS/);
  });

  it('gives a handler that waits on the injected clock', async () => {
    const clock = fakeClock();
    const handler = createHandler(clock, { DELAY_SECONDS: '2' });
    const response = await handler(restEvent(), context());
    expect(response.statusCode).toBe(200);
    expect(clock.sleeps).toEqual([2000]);
  });
});
