/**
 * One test (or a few) per defect of the review "No result reaches the wrong caller and none is
 * lost" (issue 9), numbered as there. Each drives the real handlers through their Lambda
 * interface: events in, answers out, with dynalite or the local stack's DynamoDB and Lambda.
 */
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callLongRequest } from '../../client/index';
import { InvokeError } from '../../core/invoker';
import { StoreUnavailableError, type TaskStore } from '../../core/task-store';
import { startLocalStack, type LocalStack } from '../../local/index';
import { createFunction } from '../local/helpers';
import { answer as scripted, drive, fakeFetch, FakeClock } from '../client/fakes';
import { httpApiEvent, restEvent } from '../support/events';
import { testCredentials } from '../support/dynalite';
import { BASE, Kit, MAIN, TABLE, TALKER, type ProxyAnswer } from '../support/kit';

let kit: Kit | undefined;
afterEach(async () => {
  kit?.dynamo?.unstall();
  await kit?.stop();
  kit = undefined;
});

const url = `${BASE}/dev/orders`;
// A caller with credentials: anonymous requests' keys are not honoured (see "what identifies a caller").
const post = (body: string, headers: Record<string, string | string[]> = {}) => restEvent({ url, prefix: '/dev', method: 'POST', body, headers: { Authorization: 'Bearer the-caller', ...headers } });
const get = (target: string, headers?: Record<string, string>) => restEvent({ url: target, prefix: '/dev', ...(headers && { headers }) });
const code = (answer: ProxyAnswer) => (JSON.parse(answer.body) as { error: { code: string } }).error.code;
const next = (answer: ProxyAnswer, from = url) => new URL(answer.headers['Location'] as string, from).toString();

/** Main counts its runs and names, in its answer, the caller it saw and the run. */
function countingMain(ms: number) {
  let runs = 0;
  return async (event: unknown) => {
    runs += 1;
    const run = runs;
    await sleep(ms);
    const e = event as { headers?: Record<string, string> | null; cookies?: string[]; requestContext?: Record<string, unknown>; body?: string | null };
    const caller = JSON.stringify([e.headers?.['Cookie'] ?? e.headers?.['cookie'], e.headers?.['X-Api-Key'] ?? e.headers?.['x-api-key'], e.cookies, e.requestContext?.['authorizer'], (e.requestContext?.['identity'] as Record<string, unknown> | undefined)?.['userArn']]);
    return { statusCode: 200, body: `run ${run} of ${e.body ?? ''} for ${caller}` };
  };
}

/** Follows 303s as GETs until an answer that is not one. */
async function settle(first: ProxyAnswer, format: '1.0' | '2.0' = '1.0'): Promise<ProxyAnswer> {
  let answer = first;
  let from = format === '2.0' ? 'https://api.example.com/orders' : url;
  for (let hops = 0; answer.statusCode === 303 && hops < 50; hops += 1) {
    from = next(answer, from);
    answer = await (kit as Kit).call(format === '2.0' ? httpApiEvent({ url: from }) : get(from));
  }
  return answer;
}

/** Races a call against API Gateway's cut-off: resolves with 'cut-off' when the answer came too late. */
async function beforeCutoff<T>(call: Promise<T>, cutoffMs: number): Promise<T | 'cut-off'> {
  return Promise.race([call, sleep(cutoffMs).then(() => 'cut-off' as const)]);
}

describe('1. an answer about another request never names it', () => {
  it('a 422 for a reused Idempotency-Key carries neither the first request\'s RequestID nor anything of its link', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.2' } })).main(countingMain(800));
    const headers = { 'Idempotency-Key': 'k-422', Authorization: 'Bearer alice-token' };
    const first = await kit.call(post('{"amount":10}', headers));
    expect(first.statusCode).toBe(303);
    const firstId = first.headers['X-Request-Id'] as string;
    const reused = await kit.call(post('{"amount":99}', headers));
    expect(reused.statusCode).toBe(422);
    expect(code(reused)).toBe('IDEMPOTENCY_KEY_REUSED');
    const text = JSON.stringify(reused);
    expect(text).not.toContain(firstId);
    for (const value of new URL(next(first)).searchParams.values()) if (value.length >= 16) expect(text).not.toContain(value);
  });
});

