import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { httpApiEvent, restEvent } from '../support/events';
import { BASE, Kit, TALKER } from '../support/kit';

let kit: Kit | undefined;
afterEach(async () => {
  await kit?.stop();
  kit = undefined;
});

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('Prefer: respond-async', () => {
  it('answers 202 at once with Location and Retry-After; the Location answers 202 while pending, then the result', async () => {
    const done = gate();
    kit = (await Kit.start({ proxyEnv: { RETRY_AFTER_SECONDS: '2' } })).main(async () => {
      await done.opened;
      return { statusCode: 200, body: 'async result' };
    });
    const url = `${BASE}/dev/jobs`;
    const first = await kit.call(restEvent({ url, prefix: '/dev', method: 'POST', headers: { Prefer: 'respond-async' }, body: '{}' }));
    expect(first.statusCode).toBe(202);
    expect(first.headers['Retry-After']).toBe('2');
    expect(first.headers['Preference-Applied']).toBe('respond-async');
    const location = new URL(first.headers['Location'] as string, url).toString();
    expect(location).toMatch(/\/dev\/jobs\?requestID=[0-9a-f-]{36}&token=[A-Za-z0-9_-]{43}&mode=async$/);
    const pending = await kit.call(restEvent({ url: location, prefix: '/dev' }));
    expect(pending.statusCode).toBe(202);
    expect(new URL(pending.headers['Location'] as string, url).toString()).toBe(location);
    done.open();
    await kit.lambda.idle();
    const result = await kit.call(restEvent({ url: location, prefix: '/dev' }));
    expect(result).toEqual({ statusCode: 200, body: 'async result' });
  });
});

describe('the status monitor', () => {
  it('is the body of every 202 and 303 while the task runs: status, done, when it was accepted and started, elapsed time, retention, continuation', async () => {
    const started = gate();
    const done = gate();
    kit = (await Kit.start({ proxyEnv: { RETRY_AFTER_SECONDS: '2', TASK_TTL_SECONDS: '600' } })).main(async () => {
      started.open();
      await done.opened;
      return { statusCode: 200, body: 'ok' };
    });
    const url = `${BASE}/dev/jobs`;
    const before = Date.now();
    const first = await kit.call(restEvent({ url, prefix: '/dev', method: 'POST', headers: { Prefer: 'respond-async' }, body: '{}' }));
    const accepted = JSON.parse(first.body as string) as Record<string, unknown>;
    expect(accepted).toMatchObject({ requestId: first.headers['X-Request-Id'], done: false, location: first.headers['Location'], retryAfterSeconds: 2 });
    expect(['NotStarted', 'Running']).toContain(accepted['status']);
    await started.opened;
    const location = new URL(first.headers['Location'] as string, url).toString();
    const polled = await kit.call(restEvent({ url: location, prefix: '/dev' }));
    const monitor = JSON.parse(polled.body as string) as { status: string; createdAt: string; startedAt: string; elapsedSeconds: number; expiresAt: string; location: string };
    expect(polled.statusCode).toBe(202);
    expect(monitor.status).toBe('Running');
    const createdAt = Date.parse(monitor.createdAt);
    expect(createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(monitor.startedAt)).toBeGreaterThanOrEqual(createdAt);
    expect(monitor.elapsedSeconds).toBeGreaterThanOrEqual(0);
    expect(Math.abs(Date.parse(monitor.expiresAt) - (createdAt + 600_000))).toBeLessThan(2000);
    expect(monitor.location).toBe(polled.headers['Location']);

    const redirect = await kit.call(restEvent({ url: `${BASE}/dev/other`, prefix: '/dev', headers: { Prefer: 'wait=1' } }));
    expect(redirect.statusCode).toBe(303);
    expect(JSON.parse(redirect.body as string)).toMatchObject({ status: 'Running', done: false, location: redirect.headers['Location'], startedAt: expect.any(String) });
    done.open();
    await kit.lambda.idle();
  });
});

describe('Prefer: wait=N', () => {
  it('shortens the window and says so in Preference-Applied', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '20' } })).main(async () => {
      await sleep(3000);
      return { statusCode: 200, body: '' };
    });
    const answer = await kit.call(restEvent({ url: `${BASE}/dev/x`, prefix: '/dev', headers: { Prefer: 'wait=1' } }));
    // With the 20 s window the Proxy would have answered 200 after Main's 3 s.
    expect(answer.statusCode).toBe(303);
    expect(answer.headers['Preference-Applied']).toBe('wait=1');
  });
});

describe('the window', () => {
  it('never runs past the Proxy\'s own remaining time minus the margin', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '25', SAFETY_MARGIN_MS: '500' } })).main(async () => {
      await sleep(3000);
      return { statusCode: 200, body: '' };
    });
    const answer = await kit.call(restEvent({ url: `${BASE}/dev/x`, prefix: '/dev' }), 1000);
    expect(answer.statusCode).toBe(303);
  });
});

describe('browsers and the 20-redirect cap', () => {
  it('sends a page that continues by itself instead of a 303 once a browser has followed BROWSER_HOPS_BEFORE_PAGE redirects', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.1', BROWSER_HOPS_BEFORE_PAGE: '3' } })).main(async () => {
      await sleep(3000);
      return { statusCode: 200, body: '' };
    });
    const url = `${BASE}/dev/page`;
    const { answer, hops } = await kit.follow({ url, prefix: '/dev', headers: { Accept: 'text/html,application/xhtml+xml' } });
    expect(hops).toHaveLength(3);
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['Content-Type']).toBe('text/html; charset=utf-8');
    const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(answer.body)?.[1];
    expect(refresh).toMatch(/^\?requestID=[0-9a-f-]{36}&#38;token=[A-Za-z0-9_-]{43}&#38;hop=0$/);
  });

  it('keeps sending 303s to callers that do not ask for HTML', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.1', BROWSER_HOPS_BEFORE_PAGE: '3' } })).main(async () => {
      await sleep(1200);
      return { statusCode: 200, body: 'end' };
    });
    const { answer, hops } = await kit.follow({ url: `${BASE}/dev/api`, prefix: '/dev' });
    expect(hops.length).toBeGreaterThan(3);
    expect(answer.body).toBe('end');
  });
});

