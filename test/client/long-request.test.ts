import { describe, expect, it } from 'vitest';
import { callLongRequest, createLongRequestClient, LongRequestError, type LongRequestProgress } from '../../client/index';
import { answer, drive, FakeClock, fakeFetch, never, seeOther, type Script } from './fakes';

const ID = '0b5e7c52-8f3a-4c1e-9d2b-6a7f1e2d3c4b';
const BASE = 'https://api.example.com/dev/report?year=2024';
const CONTINUATION = `https://api.example.com/dev/report?requestID=${ID}`;
const done = (body = '{"ok":true}') => answer(200, { 'content-type': 'application/json' }, body);

function setup(script: Script) {
  const clock = new FakeClock();
  const { fetch, seen } = fakeFetch(clock, script);
  const progress: LongRequestProgress[] = [];
  const onProgress = (p: LongRequestProgress) => progress.push(p);
  return { clock, fetch, seen, progress, onProgress };
}

async function caught(promise: Promise<unknown>): Promise<LongRequestError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LongRequestError);
  return error as LongRequestError;
}

describe('following 303s', () => {
  it('follows a chain longer than 20 redirects to the end, counting hops', async () => {
    const t = setup((_, i) => (i < 25 ? seeOther(ID, i + 1) : done('{"answer":42}')));
    const response = await drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, onProgress: t.onProgress }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ answer: 42 });
    expect(t.seen).toHaveLength(26);
    // The relative Location is resolved against the URL requested: path kept, query replaced.
    expect(t.seen[1]?.url).toBe(`${CONTINUATION}&hop=1`);
    expect(t.seen[25]?.url).toBe(`${CONTINUATION}&hop=25`);
    expect(t.seen.every((r) => r.redirect === 'manual')).toBe(true);
    expect(t.progress.map((p) => p.hops)).toEqual(Array.from({ length: 26 }, (_, i) => i));
    expect(t.progress.slice(0, 25).every((p) => p.next === 'redirect' && p.status === 303)).toBe(true);
    expect(t.progress[25]).toMatchObject({ hops: 25, status: 200, next: 'done', requestId: ID, url: `${CONTINUATION}&hop=25` });
  });

  it('sends the first request as given, and follows a 303 with a GET without the body or its headers', async () => {
    const t = setup((_, i) => (i === 0 ? seeOther(ID, 1) : done()));
    await drive(
      t.clock,
      callLongRequest(BASE, { method: 'POST', body: '{"order":42}', headers: { 'content-type': 'application/json', authorization: 'Bearer t', 'x-trace': 'abc' } }, { fetch: t.fetch, clock: t.clock }),
    );
    const [first, second] = t.seen;
    expect(first).toMatchObject({ url: BASE, method: 'POST', body: '{"order":42}' });
    expect(first?.headers.get('content-type')).toBe('application/json');
    expect(second).toMatchObject({ method: 'GET', body: undefined });
    expect(second?.headers.get('content-type')).toBeNull();
    // Same origin: the caller's other headers go on (an authorizer may need them on every hop).
    expect(second?.headers.get('authorization')).toBe('Bearer t');
    expect(second?.headers.get('x-trace')).toBe('abc');
  });

  it('never sends Accept text/html unless asked, and drops credentials when a redirect leaves the origin', async () => {
    const t = setup((_, i) => (i === 0 ? answer(302, { location: 'https://elsewhere.example.net/r' }) : done()));
    await drive(t.clock, callLongRequest(BASE, { headers: { authorization: 'Bearer t', cookie: 'a=1' } }, { fetch: t.fetch, clock: t.clock }));
    expect(t.seen[0]?.headers.get('accept')).toBeNull();
    expect(t.seen[1]?.url).toBe('https://elsewhere.example.net/r');
    expect(t.seen[1]?.headers.get('authorization')).toBeNull();
    expect(t.seen[1]?.headers.get('cookie')).toBeNull();
  });

  it('repeats method and body on 307 and 308, as fetch does', async () => {
    const t = setup((_, i) => (i === 0 ? answer(307, { location: '/dev/other' }) : i === 1 ? answer(308, { location: '/dev/third' }) : done()));
    await drive(t.clock, callLongRequest(BASE, { method: 'PUT', body: 'data', headers: { 'content-type': 'text/plain' } }, { fetch: t.fetch, clock: t.clock }));
    expect(t.seen.map((r) => [r.method, r.url, r.body])).toEqual([
      ['PUT', BASE, 'data'],
      ['PUT', 'https://api.example.com/dev/other', 'data'],
      ['PUT', 'https://api.example.com/dev/third', 'data'],
    ]);
    expect(t.seen[2]?.headers.get('content-type')).toBe('text/plain');
  });

  it('returns a redirect it cannot follow (no Location) as the response', async () => {
    const t = setup(() => answer(303));
    const response = await drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock }));
    expect(response.status).toBe(303);
    expect(t.seen).toHaveLength(1);
  });

  it('returns a final non-2xx answer as the response, body unread', async () => {
    const error = { error: { status: 502, code: 'MAIN_ERROR', message: 'The function behind this API failed.', requestId: ID } };
    const t = setup((_, i) => (i < 2 ? seeOther(ID, i + 1) : answer(502, { 'content-type': 'application/json', 'x-request-id': ID }, JSON.stringify(error))));
    const response = await drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, onProgress: t.onProgress }));
    expect(response.status).toBe(502);
    expect(response.bodyUsed).toBe(false);
    expect(await response.json()).toEqual(error);
    expect(t.progress.at(-1)).toMatchObject({ hops: 2, status: 502, next: 'done', requestId: ID });
  });

  it('gives up with too-many-hops after maxHops, naming the continuation to resume with', async () => {
    const t = setup((_, i) => seeOther(ID, i + 1));
    const error = await caught(drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, maxHops: 10 })));
    expect(error).toMatchObject({ kind: 'too-many-hops', hops: 10, requestId: ID, continuationUrl: `${CONTINUATION}&hop=11` });
    expect(error.message).toMatch(/maxHops is 10/);
    expect(t.seen).toHaveLength(11);
  });

  it('follows the kit\'s self-continuing page when the caller asked for HTML', async () => {
    const page = `<!doctype html><html><head><meta http-equiv="refresh" content="0;url=?requestID=${ID}&#38;hop=0"></head><body>Still working…</body></html>`;
    const t = setup((_, i) => (i === 0 ? answer(200, { 'content-type': 'text/html; charset=utf-8', 'x-request-id': ID }, page) : done()));
    const response = await drive(t.clock, callLongRequest(BASE, { headers: { accept: 'text/html' } }, { fetch: t.fetch, clock: t.clock, onProgress: t.onProgress }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect(t.seen[1]?.url).toBe(`${CONTINUATION}&hop=0`);
    expect(t.progress.map((p) => p.next)).toEqual(['redirect', 'done']);
  });

  it('leaves an HTML answer of Main alone', async () => {
    const t = setup(() => answer(200, { 'content-type': 'text/html' }, '<meta http-equiv="refresh" content="0;url=/elsewhere?requestID=x">'));
    const response = await drive(t.clock, callLongRequest(BASE, { headers: { accept: 'text/html' } }, { fetch: t.fetch, clock: t.clock }));
    expect(await response.text()).toContain('refresh');
    expect(t.seen).toHaveLength(1);
  });
});

