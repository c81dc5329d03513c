/**
 * The browser suite (`npm run e2e`): a real Chromium through the kit's 303 chain. See docs/e2e.md.
 */
import { defineConfig } from '@playwright/test';
import { chooseChromium, CHROMIUM_ARGS } from './e2e/support/browser';

const browser = chooseChromium();

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  globalSetup: './e2e/global-setup.ts',
  outputDir: 'test-results/e2e',
  // The long tests mostly wait on the kit: run them side by side (2 cores are plenty).
  fullyParallel: true,
  workers: Number(process.env.E2E_WORKERS ?? 4),
  forbidOnly: true,
  retries: 0,
  // Per test; the long ones set their own, bounded by Main's time.
  timeout: 120_000,
  globalTimeout: 10 * 60_000,
  expect: { timeout: 15_000 },
  reporter: [
    ['list'],
    ['html', { open: 'never', outputFolder: 'playwright-report' }],
    ['./e2e/support/summary-reporter.ts'],
  ],
  use: {
    browserName: 'chromium',
    headless: true,
    // Debian's chromium (or CHROMIUM_PATH); without one, Playwright's own full Chromium.
    ...(browser.executablePath ? {} : { channel: 'chromium' }),
    launchOptions: {
      ...(browser.executablePath ? { executablePath: browser.executablePath } : {}),
      args: CHROMIUM_ARGS,
    },
    actionTimeout: 15_000,
    navigationTimeout: 60_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
});