describe('2. an Idempotency-Key is scoped to its caller', () => {
  type Shape = (event: APIGatewayProxyEvent) => void;
  const withAuthorizer = (authorizer: Record<string, unknown>): Shape => (event) => {
    event.requestContext.authorizer = authorizer;
  };
  const withIdentity = (identity: Record<string, unknown>): Shape => (event) => {
    Object.assign(event.requestContext.identity, identity);
  };
  const rest = (headers: Record<string, string>, shape?: Shape) => {
    const event = post('{"pay":1}', { 'Idempotency-Key': 'shared-key', ...headers });
    shape?.(event);
    return event;
  };
  const callers: Array<[string, () => APIGatewayProxyEvent, () => APIGatewayProxyEvent]> = [
    ['another Cookie session', () => rest({ Cookie: 'session=alice' }), () => rest({ Cookie: 'session=mallory' })],
    ['another x-api-key header', () => rest({ 'X-Api-Key': 'alice-key' }), () => rest({ 'X-Api-Key': 'mallory-key' })],
    ['another authorizer principalId', () => rest({}, withAuthorizer({ principalId: 'alice' })), () => rest({}, withAuthorizer({ principalId: 'mallory' }))],
    ['other authorizer claims', () => rest({}, withAuthorizer({ claims: { iss: 'https://idp', sub: 'alice' } })), () => rest({}, withAuthorizer({ claims: { iss: 'https://idp', sub: 'mallory' } }))],
    ['another identity.apiKeyId', () => rest({}, withIdentity({ apiKeyId: 'key-alice' })), () => rest({}, withIdentity({ apiKeyId: 'key-mallory' }))],
    ['another identity.userArn', () => rest({}, withIdentity({ userArn: 'arn:aws:iam::1:user/alice' })), () => rest({}, withIdentity({ userArn: 'arn:aws:iam::1:user/mallory' }))],
    ['another identity.cognitoIdentityId', () => rest({}, withIdentity({ cognitoIdentityId: 'us-east-1:alice' })), () => rest({}, withIdentity({ cognitoIdentityId: 'us-east-1:mallory' }))],
  ];

  it.each(callers)('%s does not join the first caller\'s task: each gets its own run', async (_name, alice, mallory) => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' } })).main(countingMain(300));
    const first = await settle(await kit.call(alice()));
    const second = await settle(await kit.call(mallory()));
    expect(first.body).toMatch(/^run 1 /);
    expect(second.body).toMatch(/^run 2 /);
    expect(kit.mainCalls()).toBe(2);
  });

  it('another HTTP API cookies[] entry does not join the first caller\'s task', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' } })).main(countingMain(300));
    const v2 = (cookie: string): APIGatewayProxyEventV2 => httpApiEvent({ url: 'https://api.example.com/orders', method: 'POST', body: 'x', headers: { 'Idempotency-Key': 'k', Cookie: cookie, Authorization: 'Bearer the-caller' } });
    const first = await settle(await kit.call(v2('session=alice')), '2.0');
    const second = await settle(await kit.call(v2('session=mallory')), '2.0');
    expect([first.body.slice(0, 6), second.body.slice(0, 6)]).toEqual(['run 1 ', 'run 2 ']);
  });

  it('a refreshed bearer token of the same verified user joins the task instead of getting a 422', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.2' } })).main(countingMain(600));
    const as = (token: string, iat: number) => rest({ Authorization: `Bearer ${token}` }, withAuthorizer({ claims: { iss: 'https://idp', sub: 'alice', iat, exp: iat + 3600, jti: token } }));
    const first = await kit.call(as('token-before-refresh', 1000));
    const refreshed = await kit.call(as('token-after-refresh', 4600));
    expect(refreshed.statusCode).toBe(303);
    expect([(await settle(first)).body, (await settle(refreshed)).body].map((b) => b.slice(0, 6))).toEqual(['run 1 ', 'run 1 ']);
    expect(kit.mainCalls()).toBe(1);
  });

  it('a SigV4 request signed again (new X-Amz-Date and signature) by the same IAM user joins the task instead of getting a 422', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.2' } })).main(countingMain(600));
    const signed = (date: string, signature: string) => rest(
      { Authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/${date.slice(0, 8)}/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${signature}`, 'X-Amz-Date': date },
      withIdentity({ userArn: 'arn:aws:iam::123456789012:user/alice', accessKey: 'AKIDEXAMPLE', user: 'AIDAALICE', caller: 'AIDAALICE' }),
    );
    const first = await kit.call(signed('20261201T210000Z', 'a'.repeat(64)));
    const again = await kit.call(signed('20261201T210007Z', 'b'.repeat(64)));
    expect(again.statusCode).toBe(303);
    await settle(first);
    expect((await settle(again)).body).toMatch(/^run 1 /);
    expect(kit.mainCalls()).toBe(1);
  });
});

describe('3. links carry a secret by default', () => {
  it('with no API_KEY and no SIGNING_SECRET, a bare RequestID gets 403 and never the result; the logs never show the link\'s secret', async () => {
    const logged: string[] = [];
    const logger = { info: (m: string, e?: unknown) => logged.push(m + JSON.stringify(e)), warn: (m: string, e?: unknown) => logged.push(m + JSON.stringify(e)), error: (m: string, e?: unknown) => logged.push(m + JSON.stringify(e)) };
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.2' }, logger })).main(countingMain(400));
    const first = await kit.call(get(url));
    expect(first.statusCode).toBe(303);
    const requestId = first.headers['X-Request-Id'] as string;
    const bare = await kit.call(get(`${url}?requestID=${requestId}`));
    expect(bare.statusCode).toBe(403);
    const done = await settle(first);
    expect(done.body).toMatch(/^run 1 /);
    const stillBare = await kit.call(get(`${url}?requestID=${requestId}&hop=3`));
    expect(stillBare.statusCode).toBe(403);
    expect(stillBare.body).not.toContain('run 1');
    const secrets = [...new URL(next(first)).searchParams.entries()].filter(([name]) => !['requestID', 'hop', 'mode'].includes(name)).map(([, value]) => value);
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(logged.join('\n')).not.toContain(secret);
      expect(JSON.stringify(bare)).not.toContain(secret);
    }
    expect(logged.join('\n')).toContain(requestId);
  });
});

describe('4. API_KEY cannot be recovered offline from a link', () => {
  it('no guessed key reproduces anything in a link', async () => {
    const API_KEY = 'abcd1234';
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.2', API_KEY } })).main(countingMain(400));
    const first = await kit.call(get(`${url}?api-key=${API_KEY}`));
    expect(first.statusCode).toBe(303);
    const link = new URL(next(first));
    const requestId = link.searchParams.get('requestID') as string;
    const values = new Set([...link.searchParams.values()]);
    // The attack of the review: derive a signing key from each guess as the kit did, and sign.
    for (const guess of ['password', '12345678', 'abcd1233', API_KEY, 'abcd1235']) {
      const derived = createHmac('sha256', guess).update('long-request-kit/continuation-signing/v1').digest();
      const signature = createHmac('sha256', derived).update(`v1\n${requestId}\n${link.searchParams.get('exp') ?? ''}`).digest('base64url');
      expect(values.has(signature), `the guess ${guess} reproduces the link's signature`).toBe(false);
    }
  });
});

