import { afterEach, describe, expect, it } from 'vitest';
import { restEvent } from '../support/events';
import { BASE, Kit } from '../support/kit';

// A store that accepts requests but stops answering (dynalite behind a relay that holds every
// request) must not hold the Proxy's answer past its window: API Gateway would answer 504 and
// the client would lose its continuation. The test client has no request timeout, so without
// the Proxy's own limit these calls would never return.
let kit: Kit | undefined;
afterEach(async () => {
  kit?.dynamo?.unstall();
  await kit?.stop();
  kit = undefined;
});

const url = `${BASE}/dev/work`;
const get = (target: string, headers?: Record<string, string>) => restEvent({ url: target, prefix: '/dev', ...(headers && { headers }) });

/** A Main that runs until the test releases it, and says when it started. */
function gatedMain(): { started: Promise<void>; release: () => void; handler: () => Promise<{ statusCode: number; body: string }> } {
  let onStart!: () => void;
  let release!: () => void;
  const started = new Promise<void>((resolve) => (onStart = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    started,
    release,
    handler: async () => {
      onStart();
      await released;
      return { statusCode: 200, body: 'patient' };
    },
  };
}

describe('a task table that stops answering', () => {
  it('answers 303 at the end of the window instead of waiting for a hung read, and the chain completes once the table answers again', async () => {
    const main = gatedMain();
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.5' } })).main(main.handler);
    const firstCall = kit.call(get(url));
    await main.started;
    kit.dynamo?.stall();
    const first = await firstCall;
    expect(first.statusCode).toBe(303);
    expect(first.headers['Cache-Control']).toBe('no-store');
    const next = new URL(first.headers['Location'] as string, url).toString();
    expect(next).toMatch(/requestID=[0-9a-f-]{36}/);

    // A continuation whose very first read hangs: the Proxy cannot tell whether the task
    // exists, so it hands out the next hop rather than a verdict.
    const second = await kit.call(get(next));
    expect(second.statusCode).toBe(303);
    const after = new URL(second.headers['Location'] as string, url);
    expect(after.searchParams.get('requestID')).toBe(new URL(next).searchParams.get('requestID'));
    expect(after.searchParams.get('hop')).toBe('2');

    kit.dynamo?.unstall();
    main.release();
    kit.configure({ WAIT_SECONDS: '20' });
    const answer = await kit.call(get(after.toString()));
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toBe('patient');
    expect(kit.mainCalls()).toBe(1);
  });

  it('answers a 202 poll with 202 again when its read hangs', async () => {
    const main = gatedMain();
    kit = (await Kit.start()).main(main.handler);
    const accepted = await kit.call(get(url, { Prefer: 'respond-async' }));
    expect(accepted.statusCode).toBe(202);
    const poll = new URL(accepted.headers['Location'] as string, url).toString();
    await main.started;
    kit.dynamo?.stall();
    const still = await kit.call(get(poll));
    expect(still.statusCode).toBe(202);
    expect(still.headers['Retry-After']).toBe('5');
    kit.dynamo?.unstall();
    main.release();
    await kit.lambda.idle();
    const done = await kit.call(get(poll));
    expect(done.statusCode).toBe(200);
    expect(done.body).toBe('patient');
  });
});
