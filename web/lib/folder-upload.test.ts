import { describe, expect, it, vi } from "vitest";
import { ApiError } from "./backend/errors";
import type { FileRecord, Folder, OnConflict } from "./backend/types";
import {
  batchLabel,
  planFolderUpload,
  readDrop,
  treeFromFiles,
  uploadTree,
  type FolderUploadBackend,
  type PickedTree,
} from "./folder-upload";
import type { UploadItem } from "./uploads";

/** A file as `<input webkitdirectory>` gives it. */
function picked(path: string, body = "x"): File {
  const name = path.split("/").pop()!;
  const f = new File([body], name);
  Object.defineProperty(f, "webkitRelativePath", { value: path });
  return f;
}

const names = (tree: PickedTree) =>
  tree.files.map((f) => [...f.dirs, f.file.name].join("/")).sort();

describe("trees from what was picked or dropped", () => {
  it("reads webkitRelativePath, with every folder on the way and no clutter", () => {
    const tree = treeFromFiles([
      picked("Trip/a.jpg"),
      picked("Trip/day 1/b.jpg"),
      picked("Trip/day 1/.DS_Store"),
      new File(["p"], "plain.txt"),
    ]);
    expect(names(tree)).toEqual(["Trip/a.jpg", "Trip/day 1/b.jpg", "plain.txt"]);
    expect(tree.dirs).toEqual([["Trip"], ["Trip", "day 1"]]);
  });

  it("walks a dropped folder, however many entries a read hands out, empty folders too", async () => {
    const fileEntry = (name: string) => ({
      name,
      isFile: true,
      isDirectory: false,
      file: (ok: (f: File) => void) => ok(new File([name], name)),
    });
    const dirEntry = (name: string, entries: object[]) => ({
      name,
      isFile: false,
      isDirectory: true,
      createReader: () => {
        // Two at a time, as browsers hand out a hundred at a time.
        let at = 0;
        return {
          readEntries: (ok: (e: object[]) => void) => {
            ok(entries.slice(at, at + 2));
            at += 2;
          },
        };
      },
    });
    const root = dirEntry("Trip", [
      fileEntry("1.jpg"),
      fileEntry("2.jpg"),
      fileEntry("3.jpg"),
      dirEntry("empty", []),
      dirEntry("day 1", [fileEntry("4.jpg")]),
    ]);
    const loose = new File(["l"], "loose.txt");
    const data = {
      items: [
        { kind: "file", webkitGetAsEntry: () => root, getAsFile: () => null },
        { kind: "file", webkitGetAsEntry: () => null, getAsFile: () => loose },
        { kind: "string", webkitGetAsEntry: () => null, getAsFile: () => null },
      ],
      files: [],
    } as unknown as DataTransfer;
    const tree = await readDrop(data);
    expect(names(tree)).toEqual([
      "Trip/1.jpg",
      "Trip/2.jpg",
      "Trip/3.jpg",
      "Trip/day 1/4.jpg",
      "loose.txt",
    ]);
    expect(tree.dirs).toEqual([["Trip"], ["Trip", "empty"], ["Trip", "day 1"]]);
  });

  it("takes the files when a drop has no items (older browsers)", async () => {
    const f = new File(["a"], "a.txt");
    const tree = await readDrop({ files: [f] } as unknown as DataTransfer);
    expect(tree.files).toEqual([{ file: f, dirs: [] }]);
  });
});

