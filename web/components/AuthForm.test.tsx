import { describe, expect, it } from "vitest";
import { safeNext } from "./AuthForm";

describe("safeNext", () => {
  it("keeps same-site paths", () => {
    expect(safeNext("/account/")).toBe("/account/");
    expect(safeNext("/file/?id=abc")).toBe("/file/?id=abc");
  });
  it("never sends a person to another site", () => {
    expect(safeNext("https://evil.example/")).toBe("/files/");
    expect(safeNext("//evil.example/")).toBe("/files/");
    expect(safeNext("/\\evil.example/")).toBe("/files/");
    expect(safeNext("javascript:alert(1)")).toBe("/files/");
    expect(safeNext(null)).toBe("/files/");
  });
});
