// Cloud mode, folders: the per-folder Firestore listeners (subfolders by
// name_key, ready files by updated_at, each with the owner's id and the
// folder's `parent` as firestore.rules require) bring a second browser of
// the same person every new folder, upload, move, rename and deletion.

import { readFileSync } from "node:fs";
import type { Browser, Page } from "@playwright/test";
import { PASSWORD, email, makeFile, upload, expect, test } from "../helpers";

async function signUp(browser: Browser, name: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const address = email(name);
  await page.goto("/signup/");
  await page.getByLabel("E-mail").fill(address);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/files\/$/);
  await expect(page.locator(".live")).toHaveText("Live");
  return { context, page, email: address };
}

async function signIn(browser: Browser, address: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/signin/");
  await page.getByLabel("E-mail").fill(address);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/files\/$/);
  await expect(page.locator(".live")).toHaveText("Live");
  return { context, page };
}

const link = (page: Page, name: string) => page.getByRole("link", { name, exact: true });
const heading = (page: Page) => page.getByRole("heading", { level: 1 });

test("cloud: folders, live in a second browser of the same person", async ({ browser }) => {
  const me = await signUp(browser, "folda");
  const other = await signIn(browser, me.email);
  const p = me.page;
  const o = other.page;

  await p.getByRole("button", { name: "New folder" }).click();
  await p.getByRole("dialog").getByLabel("Name").fill("Trip");
  await p.getByRole("dialog").getByRole("button", { name: "Create" }).click();
  await expect(link(p, "Trip")).toBeVisible();
  await expect(link(o, "Trip")).toBeVisible();

  await upload(p, makeFile("cloud-notes.txt", "notes"));
  await expect(link(p, "cloud-notes.txt")).toBeVisible();

  // The other browser opens the folder and waits there.
  await link(o, "Trip").click();
  await expect(o).toHaveURL(/\/files\/\?folder=[\w-]+$/);
  await expect(o.getByText("This folder is empty.")).toBeVisible();

  // An upload into it, and a file moved into it, arrive there.
  await link(p, "Trip").click();
  await expect(heading(p)).toHaveText("Trip");
  await upload(p, makeFile("cloud-plan.txt", "plan"));
  await expect(link(o, "cloud-plan.txt")).toBeVisible();
  await p.getByRole("navigation", { name: "Breadcrumbs" }).getByRole("link").click();
  await p.getByRole("button", { name: "More actions for cloud-notes.txt" }).click();
  await p.getByRole("menuitem", { name: "Move" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Open Trip" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Move here" }).click();
  await expect(link(p, "cloud-notes.txt")).toHaveCount(0);
  await expect(link(o, "cloud-notes.txt")).toBeVisible();

  // A rename shows in the other browser's heading; a deletion says it is gone.
  await p.getByRole("button", { name: "More actions for Trip" }).click();
  await p.getByRole("menuitem", { name: "Rename" }).click();
  await p.getByRole("dialog").getByLabel("Name").fill("Trip 2026");
  await p.getByRole("dialog").getByRole("button", { name: "Rename" }).click();
  await expect(heading(o)).toHaveText("Trip 2026");
  await p.getByRole("button", { name: "More actions for Trip 2026" }).click();
  await p.getByRole("menuitem", { name: "Delete" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Delete folder" }).click();
  await expect(link(p, "Trip 2026")).toHaveCount(0);
  await expect(o.getByText("This folder does not exist: it may have been deleted.")).toBeVisible();
  await other.context.close();
  await me.context.close();
});

const crumbs = (page: Page) => page.getByRole("navigation", { name: "Breadcrumbs" });

async function newFolder(page: Page, name: string) {
  await page.getByRole("button", { name: "New folder" }).click();
  await page.getByRole("dialog").getByLabel("Name").fill(name);
  await page.getByRole("dialog").getByRole("button", { name: "Create" }).click();
  await expect(link(page, name)).toBeVisible();
}

test("cloud: a shared folder, browsed live by the recipient until it is unshared", async ({
  browser,
}) => {
  const owner = await signUp(browser, "ofra");
  const recipient = await signUp(browser, "rudi");
  const o = owner.page;
  const r = recipient.page;

  await newFolder(o, "Project");
  await link(o, "Project").click();
  await expect(heading(o)).toHaveText("Project");
  await newFolder(o, "Drafts");
  await link(o, "Drafts").click();
  await expect(heading(o)).toHaveText("Drafts");
  await upload(o, makeFile("cloud-draft.txt", "a draft"));
  await expect(link(o, "cloud-draft.txt")).toBeVisible();
  await crumbs(o).getByRole("link", { name: "My files" }).click();
  await expect(heading(o)).toHaveText("My files");

  // Shared from the row's menu: the recipient's listener brings the folder.
  await r.getByRole("link", { name: "Shared with me" }).first().click();
  await expect(heading(r)).toHaveText("Shared with me");
  await o.getByRole("button", { name: "More actions for Project", exact: true }).click();
  await o.getByRole("menuitem", { name: "Share" }).click();
  const dialog = o.getByRole("dialog");
  await expect(dialog.getByRole("heading", { name: "Public links" })).toBeVisible();
  await dialog.getByLabel("E-mail address").fill(recipient.email);
  await dialog.getByRole("button", { name: "Share", exact: true }).click();
  await expect(dialog.getByText(`Shared with ${recipient.email}`)).toBeVisible();
  await expect(link(r, "Project")).toBeVisible({ timeout: 5000 });
  await o.keyboard.press("Escape");
  await expect(dialog).toBeHidden();

  // The recipient browses in: breadcrumbs from the shared folder, no owner actions.
  await link(r, "Project").click();
  await expect(r).toHaveURL(/\/shared\/\?folder=[\w-]+$/);
  await expect(heading(r)).toHaveText("Project");
  await link(r, "Drafts").click();
  await expect(heading(r)).toHaveText("Drafts");
  await expect(crumbs(r).getByRole("listitem")).toHaveText(["Shared with me", "Project", "Drafts"]);
  await expect(link(r, "cloud-draft.txt")).toBeVisible();
  await expect(r.getByRole("button", { name: /^More actions/ })).toHaveCount(0);

  // The owner adds a file and renames one: both arrive live.
  await link(o, "Project").click();
  await link(o, "Drafts").click();
  await expect(heading(o)).toHaveText("Drafts");
  // Binary, so that Chromium saves it (the storage emulator ignores the disposition).
  const body = Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 11) % 256));
  await upload(o, makeFile("cloud-shared.bin", body));
  await expect(link(r, "cloud-shared.bin")).toBeVisible({ timeout: 5000 });
  await o.getByRole("button", { name: "More actions for cloud-draft.txt" }).click();
  await o.getByRole("menuitem", { name: "Rename" }).click();
  await o.getByRole("dialog").getByLabel("Name").fill("cloud-final.txt");
  await o.getByRole("dialog").getByRole("button", { name: "Rename" }).click();
  await expect(link(r, "cloud-final.txt")).toBeVisible({ timeout: 5000 });
  await expect(link(r, "cloud-draft.txt")).toHaveCount(0);

  const downloading = r.waitForEvent("download");
  await r.getByRole("button", { name: "Download cloud-shared.bin" }).click();
  expect(readFileSync((await (await downloading).path())!)).toEqual(body);

  // Unshared from the current folder's menu: gone from the recipient's top at once.
  await crumbs(r).getByRole("link", { name: "Shared with me" }).click();
  await expect(link(r, "Project")).toBeVisible();
  await expect(link(r, "cloud-shared.bin")).toHaveCount(0);
  await crumbs(o).getByRole("link", { name: "Project" }).click();
  await expect(heading(o)).toHaveText("Project");
  await o.getByRole("button", { name: "More actions for Project", exact: true }).click();
  await o.getByRole("menuitem", { name: "Share" }).click();
  await dialog.getByRole("button", { name: `Stop sharing with ${recipient.email}` }).click();
  await expect(dialog.getByText(`${recipient.email} no longer has access.`)).toBeVisible();
  await expect(link(r, "Project")).toHaveCount(0, { timeout: 5000 });
  await recipient.context.close();
  await owner.context.close();
});

