import { describe, expect, it } from 'vitest';
import { judgeTargets, summarise, type Sample } from '../../scripts/lib/bench-stats';

/** A cell whose every request took `totalMs`, of which Main ran `ranMs`. */
function cell(way: string, jobSeconds: number, concurrency: number, totalMs: number, extra: { getItems?: number; cpuMs?: number; failures?: number } = {}) {
  const ranMs = jobSeconds * 1000;
  const samples: Sample[] = Array.from({ length: 10 }, (_, i) => (i < (extra.failures ?? 0)
    ? { ok: false, status: 502, totalMs, ranMs: null, addedMs: null, hops: 0 }
    : { ok: true, status: 200, totalMs, ranMs, addedMs: totalMs - ranMs, hops: 0 }));
  return { way, jobSeconds, concurrency, summary: summarise({ samples, traces: [], getItems: extra.getItems ?? null, wallMs: 1000, cpuMs: extra.cpuMs ?? null }) };
}

describe('judgeTargets (issue 15)', () => {
  it('judges each ratio against the direct route of the same run, and says n/a for a cell not measured', () => {
    const verdicts = judgeTargets([
      cell('direct', 0.3, 1, 300, { cpuMs: 40 }), cell('kit', 0.3, 1, 315, { getItems: 0, cpuMs: 150 }),
      cell('direct', 0.3, 10, 300, { cpuMs: 20 }), cell('kit', 0.3, 10, 340, { getItems: 40, cpuMs: 200 }),
      cell('direct', 5, 1, 5000), cell('kit', 5, 1, 5050),
    ]);
    const of = (target: string, at: string) => verdicts.find((v) => v.target.startsWith(target) && v.cell === at)?.verdict;
    expect(of('total p50 ≤ 1.05', '0.3 s × 1')).toBe('PASS');
    expect(of('total p50 ≤ 1.10', '0.3 s × 10')).toBe('MISS');
    expect(of('total p50 ≤ 1.02', '5 s × 1')).toBe('PASS');
    expect(of('total p50 ≤ 1.02', '5 s × 10')).toBe('n/a');
    expect(of('stack CPU', '0.3 s × 1')).toBe('PASS');
    expect(of('stack CPU', '0.3 s × 10')).toBe('MISS');
    expect(of('≤ 3 status reads', '0.3 s × 1')).toBe('PASS');
    expect(of('≤ 3 status reads', '0.3 s × 10')).toBe('MISS');
    expect(of('added p50 ≤ 1 s', '40 s × 200')).toBe('n/a');
  });

  it('judges the 40 s × 200 cell and counts every failure but the direct route\'s', () => {
    const verdicts = judgeTargets([cell('kit', 40, 200, 41_500, { failures: 1 }), cell('direct', 0.3, 1, 300, { failures: 2 })]);
    const of = (target: string) => verdicts.find((v) => v.target.startsWith(target))?.verdict;
    expect(of('added p50 ≤ 1 s')).toBe('MISS');
    expect(of('added p99 ≤ 2 s')).toBe('PASS');
    expect(verdicts.find((v) => v.target === 'zero failures (every way but direct)')?.value).toBe('1');
  });
});
