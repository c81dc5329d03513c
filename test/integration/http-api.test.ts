import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { clientConfig, createFunction } from '../local/helpers';
import { deployKit, follow, type DeployedKit } from '../support/deployed-kit';

// The kit behind an HTTP API (payload format 2.0, 30 s integration timeout), deployed by the real
// deploy script with --api-type http, in front of a Main of the test's own that answers in
// payload 2.0's shapes: cookies, binary bodies, and JSON without a statusCode. The long cases
// run side by side to keep the file short.
const MAIN = 'ihttp-user-main';
const MAIN_SOURCE = `
const crypto = require('node:crypto');
exports.handler = async (event) => {
  const q = event.queryStringParameters || {};
  if (q.fail === '1') throw new Error('Main failed on purpose');
  const seconds = Number(q.seconds || 0);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const path = event.rawPath;
  if (path.endsWith('/cookies')) {
    return { statusCode: 201, cookies: ['session=abc; HttpOnly; Path=/', 'theme=dark'], headers: { 'content-type': 'text/plain' }, body: 'cookies set' };
  }
  if (path.endsWith('/binary')) {
    const bytes = Buffer.alloc(70000).map((_, i) => (i * 7 + (i >> 8)) & 255);
    return { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, body: bytes.toString('base64'), isBase64Encoded: true };
  }
  if (path.endsWith('/plain')) return { answer: 42, waitedSeconds: seconds };
  const body = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      version: event.version, path, query: q, cookies: event.cookies || [], waitedSeconds: seconds,
      bodyBytes: body.length, bodySha256: crypto.createHash('sha256').update(body).digest('hex'),
    }),
  };
};`;

/** The bytes the binary route answers with. */
const BINARY = Buffer.alloc(70000).map((_, i) => (i * 7 + (i >> 8)) & 255);

let kit: DeployedKit;

beforeAll(async () => {
  kit = await deployKit(
    ['--name-prefix', 'ihttp', '--api-type', 'http', '--direct-route', '--results-path', '/_results', '--main-name', MAIN],
    {},
    async (stack) => {
      const lambda = new LambdaClient(clientConfig(stack));
      await createFunction(lambda, MAIN, MAIN_SOURCE, { Timeout: 120 });
      lambda.destroy();
    },
  );
}, 120_000);

afterAll(async () => {
  await kit?.stop();
});

describe('the state of an HTTP API deployment', () => {
  it('names the API type and serves the $default stage at the base URL', () => {
    expect(kit.state.apiType).toBe('http');
    expect(kit.state.invokeUrl).toBe(`${kit.stack.url}/_aws/execute-api/${kit.state.apiId}/`);
    expect(kit.state.directUrl).toBe(`${kit.state.invokeUrl}direct`);
  });
});

describe.concurrent('the kit behind an HTTP API on the local stack', () => {
  it('answers a 2 s job with 200 and Main\'s body, without a redirect', async () => {
    const { response, body, statuses } = await follow(`${kit.state.invokeUrl}jobs?seconds=2`, {
      method: 'POST', body: '{"order":42}', headers: { 'content-type': 'application/json' },
    });
    expect(statuses).toEqual([200]);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('apigw-requestid')).toBeTruthy();
    expect(JSON.parse(body)).toMatchObject({ version: '2.0', path: '/jobs', bodyBytes: 12, waitedSeconds: 2 });
  });

  it('answers a 40 s job after at least one 303 through the results route, with the right body', async () => {
    const { body, statuses, urls, elapsedMs } = await follow(`${kit.state.invokeUrl}long?seconds=40&tag=forty`);
    expect(statuses.filter((s) => s === 303).length).toBeGreaterThanOrEqual(1);
    expect(statuses[statuses.length - 1]).toBe(200);
    expect(elapsedMs).toBeGreaterThanOrEqual(40_000);
    // RESULTS_PATH: every continuation goes to GET /_results/{id}.
    for (const url of urls.slice(1)) expect(new URL(url).pathname).toMatch(new RegExp(`^/_aws/execute-api/${kit.state.apiId}/_results/[^/]+$`));
    expect(JSON.parse(body)).toMatchObject({ query: { seconds: '40', tag: 'forty' }, waitedSeconds: 40 });
  }, 90_000);

  it('shows the problem without the kit: the direct route gets HTTP API\'s 503 after 30 s', async () => {
    const started = Date.now();
    const response = await fetch(`${kit.state.directUrl}/slow?seconds=35`);
    const elapsed = Date.now() - started;
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: 'Service Unavailable' });
    expect(elapsed).toBeGreaterThanOrEqual(30_000);
    expect(elapsed).toBeLessThan(35_000);
  }, 90_000);

  it('brings a Main that throws to the client as 502 with the RequestID, within one hop', async () => {
    const { response, body, statuses } = await follow(`${kit.state.invokeUrl}boom?fail=1`);
    expect(statuses).toEqual([502]);
    const error = (JSON.parse(body) as { error: { code: string; requestId: string } }).error;
    expect(error.code).toBe('MAIN_ERROR');
    expect(response.headers.get('x-request-id')).toBe(error.requestId);
  });

  it('passes request cookies to Main and Main\'s cookies to the client as Set-Cookie, after a 303 too', async () => {
    const quick = await follow(`${kit.state.invokeUrl}echo`, { headers: { cookie: 'a=1; b=2' } });
    expect(JSON.parse(quick.body)).toMatchObject({ cookies: ['a=1', 'b=2'] });
    const { response, body, statuses } = await follow(`${kit.state.invokeUrl}cookies?seconds=33`);
    expect(statuses[0]).toBe(303);
    expect(statuses[statuses.length - 1]).toBe(201);
    expect(response.headers.getSetCookie()).toEqual(['session=abc; HttpOnly; Path=/', 'theme=dark']);
    expect(body).toBe('cookies set');
  }, 90_000);

  it('passes binary bodies both ways: a binary upload reaches Main whole, a binary answer reaches the client after a 303', async () => {
    const upload = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) & 255));
    const sent = await follow(`${kit.state.invokeUrl}upload`, { method: 'PUT', body: upload, headers: { 'content-type': 'application/octet-stream' } });
    expect(JSON.parse(sent.body)).toMatchObject({ bodyBytes: 5000, bodySha256: createHash('sha256').update(upload).digest('hex') });
    const started = Date.now();
    let target = `${kit.state.invokeUrl}binary?seconds=31`;
    let response = await fetch(target, { redirect: 'manual' });
    const statuses = [response.status];
    while (response.status === 303) {
      await response.arrayBuffer();
      target = new URL(response.headers.get('location') ?? '', target).toString();
      response = await fetch(target, { redirect: 'manual' });
      statuses.push(response.status);
    }
    expect(statuses[0]).toBe(303);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await response.arrayBuffer()).equals(BINARY)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(31_000);
  }, 90_000);

  it('passes on Main\'s JSON without a statusCode, which HTTP API answers as 200 application/json', async () => {
    const { response, body, statuses } = await follow(`${kit.state.invokeUrl}plain?seconds=1`);
    expect(statuses).toEqual([200]);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(body)).toEqual({ answer: 42, waitedSeconds: 1 });
  });
});

describe('after the long cases', () => {
  it('ran Main once per request', () => {
    const starts = kit.logs.filter((line) => line.startsWith(`[${MAIN}] START`)).length;
    // 2 s, 40 s, direct 35 s, throw, echo, cookies, upload, binary, plain: nine requests, nine runs.
    expect(starts).toBe(9);
  });
});
