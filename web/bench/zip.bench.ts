// Benchmark (issue 12): a folder of mixed sizes, 4 GiB by default, downloaded
// as one ZIP in Chromium ("Download as ZIP": the page lists the archive,
// streams it through the Service Worker into the download manager), against
// the same number of bytes downloaded as one file by the same browser, from
// livedrop's signed URL and from nginx, in the same run. And the server's
// memory while it runs, which must stay flat: the archive is made in the
// browser, the server only serves each file's bytes.
//
//   cd web && LIVEDROP_BIN=../target/release/livedrop \
//     npx playwright test --config playwright.bench.config.ts
//
// benches/run.sh --only zip runs it after a release build. Sizes and
// repeats: BENCH_ZIP_GIB (4), BENCH_ZIP_REPEAT (3); BENCH_ZIP_OUT names a
// Markdown file for the table. Servers are pinned to CPU 0 (as in
// benches/suite), the browser runs where the OS puts it.
//
// BENCH_ZIP_CEILINGS=1 also measures what bounds the ZIP path, each part
// alone on 1 GiB: a fetch drained in the page; a stream made in the page and
// transferred to a Service Worker that answers a download with it (what
// web/lib/zip-download.ts does, with no fetch and no CRC); and a stream made
// in a Service Worker itself (what moving the archive into the worker
// would give).

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const total = Math.round(Number(process.env.BENCH_ZIP_GIB ?? "4") * GiB);
const repeats = Number(process.env.BENCH_ZIP_REPEAT ?? "3");
const bin = resolve(process.env.LIVEDROP_BIN ?? "../target/release/livedrop");
const webDir = resolve(import.meta.dirname, "..", "out");
const EMAIL = "bench@livedrop.test";
const PASSWORD = "a benchmark password";

/**
 * What the folder holds, by path: a quarter of the bytes in one file, a
 * quarter in 4, a quarter in 16, and a quarter in files of 1 MiB over 8
 * folders (1,045 files for 4 GiB), so the archive has large entries, many
 * small ones and nested folders, and passes 4 GiB (ZIP64).
 */
function plan(bytes: number): [string, number][] {
  const q = Math.floor(bytes / 4);
  const out: [string, number][] = [["whole.bin", q]];
  for (let i = 0; i < 4; i++) out.push([`large/l${i}.bin`, Math.floor(q / 4)]);
  for (let i = 0; i < 16; i++) out.push([`medium/m${i}.bin`, Math.floor(q / 16)]);
  const small = Math.max(1, Math.floor(q / MiB));
  for (let i = 0; i < small; i++) out.push([`small/s${i % 8}/f${i}.bin`, Math.floor(q / small)]);
  return out;
}

