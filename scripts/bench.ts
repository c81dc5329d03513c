#!/usr/bin/env -S npx tsx
// npm run bench: what the kit adds to a request's time, on the local stack (Node alone).
//
// Starts the local AWS stack (a child process, logs captured), deploys the kit with the deploy
// script three ways side by side — `bench` (defaults, plus the direct route to Main: the floor)
// and `orig` (the original kit's settings: 2 s polls, 22 s window) — then runs each job length
// at each concurrency through each way, after a warm-up at that concurrency, and writes the
// figures (results.json, chart.svg, table.md) to bench-results/<time>/ or --out DIR.
// See docs/benchmarks.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ExpectedError, parseFlags, runMain, scriptArgs, UsageError } from './lib/cli';
import { chartSvg } from './lib/bench-chart';
import type { StackStats } from '../local/ops';
import type { PrewarmResult } from '../local/lambda/types';
import { fmtMs, judgeTargets, percentile, summarise, table, type ProxyTrace, type Sample } from './lib/bench-stats';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsxCli = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

const USAGE = `Usage: npm run bench -- [flags]

Measures the kit on the local AWS stack: total time and added latency (total minus Main's own
run time), hops, DynamoDB reads and failures, for each job length × concurrency × way.

  --jobs S,S,...          job lengths in seconds (default 0.3,5,40)
  --concurrency N,N,...   concurrent clients (default 1,10,200)
  --ways W,W,...          kit (defaults), orig (2 s polls, 22 s window), direct (Main behind
                          API Gateway alone: the floor, jobs under 29 s only), tuned (the kit
                          with --tuned-env and --tuned-talker-env settings)
                          (default kit,orig,direct)
  --tuned-env KEY=VALUE   a Proxy variable of the tuned way (repeatable)
  --tuned-talker-env KEY=VALUE
                          a Talker variable of the tuned way (repeatable)
  --rounds N              requests per client in every cell (default: about 30 samples per
                          cell, at most ~40 s of job time per client; 1 for 40 s jobs)
  --quick                 a short run: jobs 0.3,5 × concurrency 1,10, fewer rounds (~2 min)
  --out DIR               where to write results.json, chart.svg and table.md
                          (default bench-results/<time>)
  --help                  this text`;

const WINDOW_LIMIT_SECONDS = 29;

function numbers(text: string | undefined, flag: string): number[] {
  const values = String(text).split(',').map((v) => v.trim()).filter(Boolean).map(Number);
  if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < 0)) throw new UsageError(`--${flag} takes numbers separated by commas, got ${text}`);
  return values;
}

/** Runs a command, resolving with its output; rejects with the output on failure. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new ExpectedError(`${path.basename(args[1] ?? command)} failed (exit code ${code}):\n${output}`))));
  });
}

/**
 * The stack's console, read line by line: the Proxy's JSON lines of the cell being measured,
 * and the marks written through /_local/ops/mark (every line before a mark has been read).
 */
class StackLog {
  /** The last lines, for the error message when the stack stops. */
  tail: string[] = [];
  /** Marks awaited, by text. */
  marks = new Map<string, () => void>();
  /** The Proxy (and Talker) whose JSON lines are being collected, and those lines (the Talker's marked `talker: true`). */
  bucket: { proxy: string; talker: string | undefined; lines: Array<Record<string, unknown>> } | null = null;
  /** While a cell runs: the `Duration` of every REPORT line, by function. */
  reports: Map<string, number[]> | null = null;

  onLine(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 300) this.tail.splice(0, 100);
    const mark = /^\[ops\] mark (\S+)/.exec(line);
    if (mark) {
      this.marks.get(mark[1] ?? '')?.();
      return;
    }
    const report = this.reports && /^\[([^\]]+)\] REPORT RequestId: \S+\s+Duration: ([\d.]+) ms/.exec(line);
    if (report && this.reports) {
      const [, fn = '', ms = '0'] = report;
      this.reports.set(fn, [...(this.reports.get(fn) ?? []), Number(ms)]);
      return;
    }
    const talker = this.bucket?.talker;
    if (this.bucket && talker !== undefined && line.startsWith(`[${talker}] {`)) {
      try {
        this.bucket.lines.push({ ...(JSON.parse(line.slice(talker.length + 3)) as Record<string, unknown>), talker: true });
      } catch {
        // not a JSON line
      }
      return;
    }
    if (this.bucket && line.startsWith(`[${this.bucket.proxy}] {`)) {
      try {
        this.bucket.lines.push(JSON.parse(line.slice(this.bucket.proxy.length + 3)) as Record<string, unknown>);
      } catch {
        // not a JSON line
      }
    }
  }

  mark(text: string): Promise<void> {
    return new Promise((resolve) => this.marks.set(text, resolve));
  }
}

