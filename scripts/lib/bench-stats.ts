// Figures of the benchmark: percentiles, one cell's summary, the targets of issue 15, and the
// printed table. Pure functions over the raw samples, so the JSON can be re-summarised later.

/**
 * The p-th percentile (nearest rank) of numbers.
 *
 * @param p - 0..100
 */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? null;
}

/** The mean of numbers, or null for none. */
export function mean(values: number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/** The p50, p95, p99 and maximum of numbers. */
export function spread(values: number[]): { p50: number | null; p95: number | null; p99: number | null; max: number | null } {
  return { p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99), max: percentile(values, 100) };
}

/** One request of the benchmark, as the load generator saw it. */
export interface Sample {
  /** Whether it got Main's answer. */
  ok: boolean;
  /** The final HTTP status (0 when there was none). */
  status: number;
  /** From the first byte sent to the last byte of the answer. */
  totalMs: number;
  /** How long Main says it ran, when it says. */
  ranMs: number | null;
  /** `totalMs - ranMs`: what the kit (or the gateway) added. */
  addedMs: number | null;
  /** 303s followed. */
  hops: number;
  /** What went wrong, when not ok. */
  error?: string;
}

/** One request as the Proxy's log lines tell it. */
export interface ProxyTrace {
  /** Its RequestID. */
  requestId: string;
  /** Status reads over all hops. */
  statusReads: number;
  /** The task's age when the result was delivered. */
  elapsedMs: number | null;
  /** 303s the Proxy answered. */
  hops: number;
  /** Result reads: 1 when the result came from the table, 0 when it came in the Talker's answer (or was not delivered). */
  resultReads?: number;
  /** When the result was delivered (epoch ms, from the Proxy's log line). */
  deliveredAt?: number;
  /** From the task's creation to Main's start, ms (the Talker's log line says when Main ended and how long it ran). */
  beforeMainMs?: number;
  /** From Main's end to the delivery, ms. */
  afterMainMs?: number;
}

/**
 * Summarises one cell (one way, one job length, one concurrency).
 */
export function summarise(cell: { samples: Sample[]; traces: ProxyTrace[]; getItems: number | null; writes?: number | null; wallMs: number; cpuMs?: number | null; cpuWallMs?: number; cpus?: number; loopBusy?: number | null }) {
  const ok = cell.samples.filter((s) => s.ok);
  const total = ok.map((s) => s.totalMs);
  const added = ok.map((s) => s.addedMs ?? 0);
  const waitingSeconds = ok.reduce((sum, s) => sum + s.totalMs / 1000, 0);
  // Per request: status polls (the Proxy's log lines) plus the result read when the result came
  // from the table, over the time the task lived.
  const perRequestRate = cell.traces
    .filter((t) => t.elapsedMs !== null && t.elapsedMs > 0)
    .map((t) => (t.statusReads + (t.resultReads ?? 1)) / ((t.elapsedMs as number) / 1000));
  return {
    requests: cell.samples.length,
    failures: cell.samples.length - ok.length,
    totalMs: spread(total),
    addedMs: spread(added),
    hopsMean: mean(ok.map((s) => s.hops)),
    hopsMax: ok.length ? Math.max(...ok.map((s) => s.hops)) : null,
    // DynamoDB GetItem calls on the way's table, counted by the stack's DynamoDB layer.
    getItemsPerRequest: cell.getItems === null || cell.samples.length === 0 ? null : cell.getItems / cell.samples.length,
    // PutItem, UpdateItem and DeleteItem calls on the way's table, counted the same way.
    writesPerRequest: cell.writes === null || cell.writes === undefined || cell.samples.length === 0 ? null : cell.writes / cell.samples.length,
    // The GetItem calls per second of waiting, over all requests of the cell.
    getItemsPerWaitingSecond: cell.getItems === null || waitingSeconds === 0 ? null : cell.getItems / waitingSeconds,
    // From the Proxy's log lines (`reads` of each hop, summed per RequestID).
    statusReadsPerRequest: cell.traces.length ? mean(cell.traces.map((t) => t.statusReads)) : null,
    readsPerSecondPerRequest: perRequestRate.length ? spread(perRequestRate) : null,
    throughputPerSecond: cell.wallMs > 0 ? cell.samples.length / (cell.wallMs / 1000) : null,
    // CPU time of the stack process (server, DynamoDB and every function environment) per request,
    // and the share of the machine's CPUs it used during the cell.
    stackCpuMsPerRequest: cell.cpuMs === null || cell.cpuMs === undefined || cell.samples.length === 0 ? null : cell.cpuMs / cell.samples.length,
    // Share of the cell's time the stack's main thread (HTTP, API Gateway, Lambda service, DynamoDB) was busy.
    mainThreadBusy: cell.loopBusy ?? null,
    stackCpuShare: cell.cpuMs === null || cell.cpuMs === undefined || !cell.cpus || !cell.cpuWallMs ? null : cell.cpuMs / cell.cpuWallMs / cell.cpus,
  };
}

