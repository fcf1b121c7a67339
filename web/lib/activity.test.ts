import { describe, expect, it } from "vitest";
import type { Activity } from "./backend/types";
import { describeActivity, visibleActivity } from "./activity";

const base: Activity = {
  id: "a1",
  owner_id: "me",
  file_id: "f1",
  folder_id: null,
  file_name: "plan.pdf",
  kind: "uploaded",
  actor_id: "me",
  actor_email: "me@x.io",
  link_id: null,
  detail: null,
  at: "2026-01-01T00:00:00Z",
};

describe("describeActivity", () => {
  it("says You for my own actions", () => {
    expect(describeActivity(base, "me")).toBe("You uploaded the file");
    expect(describeActivity(base, "me", true)).toBe("You uploaded “plan.pdf”");
  });
  it("tells a folder downloaded as ZIP", () => {
    const a = {
      ...base,
      kind: "downloaded" as const,
      file_id: null,
      folder_id: "d1",
      file_name: "Trip 2026",
      actor_id: "u2",
      actor_email: "bob@x.io",
      detail: "zip",
    };
    expect(describeActivity(a, "me", true)).toBe("bob@x.io downloaded “Trip 2026” as ZIP");
    expect(describeActivity(a, "me")).toBe("bob@x.io downloaded the folder as ZIP");
  });
  it("tells a folder downloaded as ZIP through a public link, and a file from it", () => {
    const zip = {
      ...base,
      kind: "downloaded" as const,
      file_id: null,
      folder_id: "d1",
      file_name: "Trip",
      actor_id: null,
      actor_email: null,
      link_id: "l1",
      detail: "zip",
    };
    expect(describeActivity(zip, "me", true)).toBe(
      "Someone downloaded “Trip” as ZIP through a public link",
    );
    expect(describeActivity(zip, "me")).toBe(
      "Someone downloaded the folder as ZIP through a public link",
    );
    const one = { ...zip, file_id: "f9", folder_id: null, file_name: "day 1.txt", detail: null };
    expect(describeActivity(one, "me", true)).toBe(
      "Someone downloaded “day 1.txt” through a public link",
    );
  });
  it("names the recipient who downloaded", () => {
    const a = { ...base, kind: "downloaded" as const, actor_id: "u2", actor_email: "bob@x.io" };
    expect(describeActivity(a, "me")).toBe("bob@x.io downloaded the file");
  });
  it("tells a download through a link with its count", () => {
    const a = {
      ...base,
      kind: "downloaded" as const,
      actor_id: null,
      actor_email: null,
      link_id: "l1",
      detail: "1 of 3 downloads used",
    };
    expect(describeActivity(a, "me")).toBe(
      "Someone downloaded the file through a public link (1 of 3 downloads used)",
    );
  });
  it("shows sharing and renames", () => {
    expect(describeActivity({ ...base, kind: "shared", detail: "bob@x.io" }, "me")).toBe(
      "You shared the file with bob@x.io",
    );
    expect(describeActivity({ ...base, kind: "renamed", detail: "old.pdf" }, "me", true)).toBe(
      "You renamed “old.pdf” to “plan.pdf”",
    );
  });
  it("says where a file was moved, the top included", () => {
    expect(describeActivity({ ...base, kind: "moved", detail: "Trip" }, "me", true)).toBe(
      "You moved “plan.pdf” to “Trip”",
    );
    expect(describeActivity({ ...base, kind: "moved", detail: "" }, "me")).toBe(
      "You moved the file to the top",
    );
    expect(describeActivity({ ...base, kind: "moved", detail: null }, "me")).toBe(
      "You moved the file",
    );
  });
});

describe("visibleActivity", () => {
  it("leaves out my own downloads only", () => {
    const mine = { ...base, id: "1", kind: "downloaded" as const };
    const theirs = { ...base, id: "2", kind: "downloaded" as const, actor_id: "u2" };
    const upload = { ...base, id: "3" };
    expect(visibleActivity([mine, theirs, upload], "me").map((a) => a.id)).toEqual(["2", "3"]);
  });
});
