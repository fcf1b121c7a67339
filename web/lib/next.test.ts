import { describe, expect, it } from "vitest";
import { DEFAULT_NEXT, MAX_NEXT_LENGTH, safeNext } from "./next";

const ORIGINS = ["http://127.0.0.1:8080", "https://drop.example.com"];

/** What the browser would do with the result: it must stay on `origin`. */
function landsOn(next: string | null, origin: string): string {
  const path = safeNext(next, origin);
  expect(path.startsWith("/")).toBe(true);
  expect(path.startsWith("//")).toBe(false);
  expect(new URL(path, origin).origin).toBe(origin);
  return path;
}

describe("safeNext", () => {
  it("keeps paths on this site", () => {
    for (const origin of ORIGINS) {
      expect(landsOn("/account/", origin)).toBe("/account/");
      expect(landsOn("/file/?id=abc", origin)).toBe("/file/?id=abc");
      expect(landsOn("/files/#top", origin)).toBe("/files/#top");
      expect(landsOn("/shared/?q=a%20b&sort=name", origin)).toBe("/shared/?q=a%20b&sort=name");
      // An absolute address on this very origin is fine too.
      expect(landsOn(`${origin}/activity/`, origin)).toBe("/activity/");
      // `@` in a path or query is only a character.
      expect(landsOn("/@evil.example", origin)).toBe("/@evil.example");
      expect(landsOn("/file/?id=a@evil.example", origin)).toBe("/file/?id=a@evil.example");
      // Encoded slashes stay encoded: one path segment, not a host.
      expect(landsOn("/%2F%2Fevil.example", origin)).toBe("/%2F%2Fevil.example");
      expect(landsOn("/%2f%2fevil.example/", origin)).toBe("/%2f%2fevil.example/");
    }
  });

  it("uses this page's origin by default", () => {
    expect(safeNext("/account/")).toBe("/account/");
    expect(safeNext(`${window.location.origin}/account/`)).toBe("/account/");
    expect(safeNext("//evil.example/")).toBe(DEFAULT_NEXT);
  });

  it("never sends a person to another site", () => {
    const attacks = [
      "https://evil.example/",
      "http://evil.example",
      "HTTPS://EVIL.EXAMPLE",
      "//evil.example",
      "//evil.example/files/",
      "///evil.example",
      "////evil.example",
      "/\\evil.example",
      "\\\\evil.example",
      "\\/evil.example",
      "/\\/evil.example",
      // The tester's find: `?next=/%09/evil.example` arrives as "/\t/evil.example",
      // and the browser drops the tab.
      "/\t/evil.example",
      "/\n/evil.example",
      "/\r\n/evil.example",
      "\t//evil.example",
      " //evil.example",
      "/\t\\evil.example",
      "\n\\\\evil.example",
      // Dot segments that fold into `//evil.example`.
      "/.//evil.example",
      "/./\t/evil.example",
      "/x/..//evil.example",
      "/%2e//evil.example",
      // Other schemes.
      "javascript:alert(1)",
      "JavaScript:alert(document.domain)",
      "java\tscript:alert(1)",
      " javascript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
      "vbscript:msgbox(1)",
      "blob:https://evil.example/uuid",
      "file:///etc/passwd",
      "ftp://evil.example/",
      "mailto:someone@evil.example",
      // Credentials and `@`.
      "https://drop.example.com@evil.example/",
      "http://127.0.0.1:8080@evil.example/",
      "//drop.example.com@evil.example",
      "//user:pass@evil.example",
      "https://evil.example\\@drop.example.com/",
      "https://drop.example.com.evil.example/",
    ];
    for (const origin of ORIGINS) {
      for (const next of attacks) {
        expect(landsOn(next, origin), JSON.stringify(next)).toBe(DEFAULT_NEXT);
      }
    }
  });

  it("reads `http:evil.example` as a path where it is relative, and refuses it elsewhere", () => {
    // On an http page the browser resolves it against the page: a path here.
    expect(landsOn("http:evil.example", "http://127.0.0.1:8080")).toBe("/evil.example");
    // On an https page it is another site.
    expect(landsOn("http:evil.example", "https://drop.example.com")).toBe(DEFAULT_NEXT);
    expect(landsOn("https:evil.example", "http://127.0.0.1:8080")).toBe(DEFAULT_NEXT);
    expect(landsOn("https:evil.example", "https://drop.example.com")).toBe("/evil.example");
  });

  it("refuses another port or scheme of the same host", () => {
    expect(landsOn("http://127.0.0.1:8081/files/", "http://127.0.0.1:8080")).toBe(DEFAULT_NEXT);
    expect(landsOn("http://drop.example.com/files/", "https://drop.example.com")).toBe(
      DEFAULT_NEXT,
    );
    // Credentials on this very host are not the app's either.
    expect(landsOn("https://user:pw@drop.example.com/files/", "https://drop.example.com")).toBe(
      DEFAULT_NEXT,
    );
  });

  it("refuses empty, missing and very long values", () => {
    for (const origin of ORIGINS) {
      expect(landsOn(null, origin)).toBe(DEFAULT_NEXT);
      expect(landsOn("", origin)).toBe(DEFAULT_NEXT);
      expect(safeNext(undefined, origin)).toBe(DEFAULT_NEXT);
      const long = "/files/?q=" + "a".repeat(MAX_NEXT_LENGTH);
      expect(landsOn(long, origin)).toBe(DEFAULT_NEXT);
      expect(landsOn("//evil.example/" + "a".repeat(100_000), origin)).toBe(DEFAULT_NEXT);
      const fits = "/files/?q=" + "a".repeat(MAX_NEXT_LENGTH - 10);
      expect(landsOn(fits, origin)).toBe(fits);
    }
  });

  it("never goes back to the sign-in or sign-up page (no loop)", () => {
    const loops = [
      "/signin/",
      "/signin",
      "/signup/",
      "/signup",
      "/signin/?next=/signin/",
      "/signin/?next=%2Fsignin%2F",
      "/signin/#x",
      "/signin//",
      "/SignIn/",
      "/%73ignin/",
      "/signin/index.html",
      "/files/../signin/",
      "/./signup/",
      "https://drop.example.com/signin/",
    ];
    for (const next of loops) {
      expect(landsOn(next, "https://drop.example.com"), next).toBe(DEFAULT_NEXT);
    }
  });

  it("refuses what does not parse", () => {
    expect(landsOn("http://[::1", "https://drop.example.com")).toBe(DEFAULT_NEXT);
    expect(landsOn("https://exa mple.com:99999/", "https://drop.example.com")).toBe(DEFAULT_NEXT);
  });
});
