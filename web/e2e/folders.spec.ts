import { readFileSync, writeFileSync } from "node:fs";
import AxeBuilder from "@axe-core/playwright";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { PASSWORD, makeFile, newUser, proveAddress, shot, upload, expect, test } from "./helpers";
import { makeTree } from "./zip-check";

async function signIn(page: Page, address: string) {
  await page.goto("/signin/");
  await page.getByLabel("E-mail").fill(address);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/files\/$/);
  await expect(page.locator(".live")).toHaveText("Live");
}

/** A row's "⋯" menu, then one of its items. */
async function rowAction(page: Page, name: string, action: string) {
  await page.getByRole("button", { name: `More actions for ${name}`, exact: true }).click();
  await page.getByRole("menuitem", { name: action }).click();
}

async function newFolder(page: Page, name: string) {
  await page.getByRole("button", { name: "New folder" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill(name);
  await dialog.getByRole("button", { name: "Create" }).click();
  return dialog;
}

const crumbs = (page: Page) => page.getByRole("navigation", { name: "Breadcrumbs" });
const heading = (page: Page) => page.getByRole("heading", { level: 1 });
const link = (page: Page, name: string) => page.getByRole("link", { name, exact: true });

test("folders: make, open, upload into, rename, move, upload a tree, keep both, delete; live elsewhere", async ({
  browser,
}) => {
  const { page, context, email: address } = await newUser(browser, "fiona");
  // The same person in a second browser: everything arrives there live.
  const elsewhere = await browser.newContext();
  const other = await elsewhere.newPage();
  await signIn(other, address);

  // A new folder, validated by the page and then by the API.
  let dialog = await newFolder(page, "Trip");
  await expect(dialog).toBeHidden();
  await expect(link(page, "Trip")).toBeVisible();
  await expect(link(other, "Trip")).toBeVisible();
  dialog = await newFolder(page, "a/b");
  await expect(dialog.getByRole("alert")).toHaveText("A name cannot contain / or \\.");
  await dialog.getByLabel("Name").fill("TRIP");
  await dialog.getByRole("button", { name: "Create" }).click();
  await expect(dialog.getByRole("alert")).toContainText("is taken in this folder");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();

  await upload(page, makeFile("notes.txt", "notes"));
  await expect(link(page, "notes.txt")).toBeVisible();

  // Open it: the folder is in the address, and a reload keeps it.
  await link(page, "Trip").click();
  await expect(page).toHaveURL(/\/files\/\?folder=[\w-]+$/);
  await expect(heading(page)).toHaveText("Trip");
  const tripUrl = page.url();
  await upload(page, makeFile("plan.txt", "the plan"));
  await expect(link(page, "plan.txt")).toBeVisible();
  await page.reload();
  await expect(heading(page)).toHaveText("Trip");
  await expect(link(page, "plan.txt")).toBeVisible();
  await expect(crumbs(page).getByRole("listitem")).toHaveText(["My files", "Trip"]);

  // Breadcrumbs back to the top; back and forward.
  await crumbs(page).getByRole("link", { name: "My files" }).click();
  await expect(page).toHaveURL(/\/files\/$/);
  await expect(heading(page)).toHaveText("My files");
  await expect(link(page, "plan.txt")).toHaveCount(0);
  await page.goBack();
  await expect(page).toHaveURL(tripUrl);
  await expect(link(page, "plan.txt")).toBeVisible();
  await page.goForward();
  await expect(heading(page)).toHaveText("My files");

  // Rename the folder (the other browser follows).
  await rowAction(page, "Trip", "Rename");
  dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name").fill("Trip 2026");
  await dialog.getByRole("button", { name: "Rename" }).click();
  await expect(link(page, "Trip 2026")).toBeVisible();
  await expect(link(other, "Trip 2026")).toBeVisible();

  // Move a file into it with the picker.
  await rowAction(page, "notes.txt", "Move");
  dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "Open Trip 2026" }).click();
  await expect(dialog.getByText("“notes.txt” goes into “Trip 2026”.")).toBeVisible();
  await shot(page, "30-move-dialog");
  await dialog.getByRole("button", { name: "Move here" }).click();
  await expect(dialog).toBeHidden();
  await expect(link(page, "notes.txt")).toHaveCount(0);
  await link(page, "Trip 2026").click();
  await expect(link(page, "notes.txt")).toBeVisible();
  await expect(link(page, "plan.txt")).toBeVisible();

  // The other browser looks at the folder while a tree is uploaded into it.
  await link(other, "Trip 2026").click();
  await expect(heading(other)).toHaveText("Trip 2026");

  // Upload a folder tree: its folders are made, its files go in them.
  const tree = makeTree("Photos", {
    "a.txt": "a",
    "day 1/b.txt": "bb",
    "day 1/night/c.txt": "ccc",
  });
  await page.getByTestId("folder-input").setInputFiles(tree);
  const batch = page.getByTestId("batch-status");
  await expect(batch).toHaveText(/Uploaded 3 files · 6 B/, { timeout: 30_000 });
  await expect(page.locator(".upload:not(.batch)")).toHaveCount(3);
  await shot(page, "31-folder-uploaded");
  await expect(link(other, "Photos")).toBeVisible();
  await link(page, "Photos").click();
  await expect(link(page, "a.txt")).toBeVisible();
  await link(page, "day 1").click();
  await expect(link(page, "b.txt")).toBeVisible();
  await expect(crumbs(page).getByRole("listitem")).toHaveText([
    "My files",
    "Trip 2026",
    "Photos",
    "day 1",
  ]);
  await link(page, "night").click();
  await expect(link(page, "c.txt")).toBeVisible();
  await crumbs(page).getByRole("link", { name: "Trip 2026" }).click();
  await expect(heading(page)).toHaveText("Trip 2026");

  // The same tree again after a reload, one file changed and one new: its
  // folders are reused, what is there with the same bytes is not sent
  // again, and the changed file's name is taken: keep both.
  await page.reload();
  await expect(heading(page)).toHaveText("Trip 2026");
  writeFileSync(join(tree, "a.txt"), "a, changed");
  writeFileSync(join(tree, "day 1", "d.txt"), "dddd");
  await page.getByTestId("folder-input").setInputFiles(tree);
  dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("heading")).toHaveText("“Photos/a.txt” is already here");
  await dialog.getByRole("button", { name: "Keep both" }).click();
  await expect(batch.last()).toHaveText(/Uploaded 4 files \(2 there already\)/, {
    timeout: 30_000,
  });
  await expect(link(page, "Photos")).toHaveCount(1);
  await link(page, "Photos").click();
  await expect(link(page, "a.txt")).toBeVisible();
  await expect(link(page, "a (2).txt")).toBeVisible();
  await expect(link(page, "day 1")).toHaveCount(1);
  await link(page, "day 1").click();
  await expect(link(page, "d.txt")).toBeVisible();
  await expect(link(page, "b.txt")).toBeVisible();
  await expect(link(page, "b (2).txt")).toHaveCount(0);
  await page.goBack();
  await page.goBack();
  await expect(heading(page)).toHaveText("Trip 2026");

  // A picked file whose name is taken: keep both gives "name (2)".
  await upload(page, makeFile("plan.txt", "another plan"));
  dialog = page.getByRole("dialog");
  await expect(dialog.getByRole("heading")).toHaveText("“plan.txt” is already here");
  await dialog.getByRole("button", { name: "Keep both" }).click();
  await expect(link(page, "plan (2).txt")).toBeVisible();
  await expect(link(page, "plan.txt")).toBeVisible();

  // Delete the folder from the top: the dialog says everything inside goes.
  await crumbs(page).getByRole("link", { name: "My files" }).click();
  await rowAction(page, "Trip 2026", "Delete");
  dialog = page.getByRole("dialog");
  await expect(dialog).toContainText("Every folder and file inside “Trip 2026” is deleted with it");
  await dialog.getByRole("button", { name: "Delete folder" }).click();
  await expect(page.getByRole("status").filter({ hasText: "was deleted" })).toHaveText(
    "“Trip 2026” was deleted with 3 folders and 8 files in it.",
  );
  await expect(link(page, "Trip 2026")).toHaveCount(0);
  // The other browser was in it: it says so.
  await expect(
    other.getByText("This folder does not exist: it may have been deleted."),
  ).toBeVisible();
  await elsewhere.close();
  await context.close();
});