describe('5. every call is bounded by the answer deadline', () => {
  const CUTOFF_MS = 6000;
  // The longest window the cut-off allows (6 s less the 2 s margin).
  const proxyEnv = { GATEWAY_TIMEOUT_MS: String(CUTOFF_MS), WAIT_SECONDS: '4' };

  it('a table that hangs at the first write: 503 with Retry-After before API Gateway\'s cut-off; the retry with the same key runs Main once', async () => {
    kit = (await Kit.start({ wiring: 'production', proxyEnv })).main(countingMain(300));
    kit.dynamo?.stall();
    const started = Date.now();
    const answer = await beforeCutoff(kit.call(post('{"n":1}', { 'Idempotency-Key': 'hang-1' })), CUTOFF_MS);
    expect(answer).not.toBe('cut-off');
    const refused = answer as ProxyAnswer;
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['Retry-After']).toBe('5');
    expect(Date.now() - started).toBeLessThan(CUTOFF_MS);
    kit.dynamo?.unstall();
    const retried = await settle(await kit.call(post('{"n":1}', { 'Idempotency-Key': 'hang-1' })));
    expect(retried.statusCode).toBe(200);
    expect(kit.mainCalls()).toBe(1);
  });

  it('a table that hangs right after a CREATED status read: the continuation before the cut-off, then the result', async () => {
    // A queued Talker: the first hop reads the result from the table (a synchronous one returns
    // it); and a result kept apart (none inline), so that a read follows the status read.
    kit = (await Kit.start({ wiring: 'production', proxyEnv: { ...proxyEnv, TALKER_INVOCATION_TYPE: 'Event' }, talkerEnv: { INLINE_RESULT_MAX_BYTES: '0' } })).main(countingMain(200));
    // Hold the result's read (a GetItem of the <id>#result item), nothing else.
    kit.dynamo?.stallWhen((chunk) => chunk.includes('DynamoDB_20120810.GetItem') && chunk.includes('#result'));
    const answer = await beforeCutoff(kit.call(get(url)), CUTOFF_MS);
    expect(answer).not.toBe('cut-off');
    const first = answer as ProxyAnswer;
    expect(first.statusCode).toBe(303);
    kit.dynamo?.unstall();
    const done = await settle(first);
    expect(done.statusCode).toBe(200);
    expect(done.body).toMatch(/^run 1 /);
    expect(kit.mainCalls()).toBe(1);
  });

  it('the Talker against a hung table returns before its own timeout, without throwing', async () => {
    kit = (await Kit.start({ wiring: 'production', proxyEnv })).main(countingMain(100));
    kit.dynamo?.stall();
    const payload = { requestId: '3f1c3f5e-3c8e-4c39-9d3b-0a6f1f9c2b11', event: get(url) };
    const fn = kit.lambda.functions.get(TALKER)?.handler as (p: unknown, c: unknown) => Promise<{ outcome: string }>;
    const outcome = await beforeCutoff(fn(payload, { awsRequestId: 'talker-1', functionName: TALKER, getRemainingTimeInMillis: () => 5000 }), 6000);
    expect(outcome).not.toBe('cut-off');
    expect((outcome as { outcome: string }).outcome).toBe('SKIPPED');
    expect(kit.mainCalls()).toBe(0);
  });
});

