// Cloud mode, two people: sign-up through the Auth emulator, an upload to
// the storage emulator on a signed URL, a share that reaches the recipient
// through a Firestore listener, a download on a signed GET, a rename seen
// live, and the owner's activity, live too; then a resumable upload and a
// public link, whose page does without the Firebase SDK.
//
// Not here: "Continue with Google". Its popup needs Google's gapi script
// (https://apis.google.com/js/api.js), even against the Auth emulator, so it
// cannot run offline; the test only checks that the button is offered.

import { readFileSync } from "node:fs";
import type { Browser, Page } from "@playwright/test";
import { PASSWORD, email, makeFile, shot, upload, expect, test } from "../helpers";

async function cloudUser(browser: Browser, name: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const address = email(name);
  await page.goto("/signup/");
  // Cloud mode: sign-up is Firebase's, and Google is offered beside it.
  await expect(page.getByRole("button", { name: "Continue with Google" })).toBeVisible();
  await page.getByLabel("E-mail").fill(address);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/files\/$/);
  await expect(page.locator(".live")).toHaveText("Live");
  return { context, page, email: address };
}

/** Every request the page makes to the API carries the Firebase ID token, and no cookie. */
function watchApiAuth(page: Page) {
  const seen: { url: string; bearer: boolean; cookie: boolean }[] = [];
  page.on("request", (req) => {
    const url = new URL(req.url());
    if (!url.pathname.startsWith("/api/") || url.pathname === "/api/config") return;
    if (url.pathname.startsWith("/api/s/")) return;
    const h = req.headers();
    seen.push({
      url: url.pathname,
      bearer: /^Bearer [\w-]+\.[\w-]*\.[\w-]*$/.test(h.authorization ?? ""),
      cookie: "cookie" in h,
    });
  });
  return seen;
}

