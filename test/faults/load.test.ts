/**
 * The fault matrix, part 2: 200 concurrent 40 s requests through the kit on the local stack
 * (600 execution environments: Proxy, Talker and Main for each). Every client must get its own
 * result (checked by a marker in its query that Main echoes), none lost, none duplicated:
 * Main runs exactly 200 times.
 *
 * The functions are warmed first, through the stack's `prewarm` hook: the stack starts at most
 * 2 environments per CPU at once (each loads the function's bundle), so 600 cold starts at once
 * on a 2-core machine take about two minutes, and a Proxy that waits that long for its
 * environment answers after API Gateway's 29 s cut-off (see docs/benchmarks.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployInto, faultsEnabled, follow, marker, quiet, runsOf, startFaultStack, type Deployment, type FaultStack } from './support';

const CONCURRENCY = 200;
const JOB_SECONDS = 40;

let fs: FaultStack;
let d: Deployment;

beforeAll(async () => {
  if (!faultsEnabled) return;
  fs = await startFaultStack();
  d = await deployInto(fs, 'fload');
}, 120_000);

afterAll(async () => {
  await fs?.stop();
});

function coldStarts(): number {
  const counters = fs.stack.ops.stats().lambda.functions;
  return [d.proxy, d.talker, d.main].reduce((sum, name) => sum + (counters[name]?.coldStarts ?? 0), 0);
}

// Runs only under vitest.faults.config.ts (npm run test:faults sets RUN_FAULT_MATRIX=1); CI runs it.
describe.skipIf(!faultsEnabled)('200 concurrent 40 s requests', () => {
  it('starts 200 environments of each function ahead of the load, and runs each once', async () => {
    // As provisioned concurrency would on AWS: the load then measures warm environments, and
    // no Proxy waits minutes for its cold start behind 599 others.
    let t0 = Date.now();
    for (const name of [d.proxy, d.talker, d.main]) {
      expect(await fs.stack.ops.prewarm(name, CONCURRENCY)).toEqual({ started: CONCURRENCY, failed: 0 });
    }
    console.log(`warm-up: ${3 * CONCURRENCY} environments started in ${Date.now() - t0} ms`);
    expect(fs.stack.environments()).toEqual({ idle: 3 * CONCURRENCY, busy: 0 });
    // An environment's first invocation costs far more CPU than the next ones (the SDK's first
    // call, code run for the first time): 600 of them at once saturate this machine's 2 cores
    // for tens of seconds. Two waves pay that cost before the load is measured; their answers
    // do not matter. In the first, 200 Proxies run for the first time at once, and many give up
    // at the cut-off with a 503 before starting their Talker (they always answer in time); in the
    // second, warm Proxies start 200 Talkers and Mains, whose 10 s jobs overlap, so that every
    // environment has run once.
    for (const [wave, seconds] of [['first', 1], ['second', 10]] as const) {
      t0 = Date.now();
      const coldBefore = coldStarts();
      const statuses = await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => follow(`${d.state.invokeUrl}warm?seconds=${seconds}&w=${i}`).then((r) => r.response.status, (e: Error) => e.message)));
      await quiet(fs);
      const tally: Record<string, number> = {};
      for (const s of statuses) tally[s] = (tally[s] ?? 0) + 1;
      console.log(`${wave} warm-up wave: ${JSON.stringify(tally)} in ${Date.now() - t0} ms, ${coldStarts() - coldBefore} more environments`);
    }
  }, 420_000);

  it('gives every client its own result: none lost, none duplicated, Main ran exactly 200 times', async () => {
    const runsBefore = runsOf(fs, d.main);
    const coldBefore = coldStarts();
    const markers = Array.from({ length: CONCURRENCY }, (_, i) => marker(`load${i}`));
    const results = await Promise.all(markers.map((m) => follow(`${d.state.invokeUrl}job?seconds=${JOB_SECONDS}&m=${m}`)));
    const problems: string[] = [];
    const mainRequestIds = new Set<string>();
    results.forEach((r, i) => {
      if (r.response.status !== 200) {
        problems.push(`#${i}: ${r.statuses.join(' → ')} ${r.body.slice(0, 200)}`);
        return;
      }
      const body = JSON.parse(r.body) as { query: Record<string, string[]>; awsRequestId: string; waitedSeconds: number };
      if (body.query['m']?.[0] !== markers[i]) problems.push(`#${i}: got the result of ${body.query['m']?.[0]}`);
      if (body.waitedSeconds !== JOB_SECONDS) problems.push(`#${i}: waited ${body.waitedSeconds} s`);
      mainRequestIds.add(body.awsRequestId);
    });
    expect(problems).toEqual([]);
    // Each crossed the 25 s window at least once.
    expect(results.every((r) => r.statuses.filter((s) => s === 303).length >= 1)).toBe(true);
    // 200 distinct runs of Main delivered, and no more ran (after everything settled).
    expect(mainRequestIds.size).toBe(CONCURRENCY);
    await quiet(fs);
    expect(runsOf(fs, d.main) - runsBefore).toBe(CONCURRENCY);
    const maxRssGb = fs.stack.ops.stats().process.maxRssBytes / 2 ** 30;
    console.log(`200 × 40 s: slowest ${Math.max(...results.map((r) => r.elapsedMs))} ms; ${coldStarts() - coldBefore} cold starts; peak RSS of the test process ${maxRssGb.toFixed(1)} GiB`);
  }, 240_000);
});
