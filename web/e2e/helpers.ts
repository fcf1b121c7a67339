import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  test as base,
  expect,
  type Browser,
  type BrowserContext,
  type Page,
} from "@playwright/test";

export { expect };

const watched = new WeakSet<BrowserContext>();

/**
 * Records every Content-Security-Policy violation in a context's pages and
 * frames: the `securitypolicyviolation` events (with what was blocked and
 * where) and the console's "… violates the following Content Security
 * Policy directive …" lines, either of which is enough.
 */
async function watchCsp(context: BrowserContext, violations: string[]): Promise<void> {
  if (watched.has(context)) return;
  watched.add(context);
  context.on("console", (msg) => {
    if (/Content[- ]Security[- ]Policy/i.test(msg.text()))
      violations.push(`console: ${msg.text()}`);
  });
  await context.exposeBinding("__livedropCspViolation", (_source, text: string) => {
    violations.push(text);
  });
  await context.addInitScript(() => {
    addEventListener(
      "securitypolicyviolation",
      (e) =>
        (
          window as unknown as { __livedropCspViolation: (t: string) => void }
        ).__livedropCspViolation(
          `${e.effectiveDirective} blocked ${e.blockedURI || "(inline)"} ` +
            `at ${e.sourceFile}:${e.lineNumber} on ${location.href}: ${e.sample}`,
        ),
      true,
    );
  });
}

/**
 * `test` for every spec: the web app must run under its
 * Content-Security-Policy without a single violation, so any violation in
 * any context of a test (the `page` / `context` fixtures', and those the
 * test makes with `browser.newContext()` or `browser.newPage()`) fails it.
 */
export const test = base.extend<{ cspViolations: string[] }>({
  cspViolations: [
    async ({ browser }, run) => {
      const violations: string[] = [];
      const newContext = browser.newContext;
      browser.newContext = async (...args) => {
        const context = await newContext.apply(browser, args);
        await watchCsp(context, violations);
        return context;
      };
      try {
        await run(violations);
      } finally {
        browser.newContext = newContext;
      }
      expect(violations, "Content-Security-Policy violations").toEqual([]);
    },
    { auto: true },
  ],
  context: async ({ context, cspViolations }, run) => {
    await watchCsp(context, cspViolations);
    await run(context);
  },
});

export const PASSWORD = "correct horse battery";

let counter = 0;
/** A fresh address per run, so tests never collide on one server. */
export function email(name: string): string {
  return `${name}.${Date.now().toString(36)}${counter++}@example.com`;
}

export async function signUp(page: Page, address: string, password = PASSWORD): Promise<void> {
  await page.goto("/signup/");
  await page.getByLabel("E-mail").fill(address);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/files\/$/);
  await expect(page.locator(".live")).toHaveText("Live");
}

export async function newUser(
  browser: Browser,
  name: string,
  options: Parameters<Browser["newContext"]>[0] = {},
): Promise<{ context: BrowserContext; page: Page; email: string }> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const address = email(name);
  await signUp(page, address);
  return { context, page, email: address };
}

/**
 * Proves `person`'s address the way a server without mail does: `owner`
 * shares an empty file with it (through the API, as the owner's browser),
 * `person` opens the invitation link the owner is handed, and the file is
 * deleted again. Until then nothing shared with the address reaches them.
 */
export async function proveAddress(
  owner: { context: BrowserContext },
  person: { page: Page; email: string },
): Promise<void> {
  const api = owner.context.request;
  const me = await (await api.get("/api/me")).json();
  const headers = { "X-CSRF-Token": me.csrf_token as string };
  const begin = await api.post("/api/uploads", {
    headers,
    // An empty file's CRC32C is 0.
    data: { name: "proof.txt", size: 0, content_type: "text/plain", crc32c: "AAAAAA==" },
  });
  expect(begin.status()).toBe(201);
  const { file, upload } = await begin.json();
  expect((await api.put(upload.url, { data: "" })).ok()).toBe(true);
  expect((await api.post(`/api/uploads/${file.id}/complete`, { headers })).ok()).toBe(true);
  const share = await api.post(`/api/files/${file.id}/shares`, {
    headers,
    data: { email: person.email },
  });
  const link = (await share.json()).share.invite_url as string;
  await person.page.goto(link);
  await expect(person.page.getByText(`${person.email} is confirmed as yours.`)).toBeVisible();
  expect((await api.delete(`/api/files/${file.id}`, { headers })).status()).toBe(204);
}

const dir = mkdtempSync(join(tmpdir(), "ld-e2e-files-"));
// Files to upload run to 100 MB a run: gone with the worker.
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

/** Writes a file to upload; the same path keeps the same mtime for a resume. */
export function makeFile(name: string, body: Buffer | string): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

export async function upload(page: Page, path: string | string[]): Promise<void> {
  await page.getByTestId("file-input").setInputFiles(path);
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `e2e/screenshots/${name}.png`, fullPage: true });
}

/** A bigger PNG so a preview is visible in screenshots: a 64×64 gradient. */
export function gradientPng(): Buffer {
  // Built by hand: IHDR + one IDAT (stored, no compression) + IEND.
  const w = 64;
  const h = 64;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = x * 4;
      raw[o + 1] = y * 4;
      raw[o + 2] = 200;
    }
  }
  // zlib stored blocks
  const blocks: Buffer[] = [Buffer.from([0x78, 0x01])];
  for (let i = 0; i < raw.length; i += 65535) {
    const chunk = raw.subarray(i, i + 65535);
    const last = i + 65535 >= raw.length ? 1 : 0;
    const head = Buffer.alloc(5);
    head[0] = last;
    head.writeUInt16LE(chunk.length, 1);
    head.writeUInt16LE(~chunk.length & 0xffff, 3);
    blocks.push(head, chunk);
  }
  let a = 1;
  let b = 0;
  for (const byte of raw) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((b << 16) | a) >>> 0);
  blocks.push(adler);
  const idat = Buffer.concat(blocks);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", idat),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
