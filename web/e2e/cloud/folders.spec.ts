// Cloud mode, folders: the per-folder Firestore listeners (subfolders by
// name_key, ready files by updated_at, each with the owner's id and the
// folder's `parent` as firestore.rules require) bring a second browser of
// the same person every new folder, upload, move, rename and deletion.

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
