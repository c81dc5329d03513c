import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { restEvent, httpApiEvent } from '../support/events';
import { BASE, Kit, type ProxyAnswer } from '../support/kit';

let kit: Kit | undefined;
afterEach(async () => {
  await kit?.stop();
  kit = undefined;
});

const API_KEY = 'k3y-that-is-long-enough-0123456789';
const url = `${BASE}/dev/report`;
const get = (target: string, headers?: Record<string, string>) => restEvent({ url: target, prefix: '/dev', ...(headers && { headers }) });
const code = (answer: ProxyAnswer) => (JSON.parse(answer.body) as { error: { code: string } }).error.code;

async function slowKit(env: Record<string, string>, mainMs = 1500) {
  return (await Kit.start({ proxyEnv: { WAIT_SECONDS: '0.2', ...env } })).main(async () => {
    await sleep(mainMs);
    return { statusCode: 200, body: 'the report' };
  });
}

describe('API_KEY', () => {
  it('refuses a new GET without api-key with 401, and runs nothing', async () => {
    kit = await slowKit({ API_KEY });
    const answer = await kit.call(get(url));
    expect(answer.statusCode).toBe(401);
    expect(code(answer)).toBe('UNAUTHORIZED');
    expect(kit.mainCalls()).toBe(0);
  });

  it('refuses a new GET with a wrong api-key with 401', async () => {
    kit = await slowKit({ API_KEY });
    const answer = await kit.call(get(`${url}?api-key=${API_KEY}x`));
    expect(answer.statusCode).toBe(401);
  });

  it('accepts the right api-key, and the Location carries the task\'s token, never the key nor a signature derived from it', async () => {
    kit = await slowKit({ API_KEY });
    const first = await kit.call(get(`${url}?api-key=${encodeURIComponent(API_KEY)}`));
    expect(first.statusCode).toBe(303);
    const location = first.headers['Location'] as string;
    expect(location).not.toContain(API_KEY);
    expect(location).not.toContain('api-key');
    expect(location).toMatch(/^\?requestID=[0-9a-f-]{36}&token=[A-Za-z0-9_-]{43}&hop=1$/);
    expect(JSON.stringify(first)).not.toContain(API_KEY);
  });

  it('lets a signed continuation through without the key, to the result', async () => {
    kit = await slowKit({ API_KEY, WAIT_SECONDS: '0.2' }, 600);
    const { answer, hops } = await kit.follow({ url: `${url}?api-key=${encodeURIComponent(API_KEY)}`, prefix: '/dev' });
    expect(hops.length).toBeGreaterThan(0);
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toBe('the report');
  });

  it('does not ask POST requests for the key (API Gateway\'s own keys protect them, as in the original)', async () => {
    kit = await slowKit({ API_KEY }, 10);
    const answer = await kit.call(restEvent({ url, prefix: '/dev', method: 'POST', body: '{}' }));
    expect(answer.statusCode).toBe(200);
  });
});

describe('signed continuations (SIGNING_SECRET)', () => {
  const SIGNING_SECRET = 'a-signing-secret-of-at-least-32-characters!';

  it('refuses a tampered signature, a changed RequestID and a missing signature with 403', async () => {
    kit = await slowKit({ SIGNING_SECRET });
    const first = await kit.call(get(url));
    const location = first.headers['Location'] as string;
    const params = new URLSearchParams(location.slice(1));
    const sig = params.get('sig') as string;
    const tampered = new URLSearchParams(params);
    tampered.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    const otherId = new URLSearchParams(params);
    otherId.set('requestID', '00000000-0000-4000-8000-000000000000');
    const unsigned = new URLSearchParams(params);
    unsigned.delete('sig');
    unsigned.delete('exp');
    const later = new URLSearchParams(params);
    later.set('exp', String(Number(params.get('exp')) + 3600));
    for (const query of [tampered, otherId, unsigned, later]) {
      const answer = await kit.call(get(`${url}?${query.toString()}`));
      expect(answer.statusCode).toBe(403);
      expect(code(answer)).toBe('BAD_SIGNATURE');
    }
  });

  it('refuses an expired link with 403 LINK_EXPIRED', async () => {
    kit = await slowKit({ SIGNING_SECRET, TASK_TTL_SECONDS: '60' });
    const first = await kit.call(get(url));
    const requestId = first.headers['X-Request-Id'] as string;
    const { continuationLocation } = await import('../../core/continuation');
    const token = new URL(first.headers['Location'] as string, url).searchParams.get('token') as string;
    const stale = continuationLocation({ requestId, token, hop: 1, mode: 'redirect' }, { key: kit.proxyConfig.signingKey as Buffer, expires: Math.floor(Date.now() / 1000) - 1 });
    const answer = await kit.call(get(url + stale));
    expect(answer.statusCode).toBe(403);
    expect(code(answer)).toBe('LINK_EXPIRED');
  });
});

