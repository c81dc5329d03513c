import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployKit, deployKitWithCdk, follow } from '../support/deployed-kit';

// The real functions, behind the stack's API Gateway with its 29 s cut-off, deployed twice: from
// their zips by the real deploy script, and from the example CDK app's template through the
// stack's CloudFormation (`npm run cdk:local`, issue 14: the kit deployed from that template must
// pass the same tests). The long cases run side by side to keep the file short.
interface Deployment {
  invokeUrl: string;
  directUrl: string;
  /** Main's log prefix, `[name]`. */
  main: string;
  logs: string[];
  stop(): Promise<void>;
}

const deployments: Record<string, Deployment> = {};

beforeAll(async () => {
  const [script, cdk] = await Promise.all([
    deployKit(['--name-prefix', 'itest', '--direct-route', '--main-delay', '60']),
    deployKitWithCdk({ KIT_DIRECT_ROUTE: '1' }),
  ]);
  deployments['the deploy script'] = { invokeUrl: script.state.invokeUrl, directUrl: script.state.directUrl ?? '', main: 'itest-main', logs: script.logs, stop: () => script.stop() };
  deployments['the CDK app'] = { invokeUrl: cdk.invokeUrl, directUrl: cdk.directUrl, main: cdk.mainName, logs: cdk.logs, stop: () => cdk.stop() };
}, 180_000);

afterAll(async () => {
  await Promise.all(Object.values(deployments).map((d) => d.stop()));
});

const VIA = ['the deploy script', 'the CDK app'] as const;

describe.concurrent.each(VIA)('the kit on the local stack, deployed by %s', (via) => {
  const kit = (): Deployment => deployments[via]!;

  it('answers a 2 s Main with 200 and its body, without a redirect', async () => {
    const { response, body, statuses } = await follow(`${kit().invokeUrl}jobs?seconds=2`, { method: 'POST', body: '{"order":42}', headers: { 'content-type': 'application/json' } });
    expect(statuses).toEqual([200]);
    expect(response.headers.get('content-type')).toContain('application/json');
    const report = JSON.parse(body) as { method: string; path: string; bodyBytes: number; waitedSeconds: number };
    expect(report).toMatchObject({ method: 'POST', path: '/jobs', bodyBytes: 12, waitedSeconds: 2 });
  });

  it('answers a 40 s Main after at least one 303, with the right body', async () => {
    const { body, statuses, elapsedMs } = await follow(`${kit().invokeUrl}long?seconds=40&tag=forty`);
    expect(statuses.filter((s) => s === 303).length).toBeGreaterThanOrEqual(1);
    expect(statuses[statuses.length - 1]).toBe(200);
    expect(elapsedMs).toBeGreaterThanOrEqual(40_000);
    const report = JSON.parse(body) as { query: Record<string, string[]>; waitedSeconds: number };
    expect(report.query).toEqual({ seconds: ['40'], tag: ['forty'] });
    expect(report.waitedSeconds).toBe(40);
  }, 90_000);

  it('shows the problem without the kit: the direct route answers 504 after about 29 s', async () => {
    const started = Date.now();
    const response = await fetch(`${kit().directUrl}/slow?seconds=35`);
    const elapsed = Date.now() - started;
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ message: 'Endpoint request timed out' });
    expect(elapsed).toBeGreaterThanOrEqual(29_000);
    expect(elapsed).toBeLessThan(34_000);
  }, 90_000);

  it('brings a Main that throws to the client as 502 with the RequestID, within one hop', async () => {
    const { response, body, statuses } = await follow(`${kit().invokeUrl}boom?fail=1`);
    expect(statuses).toEqual([502]);
    const error = (JSON.parse(body) as { error: { code: string; requestId: string } }).error;
    expect(error.code).toBe('MAIN_ERROR');
    expect(response.headers.get('x-request-id')).toBe(error.requestId);
  });
});

describe.each(VIA)('after the long cases, deployed by %s', (via) => {
  it('ran Main once per request through the kit', () => {
    const { main, logs } = deployments[via]!;
    const starts = logs.filter((line) => line.startsWith(`[${main}] START`)).length;
    // 2 s, 40 s, throw (through the kit) and 35 s (direct): four requests, four runs.
    expect(starts).toBe(4);
  });
});