describe("planFolderUpload", () => {
  it("makes parents first, one folder per name whatever its case, spelt as first seen", () => {
    const tree = treeFromFiles([
      picked("Trip/day 1/night/a.jpg"),
      picked("Trip/b.jpg"),
      picked("trip/DAY 1/c.jpg"),
      picked("Other/d.jpg"),
    ]);
    const plan = planFolderUpload(tree);
    expect(plan.folders).toEqual([
      ["Trip"],
      ["Other"],
      ["Trip", "day 1"],
      ["Trip", "day 1", "night"],
    ]);
    expect(plan.uploads.map((u) => [...u.dirs, u.file.name].join("/"))).toEqual([
      "Trip/day 1/night/a.jpg",
      "Trip/b.jpg",
      "Trip/day 1/c.jpg",
      "Other/d.jpg",
    ]);
    expect(batchLabel(plan)).toBe("Trip and Other");
  });

  it("names a batch after what was picked", () => {
    const one = planFolderUpload(treeFromFiles([picked("Trip/a.jpg")]));
    expect(batchLabel(one)).toBe("Trip");
    const many = planFolderUpload(
      treeFromFiles([picked("A/1"), picked("B/2"), picked("C/3"), new File(["x"], "x.txt")]),
    );
    expect(batchLabel(many)).toBe("A and 3 more");
  });
});

/** A server holding folders and files in memory. */
function fakeServer(folders: Folder[] = [], files: FileRecord[] = []) {
  let n = 0;
  const made: string[] = [];
  const backend: FolderUploadBackend = {
    listFolders: vi.fn(async (parent: string | null) =>
      folders.filter((f) => f.parent_id === parent),
    ),
    createFolder: vi.fn(async (name: string, parent: string | null) => {
      if (
        folders.some((f) => f.parent_id === parent && f.name.toLowerCase() === name.toLowerCase())
      )
        throw new ApiError(409, "name_taken", `“${name}” is taken in this folder`);
      const f = { id: `d${++n}`, name, parent_id: parent } as Folder;
      folders.push(f);
      made.push(`${parent ?? "top"}/${name}`);
      return f;
    }),
    // Paged as the API pages: `limit` at a time, the cursor an offset.
    listFiles: vi.fn(async (q) => {
      const all = files.filter((f) => f.folder_id === q.within);
      const from = Number(q.cursor ?? 0);
      const to = from + (q.limit ?? 100);
      return { files: all.slice(from, to), next_cursor: to < all.length ? String(to) : null };
    }),
  };
  return { backend, folders, made };
}

function fakeUploads() {
  const added: UploadItem[] = [];
  const batches: { id: string; label: string; patches: object[]; canceled: boolean }[] = [];
  return {
    added,
    batches,
    uploads: {
      addItems: (items: Iterable<UploadItem>) => {
        added.push(...items);
        return [];
      },
      beginBatch: (label: string) => {
        batches.push({ id: `b${batches.length + 1}`, label, patches: [], canceled: false });
        return `b${batches.length}`;
      },
      updateBatch: (id: string, patch: object) => {
        batches.find((b) => b.id === id)!.patches.push(patch);
      },
      batchCanceled: (id: string) => batches.find((b) => b.id === id)!.canceled,
      cancelBatch: (id: string) => {
        batches.find((b) => b.id === id)!.canceled = true;
      },
    },
  };
}

const where = (items: UploadItem[]) =>
  items.map((i) => `${i.folderId ?? "top"}:${i.file.name}`).sort();

