// End-to-end tests: Debian's Chromium against a real `livedrop serve`.
//
//   LIVEDROP_BIN=../target/debug/livedrop npm run e2e
//
// The server is started here on a free-ish port with a fresh data dir, and
// serves the static export in web/out (run `npm run build` first).

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { defineConfig } from "@playwright/test";
import { chromiumLaunchOptions } from "./e2e/chromium";

const bin = process.env.LIVEDROP_BIN;
if (!bin)
  throw new Error("Set LIVEDROP_BIN to the built livedrop binary (e.g. ../target/debug/livedrop).");

/** A port nothing listens on now (asked of the OS, in a child, synchronously). */
function freePort(): number {
  const script =
    "const s=require('net').createServer();" +
    "s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})";
  return Number(String(execFileSync(process.execPath, ["-e", script])).trim());
}

const port = Number(process.env.E2E_PORT ?? freePort());
const ownDataDir = !process.env.E2E_DATA_DIR;
const dataDir = process.env.E2E_DATA_DIR ?? mkdtempSync(join(tmpdir(), "ld-e2e-"));
// The main process made it, and removes it when done (after the server stops).
if (ownDataDir) process.on("exit", () => rmSync(dataDir, { recursive: true, force: true }));
// Workers load this file too: hand them the same directory and port.
process.env.E2E_PORT = String(port);
process.env.E2E_DATA_DIR = dataDir;
const smtpPort = Number(process.env.E2E_SMTP_PORT ?? freePort());
const mailPort = Number(process.env.E2E_MAIL_PORT ?? freePort());
process.env.E2E_SMTP_PORT = String(smtpPort);
process.env.E2E_MAIL_PORT = String(mailPort);
process.env.E2E_MAIL_DIR ??= mkdtempSync(join(tmpdir(), "ld-e2e-mail-"));
process.env.E2E_MAIL_DATA_DIR ??= mkdtempSync(join(tmpdir(), "ld-e2e-maildata-"));
/** Where the SMTP server writes each letter, as JSON. */
export const MAIL_DIR = process.env.E2E_MAIL_DIR;
const mailDataDir = process.env.E2E_MAIL_DATA_DIR;
if (ownDataDir) {
  process.on("exit", () => {
    rmSync(MAIL_DIR, { recursive: true, force: true });
    rmSync(mailDataDir, { recursive: true, force: true });
  });
}
/** The livedrop that sends mail. */
export const MAIL_BASE = `http://127.0.0.1:${mailPort}`;
const python = resolve(import.meta.dirname, "..", ".venv-mail", "bin", "python");
const smtpSink = resolve(import.meta.dirname, "..", "tests", "support", "smtp_sink.py");
if (!existsSync(python)) {
  throw new Error(
    "../.venv-mail is missing: scripts/test.sh installs aiosmtpd there for the mail tests.",
  );
}
/** Per person; small enough that the quota error can be tested. */
export const QUOTA = "60MiB";
const webDir = resolve(import.meta.dirname, "out");
if (!existsSync(join(webDir, "index.html"))) {
  throw new Error("web/out is missing: run `npm run build` before the e2e tests.");
}

export default defineConfig({
  testDir: "e2e",
  // Cloud mode has its own config and stack: playwright.cloud.config.ts.
  testIgnore: ["cloud/**"],
  timeout: 90_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"], ["./test/playwright-summary.ts"]],
  outputDir: "test-results",
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: "chromium",
    trace: "retain-on-failure",
    launchOptions: chromiumLaunchOptions,
  },
  webServer: [
    {
      command: `"${resolve(bin)}" serve --listen 127.0.0.1:${port} --data-dir "${dataDir}" --web-dir "${webDir}" --quota ${QUOTA}`,
      url: `http://127.0.0.1:${port}/api/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore",
      // The server logs every request; E2E_SERVER_LOG=1 shows them.
      stderr: process.env.E2E_SERVER_LOG ? "pipe" : "ignore",
    },
    // A real SMTP server (aiosmtpd, scripts/test.sh installs it in
    // .venv-mail) writing what it receives to MAIL_DIR, and a second
    // livedrop that sends to it: e2e/mail.spec.ts follows the letters' links.
    {
      command: `"${python}" "${smtpSink}" ${smtpPort} --dir "${MAIL_DIR}"`,
      port: smtpPort,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "ignore",
    },
    {
      command: `"${resolve(bin)}" serve --listen 127.0.0.1:${mailPort} --data-dir "${mailDataDir}" --web-dir "${webDir}"`,
      url: `${MAIL_BASE}/api/health`,
      env: {
        LIVEDROP_SMTP_HOST: "127.0.0.1",
        LIVEDROP_SMTP_PORT: String(smtpPort),
        LIVEDROP_SMTP_TLS: "none",
        LIVEDROP_MAIL_FROM: "livedrop <noreply@livedrop.test>",
        LIVEDROP_PUBLIC_URL: MAIL_BASE,
      },
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore",
      stderr: process.env.E2E_SERVER_LOG ? "pipe" : "ignore",
    },
  ],
});
