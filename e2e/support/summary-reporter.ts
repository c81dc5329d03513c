/**
 * Prints, after the run, what a reader of the CI log needs: why each skipped test was skipped,
 * the notes tests left (checks they could not make), and where the screenshots are.
 */
import type { Reporter, TestCase, TestResult } from '@playwright/test/reporter';

export default class SummaryReporter implements Reporter {
  private readonly skipped: string[] = [];
  private readonly notes: string[] = [];
  private readonly files: string[] = [];

  onTestEnd(test: TestCase, result: TestResult): void {
    const title = test.title;
    // The same annotation can arrive on both the test and its result.
    const seen = new Set<string>();
    const annotations = [...test.annotations, ...result.annotations].filter((a) => {
      const key = `${a.type}\u0000${a.description ?? ''}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (result.status === 'skipped') {
      const reasons = annotations.filter((a) => a.type === 'skip' && a.description).map((a) => a.description);
      this.skipped.push(`${title}: ${reasons.length > 0 ? reasons.join('; ') : 'no reason given'}`);
    }
    for (const a of annotations) if (a.type === 'note' && a.description) this.notes.push(`${title}: ${a.description}`);
    for (const a of annotations) if (a.type === 'screenshot' && a.description) this.files.push(`${title}: ${a.description}`);
  }

  onEnd(): void {
    const sections: Array<[string, string[]]> = [
      ['Skipped', this.skipped],
      ['Notes', this.notes],
      ['Screenshots (also in the HTML report: npx playwright show-report)', this.files],
    ];
    for (const [heading, lines] of sections) {
      if (lines.length === 0) continue;
      console.log(`\n${heading}:`);
      for (const line of lines) console.log(`  ${line}`);
    }
  }

  printsToStdio(): boolean {
    return false;
  }
}
