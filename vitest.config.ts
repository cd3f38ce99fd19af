import { defineConfig } from 'vitest/config';
import SummaryReporter from './test/summary-reporter.js';

export default defineConfig({
  test: {
    // Only the sources' tests: dist/ holds compiled copies that must not run twice.
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Many tests spawn the CLI or train networks; on a shared, loaded machine 5 s is too tight. A hang
    // still fails: spawned processes carry their own timeouts, and no test may run past this.
    testTimeout: 60_000,
    reporters: ['default', new SummaryReporter()],
  },
});
