// Ends a Playwright run with one plain line, "playwright: N passed, N failed",
// which CI reads to tell a run that tested something from one that did not.

import type { FullConfig, Reporter, Suite } from "@playwright/test/reporter";

export default class SummaryReporter implements Reporter {
  private suite: Suite | null = null;

  onBegin(_config: FullConfig, suite: Suite): void {
    this.suite = suite;
  }

  onEnd(): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const t of this.suite?.allTests() ?? []) {
      const outcome = t.outcome();
      if (outcome === "expected" || outcome === "flaky") passed++;
      else if (outcome === "skipped") skipped++;
      else failed++;
    }
    process.stdout.write(`playwright: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }

  printsToStdio(): boolean {
    return false;
  }
}
