import { defineConfig } from '@playwright/test';

/** Chromium as Debian installs it (npm run web:setup); nothing downloads a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox', // CI runs as root
  '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

export default defineConfig({
  testDir: './test',
  testMatch: '*.spec.ts',
  // A shared, noisy 2-core machine: generous limits; the tests wait on states, never on time.
  timeout: 180_000,
  expect: { timeout: 60_000 },
  workers: 1,
  reporter: [['list']],
  outputDir: './test-results/artifacts',
  globalSetup: './test/global-setup.ts',
  use: {
    headless: true,
    viewport: { width: 1280, height: 860 },
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS },
    actionTimeout: 60_000,
    navigationTimeout: 60_000,
  },
});
