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
  return ['requestID', 'token', 'sig', 'exp'].every((name) => given.getAll(name).length === 1 && given.get(name) === valid.get(name));
}

const mutation = fc.oneof(
  fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 3 })).map(([i, s]) => (q: string) => {
    const at = i % q.length;
    return q.slice(0, at) + s + q.slice(at + 1);
  }),
  fc.nat().map((i) => (q: string) => q.slice(0, i % q.length)),
  fc.constantFrom('requestID', 'token', 'sig', 'exp', 'hop', 'mode').map((p) => (q: string) => `${q}&${p}=${new URLSearchParams(q.slice(1)).get(p) ?? 'x'}`),
  fc.constantFrom('token', 'sig', 'exp').map((p) => (q: string) => q.replace(new RegExp(`&${p}=[^&]+`), '')),
  fc.constant((q: string) => q.replace(/requestID=[^&]+/, `requestID=${new URLSearchParams((locationOf.get('B') as string).slice(1)).get('requestID')}`)),
  fc.constant((q: string) => q.replace(/sig=[^&]+/, `sig=${new URLSearchParams((locationOf.get('B') as string).slice(1)).get('sig')}`)),
  fc.constant((q: string) => q.replace(/token=[^&]+/, `token=${new URLSearchParams((locationOf.get('B') as string).slice(1)).get('token')}`)),
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

// Cross-caller fuzzing: callers, each holding credentials of one kind, send requests with keys
// drawn from a small shared pool (so that they collide often), in both payload formats, and
// follow every answer to its end. No caller may receive another's result, RequestID or link.
type CredentialKind = 'cookie' | 'x-api-key' | 'v2-cookies' | 'principalId' | 'claims' | 'jwt' | 'apiKeyId' | 'userArn' | 'cognitoIdentityId' | 'bearer' | 'basic';
const KINDS: CredentialKind[] = ['cookie', 'x-api-key', 'v2-cookies', 'principalId', 'claims', 'jwt', 'apiKeyId', 'userArn', 'cognitoIdentityId', 'bearer', 'basic'];

interface FuzzCaller {
  name: string;
  kind: CredentialKind;
}

interface FuzzRequest {
  caller: number;
  key: string;
  body: string;
}

/** The event of a caller's new request: its credential carries its name (Main echoes the name it finds). */
function callerEvent(caller: FuzzCaller, request: FuzzRequest): ReturnType<typeof restEvent> | ReturnType<typeof httpApiEvent> {
  const headers: Record<string, string> = { 'Idempotency-Key': request.key };
  const { name, kind } = caller;
  if (kind === 'cookie' || kind === 'v2-cookies') headers['Cookie'] = `session=${name}; theme=dark`;
  if (kind === 'x-api-key') headers['X-Api-Key'] = name;
  if (kind === 'bearer') headers['Authorization'] = `Bearer ${name}`;
  if (kind === 'basic') headers['Authorization'] = `Basic ${Buffer.from(`${name}:pw`).toString('base64')}`;
  if (kind === 'v2-cookies' || kind === 'jwt') {
    const event = httpApiEvent({ url: `${BASE}/fuzz`, method: 'POST', body: request.body, headers });
    if (kind === 'jwt') Object.assign(event.requestContext, { authorizer: { jwt: { claims: { iss: 'https://idp', sub: name }, scopes: null } } });
    return event;
  }
  const event = restEvent({ url: `${BASE}/dev/fuzz`, prefix: '/dev', method: 'POST', body: request.body, headers });
  if (kind === 'principalId') event.requestContext.authorizer = { principalId: name, integrationLatency: 3 };
  if (kind === 'claims') event.requestContext.authorizer = { claims: { iss: 'https://idp', sub: name, iat: String(Date.now()) } };
  if (kind === 'apiKeyId') Object.assign(event.requestContext.identity, { apiKeyId: name });
  if (kind === 'userArn') Object.assign(event.requestContext.identity, { userArn: `arn:aws:iam::1:user/${name}` });
  if (kind === 'cognitoIdentityId') Object.assign(event.requestContext.identity, { cognitoIdentityId: `us-east-1:${name}` });
  return event;
}

