// The cloud-mode end-to-end test: Debian's Chromium against
// `livedrop serve --backend firebase` on the Firestore and Auth emulators and
// fake-gcs-server, all started (on free ports) and stopped by the global
// setup in e2e/cloud/.
//
//   LIVEDROP_BIN=../target/debug/livedrop npm run e2e:cloud
//
// Needs what `scripts/emulators.sh install` installs, and web/out (run
// `npm run build` first).

import { execFileSync } from "node:child_process";
import { defineConfig } from "@playwright/test";
import { chromiumLaunchOptions } from "./e2e/chromium";

function freePort(): number {
  const script =
    "const s=require('net').createServer();" +
    "s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})";
  return Number(String(execFileSync(process.execPath, ["-e", script])).trim());
}

// Workers load this file too: they get the port the setup used.
const port = Number(process.env.CLOUD_E2E_PORT ?? freePort());
process.env.CLOUD_E2E_PORT = String(port);

export default defineConfig({
  testDir: "e2e/cloud",
  globalSetup: "./e2e/cloud/global-setup.ts",
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"], ["./test/playwright-summary.ts"]],
  outputDir: "test-results/cloud",
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: "chromium",
    trace: "retain-on-failure",
    launchOptions: chromiumLaunchOptions,
  },
});
