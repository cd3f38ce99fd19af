import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Only the sources' tests: dist/ holds compiled copies that must not run twice.
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
  },
});
