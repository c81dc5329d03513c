import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { InvokeError } from '../../core/invoker';
import { restEvent } from '../support/events';
import { BASE, Kit, MAIN, TALKER, type ProxyAnswer } from '../support/kit';

let kit: Kit | undefined;
afterEach(async () => {
  await kit?.stop();
  kit = undefined;
});

const url = `${BASE}/dev/work`;
const get = (target: string, headers?: Record<string, string>) => restEvent({ url: target, prefix: '/dev', ...(headers && { headers }) });
const errorOf = (answer: ProxyAnswer) => (JSON.parse(answer.body) as { error: { status: number; code: string; message: string; requestId?: string } }).error;

describe('failures of Main', () => {
  it('answers 502 with the RequestID when Main throws, without Main\'s message by default', async () => {
    kit = (await Kit.start()).main(async () => {
      throw new Error('database password is hunter2');
    });
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(502);
    const error = errorOf(answer);
    expect(error.code).toBe('MAIN_ERROR');
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.headers['X-Request-Id']).toBe(error.requestId);
    expect(answer.body).not.toContain('hunter2');
  });

  it('shows Main\'s error type and message when SHOW_ERROR_DETAILS is on', async () => {
    kit = (await Kit.start({ proxyEnv: { SHOW_ERROR_DETAILS: 'true' } })).main(async () => {
      throw new TypeError('bad input shape');
    });
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(502);
    expect(errorOf(answer).message).toContain('TypeError: bad input shape');
  });

  it('answers 504 when Main times out', async () => {
    kit = (await Kit.start()).main(() => new Promise(() => undefined), 300);
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(504);
    expect(errorOf(answer).code).toBe('MAIN_TIMEOUT');
  });

  it('answers 502 when Main returns something API Gateway cannot use', async () => {
    kit = (await Kit.start()).main(async () => ({ status: 200, body: 'no statusCode' }));
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(502);
    expect(errorOf(answer).code).toBe('MALFORMED_RESPONSE');
  });

  it('answers 502 naming the size when the result does not fit in a task row even compressed', async () => {
    kit = (await Kit.start({ proxyEnv: { SHOW_ERROR_DETAILS: 'true' } })).main(async () => ({
      statusCode: 200,
      body: (await import('node:crypto')).randomBytes(450_000).toString('base64'),
      isBase64Encoded: true,
    }));
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(502);
    expect(errorOf(answer).code).toBe('RESULT_TOO_LARGE');
    expect(errorOf(answer).message).toMatch(/is \d+ bytes \(\d+ compressed\); a task row holds at most 380000/);
  });

  it('delivers a large but compressible result intact', async () => {
    const body = 'x'.repeat(2_000_000);
    kit = (await Kit.start()).main(async () => ({ statusCode: 200, body }));
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toBe(body);
  });

  it('answers 504 when the Talker\'s own time runs out before Main answers', async () => {
    // Main never answers; its own timeout (2 s) ends it after the Talker has given up.
    kit = (await Kit.start({ talkerTimeoutMs: 3400, mainTimeoutMs: 2000, talkerEnv: { SAFETY_MARGIN_MS: '3000' } })).main(() => new Promise(() => undefined));
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(504);
    expect(errorOf(answer).code).toBe('TALKER_TIMEOUT');
  });

  it('answers 503 with Retry-After when Lambda keeps throttling Main', async () => {
    kit = (await Kit.start({ talkerEnv: { THROTTLE_RETRIES: '0' } })).main(async () => ({ statusCode: 200, body: '' }));
    kit.lambda.refuse.set(MAIN, new InvokeError('throttled', 'TooManyRequestsException: Rate exceeded'));
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['Retry-After']).toBe('5');
    expect(errorOf(answer).code).toBe('THROTTLED');
  });
});

describe('lost tasks', () => {
  // A queued (Event) Talker can be lost; a synchronous invoke answers, which talker-call.test.ts covers.
  it('answers 504 when no Talker ever picks the request up', async () => {
    kit = (await Kit.start({ proxyEnv: { PENDING_TIMEOUT_SECONDS: '1', WAIT_SECONDS: '5', TALKER_INVOCATION_TYPE: 'Event' } })).main(async () => ({ statusCode: 200, body: '' }));
    kit.lambda.drop.add(TALKER);
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(504);
    expect(errorOf(answer).code).toBe('LOST');
    expect(kit.mainCalls()).toBe(0);
  });

  it('answers 504 when the Talker dies while Main runs (its deadline passes)', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5', TALKER_INVOCATION_TYPE: 'Event' } })).main(async () => ({ statusCode: 200, body: '' }));
    kit.lambda.drop.add(TALKER);
    // A Talker that claims the task and then dies: its deadline is one second away.
    kit.configure({ WAIT_SECONDS: '0.1' });
    const first = await kit.call(get(url));
    expect(first.statusCode).toBe(303);
    const requestId = first.headers['X-Request-Id'] as string;
    expect(await kit.store.claimTask(requestId, { now: Date.now(), deadline: Date.now() + 1000, claimedBy: 'dead' })).toBeDefined();
    kit.configure({ WAIT_SECONDS: '5' });
    const answer = await kit.call(get(new URL(first.headers['Location'] as string, url).toString()));
    expect(answer.statusCode).toBe(504);
    expect(errorOf(answer).code).toBe('LOST');
  });
});