describe(`callers that share Idempotency-Keys (${Math.ceil(RUNS / 20)} cases, seed ${SEED})`, () => {
  let shared: Kit;

  beforeAll(async () => {
    // Zero configuration: no API_KEY, no SIGNING_SECRET.
    shared = (await Kit.start({ memoryStore: true, proxyEnv: { WAIT_SECONDS: '0', RESULT_GRACE_SECONDS: '3600' } })).main(async (event) => {
      const found = /caller-[a-z0-9]+/.exec(JSON.stringify({ a: (event as { requestContext?: unknown }).requestContext, h: (event as { headers?: unknown }).headers, c: (event as { cookies?: unknown }).cookies }));
      const basic = /Basic ([A-Za-z0-9+/=]+)/.exec(JSON.stringify((event as { headers?: unknown }).headers ?? {}));
      const name = found?.[0] ?? (basic ? /caller-[a-z0-9]+/.exec(Buffer.from(basic[1] as string, 'base64').toString())?.[0] : undefined);
      return { statusCode: 200, body: `result-for-${name ?? 'nobody'}:${(event as { body?: string }).body ?? ''}` };
    });
  });

  afterAll(async () => {
    await shared?.stop();
  });

  it('never gives one caller another\'s result, RequestID or link', async () => {
    let runId = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...KINDS), { minLength: 2, maxLength: 4 }),
        fc.array(fc.record({ caller: fc.nat(3), key: fc.constantFrom('k1', 'k2', '"k1"'), body: fc.constantFrom('{"a":1}', '{"a":2}') }), { minLength: 2, maxLength: 6 }),
        async (kinds, requests) => {
          runId += 1;
          // Names are new in every run, so that keys of earlier runs never collide with this one's.
          const callers: FuzzCaller[] = kinds.map((kind, index) => ({ kind, name: `caller-r${runId}n${index}` }));
          const seen = callers.map(() => ({ ids: new Set<string>(), tokens: new Set<string>(), texts: [] as string[] }));
          for (const request of requests) {
            const index = request.caller % callers.length;
            const caller = callers[index] as FuzzCaller;
            const mine = seen[index] as (typeof seen)[number];
            const event = callerEvent(caller, request);
            const format = 'version' in event ? '2.0' : '1.0';
            let answer = await shared.call(event, 30_000);
            let at = format === '2.0' ? `${BASE}/fuzz` : `${BASE}/dev/fuzz`;
            for (let hops = 0; ; hops += 1) {
              mine.texts.push(JSON.stringify(answer));
              const id = answer.headers?.['X-Request-Id'];
              if (id) mine.ids.add(id);
              if (answer.statusCode !== 303 || hops > 50) break;
              at = new URL(answer.headers['Location'] as string, at).toString();
              const token = new URL(at).searchParams.get('token');
              if (token) mine.tokens.add(token);
              answer = await shared.call(format === '2.0' ? httpApiEvent({ url: at }) : restEvent({ url: at, prefix: '/dev' }), 30_000);
            }
            if (answer.statusCode === 200) expect(answer.body).toBe(`result-for-${caller.name}:${request.body}`);
            else expect([422], JSON.stringify(answer)).toContain(answer.statusCode);
          }
          for (const [a, mineA] of seen.entries()) {
            for (const [b, mineB] of seen.entries()) {
              if (a === b) continue;
              const textA = mineA.texts.join('\n');
              for (const id of mineB.ids) expect(textA, `caller ${a} saw RequestID ${id} of caller ${b}`).not.toContain(id);
              for (const token of mineB.tokens) expect(textA, `caller ${a} saw a link token of caller ${b}`).not.toContain(token);
              expect(textA).not.toContain(`result-for-${(callers[b] as FuzzCaller).name}:`);
            }
          }
        },
      ),
      { numRuns: Math.ceil(RUNS / 20), seed: SEED },
    );
  }, 600_000);
});