describe('5. (Lambda) a hung Talker invoke', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    // Functions Active at once: the test creates one and has the Proxy invoke it straight away.
    stack = await startLocalStack({ port: 0, log: () => undefined, lambdaStateDelayMs: 0 });
    await createFunction(new (await import('@aws-sdk/client-lambda')).LambdaClient({ endpoint: stack.url, region: 'us-east-1', credentials: testCredentials }), 'hung-talker', 'exports.handler = async () => ({});');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers 503 with Retry-After before the cut-off, and releases the Idempotency-Key for the retry', async () => {
    const { createProxyHandler } = await import('../../proxy/proxy');
    const { loadProxyConfig } = await import('../../core/config');
    const dynamo = await (await import('../support/dynalite')).startDynamo();
    await dynamo.createTable(TABLE);
    process.env['AWS_ENDPOINT_URL_DYNAMODB'] = dynamo.endpoint;
    process.env['AWS_ENDPOINT_URL_LAMBDA'] = stack.url;
    process.env['AWS_REGION'] = 'us-east-1';
    process.env['AWS_ACCESS_KEY_ID'] = 'test';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'test';
    try {
      const proxy = createProxyHandler({ config: loadProxyConfig({ DYNAMODB_TABLE_NAME: TABLE, LAMBDA_TALKER_NAME: 'hung-talker', GATEWAY_TIMEOUT_MS: '12000' }), logger: { info() {}, warn() {}, error() {} } });
      stack.ops.lambdaFault('hung-talker', { hang: true });
      const context = { getRemainingTimeInMillis: () => 30_000, awsRequestId: 'p' };
      const answer = await beforeCutoff(proxy(post('{}', { 'Idempotency-Key': 'k-hung', Prefer: 'respond-async' }), context), 12_000);
      expect(answer).not.toBe('cut-off');
      expect((answer as ProxyAnswer).statusCode).toBe(503);
      expect((answer as ProxyAnswer).headers['Retry-After']).toBe('5');
      stack.ops.lambdaFault('hung-talker', 'clear');
      const retried = (await proxy(post('{}', { 'Idempotency-Key': 'k-hung', Prefer: 'respond-async' }), context)) as ProxyAnswer;
      expect(retried.statusCode).toBe(202);
    } finally {
      await dynamo.stop();
    }
  });
});

