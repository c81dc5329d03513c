import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { httpApiEvent, restEvent } from '../support/events';
import { Kit } from '../support/kit';

let kit: Kit | undefined;
afterEach(async () => {
  await kit?.stop();
  kit = undefined;
});

async function slowKit(env: Record<string, string> = {}) {
  return (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.1', RESULTS_PATH: '/_results', ...env } })).main(async (event) => {
    await sleep(700);
    return { statusCode: 200, body: `done ${(event as { path?: string; rawPath?: string }).path ?? (event as { rawPath?: string }).rawPath}` };
  });
}

describe('RESULTS_PATH: continuations on a dedicated route', () => {
  const cases = [
    { name: 'the execute-api URL with its stage', url: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/v1/items/7', prefix: '/prod', expected: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/_results/' },
    { name: 'a custom domain with a base path', url: 'https://api.example.com/billing/items/7/', prefix: '/billing', expected: 'https://api.example.com/billing/_results/' },
    { name: 'the API root with a trailing slash', url: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/', prefix: '/prod', expected: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/_results/' },
    { name: 'the API root without a trailing slash', url: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod', prefix: '/prod', expected: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/_results/' },
    { name: 'LocalStack\'s invoke URL', url: 'http://localhost:4566/_aws/execute-api/abc/dev/deep/er/path', prefix: '/_aws/execute-api/abc/dev', expected: 'http://localhost:4566/_aws/execute-api/abc/dev/_results/' },
  ];

  it.each(cases)('points the Location at the results route behind $name, and the route delivers', async ({ url, prefix, expected }) => {
    kit = await slowKit({ SIGNING_SECRET: 's'.repeat(32) });
    const first = await kit.call(restEvent({ url, prefix }));
    expect(first.statusCode).toBe(303);
    const requestId = first.headers['X-Request-Id'] as string;
    const next = new URL(first.headers['Location'] as string, url);
    expect(next.origin + next.pathname).toBe(`${expected}${requestId}`);
    expect([...next.searchParams.keys()]).toEqual(['token', 'exp', 'sig', 'hop']);
    const { answer, hops } = await kit.follow({ url: next.toString(), prefix });
    for (const hop of hops) expect(new URL(hop).pathname).toBe(next.pathname);
    expect(answer.statusCode).toBe(200);
  });

  it('works on an HTTP API $default stage', async () => {
    kit = await slowKit();
    const url = 'https://xyz.execute-api.eu-west-1.amazonaws.com/items/7';
    const { answer, hops } = await kit.follow({ url, format: '2.0' });
    expect(answer.body).toBe('done /items/7');
    expect(hops.length).toBeGreaterThan(0);
    expect(new URL(hops[0] as string).pathname).toMatch(/^\/_results\/[0-9a-f-]{36}$/);
  });

  it('answers 400 for a results route without a proper RequestID, 403 without a token, and 404 for an unknown one', async () => {
    kit = await slowKit();
    const bad = await kit.call(restEvent({ url: 'https://h/dev/_results/nope', prefix: '/dev' }));
    expect(bad.statusCode).toBe(400);
    const bare = await kit.call(restEvent({ url: 'https://h/dev/_results/00000000-0000-4000-8000-000000000000', prefix: '/dev' }));
    expect(bare.statusCode).toBe(403);
    const unknown = await kit.call(restEvent({ url: `https://h/dev/_results/00000000-0000-4000-8000-000000000000?token=${'t'.repeat(43)}`, prefix: '/dev' }));
    expect(unknown.statusCode).toBe(404);
    expect(kit.mainCalls()).toBe(0);
  });

  it('still treats a POST to the results path as a new request for Main', async () => {
    kit = await slowKit({ WAIT_SECONDS: '5' });
    const answer = await kit.call(restEvent({ url: 'https://h/dev/_results/x', prefix: '/dev', method: 'POST' }));
    expect(answer.body).toBe('done /_results/x');
  });

  it('also keeps the HTTP API route shape (routeKey with {proxy+})', async () => {
    kit = await slowKit();
    const event = httpApiEvent({ url: 'https://xyz.example.com/prod/a/b' });
    Object.assign(event, { routeKey: 'ANY /{proxy+}', rawPath: '/prod/a/b', pathParameters: { proxy: 'a/b' } });
    Object.assign(event.requestContext, { stage: 'prod' });
    const first = await kit.call(event);
    const next = new URL(first.headers['Location'] as string, 'https://xyz.example.com/prod/a/b');
    expect(next.pathname).toBe(`/prod/_results/${first.headers['X-Request-Id']}`);
  });
});
