// A folder's public link against `livedrop serve`: the owner uploads a tree
// and makes a link to it in the share dialog (a password; then one with a
// download limit of 1); someone who is not signed in opens it on a phone
// (375×740): the password, browsing in and back (the place kept in the
// address's hash), a preview, one file downloaded byte for byte, and the
// whole folder as one ZIP (streamed through the Service Worker), checked by
// `unzip -t` and Python's zipfile; the owner's activity tells of the ZIP.

import AxeBuilder from "@axe-core/playwright";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { gradientPng, newUser, shot, expect, test } from "./helpers";
import { checkZip, makeTree, work } from "./zip-check";

const PHONE = { viewport: { width: 375, height: 740 } };

const heading = (page: Page) => page.getByRole("heading", { level: 1 });
const crumbs = (page: Page) => page.getByRole("navigation", { name: "Breadcrumbs" });
const link = (page: Page, name: string) => page.getByRole("link", { name, exact: true });

/** Uploads a tree as a folder of the owner's, and waits until every file is in. */
async function uploadTree(page: Page, root: string, files: Record<string, Buffer>) {
  await page.getByTestId("folder-input").setInputFiles(makeTree(root, files));
  const n = Object.keys(files).length;
  await expect(page.getByTestId("batch-status")).toHaveText(new RegExp(`Uploaded ${n} files`), {
    timeout: 60_000,
  });
  await expect(link(page, root)).toBeVisible();
}

/** The folder row's menu, Share, a link made with these options: its address. */
async function folderLink(
  page: Page,
  root: string,
  options: { password?: string; limit?: number },
): Promise<string> {
  await page.getByRole("button", { name: `More actions for ${root}`, exact: true }).click();
  await page.getByRole("menuitem", { name: "Share" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("heading", { name: "Public links" })).toBeVisible();
  if (options.password) await dialog.getByLabel("Password").fill(options.password);
  if (options.limit) await dialog.getByLabel("Download limit").fill(String(options.limit));
  await dialog.getByRole("button", { name: "Create link" }).click();
  const url = await dialog.getByLabel(/New link/).inputValue();
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{20,}$/);
  await expect(dialog.getByRole("img", { name: "QR code of the new link" })).toBeVisible();
  await expect(dialog.getByText(/can open the folder and download what is in it/)).toBeVisible();
  return url;
}

const overflow = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