describe('what the Proxy\'s own answers contain', () => {
  const secrets = { Authorization: 'Bearer sekrit-token-123', Cookie: 'session=sekrit-cookie-456', 'X-Api-Key': 'sekrit-gateway-key-789' };

  it('never reflects request headers or the body in a 303, a 202, or an error', async () => {
    kit = await slowKit({ CORS_ALLOW_ORIGIN: 'https://app.example.com' });
    const answers: ProxyAnswer[] = [];
    answers.push(await kit.call(restEvent({ url, prefix: '/dev', method: 'POST', headers: secrets, body: 'sekrit-body-000' })));
    answers.push(await kit.call(restEvent({ url, prefix: '/dev', method: 'POST', headers: { ...secrets, Prefer: 'respond-async' }, body: 'sekrit-body-000' })));
    answers.push(await kit.call(restEvent({ url: `${url}?requestID=nope`, prefix: '/dev', headers: secrets })));
    answers.push(await kit.call(httpApiEvent({ url: 'https://api.example.com/x', method: 'POST', headers: secrets, body: 'sekrit-body-000' })));
    expect(answers.map((a) => a.statusCode)).toEqual([303, 202, 400, 303]);
    for (const answer of answers) {
      expect(JSON.stringify(answer)).not.toMatch(/sekrit/);
      expect(Object.keys(answer.headers).map((h) => h.toLowerCase())).not.toContain('set-cookie');
    }
  });
});

describe('CORS_ALLOW_ORIGIN', () => {
  it('puts the allowed origin and the exposed Location on 303 and 202 answers', async () => {
    kit = await slowKit({ CORS_ALLOW_ORIGIN: 'https://app.example.com' });
    const redirect = await kit.call(get(url, { Origin: 'https://app.example.com' }));
    const asyncAnswer = await kit.call(get(url, { Origin: 'https://app.example.com', Prefer: 'respond-async' }));
    for (const answer of [redirect, asyncAnswer]) {
      expect(answer.headers['Access-Control-Allow-Origin']).toBe('https://app.example.com');
      expect(answer.headers['Access-Control-Expose-Headers']).toContain('Location');
      expect(answer.headers['Vary']).toBe('Origin');
    }
  });

  it('answers a preflight itself with 204', async () => {
    kit = await slowKit({ CORS_ALLOW_ORIGIN: '*' });
    const answer = await kit.call(restEvent({ url, prefix: '/dev', method: 'OPTIONS', headers: { Origin: 'https://x.example', 'Access-Control-Request-Method': 'POST' } }));
    expect(answer.statusCode).toBe(204);
    expect(answer.headers['Access-Control-Allow-Origin']).toBe('*');
    expect(answer.headers['Access-Control-Allow-Headers']).toContain('Prefer');
    expect(kit.mainCalls()).toBe(0);
  });

  it('adds nothing when no origin is configured', async () => {
    kit = await slowKit({});
    const answer = await kit.call(get(url, { Origin: 'https://evil.example' }));
    expect(Object.keys(answer.headers).filter((h) => h.startsWith('Access-Control'))).toEqual([]);
  });
});
