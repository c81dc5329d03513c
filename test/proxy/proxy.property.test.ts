import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restEvent, httpApiEvent } from '../support/events';
import { BASE, Kit, type ProxyAnswer } from '../support/kit';

/** Every status the Proxy may answer with itself (Main's own come through as Main returned them). */
const DOCUMENTED = new Set([200, 202, 204, 303, 400, 401, 403, 404, 409, 413, 422, 502, 503, 504]);
const SECRET = 'x'.repeat(40);
const SEED = 20261127;

let kit: Kit;
const url = `${BASE}/dev/fuzz`;
const resultOf = new Map<string, string>();
const locationOf = new Map<string, string>();

beforeAll(async () => {
  // The setup's Mains wait until both 303s are in: a Main that ended inside the short window
  // would give a 200 instead (a loaded machine makes the window's reads slow).
  let release = () => {};
  const setupDone = new Promise<void>((resolve) => (release = resolve));
  kit = (await Kit.start({ proxyEnv: { SIGNING_SECRET: SECRET, WAIT_SECONDS: '0.05', RESULT_GRACE_SECONDS: '600' } })).main(async (event) => {
    const marker = (event as { queryStringParameters?: Record<string, string> | null }).queryStringParameters?.['marker'];
    if (marker === 'A' || marker === 'B') await setupDone;
    return { statusCode: 200, body: `result-of-${marker ?? 'unmarked'}` };
  });
  // Two finished tasks, A and B, whose results are still readable.
  for (const name of ['A', 'B']) {
    kit.configure({ SIGNING_SECRET: SECRET, WAIT_SECONDS: '0.01', RESULT_GRACE_SECONDS: '600', POLL_INITIAL_MS: '5', POLL_MAX_MS: '5' });
    const first = await kit.call(restEvent({ url: `${url}?marker=${name}`, prefix: '/dev' }));
    if (first.statusCode !== 303) throw new Error(`setup: expected 303, got ${first.statusCode}`);
    resultOf.set(name, `result-of-${name}`);
    locationOf.set(name, first.headers['Location'] as string);
  }
  release();
  await kit.lambda.idle();
  kit.configure({ SIGNING_SECRET: SECRET, WAIT_SECONDS: '0.05', RESULT_GRACE_SECONDS: '600' });
}, 60_000);

afterAll(async () => {
  await kit?.stop();
});

function assertWellFormed(answer: ProxyAnswer) {
  expect(typeof answer).toBe('object');
  expect(Number.isInteger(answer.statusCode)).toBe(true);
  if (!answer.body?.startsWith('result-of-')) expect(DOCUMENTED.has(answer.statusCode)).toBe(true);
  expect(JSON.stringify(answer)).not.toContain(SECRET);
}

/** Mutations of a valid continuation query: what a curious or broken client might send. */
const mutatedQuery = fc.oneof(
  // Change one character somewhere.
  fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 1 })).map(([i, c]) => (q: string) => {
    const at = i % q.length;
    return q.slice(0, at) + c + q.slice(at + 1);
  }),
  // Cut it short.
  fc.nat().map((i) => (q: string) => q.slice(0, i % q.length)),
  // Repeat a parameter.
  fc.constantFrom('requestID', 'sig', 'exp', 'hop', 'mode').map((p) => (q: string) => `${q}&${p}=${new URLSearchParams(q.slice(1)).get(p) ?? '1'}`),
  // Swap in the other task's RequestID with this task's signature.
  fc.constant((q: string) => q.replace(/requestID=[^&]+/, `requestID=${new URLSearchParams((locationOf.get('B') as string).slice(1)).get('requestID')}`)),
  // Random junk appended.
  fc.string().map((s) => (q: string) => `${q}&${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
);

describe('the Proxy under random input', () => {
  it('never throws, answers only documented statuses, and never gives one task\'s result to another task\'s link', async () => {
    const validA = locationOf.get('A') as string;
    await fc.assert(
      fc.asyncProperty(mutatedQuery, fc.constantFrom('1.0', '2.0'), async (mutate, format) => {
        const query = mutate(validA);
        const build = format === '2.0' ? httpApiEvent : restEvent;
        let target: string;
        try {
          target = new URL(query.startsWith('?') ? query : `?${query}`, url).toString();
        } catch {
          return;
        }
        const answer = await kit.call(build({ url: target, prefix: '/dev' }));
        assertWellFormed(answer);
        expect(answer.body ?? '').not.toContain('result-of-B');
        if (answer.body?.includes('result-of-A')) {
          // Only the exact, untouched capability may read A.
          const params = new URL(target).searchParams;
          const valid = new URLSearchParams(validA.slice(1));
          expect(params.getAll('requestID')).toEqual([valid.get('requestID')]);
          expect(params.getAll('sig')).toEqual([valid.get('sig')]);
          expect(params.getAll('exp')).toEqual([valid.get('exp')]);
        }
      }),
      { numRuns: 400, seed: SEED },
    );
  }, 120_000);

  it('handles events with missing, mistyped and random fields without an unhandled error', async () => {
    const junk = fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer(), fc.string(), fc.array(fc.string()), fc.dictionary(fc.string(), fc.string()));
    const event = fc.record(
      {
        version: fc.oneof(fc.constant('2.0'), fc.constant('1.0'), junk),
        httpMethod: fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'get'), junk),
        path: fc.oneof(fc.constant('/fuzz'), junk),
        headers: fc.oneof(fc.dictionary(fc.constantFrom('Accept', 'Prefer', 'Cookie', 'accept', 'x'), fc.string()), junk),
        multiValueHeaders: fc.oneof(fc.dictionary(fc.string(), fc.array(fc.string())), junk),
        queryStringParameters: fc.oneof(fc.dictionary(fc.constantFrom('requestID', 'hop', 'sig', 'exp', 'mode', 'marker'), fc.string()), junk),
        multiValueQueryStringParameters: fc.oneof(fc.dictionary(fc.string(), fc.array(fc.string())), junk),
        rawQueryString: fc.oneof(fc.string(), junk),
        requestContext: fc.oneof(fc.record({ http: fc.oneof(fc.record({ method: fc.oneof(fc.string(), junk) }), junk) }), junk),
        body: fc.oneof(fc.string(), junk),
        isBase64Encoded: fc.oneof(fc.boolean(), junk),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(event, async (e) => {
        const answer = await kit.call(e as never, 200);
        assertWellFormed(answer);
        expect(answer.body ?? '').not.toMatch(/result-of-[AB]/);
      }),
      { numRuns: 300, seed: SEED },
    );
  }, 120_000);
});