test("cloud: owner shares with a recipient, who sees it live, downloads it, and sees the rename", async ({
  browser,
}) => {
  const owner = await cloudUser(browser, "otto");
  const recipient = await cloudUser(browser, "rita");
  const o = owner.page;
  const r = recipient.page;
  const apiCalls = watchApiAuth(o);

  // The Firebase SDK is there (cloud mode), and there is no WebSocket feed.
  expect(await o.evaluate(() => document.cookie)).toBe("");

  // The owner uploads: bytes go to the storage emulator on a signed URL.
  // Binary, so that Chromium saves it rather than shows it: fake-gcs-server
  // ignores the signed `response-content-disposition` (real Cloud Storage
  // honours it), so a text file would open in the tab instead.
  const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
  const storage: string[] = [];
  o.on("request", (req) => {
    if (req.method() === "PUT" && req.url().includes("/files/")) storage.push(req.url());
  });
  await upload(o, makeFile("cloud-data.bin", body));
  await expect(o.getByTestId("upload-status")).toHaveText(/Uploaded/);
  const row = o.locator("tr", { has: o.getByRole("link", { name: "cloud-data.bin" }) });
  await expect(row).toBeVisible();
  expect(storage.length).toBeGreaterThan(0);
  expect(new URL(storage[0]!).port).not.toBe(new URL(o.url()).port);

  // The recipient watches "Shared with me".
  await r.getByRole("link", { name: "Shared with me" }).click();
  await expect(r.getByText("Nothing is shared with you yet")).toBeVisible();

  // Share: the recipient's Firestore listener brings it, without a reload.
  await row.getByRole("button", { name: "Share cloud-data.bin" }).click();
  const dialog = o.getByRole("dialog");
  await dialog.getByLabel("E-mail address").fill(recipient.email);
  const shared = r.getByRole("link", { name: "cloud-data.bin" });
  const sharedAt = Date.now();
  await dialog.getByRole("button", { name: "Share", exact: true }).click();
  await expect(shared).toBeVisible({ timeout: 5000 });
  console.log(`cloud share -> recipient's screen: ${Date.now() - sharedAt} ms`);
  await expect(dialog.getByText(`Shared with ${recipient.email}`)).toBeVisible();
  await o.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(r.locator("tr", { has: shared })).toContainText(owner.email);

  // The recipient downloads it from the storage emulator.
  const downloadPromise = r.waitForEvent("download");
  await r.getByRole("button", { name: "Download cloud-data.bin" }).click();
  const download = await downloadPromise;
  // (Named after the object, not the file: the emulator ignores the disposition.)
  expect(readFileSync((await download.path())!)).toEqual(body);

  // The owner's details page: the download arrives in the activity, live.
  await o.getByRole("link", { name: "cloud-data.bin" }).click();
  await expect(o.getByTestId("file-title")).toHaveText("cloud-data.bin");
  await expect(o.getByTestId("activity").locator("li").first()).toContainText(
    `${recipient.email} downloaded the file`,
    { timeout: 5000 },
  );

  // The owner renames it: the recipient's list shows the new name live.
  await o.getByRole("button", { name: "Rename" }).click();
  await o.getByLabel("New name").fill("cloud-data-v2.bin");
  await o.getByRole("button", { name: "Save" }).click();
  await expect(o.getByTestId("file-title")).toHaveText("cloud-data-v2.bin");
  await expect(r.getByRole("link", { name: "cloud-data-v2.bin" })).toBeVisible({ timeout: 5000 });
  await expect(r.getByRole("link", { name: "cloud-data.bin" })).toHaveCount(0);
  await shot(r, "cloud-01-recipient-renamed");

  // Activity page (all files, live from Firestore).
  await o.getByRole("link", { name: "Activity", exact: true }).click();
  await expect(o.getByTestId("all-activity").locator("li").first()).toContainText(
    "cloud-data-v2.bin",
  );
  await shot(o, "cloud-02-owner-activity");

  // Account: no API tokens in the cloud.
  await o.getByRole("link", { name: "Account" }).click();
  await expect(o.getByRole("heading", { name: "Command-line client" })).toBeVisible();
  await expect(o.getByLabel("Sign-in command")).toHaveValue(
    /^livedrop login --server http:\/\/127\.0\.0\.1:\d+ --email \S+@/,
  );
  await expect(o.getByRole("heading", { name: "API tokens" })).toHaveCount(0);

  // Every API call carried a Bearer ID token and no cookie.
  expect(apiCalls.length).toBeGreaterThan(3);
  expect(apiCalls.filter((c) => !c.bearer || c.cookie)).toEqual([]);

  // Signing out ends the session; signing in again finds the file.
  await o.getByRole("button", { name: /sign out/i }).click();
  await expect(o).toHaveURL(/\/signin\//);
  await expect(o.getByRole("button", { name: "Continue with Google" })).toBeVisible();
  await shot(o, "cloud-03-signin");
  await o.getByLabel("E-mail").fill(owner.email);
  await o.getByLabel("Password").fill("not the password");
  await o.getByRole("button", { name: "Sign in" }).click();
  await expect(o.locator("p.alert")).toHaveText("Wrong e-mail or password.");
  await o.getByLabel("Password").fill(PASSWORD);
  await o.getByRole("button", { name: "Sign in" }).click();
  await expect(o).toHaveURL(/\/files\/$/);
  await expect(o.getByRole("link", { name: "cloud-data-v2.bin" })).toBeVisible();

  await owner.context.close();
  await recipient.context.close();
});

test("cloud: a resumable upload to the storage emulator tracks its own bytes", async ({
  browser,
}) => {
  const owner = await cloudUser(browser, "rosa");
  const o = owner.page;
  // Past the 8 MiB resumable threshold: a signed POST starts the session
  // (its x-goog-resumable header needs the emulator's CORS flag), then 8 MiB
  // chunks whose 308 does not show Range to the page.
  const size = 9 * 1024 * 1024 + 123;
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) body[i] = (i / 4096) % 251;
  const chunks: string[] = [];
  o.on("request", (req) => {
    const range = req.headers()["content-range"];
    if (req.method() === "PUT" && range) chunks.push(range);
  });
  await upload(o, makeFile("big-cloud.bin", body));
  await expect(o.getByTestId("upload-status")).toHaveText(/Uploaded/, { timeout: 60_000 });
  await expect(o.getByRole("link", { name: "big-cloud.bin" })).toBeVisible();
  expect(chunks).toEqual([`bytes 0-8388607/${size}`, `bytes 8388608-${size - 1}/${size}`]);

  // A public link: its page works without the Firebase SDK, which it never loads.
  await o.getByRole("button", { name: "Share big-cloud.bin" }).click();
  const dialog = o.getByRole("dialog");
  await dialog.getByRole("button", { name: "Create link" }).click();
  const url = await dialog.getByLabel(/New link/).inputValue();
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{20,}$/);
  const anon = await browser.newContext();
  const p = await anon.newPage();
  const scripts: Promise<string>[] = [];
  p.on("response", (res) => {
    if (res.url().endsWith(".js")) scripts.push(res.text().catch(() => ""));
  });
  await p.goto(url);
  await expect(p.getByTestId("link-name")).toHaveText("big-cloud.bin");
  const downloadPromise = p.waitForEvent("download");
  await p.getByRole("button", { name: "Download" }).click();
  const download = await downloadPromise;
  expect(readFileSync((await download.path())!).equals(body)).toBe(true);
  const loaded = await Promise.all(scripts);
  expect(loaded.length).toBeGreaterThan(3);
  expect(loaded.filter((js) => js.includes("identitytoolkit"))).toEqual([]);
  await shot(p, "cloud-04-public-link");
  await anon.close();
  await owner.context.close();
});

test("cloud: signing out in one tab sends the other tab to sign-in", async ({ browser }) => {
  const { context, page } = await cloudUser(browser, "tabs");
  // A second tab of the same browser shares the Firebase session.
  const other = await context.newPage();
  await other.goto("/shared/");
  await expect(other.locator(".live")).toHaveText("Live");
  await page.getByRole("button", { name: /sign out/i }).click();
  await expect(page).toHaveURL(/\/signin\//);
  // Its listeners are refused from then on; after a few tries it checks the
  // session, finds none, and goes to sign-in.
  await expect(other).toHaveURL(/\/signin\//, { timeout: 30_000 });
  await context.close();
});
