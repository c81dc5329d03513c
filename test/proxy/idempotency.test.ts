import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { restEvent } from '../support/events';
import { BASE, Kit, type ProxyAnswer } from '../support/kit';

let kit: Kit | undefined;
afterEach(async () => {
  await kit?.stop();
  kit = undefined;
});

const url = `${BASE}/dev/payments`;
// A caller with credentials: anonymous requests' keys are not honoured.
const post = (body: string, headers: Record<string, string | string[]>) => restEvent({ url, prefix: '/dev', method: 'POST', body, headers: { Authorization: 'Bearer the-caller', ...headers } });
const code = (answer: ProxyAnswer) => (JSON.parse(answer.body) as { error: { code: string } }).error.code;

async function countingKit(env: Record<string, string> = {}) {
  let runs = 0;
  const k = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.2', ...env } })).main(async (event) => {
    runs += 1;
    await sleep(600);
    return { statusCode: 201, body: `charged once: ${(event as { body: string }).body} (run ${runs})` };
  });
  return k;
}

describe('Idempotency-Key', () => {
  it('joins the running task when the same request is repeated, instead of running Main again', async () => {
    kit = await countingKit();
    const headers = { 'Idempotency-Key': '"8e03978e-40d5-43e8-bc93-6894a57f9324"', 'Content-Type': 'application/json' };
    const first = await kit.call(post('{"amount":10}', headers));
    const second = await kit.call(post('{"amount":10}', headers));
    expect(first.statusCode).toBe(303);
    expect(second.statusCode).toBe(303);
    expect(second.headers['X-Request-Id']).toBe(first.headers['X-Request-Id']);
    const { answer } = await kit.follow({ url: new URL(second.headers['Location'] as string, url).toString(), prefix: '/dev' });
    expect(answer).toEqual({ statusCode: 201, body: 'charged once: {"amount":10} (run 1)' });
    expect(kit.mainCalls()).toBe(1);
  });

  it('gives a repeat after completion the same result (within the grace), still without running Main', async () => {
    kit = await countingKit({ WAIT_SECONDS: '5' });
    const headers = { 'Idempotency-Key': 'order-77' };
    const first = await kit.call(post('pay', headers));
    const again = await kit.call(post('pay', headers));
    expect(first).toEqual({ statusCode: 201, body: 'charged once: pay (run 1)' });
    expect(again).toEqual(first);
    expect(kit.mainCalls()).toBe(1);
  });

  it('refuses the same key with a different body with 422', async () => {
    kit = await countingKit();
    await kit.call(post('{"amount":10}', { 'Idempotency-Key': 'k-1' }));
    const other = await kit.call(post('{"amount":99}', { 'Idempotency-Key': 'k-1' }));
    expect(other.statusCode).toBe(422);
    expect(code(other)).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(kit.mainCalls()).toBe(1);
  });

  it('gives the same key and body from another caller (different Authorization) a task of its own', async () => {
    kit = await countingKit();
    const alice = await kit.call(post('same', { 'Idempotency-Key': 'k-2', Authorization: 'Bearer alice' }));
    const mallory = await kit.call(post('same', { 'Idempotency-Key': 'k-2', Authorization: 'Bearer mallory' }));
    expect(mallory.statusCode).toBe(303);
    expect(mallory.headers['X-Request-Id']).not.toBe(alice.headers['X-Request-Id']);
    expect(JSON.stringify(mallory)).not.toContain(alice.headers['X-Request-Id'] as string);
  });

  it('answers 409 when the key\'s task was delivered and deleted', async () => {
    kit = await countingKit({ WAIT_SECONDS: '5', RESULT_GRACE_SECONDS: '0' });
    const first = await kit.call(post('x', { 'Idempotency-Key': 'k-3' }));
    expect(first.statusCode).toBe(201);
    const later = await kit.call(post('x', { 'Idempotency-Key': 'k-3' }));
    expect(later.statusCode).toBe(409);
    expect(code(later)).toBe('IDEMPOTENCY_KEY_USED');
    expect(kit.mainCalls()).toBe(1);
  });

  it('runs Main once when two identical requests race', async () => {
    kit = await countingKit({ WAIT_SECONDS: '5' });
    const headers = { 'Idempotency-Key': 'race-1' };
    const answers = await Promise.all([kit.call(post('r', headers)), kit.call(post('r', headers)), kit.call(post('r', headers))]);
    for (const answer of answers) expect(answer.body).toBe('charged once: r (run 1)');
    expect(kit.mainCalls()).toBe(1);
  });

  it.each([['given twice', ['a', 'b']], ['too long', 'x'.repeat(256)], ['empty', '""']])('answers 400 for a key %s', async (_name, value) => {
    kit = await countingKit();
    const answer = await kit.call(post('x', { 'Idempotency-Key': value }));
    expect(answer.statusCode).toBe(400);
    expect(kit.mainCalls()).toBe(0);
  });

  it('works with respond-async: the repeat gets the same 202 Location task', async () => {
    kit = await countingKit();
    const headers = { 'Idempotency-Key': 'async-1', Prefer: 'respond-async' };
    const first = await kit.call(post('a', headers));
    const second = await kit.call(post('a', headers));
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    expect(second.headers['X-Request-Id']).toBe(first.headers['X-Request-Id']);
  });

  it('does not honour the key of an anonymous request: nothing tells two anonymous callers apart', async () => {
    kit = await countingKit({ WAIT_SECONDS: '5' });
    const anonymous = () => restEvent({ url, prefix: '/dev', method: 'POST', body: 'same', headers: { 'Idempotency-Key': 'anon-1' } });
    const first = await kit.call(anonymous());
    const second = await kit.call(anonymous());
    expect([first.body, second.body]).toEqual(['charged once: same (run 1)', 'charged once: same (run 2)']);
  });
});