describe('202 Accepted and Prefer: respond-async', () => {
  const accepted = (retryAfter?: string) =>
    answer(202, { location: `?requestID=${ID}&hop=0&mode=async`, 'x-request-id': ID, ...(retryAfter !== undefined && { 'retry-after': retryAfter }) }, '{"status":"pending"}');

  it('asks for respond-async, waits Retry-After between polls, and returns the result', async () => {
    const t = setup((_, i) => (i < 3 ? accepted('5') : done()));
    const response = await drive(t.clock, callLongRequest(BASE, { method: 'POST', body: 'x' }, { fetch: t.fetch, clock: t.clock, respondAsync: true, onProgress: t.onProgress }));
    expect(response.status).toBe(200);
    expect(t.seen[0]?.headers.get('prefer')).toBe('respond-async');
    expect(t.seen.slice(1).map((r) => [r.method, r.url, r.headers.get('prefer'), r.at])).toEqual([
      ['GET', `${CONTINUATION}&hop=0&mode=async`, null, 5000],
      ['GET', `${CONTINUATION}&hop=0&mode=async`, null, 10_000],
      ['GET', `${CONTINUATION}&hop=0&mode=async`, null, 15_000],
    ]);
    expect(t.progress.map((p) => [p.hops, p.next, p.waitMs])).toEqual([
      [0, 'poll', 5000],
      [1, 'poll', 5000],
      [2, 'poll', 5000],
      [3, 'done', undefined],
    ]);
  });

  it('keeps a Prefer the caller set, adding respond-async to it', async () => {
    const t = setup((_, i) => (i === 0 ? accepted('1') : done()));
    await drive(t.clock, callLongRequest(BASE, { headers: { prefer: 'wait=10' } }, { fetch: t.fetch, clock: t.clock, respondAsync: true }));
    expect(t.seen[0]?.headers.get('prefer')).toBe('wait=10, respond-async');
    expect(t.seen[1]?.headers.get('prefer')).toBe('wait=10');
  });

  it('polls every pollIntervalMs when Retry-After is missing, and caps a huge Retry-After', async () => {
    const t = setup((_, i) => (i === 0 ? accepted() : i === 1 ? accepted('86400') : done()));
    await drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, pollIntervalMs: 750, maxRetryAfterMs: 30_000 }));
    expect(t.seen.map((r) => r.at)).toEqual([0, 750, 30_750]);
  });

  it('understands Retry-After as an HTTP date', async () => {
    const clock = new FakeClock();
    const { fetch, seen } = fakeFetch(clock, (_, i) => (i === 0 ? accepted(new Date(clock.now() + 8000).toUTCString()) : done()));
    await drive(clock, callLongRequest(BASE, {}, { fetch, clock }));
    expect(seen[1]?.at).toBe(8000);
  });

  it('returns a 202 of Main itself (no continuation Location) as the response', async () => {
    const t = setup(() => answer(202, { location: '/jobs/17', 'retry-after': '1' }, '{"job":17}'));
    const response = await drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock }));
    expect(response.status).toBe(202);
    expect(t.seen).toHaveLength(1);
  });
});

