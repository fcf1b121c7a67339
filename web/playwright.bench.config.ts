// The browser benchmarks (benches/run.sh --only zip runs them): Chromium
// against a release `livedrop serve` and nginx that each benchmark starts
// itself, so that it knows their PIDs. Not part of the test run.

import { defineConfig } from "@playwright/test";
import { chromiumLaunchOptions } from "./e2e/chromium";

export default defineConfig({
  testDir: "bench",
  testMatch: "*.bench.ts",
  timeout: 60 * 60_000,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results/bench",
  use: {
    browserName: "chromium",
    launchOptions: chromiumLaunchOptions,
    acceptDownloads: true,
  },
});
