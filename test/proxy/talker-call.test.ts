/**
 * The Proxy invoking its Talker synchronously (proxy/talker-call.ts): a job that ends inside the
 * window comes back in the Talker's answer, everything else through the table. Real handlers,
 * dynalite, in-process Lambda.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { InvokeError } from '../../core/invoker';
import type { TaskStore } from '../../core/task-store';
import { readTalkerAnswer } from '../../proxy/talker-call';
import { BASE, Kit, MAIN, TALKER, type KitOptions, type ProxyAnswer } from '../support/kit';
import { restEvent } from '../support/events';

let kit: Kit | undefined;
afterEach(async () => {
  await kit?.stop();
  kit = undefined;
});

const url = `${BASE}/dev/jobs`;
const get = (target: string, headers?: Record<string, string>) => restEvent({ url: target, prefix: '/dev', ...(headers && { headers }) });
const code = (answer: ProxyAnswer) => (JSON.parse(answer.body) as { error: { code: string } }).error.code;

/** Counts the Proxy's calls of each store method. */
function counting(counts: Map<string, number>) {
  return (store: TaskStore): TaskStore => new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        counts.set(String(name), (counts.get(String(name)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function start(options: KitOptions, mainMs: number, body = 'done'): Promise<{ kit: Kit; counts: Map<string, number> }> {
  const counts = new Map<string, number>();
  kit = (await Kit.start({ ...options, wrapProxyStore: counting(counts) })).main(async () => {
    await sleep(mainMs);
    return { statusCode: 200, body };
  });
  return { kit, counts };
}

const types = (k: Kit) => k.lambda.calls.filter((call) => call.name === TALKER).map((call) => call.type);

describe('a synchronous Talker', () => {
  it('answers a job that ends inside the window from the Talker\'s answer: no status read, no result read, one retire', async () => {
    const { kit, counts } = await start({ proxyEnv: { WAIT_SECONDS: '5' } }, 50);
    const answer = await kit.call(get(url));
    expect(answer).toEqual({ statusCode: 200, body: 'done' });
    expect(types(kit)).toEqual(['RequestResponse']);
    expect(counts.get('readStatus') ?? 0).toBe(0);
    expect(counts.get('readResult') ?? 0).toBe(0);
    expect(counts.get('retireTask')).toBe(1);
    expect(kit.mainCalls()).toBe(1);
    // Retired: the row lives for the grace period (60 s) only, not the task's hour.
    const requestId = JSON.parse(kit.lambda.calls[0]?.payload as string).requestId as string;
    const view = await kit.store.readStatus(requestId, Date.now());
    expect(view?.expiresAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 61);
  });

  it.each([
    // Create, claim, complete with the result, retire.
    ['kept with the status (the default)', {}, ['PutItem', 'UpdateItem', 'UpdateItem', 'UpdateItem']],
    // Create, claim, the result, complete, retire the task and the result.
    ['kept apart (INLINE_RESULT_MAX_BYTES=0)', { INLINE_RESULT_MAX_BYTES: '0' }, ['PutItem', 'UpdateItem', 'PutItem', 'UpdateItem', 'UpdateItem', 'UpdateItem']],
  ])('makes only the table calls it needs for a short job, its result %s', async (_place, talkerEnv, expected) => {
    const { kit } = await start({ proxyEnv: { WAIT_SECONDS: '5' }, talkerEnv }, 50);
    const operations: string[] = [];
    kit.dynamo?.backend.on('request', (request: { headers: Record<string, string | undefined> }) => operations.push(String(request.headers['x-amz-target']).replace('DynamoDB_20120810.', '')));
    expect(await kit.call(get(url))).toEqual({ statusCode: 200, body: 'done' });
    expect(operations).toEqual(expected);
  });

  it.each([
    ['kept with the status (the default)', {}, 0],
    ['kept apart (INLINE_RESULT_MAX_BYTES=0)', { INLINE_RESULT_MAX_BYTES: '0' }, 1],
  ])('delivers a result %s from the table and retires all of it (RESULT_GRACE_SECONDS=0)', async (_place, talkerEnv, resultReads) => {
    // A queued Talker: the result comes from the table, not in the Talker's answer.
    const { kit, counts } = await start({ proxyEnv: { WAIT_SECONDS: '5', RESULT_GRACE_SECONDS: '0', TALKER_INVOCATION_TYPE: 'Event' }, talkerEnv }, 50);
    expect(await kit.call(get(url))).toEqual({ statusCode: 200, body: 'done' });
    expect(counts.get('readResult') ?? 0).toBe(resultReads);
    const requestId = JSON.parse(kit.lambda.calls[0]?.payload as string).requestId as string;
    expect(await kit.store.readStatus(requestId, Date.now())).toBeUndefined();
    expect(await kit.store.readResult(requestId)).toBeUndefined();
  });

  it('when the window ends first, lets the Talker run on: the 303 says Running (one read), and the continuation gets the result', async () => {
    const { kit, counts } = await start({ proxyEnv: { WAIT_SECONDS: '1' } }, 1800);
    const first = await kit.call(get(url));
    expect(first.statusCode).toBe(303);
    expect(JSON.parse(first.body)).toMatchObject({ status: 'Running', done: false });
    // The wait's one read (a window under MIN_WAIT_FOR_CLAIM_MS does not ask whether a Talker claimed it).
    expect(counts.get('readStatus')).toBe(1);
    const done = await kit.call(get(new URL(first.headers['Location'] as string, url).toString()));
    expect(done).toEqual({ statusCode: 200, body: 'done' });
    expect(kit.mainCalls()).toBe(1);
    expect(kit.talkerOutcomes.map((o) => o.outcome)).toEqual(['CREATED']);
  });

  it('queues the Talker (Event) when Lambda throttles the synchronous invoke, and polls the table', async () => {
    const { kit, counts } = await start({ proxyEnv: { WAIT_SECONDS: '5' } }, 50);
    kit.lambda.refuseSync.set(TALKER, new InvokeError('throttled', 'TooManyRequestsException: Rate Exceeded'));
    const answer = await kit.call(get(url));
    expect(answer).toEqual({ statusCode: 200, body: 'done' });
    expect(types(kit)).toEqual(['RequestResponse', 'Event']);
    expect(counts.get('readStatus')).toBeGreaterThan(0);
    expect(kit.mainCalls()).toBe(1);
  });

  it('answers 503 NOT_STARTED with Retry-After at once when the Talker fails before claiming the task (its init failed): nothing ran, the task is withdrawn', async () => {
    const { kit } = await start({ proxyEnv: { WAIT_SECONDS: '5' } }, 50);
    kit.lambda.crash.set(TALKER, 'Runtime.ExitError');
    const started = Date.now();
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(503);
    expect(code(answer)).toBe('NOT_STARTED');
    expect(answer.headers['Retry-After']).toBe('5');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(kit.mainCalls()).toBe(0);
    const requestId = answer.headers['X-Request-Id'] as string;
    expect((await kit.store.readStatus(requestId, Date.now()))?.status).toBe('ABANDONED');
  });

  it('answers with the continuation when a short window ends while the Talker still starts (a cold start), and the result follows', async () => {
    const { kit } = await start({ proxyEnv: { WAIT_SECONDS: '1' } }, 50);
    kit.lambda.slowStart.set(TALKER, 1500);
    const first = await kit.call(get(url));
    expect(first.statusCode).toBe(303);
    const done = await kit.call(get(new URL(first.headers['Location'] as string, url).toString()));
    expect(done).toEqual({ statusCode: 200, body: 'done' });
    expect(kit.mainCalls()).toBe(1);
  });

  it('answers 503 "nothing ran" when the synchronous invoke hangs through a wait of 15 s or more and no Talker claimed the task, and frees its key', async () => {
    const { kit } = await start({ proxyEnv: { WAIT_SECONDS: '16' } }, 50);
    kit.lambda.hang.add(TALKER);
    const keyed = () => restEvent({ url, prefix: '/dev', method: 'POST', body: '{}', headers: { 'Idempotency-Key': 'k-hang', Authorization: 'Bearer alice' } });
    const answer = await kit.call(keyed());
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['Retry-After']).toBe('5');
    expect(answer.headers['Location']).toBeUndefined();
    expect((await kit.store.readStatus(answer.headers['X-Request-Id'] as string, Date.now()))?.status).toBe('ABANDONED');
    expect(kit.mainCalls()).toBe(0);
    kit.lambda.hang.delete(TALKER);
    expect(await kit.call(keyed())).toEqual({ statusCode: 200, body: 'done' });
    expect(kit.mainCalls()).toBe(1);
  });

  it('reads a response too large for the Talker\'s answer from the table', async () => {
    const body = 'b'.repeat(6_100_000);
    const { kit, counts } = await start({ proxyEnv: { WAIT_SECONDS: '10' } }, 10, body);
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toBe(body);
    expect(types(kit)).toEqual(['RequestResponse']);
    expect(kit.talkerOutcomes[0]).not.toHaveProperty('response');
    expect(counts.get('readResult')).toBe(1);
  });

  it('queues the Talker for a request that does not wait (Prefer: respond-async), and with TALKER_INVOCATION_TYPE=Event', async () => {
    const { kit } = await start({ proxyEnv: { WAIT_SECONDS: '5' } }, 50);
    expect((await kit.call(get(url, { Prefer: 'respond-async' }))).statusCode).toBe(202);
    await kit.lambda.idle();
    expect(types(kit)).toEqual(['Event']);
    kit.configure({ WAIT_SECONDS: '5', TALKER_INVOCATION_TYPE: 'event' });
    expect(await kit.call(get(url))).toEqual({ statusCode: 200, body: 'done' });
    expect(types(kit)).toEqual(['Event', 'Event']);
    expect(kit.lambda.countCalls(MAIN)).toBe(2);
  });
});

describe('readTalkerAnswer', () => {
  const requestId = '3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e6f';
  const answer = (value: unknown, functionError?: string) => ({ payload: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), ...(functionError && { functionError }) });

  it('takes Main\'s response only from a CREATED answer for this very task', () => {
    expect(readTalkerAnswer(answer({ outcome: 'CREATED', requestId, response: '{"statusCode":200}', resultInline: true }), requestId)).toEqual({ kind: 'response', text: '{"statusCode":200}', resultInline: true });
    // An answer that does not say where the result is (an older Talker's): apart, retired as such.
    expect(readTalkerAnswer(answer({ outcome: 'CREATED', requestId, response: '{"statusCode":200}' }), requestId)).toEqual({ kind: 'response', text: '{"statusCode":200}', resultInline: false });
    expect(readTalkerAnswer(answer({ outcome: 'CREATED', requestId: '00000000-8d7a-4c6b-9e5f-1a2b3c4d5e6f', response: '{}' }), requestId)).toEqual({ kind: 'in-table' });
    expect(readTalkerAnswer(answer({ outcome: 'CREATED', requestId }), requestId)).toEqual({ kind: 'in-table' });
    expect(readTalkerAnswer(answer({ outcome: 'FAILED', requestId, response: '{}' }), requestId)).toEqual({ kind: 'in-table' });
    expect(readTalkerAnswer(answer({ outcome: 'SKIPPED', requestId }), requestId)).toEqual({ kind: 'in-table' });
    expect(readTalkerAnswer(answer('not json'), requestId)).toEqual({ kind: 'in-table' });
    expect(readTalkerAnswer(answer('null'), requestId)).toEqual({ kind: 'in-table' });
    expect(readTalkerAnswer(answer({ outcome: 'CREATED', requestId, response: '{}' }, 'Unhandled'), requestId)).toEqual({ kind: 'in-table' });
  });
});