describe('6. conditional writes recognise their own success when the SDK retries them', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    // Functions Active at once: the test creates one and has the Proxy invoke it straight away.
    stack = await startLocalStack({ port: 0, log: () => undefined, lambdaStateDelayMs: 0 });
    const client = new DynamoDBClient({ endpoint: stack.url, region: 'us-east-1', credentials: testCredentials });
    await client.send(new CreateTableCommand({
      TableName: TABLE, AttributeDefinitions: [{ AttributeName: 'RequestID', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'RequestID', KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST',
    }));
    client.destroy();
  });
  afterAll(async () => {
    await stack?.stop();
  });
  afterEach(() => {
    stack.ops.dynamoDbFault('clear');
  });

  it.each([
    ['kept with the status', '3000'],
    ['kept apart', '0'],
  ])('a retried completion keeps Main\'s result (%s): the client gets it, not 404', async (_place, inlineMax) => {
    kit = await Kit.start({ wiring: 'production', dynamoEndpoint: stack.url, proxyEnv: { WAIT_SECONDS: '5' }, talkerEnv: { INLINE_RESULT_MAX_BYTES: inlineMax } });
    const main = countingMain(200);
    kit.main(async (event) => {
      // The claim is done when Main runs: the next UpdateItem is the completion.
      stack.ops.dynamoDbFault({ drop: 'after-apply', operations: ['UpdateItem'], count: 1 });
      return main(event);
    });
    const answer = await settle(await kit.call(get(url)));
    await kit.lambda.idle();
    // The Talker knows its completion landed, and Main's result is still in the table (for the
    // grace period): a retried GET, or a client that read the status a moment later, still gets it.
    expect(kit.talkerOutcomes.map((o) => o.outcome)).toEqual(['CREATED']);
    const requestId = answer.headers?.['X-Request-Id'] ?? (kit.talkerOutcomes[0] as { requestId: string }).requestId;
    const view = await kit.store.readStatus(requestId, Date.now());
    expect(view?.status).toBe('CREATED');
    expect(view?.result ?? (await kit.store.readResult(requestId))).toBeDefined();
    expect(view?.result === undefined).toBe(inlineMax === '0');
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toMatch(/^run 1 /);
    expect(stack.ops.stats().dynamodb.answersLost).toBeGreaterThanOrEqual(1);
  });

  it('a retried claim runs Main: the client gets the result, not LOST', async () => {
    kit = (await Kit.start({ wiring: 'production', dynamoEndpoint: stack.url, proxyEnv: { WAIT_SECONDS: '10' }, talkerTimeoutMs: 4000 })).main(countingMain(200));
    const lostBefore = stack.ops.stats().dynamodb.answersLost;
    stack.ops.dynamoDbFault({ drop: 'after-apply', operations: ['UpdateItem'], count: 1 });
    const answer = await settle(await kit.call(get(url)));
    expect(stack.ops.stats().dynamodb.answersLost).toBe(lostBefore + 1);
    expect(answer.statusCode).toBe(200);
    expect(kit.mainCalls()).toBe(1);
  });

  it('a retried task write and key reservation start the task: the client gets the result, and a repeat joins it', async () => {
    kit = (await Kit.start({ wiring: 'production', dynamoEndpoint: stack.url, proxyEnv: { WAIT_SECONDS: '5' } })).main(countingMain(200));
    const lostBefore = stack.ops.stats().dynamodb.answersLost;
    // The task's PutItem (it carries the link token's hash) and the key's PutItem each lose their answer once.
    stack.ops.dynamoDbFault({ drop: 'after-apply', operations: ['PutItem'], count: 1, match: '"TokenHashes"' });
    stack.ops.dynamoDbFault({ drop: 'after-apply', operations: ['PutItem'], count: 1, match: 'idempotency#' });
    const first = await settle(await kit.call(post('{"n":6}', { 'Idempotency-Key': 'retried-key' })));
    expect(stack.ops.stats().dynamodb.answersLost).toBe(lostBefore + 2);
    expect(first.statusCode).toBe(200);
    const repeat = await settle(await kit.call(post('{"n":6}', { 'Idempotency-Key': 'retried-key' })));
    expect(repeat.body).toBe(first.body);
    expect(kit.mainCalls()).toBe(1);
  });
});

describe('7. a key is released when its task never ran Main', () => {
  it('after a 503 for a refused Talker invoke, the retry with the same key runs Main, instead of 409', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' } })).main(countingMain(100));
    kit.lambda.refuse.set(TALKER, new InvokeError('unavailable', 'ServiceException: Lambda is down'));
    const refused = await kit.call(post('{"n":7}', { 'Idempotency-Key': 'k-7' }));
    expect(refused.statusCode).toBe(503);
    kit.lambda.refuse.delete(TALKER);
    const retried = await settle(await kit.call(post('{"n":7}', { 'Idempotency-Key': 'k-7' })));
    expect(retried.statusCode).toBe(200);
    expect(kit.mainCalls()).toBe(1);
  });
});

describe('8. the client follows every continuation the kit issues', () => {
  it('with RESULTS_PATH and respondAsync it polls the results path to the result', async () => {
    const clock = new FakeClock();
    const id = '5b0c2a4e-8f7d-4c1e-9a3b-2d6e8f0a1c3b';
    const token = 'T'.repeat(43);
    const { fetch, seen } = fakeFetch(clock, (_request, index) => index === 0
      ? scripted(202, { Location: `_results/${id}?token=${token}&mode=async`, 'Retry-After': '1', 'X-Request-Id': id, 'Content-Type': 'application/json' }, '{"status":"pending"}')
      : scripted(200, {}, '{"done":true}'));
    const response = await drive(clock, callLongRequest('https://api.example.com/dev/report', { method: 'POST', body: '{}' }, { respondAsync: true, fetch, clock }));
    expect(response.status).toBe(200);
    expect(seen.map((r) => r.url)).toEqual(['https://api.example.com/dev/report', `https://api.example.com/dev/_results/${id}?token=${token}&mode=async`]);
  });
});

