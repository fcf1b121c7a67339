// Measures a page's first-load JavaScript from the static export: every
// script the page's HTML loads (src and preload), gzipped at level 9.
// `noModule` scripts (legacy polyfills) are left out: browsers that run
// modules never download them.
// next 16 no longer prints First Load JS, so this is the figure we report.
//
//   node scripts/bundle-size.mjs [page ...] [--max-kb N]
//
// A page is a path under out/ ("s" for out/s/index.html). With --max-kb it
// exits 1 when the first page is over the budget.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const args = process.argv.slice(2);
const maxAt = args.indexOf("--max-kb");
const maxKb = maxAt >= 0 ? Number(args[maxAt + 1]) : null;
const pages = args.filter((a, i) => i !== maxAt && i !== maxAt + 1);
if (pages.length === 0) pages.push("s", "files", "signin");

const out = new URL("../out/", import.meta.url).pathname;
let failed = false;

for (const [i, page] of pages.entries()) {
  const html = readFileSync(join(out, page, "index.html"), "utf8");
  const srcs = new Set();
  for (const m of html.matchAll(/<script([^>]*)\ssrc="([^"]+\.js)"([^>]*)>/g)) {
    if (!/nomodule/i.test(m[1] + m[3])) srcs.add(m[2]);
  }
  for (const m of html.matchAll(/<link[^>]*as="script"[^>]*href="([^"]+\.js)"/g)) srcs.add(m[1]);
  let raw = 0;
  let gz = 0;
  for (const src of srcs) {
    const body = readFileSync(join(out, src.replace(/^\//, "")));
    raw += body.length;
    gz += gzipSync(body, { level: 9 }).length;
  }
  const kb = (n) => (n / 1024).toFixed(1);
  console.log(
    `/${page}/: first-load JS ${kb(gz)} KB gzipped (${kb(raw)} KB raw, ${srcs.size} scripts)`,
  );
  if (i === 0 && maxKb !== null && gz / 1024 > maxKb) {
    console.error(`over the budget of ${maxKb} KB`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
