/**
 * Ends the run with one plain line, `N passed, N failed, N skipped`, that any CI can read, and the
 * count of errors outside tests (a crashed worker, an unhandled rejection) when there are any:
 * those fail the run too, and leave the tests that did not get to run counted as skipped.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const m of testModules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else counts.skipped++;
      }
    }
    const errors = unhandledErrors.length;
    const errorNote = errors > 0 ? `, ${errors} error${errors === 1 ? '' : 's'} outside tests` : '';
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${errorNote}\n`);
  }
}
