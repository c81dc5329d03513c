// What one call costs: the measuring loop and the figures of scripts/bench-calls.ts.
import { cpuUsage } from 'node:process';
import { performance } from 'node:perf_hooks';
import { mean, percentile } from './bench-stats';
import { UsageError } from './cli';

/** One measured call: wall time and the process's CPU time (every thread), in ms. */
export interface CallSample {
  /** Wall time from the call's start to its end. */
  wallMs: number;
  /** Process CPU (user + system, every thread) used from the call's start to its end. */
  cpuMs: number;
  /** Wall time to the call's lap, when it marked one (e.g. an Event invoke's 202). */
  lapWallMs?: number;
  /** Process CPU to the call's lap, when it marked one. */
  lapCpuMs?: number;
}

/** The figures of one kind of call, as the table and the JSON show them. */
export interface CallRow {
  /** What was called, e.g. "DynamoDB GetItem (stack)". */
  kind: string;
  /** Calls measured (warm-up calls not counted). */
  n: number;
  /** Median wall time per call, ms. */
  wallP50Ms: number | null;
  /** Mean wall time per call, ms. */
  wallMeanMs: number | null;
  /** 95th percentile of the wall time per call, ms. */
  wallP95Ms: number | null;
  /** Mean process CPU per call, ms. */
  cpuMeanMs: number | null;
  /** Median process CPU per call, ms. */
  cpuP50Ms: number | null;
}

/**
 * A call to measure. It may call `lap()` once, to mark a point inside it (the samples then
 * also hold the wall and CPU time up to that point).
 */
export type MeasuredCall = (lap: () => void) => Promise<unknown>;

const cpuNowMs = (): number => {
  const { user, system } = cpuUsage();
  return (user + system) / 1000;
};

/**
 * Runs `call` `warmup` times unmeasured, then `n` times one after the other, measuring each:
 * wall time (`performance.now()`) and process CPU (`process.cpuUsage()`: every thread of the
 * process, so in-process servers and worker threads are counted too).
 *
 * @param call - the call, awaited before the next one starts
 * @param counts - measured calls (`n`) and unmeasured warm-up calls (`warmup`)
 * @returns one sample per measured call
 */
export async function measureCalls(call: MeasuredCall, counts: { n: number; warmup: number }): Promise<CallSample[]> {
  const noLap = (): void => undefined;
  for (let i = 0; i < counts.warmup; i += 1) await call(noLap);
  const samples: CallSample[] = [];
  for (let i = 0; i < counts.n; i += 1) {
    let lap: { wall: number; cpu: number } | undefined;
    const cpu0 = cpuNowMs();
    const wall0 = performance.now();
    await call(() => {
      lap ??= { wall: performance.now(), cpu: cpuNowMs() };
    });
    const wall1 = performance.now();
    const cpu1 = cpuNowMs();
    const sample: CallSample = { wallMs: wall1 - wall0, cpuMs: cpu1 - cpu0 };
    if (lap) {
      sample.lapWallMs = lap.wall - wall0;
      sample.lapCpuMs = lap.cpu - cpu0;
    }
    samples.push(sample);
  }
  return samples;
}

/**
 * Sums up samples as one table row.
 *
 * @param kind - the row's name
 * @param samples - the measured calls
 * @param part - `whole` (default): each call from start to end; `lap`: from start to its lap
 *   (samples without a lap are left out)
 */
export function summariseCalls(kind: string, samples: CallSample[], part: 'whole' | 'lap' = 'whole'): CallRow {
  const picked = part === 'whole'
    ? samples.map((s) => ({ wall: s.wallMs, cpu: s.cpuMs }))
    : samples.flatMap((s) => (s.lapWallMs === undefined || s.lapCpuMs === undefined ? [] : [{ wall: s.lapWallMs, cpu: s.lapCpuMs }]));
  const wall = picked.map((p) => p.wall);
  const cpu = picked.map((p) => p.cpu);
  return {
    kind,
    n: picked.length,
    wallP50Ms: percentile(wall, 50),
    wallMeanMs: mean(wall),
    wallP95Ms: percentile(wall, 95),
    cpuMeanMs: mean(cpu),
    cpuP50Ms: percentile(cpu, 50),
  };
}

/**
 * A duration in ms with two decimals (three under 0.1 ms), or — for none.
 *
 * @param ms - the duration
 */
export function fmtCallMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  return Math.abs(ms) < 0.1 ? ms.toFixed(3) : ms.toFixed(2);
}

/**
 * The Markdown table of the rows: kind | n | wall p50 | wall mean | wall p95 | CPU/call (mean) | CPU p50.
 *
 * @param rows - one per kind of call
 */
export function callsTable(rows: CallRow[]): string {
  const lines = [
    '| kind | n | wall p50 (ms) | wall mean (ms) | wall p95 (ms) | CPU/call mean (ms) | CPU/call p50 (ms) |',
    '|---|--:|--:|--:|--:|--:|--:|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.kind} | ${r.n} | ${fmtCallMs(r.wallP50Ms)} | ${fmtCallMs(r.wallMeanMs)} | ${fmtCallMs(r.wallP95Ms)} | ${fmtCallMs(r.cpuMeanMs)} | ${fmtCallMs(r.cpuP50Ms)} |`);
  }
  return lines.join('\n');
}

/**
 * A whole number of calls from a flag's text.
 *
 * @param text - the flag's value (undefined: the default)
 * @param flag - the flag's name, for the error message
 * @param fallback - the value when the flag is absent
 * @param min - the smallest value accepted
 * @throws UsageError when the text is not a whole number of at least `min`
 */
export function parseCount(text: string | undefined, flag: string, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${flag} takes a whole number of at least ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}
