import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { NextConfig } from "next";

/**
 * The build id, from what the app is built from rather than at random (Next's
 * default): the pages embed it in an inline script, whose hash the
 * Content-Security-Policy in ../vercel.json must list, so Vercel's build of a
 * commit has to produce the pages it was committed with (see
 * scripts/csp.mjs). It still changes with the app's code, so a tab left open
 * across a deploy reloads rather than mixing two builds.
 */
function sourceBuildId(): string {
  const root = import.meta.dirname;
  const files = ["next.config.ts", "package-lock.json", "tsconfig.json"];
  for (const dir of ["app", "components", "lib"]) {
    for (const name of readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })) {
      const path = join(dir, name);
      if (!/\.test\.tsx?$/.test(name) && statSync(join(root, path)).isFile()) files.push(path);
    }
  }
  const hash = createHash("sha256");
  for (const path of files.map((f) => relative(root, join(root, f)).split("\\").join("/")).sort()) {
    hash
      .update(`${path}\0`)
      .update(readFileSync(join(root, path)))
      .update("\0");
  }
  return hash.digest("hex").slice(0, 20);
}

// Static export: `next build` writes web/out, which `livedrop serve` (and
// Vercel in the cloud) serves as plain files. trailingSlash makes every page
// out/<page>/index.html so the server's "nearest index.html" fallback works.
const nextConfig: NextConfig = {
  output: "export",
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
  generateBuildId: async () => sourceBuildId(),
};

export default nextConfig;