describe('9. a LOST verdict that loses a race does not break a signed link', () => {
  it('re-reads the task and delivers the result that was recorded at the last moment', async () => {
    let raced = 0;
    const LATE = 'late-talker';
    const wrap = (store: TaskStore): TaskStore => new Proxy(store, {
      get(target, name, receiver) {
        if (name === 'createTask') {
          // A Talker claims the new task at once, with a deadline 1 s away, and then goes quiet.
          return async (...args: Parameters<TaskStore['createTask']>) => {
            await target.createTask(...args);
            const now = Date.now();
            await target.claimTask(args[0].requestId, { now, deadline: now + 1000, claimedBy: LATE });
          };
        }
        if (name !== 'failTask') return Reflect.get(target, name, receiver) as unknown;
        return async (...args: Parameters<TaskStore['failTask']>) => {
          const [requestId, failure] = args;
          if (failure.kind === 'LOST' && raced === 0) {
            raced += 1;
            // ... and records Main's answer just before the Proxy's LOST verdict lands.
            const now = Date.now();
            const result = { body: Buffer.from(JSON.stringify({ statusCode: 200, body: 'late but here' })), encoding: 'identity' as const };
            expect(await target.completeTask(requestId, result, { now, expiresAt: Math.floor(now / 1000) + 600, claimedBy: LATE } as never)).toBe(true);
          }
          return target.failTask(...args);
        };
      },
    });
    // A queued Talker that is lost, so that only the wrapped store's late Talker records anything.
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5', SIGNING_SECRET: 'a-signing-secret-of-at-least-32-characters!', TALKER_INVOCATION_TYPE: 'Event' }, wrapProxyStore: wrap })).main(countingMain(100));
    kit.lambda.drop.add(TALKER);
    const answer = await kit.call(get(url));
    expect(raced).toBe(1);
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toBe('late but here');
  });
});

describe('10. Preference-Applied is only on the Proxy\'s own answers, with the wait applied', () => {
  it('Main\'s own 303 is passed on untouched', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' } })).main(async () => ({ statusCode: 303, headers: { Location: '/elsewhere' }, body: '' }));
    const answer = await kit.call(get(url, { Prefer: 'wait=5' }));
    expect(answer).toEqual({ statusCode: 303, headers: { Location: '/elsewhere' }, body: '' });
  });

  it('a capped wait reports the wait the Proxy applied, not the one asked for', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '1' } })).main(countingMain(2500));
    const answer = await kit.call(get(url, { Prefer: 'wait=100' }));
    expect(answer.statusCode).toBe(303);
    expect(answer.headers['Preference-Applied']).toBe('wait=1');
  });
});