describe('503 with Retry-After', () => {
  const unavailable = (headers: Record<string, string> = {}) =>
    answer(503, { 'content-type': 'application/json', 'retry-after': '5', 'x-request-id': ID, ...headers }, '{"error":{"status":503,"code":"SERVICE_UNAVAILABLE"}}');

  it('retries a continuation at its Location after Retry-After, without counting a hop', async () => {
    const t = setup((_, i) => (i === 0 ? seeOther(ID, 1) : i < 3 ? unavailable({ location: `?requestID=${ID}&hop=1` }) : done()));
    const response = await drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, onProgress: t.onProgress }));
    expect(response.status).toBe(200);
    expect(t.seen.map((r) => [r.url, r.at])).toEqual([
      [BASE, 0],
      [`${CONTINUATION}&hop=1`, 0],
      [`${CONTINUATION}&hop=1`, 5000],
      [`${CONTINUATION}&hop=1`, 10_000],
    ]);
    expect(t.progress.map((p) => [p.hops, p.retries, p.status, p.next])).toEqual([
      [0, 0, 303, 'redirect'],
      [1, 0, 503, 'retry'],
      [1, 1, 503, 'retry'],
      [1, 2, 200, 'done'],
    ]);
  });

  it('sends a refused new request again, body and all', async () => {
    const t = setup((_, i) => (i === 0 ? unavailable() : done()));
    const response = await drive(t.clock, callLongRequest(BASE, { method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } }, { fetch: t.fetch, clock: t.clock }));
    expect(response.status).toBe(200);
    expect(t.seen.map((r) => [r.method, r.url, r.body, r.headers.get('content-type'), r.at])).toEqual([
      ['POST', BASE, 'payload', 'text/plain', 0],
      ['POST', BASE, 'payload', 'text/plain', 5000],
    ]);
  });

  it('returns the 503 once the retries in a row run out', async () => {
    const t = setup(() => unavailable());
    const response = await drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, retries: 3 }));
    expect(response.status).toBe(503);
    expect(t.seen).toHaveLength(4);
  });

  it('returns a 503 at once when it has no Retry-After, when retries are off, or when it ends a continuation without a Location', async () => {
    const plain = setup(() => answer(503));
    expect((await drive(plain.clock, callLongRequest(BASE, {}, { fetch: plain.fetch, clock: plain.clock }))).status).toBe(503);
    expect(plain.seen).toHaveLength(1);

    const off = setup(() => unavailable());
    expect((await drive(off.clock, callLongRequest(BASE, {}, { fetch: off.fetch, clock: off.clock, retries: 0 }))).status).toBe(503);
    expect(off.seen).toHaveLength(1);

    // A throttled Main ends the task: asking the continuation again would not help.
    const ended = setup((_, i) => (i === 0 ? seeOther(ID, 1) : unavailable()));
    expect((await drive(ended.clock, callLongRequest(BASE, {}, { fetch: ended.fetch, clock: ended.clock }))).status).toBe(503);
    expect(ended.seen).toHaveLength(2);
  });

  it('does not send a stream body twice', async () => {
    const t = setup(() => unavailable());
    const body = new ReadableStream({ start: (c) => c.close() });
    const response = await drive(t.clock, callLongRequest(BASE, { method: 'POST', body, duplex: 'half' } as RequestInit, { fetch: t.fetch, clock: t.clock }));
    expect(response.status).toBe(503);
    expect(t.seen).toHaveLength(1);
  });
});