/** Starts `local/cli.ts` on a free port; resolves when it serves. */
function startStack(log: StackLog): { child: ChildProcess; ready: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'local', 'cli.ts'), '--port', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const ready = new Promise<string>((resolve, reject) => {
    child.on('exit', (code) => reject(new ExpectedError(`the local stack stopped (exit code ${code}):\n${log.tail.slice(-20).join('\n')}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /ready at (http:\/\/\S+)/.exec(line);
      if (match?.[1]) resolve(match[1]);
      else log.onLine(line);
    });
    createInterface({ input: child.stderr }).on('line', (line) => log.onLine(line));
  });
  return { child, ready };
}

/**
 * One request, following 303s as curl -L does; checks that the answer is Main's, for this
 * request (the marker in its query, which Main echoes).
 *
 * @param base - a URL ending in /
 */
async function one(base: string, seconds: number, marker: string): Promise<Sample> {
  const started = performance.now();
  let target = `${base}job?seconds=${seconds}&bench=${marker}`;
  let hops = 0;
  try {
    let res = await fetch(target, { redirect: 'manual' });
    while (res.status === 303 && hops < 200) {
      await res.arrayBuffer();
      hops += 1;
      target = new URL(res.headers.get('location') ?? '', target).toString();
      res = await fetch(target, { redirect: 'manual' });
    }
    const text = await res.text();
    const totalMs = performance.now() - started;
    if (res.status !== 200) return { ok: false, status: res.status, totalMs, ranMs: null, addedMs: null, hops, error: text.slice(0, 300) };
    let body: { query?: Record<string, string[]>; ranMs?: number };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return { ok: false, status: 200, totalMs, ranMs: null, addedMs: null, hops, error: `not JSON: ${text.slice(0, 100)}` };
    }
    if (body.query?.['bench']?.[0] !== marker || typeof body.ranMs !== 'number') {
      return { ok: false, status: 200, totalMs, ranMs: null, addedMs: null, hops, error: `another request's answer: ${body.query?.['bench']?.[0]}` };
    }
    return { ok: true, status: 200, totalMs, ranMs: body.ranMs, addedMs: totalMs - body.ranMs, hops };
  } catch (error) {
    return { ok: false, status: 0, totalMs: performance.now() - started, ranMs: null, addedMs: null, hops, error: String(error) };
  }
}

/** Closed loop: `concurrency` clients, each sending `rounds` requests one after the other. */
async function load(base: string, seconds: number, concurrency: number, rounds: number, label: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  const nonce = Math.random().toString(36).slice(2, 8);
  await Promise.all(Array.from({ length: concurrency }, async (_, client) => {
    for (let round = 0; round < rounds; round += 1) samples.push(await one(base, seconds, `${label}-${nonce}-${client}-${round}`));
  }));
  return samples;
}

/**
 * CPU time of each thread of a process, ms, from `/proc/<pid>/task/<tid>/stat` (utime + stime,
 * in clock ticks of 10 ms); empty where there is no /proc (then no split is reported).
 */
function threadCpuMs(pid: number | undefined): Map<number, number> {
  const times = new Map<number, number>();
  if (pid === undefined) return times;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        // The fields after the command name: state is field 3, utime 14, stime 15.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        times.set(Number(tid), (Number(fields[11]) + Number(fields[12])) * 10);
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return times;
}

/**
 * Where a cell's CPU went, per request: the stack's main thread, each function's environments
 * (their worker threads), and every other thread (V8's garbage collector and compiler threads,
 * libuv's), from per-thread CPU times before and after the cell.
 */
function cpuSplit(before: Map<number, number>, after: Map<number, number>, pid: number, threadIds: Record<string, number[]>, functions: string[], requests: number): Record<string, number> | null {
  if (after.size === 0 || requests === 0) return null;
  const used = (tid: number) => Math.max(0, (after.get(tid) ?? 0) - (before.get(tid) ?? 0));
  const split: Record<string, number> = { 'main thread': used(pid) };
  let attributed = split['main thread'] ?? 0;
  for (const fn of functions) {
    const ms = (threadIds[fn] ?? []).reduce((sum, tid) => sum + used(tid), 0);
    split[fn] = ms;
    attributed += ms;
  }
  const total = [...after.keys()].reduce((sum, tid) => sum + used(tid), 0);
  split['other threads'] = total - attributed;
  return Object.fromEntries(Object.entries(split).map(([k, v]) => [k, v / requests]));
}

/** Share of the time between two stats snapshots the stack's main thread was busy. */
function busyShare(before: StackStats, after: StackStats): number | null {
  const active = after.process.eventLoop.activeMs - before.process.eventLoop.activeMs;
  const idle = after.process.eventLoop.idleMs - before.process.eventLoop.idleMs;
  return active + idle > 0 ? active / (active + idle) : null;
}

/** Per RequestID: the status reads of every hop (the Proxy's `reads`), the result read (none when the Talker's answer carried it), hops, and the task's age at delivery. */
function traces(lines: Array<Record<string, unknown>>): ProxyTrace[] {
  const byId: Map<string, ProxyTrace> = new Map();
  const at = (line: Record<string, unknown>) => (typeof line['timestamp'] === 'string' ? Date.parse(line['timestamp']) : NaN);
  const mainEnds = new Map<string, { end: number; mainMs: number }>();
  for (const line of lines) {
    const id = typeof line['requestId'] === 'string' ? line['requestId'] : undefined;
    if (!id) continue;
    if (line['talker'] === true) {
      // The Talker logs once, when it has recorded the outcome: Main ended `mainMs` after it started.
      if (line['message'] === 'talker finished' && typeof line['mainMs'] === 'number') mainEnds.set(id, { end: at(line), mainMs: line['mainMs'] });
      continue;
    }
    const t: ProxyTrace = byId.get(id) ?? { requestId: id, statusReads: 0, elapsedMs: null, hops: 0, resultReads: 0 };
    if (typeof line['reads'] === 'number') t.statusReads += line['reads'];
    if (line['message'] === 'still running, redirecting') t.hops += 1;
    if (line['message'] === 'result delivered' && typeof line['elapsedMs'] === 'number') {
      t.elapsedMs = line['elapsedMs'];
      t.resultReads = line['source'] === 'talker' ? 0 : 1;
      t.deliveredAt = at(line);
    }
    byId.set(id, t);
  }
  // Log time stamps have whole milliseconds: fine for the seconds a saturated stack adds.
  for (const t of byId.values()) {
    const main = mainEnds.get(t.requestId);
    if (!main || t.elapsedMs === null || t.deliveredAt === undefined || Number.isNaN(main.end)) continue;
    const createdAt = t.deliveredAt - t.elapsedMs;
    t.beforeMainMs = main.end - main.mainMs - createdAt;
    t.afterMainMs = t.deliveredAt - main.end;
  }
  return [...byId.values()];
}

/**
 * A cell's time, step by step, from the functions' REPORT durations (p50), for cells without
 * hops (one Proxy run per request): the client and API
 * Gateway (total less the Proxy's run), the Proxy's run beyond the Talker's (with a synchronous
 * Talker: writing the task, the invoke, the retire; with a queued one also the polls' lag), the
 * Talker's beyond Main's (the claim, the invoke, storing the result), and Main's run.
 */
function stepsOf(cell: Cell): string | null {
  const [proxy, talker, main] = ['proxy', 'talker', 'main'].map((part) => Object.entries(cell.durationsP50).find(([fn]) => fn.endsWith(`-${part}`))?.[1] ?? null);
  const total = cell.summary.totalMs.p50;
  // With hops, a request is several Proxy runs: their durations are no longer steps of one request.
  if (total === null || main === null || main === undefined || (cell.summary.hopsMean ?? 0) > 0) return null;
  if (proxy === null || proxy === undefined || talker === null || talker === undefined) return `client and API Gateway ${fmtMs(total - main)}, Main ${fmtMs(main)}`;
  return `client and API Gateway ${fmtMs(total - proxy)}, the Proxy's run beyond the Talker's ${fmtMs(proxy - talker)}, the Talker's beyond Main's ${fmtMs(talker - main)}, Main ${fmtMs(main)}`;
}

/**
 * Where a task's life beyond Main's run went, p50 over the cell's requests: from the task's
 * creation to Main's start (the Talker's start, its claim, the invoke), and from Main's end to the
 * delivery (the Talker's writes, then the Talker's answer or a poll, the retire), from the Proxy's
 * and the Talker's log lines.
 */
function aroundMain(cellTraces: ProxyTrace[]): string | null {
  const before = cellTraces.map((t) => t.beforeMainMs).filter((v): v is number => v !== undefined);
  const after = cellTraces.map((t) => t.afterMainMs).filter((v): v is number => v !== undefined);
  if (before.length === 0) return null;
  return `before Main ${fmtMs(percentile(before, 50))} (p99 ${fmtMs(percentile(before, 99))}), after Main ${fmtMs(percentile(after, 50))} (p99 ${fmtMs(percentile(after, 99))}), n=${before.length}`;
}

/** One measured cell: a way × job length × concurrency, as results.json records it. */
interface Cell {
  way: string;
  jobSeconds: number;
  concurrency: number;
  rounds: number;
  summary: ReturnType<typeof summarise>;
  /** total p50 over the floor's (direct) and over the original's settings' */
  ratios: { floor: number | null; orig: number | null };
  coldStartsDuring: number;
  peakRssBytes: number;
  errors: string[];
  samples: Array<Pick<Sample, 'ok' | 'status' | 'totalMs' | 'ranMs' | 'hops'>>;
  traces: ProxyTrace[];
  /** p50 of each function's REPORT `Duration` during the cell, ms. */
  durationsP50: Record<string, number | null>;
  /** CPU per request by thread: the main thread, each function, other threads (Linux only). */
  cpuSplitMsPerRequest: Record<string, number> | null;
}

await runMain('bench', async () => {
  const flags = parseFlags(scriptArgs(import.meta.url), {
    string: ['jobs', 'concurrency', 'ways', 'rounds', 'out'],
    repeatable: ['tuned-env', 'tuned-talker-env'],
    boolean: ['quick', 'help'],
    alias: { h: 'help' },
  });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const quick = flags.quick;
  const jobs = numbers(flags.jobs ?? (quick ? '0.3,5' : '0.3,5,40'), 'jobs');
  const concurrencies = numbers(flags.concurrency ?? (quick ? '1,10' : '1,10,200'), 'concurrency').map(Math.round);
  if (concurrencies.some((c) => c < 1)) throw new UsageError('--concurrency must be 1 or more');
  const ways = (flags.ways ?? 'kit,orig,direct').split(',').map((w) => w.trim()).filter(Boolean);
  for (const w of ways) if (!['kit', 'orig', 'direct', 'tuned'].includes(w)) throw new UsageError(`unknown way ${w}: kit, orig, direct or tuned`);
  const tunedEnv = flags['tuned-env'];
  const tunedTalkerEnv = flags['tuned-talker-env'];
  if (ways.includes('tuned') && tunedEnv.length + tunedTalkerEnv.length === 0) throw new UsageError('--ways tuned needs at least one --tuned-env or --tuned-talker-env KEY=VALUE');
  const fixedRounds = flags.rounds === undefined ? undefined : numbers(flags.rounds, 'rounds')[0];
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outDir = path.resolve(root, flags.out ?? path.join('bench-results', stamp));

  /** Requests per client in a cell. */
  const roundsFor = (jobSeconds: number, concurrency: number): number => {
    if (fixedRounds !== undefined) return Math.max(1, Math.round(fixedRounds));
    const samples = quick ? 6 : 30;
    const jobBudget = quick ? 8 : 40;
    const wanted = Math.ceil(samples / concurrency);
    const fits = Math.max(1, Math.floor(jobBudget / Math.max(jobSeconds, 0.1)));
    return Math.max(jobSeconds < 10 ? 2 : 1, Math.min(wanted, fits));
  };

  const zips = ['proxy', 'talker', 'main-example'].map((fn) => path.join(root, fn, 'dist', 'deploy.zip'));
  if (zips.some((zip) => !existsSync(zip))) {
    console.log('Building the functions...');
    await run(process.execPath, [tsxCli, path.join(root, 'scripts', 'build.ts')], process.env);
  }

  const load0 = os.loadavg();
  console.log(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  const [load1m = 0] = load0;
  if (load1m > os.cpus().length) console.log(`Warning: the machine is busy (load ${load1m.toFixed(1)} on ${os.cpus().length} CPUs): figures will be slower than on a quiet machine.`);

  const log = new StackLog();
  const { child, ready } = startStack(log);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const benchStarted = Date.now();
  try {
    const url = await ready;
    console.log(`Local stack at ${url}`);
    const env = {
      PATH: process.env.PATH, HOME: scratch, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true', FORCE_COLOR: '0', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    /** The deploy state's fields the bench reads. */
    interface Deployed { invokeUrl: string; directUrl: string | null }
    const deploy = async (prefix: string, extra: string[]): Promise<Deployed> => {
      const stateFile = path.join(scratch, `${prefix}.json`);
      await run(process.execPath, [tsxCli, path.join(root, 'scripts', 'deploy.ts'), '--endpoint', url, '--name-prefix', prefix, '--state-file', stateFile, ...extra], env);
      return JSON.parse(readFileSync(stateFile, 'utf8')) as Deployed;
    };
    /** Deploy flags of each way (recorded in the results). */
    type Prefix = 'bench' | 'orig' | 'tuned';
    const deployFlags: Record<Prefix, string[]> = {
      bench: ['--direct-route'],
      orig: ['--proxy-env', 'POLL_INITIAL_MS=2000', '--proxy-env', 'POLL_MAX_MS=2000', '--wait-seconds', '22'],
      tuned: [...tunedEnv.flatMap((kv) => ['--proxy-env', kv]), ...tunedTalkerEnv.flatMap((kv) => ['--talker-env', kv])],
    };
    const prefixes: Prefix[] = ['bench', ...(ways.includes('orig') ? ['orig' as const] : []), ...(ways.includes('tuned') ? ['tuned' as const] : [])];
    const states: Partial<Record<Prefix, Deployed>> = {};
    for (const prefix of prefixes) {
      const state = await deploy(prefix, deployFlags[prefix]);
      states[prefix] = state;
      console.log(`Deployed ${prefix}: ${state.invokeUrl}`);
    }
    const bench = states.bench as Deployed;
    const fnsOf = (prefix: string): string[] => [`${prefix}-proxy`, `${prefix}-talker`, `${prefix}-main`];
    /** Where a way is called, which functions it runs, its table and its Proxy (whose log lines are read). */
    interface Way { base: string; functions: string[]; table: string | null; proxy: string | null }
    const kitWay = (prefix: Prefix): Way | undefined => {
      const state = states[prefix];
      return state && { base: state.invokeUrl, functions: fnsOf(prefix), table: `${prefix}-tasks`, proxy: `${prefix}-proxy` };
    };
    const WAYS: Record<string, Way | undefined> = {
      kit: kitWay('bench'),
      orig: kitWay('orig'),
      tuned: kitWay('tuned'),
      direct: { base: `${bench.directUrl}/`, functions: ['bench-main'], table: null, proxy: null },
    };
    const allFunctions = prefixes.flatMap(fnsOf);

    const stats = async (): Promise<StackStats> => (await fetch(`${url}/_local/ops/stats`)).json() as Promise<StackStats>;
    const quiet = async (): Promise<StackStats> => {
      for (;;) {
        const s = await stats();
        if (s.lambda.environments.busy === 0) return s;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    const coldStarts = (s: StackStats, fns: string[]): number => fns.reduce((sum, fn) => sum + (s.lambda.functions[fn]?.coldStarts ?? 0), 0);
    let markCount = 0;
    const flushLog = async () => {
      const text = `m${(markCount += 1)}`;
      const seen = log.mark(text);
      await fetch(`${url}/_local/ops/mark?text=${text}`, { method: 'POST' });
      await seen;
    };

    const warmups: Array<{ way: string; concurrency: number; environmentsStarted: number; startedByFirstWave: number; ms: number }> = [];
    const cells: Cell[] = [];
    const order = ['direct', 'kit', 'tuned', 'orig'].filter((w) => ways.includes(w));
    for (const concurrency of concurrencies) {
      for (const way of order) {
        const w = WAYS[way];
        if (!w) continue;
        const cellJobs = jobs.filter((j) => way !== 'direct' || j < WINDOW_LIMIT_SECONDS);
        if (cellJobs.length === 0) continue;
        // Free the memory of the other ways' idle environments, then warm this way's.
        for (const fn of allFunctions.filter((f) => !w.functions.includes(f))) {
          await fetch(`${url}/_local/ops/lambda/${fn}/kill?which=idle`, { method: 'POST' });
        }
        // Start as many environments of each function as the cell needs (the stack's prewarm
        // hook, like provisioned concurrency), then run each once: an environment's first
        // invocation costs far more CPU than the next ones, and the figures are warm ones.
        const warmStarted = Date.now();
        let warmCold = 0;
        for (const fn of w.functions) {
          const res = await fetch(`${url}/_local/ops/lambda/${fn}/warm?count=${concurrency}`, { method: 'POST' });
          const body = (await res.json()) as PrewarmResult;
          if (res.status !== 200) throw new Error(`warming ${fn} answered ${res.status}: ${JSON.stringify(body)}`);
          warmCold += body.started;
        }
        const before = coldStarts(await stats(), w.functions);
        await load(w.base, 1, concurrency, 1, 'warm');
        // A second wave with overlapping 10 s jobs: under the first wave's load, Proxies may give
        // up at the cut-off (503) before starting their Talker, whose environments then stay cold.
        if (w.functions.length > 1 && concurrency > 10) await load(w.base, 10, concurrency, 1, 'warm2');
        const extra = coldStarts(await quiet(), w.functions) - before;
        warmups.push({ way, concurrency, environmentsStarted: warmCold, startedByFirstWave: extra, ms: Date.now() - warmStarted });
        console.log(`Warm-up ${way} × ${concurrency}: ${warmCold} environments started ahead, ${extra} more by the first wave, ${((Date.now() - warmStarted) / 1000).toFixed(0)} s`);

        for (const jobSeconds of cellJobs) {
          const rounds = roundsFor(jobSeconds, concurrency);
          const before = await quiet();
          const tBefore = performance.now();
          log.bucket = w.proxy ? { proxy: w.proxy, talker: w.functions.find((fn) => fn.endsWith('-talker')), lines: [] } : null;
          log.reports = new Map();
          const threadsBefore = threadCpuMs(child.pid);
          let peakRss = before.process.rssBytes;
          const sampler = setInterval(() => {
            stats().then((s) => (peakRss = Math.max(peakRss, s.process.rssBytes)), () => undefined);
          }, 1000);
          const t0 = performance.now();
          const samples = await load(w.base, jobSeconds, concurrency, rounds, `${way}${jobSeconds}x${concurrency}`);
          const wallMs = performance.now() - t0;
          clearInterval(sampler);
          const after = await quiet();
          const cpuWallMs = performance.now() - tBefore;
          await flushLog();
          const threadsAfter = threadCpuMs(child.pid);
          const lines = log.bucket?.lines ?? [];
          log.bucket = null;
          const reports = log.reports;
          log.reports = null;
          const calls = (operations: string[]): number | null => {
            if (!w.table) return null;
            const table = w.table;
            return operations.reduce((sum, op) => sum + (after.dynamodb.operations[table]?.[op] ?? 0) - (before.dynamodb.operations[table]?.[op] ?? 0), 0);
          };
          const getItems = calls(['GetItem']);
          const writes = calls(['PutItem', 'UpdateItem', 'DeleteItem']);
          const cell: Cell = {
            way, jobSeconds, concurrency, rounds,
            summary: summarise({ samples, traces: traces(lines), getItems, writes, wallMs, cpuMs: (after.process.cpuMicros - before.process.cpuMicros) / 1000, cpuWallMs, cpus: os.cpus().length, loopBusy: busyShare(before, after) }),
            ratios: { floor: null, orig: null },
            coldStartsDuring: coldStarts(after, w.functions) - coldStarts(before, w.functions),
            peakRssBytes: Math.max(peakRss, after.process.rssBytes),
            errors: samples.filter((s) => !s.ok).slice(0, 5).map((s) => `${s.status} ${s.error ?? ''}`),
            samples: samples.map((s) => ({ ok: s.ok, status: s.status, totalMs: Math.round(s.totalMs * 10) / 10, ranMs: s.ranMs, hops: s.hops })),
            traces: traces(lines),
            durationsP50: Object.fromEntries(w.functions.map((fn) => [fn, percentile(reports.get(fn) ?? [], 50)])),
            cpuSplitMsPerRequest: cpuSplit(threadsBefore, threadsAfter, child.pid ?? 0, after.lambda.threadIds ?? {}, w.functions, samples.length),
          };
          cells.push(cell);
          const s = cell.summary;
          console.log(`${way.padEnd(6)} ${String(jobSeconds).padStart(4)} s × ${String(concurrency).padStart(3)}: n=${s.requests} fail=${s.failures} total p50 ${fmtMs(s.totalMs.p50)} added p50 ${fmtMs(s.addedMs.p50)} p99 ${fmtMs(s.addedMs.p99)} hops ${s.hopsMean?.toFixed(1) ?? '—'}${s.getItemsPerRequest === null ? '' : ` GetItem/req ${s.getItemsPerRequest.toFixed(1)}`}${s.writesPerRequest === null ? '' : ` writes/req ${s.writesPerRequest.toFixed(1)}`}`);
          const steps = stepsOf(cell);
          if (steps) console.log(`    time p50: ${steps}`);
          const around = aroundMain(cell.traces);
          if (around) console.log(`    task life beyond Main's run, p50: ${around}`);
          if (cell.cpuSplitMsPerRequest) console.log(`    CPU/req: ${Object.entries(cell.cpuSplitMsPerRequest).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')}`);
          for (const e of cell.errors) console.log(`    failed: ${e}`);
        }
      }
    }

    // Ratios of total time p50 to the floor (direct) and to the original's settings.
    for (const cell of cells) {
      const peer = (way: string): Cell | undefined => cells.find((c) => c.way === way && c.jobSeconds === cell.jobSeconds && c.concurrency === cell.concurrency);
      const p50 = cell.summary.totalMs.p50;
      const floor = peer('direct')?.summary.totalMs.p50;
      const orig = peer('orig')?.summary.totalMs.p50;
      if (cell.way !== 'direct' && p50 !== null && floor) cell.ratios.floor = p50 / floor;
      if (cell.way !== 'orig' && cell.way !== 'direct' && p50 !== null && orig) cell.ratios.orig = p50 / orig;
    }

    const finalStats = await stats();
    const targets = judgeTargets(cells);
    const load1 = os.loadavg();
    const command = `npm run bench --${process.argv.slice(process.argv.findIndex((a) => a.endsWith('bench.ts')) + 1).map((a) => ` ${a}`).join('')}`;
    const results = {
      command,
      startedAt: new Date(benchStarted).toISOString(),
      durationSeconds: Math.round((Date.now() - benchStarted) / 1000),
      machine: {
        cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version, platform: `${os.type()} ${os.release()}`, loadAverageAtStart: load0, loadAverageAtEnd: load1,
      },
      options: { jobs, concurrencies, ways, quick, rounds: fixedRounds ?? null },
      deployments: deployFlags,
      readsCountedBy: 'GetItem/req: every GetItem call on the way\'s tasks table, counted by the local stack\'s DynamoDB layer (status polls and the result read when the result came from the table, SDK retries included); reads/s/req: per RequestID, the status reads from the Proxy\'s log lines (`reads` of each hop) plus the result read (none when the Talker\'s answer carried the result: `source` of `result delivered`), over the task\'s age at delivery',
      stackMaxRssBytes: finalStats.process.maxRssBytes,
      warmups,
      targets,
      cells,
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results) + '\n');
    const md = table(cells);
    writeFileSync(path.join(outDir, 'table.md'), `${md}\n\n${targets.map((t) => `- **${t.verdict}** ${t.target} — ${t.cell}: ${t.value}`).join('\n')}\n`);
    writeFileSync(path.join(outDir, 'chart.svg'), chartSvg(cells, {
      title: 'Added latency of the kit on the local stack',
      subtitle: `${os.cpus().length} CPUs, Node ${process.version}, ${new Date(benchStarted).toISOString().slice(0, 16)}Z — ${command}`,
    }));

    console.log(`\n${md}\n`);
    for (const t of targets) console.log(`${t.verdict.padEnd(4)}  ${t.target} — ${t.cell}: ${t.value}`);
    console.log(`\nPeak RSS of the stack (every environment is a thread of it): ${(finalStats.process.maxRssBytes / 2 ** 30).toFixed(2)} GiB`);
    console.log(`Load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}, at end ${load1.map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`Took ${results.durationSeconds} s. Figures: ${path.relative(process.cwd(), outDir) || '.'}/{results.json,chart.svg,table.md}`);
    if (targets.some((t) => t.verdict === 'MISS')) console.log('Some targets were missed: docs/benchmarks.md explains why and what would reach them.');
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => {
      if (child.exitCode !== null) resolve(undefined);
      else child.once('exit', resolve);
    });
    rmSync(scratch, { recursive: true, force: true });
  }
});
