// "Download as ZIP" against `livedrop serve`: a folder tree (nested folders,
// UTF-8 names, an empty folder, a file of a few MB) is uploaded, the folder
// menu's "Download as ZIP" streams the archive through the Service Worker
// (web/public/zip-sw.js) into Chromium's download manager, and the file it
// saved is checked by Info-ZIP's `unzip -t` and Python's zipfile. So is a
// ZIP of some rows selected in a folder (POST /api/archive), on a computer
// and on a phone.

import AxeBuilder from "@axe-core/playwright";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { expect, newUser, shot, test } from "./helpers";
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

test("download two files and a folder selected in a folder as one ZIP, nothing else", async ({
  browser,
}) => {
  const { page } = await newUser(browser, "alice");
  // (Trees share one folder per worker: a name no other spec uses.)
  const root = "Summer selection";
  const files: Record<string, Buffer> = {
    "café ☕.txt": Buffer.from("crème brûlée\n"),
    "photo.bin": randomBytes(1024 * 1024 + 5),
    "left out.txt": Buffer.from("not selected\n"),
    "day 1/b.txt": Buffer.from("bravo\n"),
    "day 1/night/c.txt": Buffer.from("charlie\n"),
  };
  await page.getByTestId("folder-input").setInputFiles(makeTree(root, files));
  await expect(page.getByTestId("batch-status")).toHaveText(/Uploaded 5 files/, {
    timeout: 60_000,
  });
  await link(page, root).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(root);

  await page.getByRole("checkbox", { name: "Select café ☕.txt" }).check();
  await page.getByRole("checkbox", { name: "Select photo.bin" }).check();
  await page.getByRole("checkbox", { name: "Select day 1" }).check();
  const selection = page.getByRole("group", { name: "Selection" });
  await expect(selection).toContainText("3 selected");
  await shot(page, "41-selection");
  const downloading = page.waitForEvent("download", { timeout: 30_000 });
  await selection.getByRole("button", { name: "Download as ZIP" }).click();
  const download = await downloading;
  // Named after the folder the items are in, streamed as a folder's ZIP is.
  expect(download.suggestedFilename()).toBe(`${root}.zip`);
  expect(download.url()).toMatch(/\/__zip\/[0-9a-f]{32}\//);
  const saved = join(work, "selection.zip");
  await download.saveAs(saved);
  expect(await download.failure()).toBeNull();
  const panel = page.getByRole("region", { name: "ZIP downloads" });
  await expect(panel.getByRole("status")).toHaveText(/^Done: 4 files, /);

  // The selected files, then the folder with its tree; every byte as uploaded.
  const inZip = ["café ☕.txt", "photo.bin", "day 1/b.txt", "day 1/night/c.txt"];
  checkZip(
    saved,
    [
      `${root}/`,
      `${root}/café ☕.txt`,
      `${root}/photo.bin`,
      `${root}/day 1/`,
      `${root}/day 1/b.txt`,
      `${root}/day 1/night/`,
      `${root}/day 1/night/c.txt`,
    ],
    Object.fromEntries(inZip.map((k) => [`${root}/${k}`, files[k]!])),
  );
  const listed = execFileSync("unzip", ["-Z1", saved]).toString().split("\n");
  expect(listed).not.toContain(`${root}/left out.txt`);

  // Another folder shown: nothing is selected there, nor back here.
  await link(page, "day 1").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("day 1");
  await expect(page.getByRole("checkbox", { name: "Select b.txt" })).not.toBeChecked();
  await expect(selection).toHaveCount(0);
  await page.goBack();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(root);
  await expect(page.getByRole("checkbox", { name: "Select photo.bin" })).not.toBeChecked();
  await expect(selection).toHaveCount(0);
});

test("selecting on a 375-pixel phone: Select all in words, the bar fits, no axe problems", async ({
  browser,
}) => {
  const { page, context } = await newUser(browser, "phoebe-zip", {
    viewport: { width: 375, height: 740 },
    isMobile: true,
    hasTouch: true,
  });
  const tree = makeTree("Phone photos", {
    "IMG_20260704_101112-a-long-name-from-a-phone-camera.jpg": Buffer.from("one"),
    "IMG_20260704_101113.jpg": Buffer.from("two"),
    "Screenshots/s1.png": Buffer.from("three"),
  });
  await page.getByTestId("folder-input").setInputFiles(tree);
  await expect(page.getByTestId("batch-status")).toHaveText(/Uploaded 3 files/, {
    timeout: 60_000,
  });
  await link(page, "Phone photos").click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Phone photos");

  const all = page.getByRole("checkbox", { name: "Select all" });
  await expect(all).toBeVisible();
  await expect(page.getByText("Select all", { exact: true })).toBeVisible();
  await page.getByRole("checkbox", { name: "Select IMG_20260704_101113.jpg" }).tap();
  const selection = page.getByRole("group", { name: "Selection" });
  await expect(selection).toContainText("1 selected");
  // Some, not all: neither ticked nor not.
  expect(await all.evaluate((e) => (e as HTMLInputElement).indeterminate)).toBe(true);
  await all.tap();
  await expect(selection).toContainText("3 selected");
  for (const name of ["Download as ZIP", "Clear selection"]) {
    const box = (await selection.getByRole("button", { name }).boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(375);
  }
  expect(
    await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    ),
  ).toBe(0);
  await shot(page, "40-phone-selection");
  const problems = (
    await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze()
  ).violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(problems, problems.join("\n")).toEqual([]);

  await selection.getByRole("button", { name: "Clear selection" }).tap();
  await expect(selection).toHaveCount(0);
  await expect(all).toBeFocused();
  await context.close();
});