/** Writes `size` bytes of noise (stored, not compressed: the content does not matter, its size does). */
function writeNoise(path: string, size: number, noise: Buffer, tag: number) {
  const fd = openSync(path, "w");
  try {
    let left = size;
    let n = 0;
    while (left > 0) {
      const chunk = noise.subarray(0, Math.min(left, noise.length));
      chunk.writeUInt32LE(tag, 0);
      chunk.writeUInt32LE(n++, 4);
      writeSync(fd, chunk);
      left -= chunk.length;
    }
  } finally {
    closeSync(fd);
  }
}

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function waitFor(url: string, what: string) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer ${url}`);
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

/** The peak RSS of `pid` while `run` runs, sampled every 10 ms. */
async function withPeakRss<T>(pid: number, run: () => Promise<T>): Promise<[T, number]> {
  let peak = rssKiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssKiB(pid));
  }, 10);
  try {
    const out = await run();
    return [out, Math.max(peak, rssKiB(pid))];
  } finally {
    clearInterval(timer);
  }
}

/** Seconds from the click that starts a download to its last byte on disk. */
async function timedDownload(page: Page, start: () => Promise<void>, size: number) {
  const started = performance.now();
  const downloading = page.waitForEvent("download", { timeout: 10 * 60_000 });
  await start();
  const download = await downloading;
  const path = await download.path();
  const seconds = (performance.now() - started) / 1000;
  expect(await download.failure()).toBeNull();
  const saved = statSync(path).size;
  expect(saved).toBeGreaterThanOrEqual(size);
  return { seconds, path, saved, remove: () => download.delete() };
}

/** Clicks a link to `url` in the page (a download by the browser itself). */
async function clickLink(page: Page, url: string) {
  await page.evaluate((href) => {
    const a = document.createElement("a");
    a.href = href;
    a.download = "";
    document.body.append(a);
    a.click();
    a.remove();
  }, url);
}

/**
 * A Service Worker for the ceilings alone (scope /__probe/): it answers a
 * navigation with 1 GiB it makes itself, in chunks of ?chunk= bytes, fresh
 * ones (as a fetch's would be) or one buffer again (?reuse=1).
 */
const PROBE_SW = `
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (!url.pathname.startsWith("/__probe/")) return;
  const chunk = Number(url.searchParams.get("chunk"));
  const reuse = url.searchParams.get("reuse") === "1";
  const size = ${GiB};
  const one = new Uint8Array(chunk);
  let left = size;
  const body = new ReadableStream({
    pull(c) {
      if (left <= 0) return c.close();
      const n = Math.min(left, chunk);
      c.enqueue(reuse ? one.subarray(0, n) : new Uint8Array(n));
      left -= n;
    },
  }, { highWaterMark: 0 });
  event.respondWith(new Response(body, { headers: {
    "Content-Type": "application/zip",
    "Content-Disposition": "attachment; filename=probe.zip",
    "Content-Length": String(size),
  } }));
});
`;

/** Registers a worker with a scope the page is not in, and waits until it is active. */
async function registerWorker(page: Page, script: string, scope: string) {
  await page.evaluate(
    async ([script, scope]) => {
      const reg = await navigator.serviceWorker.register(script!, { scope });
      // navigator.serviceWorker.ready is for the page's own scope: not this one.
      while (!reg.active) await new Promise((r) => setTimeout(r, 50));
    },
    [script, scope],
  );
}

/** Navigates the page to `href` through a link without `download` (so a worker sees it). */
async function navigate(page: Page, href: string) {
  await page.evaluate((href) => {
    const a = document.createElement("a");
    a.href = href;
    document.body.append(a);
    a.click();
    a.remove();
  }, href);
}

/** The rows of the ceilings table (BENCH_ZIP_CEILINGS=1). */
async function measureCeilings(
  page: Page,
  context: BrowserContext,
  base: string,
  fileId: string,
  csrf: string,
): Promise<string[]> {
  const rows: string[] = [];
  const signed = await context.request.post(`/api/files/${fileId}/download`, {
    headers: { "X-CSRF-Token": csrf },
    data: {},
  });
  const url = new URL((await signed.json()).url as string, base).toString();
  const fetched = await page.evaluate(async (u) => {
    const t = performance.now();
    const reader = (await fetch(u, { cache: "no-store" })).body!.getReader();
    let n = 0;
    let chunks = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      n += value.length;
      chunks++;
    }
    return { n, chunks, ms: performance.now() - t };
  }, url);
  rows.push(
    `| a fetch of one file, drained in the page (${Math.round(fetched.n / fetched.chunks / 1024)} KiB a chunk) | ${(fetched.n / 1e3 / fetched.ms).toFixed(0)} |`,
  );

  await registerWorker(page, "/zip-sw.js", "/__zip/");
  for (const chunk of [64 * 1024, MiB]) {
    const id = randomBytes(16).toString("hex");
    const got = await timedDownload(
      page,
      async () => {
        await page.evaluate(
          async ([id, chunk, size]) => {
            const reg = await navigator.serviceWorker.getRegistration("/__zip/");
            let left = size!;
            const stream = new ReadableStream<Uint8Array>(
              {
                pull(c) {
                  if (left <= 0) return c.close();
                  const n = Math.min(left, chunk!);
                  c.enqueue(new Uint8Array(n));
                  left -= n;
                },
              },
              { highWaterMark: 0 },
            );
            const channel = new MessageChannel();
            const accepted = new Promise((r) => (channel.port1.onmessage = r));
            reg!.active!.postMessage(
              {
                type: "zip",
                id,
                stream,
                headers: {
                  "Content-Type": "application/zip",
                  "Content-Disposition": "attachment; filename=probe.zip",
                  "Content-Length": String(size),
                },
              },
              [channel.port2, stream as unknown as Transferable],
            );
            await accepted;
          },
          [id, chunk, GiB] as [string, number, number],
        );
        await navigate(page, `/__zip/${id}/probe.zip`);
      },
      GiB,
    );
    rows.push(
      `| a stream made in the page, transferred to zip-sw.js, downloaded (${chunk / 1024} KiB chunks) | ${mbps(GiB, got.seconds).toFixed(0)} |`,
    );
    await got.remove();
  }

  await registerWorker(page, "/probe-sw.js", "/__probe/");
  for (const [chunk, reuse] of [
    [64 * 1024, false],
    [MiB, false],
    [MiB, true],
  ] as const) {
    const got = await timedDownload(
      page,
      () => navigate(page, `/__probe/probe.zip?chunk=${chunk}&reuse=${reuse ? 1 : 0}`),
      GiB,
    );
    rows.push(
      `| a stream made in a Service Worker, downloaded (${chunk / 1024} KiB chunks${reuse ? ", one buffer reused" : ""}) | ${mbps(GiB, got.seconds).toFixed(0)} |`,
    );
    await got.remove();
  }
  return rows;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (bytes: number, s: number) => bytes / 1e6 / s;
const fmt = (xs: number[]) =>
  `${median(xs).toFixed(2)} s (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;

test("a folder of mixed sizes as one ZIP, against the same bytes as one file", async ({
  browser,
}) => {
  const work = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "ld-zip-bench-"));
  const children: ChildProcess[] = [];
  let context: BrowserContext | null = null;
  try {
    // The folder and the one file, written once.
    const files = plan(total);
    const bytes = files.reduce((n, [, size]) => n + size, 0);
    const noise = randomBytes(8 * MiB);
    let tag = 0;
    for (const [path, size] of files) {
      const full = join(work, "src", "Bench", path);
      mkdirSync(join(full, ".."), { recursive: true });
      writeNoise(full, size, noise, tag++);
    }
    writeNoise(join(work, "src", "one.bin"), bytes, noise, tag++);

    // The web app as built; with the ceilings, a linked copy that also
    // holds the probe worker (the build's own output is left alone).
    const ceilings = process.env.BENCH_ZIP_CEILINGS === "1";
    let web = webDir;
    if (ceilings) {
      web = join(work, "web");
      execFileSync("cp", ["-al", webDir, web]);
      writeFileSync(join(web, "probe-sw.js"), PROBE_SW);
    }

    // livedrop and nginx, on CPU 0.
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = spawn(
      "taskset",
      [
        "-c",
        "0",
        bin,
        "serve",
        "--listen",
        `127.0.0.1:${port}`,
        "--data-dir",
        join(work, "data"),
        "--web-dir",
        web,
        "--quota",
        "1TiB",
      ],
      { stdio: "ignore" },
    );
    children.push(server);
    await waitFor(`${base}/api/health`, "livedrop serve");
    const ngPort = await freePort();
    const ng = join(work, "nginx");
    mkdirSync(join(ng, "www"), { recursive: true });
    linkSync(join(work, "src", "one.bin"), join(ng, "www", "one.bin"));
    writeFileSync(join(ng, "www", "ping"), "ok");
    writeFileSync(
      join(ng, "nginx.conf"),
      `daemon off; master_process off; worker_processes 1; pid ${ng}/nginx.pid;
error_log ${ng}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off; sendfile on; tcp_nopush on;
  client_body_temp_path ${ng}/body; proxy_temp_path ${ng}/proxy; fastcgi_temp_path ${ng}/fastcgi;
  uwsgi_temp_path ${ng}/uwsgi; scgi_temp_path ${ng}/scgi;
  default_type application/octet-stream;
  server { listen 127.0.0.1:${ngPort}; root ${ng}/www; }
}
`,
    );
    const nginx = spawn(
      "taskset",
      ["-c", "0", "nginx", "-e", join(ng, "error.log"), "-p", ng, "-c", join(ng, "nginx.conf")],
      { stdio: "ignore" },
    );
    children.push(nginx);
    await waitFor(`http://127.0.0.1:${ngPort}/ping`, "nginx");

    // The CLI uploads both, as someone would.
    const env = { ...process.env, LIVEDROP_CONFIG_DIR: join(work, "cli"), LIVEDROP_SERVER: base };
    execFileSync(bin, ["signup", "--email", EMAIL, "--password-stdin", "-q"], {
      env,
      input: `${PASSWORD}\n`,
    });
    const t0 = performance.now();
    execFileSync(bin, ["put", "-r", "-q", join(work, "src", "Bench")], { env });
    execFileSync(bin, ["put", "-q", join(work, "src", "one.bin")], { env });
    const uploadSeconds = (performance.now() - t0) / 1000;
    const top = JSON.parse(String(execFileSync(bin, ["ls", "--json"], { env })));
    const one = top.files.find((f: { name: string }) => f.name === "one.bin").id as string;

    context = await browser.newContext({ baseURL: base, acceptDownloads: true });
    const signin = await context.request.post("/api/auth/signin", {
      data: { email: EMAIL, password: PASSWORD },
    });
    expect(signin.status()).toBe(200);
    const csrf = (await signin.json()).csrf_token as string;
    const page = await context.newPage();
    await page.goto("/files/");
    await expect(page.getByRole("link", { name: "Bench", exact: true })).toBeVisible();

    const limits = ceilings ? await measureCeilings(page, context, base, one, csrf) : [];
    const idle = rssKiB(server.pid!);
    const times = { nginx: [] as number[], single: [] as number[], zip: [] as number[] };
    let peakZip = 0;
    let peakSingle = 0;
    let zipSize = 0;
    for (let rep = 0; rep < repeats; rep++) {
      const fromNginx = await timedDownload(
        page,
        () => clickLink(page, `http://127.0.0.1:${ngPort}/one.bin`),
        bytes,
      );
      times.nginx.push(fromNginx.seconds);
      await fromNginx.remove();

      const [single, singlePeak] = await withPeakRss(server.pid!, async () => {
        const signed = await context!.request.post(`/api/files/${one}/download`, {
          headers: { "X-CSRF-Token": csrf },
          data: {},
        });
        const url = new URL((await signed.json()).url as string, base).toString();
        return timedDownload(page, () => clickLink(page, url), bytes);
      });
      times.single.push(single.seconds);
      peakSingle = Math.max(peakSingle, singlePeak);
      await single.remove();

      const [zip, zipPeak] = await withPeakRss(server.pid!, () =>
        timedDownload(
          page,
          async () => {
            await page.getByRole("button", { name: "More actions for Bench", exact: true }).click();
            await page.getByRole("menuitem", { name: "Download as ZIP" }).click();
          },
          bytes,
        ),
      );
      times.zip.push(zip.seconds);
      peakZip = Math.max(peakZip, zipPeak);
      zipSize = zip.saved;
      if (rep === 0) {
        // Valid for Info-ZIP and for Python, ZIP64 and all.
        execFileSync("unzip", ["-tqq", zip.path]);
        const names = execFileSync("python3", [
          "-c",
          "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(len(z.infolist()))",
          zip.path,
        ]);
        expect(Number(String(names).trim())).toBeGreaterThanOrEqual(files.length);
      }
      await zip.remove();
      // The panel from this download goes before the next.
      const dismiss = page.getByRole("button", { name: "Dismiss the ZIP download of Bench" });
      if (await dismiss.isVisible()) await dismiss.click();
    }

    const gib = (bytes / GiB).toFixed(bytes % GiB ? 2 : 0);
    const zipMbps = mbps(bytes, median(times.zip));
    const rows = [
      `| nginx: one ${gib} GiB file | ${fmt(times.nginx)} | ${mbps(bytes, median(times.nginx)).toFixed(0)} | |`,
      `| livedrop: the same bytes as one file (signed URL) | ${fmt(times.single)} | ${mbps(bytes, median(times.single)).toFixed(0)} | |`,
      `| livedrop: a folder of ${files.length.toLocaleString("en")} files, ${gib} GiB, as one ZIP (${(zipSize / GiB).toFixed(2)} GiB archive) | ${fmt(times.zip)} | ${zipMbps.toFixed(0)} | ${(median(times.nginx) / median(times.zip)).toFixed(2)}× nginx's one file, ${(median(times.single) / median(times.zip)).toFixed(2)}× livedrop's one file (target ≥ 0.8×) |`,
    ];
    const mem =
      `Server RSS: idle ${(idle / 1024).toFixed(1)} MiB; peak ${(peakZip / 1024).toFixed(1)} MiB while the ZIPs ran ` +
      `(+${((peakZip - idle) / 1024).toFixed(1)} MiB), ${(peakSingle / 1024).toFixed(1)} MiB during the one-file downloads. ` +
      `Upload of both by the CLI (put -r, put): ${uploadSeconds.toFixed(1)} s.`;
    const text = [
      `Chromium ${browser.version()}, ${repeats} runs each, median (min–max); bytes/time in MB/s.`,
      "",
      "| case | time | MB/s | ratio |",
      "|---|---|---|---|",
      ...rows,
      "",
      mem,
      "",
      ...(limits.length
        ? [
            "What bounds it, each part alone on 1 GiB:",
            "",
            "| part | MB/s |",
            "|---|---|",
            ...limits,
            "",
          ]
        : []),
    ].join("\n");
    console.log(text);
    if (process.env.BENCH_ZIP_OUT) writeFileSync(process.env.BENCH_ZIP_OUT, text);
  } finally {
    await context?.close();
    for (const c of children) c.kill("SIGTERM");
    rmSync(work, { recursive: true, force: true });
  }
});