describe('after delivery', () => {
  it('answers the same URL again within RESULT_GRACE_SECONDS, and 404 once the task is deleted', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.1', RESULT_GRACE_SECONDS: '30' } })).main(async () => {
      await sleep(400);
      return { statusCode: 200, body: 'once' };
    });
    const url = `${BASE}/dev/r`;
    const { answer, hops } = await kit.follow({ url, prefix: '/dev' });
    expect(answer.body).toBe('once');
    const last = hops[hops.length - 1] as string;
    const again = await kit.call(restEvent({ url: last, prefix: '/dev' }));
    expect(again.body).toBe('once');
    kit.configure({ RESULT_GRACE_SECONDS: '0' });
    const third = await kit.call(restEvent({ url: last, prefix: '/dev' }));
    expect(third.body).toBe('once');
    const gone = await kit.call(restEvent({ url: last, prefix: '/dev' }));
    expect(gone.statusCode).toBe(404);
  });

  it('treats a row past its ExpiresAt as absent even before TTL deletes it', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.1' } })).main(async () => {
      await sleep(300);
      return { statusCode: 200, body: '' };
    });
    const first = await kit.call(restEvent({ url: `${BASE}/dev/e`, prefix: '/dev' }));
    const requestId = first.headers['X-Request-Id'] as string;
    const view = await kit.store.readStatus(requestId, Date.now());
    expect(view).toBeDefined();
    expect(await kit.store.readStatus(requestId, (view?.expiresAt as number) * 1000 + 1)).toBeUndefined();
  });
});

describe('duplicate delivery of the Talker\'s event', () => {
  it('runs Main once when the same event arrives twice', async () => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.1', TALKER_INVOCATION_TYPE: 'Event' } })).main(async () => {
      await sleep(300);
      return { statusCode: 200, body: 'one run' };
    });
    kit.lambda.drop.add(TALKER);
    const first = await kit.call(restEvent({ url: `${BASE}/dev/d`, prefix: '/dev' }));
    const payload = kit.lambda.calls.find((call) => call.name === TALKER)?.payload as string;
    kit.lambda.drop.delete(TALKER);
    await Promise.all([kit.lambda.invokeAsync(TALKER, payload), kit.lambda.invokeAsync(TALKER, payload)]);
    await kit.lambda.idle();
    expect(kit.mainCalls()).toBe(1);
    expect(kit.talkerOutcomes.map((o) => o.outcome).sort()).toEqual(['CREATED', 'SKIPPED']);
    const answer = await kit.call(restEvent({ url: new URL(first.headers['Location'] as string, `${BASE}/dev/d`).toString(), prefix: '/dev' }));
    expect(answer.body).toBe('one run');
  });
});

describe('the Location', () => {
  const cases = [
    { name: 'the default execute-api URL with its stage', url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/v1/items/7?x=1', prefix: '/prod', format: '1.0' as const },
    { name: 'a custom domain with a base path', url: 'https://api.example.com/billing/items/7', prefix: '/billing', format: '1.0' as const },
    { name: 'an HTTP API $default stage', url: 'https://xyz.execute-api.eu-west-1.amazonaws.com/items/7', prefix: '', format: '2.0' as const },
    { name: 'LocalStack\'s invoke URL', url: 'http://localhost:4566/_aws/execute-api/abc123/dev/items/7', prefix: '/_aws/execute-api/abc123/dev', format: '1.0' as const },
  ];
  it.each(cases)('resolves to the same resource behind $name', async ({ url, prefix, format }) => {
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.1' } })).main(async () => {
      await sleep(500);
      return { statusCode: 200, body: 'here' };
    });
    const build = format === '2.0' ? httpApiEvent : restEvent;
    const first = await kit.call(build({ url, prefix }));
    expect(first.statusCode).toBe(303);
    expect(first.headers['Cache-Control']).toBe('no-store');
    const next = new URL(first.headers['Location'] as string, url);
    const original = new URL(url);
    expect(next.origin + next.pathname).toBe(original.origin + original.pathname);
    expect([...next.searchParams.keys()]).toEqual(['requestID', 'token', 'hop']);
  });
});

describe('API Gateway\'s own clock', () => {
  it('ends the window before the gateway\'s cut-off counted from the request\'s arrival, not from the Proxy\'s start', async () => {
    // The longest window the cut-off allows: 6 s less the 0.5 s margin.
    kit = (await Kit.start({ proxyEnv: { WAIT_SECONDS: '5.5', GATEWAY_TIMEOUT_MS: '6000', SAFETY_MARGIN_MS: '500' } })).main(async () => {
      await sleep(3000);
      return { statusCode: 200, body: '' };
    });
    // The request reached API Gateway 4.5 s ago (a slow cold start): 1 s is left before 5.5 s.
    const event = restEvent({ url: `${BASE}/dev/late`, prefix: '/dev' });
    event.requestContext.requestTimeEpoch = Date.now() - 4500;
    const answer = await kit.call(event);
    // With its own 5.5 s window the Proxy would have answered 200 after Main's 3 s.
    expect(answer.statusCode).toBe(303);
  });
});
