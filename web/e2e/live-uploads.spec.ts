// Issue 12, "Folders and multi-file shares, live": Alice drops a tree of 200
// files (one of them 24 MiB, on a throttled upload) into a folder she shares
// with Bob; Bob, watching it, sees the large file's row while it uploads,
// its progress going up, then the row turn ready; every file arrives in its
// folder. He previews one, and downloads the whole folder as one ZIP, which
// holds every byte of every file.

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { expect, newUser, proveAddress, test } from "./helpers";
import { checkZip, makeTree, work } from "./zip-check";

const link = (page: Page, name: string) => page.getByRole("link", { name, exact: true });
const heading = (page: Page) => page.getByRole("heading", { level: 1 });
/** The table's count: "2 folders, 10 files" (uploads in progress apart). */
const count = (page: Page) => page.locator(".toolbar .muted");

/**
 * The tree Alice drops: "Album" with big.bin (24 MiB), a text file to
 * preview, and small files of varied sizes in nested folders, 200 in all.
 */
function album(): { files: Record<string, Buffer>; perFolder: Record<string, number> } {
  const files: Record<string, Buffer> = {
    "big.bin": randomBytes(24 * 1024 * 1024),
    "readme.txt": Buffer.from("Trip notes\nday 1: the coast\n"),
  };
  const perFolder: Record<string, number> = {
    "": 10,
    a: 60,
    "a/deep": 40,
    b: 50,
    "b/c/d": 40,
  };
  let n = 0;
  for (const [dir, total] of Object.entries(perFolder)) {
    const have = dir === "" ? 2 : 0;
    for (let i = have; i < total; i++) {
      // 0 B to about 20 kB: empty files, tiny ones, a few pages.
      const size = (n * 7919) % 20011;
      const name = `f${String(n++).padStart(3, "0")}.bin`;
      files[dir ? `${dir}/${name}` : name] = randomBytes(size);
    }
  }
  expect(Object.keys(files)).toHaveLength(200);
  return { files, perFolder };
}

/** What a ZIP of `root` holds, in its order: each folder's files by name, then its folders. */
function zipNames(root: string, paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    out.push(`${dir}/`);
    const below = paths.filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1));
    const files = below.filter((p) => !p.includes("/")).sort();
    const dirs = [...new Set(below.filter((p) => p.includes("/")).map((p) => p.split("/")[0]!))];
    for (const f of files) out.push(`${dir}/${f}`);
    for (const d of dirs.sort()) walk(`${dir}/${d}`);
  };
  walk(root);
  return out;
}