/** The wait window of the kit with its defaults (WAIT_SECONDS). */
export const WINDOW_SECONDS = 25;

/** A cell as {@link judgeTargets} reads it. */
type JudgedCell = { way: string; jobSeconds: number; concurrency: number; summary: ReturnType<typeof summarise> };

/** One target's verdict. */
export interface TargetVerdict {
  /** The target, in words. */
  target: string;
  /** The cell it was judged on. */
  cell: string;
  /** What was measured. */
  value: string;
  /** PASS, MISS, or n/a when the cell was not measured. */
  verdict: 'PASS' | 'MISS' | 'n/a';
}

/**
 * The targets of issue 15, judged on the kit-with-defaults cells against the direct route's
 * cells of the same run: the 0.3 s job's total p50 at most 1.05 × direct at 1 client and 1.10 ×
 * at 10, its stack CPU per request at most 4 × direct's and at most 3 status reads per request;
 * the 5 s job's total p50 at most 1.02 × direct at 1 and 10 clients; the 40 s job at 200 clients
 * adds at most 1 s at p50 and 2 s at p99, with no failure and at most 5 reads a second per
 * waiting request.
 *
 * @param cells - every measured cell of the run
 */
export function judgeTargets(cells: JudgedCell[]): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  const find = (way: string, job: number, conc: number) => cells.find((c) => c.way === way && c.jobSeconds === job && c.concurrency === conc);
  const judge = (target: string, cell: string, value: number | null, limit: number, shown: (v: number) => string) => {
    verdicts.push({ target, cell, value: value === null ? 'not measured' : shown(value), verdict: value === null ? 'n/a' : value <= limit ? 'PASS' : 'MISS' });
  };
  const ratio = (a: number | null | undefined, b: number | null | undefined) => (a === null || a === undefined || !b ? null : a / b);
  for (const [job, conc, limit] of [[0.3, 1, 1.05], [0.3, 10, 1.1], [5, 1, 1.02], [5, 10, 1.02]] as const) {
    const kit = find('kit', job, conc);
    const direct = find('direct', job, conc);
    const value = ratio(kit?.summary.totalMs.p50, direct?.summary.totalMs.p50);
    judge(`total p50 ≤ ${limit.toFixed(2)} × direct`, `${job} s × ${conc}`, value, limit,
      (v) => `${v.toFixed(3)} (${fmtMs(kit?.summary.totalMs.p50)} vs ${fmtMs(direct?.summary.totalMs.p50)})`);
  }
  for (const conc of [1, 10]) {
    const kit = find('kit', 0.3, conc);
    const direct = find('direct', 0.3, conc);
    const value = ratio(kit?.summary.stackCpuMsPerRequest, direct?.summary.stackCpuMsPerRequest);
    judge('stack CPU per request ≤ 4 × direct\'s', `0.3 s × ${conc}`, value, 4,
      (v) => `${v.toFixed(1)} × (${fmtMs(kit?.summary.stackCpuMsPerRequest)} vs ${fmtMs(direct?.summary.stackCpuMsPerRequest)})`);
    judge('≤ 3 status reads per request (every GetItem on the table)', `0.3 s × ${conc}`, kit?.summary.getItemsPerRequest ?? null, 3, (v) => v.toFixed(1));
  }
  const long = find('kit', 40, 200);
  judge('added p50 ≤ 1 s', '40 s × 200', long?.summary.addedMs.p50 ?? null, 1000, fmtMs);
  judge('added p99 ≤ 2 s', '40 s × 200', long?.summary.addedMs.p99 ?? null, 2000, fmtMs);
  judge('zero failures', '40 s × 200', long ? long.summary.failures : null, 0, (v) => String(v));
  judge('≤ 5 reads/s per waiting request (worst request)', '40 s × 200', long?.summary.readsPerSecondPerRequest?.max ?? null, 5,
    (v) => `${v.toFixed(2)} max (${fmt(long?.summary.getItemsPerWaitingSecond, 2)} over all, GetItem count)`);
  const failures = cells.filter((c) => c.way !== 'direct').reduce((sum, c) => sum + c.summary.failures, 0);
  judge('zero failures (every way but direct)', 'all', failures, 0, (v) => String(v));
  return verdicts;
}

