import type { NextConfig } from "next";

// Static export: `next build` writes web/out, which `livedrop serve` (and
// Vercel in the cloud) serves as plain files. trailingSlash makes every page
// out/<page>/index.html so the server's "nearest index.html" fallback works.
const nextConfig: NextConfig = {
  output: "export",
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
};

export default nextConfig;