describe('network errors', () => {
  it('retries a continuation GET after a network error, with backoff', async () => {
    const t = setup((_, i) => {
      if (i === 0) return seeOther(ID, 1);
      if (i < 3) throw new TypeError('fetch failed');
      return done();
    });
    const response = await drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, onProgress: t.onProgress }));
    expect(response.status).toBe(200);
    expect(t.seen.map((r) => r.at)).toEqual([0, 0, 1000, 3000]);
    expect(t.progress.map((p) => [p.status, p.next])).toEqual([
      [303, 'redirect'],
      [0, 'retry'],
      [0, 'retry'],
      [200, 'done'],
    ]);
  });

  it('resumes from a continuation URL: retries it after a network error, and names it when giving up', async () => {
    const t = setup((_, i) => {
      if (i === 0) throw new TypeError('fetch failed');
      return never();
    });
    const error = await caught(drive(t.clock, callLongRequest(`${CONTINUATION}&hop=7`, {}, { fetch: t.fetch, clock: t.clock, timeoutMs: 10_000 })));
    expect(error).toMatchObject({ kind: 'timeout', hops: 0, continuationUrl: `${CONTINUATION}&hop=7` });
    expect(t.seen.map((r) => r.at)).toEqual([0, 1000]);
  });

  it('throws a network error of the first request at once (it may have started Main)', async () => {
    const t = setup(() => {
      throw new TypeError('fetch failed');
    });
    const error = await caught(drive(t.clock, callLongRequest(BASE, { method: 'POST', body: 'x' }, { fetch: t.fetch, clock: t.clock })));
    expect(error.kind).toBe('network');
    expect(error.cause).toBeInstanceOf(TypeError);
    expect(t.seen).toHaveLength(1);
  });
});

