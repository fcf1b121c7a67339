import { describe, expect, it } from "vitest";
import type { Activity } from "./backend/types";
import { describeActivity, describeUploads, groupActivity, visibleActivity } from "./activity";

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

describe("groupActivity", () => {
  const up = (id: string, at: string, over: Partial<Activity> = {}): Activity => ({
    ...base,
    id,
    file_id: `f-${id}`,
    file_name: `${id}.jpg`,
    detail: "Trip 2026",
    at,
    ...over,
  });

  it("makes a folder's worth of uploads one line, newest first", () => {
    const lines = groupActivity([
      up("c", "2026-01-01T00:09:00Z"),
      up("b", "2026-01-01T00:05:00Z"),
      up("a", "2026-01-01T00:00:00Z"),
    ]);
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.kind).toBe("uploads");
    if (line.kind !== "uploads") return;
    expect(line.entries.map((e) => e.id)).toEqual(["c", "b", "a"]);
    expect(describeUploads(line, "me")).toBe("You added 3 files to “Trip 2026”");
    expect(describeUploads(line, "someone else")).toBe("me@x.io added 3 files to “Trip 2026”");
  });

  it("tells apart other folders, other people, the top and long pauses, through interleaving", () => {
    const lines = groupActivity([
      up("h", "2026-01-01T01:00:30Z", { detail: "day 1" }),
      up("g", "2026-01-01T01:00:00Z"),
      up("f2", "2026-01-01T00:59:30Z", { detail: "day 1" }),
      { ...base, id: "s", kind: "shared", detail: "bob@x.io", at: "2026-01-01T00:59:20Z" },
      up("f", "2026-01-01T00:59:00Z"),
      // 49 minutes before: another upload session.
      up("e", "2026-01-01T00:10:00Z"),
      up("d", "2026-01-01T00:09:00Z", { detail: "Other" }),
      up("c", "2026-01-01T00:08:00Z", { actor_id: "bob", actor_email: "bob@x.io" }),
      up("b", "2026-01-01T00:07:00Z", { detail: null }),
      { ...base, id: "r", kind: "renamed", detail: "old.pdf", at: "2026-01-01T00:06:30Z" },
      up("a", "2026-01-01T00:06:00Z"),
    ]);
    expect(lines.map((l) => (l.kind === "one" ? l.entry.id : l.entries.map((e) => e.id)))).toEqual([
      ["h", "f2"],
      ["g", "f"],
      "s",
      ["e", "a"],
      "d",
      "c",
      "b",
      "r",
    ]);
  });

  it("says where a single upload went", () => {
    expect(describeActivity(up("a", "2026-01-01T00:00:00Z"), "me", true)).toBe(
      "You uploaded “a.jpg” to “Trip 2026”",
    );
    expect(describeActivity(up("a", "2026-01-01T00:00:00Z", { detail: null }), "me", true)).toBe(
      "You uploaded “a.jpg”",
    );
  });
});
