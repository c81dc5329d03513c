import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callLongRequest, LongRequestError, type LongRequestProgress } from '../../client/index';
import { deployKit, root, tsxCli, type DeployedKit } from '../support/deployed-kit';

const execFileP = promisify(execFile);

/** Runs `npm run demo -- ...args` as npm does (tsx), without a TTY; resolves with its output and exit code. */
async function demo(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [tsxCli, 'scripts/demo.ts', ...args], { cwd: root, env: { PATH: process.env.PATH, FORCE_COLOR: '0' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

// The client against the real kit: the functions from their zips, deployed by the deploy script
// on the local stack. A 0.2 s wait window makes hops short, so that a chain of more than 20
// redirects takes seconds; a 1 s Retry-After makes the 202 flow quick. The cases run side by side.
let kit: DeployedKit;
let url: (path: string) => string;

beforeAll(async () => {
  kit = await deployKit(['--name-prefix', 'client', '--wait-seconds', '0.2', '--main-delay', '0.5', '--proxy-env', 'RETRY_AFTER_SECONDS=1']);
  url = (path) => `${kit.state.invokeUrl}${path}`;
}, 120_000);

afterAll(async () => {
  await kit?.stop();
});

interface Report {
  method: string;
  path: string;
  query: Record<string, string[]>;
  bodyBytes: number;
  waitedSeconds: number;
}

describe.concurrent('the client on the local stack', () => {
  it('follows a chain of more than 20 redirects to Main\'s answer, where fetch gives up', async () => {
    // The platform's fetch stops at its 20-redirect cap on the same kind of request.
    const capped = fetch(url('capped?seconds=10')).then(
      () => 'answered',
      (error: unknown) => error,
    );
    const progress: LongRequestProgress[] = [];
    const response = await callLongRequest(
      url('orders?seconds=10&tag=long'),
      { method: 'POST', body: '{"order":42}', headers: { 'content-type': 'application/json' } },
      { onProgress: (p) => progress.push(p), timeoutMs: 30_000 },
    );
    expect(response.status).toBe(200);
    const report = (await response.json()) as Report;
    expect(report).toMatchObject({ method: 'POST', path: '/orders', bodyBytes: 12, waitedSeconds: 10, query: { seconds: ['10'], tag: ['long'] } });

    const last = progress.at(-1)!;
    expect(last).toMatchObject({ status: 200, next: 'done' });
    expect(last.hops).toBeGreaterThan(20);
    expect(last.elapsedMs).toBeGreaterThanOrEqual(10_000);
    // One report per answer: hops count up by one, every answer before the last a 303.
    expect(progress.map((p) => p.hops)).toEqual(progress.map((_, i) => i));
    expect(progress.slice(0, -1).every((p) => p.status === 303 && p.next === 'redirect')).toBe(true);
    expect(progress.every((p) => p.requestId === last.requestId && /^[0-9a-f-]{36}$/.test(p.requestId ?? ''))).toBe(true);
    expect(await capped).toBeInstanceOf(TypeError);
    expect(((await capped) as TypeError).cause).toMatchObject({ message: 'redirect count exceeded' });
  }, 40_000);

  it('asks for respond-async, polls the 202 after Retry-After, and returns the result', async () => {
    const progress: LongRequestProgress[] = [];
    const response = await callLongRequest(url('async?seconds=2.5'), { method: 'PUT', body: 'abc' }, { respondAsync: true, onProgress: (p) => progress.push(p) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ method: 'PUT', path: '/async', bodyBytes: 3, waitedSeconds: 2.5 });
    const polls = progress.filter((p) => p.next === 'poll');
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls.every((p) => p.status === 202 && p.waitMs === 1000)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ status: 200, next: 'done', hops: polls.length });
  }, 20_000);

  it('returns a Main that throws as a 502 response, not an exception', async () => {
    const progress: LongRequestProgress[] = [];
    const response = await callLongRequest(url('boom?seconds=1&fail=1'), {}, { onProgress: (p) => progress.push(p) });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe('MAIN_ERROR');
    expect(response.headers.get('x-request-id')).toBe(body.error.requestId);
    expect(progress.at(-1)).toMatchObject({ status: 502, next: 'done', requestId: body.error.requestId });
    expect(progress.at(-1)!.hops).toBeGreaterThanOrEqual(1);
  }, 20_000);

  it('aborts mid-chain, and the continuation URL from the error resumes the same request', async () => {
    const controller = new AbortController();
    const reason = new Error('the user went away');
    const error = await callLongRequest(url('resume?seconds=4'), { signal: controller.signal }, {
      onProgress: (p) => {
        if (p.hops === 3) controller.abort(reason);
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LongRequestError);
    const aborted = error as LongRequestError;
    expect(aborted).toMatchObject({ kind: 'aborted', hops: 3, cause: reason });
    expect(aborted.continuationUrl).toMatch(/[?&]requestID=[0-9a-f-]{36}&token=[A-Za-z0-9_-]{43}&hop=4/);

    const resumed = await callLongRequest(aborted.continuationUrl!);
    expect(resumed.status).toBe(200);
    expect(await resumed.json()).toMatchObject({ path: '/resume', waitedSeconds: 4 });
    expect(resumed.headers.get('x-request-id')).toBeNull();
  }, 20_000);

  it('times out with the continuation to resume', async () => {
    const error = (await callLongRequest(url('slow?seconds=8'), {}, { timeoutMs: 4000 }).catch((e: unknown) => e)) as LongRequestError;
    expect(error).toBeInstanceOf(LongRequestError);
    expect(error.kind).toBe('timeout');
    // At the deadline, not when Main answers (8 s); generous, for a busy machine.
    expect(error.elapsedMs).toBeGreaterThanOrEqual(4000);
    expect(error.elapsedMs).toBeLessThan(7000);
    expect(error.hops).toBeGreaterThanOrEqual(1);
    expect(error.continuationUrl).toContain(`requestID=${error.requestId}`);
  }, 20_000);

  it('npm run demo shows the hops line by line and the answer', async () => {
    const { code, stdout, stderr } = await demo('--url', url('demo'), '--seconds', '2');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(`GET ${url('demo?seconds=2')}`);
    expect(lines[1]).toMatch(/^\d+\.\d s · 303: Main still running, following \(hop 1\)$/);
    expect(stdout).toMatch(/^200 OK after \d+\.\d s and \d+ hops$/m);
    expect(stdout).toContain('"waitedSeconds": 2');
  }, 20_000);

  it('npm run demo without npm start says so in one line', async () => {
    const { code, stdout, stderr } = await demo('--state-file', '/nonexistent/deploy-state.json');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe('demo: run npm start first (in another terminal)\n');
  });
});

describe('after the cases', () => {
  it('ran Main once per request (the client never sent a request twice)', () => {
    // 10 s, the capped fetch, async, throw, resume (aborted, then resumed: one run), slow, demo: seven requests.
    const starts = kit.logs.filter((line) => /^\[client-main\] START/.test(line)).length;
    expect(starts).toBe(7);
  });
});

// The same client against a kit whose continuations live on a results path (deploy
// --results-path): its 202 Locations and its 303s name the task in the path, not in the query.
describe('the client with RESULTS_PATH', () => {
  let paths: DeployedKit;
  const pathsUrl = (path: string) => `${paths.state.invokeUrl}${path}`;

  beforeAll(async () => {
    paths = await deployKit(['--name-prefix', 'client-paths', '--wait-seconds', '0.2', '--main-delay', '0.5', '--results-path', '/_results', '--proxy-env', 'RETRY_AFTER_SECONDS=1']);
  }, 120_000);

  afterAll(async () => {
    await paths?.stop();
  });

  it('polls the results path after a 202 to Main\'s answer', async () => {
    const progress: LongRequestProgress[] = [];
    const response = await callLongRequest(pathsUrl('async-paths?seconds=2'), { method: 'POST', body: 'x' }, { respondAsync: true, onProgress: (p) => progress.push(p) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ method: 'POST', path: '/async-paths', waitedSeconds: 2 });
    const polls = progress.filter((p) => p.next === 'poll');
    expect(polls.length).toBeGreaterThanOrEqual(1);
    expect(polls.every((p) => p.status === 202)).toBe(true);
    expect(progress.slice(1).every((p) => /\/_results\/[0-9a-f-]{36}\?token=/.test(p.url) && p.requestId === progress[0]?.requestId)).toBe(true);
  }, 20_000);

  it('resumes from a results-path continuation after an abort', async () => {
    const controller = new AbortController();
    const error = (await callLongRequest(pathsUrl('resume-paths?seconds=3'), { signal: controller.signal }, {
      onProgress: (p) => {
        if (p.hops === 2) controller.abort(new Error('gone'));
      },
    }).catch((e: unknown) => e)) as LongRequestError;
    expect(error).toBeInstanceOf(LongRequestError);
    expect(error.continuationUrl).toMatch(/\/_results\/[0-9a-f-]{36}\?token=[A-Za-z0-9_-]{43}&hop=3$/);
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const resumed = await callLongRequest(error.continuationUrl!);
    expect(resumed.status).toBe(200);
    expect(await resumed.json()).toMatchObject({ path: '/resume-paths', waitedSeconds: 3 });
  }, 20_000);
});

// The same client behind an HTTP API (deploy --api-type http): payload 2.0 events, HTTP API's
// answers (apigw-requestid), the $default stage at the API's base URL.
describe('the client on an HTTP API', () => {
  let http: DeployedKit;
  const httpUrl = (path: string) => `${http.state.invokeUrl}${path}`;

  beforeAll(async () => {
    http = await deployKit(['--name-prefix', 'client-http', '--api-type', 'http', '--wait-seconds', '0.2', '--main-delay', '0.5', '--proxy-env', 'RETRY_AFTER_SECONDS=1']);
  }, 120_000);

  afterAll(async () => {
    await http?.stop();
  });

  it('follows a chain of more than 20 redirects to Main\'s answer', async () => {
    const progress: LongRequestProgress[] = [];
    const response = await callLongRequest(httpUrl('orders?seconds=6&tag=http'), { method: 'POST', body: '{"order":7}', headers: { 'content-type': 'application/json' } },
      { onProgress: (p) => progress.push(p), timeoutMs: 30_000 });
    expect(response.status).toBe(200);
    expect(response.headers.get('apigw-requestid')).toBeTruthy();
    expect(await response.json()).toMatchObject({ method: 'POST', path: '/orders', bodyBytes: 11, waitedSeconds: 6, query: { seconds: ['6'], tag: ['http'] }, payloadVersion: '2.0' });
    expect(progress.at(-1)).toMatchObject({ status: 200, next: 'done' });
    expect(progress.at(-1)!.hops).toBeGreaterThan(20);
    expect(progress.slice(0, -1).every((p) => p.status === 303 && p.url.startsWith(http.state.invokeUrl))).toBe(true);
  }, 40_000);

  it('polls a 202 after Retry-After to Main\'s answer', async () => {
    const progress: LongRequestProgress[] = [];
    const response = await callLongRequest(httpUrl('async?seconds=2.5'), { method: 'PUT', body: 'abc', headers: { 'content-type': 'text/plain' } }, { respondAsync: true, onProgress: (p) => progress.push(p) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ method: 'PUT', path: '/async', bodyBytes: 3, waitedSeconds: 2.5 });
    const polls = progress.filter((p) => p.next === 'poll');
    expect(polls.length).toBeGreaterThanOrEqual(2);
    expect(polls.every((p) => p.status === 202 && p.waitMs === 1000)).toBe(true);
  }, 20_000);

  it('returns a Main that throws as a 502 response with the RequestID', async () => {
    const response = await callLongRequest(httpUrl('boom?seconds=1&fail=1'));
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { code: string; requestId: string } };
    expect(body.error.code).toBe('MAIN_ERROR');
    expect(response.headers.get('x-request-id')).toBe(body.error.requestId);
  }, 20_000);
});