export function fmt(value: number | null | undefined, digits: number = 1) {
  return value === null || value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits);
}

export function fmtMs(ms: number | null | undefined) {
  if (ms === null || ms === undefined) return '—';
  if (Math.abs(ms) >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

/**
 * The table printed at the end (and written as table.md), one line per cell.
 *
 * @returns a Markdown table
 */
export function table(cells: Array<{ way: string; jobSeconds: number; concurrency: number; summary: ReturnType<typeof summarise>; ratios: { floor: number | null; orig: number | null }; coldStartsDuring: number; peakRssBytes: number | null }>): string {
  const head = ['job', 'conc', 'way', 'n', 'fail', 'total p50', 'p95', 'p99', 'added p50', 'p95', 'p99', 'hops', 'GetItem/req', 'writes/req', 'reads/s/req p50·max', '×floor', '×orig', 'CPU/req', 'CPU use', 'main thread', 'cold', 'RSS peak'];
  const rows = cells.map((c) => {
    const s = c.summary;
    return [
      `${c.jobSeconds} s`, String(c.concurrency), c.way, String(s.requests), String(s.failures),
      fmtMs(s.totalMs.p50), fmtMs(s.totalMs.p95), fmtMs(s.totalMs.p99),
      fmtMs(s.addedMs.p50), fmtMs(s.addedMs.p95), fmtMs(s.addedMs.p99),
      fmt(s.hopsMean, 1), fmt(s.getItemsPerRequest, 1), fmt(s.writesPerRequest, 1),
      s.readsPerSecondPerRequest ? `${fmt(s.readsPerSecondPerRequest.p50, 2)}·${fmt(s.readsPerSecondPerRequest.max, 2)}` : '—',
      fmt(c.ratios.floor, 2), fmt(c.ratios.orig, 2),
      s.stackCpuMsPerRequest === null ? '—' : `${Math.round(s.stackCpuMsPerRequest)} ms`,
      s.stackCpuShare === null ? '—' : `${Math.round(s.stackCpuShare * 100)}%`,
      s.mainThreadBusy === null || s.mainThreadBusy === undefined ? '—' : `${Math.round(s.mainThreadBusy * 100)}%`,
      String(c.coldStartsDuring),
      c.peakRssBytes === null ? '—' : `${(c.peakRssBytes / 2 ** 30).toFixed(1)} GiB`,
    ];
  });
  const line = (cols: string[]) => `| ${cols.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