describe('abort and timeout', () => {
  it('stops mid-chain when the caller aborts, with the reason as cause and the continuation to resume', async () => {
    const controller = new AbortController();
    const t = setup((_, i) => seeOther(ID, i + 1));
    const promise = callLongRequest(BASE, { signal: controller.signal }, {
      fetch: t.fetch,
      clock: t.clock,
      onProgress: (p) => {
        if (p.hops === 3) controller.abort(new Error('user left'));
      },
    });
    const error = await caught(drive(t.clock, promise));
    expect(error).toMatchObject({ kind: 'aborted', hops: 3, continuationUrl: `${CONTINUATION}&hop=4` });
    expect((error.cause as Error).message).toBe('user left');
    expect(t.seen).toHaveLength(4);
  });

  it('aborts a request in flight and a wait, through options.signal too', async () => {
    const controller = new AbortController();
    const t = setup(() => never());
    const promise = callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, signal: controller.signal });
    setImmediate(() => controller.abort());
    const error = await caught(promise);
    expect(error.kind).toBe('aborted');
    expect(t.seen[0]?.signal?.aborted).toBe(true);

    const waiting = new AbortController();
    const w = setup(() => answer(202, { location: `?requestID=${ID}&mode=async`, 'retry-after': '5' }));
    const polling = callLongRequest(BASE, { signal: waiting.signal }, { fetch: w.fetch, clock: w.clock });
    setImmediate(() => waiting.abort());
    expect((await caught(polling)).kind).toBe('aborted');
    expect(w.seen).toHaveLength(1);
  });

  it('does not send anything when the signal is already aborted', async () => {
    const t = setup(() => done());
    const error = await caught(callLongRequest(BASE, { signal: AbortSignal.abort() }, { fetch: t.fetch, clock: t.clock }));
    expect(error.kind).toBe('aborted');
    expect(t.seen).toHaveLength(0);
  });

  it('times out while a request is in flight', async () => {
    const t = setup((_, i) => (i < 2 ? seeOther(ID, i + 1) : never()));
    const error = await caught(drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, timeoutMs: 30_000 })));
    expect(error).toMatchObject({ kind: 'timeout', hops: 2, elapsedMs: 30_000, requestId: ID, continuationUrl: `${CONTINUATION}&hop=2` });
    expect(t.seen[2]?.signal?.aborted).toBe(true);
  });

  it('times out during a Retry-After wait, without waiting it out', async () => {
    const t = setup(() => answer(202, { location: `?requestID=${ID}&mode=async`, 'retry-after': '50' }));
    const error = await caught(drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, timeoutMs: 120_000 })));
    expect(error).toMatchObject({ kind: 'timeout', elapsedMs: 120_000, hops: 2 });
    expect(t.seen.map((r) => r.at)).toEqual([0, 50_000, 100_000]);
  });

  it('works on the real clock', async () => {
    const t = setup(() => never());
    const started = Date.now();
    const error = await caught(callLongRequest(BASE, {}, { fetch: t.fetch, timeoutMs: 50 }));
    expect(error.kind).toBe('timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('leaves no timer behind once the answer is there', async () => {
    const t = setup(() => done());
    await drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, timeoutMs: 30_000 }));
    expect(t.clock.fireNext()).toBe(false);
  });
});

describe('browsers', () => {
  const opaque = () => Object.defineProperties(new Response(null, { status: 200 }), { type: { value: 'opaqueredirect' }, status: { value: 0 } });

  it('lets fetch follow by itself when a manual redirect of a GET comes back opaque', async () => {
    const t = setup((request) => (request.redirect === 'manual' ? opaque() : Object.defineProperty(done(), 'redirected', { value: true })));
    const response = await drive(t.clock, callLongRequest(BASE, {}, { fetch: t.fetch, clock: t.clock, onProgress: t.onProgress }));
    expect(response.status).toBe(200);
    expect(t.seen.map((r) => [r.method, r.url, r.redirect])).toEqual([
      ['GET', BASE, 'manual'],
      ['GET', BASE, 'follow'],
    ]);
    expect(t.progress.map((p) => [p.hops, p.status, p.next])).toEqual([
      [0, 0, 'redirect'],
      [1, 200, 'done'],
    ]);
  });

  it('refuses to send a POST again after an opaque redirect, pointing to respondAsync', async () => {
    const t = setup(() => opaque());
    const error = await caught(drive(t.clock, callLongRequest(BASE, { method: 'POST', body: 'x' }, { fetch: t.fetch, clock: t.clock })));
    expect(error.kind).toBe('opaque-redirect');
    expect(error.message).toMatch(/respondAsync: true/);
    expect(t.seen).toHaveLength(1);
  });
});

describe('createLongRequestClient', () => {
  it('applies its defaults, and a call\'s options override them', async () => {
    const t = setup((_, i) => (i < 5 ? seeOther(ID, i + 1) : done()));
    const call = createLongRequestClient({ fetch: t.fetch, clock: t.clock, maxHops: 2, respondAsync: true });
    expect((await caught(drive(t.clock, call(BASE)))).kind).toBe('too-many-hops');
    expect(t.seen[0]?.headers.get('prefer')).toBe('respond-async');
    const response = await drive(t.clock, call(new URL(BASE), {}, { maxHops: 10 }));
    expect(response.status).toBe(200);
  });
});