async function axe(page: Page, what: string): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${what}: ${v.id} ${v.help} ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test("a folder's link with a password: browse, preview, one file, and all of it as ZIP, on a phone", async ({
  browser,
}) => {
  const owner = await newUser(browser, "alice");
  const o = owner.page;
  const root = "Trip été";
  const big = randomBytes(2 * 1024 * 1024 + 5);
  const files: Record<string, Buffer> = {
    "notes.txt": Buffer.from("Packing list: sun cream.\n"),
    "photo.png": gradientPng(),
    "day 1/b.txt": Buffer.from("bravo\n"),
    "day 1/night/c.bin": big,
    "day 1/night/café ☕.txt": Buffer.from("crème\n"),
  };
  await uploadTree(o, root, files);
  const url = await folderLink(o, root, { password: "open sesame" });
  await expect(o.getByRole("dialog").getByText(/password · 0 downloads/)).toBeVisible();
  await o.keyboard.press("Escape");

  // Someone who is not signed in, on a phone.
  const anon = await browser.newContext(PHONE);
  const p = await anon.newPage();
  await p.goto(url);
  await expect(heading(p)).toHaveText(root);
  await expect(p.getByText("Link expires in 7 days")).toBeVisible();
  const field = p.getByLabel("This folder is protected by a password");
  await field.fill("wrong guess");
  await field.press("Enter");
  await expect(p.getByText("Wrong password. Try again.")).toBeVisible();
  await shot(p, "folder-link-01-password");
  await field.fill("open sesame");
  await p.getByRole("button", { name: "Open" }).click();

  // The folder: its folder first, then its files, with sizes.
  const list = p.getByRole("list", { name: `In ${root}` });
  await expect(list.getByRole("listitem")).toHaveCount(3);
  await expect(list.getByRole("listitem").nth(0)).toContainText("day 1");
  await expect(list.getByRole("listitem").nth(1)).toContainText("notes.txt");
  await expect(list.getByRole("listitem").nth(1)).toContainText("25 B");
  await expect(p.getByRole("button", { name: "Preview photo.png" })).toBeVisible();
  expect(await overflow(p)).toBe(0);
  await shot(p, "folder-link-02-folder");
  const found = await axe(p, "folder link");

  // Into day 1, then night: the place is in the hash, breadcrumbs lead back.
  await link(p, "day 1").click();
  await expect(heading(p)).toHaveText("day 1");
  await expect(p).toHaveURL(/#folder=[\w-]+$/);
  await link(p, "night").click();
  await expect(heading(p)).toHaveText("night");
  await expect(crumbs(p)).toContainText(root);
  await expect(crumbs(p)).toContainText("day 1");
  await p.goBack();
  await expect(heading(p)).toHaveText("day 1");
  await expect(heading(p)).toBeFocused();

  // A reload keeps the place; the password is asked again (kept in memory only).
  await p.reload();
  await p.getByLabel("This folder is protected by a password").fill("open sesame");
  await p.getByRole("button", { name: "Open" }).click();
  await expect(heading(p)).toHaveText("day 1");

  // A preview, by keyboard.
  await p.getByRole("button", { name: "Preview b.txt" }).focus();
  await p.keyboard.press("Enter");
  await expect(p.locator(".preview pre")).toHaveText("bravo\n");
  expect(await overflow(p)).toBe(0);
  await shot(p, "folder-link-03-preview");
  await p.getByRole("button", { name: "Close the preview" }).click();

  // One file, two folders down: the same bytes.
  await link(p, "night").click();
  await expect(heading(p)).toHaveText("night");
  const one = p.waitForEvent("download");
  await p.getByRole("button", { name: "Download c.bin" }).click();
  const file = await one;
  expect(file.suggestedFilename()).toBe("c.bin");
  expect(readFileSync((await file.path())!).equals(big)).toBe(true);
  await expect(p.getByText("Your download of “c.bin” has started.")).toBeVisible();

  // The whole folder as ZIP, from the top (by its breadcrumb).
  await crumbs(p).getByRole("link", { name: root }).click();
  await expect(heading(p)).toHaveText(root);
  const zipping = p.waitForEvent("download", { timeout: 30_000 });
  await p.getByRole("button", { name: "Download all as ZIP" }).click();
  const zip = await zipping;
  expect(zip.suggestedFilename()).toBe(`${root}.zip`);
  const saved = join(work, "folder-link.zip");
  await zip.saveAs(saved);
  expect(await zip.failure()).toBeNull();
  const panel = p.getByRole("region", { name: "ZIP downloads" });
  await expect(panel.getByRole("status")).toHaveText(/^Done: 5 files, /);
  expect(await overflow(p)).toBe(0);
  await shot(p, "folder-link-04-zip");
  checkZip(
    saved,
    [
      `${root}/`,
      `${root}/notes.txt`,
      `${root}/photo.png`,
      `${root}/day 1/`,
      `${root}/day 1/b.txt`,
      `${root}/day 1/night/`,
      `${root}/day 1/night/c.bin`,
      `${root}/day 1/night/café ☕.txt`,
    ],
    Object.fromEntries(Object.entries(files).map(([k, v]) => [`${root}/${k}`, v])),
  );
  found.push(...(await axe(p, "folder link, after the ZIP")));
  expect(found).toEqual([]);

  // The owner's activity tells of the ZIP through the link, and of the file.
  await o.getByRole("link", { name: "Activity", exact: true }).click();
  const activity = o.getByTestId("all-activity");
  await expect(activity).toContainText(`Someone downloaded “${root}” as ZIP through a public link`);
  await expect(activity).toContainText("Someone downloaded “c.bin” through a public link");
  // The tree's uploads, a line per folder: two files in two of them, one in the third.
  await expect(activity).toContainText(`You added 2 files to “${root}”`);
  await expect(activity).toContainText("You added 2 files to “night”");
  await expect(activity).toContainText("You uploaded “b.txt” to “day 1”");
  const night = activity.locator("details").filter({ hasText: "“night”" });
  await night.locator("summary").click();
  await expect(night.getByRole("list", { name: "Files added to night" })).toContainText("c.bin");
  await shot(o, "folder-link-06-activity");

  await anon.close();
  await owner.context.close();
});

test("a folder's link for one download: the ZIP uses it up, and the page says so", async ({
  browser,
}) => {
  const owner = await newUser(browser, "ali");
  const root = "Once";
  const files = { "a.txt": Buffer.from("alpha\n"), "inner/b.txt": Buffer.from("bravo\n") };
  await uploadTree(owner.page, root, files);
  const url = await folderLink(owner.page, root, { limit: 1 });
  await owner.page.keyboard.press("Escape");

  const anon = await browser.newContext(PHONE);
  const p = await anon.newPage();
  await p.goto(url);
  await expect(heading(p)).toHaveText(root);
  await expect(p.getByText(/1 download left/)).toBeVisible();
  // A preview would take the only download: none is offered.
  await expect(p.getByRole("button", { name: "Download a.txt" })).toBeVisible();
  await expect(p.getByRole("button", { name: "Preview a.txt" })).toHaveCount(0);

  const zipping = p.waitForEvent("download", { timeout: 30_000 });
  await p.getByRole("button", { name: "Download all as ZIP" }).click();
  const zip = await zipping;
  const saved = join(work, "once.zip");
  await zip.saveAs(saved);
  expect(await zip.failure()).toBeNull();
  await expect(p.getByRole("region", { name: "ZIP downloads" }).getByRole("status")).toHaveText(
    /^Done: 2 files, /,
  );
  await expect(p.getByRole("heading", { name: "This link has been used up" })).toBeVisible();
  await expect(p.getByText(/That was the last download this link allows/)).toBeVisible();
  await shot(p, "folder-link-05-used-up");
  checkZip(saved, [`${root}/`, `${root}/a.txt`, `${root}/inner/`, `${root}/inner/b.txt`], {
    [`${root}/a.txt`]: files["a.txt"],
    [`${root}/inner/b.txt`]: files["inner/b.txt"],
  });

  // Opened again: used up.
  await p.reload();
  await expect(heading(p)).toHaveText("This link has been used up");

  await anon.close();
  await owner.context.close();
});
