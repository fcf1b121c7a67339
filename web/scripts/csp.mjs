// The Content-Security-Policy of the pages on Vercel, kept in ../vercel.json.
//
// The static export's pages carry inline scripts (Turbopack's chunk list,
// React's `self.__next_f.push(...)` payload); the policy allows them by their
// SHA-256 and nothing else inline. `livedrop serve` reads the hashes from the
// HTML when it starts (src/http/csp.rs); vercel.json is static, and Vercel
// reads it before it builds, so the hashes in it are those of the build of
// the same commit, which is reproducible (next.config.ts: the build id comes
// from the sources). Run after `next build` by `npm run build`, this script
// computes them from out/**/*.html and
//
// - writes them into vercel.json's script-src (locally: commit the change
//   with the code that made it), or
// - with --check, or when CI or VERCEL is set (CI runs, Vercel's own build),
//   fails if vercel.json lists others, so that no deployment serves pages
//   their own policy blocks.
//
// Only the 'sha256-…' sources of script-src are this script's; every other
// directive is written in vercel.json by hand and tests/csp.rs keeps it equal
// to the self-hosted policy's cloud counterpart (`Origins::vercel()`).

import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const web = new URL("..", import.meta.url).pathname;
const out = join(web, "out");
const vercelJson = join(web, "..", "vercel.json");
const check =
  process.argv.includes("--check") ||
  (!process.argv.includes("--write") && Boolean(process.env.CI || process.env.VERCEL));

/** 'sha256-…' of each inline script (one without src) of a page. */
export function inlineScriptHashes(html) {
  const hashes = [];
  for (const m of html.matchAll(
    /<script(?=[\s/>])((?:[^>"']|"[^"]*"|'[^']*')*)>([\s\S]*?)<\/script/gi,
  )) {
    const attrs = m[1].replace(/"[^"]*"|'[^']*'/g, '""');
    if (/(^|[\s/])src(\s*=|[\s/]|$)/i.test(attrs)) continue;
    const text = m[2].replace(/\r\n?/g, "\n");
    hashes.push(`'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`);
  }
  return hashes;
}

function exportHashes() {
  const set = new Set();
  for (const name of readdirSync(out, { recursive: true, encoding: "utf8" })) {
    if (name.endsWith(".html")) {
      for (const h of inlineScriptHashes(readFileSync(join(out, name), "utf8"))) set.add(h);
    }
  }
  if (set.size === 0) throw new Error(`no inline scripts in ${out}: is it Next's export?`);
  // Sorted as the Rust side sorts them (byte order; all ASCII).
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

const CSP = /("key"\s*:\s*"Content-Security-Policy"\s*,\s*"value"\s*:\s*)"([^"\\]*)"/;

function withHashes(policy, hashes) {
  const directives = policy.split(/\s*;\s*/).filter(Boolean);
  const i = directives.findIndex((d) => d.split(/\s+/)[0] === "script-src");
  if (i < 0) throw new Error("vercel.json's Content-Security-Policy has no script-src");
  const kept = directives[i].split(/\s+/).filter((s) => !s.startsWith("'sha256-"));
  directives[i] = [...kept, ...hashes].join(" ");
  return directives.join("; ");
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const text = readFileSync(vercelJson, "utf8");
  const m = CSP.exec(text);
  if (!m) throw new Error(`${vercelJson} has no Content-Security-Policy header`);
  const want = withHashes(m[2], exportHashes());
  if (want === m[2]) {
    console.log("vercel.json: the Content-Security-Policy lists this build's inline scripts");
  } else if (check) {
    console.error(
      "vercel.json: the Content-Security-Policy does not list this build's inline scripts, so\n" +
        "Vercel would serve pages their policy blocks. Run `npm run build` in web/ (it writes\n" +
        "them) and commit vercel.json with the change that made them.",
    );
    process.exit(1);
  } else {
    writeFileSync(
      vercelJson,
      text.replace(CSP, (_, head) => `${head}"${want}"`),
    );
    console.log(
      "vercel.json: wrote this build's inline script hashes into its Content-Security-Policy (commit it)",
    );
  }
}
