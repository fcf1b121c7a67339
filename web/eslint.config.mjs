import nextCoreWebVitals from "eslint-config-next/core-web-vitals";
import nextTypescript from "eslint-config-next/typescript";

const config = [
  {
    ignores: [
      "node_modules/**",
      ".next/**",
      "out/**",
      "test-results/**",
      "playwright-report/**",
      "next-env.d.ts",
    ],
  },
  ...nextCoreWebVitals,
  ...nextTypescript,
  {
    // web/lib/backend is the only place that talks to the network.
    files: ["app/**", "components/**"],
    rules: {
      "no-restricted-globals": [
        "error",
        { name: "fetch", message: "Use the backend from web/lib/backend." },
        { name: "WebSocket", message: "Use the backend from web/lib/backend." },
        { name: "XMLHttpRequest", message: "Use the backend from web/lib/backend." },
      ],
    },
  },
  {
    // Every e2e test fails on a Content-Security-Policy violation: its
    // `test` is the one in e2e/helpers.ts.
    files: ["e2e/**"],
    ignores: ["e2e/helpers.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "@playwright/test",
              importNames: ["test"],
              message: "Import test from e2e/helpers: it fails a test on any CSP violation.",
            },
          ],
        },
      ],
    },
  },
];

export default config;