test("a tree uploaded into a shared folder: the recipient watches it arrive, previews, and zips it", async ({
  browser,
}) => {
  test.setTimeout(150_000);
  const alice = await newUser(browser, "alice");
  const bob = await newUser(browser, "bob");
  await proveAddress(alice, bob);
  const a = alice.page;
  const b = bob.page;

  // Alice's folder "Trip", shared with Bob.
  await a.getByRole("button", { name: "New folder" }).click();
  let dialog = a.getByRole("dialog");
  await dialog.getByLabel("Name").fill("Trip");
  await dialog.getByRole("button", { name: "Create" }).click();
  await expect(dialog).toBeHidden();
  await a.getByRole("button", { name: "More actions for Trip", exact: true }).click();
  await a.getByRole("menuitem", { name: "Share" }).click();
  dialog = a.getByRole("dialog");
  await dialog.getByLabel("E-mail address").fill(bob.email);
  await dialog.getByRole("button", { name: "Share", exact: true }).click();
  await expect(dialog.getByText(`Shared with ${bob.email}`)).toBeVisible();
  await a.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await link(a, "Trip").click();
  await expect(heading(a)).toHaveText("Trip");

  // Bob opens it from "Shared with me": /shared/?folder=<Trip>.
  await b.getByRole("link", { name: "Shared with me" }).first().click();
  await link(b, "Trip").click();
  await expect(b).toHaveURL(/\/shared\/\?folder=[\w-]+$/);
  await expect(heading(b)).toHaveText("Trip");
  await expect(b.getByText("This folder is empty.")).toBeVisible();

  // Alice's uploads go at 4 MiB/s: the large file takes several seconds.
  const cdp = await alice.context.newCDPSession(a);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: 4 * 1024 * 1024,
  });
  const { files, perFolder } = album();
  const tree = makeTree("Album", files);
  const started = Date.now();
  await a.getByTestId("folder-input").setInputFiles(tree);

  // Bob sees the folder arrive, goes in, and watches the large file's row.
  await link(b, "Album").click();
  await expect(heading(b)).toHaveText("Album");
  const bar = b.getByRole("progressbar", { name: "Uploading big.bin" });
  await expect(bar).toBeVisible({ timeout: 30_000 });
  const row = b.locator("tr", { has: bar });
  await expect(row.getByTestId("pending-status")).toHaveText(
    /^Uploading \d+% · [\d.]+ (B|kB|MB) of 25 MB/,
  );
  // Nothing to do with it yet: no link to open it, no download.
  await expect(row.getByRole("link")).toHaveCount(0);
  await expect(row.getByRole("button")).toHaveCount(0);
  const values: number[] = [];
  for (;;) {
    const v = await bar.getAttribute("aria-valuenow", { timeout: 500 }).catch(() => null);
    if (v === null) break;
    if (Number(v) !== values.at(-1)) values.push(Number(v));
    await b.waitForTimeout(150);
  }
  console.log(`big.bin as Bob saw it: ${values.join("% → ")}%`);
  // It went up while he watched, never down, then the row turned ready.
  expect(values.length).toBeGreaterThanOrEqual(2);
  expect(values.some((v) => v > 0 && v < 100)).toBe(true);
  expect([...values].sort((x, y) => x - y)).toEqual(values);
  const big = link(b, "big.bin");
  await expect(big).toBeVisible();
  await expect(b.locator("tr", { has: big }).getByRole("progressbar")).toHaveCount(0);
  await expect(b.getByRole("button", { name: "Download big.bin", exact: true })).toBeVisible();

  // Every file arrives, each in its folder.
  await expect(a.getByTestId("batch-status")).toHaveText(/Uploaded 200 files/, {
    timeout: 90_000,
  });
  console.log(`200 files uploaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });
  await expect(count(b)).toHaveText(`2 folders, ${perFolder[""]} files`);
  await expect(b.locator("tr[data-status=pending]")).toHaveCount(0);
  await link(b, "a").click();
  await expect(count(b)).toHaveText(`1 folder, ${perFolder.a} files`);
  await link(b, "deep").click();
  await expect(count(b)).toHaveText(`${perFolder["a/deep"]} files`);
  await b.goBack();
  await b.goBack();
  await expect(heading(b)).toHaveText("Album");
  await link(b, "b").click();
  await expect(count(b)).toHaveText(`1 folder, ${perFolder.b} files`);
  await link(b, "c").click();
  await expect(count(b)).toHaveText("1 folder, 0 files");
  await link(b, "d").click();
  await expect(count(b)).toHaveText(`${perFolder["b/c/d"]} files`);

  // Bob previews one.
  await b.goBack();
  await b.goBack();
  await b.goBack();
  await expect(heading(b)).toHaveText("Album");
  await link(b, "readme.txt").click();
  await expect(b.getByTestId("file-title")).toHaveText("readme.txt");
  await expect(b.locator(".preview pre")).toContainText("day 1: the coast");
  await b.goBack();
  await expect(heading(b)).toHaveText("Album");

  // Then downloads all of Trip as one ZIP: every byte of every file.
  await b.getByRole("link", { name: "Trip", exact: true }).first().click();
  await expect(heading(b)).toHaveText("Trip");
  const downloading = b.waitForEvent("download", { timeout: 30_000 });
  await b.getByRole("button", { name: "Download as ZIP" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe("Trip.zip");
  const saved = join(work, "trip.zip");
  await download.saveAs(saved);
  expect(await download.failure()).toBeNull();
  await expect(b.getByRole("region", { name: "ZIP downloads" }).getByRole("status")).toHaveText(
    /^Done: 200 files, /,
  );
  const inZip = Object.fromEntries(Object.entries(files).map(([k, v]) => [`Trip/Album/${k}`, v]));
  checkZip(saved, zipNames("Trip", Object.keys(inZip)), inZip);
  await alice.context.close();
  await bob.context.close();
});
