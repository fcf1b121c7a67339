// Cloud mode, a folder's public link: made in the share dialog (the API's
// folder links, no Firestore query), opened by someone not signed in, whose
// page never loads the Firebase SDK: the password, a folder inside, one file
// and the whole folder as ZIP, their bytes fetched from fake-gcs-server by
// signed URLs.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { PASSWORD, email, expect, test } from "../helpers";
import { checkZip, makeTree, work } from "../zip-check";

const link = (page: Page, name: string) => page.getByRole("link", { name, exact: true });

test("cloud: a folder's public link with a password, one file and the ZIP", async ({ browser }) => {
  const context = await browser.newContext();
  const o = await context.newPage();
  await o.goto("/signup/");
  await o.getByLabel("E-mail").fill(email("folderlinker"));
  await o.getByLabel("Password").fill(PASSWORD);
  await o.getByRole("button", { name: "Create account" }).click();
  await expect(o).toHaveURL(/\/files\/$/);
  await expect(o.locator(".live")).toHaveText("Live");

  // Binary files: fake-gcs-server ignores the signed disposition, and
  // Chromium saves binary bodies rather than showing them.
  const root = "Nuage lien";
  const files: Record<string, Buffer> = {
    "a.bin": Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256)),
    "day 1/b.bin": Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 13) % 256)),
  };
  await o.getByTestId("folder-input").setInputFiles(makeTree(root, files));
  await expect(o.getByTestId("batch-status")).toHaveText(/Uploaded 2 files/, { timeout: 60_000 });

  await o.getByRole("button", { name: `More actions for ${root}`, exact: true }).click();
  await o.getByRole("menuitem", { name: "Share" }).click();
  const dialog = o.getByRole("dialog");
  await dialog.getByLabel("Password").fill("open sesame");
  await dialog.getByRole("button", { name: "Create link" }).click();
  const url = await dialog.getByLabel(/New link/).inputValue();
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{20,}$/);
  await expect(dialog.getByRole("list", { name: "Active links" })).toContainText(
    "password · 0 downloads",
  );
  await o.keyboard.press("Escape");

  const anon = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const p = await anon.newPage();
  const scripts: Promise<string>[] = [];
  p.on("response", (res) => {
    if (res.url().endsWith(".js")) scripts.push(res.text().catch(() => ""));
  });
  await p.goto(url);
  await p.getByLabel("This folder is protected by a password").fill("open sesame");
  await p.getByRole("button", { name: "Open" }).click();
  await link(p, "day 1").click();
  await expect(p.getByRole("heading", { level: 1 })).toHaveText("day 1");
  const one = p.waitForEvent("download");
  await p.getByRole("button", { name: "Download b.bin" }).click();
  expect(readFileSync((await (await one).path())!).equals(files["day 1/b.bin"]!)).toBe(true);

  const zipping = p.waitForEvent("download", { timeout: 30_000 });
  await p.getByRole("button", { name: "Download all as ZIP" }).click();
  const zip = await zipping;
  expect(zip.suggestedFilename()).toBe("day 1.zip");
  const saved = join(work, "cloud-folder-link.zip");
  await zip.saveAs(saved);
  expect(await zip.failure()).toBeNull();
  await expect(p.getByRole("region", { name: "ZIP downloads" }).getByRole("status")).toHaveText(
    /^Done: 1 file, /,
  );
  checkZip(saved, ["day 1/", "day 1/b.bin"], { "day 1/b.bin": files["day 1/b.bin"]! });

  // The link's page never loaded the Firebase SDK.
  const loaded = await Promise.all(scripts);
  expect(loaded.filter((js) => js.includes("identitytoolkit"))).toEqual([]);

  // The owner's activity, live from Firestore.
  await o.getByRole("link", { name: "Activity", exact: true }).click();
  await expect(o.getByTestId("all-activity")).toContainText(
    "Someone downloaded “day 1” as ZIP through a public link",
    { timeout: 10_000 },
  );
  await anon.close();
  await context.close();
});
