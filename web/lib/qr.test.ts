import { describe, expect, it } from "vitest";
import { qrPath } from "./qr";

describe("qrPath", () => {
  it("draws a version-fitting square with a quiet zone", () => {
    const { size, path } = qrPath("http://127.0.0.1:8080/s/abcdefghijklmnopqrstuvwxyz012345");
    // Version 3 or 4 (29 or 33 modules) plus a 2-module border each side.
    expect([33, 37]).toContain(size);
    expect(path.startsWith("M2 2h7v1h-7z")).toBe(true); // the finder pattern's top row
  });
  it("grows with the text", () => {
    expect(qrPath("x".repeat(200)).size).toBeGreaterThan(qrPath("x").size);
  });
});
