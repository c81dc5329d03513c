import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployKit, follow, type DeployedKit } from '../support/deployed-kit';

// The real functions from their zips, deployed by the real deploy script, behind the stack's
// API Gateway with its 29 s cut-off. The long cases run side by side to keep the file short.
let kit: DeployedKit;

beforeAll(async () => {
  kit = await deployKit(['--name-prefix', 'itest', '--direct-route', '--main-delay', '60']);
}, 120_000);

afterAll(async () => {
  await kit?.stop();
});

describe.concurrent('the kit on the local stack', () => {
  it('answers a 2 s Main with 200 and its body, without a redirect', async () => {
    const { response, body, statuses } = await follow(`${kit.state.invokeUrl}jobs?seconds=2`, { method: 'POST', body: '{"order":42}', headers: { 'content-type': 'application/json' } });
    expect(statuses).toEqual([200]);
    expect(response.headers.get('content-type')).toContain('application/json');
    const report = JSON.parse(body) as { method: string; path: string; bodyBytes: number; waitedSeconds: number };
    expect(report).toMatchObject({ method: 'POST', path: '/jobs', bodyBytes: 12, waitedSeconds: 2 });
  });

  it('answers a 40 s Main after at least one 303, with the right body', async () => {
    const { body, statuses, elapsedMs } = await follow(`${kit.state.invokeUrl}long?seconds=40&tag=forty`);
    expect(statuses.filter((s) => s === 303).length).toBeGreaterThanOrEqual(1);
    expect(statuses[statuses.length - 1]).toBe(200);
    expect(elapsedMs).toBeGreaterThanOrEqual(40_000);
    const report = JSON.parse(body) as { query: Record<string, string[]>; waitedSeconds: number };
    expect(report.query).toEqual({ seconds: ['40'], tag: ['forty'] });
    expect(report.waitedSeconds).toBe(40);
  }, 90_000);

  it('shows the problem without the kit: the direct route answers 504 after about 29 s', async () => {
    const started = Date.now();
    const response = await fetch(`${kit.state.directUrl}/slow?seconds=35`);
    const elapsed = Date.now() - started;
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ message: 'Endpoint request timed out' });
    expect(elapsed).toBeGreaterThanOrEqual(29_000);
    expect(elapsed).toBeLessThan(34_000);
  }, 90_000);

  it('brings a Main that throws to the client as 502 with the RequestID, within one hop', async () => {
    const { response, body, statuses } = await follow(`${kit.state.invokeUrl}boom?fail=1`);
    expect(statuses).toEqual([502]);
    const error = (JSON.parse(body) as { error: { code: string; requestId: string } }).error;
    expect(error.code).toBe('MAIN_ERROR');
    expect(response.headers.get('x-request-id')).toBe(error.requestId);
  });
});

describe('after the long cases', () => {
  it('ran Main once per request through the kit', () => {
    const starts = kit.logs.filter((line) => /^\[itest-main\] START/.test(line)).length;
    // 2 s, 40 s, throw (through the kit) and 35 s (direct): four requests, four runs.
    expect(starts).toBe(4);
  });
});