describe("uploadTree", () => {
  it("reuses folders there by name, makes the missing ones, and uploads each file into its own", async () => {
    const server = fakeServer([{ id: "trip", name: "TRIP", parent_id: "here" } as Folder]);
    const u = fakeUploads();
    const decide = vi.fn(async () => "keep_both" as OnConflict);
    const result = await uploadTree({
      backend: server.backend,
      uploads: u.uploads,
      target: "here",
      tree: treeFromFiles([picked("Trip/a.jpg"), picked("Trip/day 1/b.jpg"), picked("New/c.jpg")]),
      decide,
    });
    expect(result).toBe("started");
    expect(server.made).toEqual(["here/New", "trip/day 1"]);
    expect(where(u.added)).toEqual(["d1:c.jpg", "d2:b.jpg", "trip:a.jpg"]);
    expect(u.added.find((i) => i.file.name === "b.jpg")!.path).toBe("Trip/day 1");
    expect(decide).not.toHaveBeenCalled();
    expect(u.batches[0]!.label).toBe("Trip and New");
    expect(u.batches[0]!.patches).toEqual([
      { foldersMade: 1 },
      { foldersMade: 2 },
      { prepared: true },
    ]);
  });

  it("asks once when names are taken where files go, and passes the answer on", async () => {
    const server = fakeServer(
      [{ id: "trip", name: "Trip", parent_id: null } as Folder],
      [
        { id: "1", name: "A.jpg", folder_id: "trip", status: "ready" } as FileRecord,
        { id: "2", name: "b.jpg", folder_id: "trip", status: "ready" } as FileRecord,
      ],
    );
    const u = fakeUploads();
    const decide = vi.fn(async () => "replace" as OnConflict);
    await uploadTree({
      backend: server.backend,
      uploads: u.uploads,
      target: null,
      tree: treeFromFiles([picked("Trip/a.jpg"), picked("Trip/b.jpg"), picked("Trip/c.jpg")]),
      decide,
    });
    expect(decide).toHaveBeenCalledExactlyOnceWith(["Trip/a.jpg", "Trip/b.jpg"]);
    expect(u.added.map((i) => i.onConflict)).toEqual(["replace", "replace", "replace"]);
  });

  it("continues a folder dropped again: files there with the same bytes are not sent again", async () => {
    const server = fakeServer([{ id: "trip", name: "Trip", parent_id: null } as Folder], [
      { id: "1", name: "A.jpg", folder_id: "trip", size: 5, crc32c: "SAME", status: "ready" },
      { id: "2", name: "b.jpg", folder_id: "trip", size: 5, crc32c: "OTHER", status: "ready" },
      // Still pending (cut short): sent again, and resumed by the manager.
      { id: "3", name: "c.jpg", folder_id: "trip", size: 3, crc32c: "C", status: "pending" },
    ] as FileRecord[]);
    const u = fakeUploads();
    const hashed: string[] = [];
    const decide = vi.fn(async () => "keep_both" as OnConflict);
    await uploadTree({
      backend: server.backend,
      uploads: u.uploads,
      target: null,
      tree: treeFromFiles([
        picked("Trip/a.jpg", "12345"),
        picked("Trip/b.jpg", "12345"),
        picked("Trip/c.jpg", "abc"),
        picked("Trip/d.jpg"),
      ]),
      decide,
      hash: async (f) => {
        hashed.push(f.name);
        return f.name === "a.jpg" ? "SAME" : "NEW";
      },
    });
    // Only files of the same name and size are read.
    expect(hashed).toEqual(["a.jpg", "b.jpg"]);
    expect(u.added.map((i) => i.file.name)).toEqual(["b.jpg", "c.jpg", "d.jpg"]);
    // b.jpg has other bytes under a name taken: asked as before.
    expect(decide).toHaveBeenCalledExactlyOnceWith(["Trip/b.jpg"]);
    expect(u.batches[0]!.patches).toContainEqual({ already: { files: 1, bytes: 5 } });
  });

  it("uploads nothing and makes no folder when the question is canceled", async () => {
    const server = fakeServer(
      [],
      [{ id: "1", name: "a.txt", folder_id: null, status: "ready" } as FileRecord],
    );
    const u = fakeUploads();
    const result = await uploadTree({
      backend: server.backend,
      uploads: u.uploads,
      target: null,
      tree: treeFromFiles([picked("a.txt"), picked("New/b.txt")]),
      decide: async () => null,
    });
    expect(result).toBe("canceled");
    expect(server.made).toEqual([]);
    expect(u.added).toEqual([]);
    expect(u.batches[0]!.canceled).toBe(true);
  });

  it("continues a folder of thousands: every page of what is there is compared", async () => {
    const there = Array.from({ length: 2500 }, (_, i) => ({
      id: `f${i}`,
      name: `img${i}.jpg`,
      folder_id: "trip",
      size: 1,
      crc32c: "SAME",
      status: "ready",
    })) as FileRecord[];
    const server = fakeServer([{ id: "trip", name: "Trip", parent_id: null } as Folder], there);
    const u = fakeUploads();
    const decide = vi.fn(async () => "keep_both" as OnConflict);
    const names = [0, 999, 1000, 2499, 2500].map((i) => `Trip/img${i}.jpg`);
    await uploadTree({
      backend: server.backend,
      uploads: u.uploads,
      target: null,
      tree: treeFromFiles(names.map((n) => picked(n, "x"))),
      decide,
      hash: async () => "SAME",
    });
    // Only the one not there is sent; the listing took three pages.
    expect(u.added.map((i) => i.file.name)).toEqual(["img2500.jpg"]);
    expect(decide).not.toHaveBeenCalled();
    expect(server.backend.listFiles).toHaveBeenCalledTimes(3);
    expect(u.batches[0]!.patches).toContainEqual({ already: { files: 4, bytes: 4 } });
  });

  it("checks plain files against the files at hand, without a listing or a batch", async () => {
    const server = fakeServer();
    const u = fakeUploads();
    let asked: string[] = [];
    await uploadTree({
      backend: server.backend,
      uploads: u.uploads,
      target: "here",
      tree: treeFromFiles([new File(["x"], "Notes.txt")]),
      filesHere: [{ id: "1", name: "notes.txt", status: "ready" } as FileRecord],
      decide: async (taken) => {
        asked = taken;
        return "keep_both";
      },
    });
    expect(asked).toEqual(["Notes.txt"]);
    expect(server.backend.listFiles).not.toHaveBeenCalled();
    expect(u.batches).toEqual([]);
    expect(u.added).toMatchObject([{ folderId: "here", onConflict: "keep_both", batch: null }]);
  });

  it("uses a folder made meanwhile elsewhere, and tells a failure in the batch", async () => {
    const server = fakeServer();
    const u = fakeUploads();
    // Another tab makes "Trip" between the listing and the creation.
    vi.mocked(server.backend.listFolders).mockImplementationOnce(async () => {
      server.folders.push({ id: "theirs", name: "Trip", parent_id: null } as Folder);
      return [];
    });
    await uploadTree({
      backend: server.backend,
      uploads: u.uploads,
      target: null,
      tree: treeFromFiles([picked("Trip/a.jpg")]),
      decide: async () => "keep_both",
    });
    expect(where(u.added)).toEqual(["theirs:a.jpg"]);

    const failing = fakeServer();
    vi.mocked(failing.backend.createFolder).mockRejectedValue(
      new ApiError(409, "name_taken", "“Trip” is taken in this folder"),
    );
    const v = fakeUploads();
    const result = await uploadTree({
      backend: failing.backend,
      uploads: v.uploads,
      target: null,
      tree: treeFromFiles([picked("Trip/a.jpg")]),
      decide: async () => "keep_both",
    });
    expect(result).toBe("started");
    expect(v.added).toEqual([]);
    expect(v.batches[0]!.patches).toEqual([{ error: "“Trip” is taken in this folder" }]);
  });

  it("stops preparing when the batch is canceled", async () => {
    const server = fakeServer();
    const u = fakeUploads();
    vi.mocked(server.backend.createFolder).mockImplementation(async (name, parent) => {
      u.batches[0]!.canceled = true;
      return { id: "x", name, parent_id: parent } as Folder;
    });
    const result = await uploadTree({
      backend: server.backend,
      uploads: u.uploads,
      target: null,
      tree: treeFromFiles([picked("A/1.txt"), picked("B/2.txt")]),
      decide: async () => "keep_both",
    });
    expect(result).toBe("canceled");
    expect(server.backend.createFolder).toHaveBeenCalledTimes(1);
    expect(u.added).toEqual([]);
  });
});