test("a folder dropped on the page is uploaded with its folders", async ({ browser }) => {
  const { page, context } = await newUser(browser, "dora");
  // A drop from the desktop, as the File and Directory Entries API hands it over.
  await page.evaluate(() => {
    const file = (name: string, body: string) => ({
      name,
      isFile: true,
      isDirectory: false,
      file: (ok: (f: File) => void) => ok(new File([body], name, { type: "text/plain" })),
    });
    const dir = (name: string, entries: object[]) => ({
      name,
      isFile: false,
      isDirectory: true,
      createReader: () => {
        let done = false;
        return {
          readEntries: (ok: (e: object[]) => void) => {
            ok(done ? [] : entries);
            done = true;
          },
        };
      },
    });
    const root = dir("Dropped", [file("one.txt", "1"), dir("inner", [file("two.txt", "22")])]);
    const items = [{ kind: "file", webkitGetAsEntry: () => root, getAsFile: () => null }];
    const data = { types: ["Files"], items, files: [] };
    for (const type of ["dragover", "drop"]) {
      const e = new Event(type, { bubbles: true, cancelable: true });
      Object.defineProperty(e, "dataTransfer", { value: data });
      document.querySelector("main h1")!.dispatchEvent(e);
    }
  });
  await expect(page.getByTestId("batch-status")).toHaveText(/Uploaded 2 files/);
  await link(page, "Dropped").click();
  await expect(link(page, "one.txt")).toBeVisible();
  await link(page, "inner").click();
  await expect(link(page, "two.txt")).toBeVisible();
  await context.close();
});

