import { describe, expect, it } from "vitest";
import type { Folder } from "./backend/types";
import {
  canMoveFolderTo,
  folderHref,
  liveChain,
  nameProblem,
  searchFolders,
  sortFolders,
  sortFoldersBy,
  takenNames,
} from "./folders";

const folder = (id: string, name: string, parent: string | null = null, updated = ""): Folder => ({
  id,
  owner_id: "u",
  owner_email: "owner@example.com",
  name,
  parent_id: parent,
  created_at: updated,
  updated_at: updated,
});

describe("folders", () => {
  it("puts the folder in the query of the files page", () => {
    expect(folderHref(null)).toBe("/files/");
    expect(folderHref("a b/c")).toBe("/files/?folder=a%20b%2Fc");
  });

  it("sorts by name as people do, and by the column a table sorts by", () => {
    const list = [folder("1", "day 10"), folder("2", "Day 2"), folder("3", "archive")];
    expect(sortFolders(list).map((f) => f.name)).toEqual(["archive", "Day 2", "day 10"]);
    const dated = [folder("a", "b", null, "2026-01-02"), folder("b", "a", null, "2026-01-01")];
    expect(sortFoldersBy(dated, "updated", "desc").map((f) => f.id)).toEqual(["a", "b"]);
    expect(sortFoldersBy(dated, "name", "desc").map((f) => f.id)).toEqual(["a", "b"]);
    // No sizes: by name, whichever way the files go.
    expect(sortFoldersBy(dated, "size", "desc").map((f) => f.id)).toEqual(["b", "a"]);
    expect(searchFolders(list, "DAY 1").map((f) => f.id)).toEqual(["1"]);
  });

  it("says what is wrong with a name before asking the server", () => {
    expect(nameProblem("  ")).toBe("Enter a name.");
    expect(nameProblem("a/b")).toBe("A name cannot contain / or \\.");
    expect(nameProblem("a\\b")).toBe("A name cannot contain / or \\.");
    expect(nameProblem("..")).toBe("“.” and “..” cannot be names.");
    expect(nameProblem("é".repeat(128))).toMatch(/too long/);
    expect(nameProblem("  Trip  ")).toBeNull();
  });

  it("finds the picked names taken there, case-insensitively, once each", () => {
    expect(
      takenNames(["Report.PDF", "new.txt", "report.pdf"], [{ name: "report.pdf" }, { name: "x" }]),
    ).toEqual(["Report.PDF"]);
  });

  it("never moves a folder into itself, below itself, or where it is", () => {
    const trip = folder("trip", "Trip", null);
    expect(canMoveFolderTo(trip, null, [])).toBe(false);
    expect(canMoveFolderTo(trip, "trip", [trip])).toBe(false);
    const day = folder("day", "day 1", "trip");
    expect(canMoveFolderTo(trip, "day", [trip, day])).toBe(false);
    expect(canMoveFolderTo(trip, "other", [folder("other", "Other")])).toBe(true);
    expect(canMoveFolderTo(day, null, [])).toBe(true);
  });

  it("brings breadcrumbs up to date from live listings, or says they moved", () => {
    const chain = [folder("a", "A"), folder("b", "B", "a")];
    expect(liveChain(chain, [null, null])).toEqual(chain);
    const renamed = liveChain(chain, [[folder("a", "A!")], null]);
    expect(renamed!.map((f) => f.name)).toEqual(["A!", "B"]);
    expect(liveChain(chain, [[folder("a", "A")], [folder("c", "C", "a")]])).toBeNull();
  });
});
