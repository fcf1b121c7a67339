// "Download as ZIP" against `livedrop serve`: a folder tree (nested folders,
// UTF-8 names, an empty folder, a file of a few MB) is uploaded, the folder
// menu's "Download as ZIP" streams the archive through the Service Worker
// (web/public/zip-sw.js) into Chromium's download manager, and the file it
// saved is checked by Info-ZIP's `unzip -t` and Python's zipfile.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { expect, newUser, test } from "./helpers";
import { checkZip, makeTree, work } from "./zip-check";

async function newFolder(page: Page, name: string) {
  await page.getByRole("button", { name: "New folder" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill(name);
  await dialog.getByRole("button", { name: "Create" }).click();
  await expect(dialog).toBeHidden();
}

const link = (page: Page, name: string) => page.getByRole("link", { name, exact: true });

test("download a folder as one ZIP, streamed through the Service Worker", async ({ browser }) => {
  const { page } = await newUser(browser, "zoe");
  const root = "Voyage été";
  const big = randomBytes(3 * 1024 * 1024 + 17);
  const files: Record<string, Buffer> = {
    "a.txt": Buffer.from("alpha\n"),
    "café ☕.txt": Buffer.from("crème brûlée\n"),
    "day 1/b.txt": Buffer.from("bravo\n"),
    "day 1/night/c.bin": big,
    "day 2/d.txt": Buffer.from(""),
  };
  const tree = makeTree(root, files);
  await page.getByTestId("folder-input").setInputFiles(tree);
  await expect(page.getByTestId("batch-status")).toHaveText(/Uploaded 5 files/, {
    timeout: 60_000,
  });

  // An empty folder inside it.
  await link(page, root).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(root);
  await newFolder(page, "empty");
  await expect(link(page, "empty")).toBeVisible();

  // The folder's own menu: Download as ZIP.
  const downloading = page.waitForEvent("download", { timeout: 30_000 });
  await page.getByRole("button", { name: `More actions for ${root}`, exact: true }).click();
  await page.getByRole("menuitem", { name: "Download as ZIP" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(`${root}.zip`);
  expect(download.url()).toMatch(/\/__zip\/[0-9a-f]{32}\//);
  const saved = join(work, "saved.zip");
  await download.saveAs(saved);
  expect(await download.failure()).toBeNull();

  // The panel says it is done, with the right count and size.
  const panel = page.getByRole("region", { name: "ZIP downloads" });
  await expect(panel.getByRole("status")).toHaveText(/^Done: 5 files, /);

  const names = [
    `${root}/`,
    `${root}/a.txt`,
    `${root}/café ☕.txt`,
    `${root}/day 1/`,
    `${root}/day 1/b.txt`,
    `${root}/day 1/night/`,
    `${root}/day 1/night/c.bin`,
    `${root}/day 2/`,
    `${root}/day 2/d.txt`,
    `${root}/empty/`,
  ];
  checkZip(
    saved,
    names,
    Object.fromEntries(Object.entries(files).map(([k, v]) => [`${root}/${k}`, v])),
  );
  // The saved file is exactly as long as the archive announced.
  expect(readFileSync(saved).length).toBeGreaterThan(big.length);

  // Dismissed when done.
  await panel.getByRole("button", { name: `Dismiss the ZIP download of ${root}` }).click();
  await expect(panel).toBeHidden();
});

test("cancelling a ZIP download ends the browser's download too", async ({ browser }) => {
  const { page } = await newUser(browser, "zack");
  const tree = makeTree("Held", {
    "one.txt": Buffer.from("one\n"),
    "two.txt": Buffer.from("two\n"),
  });
  await page.getByTestId("folder-input").setInputFiles(tree);
  await expect(page.getByTestId("batch-status")).toHaveText(/Uploaded 2 files/, {
    timeout: 60_000,
  });
  // Every file's bytes are held back: the archive stops after its first header.
  const held: { abort: () => Promise<void> }[] = [];
  await page.route("**/blob/**", (route) => {
    held.push(route);
  });
  const downloading = page.waitForEvent("download", { timeout: 30_000 });
  await page.getByRole("button", { name: "More actions for Held", exact: true }).click();
  await page.getByRole("menuitem", { name: "Download as ZIP" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe("Held.zip");
  const panel = page.getByRole("region", { name: "ZIP downloads" });
  await expect(panel.getByTestId("zip-status")).toHaveText(/ of /);
  await panel.getByRole("button", { name: "Cancel the ZIP download of Held" }).click();
  await expect(panel.getByRole("status")).toHaveText("The ZIP download was cancelled.");
  // The browser's download failed: no short file that looks whole.
  expect(await download.failure()).not.toBeNull();
  await Promise.all(held.map((r) => r.abort().catch(() => {})));
});
