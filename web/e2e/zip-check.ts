// What the ZIP specs share: a folder tree on disk to upload, and the checks a
// saved archive gets (Info-ZIP's `unzip -t`, then Python's zipfile: its
// entries, in order, and every file's bytes).

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "./helpers";

/** A folder of this run's own, gone with the worker. */
export const work = mkdtempSync(join(tmpdir(), "ld-e2e-zip-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

/**
 * A folder on disk to upload: paths (with "/") to their contents. Each call
 * has a directory of its own, so two specs in one worker that use the same
 * name never upload each other's files.
 */
export function makeTree(name: string, files: Record<string, Buffer | string>): string {
  const root = join(mkdtempSync(join(work, "tree-")), name);
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), body);
  }
  return root;
}

/**
 * `unzip -t` finds nothing wrong, and Python's zipfile: testzip() finds
 * nothing wrong, the names are exactly `names`, in order, each file's bytes
 * are those uploaded (by SHA-256), and every name ending in "/" is a folder.
 */
export function checkZip(zip: string, names: string[], files: Record<string, Buffer>) {
  execFileSync("unzip", ["-tq", zip]);
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