// Found by a review of the fixes above (as an attacker and a fault injector would).
describe('review: keys, withdrawals and records', () => {
  it('a withdrawal that finds the task gone (delivered to a repeat and retired) does not say "nothing ran", and the retry does not run Main again', async () => {
    let joined: ProxyAnswer | undefined;
    const headers = { 'Idempotency-Key': 'k-gone' };
    const wrap = (store: TaskStore): TaskStore => new Proxy(store, {
      get(target, name, receiver) {
        if (name !== 'abandonTask') return Reflect.get(target, name, receiver) as unknown;
        return async (...args: Parameters<TaskStore['abandonTask']>) => {
          if (joined === undefined) {
            // Lambda took the event although its answer was lost: Main runs, and a repeat of the
            // request (same key) joins, gets the result and retires the task before the withdrawal.
            joined = { statusCode: 0, headers: {}, body: '' };
            await (kit as Kit).lambda.idle();
            joined = await settle(await (kit as Kit).call(post('{"n":1}', headers)));
          }
          return target.abandonTask(...args);
        };
      },
    });
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5', RESULT_GRACE_SECONDS: '0' }, wrapProxyStore: wrap })).main(countingMain(50));
    kit.lambda.loseAnswer.set(TALKER, new InvokeError('unavailable', 'socket hang up'));
    const first = await kit.call(post('{"n":1}', headers));
    kit.lambda.loseAnswer.delete(TALKER);
    expect(joined?.body).toMatch(/^run 1 /);
    expect(first.statusCode).not.toBe(503);
    const retried = await settle(await kit.call(post('{"n":1}', headers)));
    expect(retried.statusCode).toBe(409);
    expect(kit.mainCalls()).toBe(1);
  });

  it('a THROTTLED 503 frees its key: the retry with the same key runs Main once Lambda has capacity', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' }, talkerEnv: { THROTTLE_RETRIES: '0' } })).main(countingMain(50));
    kit.lambda.refuse.set(MAIN, new InvokeError('throttled', 'TooManyRequestsException: Rate Exceeded'));
    const throttled = await settle(await kit.call(post('{"n":2}', { 'Idempotency-Key': 'k-throttled' })));
    expect(throttled.statusCode).toBe(503);
    expect(code(throttled)).toBe('THROTTLED');
    kit.lambda.refuse.delete(MAIN);
    const retried = await settle(await kit.call(post('{"n":2}', { 'Idempotency-Key': 'k-throttled' })));
    expect(retried.statusCode).toBe(200);
    expect(retried.body).toMatch(/^run 1 /);
  });

  it('a Lambda authorizer that answers the same principalId for everyone does not merge its callers', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' } })).main(countingMain(50));
    const as = (token: string) => {
      const event = post('{"n":3}', { 'Idempotency-Key': 'k-shared', Authorization: `Bearer ${token}` });
      event.requestContext.authorizer = { principalId: 'user', integrationLatency: 12 };
      return event;
    };
    const alice = await settle(await kit.call(as('alice')));
    const mallory = await settle(await kit.call(as('mallory')));
    expect([alice.body.slice(0, 6), mallory.body.slice(0, 6)]).toEqual(['run 1 ', 'run 2 ']);
  });

  it('two anonymous requests with the same key never meet', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' } })).main(countingMain(50));
    const anonymous = () => restEvent({ url, prefix: '/dev', method: 'POST', body: '{"n":4}', headers: { 'Idempotency-Key': 'k-anon' } });
    const a = await settle(await kit.call(anonymous()));
    const b = await settle(await kit.call(anonymous()));
    expect([a.body.slice(0, 6), b.body.slice(0, 6)]).toEqual(['run 1 ', 'run 2 ']);
  });

  it('a key whose release failed is taken over by the retry, since its task never ran', async () => {
    const wrap = (store: TaskStore): TaskStore => new Proxy(store, {
      get(target, name, receiver) {
        if (name !== 'releaseIdempotencyKey') return Reflect.get(target, name, receiver) as unknown;
        return async () => {
          throw new StoreUnavailableError('DynamoDB could not release idempotency key (TimeoutError)');
        };
      },
    });
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' }, wrapProxyStore: wrap })).main(countingMain(50));
    kit.lambda.refuse.set(TALKER, new InvokeError('unavailable', 'ServiceException'));
    const refused = await kit.call(post('{"n":5}', { 'Idempotency-Key': 'k-stuck' }));
    expect(refused.statusCode).toBe(503);
    kit.lambda.refuse.delete(TALKER);
    const retried = await settle(await kit.call(post('{"n":5}', { 'Idempotency-Key': 'k-stuck' })));
    expect(retried.statusCode).toBe(200);
    expect(kit.mainCalls()).toBe(1);
  });

  it('the Talker recognises its own completion when its own retry loop writes it again', async () => {
    let failedOnce = false;
    const wrap = (store: TaskStore): TaskStore => new Proxy(store, {
      get(target, name, receiver) {
        if (name !== 'completeTask') return Reflect.get(target, name, receiver) as unknown;
        return async (...args: Parameters<TaskStore['completeTask']>) => {
          const done = await target.completeTask(...args);
          if (!failedOnce) {
            failedOnce = true;
            // Applied, but the answer never came back (past the SDK's own retries).
            throw new StoreUnavailableError('DynamoDB could not complete task (TimeoutError)');
          }
          return done;
        };
      },
    });
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' }, wrapTalkerStore: wrap })).main(countingMain(50));
    const answer = await settle(await kit.call(get(url)));
    await kit.lambda.idle();
    expect(answer.body).toMatch(/^run 1 /);
    expect(kit.talkerOutcomes.map((o) => o.outcome)).toEqual(['CREATED']);
  });

  it('a Talker that stored Main\'s answer and died before recording it: the answer is delivered, not LOST', async () => {
    const wrap = (store: TaskStore): TaskStore => new Proxy(store, {
      get(target, name, receiver) {
        if (name !== 'createTask') return Reflect.get(target, name, receiver) as unknown;
        return async (...args: Parameters<TaskStore['createTask']>) => {
          await target.createTask(...args);
          const { requestId, expiresAt } = args[0];
          const now = Date.now();
          await target.claimTask(requestId, { now, deadline: now + 800, claimedBy: 'dying-talker' });
          // The result item is written; the status update (for another claim) is refused.
          const result = { body: Buffer.from(JSON.stringify({ statusCode: 200, body: 'stored before dying' })), encoding: 'identity' as const };
          await target.completeTask(requestId, result, { now, expiresAt, claimedBy: 'not-the-claim' });
        };
      },
    });
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5', RESULT_GRACE_SECONDS: '0', TALKER_INVOCATION_TYPE: 'Event' }, wrapProxyStore: wrap })).main(countingMain(50));
    kit.lambda.drop.add(TALKER);
    const answer = await kit.call(get(url));
    expect(answer).toEqual({ statusCode: 200, body: 'stored before dying' });
  });

  it('a Proxy called without a Lambda context or an arrival time still answers within API Gateway\'s default window', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.2' } })).main(countingMain(600));
    const event = get(url);
    delete (event.requestContext as { requestTimeEpoch?: number }).requestTimeEpoch;
    const answer = (await kit.proxy(event, {} as never)) as ProxyAnswer;
    expect(answer.statusCode).toBe(303);
  });

  it('a call to Main that broke off without an answer (Lambda 5xx, a lost connection) keeps its key: Main may have run', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' } })).main(countingMain(50));
    kit.lambda.refuse.set(MAIN, new InvokeError('unavailable', 'ServiceException: socket hang up'));
    const broke = await settle(await kit.call(post('{"n":8}', { 'Idempotency-Key': 'k-broke' })));
    expect(broke.statusCode).toBe(502);
    expect(code(broke)).toBe('INVOKE_INTERRUPTED');
    kit.lambda.refuse.delete(MAIN);
    const retried = await settle(await kit.call(post('{"n":8}', { 'Idempotency-Key': 'k-broke' })));
    // The repeat gets the same answer (kept for the grace), and Main is not invoked again.
    expect(code(retried)).toBe('INVOKE_INTERRUPTED');
    expect(kit.lambda.countCalls(MAIN)).toBe(1);
  });

  it('a THROTTLED key stays free after its answer was retired at once and its release failed', async () => {
    const wrap = (store: TaskStore): TaskStore => new Proxy(store, {
      get(target, name, receiver) {
        if (name !== 'releaseIdempotencyKey') return Reflect.get(target, name, receiver) as unknown;
        return async () => {
          throw new StoreUnavailableError('DynamoDB could not release idempotency key (TimeoutError)');
        };
      },
    });
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5', RESULT_GRACE_SECONDS: '0' }, talkerEnv: { THROTTLE_RETRIES: '0' }, wrapProxyStore: wrap })).main(countingMain(50));
    kit.lambda.refuse.set(MAIN, new InvokeError('throttled', 'TooManyRequestsException: Rate Exceeded'));
    expect(code(await settle(await kit.call(post('{"n":9}', { 'Idempotency-Key': 'k-thr0' }))))).toBe('THROTTLED');
    kit.lambda.refuse.delete(MAIN);
    const retried = await settle(await kit.call(post('{"n":9}', { 'Idempotency-Key': 'k-thr0' })));
    expect(retried.statusCode).toBe(200);
  });

  it('an authorizer output without any credential the kit can see (a custom token header) is anonymous: its callers never meet', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' } })).main(countingMain(50));
    const as = (token: string) => {
      const event = restEvent({ url, prefix: '/dev', method: 'POST', body: '{"n":10}', headers: { 'Idempotency-Key': 'k-custom', 'X-Auth-Token': token } });
      event.requestContext.authorizer = { principalId: 'user' };
      return event;
    };
    const alice = await settle(await kit.call(as('alice')));
    const mallory = await settle(await kit.call(as('mallory')));
    expect([alice.body.slice(0, 6), mallory.body.slice(0, 6)]).toEqual(['run 1 ', 'run 2 ']);
  });

  it('users of one Cognito identity pool behind an HTTP API IAM authorizer (one assumed role) never meet', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5' } })).main(countingMain(50));
    const as = (identityId: string) => {
      const event = httpApiEvent({ url: 'https://api.example.com/orders', method: 'POST', body: 'x', headers: { 'Idempotency-Key': 'k-pool' } });
      Object.assign(event.requestContext, { authorizer: { iam: { userArn: 'arn:aws:sts::1:assumed-role/Cognito_Unauth/CognitoIdentityCredentials', cognitoIdentity: { identityId, identityPoolId: 'us-east-1:pool', amr: ['unauthenticated'] } } } });
      return event;
    };
    const a = await settle(await kit.call(as('us-east-1:alice')), '2.0');
    const b = await settle(await kit.call(as('us-east-1:mallory')), '2.0');
    expect([a.body.slice(0, 6), b.body.slice(0, 6)]).toEqual(['run 1 ', 'run 2 ']);
  });

  it('a LOST task that no Talker ever started says that nothing ran', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '3', PENDING_TIMEOUT_SECONDS: '1', TALKER_INVOCATION_TYPE: 'Event' } })).main(countingMain(50));
    kit.lambda.drop.add(TALKER);
    const lost = await kit.call(post('{"n":11}', { 'Idempotency-Key': 'k-never' }));
    expect(lost.statusCode).toBe(504);
    expect(code(lost)).toBe('LOST');
    expect(JSON.parse(lost.body).error.message).toContain('nothing ran');
    kit.lambda.drop.delete(TALKER);
    const retried = await settle(await kit.call(post('{"n":11}', { 'Idempotency-Key': 'k-never' })));
    expect(retried.statusCode).toBe(200);
  });
});