test("cloud: an upload into a shared folder shows for the recipient as it goes, then ready", async ({
  browser,
}) => {
  const owner = await signUp(browser, "upla");
  const recipient = await signUp(browser, "watcha");
  const o = owner.page;
  const r = recipient.page;

  await newFolder(o, "Live");
  await o.getByRole("button", { name: "More actions for Live", exact: true }).click();
  await o.getByRole("menuitem", { name: "Share" }).click();
  const dialog = o.getByRole("dialog");
  await dialog.getByLabel("E-mail address").fill(recipient.email);
  await dialog.getByRole("button", { name: "Share", exact: true }).click();
  await expect(dialog.getByText(`Shared with ${recipient.email}`)).toBeVisible();
  await o.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await link(o, "Live").click();
  await expect(heading(o)).toHaveText("Live");

  await r.getByRole("link", { name: "Shared with me" }).first().click();
  await link(r, "Live").click();
  await expect(heading(r)).toHaveText("Live");
  await expect(r.getByText("This folder is empty.")).toBeVisible();

  // The owner's upload goes at 2 MiB/s: 12 MiB take several seconds.
  const cdp = await owner.context.newCDPSession(o);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: 2 * 1024 * 1024,
  });
  const body = Buffer.alloc(12 * 1024 * 1024, 7);
  await upload(o, makeFile("cloud-big.bin", body));

  // The recipient's Firestore listener brings the pending file, its progress, then ready.
  const bar = r.getByRole("progressbar", { name: "Uploading cloud-big.bin" });
  await expect(bar).toBeVisible({ timeout: 20_000 });
  await expect(r.locator("tr", { has: bar }).getByRole("button")).toHaveCount(0);
  const values: number[] = [];
  for (;;) {
    const v = await bar.getAttribute("aria-valuenow", { timeout: 500 }).catch(() => null);
    if (v === null) break;
    if (Number(v) !== values.at(-1)) values.push(Number(v));
    await r.waitForTimeout(150);
  }
  console.log(`cloud-big.bin as the recipient saw it: ${values.join("% → ")}%`);
  expect(values.some((v) => v > 0 && v < 100)).toBe(true);
  expect([...values].sort((x, y) => x - y)).toEqual(values);
  await expect(link(r, "cloud-big.bin")).toBeVisible();
  await expect(r.getByRole("button", { name: "Download cloud-big.bin" })).toBeVisible();
  await recipient.context.close();
  await owner.context.close();
});
