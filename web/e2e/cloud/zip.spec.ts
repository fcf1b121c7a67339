// Cloud mode, "Download as ZIP": the same check as e2e/zip.spec.ts, with the
// files' bytes fetched cross-origin from fake-gcs-server by their signed URLs
// (CORS, the pages' connect-src) while the Service Worker streams the
// archive to the download manager.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Page } from "@playwright/test";
import { PASSWORD, email, expect, test } from "../helpers";

const work = mkdtempSync(join(tmpdir(), "ld-e2e-cloud-zip-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

const link = (page: Page, name: string) => page.getByRole("link", { name, exact: true });

test("cloud: download a folder as one ZIP", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/signup/");
  await page.getByLabel("E-mail").fill(email("zipper"));
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/files\/$/);
  await expect(page.locator(".live")).toHaveText("Live");

  const root = "Nuage ☁";
  const files: Record<string, Buffer> = {
    "a.txt": Buffer.from("alpha\n"),
    "day 1/night/c.bin": randomBytes(1024 * 1024 + 3),
    "été/b.txt": Buffer.from("bravo\n"),
  };
  const tree = join(work, root);
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(tree, path)), { recursive: true });
    writeFileSync(join(tree, path), body);
  }
  await page.getByTestId("folder-input").setInputFiles(tree);
  await expect(page.getByTestId("batch-status")).toHaveText(/Uploaded 3 files/, {
    timeout: 60_000,
  });
  await link(page, root).click();
  await page.getByRole("button", { name: "New folder" }).click();
  await page.getByRole("dialog").getByLabel("Name").fill("empty");
  await page.getByRole("dialog").getByRole("button", { name: "Create" }).click();
  await expect(link(page, "empty")).toBeVisible();

  const downloading = page.waitForEvent("download", { timeout: 30_000 });
  await page.getByRole("button", { name: `More actions for ${root}`, exact: true }).click();
  await page.getByRole("menuitem", { name: "Download as ZIP" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(`${root}.zip`);
  const saved = join(work, "saved.zip");
  await download.saveAs(saved);
  expect(await download.failure()).toBeNull();
  await expect(page.getByRole("region", { name: "ZIP downloads" }).getByRole("status")).toHaveText(
    /^Done: 3 files, /,
  );

  execFileSync("unzip", ["-tq", saved]);
  const names = [
    `${root}/`,
    `${root}/a.txt`,
    `${root}/day 1/`,
    `${root}/day 1/night/`,
    `${root}/day 1/night/c.bin`,
    `${root}/empty/`,
    `${root}/été/`,
    `${root}/été/b.txt`,
  ];
  const want = Object.fromEntries(
    Object.entries(files).map(([k, v]) => [`${root}/${k}`, v.toString("base64")]),
  );
  const script = `
import base64, json, sys, zipfile
path = sys.argv[1]
names, want = json.load(sys.stdin)
with zipfile.ZipFile(path) as z:
    assert z.testzip() is None, "testzip found a bad entry"
    got = [i.filename for i in z.infolist()]
    assert got == names, f"names: {got!r} != {names!r}"
    for name, data in want.items():
        assert z.read(name) == base64.b64decode(data), f"{name}: bytes differ"
print("ok")
`;
  // The expected bytes go on stdin: too large for an argument.
  const out = execFileSync("python3", ["-c", script, saved], {
    input: JSON.stringify([names, want]),
  });
  expect(out.toString().trim()).toBe("ok");
  await context.close();
});
