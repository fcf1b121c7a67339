// "Download as ZIP" against `livedrop serve`: a folder tree (nested folders,
// UTF-8 names, an empty folder, a file of a few MB) is uploaded, the folder
// menu's "Download as ZIP" streams the archive through the Service Worker
// (web/public/zip-sw.js) into Chromium's download manager, and the file it
// saved is checked by Info-ZIP's `unzip -t` and Python's zipfile.

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Page } from "@playwright/test";
import { expect, newUser, test } from "./helpers";

const work = mkdtempSync(join(tmpdir(), "ld-e2e-zip-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

/** A folder on disk to upload: paths (with "/") to their contents. */
function makeTree(name: string, files: Record<string, Buffer>): string {
  const root = join(work, "trees", name);
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), body);
  }
  return root;
}

/**
 * Python's zipfile over the archive: testzip() finds nothing wrong, the
 * names are exactly `names`, in order, and each file's bytes are those
 * uploaded (by SHA-256).
 */
function pythonCheck(zip: string, names: string[], files: Record<string, Buffer>) {
  const sha = (b: Buffer) =>
    execFileSync(
      "python3",
      ["-c", "import hashlib,sys;print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"],
      {
        input: b,
      },
    )
      .toString()
      .trim();
  const want = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, sha(v)]));
  const script = `
import hashlib, json, sys, zipfile
path, names, want = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
with zipfile.ZipFile(path) as z:
    assert z.testzip() is None, "testzip found a bad entry"
    got = [i.filename for i in z.infolist()]
    assert got == names, f"names: {got!r} != {names!r}"
    for name, digest in want.items():
        info = z.getinfo(name)
        assert info.flag_bits & 0x800, f"{name} is not marked UTF-8"
        h = hashlib.sha256(z.read(info)).hexdigest()
        assert h == digest, f"{name}: bytes differ"
    for name in names:
        if name.endswith("/"):
            assert z.getinfo(name).is_dir(), f"{name} is no folder"
print("ok")
`;
  const out = execFileSync("python3", [
    "-c",
    script,
    zip,
    JSON.stringify(names),
    JSON.stringify(want),
  ]);
  expect(out.toString().trim()).toBe("ok");
}

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

  execFileSync("unzip", ["-tq", saved]);
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
  pythonCheck(
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