describe('refusals before Main runs', () => {
  it('answers 413 when the request is too large for an asynchronous invoke, and writes no task', async () => {
    kit = (await Kit.start()).main(async () => ({ statusCode: 200, body: '' }));
    const answer = await kit.call(restEvent({ url, prefix: '/dev', method: 'POST', body: 'y'.repeat(1_100_000) }));
    expect(answer.statusCode).toBe(413);
    expect(errorOf(answer).code).toBe('REQUEST_TOO_LARGE');
    expect(kit.lambda.countCalls(TALKER)).toBe(0);
  });

  it('answers 503 with Retry-After when Lambda refuses to start the Talker', async () => {
    kit = (await Kit.start()).main(async () => ({ statusCode: 200, body: '' }));
    kit.lambda.refuse.set(TALKER, new InvokeError('throttled', 'TooManyRequestsException'));
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['Retry-After']).toBeDefined();
    expect(kit.mainCalls()).toBe(0);
  });

  it('answers 503 with Retry-After when DynamoDB cannot be reached, then works again when it is back', async () => {
    kit = (await Kit.start()).main(async () => ({ statusCode: 200, body: 'fine' }));
    await kit.dynamo?.pause();
    const down = await kit.call(get(url));
    expect(down.statusCode).toBe(503);
    expect(down.headers['Retry-After']).toBe('5');
    expect(errorOf(down).code).toBe('SERVICE_UNAVAILABLE');
    await kit.dynamo?.resume();
    const up = await kit.call(get(url));
    expect(up.body).toBe('fine');
    expect(up.statusCode).toBe(200);
    expect(up.body).toBe('fine');
  });

  it('answers 503 with the same continuation when DynamoDB goes away during a chain, then the result', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.2' } })).main(async () => {
      await sleep(1500);
      return { statusCode: 200, body: 'survived' };
    });
    const first = await kit.call(get(url));
    expect(first.statusCode).toBe(303);
    const next = new URL(first.headers['Location'] as string, url).toString();
    await kit.dynamo?.pause();
    const down = await kit.call(get(next));
    expect(down.statusCode).toBe(503);
    expect(new URL(down.headers['Location'] as string, url).toString()).toBe(next);
    await kit.dynamo?.resume();
    kit.configure({ WAIT_SECONDS: '10' });
    const answer = await kit.call(get(next));
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toBe('survived');
    expect(kit.mainCalls()).toBe(1);
  });
});

describe('continuations that cannot be served', () => {
  it('answers 404 for an unknown RequestID, at once', async () => {
    kit = await Kit.start();
    const answer = await kit.call(get(`${url}?requestID=00000000-0000-4000-8000-000000000000&token=${'t'.repeat(43)}`));
    expect(answer.statusCode).toBe(404);
    expect(errorOf(answer).code).toBe('NOT_FOUND');
  });

  it('answers 403 for a RequestID without a token, or with the token of another task', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.1' } })).main(async () => {
      await sleep(500);
      return { statusCode: 200, body: 'mine' };
    });
    const a = await kit.call(get(url));
    const b = await kit.call(get(url));
    const linkA = new URL(a.headers['Location'] as string, url);
    const linkB = new URL(b.headers['Location'] as string, url);
    const bare = await kit.call(get(`${url}?requestID=${linkA.searchParams.get('requestID')}`));
    expect(bare.statusCode).toBe(403);
    expect(errorOf(bare).code).toBe('LINK_TOKEN_MISSING');
    linkA.searchParams.set('token', linkB.searchParams.get('token') as string);
    const crossed = await kit.call(get(linkA.toString()));
    expect(crossed.statusCode).toBe(403);
    expect(errorOf(crossed).code).toBe('LINK_TOKEN_INVALID');
    expect(crossed.body).not.toContain('mine');
    expect(crossed.headers['X-Request-Id']).toBeUndefined();
  });

  it.each([
    ['not a UUID', '?requestID=42'],
    ['given twice', '?requestID=00000000-0000-4000-8000-000000000000&requestID=00000000-0000-4000-8000-000000000001'],
    ['a bad hop', '?requestID=00000000-0000-4000-8000-000000000000&hop=x'],
    ['a bad signature shape', '?requestID=00000000-0000-4000-8000-000000000000&sig=%3Cscript%3E'],
    ['a bad token shape', '?requestID=00000000-0000-4000-8000-000000000000&token=%3Cscript%3E'],
  ])('answers 400 for a malformed continuation (%s)', async (_name, query) => {
    kit = await Kit.start();
    const answer = await kit.call(get(url + query));
    expect(answer.statusCode).toBe(400);
    expect(errorOf(answer).code).toBe('BAD_REQUEST');
    expect(answer.body).not.toContain('<script>');
  });
});
