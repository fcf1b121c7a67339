import { describe, expect, it } from "vitest";
import type { FileRecord } from "./backend/types";
import {
  contentTypeOf,
  isReady,
  previewKind,
  readyFiles,
  receivedOf,
  searchFiles,
  sortFiles,
  uploadPercent,
} from "./files";

function file(
  id: string,
  name: string,
  size: number,
  created: string,
  owner = "a@x.io",
): FileRecord {
  return {
    id,
    owner_id: "u1",
    owner_email: owner,
    name,
    size,
    content_type: "text/plain",
    crc32c: "AAAAAA==",
    status: "ready",
    created_at: created,
    updated_at: created,
    folder_id: null,
  };
}

const files = [
  file("1", "report 10.pdf", 300, "2026-01-03T00:00:00Z"),
  file("2", "report 9.pdf", 100, "2026-01-01T00:00:00Z", "bob@x.io"),
  file("3", "Photo.png", 200, "2026-01-02T00:00:00Z"),
];

describe("sortFiles", () => {
  it("sorts names naturally and case-insensitively", () => {
    expect(sortFiles(files, "name", "asc").map((f) => f.id)).toEqual(["3", "2", "1"]);
  });
  it("sorts by size and date both ways", () => {
    expect(sortFiles(files, "size", "desc").map((f) => f.id)).toEqual(["1", "3", "2"]);
    expect(sortFiles(files, "created", "asc").map((f) => f.id)).toEqual(["2", "3", "1"]);
  });
  it("does not mutate its input", () => {
    const copy = [...files];
    sortFiles(files, "size", "asc");
    expect(files).toEqual(copy);
  });
});

describe("searchFiles", () => {
  it("matches every word against name and owner", () => {
    expect(searchFiles(files, "REPORT").map((f) => f.id)).toEqual(["1", "2"]);
    expect(searchFiles(files, "report bob").map((f) => f.id)).toEqual(["2"]);
    expect(searchFiles(files, "  ")).toHaveLength(3);
  });
});

describe("types", () => {
  it("falls back to the extension", () => {
    expect(contentTypeOf({ name: "a.PNG", type: "" })).toBe("image/png");
    expect(contentTypeOf({ name: "a.bin", type: "" })).toBe("application/octet-stream");
    expect(contentTypeOf({ name: "a.bin", type: "video/mp4" })).toBe("video/mp4");
  });
  it("previews only safe types", () => {
    expect(previewKind("image/png")).toBe("image");
    expect(previewKind("image/svg+xml")).toBeNull();
    expect(previewKind("text/html")).toBeNull();
    expect(previewKind("text/plain; charset=utf-8")).toBe("text");
    expect(previewKind("application/pdf")).toBe("pdf");
    expect(previewKind("video/webm")).toBe("video");
    expect(previewKind("audio/mpeg")).toBe("audio");
  });
});

describe("uploads in progress", () => {
  const f = (status: "pending" | "ready", size: number, received?: number) =>
    ({ id: "x", status, size, ...(received === undefined ? {} : { received }) }) as FileRecord;

  it("reads how much is stored: none from an older server while pending, all once ready", () => {
    expect(receivedOf(f("pending", 100, 40))).toBe(40);
    expect(receivedOf(f("pending", 100))).toBe(0);
    expect(receivedOf(f("pending", 100, 400))).toBe(100);
    expect(receivedOf(f("ready", 100))).toBe(100);
    expect(receivedOf(f("ready", 100, 3))).toBe(100);
    expect(uploadPercent(f("pending", 1000, 999))).toBe(99);
    expect(uploadPercent(f("pending", 0, 0))).toBe(0);
    expect(uploadPercent(f("ready", 0))).toBe(100);
  });

  it("leaves them out where only ready files belong", () => {
    const list = [f("ready", 1), { ...f("pending", 1), id: "y" }];
    expect(readyFiles(list).map((x) => x.id)).toEqual(["x"]);
    expect(isReady(list[1]!)).toBe(false);
  });
});
