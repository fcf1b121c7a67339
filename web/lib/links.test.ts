import { describe, expect, it } from "vitest";
import { ApiError, NetworkError } from "./backend/errors";
import { folderFromHash, folderHash, linkProblem } from "./links";

describe("linkProblem", () => {
  it("asks for the password again when it is missing or wrong", () => {
    expect(linkProblem(new ApiError(403, "wrong_password", "x"))).toEqual({
      kind: "password",
      text: "Wrong password. Try again.",
    });
    expect(linkProblem(new ApiError(401, "password_required", "x"))).toEqual({
      kind: "password",
      text: "Enter the password.",
    });
  });

  it("closes the page for a link that no longer works", () => {
    for (const code of ["link_not_available", "link_expired", "link_exhausted"]) {
      expect(linkProblem(new ApiError(410, code, "x"))).toEqual({ kind: "closed", code });
    }
  });

  it("puts anything else in words, the page's own first", () => {
    expect(linkProblem(new ApiError(429, "rate_limited", "x", 9))).toEqual({
      kind: "error",
      text: "Too many attempts. Try again in 9 s.",
    });
    expect(
      linkProblem(new ApiError(404, "not_found", "not found"), { not_found: "It went." }),
    ).toEqual({ kind: "error", text: "It went." });
    expect(linkProblem(new NetworkError())).toMatchObject({ kind: "error" });
  });
});

describe("folder hashes", () => {
  it("go there and back, the linked folder being no hash", () => {
    expect(folderHash(null)).toBe("#");
    expect(folderFromHash("")).toBeNull();
    expect(folderFromHash("#")).toBeNull();
    expect(folderHash("d 1/x")).toBe("#folder=d%201%2Fx");
    expect(folderFromHash(folderHash("d 1/x"))).toBe("d 1/x");
    expect(folderFromHash("#folder=")).toBeNull();
    expect(folderFromHash("#other=1")).toBeNull();
  });
});