test("folders on a 375-pixel phone: nothing scrolls sideways, menus stay on screen, no axe problems", async ({
  browser,
}) => {
  const { page, context } = await newUser(browser, "phil", {
    viewport: { width: 375, height: 740 },
    isMobile: true,
    hasTouch: true,
  });
  const long = "Holidays in the mountains with the whole family, summer 2026";
  await newFolder(page, long);
  await link(page, long).click();
  await newFolder(page, "day 1");
  await link(page, "day 1").click();
  await expect(heading(page)).toHaveText("day 1");
  await upload(page, makeFile("a-long-photo-name-from-a-phone-camera-20260704_101112.jpg", "x"));
  await expect(page.getByTestId("upload-status")).toHaveText(/Uploaded/);
  const overflow = () =>
    page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
  expect(await overflow()).toBe(0);

  // A row's menu opens inside the window.
  await page.getByRole("button", { name: /^More actions for a-long-photo-name/ }).click();
  const box = (await page.getByRole("menu").boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(375);
  await shot(page, "32-phone-folder-menu");
  await page.keyboard.press("Escape");
  await expect(page.getByRole("menu")).toHaveCount(0);

  const problems = async (what: string) =>
    (await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze()).violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${what}: ${v.id} ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  const found = await problems("folder page");

  await rowAction(page, "a-long-photo-name-from-a-phone-camera-20260704_101112.jpg", "Move");
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "My files" }).click();
  await expect(dialog.getByRole("button", { name: `Open ${long}` })).toBeVisible();
  expect(await overflow()).toBe(0);
  await shot(page, "33-phone-move-dialog");
  found.push(...(await problems("move dialog")));
  expect(found, found.join("\n")).toEqual([]);
  await context.close();
});

