// Fuzzing the Proxy: generated and mutated API Gateway events, headers and continuation URLs.
// CI runs 10,000 cases with a fixed seed; a larger run on demand:
//   FUZZ_RUNS=200000 FUZZ_SEED=$RANDOM npm run fuzz
// The store is the in-memory one (it passes the same contract tests as the DynamoDB store),
// so that ten thousand cases take seconds; test/proxy/proxy.property.test.ts runs the same
// kind of properties on dynalite.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpApiEvent, restEvent } from '../support/events';
import { BASE, Kit, type ProxyAnswer } from '../support/kit';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 10_000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 424242);
/** Every status the Proxy may answer with itself. */
const DOCUMENTED = new Set([200, 202, 204, 303, 400, 401, 403, 404, 409, 413, 422, 502, 503, 504]);
const SIGNING_SECRET = 'fuzz-signing-secret-0123456789abcdef';
const API_KEY = 'fuzz-api-key-0123456789';
const SECRETS = [SIGNING_SECRET, API_KEY, 'sekrit-bearer', 'sekrit-cookie', 'sekrit-body'];
const url = `${BASE}/dev/fuzz`;
const env = { SIGNING_SECRET, API_KEY, WAIT_SECONDS: '0', RESULT_GRACE_SECONDS: '3600', CORS_ALLOW_ORIGIN: 'https://app.example.com' };

let kit: Kit;
const locationOf = new Map<string, string>();

beforeAll(async () => {
  kit = (await Kit.start({ memoryStore: true, proxyEnv: env })).main(async (event) => {
    const marker = (event as { queryStringParameters?: Record<string, string> | null }).queryStringParameters?.['marker'];
    return { statusCode: 200, body: `result-of-${typeof marker === 'string' ? marker.replace(/[^A-Za-z0-9]/g, '') : 'unmarked'}` };
  });
  for (const name of ['A', 'B']) {
    const first = await kit.call(restEvent({ url: `${url}?marker=${name}&api-key=${API_KEY}`, prefix: '/dev' }));
    if (first.statusCode !== 303) throw new Error(`setup: expected 303, got ${first.statusCode}`);
    locationOf.set(name, first.headers['Location'] as string);
  }
  await kit.lambda.idle();
});

afterAll(async () => {
  await kit?.stop();
});

function check(answer: ProxyAnswer, allowA: boolean) {
  expect(answer).toBeTypeOf('object');
  expect(Number.isInteger(answer.statusCode)).toBe(true);
  const text = JSON.stringify(answer);
  const isMainResult = typeof answer.body === 'string' && answer.body.startsWith('result-of-');
  if (!isMainResult) expect(DOCUMENTED.has(answer.statusCode), `status ${answer.statusCode}: ${text}`).toBe(true);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  expect(text).not.toContain('result-of-B');
  if (!allowA) expect(text).not.toContain('result-of-A');
}

function isExactly(target: URL, location: string): boolean {
  const valid = new URLSearchParams(location.slice(1));
  const given = target.searchParams;
  return ['requestID', 'sig', 'exp'].every((name) => given.getAll(name).length === 1 && given.get(name) === valid.get(name));
}

