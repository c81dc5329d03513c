// Figures of the benchmark: percentiles, one cell's summary, the targets of issue 5, and the
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
}

/**
 * Summarises one cell (one way, one job length, one concurrency).
 */
export function summarise(cell: { samples: Sample[]; traces: ProxyTrace[]; getItems: number | null; wallMs: number; cpuMs?: number | null; cpuWallMs?: number; cpus?: number; loopBusy?: number | null }) {
  const ok = cell.samples.filter((s) => s.ok);
  const total = ok.map((s) => s.totalMs);
  const added = ok.map((s) => s.addedMs ?? 0);
  const waitingSeconds = ok.reduce((sum, s) => sum + s.totalMs / 1000, 0);
  // Per request: status polls (the Proxy's log lines) plus the one result read, over the time the task lived.
  const perRequestRate = cell.traces
    .filter((t) => t.elapsedMs !== null && t.elapsedMs > 0)
    .map((t) => (t.statusReads + 1) / ((t.elapsedMs as number) / 1000));
  return {
    requests: cell.samples.length,
    failures: cell.samples.length - ok.length,
    totalMs: spread(total),
    addedMs: spread(added),
    hopsMean: mean(ok.map((s) => s.hops)),
    hopsMax: ok.length ? Math.max(...ok.map((s) => s.hops)) : null,
    // DynamoDB GetItem calls on the way's table, counted by the stack's DynamoDB layer.
    getItemsPerRequest: cell.getItems === null || cell.samples.length === 0 ? null : cell.getItems / cell.samples.length,
    // The same calls per second of waiting, over all requests of the cell.
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

/**
 * The targets of issue 5, judged on the kit-with-defaults cells that were measured.
 */
export function judgeTargets(cells: Array<{ way: string; jobSeconds: number; concurrency: number; summary: ReturnType<typeof summarise> }>): Array<{ target: string; cell: string; value: string; verdict: 'PASS'|'MISS'|'n/a' }> {
  const verdicts: Array<{ target: string; cell: string; value: string; verdict: 'PASS'|'MISS'|'n/a' }> = [];
  const kit = cells.filter((c) => c.way === 'kit');
  const short = kit.filter((c) => c.jobSeconds < WINDOW_SECONDS && c.concurrency === 50);
  if (short.length === 0) {
    verdicts.push({ target: 'jobs shorter than the window at 50 concurrent: added p50 ≤ max(60 ms, 10% of the job)', cell: '—', value: 'not measured', verdict: 'n/a' });
  }
  for (const c of short) {
    const limit = Math.max(60, 0.1 * c.jobSeconds * 1000);
    const p50 = c.summary.addedMs.p50;
    verdicts.push({
      target: `added p50 ≤ ${fmtMs(limit)}`,
      cell: `kit ${c.jobSeconds} s × ${c.concurrency}`,
      value: fmtMs(p50),
      verdict: p50 !== null && p50 <= limit ? 'PASS' : 'MISS',
    });
  }
  const long = kit.find((c) => c.jobSeconds === 40 && c.concurrency === 200);
  if (!long) {
    verdicts.push({ target: '40 s job at 200 concurrent: added p50 ≤ 150 ms, p99 ≤ 400 ms, ≤ 5 reads/s per waiting request', cell: '—', value: 'not measured', verdict: 'n/a' });
  } else {
    const { p50, p99 } = long.summary.addedMs;
    const cell = 'kit 40 s × 200';
    verdicts.push({ target: 'added p50 ≤ 150 ms', cell, value: fmtMs(p50), verdict: p50 !== null && p50 <= 150 ? 'PASS' : 'MISS' });
    verdicts.push({ target: 'added p99 ≤ 400 ms', cell, value: fmtMs(p99), verdict: p99 !== null && p99 <= 400 ? 'PASS' : 'MISS' });
    const rate = long.summary.readsPerSecondPerRequest?.max ?? null;
    const aggregate = long.summary.getItemsPerWaitingSecond;
    verdicts.push({
      target: '≤ 5 DynamoDB reads/s per waiting request (worst request)',
      cell,
      value: `${fmt(rate, 2)} max (${fmt(aggregate, 2)} over all, GetItem count)`,
      verdict: rate !== null && rate <= 5 ? 'PASS' : 'MISS',
    });
  }
  const failures = cells.filter((c) => c.way !== 'direct').reduce((sum, c) => sum + c.summary.failures, 0);
  verdicts.push({ target: 'zero failures (kit and original settings)', cell: 'all', value: String(failures), verdict: failures === 0 ? 'PASS' : 'MISS' });
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
  const head = ['job', 'conc', 'way', 'n', 'fail', 'total p50', 'p95', 'p99', 'added p50', 'p95', 'p99', 'hops', 'GetItem/req', 'reads/s/req p50·max', '×floor', '×orig', 'CPU/req', 'CPU use', 'main thread', 'cold', 'RSS peak'];
  const rows = cells.map((c) => {
    const s = c.summary;
    return [
      `${c.jobSeconds} s`, String(c.concurrency), c.way, String(s.requests), String(s.failures),
      fmtMs(s.totalMs.p50), fmtMs(s.totalMs.p95), fmtMs(s.totalMs.p99),
      fmtMs(s.addedMs.p50), fmtMs(s.addedMs.p95), fmtMs(s.addedMs.p99),
      fmt(s.hopsMean, 1), fmt(s.getItemsPerRequest, 1),
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
