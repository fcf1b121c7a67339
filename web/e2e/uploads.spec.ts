import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { email, makeFile, newUser, shot, signUp, upload, expect, test } from "./helpers";

const MiB = 1024 * 1024;

function bytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 2463534242;
  for (let i = 0; i < n; i += 4) {
    // xorshift: incompressible, deterministic
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}

test("a large upload survives a cut network and a reload, and resumes", async ({ browser }) => {
  const { page, context } = await newUser(browser, "uma");
  const body = bytes(20 * MiB);
  const path = makeFile("big-video.bin", body);

  // Let the first 8 MiB chunk through, then cut the network for the session.
  let chunks = 0;
  let cut = true;
  await page.route("**/blob/sessions/**", async (route) => {
    const range = route.request().headers()["content-range"] ?? "";
    if (route.request().method() === "PUT" && /^bytes \d+-\d+\//.test(range)) {
      chunks++;
      if (chunks >= 2 && cut) return route.abort("internetdisconnected");
    }
    return route.continue();
  });

  await upload(page, path);
  const status = page.getByTestId("upload-status");
  await expect(status).toContainText("Connection lost", { timeout: 30_000 });
  await shot(page, "06-upload-connection-lost");

  // A reload while the network is still down: the session is remembered.
  // (The page asks before leaving a running upload: say yes.)
  page.on("dialog", (dialog) => void dialog.accept());
  await page.reload();
  await expect(page.getByText("Unfinished uploads.")).toBeVisible();
  await expect(page.getByText("big-video.bin (21 MB)")).toBeVisible();
  // My files shows it too, as an upload in progress, with how far it got.
  await expect(page.getByRole("progressbar", { name: "Uploading big-video.bin" })).toBeVisible();
  await shot(page, "07-upload-unfinished-after-reload");

  // The network is back; the user picks the same file again.
  cut = false;
  await upload(page, path);
  await expect(status).toContainText(/Uploaded · 21 MB · continued from 8.4 MB/, {
    timeout: 60_000,
  });
  await expect(page.getByText("Unfinished uploads.")).toHaveCount(0);
  const row = page.locator("tr", { has: page.getByRole("link", { name: "big-video.bin" }) });
  await expect(row).toContainText("21 MB");

  // The stored bytes are the original bytes.
  const downloadPromise = page.waitForEvent("download");
  await row.getByRole("button", { name: "Download big-video.bin" }).click();
  const saved = await (await downloadPromise).path();
  const digest = (b: Buffer) => createHash("sha256").update(b).digest("hex");
  expect(digest(readFileSync(saved))).toBe(digest(body));
  await context.close();
});

test("unfinished uploads are the uploader's, and forgotten at sign-out", async ({ browser }) => {
  const { page, context } = await newUser(browser, "ursula");
  const path = makeFile("ursula-video.bin", bytes(20 * MiB));
  // The first chunk goes through, then the network is cut: a session to resume.
  let chunks = 0;
  await page.route("**/blob/sessions/**", async (route) => {
    const range = route.request().headers()["content-range"] ?? "";
    if (route.request().method() === "PUT" && /^bytes \d+-\d+\//.test(range)) {
      if (++chunks >= 2) return route.abort("internetdisconnected");
    }
    return route.continue();
  });
  await upload(page, path);
  await expect(page.getByTestId("upload-status")).toContainText("Connection lost", {
    timeout: 30_000,
  });
  page.on("dialog", (dialog) => void dialog.accept());
  await page.reload();
  await expect(page.getByText("Unfinished uploads.")).toBeVisible();
  const kept = () =>
    page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("livedrop.uploads")));
  expect(await kept()).toHaveLength(1);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin\/$/);
  expect(await kept()).toEqual([]);

  // Someone else on the same browser sees none of it.
  await signUp(page, email("victor"));
  await expect(page.getByText("Unfinished uploads.")).toHaveCount(0);
  await expect(page.getByText("ursula-video.bin")).toHaveCount(0);
  await context.close();
});

test("uploads can be paused, resumed and canceled", async ({ browser }) => {
  const { page, context } = await newUser(browser, "pete");
  const path = makeFile("pausable.bin", bytes(18 * MiB));
  // Slow the chunks down so there is time to press the buttons.
  await page.route("**/blob/sessions/**", async (route) => {
    await new Promise((r) => setTimeout(r, 800));
    return route.continue();
  });
  await upload(page, path);
  const item = page.locator(".upload", { hasText: "pausable.bin" });
  await item.getByRole("button", { name: "Pause pausable.bin" }).click();
  await expect(item.getByTestId("upload-status")).toContainText("Paused at");
  await item.getByRole("button", { name: "Resume pausable.bin" }).click();
  await expect(item.getByTestId("upload-status")).toContainText(/Uploaded/, { timeout: 60_000 });

  const second = makeFile("cancel-me.bin", bytes(12 * MiB));
  await upload(page, second);
  const other = page.locator(".upload", { hasText: "cancel-me.bin" });
  await other.getByRole("button", { name: "Cancel cancel-me.bin" }).click();
  await expect(other.getByTestId("upload-status")).toHaveText("Canceled");
  await expect(page.getByRole("link", { name: "cancel-me.bin" })).toHaveCount(0);
  await context.close();
});

test("a file over the size limit is refused before any byte is sent", async ({ browser }) => {
  const { page, context } = await newUser(browser, "zed");
  // The server's limit comes from /api/config; pretend it is tiny for this page.
  await page.route("**/api/me", async (route) => {
    const res = await route.fetch();
    const json = await res.json();
    await route.fulfill({ response: res, json: { ...json, max_file_size: 10 } });
  });
  await page.reload();
  await upload(page, makeFile("too-big.txt", "more than ten bytes"));
  await expect(page.getByTestId("upload-status")).toHaveText(
    "Too large: the limit is 10 B per file.",
  );
  await context.close();
});

test("going over the quota gives the server's clear message", async ({ browser }) => {
  const { page, context } = await newUser(browser, "quinn");
  // The e2e server runs with --quota 60MiB.
  await upload(page, makeFile("too-much.bin", Buffer.alloc(61 * MiB, 1)));
  const status = page.getByTestId("upload-status");
  await expect(status).toContainText(/Not enough storage: this file needs 64 MB/, {
    timeout: 30_000,
  });
  await expect(page.locator(".upload").getByRole("button", { name: /Retry/ })).toBeVisible();
  await shot(page, "20-quota-error");
  await context.close();
});

test("files dropped on the zone or anywhere on the page are uploaded", async ({ browser }) => {
  const { page, context } = await newUser(browser, "drew");
  const drop = async (selector: string, name: string) => {
    const dataTransfer = await page.evaluateHandle((n) => {
      const dt = new DataTransfer();
      dt.items.add(new File([`dropped ${n}`], n, { type: "text/plain" }));
      return dt;
    }, name);
    await page.dispatchEvent(selector, "dragover", { dataTransfer });
    await page.dispatchEvent(selector, "drop", { dataTransfer });
  };
  await drop("[data-testid=dropzone]", "on-zone.txt");
  await drop("main h1", "on-page.txt");
  await expect(page.getByRole("link", { name: "on-zone.txt" })).toBeVisible();
  await expect(page.getByRole("link", { name: "on-page.txt" })).toBeVisible();
  await expect(page.locator(".upload")).toHaveCount(2);
  await expect(page.getByTestId("upload-status")).toHaveText([/Uploaded/, /Uploaded/]);
  await page.getByRole("button", { name: "Clear finished" }).click();
  await expect(page.locator(".upload")).toHaveCount(0);
  await context.close();
});