const mutation = fc.oneof(
  fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 3 })).map(([i, s]) => (q: string) => {
    const at = i % q.length;
    return q.slice(0, at) + s + q.slice(at + 1);
  }),
  fc.nat().map((i) => (q: string) => q.slice(0, i % q.length)),
  fc.constantFrom('requestID', 'sig', 'exp', 'hop', 'mode').map((p) => (q: string) => `${q}&${p}=${new URLSearchParams(q.slice(1)).get(p) ?? 'x'}`),
  fc.constant((q: string) => q.replace(/requestID=[^&]+/, `requestID=${new URLSearchParams((locationOf.get('B') as string).slice(1)).get('requestID')}`)),
  fc.constant((q: string) => q.replace(/sig=[^&]+/, `sig=${new URLSearchParams((locationOf.get('B') as string).slice(1)).get('sig')}`)),
  fc.string().map((s) => (q: string) => `${q}&${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
  fc.constant((q: string) => q),
);

const secretHeaders = fc.dictionary(
  fc.constantFrom('Authorization', 'Cookie', 'Accept', 'Prefer', 'Idempotency-Key', 'Origin', 'api-key', 'Content-Type', 'X-Forwarded-For'),
  fc.oneof(fc.constantFrom('Bearer sekrit-bearer', 'session=sekrit-cookie', 'text/html', 'respond-async', 'wait=0', 'respond-async, wait=1', API_KEY, '"k1"', 'https://evil.example'), fc.string()),
);

describe(`the Proxy under ${RUNS} fuzz cases (seed ${SEED})`, () => {
  it('answers mutated continuation URLs safely', async () => {
    const validA = locationOf.get('A') as string;
    await fc.assert(
      fc.asyncProperty(mutation, fc.constantFrom('1.0', '2.0'), secretHeaders, async (mutate, format, headers) => {
        let target: URL;
        try {
          target = new URL(mutate(validA), url);
        } catch {
          return;
        }
        const build = format === '2.0' ? httpApiEvent : restEvent;
        const answer = await kit.call(build({ url: target.toString(), prefix: '/dev', headers }), 1000);
        check(answer, isExactly(target, validA));
      }),
      { numRuns: Math.ceil(RUNS / 2), seed: SEED },
    );
  }, 600_000);

  it('answers generated requests with random methods, headers and bodies safely', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'DELETE', 'PATCH'),
        fc.webPath(),
        fc.dictionary(fc.constantFrom('marker', 'api-key', 'requestID', 'hop', 'mode', 'q'), fc.oneof(fc.string(), fc.constant(API_KEY))),
        secretHeaders,
        fc.option(fc.oneof(fc.string(), fc.constant('sekrit-body')), { nil: undefined }),
        fc.boolean(),
        fc.constantFrom('1.0', '2.0'),
        async (method, path, query, headers, body, base64, format) => {
          const target = new URL(`${url}${path.startsWith('/') ? path : `/${path}`}`);
          for (const [name, value] of Object.entries(query)) target.searchParams.set(name, name === 'marker' ? 'C' : value);
          const build = format === '2.0' ? httpApiEvent : restEvent;
          const spec = { url: target.toString(), prefix: '/dev', method, headers, isBase64Encoded: base64, ...(body !== undefined && { body: base64 ? Buffer.from(body).toString('base64') : body }) };
          const answer = await kit.call(build(spec), 1000);
          check(answer, false);
        },
      ),
      { numRuns: Math.ceil(RUNS * 0.3), seed: SEED },
    );
  }, 600_000);

  it('answers events with missing, mistyped and random fields safely', async () => {
    const junk = fc.oneof(fc.constant(undefined), fc.constant(null), fc.integer(), fc.string(), fc.array(fc.string()), fc.object());
    const event = fc.record(
      {
        version: fc.oneof(fc.constantFrom('2.0', '1.0'), junk),
        httpMethod: fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS'), junk),
        path: fc.oneof(fc.constant('/fuzz'), junk),
        rawPath: fc.oneof(fc.constant('/fuzz'), junk),
        headers: fc.oneof(secretHeaders, junk),
        multiValueHeaders: fc.oneof(fc.dictionary(fc.string(), fc.array(fc.string())), junk),
        queryStringParameters: fc.oneof(fc.dictionary(fc.constantFrom('requestID', 'hop', 'sig', 'exp', 'mode', 'api-key'), fc.string()), junk),
        multiValueQueryStringParameters: fc.oneof(fc.dictionary(fc.string(), fc.array(fc.string())), junk),
        rawQueryString: fc.oneof(fc.string(), junk),
        cookies: fc.oneof(fc.array(fc.constant('s=sekrit-cookie')), junk),
        requestContext: fc.oneof(fc.record({ http: fc.oneof(fc.record({ method: fc.oneof(fc.string(), junk), path: junk }), junk), stage: junk }), junk),
        body: fc.oneof(fc.constant('sekrit-body'), fc.string(), junk),
        isBase64Encoded: fc.oneof(fc.boolean(), junk),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(event, async (e) => {
        const answer = await kit.call(e as never, 1000);
        check(answer, false);
      }),
      { numRuns: Math.ceil(RUNS * 0.2), seed: SEED },
    );
  }, 600_000);
});
