import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE, Kit } from '../support/kit';

let kit: Kit | undefined;
afterEach(async () => {
  await kit?.stop();
  kit = undefined;
});

describe('the Proxy with a short Main', () => {
  it('answers with Main\'s response exactly as Main returned it (REST payload 1.0)', async () => {
    const response = {
      statusCode: 201,
      headers: { 'Content-Type': 'application/json', 'X-From-Main': 'yes' },
      multiValueHeaders: { 'Set-Cookie': ['a=1; Path=/', 'b=2; Path=/'] },
      body: JSON.stringify({ hello: 'world' }),
      isBase64Encoded: false,
    };
    kit = (await Kit.start()).main(async () => response);
    const { answer, hops } = await kit.follow({ url: `${BASE}/dev/orders`, prefix: '/dev', method: 'POST', body: '{"n":1}' });
    expect(hops).toEqual([]);
    expect(answer).toEqual(response);
    expect(kit.mainCalls()).toBe(1);
  });

  it('passes a binary body and an HTTP API response with cookies through unchanged (payload 2.0)', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 255]);
    const response = { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, cookies: ['s=1; Secure'], body: bytes.toString('base64'), isBase64Encoded: true };
    kit = (await Kit.start()).main(async () => response);
    const { answer } = await kit.follow({ url: 'https://api.example.com/files/1', format: '2.0' });
    expect(answer).toEqual(response);
    expect(Buffer.from(answer.body, 'base64')).toEqual(bytes);
  });

  it('gives Main the original event, unchanged', async () => {
    let received: unknown;
    kit = (await Kit.start()).main(async (event) => {
      received = event;
      return { statusCode: 204, body: '' };
    });
    const { restEvent } = await import('../support/events');
    const event = restEvent({ url: `${BASE}/dev/x?q=1&q=2`, prefix: '/dev', method: 'PUT', headers: { 'X-Custom': ['a', 'b'] }, body: 'aGk=', isBase64Encoded: true });
    await kit.call(event);
    expect(received).toEqual(event);
  });
});

describe('the Proxy with a Main slower than its window', () => {
  it('answers 303 with a continuation, and the continuation delivers the result', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.2' } })).main(async () => {
      await sleep(700);
      return { statusCode: 200, body: 'slow and done' };
    });
    const { answer, hops } = await kit.follow({ url: `${BASE}/dev/jobs?seconds=1`, prefix: '/dev' });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toBe('slow and done');
    expect(hops.length).toBeGreaterThanOrEqual(2);
    for (const hop of hops) expect(hop).toMatch(/^https:\/\/abc123\.execute-api\.us-east-1\.amazonaws\.com\/dev\/jobs\?requestID=[0-9a-f-]{36}&token=[A-Za-z0-9_-]{43}&hop=\d+$/);
    expect(kit.mainCalls()).toBe(1);
  });
});