test("a shared folder: the recipient browses its tree live, downloads, and loses it when unshared", async ({
  browser,
}) => {
  const owner = await newUser(browser, "olga");
  const recipient = await newUser(browser, "ravi");
  await proveAddress(owner, recipient);
  const o = owner.page;
  const r = recipient.page;

  // The owner's tree: Project with readme.txt, and Drafts in it with draft.txt.
  await newFolder(o, "Project");
  await link(o, "Project").click();
  await expect(heading(o)).toHaveText("Project");
  await upload(o, makeFile("readme.txt", "read me"));
  await expect(link(o, "readme.txt")).toBeVisible();
  await newFolder(o, "Drafts");
  await link(o, "Drafts").click();
  await expect(heading(o)).toHaveText("Drafts");
  await upload(o, makeFile("draft.txt", "a draft"));
  await expect(link(o, "draft.txt")).toBeVisible();
  await crumbs(o).getByRole("link", { name: "My files" }).click();
  await expect(heading(o)).toHaveText("My files");

  // The recipient watches "Shared with me" while the owner shares the folder.
  await r.getByRole("link", { name: "Shared with me" }).first().click();
  await expect(heading(r)).toHaveText("Shared with me");
  await rowAction(o, "Project", "Share");
  const dialog = o.getByRole("dialog");
  await expect(dialog.getByRole("heading", { name: "Share “Project”" })).toBeVisible();
  // Folders have public links too (e2e/folder-link.spec.ts).
  await expect(dialog.getByRole("heading", { name: "Public links" })).toBeVisible();
  await dialog.getByLabel("E-mail address").fill(recipient.email);
  await dialog.getByRole("button", { name: "Share", exact: true }).click();
  await expect(dialog.getByText(`Shared with ${recipient.email}`)).toBeVisible();
  await expect(dialog.getByRole("list", { name: "People with access" })).toContainText(
    recipient.email,
  );
  await expect(link(r, "Project")).toBeVisible({ timeout: 3000 });
  await o.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  // Only the folder: what is in it stays in it.
  await expect(link(r, "readme.txt")).toHaveCount(0);
  await shot(r, "34-shared-folder-top");

  // The recipient opens it: breadcrumbs from the folder shared with them,
  // and nothing to rename, move, delete or share.
  await link(r, "Project").click();
  await expect(r).toHaveURL(/\/shared\/\?folder=[\w-]+$/);
  await expect(heading(r)).toHaveText("Project");
  await expect(crumbs(r).getByRole("listitem")).toHaveText(["Shared with me", "Project"]);
  await expect(link(r, "readme.txt")).toBeVisible();
  await expect(link(r, "Drafts")).toBeVisible();
  await expect(r.getByRole("button", { name: /^More actions/ })).toHaveCount(0);
  await expect(r.getByRole("button", { name: /^Share / })).toHaveCount(0);
  await link(r, "Drafts").click();
  await expect(heading(r)).toHaveText("Drafts");
  await expect(crumbs(r).getByRole("listitem")).toHaveText(["Shared with me", "Project", "Drafts"]);
  await expect(link(r, "draft.txt")).toBeVisible();

  // The owner adds a file and renames one: the recipient sees both at once.
  await link(o, "Project").click();
  await link(o, "Drafts").click();
  await expect(heading(o)).toHaveText("Drafts");
  const body = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 13) % 256));
  await upload(o, makeFile("data.bin", body));
  await expect(link(r, "data.bin")).toBeVisible({ timeout: 3000 });
  await rowAction(o, "draft.txt", "Rename");
  await o.getByRole("dialog").getByLabel("Name").fill("final.txt");
  await o.getByRole("dialog").getByRole("button", { name: "Rename" }).click();
  await expect(link(r, "final.txt")).toBeVisible({ timeout: 3000 });
  await expect(link(r, "draft.txt")).toHaveCount(0);
  await shot(r, "35-shared-folder-inside");

  // Sorting as in My files.
  const names = r.locator("tbody tr .col-name a");
  await r.getByRole("button", { name: "Name", exact: true }).click();
  await expect(names).toHaveText(["data.bin", "final.txt"]);
  await r.getByRole("button", { name: "Name", exact: true }).click();
  await expect(names).toHaveText(["final.txt", "data.bin"]);

  // The recipient downloads: the bytes are the owner's.
  const downloading = r.waitForEvent("download");
  await r.getByRole("button", { name: "Download data.bin" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe("data.bin");
  expect(readFileSync((await download.path())!)).toEqual(body);

  // On a 375-pixel phone: nothing scrolls sideways, no axe problems.
  await r.setViewportSize({ width: 375, height: 740 });
  expect(
    await r.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    ),
  ).toBe(0);
  const problems = (
    await new AxeBuilder({ page: r }).withTags(["wcag2a", "wcag2aa"]).analyze()
  ).violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  expect(problems, problems.join("\n")).toEqual([]);
  await shot(r, "36-phone-shared-folder");
  await r.setViewportSize({ width: 1280, height: 720 });

  // Back at the top: the folder, not the files in it.
  await crumbs(r).getByRole("link", { name: "Shared with me" }).click();
  await expect(link(r, "Project")).toBeVisible();
  await expect(link(r, "data.bin")).toHaveCount(0);

  // The owner unshares from the folder's own menu: gone from the recipient's screen at once.
  await crumbs(o).getByRole("link", { name: "Project" }).click();
  await expect(heading(o)).toHaveText("Project");
  await o.getByRole("button", { name: "More actions for Project", exact: true }).click();
  await o.getByRole("menuitem", { name: "Share" }).click();
  await dialog.getByRole("button", { name: `Stop sharing with ${recipient.email}` }).click();
  await expect(dialog.getByText(`${recipient.email} no longer has access.`)).toBeVisible();
  await expect(link(r, "Project")).toHaveCount(0, { timeout: 3000 });
  await expect(r.getByText("Nothing is shared with you yet")).toBeVisible();
  await owner.context.close();
  await recipient.context.close();
});
