import { describe, expect, it, vi } from "vitest";
import {
  FirestoreLive,
  LINGER_MS,
  activityFromDoc,
  diffById,
  fileFromDoc,
  folderFromDoc,
  isoTime,
  type LiveCollection,
  type ResultSet,
} from "./firestore-live";
import type { Activity, FileRecord, Folder, LiveStatus } from "./types";

/** A Firestore Timestamp stand-in. */
const ts = (iso: string) => ({ toDate: () => new Date(iso) });

function fileDoc(id: string, name: string, updated = "2026-11-22T01:00:00.000Z") {
  return {
    id,
    data: {
      id,
      owner_id: "u1",
      owner_email: "a@example.com",
      name,
      name_key: name.toLowerCase(),
      size: 42,
      content_type: "text/plain",
      crc32c: "AAAAAA==",
      status: "ready",
      created_at: ts("2026-11-22T00:00:00.000Z"),
      updated_at: ts(updated),
      readers: ["u2"],
    },
  };
}

function activityDoc(id: string, at: string, kind = "uploaded") {
  return {
    id,
    data: {
      owner_id: "u1",
      file_id: "f1",
      file_name: "a.txt",
      kind,
      actor_id: "u2",
      actor_email: "b@example.com",
      at: ts(at),
      logged_at: ts(at),
    },
  };
}

describe("documents as records", () => {
  it("maps a files document to the API's FileRecord (no readers, no name_key)", () => {
    expect(fileFromDoc("f1", fileDoc("f1", "Report.pdf").data)).toEqual({
      id: "f1",
      owner_id: "u1",
      owner_email: "a@example.com",
      name: "Report.pdf",
      size: 42,
      content_type: "text/plain",
      crc32c: "AAAAAA==",
      status: "ready",
      received: 42,
      created_at: "2026-11-22T00:00:00.000Z",
      updated_at: "2026-11-22T01:00:00.000Z",
      folder_id: null,
    } satisfies FileRecord);
  });

  it("reads how far an upload in progress is (none yet on documents without it)", () => {
    const data = fileDoc("f1", "Report.pdf").data;
    expect(fileFromDoc("f1", { ...data, status: "pending", received: 12 })).toMatchObject({
      status: "pending",
      received: 12,
    });
    expect(fileFromDoc("f1", { ...data, status: "pending" }).received).toBe(0);
    // Never past the size.
    expect(fileFromDoc("f1", { ...data, status: "pending", received: 99 }).received).toBe(42);
    // Ready: all of it, whatever an old document says.
    expect(fileFromDoc("f1", { ...data, received: 3 }).received).toBe(42);
  });

  it("maps an activity document, absent optional fields as null", () => {
    const a = activityFromDoc("a1", {
      owner_id: "u1",
      file_id: "f1",
      file_name: "x",
      kind: "link_created",
      link_id: "l1",
      at: ts("2026-11-22T01:02:03.004Z"),
    });
    expect(a).toEqual({
      id: "a1",
      owner_id: "u1",
      file_id: "f1",
      folder_id: null,
      file_name: "x",
      kind: "link_created",
      actor_id: null,
      actor_email: null,
      link_id: "l1",
      detail: null,
      at: "2026-11-22T01:02:03.004Z",
    } satisfies Activity);
  });

  it("maps a folder's activity document: its file_id is empty", () => {
    const a = activityFromDoc("a2", {
      owner_id: "u1",
      file_id: "",
      folder_id: "d1",
      file_name: "Trip",
      kind: "downloaded",
      detail: "zip",
      at: ts("2026-11-22T01:02:03.004Z"),
    });
    expect([a.file_id, a.folder_id, a.detail]).toEqual([null, "d1", "zip"]);
  });

  it("writes times with fixed-width milliseconds, so they sort as text", () => {
    expect(isoTime(ts("2026-11-22T01:02:03Z"))).toBe("2026-11-22T01:02:03.000Z");
    expect(isoTime(new Date("2026-11-22T01:02:03.5Z"))).toBe("2026-11-22T01:02:03.500Z");
    expect(isoTime(null)).toBe("1970-01-01T00:00:00.000Z");
  });
});

describe("diffById", () => {
  const rec = (id: string, name: string) => fileFromDoc(id, fileDoc(id, name).data);

  it("finds added, modified and removed records", () => {
    const prev = new Map([
      ["a", rec("a", "a.txt")],
      ["b", rec("b", "b.txt")],
      ["c", rec("c", "c.txt")],
    ]);
    const d = diffById(prev, [rec("a", "a.txt"), rec("b", "renamed.txt"), rec("d", "d.txt")]);
    expect(d.added.map((f) => f.id)).toEqual(["d"]);
    expect(d.modified.map((f) => f.name)).toEqual(["renamed.txt"]);
    expect(d.removed).toEqual(["c"]);
  });

  it("sees nothing in a resend of the same set (the emulator's reset)", () => {
    const prev = new Map([["a", rec("a", "a.txt")]]);
    const d = diffById(prev, [rec("a", "a.txt")]);
    expect(d).toEqual({ added: [], modified: [], removed: [] });
  });
});

/** A listen seam whose listeners the test drives. */
function fakeFirestore() {
  const open = new Map<
    LiveCollection,
    { onResult: (r: ResultSet) => void; onError: (e: unknown) => void; stopped: boolean }
  >();
  const starts: LiveCollection[] = [];
  const listen = (
    name: LiveCollection,
    onResult: (r: ResultSet) => void,
    onError: (e: unknown) => void,
  ) => {
    starts.push(name);
    const l = { onResult, onError, stopped: false };
    open.set(name, l);
    return () => {
      l.stopped = true;
    };
  };
  const send = (name: LiveCollection, docs: ResultSet["docs"], fromCache = false) =>
    open.get(name)!.onResult({ docs, fromCache });
  const fail = (name: LiveCollection) => open.get(name)!.onError(new Error("permission-denied"));
  return { listen, send, fail, open, starts };
}

describe("FirestoreLive", () => {
  it("hands subscribers the whole set, then only real changes", () => {
    const fs = fakeFirestore();
    const live = new FirestoreLive({ listen: fs.listen });
    const seen: string[][] = [];
    live.subscribeFiles((files) => seen.push(files.map((f) => f.name).sort()));
    expect(fs.starts).toEqual(["files"]);

    fs.send("files", [fileDoc("a", "a.txt")]);
    // The emulator resends the same set after an unrelated write: no call.
    fs.send("files", [fileDoc("a", "a.txt")]);
    fs.send("files", [fileDoc("a", "a.txt"), fileDoc("b", "b.txt")]);
    fs.send("files", [fileDoc("a", "A.txt"), fileDoc("b", "b.txt")]);
    fs.send("files", [fileDoc("b", "b.txt")]);
    expect(seen).toEqual([["a.txt"], ["a.txt", "b.txt"], ["A.txt", "b.txt"], ["b.txt"]]);
  });

  it("tells an empty first result (there is nothing yet), and late subscribers at once", () => {
    const fs = fakeFirestore();
    const live = new FirestoreLive({ listen: fs.listen });
    const first = vi.fn();
    live.subscribeShared(first);
    fs.send("shared", []);
    expect(first).toHaveBeenCalledWith([]);
    const late = vi.fn();
    live.subscribeShared(late);
    expect(late).toHaveBeenCalledWith([]);
    // One query per collection, however many subscribers.
    expect(fs.starts).toEqual(["shared"]);
  });

  it("orders activity newest first", () => {
    const fs = fakeFirestore();
    const live = new FirestoreLive({ listen: fs.listen });
    let got: Activity[] = [];
    live.subscribeActivity((a) => (got = a));
    fs.send("activity", [
      activityDoc("x", "2026-11-22T01:00:00.000Z"),
      activityDoc("y", "2026-11-22T03:00:00.000Z", "renamed"),
      activityDoc("z", "2026-11-22T02:00:00.000Z", "shared"),
    ]);
    expect(got.map((a) => a.id)).toEqual(["y", "z", "x"]);
  });

  it("reports connecting, live, reconnecting (cache only or failed) and offline", () => {
    vi.useFakeTimers();
    try {
      const fs = fakeFirestore();
      const live = new FirestoreLive({ listen: fs.listen, backoff: () => 1000 });
      const statuses: LiveStatus[] = [];
      live.subscribeStatus((s) => statuses.push(s));
      live.subscribeFiles(() => {});
      fs.send("files", [fileDoc("a", "a.txt")]);
      fs.send("files", [fileDoc("a", "a.txt")], true);
      fs.send("files", [fileDoc("a", "a.txt")]);
      expect(statuses).toEqual(["connecting", "live", "reconnecting", "live"]);

      // A listener that fails is started again after the backoff.
      fs.fail("files");
      expect(fs.open.get("files")!.stopped).toBe(true);
      expect(statuses.at(-1)).toBe("reconnecting");
      vi.advanceTimersByTime(1000);
      expect(fs.starts).toEqual(["files", "files"]);
      fs.fail("files");
      vi.advanceTimersByTime(1000);
      fs.fail("files");
      expect(statuses.at(-1)).toBe("offline");
      vi.advanceTimersByTime(1000);
      fs.send("files", [fileDoc("a", "a.txt")]);
      expect(statuses.at(-1)).toBe("live");
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops every listener on close and ignores what arrives after", () => {
    const fs = fakeFirestore();
    const live = new FirestoreLive({ listen: fs.listen });
    const cb = vi.fn();
    live.subscribeFiles(cb);
    live.subscribeActivity(() => {});
    live.close();
    expect([...fs.open.values()].every((l) => l.stopped)).toBe(true);
    fs.send("files", [fileDoc("a", "a.txt")]);
    expect(cb).not.toHaveBeenCalled();
  });

  it("treats a listen that fails at once (signed out) as a failure", () => {
    vi.useFakeTimers();
    try {
      let calls = 0;
      const live = new FirestoreLive({
        listen: (_name, _ok, onError) => {
          calls++;
          onError(new Error("signed out"));
          return () => {};
        },
        backoff: () => 10,
      });
      const statuses: LiveStatus[] = [];
      live.subscribeStatus((s) => statuses.push(s));
      live.subscribeFiles(() => {});
      vi.advanceTimersByTime(100);
      expect(calls).toBeGreaterThanOrEqual(3);
      expect(statuses.at(-1)).toBe("offline");
      live.close();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("folders in the cloud", () => {
  it('maps a folders document (parent "" is the top) and a file\'s parent', () => {
    expect(
      folderFromDoc("d1", {
        id: "d1",
        owner_id: "u1",
        owner_email: "ann@example.com",
        name: "Trip",
        name_key: "trip",
        parent: "",
        ancestors: [],
        created_at: ts("2026-11-22T00:00:00.000Z"),
        updated_at: ts("2026-11-22T01:00:00.000Z"),
      }),
    ).toEqual({
      id: "d1",
      owner_id: "u1",
      owner_email: "ann@example.com",
      name: "Trip",
      parent_id: null,
      created_at: "2026-11-22T00:00:00.000Z",
      updated_at: "2026-11-22T01:00:00.000Z",
    } satisfies Folder);
    expect(folderFromDoc("d2", { name: "day 1", parent: "d1" }).parent_id).toBe("d1");
    expect(fileFromDoc("f1", { ...fileDoc("f1", "a.txt").data, parent: "d1" }).folder_id).toBe(
      "d1",
    );
  });

  it("listens to a folder's folders and files per folder, and stops a while after the last subscriber", () => {
    vi.useFakeTimers();
    try {
      const starts: string[] = [];
      const results = new Map<string, (r: ResultSet) => void>();
      const stopped: string[] = [];
      const live = new FirestoreLive({
        listen: (name, onResult, _onError, parent) => {
          const key = `${name}:${parent ?? "top"}`;
          starts.push(key);
          results.set(key, onResult);
          return () => stopped.push(key);
        },
      });
      const folders: string[][] = [];
      const stop = live.subscribeFolders(null, (f) => folders.push(f.map((x) => x.name)));
      const files = vi.fn();
      live.subscribeFilesIn("d1", files);
      expect(starts).toEqual(["folders:top", "folder-files:d1"]);
      results.get("folders:top")!({
        docs: [{ id: "d1", data: { name: "Trip", parent: "" } }],
        fromCache: false,
      });
      results.get("folder-files:d1")!({ docs: [fileDoc("f1", "a.txt")], fromCache: false });
      expect(folders).toEqual([["Trip"]]);
      expect(files.mock.calls[0]![0].map((f: FileRecord) => f.name)).toEqual(["a.txt"]);

      // Back to it before the linger is over: the same listener, at once.
      stop();
      vi.advanceTimersByTime(LINGER_MS - 1);
      const again = vi.fn();
      const stopAgain = live.subscribeFolders(null, again);
      expect(again).toHaveBeenCalledTimes(1);
      expect(starts).toHaveLength(2);
      stopAgain();
      vi.advanceTimersByTime(LINGER_MS);
      expect(stopped).toEqual(["folders:top"]);
      // Later: a new listener.
      live.subscribeFolders(null, () => {});
      expect(starts.at(-1)).toBe("folders:top");
      expect(starts).toHaveLength(3);
      live.close();
      expect(stopped).toContain("folder-files:d1");
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("folders shared with me in the cloud", () => {
  function recorder() {
    const starts: string[] = [];
    const listeners = new Map<
      string,
      { onResult: (r: ResultSet) => void; onError: (e: unknown) => void }
    >();
    const listen = (
      name: LiveCollection,
      onResult: (r: ResultSet) => void,
      onError: (e: unknown) => void,
      parent?: string | null,
    ) => {
      const key = `${name}:${parent ?? "top"}`;
      starts.push(key);
      listeners.set(key, { onResult, onError });
      return () => {};
    };
    return { starts, listeners, listen };
  }

  it("listens to the folders shared with me, and per folder to what is in one", () => {
    const fs = recorder();
    const live = new FirestoreLive({ listen: fs.listen });
    let top: string[] = [];
    let inside: string[] = [];
    let files: string[] = [];
    live.subscribeSharedFolders(null, (f) => (top = f.map((x) => x.name)));
    live.subscribeSharedFolders("p", (f) => (inside = f.map((x) => x.name)));
    live.subscribeSharedFilesIn("p", (f) => (files = f.map((x) => x.name)));
    expect(fs.starts).toEqual(["shared-folders:top", "shared-folders:p", "shared-files:p"]);
    fs.listeners.get("shared-folders:top")!.onResult({
      docs: [{ id: "p", data: { name: "Project", parent: "theirs", owner_id: "u1" } }],
      fromCache: false,
    });
    fs.listeners.get("shared-folders:p")!.onResult({
      docs: [{ id: "s", data: { name: "Drafts", parent: "p" } }],
      fromCache: false,
    });
    fs.listeners
      .get("shared-files:p")!
      .onResult({ docs: [fileDoc("f1", "a.txt")], fromCache: false });
    expect(top).toEqual(["Project"]);
    expect(inside).toEqual(["Drafts"]);
    expect(files).toEqual(["a.txt"]);
    // Unshared: the folder leaves the first query's result.
    fs.listeners.get("shared-folders:top")!.onResult({ docs: [], fromCache: false });
    expect(top).toEqual([]);
    live.close();
  });

  it("shows an upload into a folder I see as it goes: pending, its progress, ready, or gone", () => {
    const fs = recorder();
    const live = new FirestoreLive({ listen: fs.listen });
    const seen: string[][] = [];
    live.subscribeSharedFilesIn("p", (f) =>
      seen.push(f.map((x) => `${x.name}:${x.status}:${x.received}`)),
    );
    const send = (docs: ResultSet["docs"]) =>
      fs.listeners.get("shared-files:p")!.onResult({ docs, fromCache: false });
    const big = (data: Record<string, unknown>) => {
      const d = fileDoc("big", "big.bin");
      return { id: d.id, data: { ...d.data, size: 1000, ...data } };
    };
    send([fileDoc("f1", "a.txt")]);
    send([fileDoc("f1", "a.txt"), big({ status: "pending", received: 0 })]);
    send([fileDoc("f1", "a.txt"), big({ status: "pending", received: 400 })]);
    // The emulator resends the same set: nothing new.
    send([fileDoc("f1", "a.txt"), big({ status: "pending", received: 400 })]);
    send([fileDoc("f1", "a.txt"), big({ status: "ready", received: 1000 })]);
    expect(seen).toEqual([
      ["a.txt:ready:42"],
      ["a.txt:ready:42", "big.bin:pending:0"],
      ["a.txt:ready:42", "big.bin:pending:400"],
      ["a.txt:ready:42", "big.bin:ready:1000"],
    ]);
    // Another one cancelled: it leaves.
    send([
      fileDoc("f1", "a.txt"),
      big({ status: "ready" }),
      { id: "c", data: { ...big({}).data, id: "c", status: "pending" } },
    ]);
    send([fileDoc("f1", "a.txt"), big({ status: "ready" })]);
    expect(seen.at(-2)).toHaveLength(3);
    expect(seen.at(-1)).toEqual(["a.txt:ready:42", "big.bin:ready:1000"]);
    live.close();
  });

  it("takes a refused query for a folder's files (no longer mine to see) as empty, without retrying", () => {
    vi.useFakeTimers();
    try {
      const fs = recorder();
      const live = new FirestoreLive({ listen: fs.listen, backoff: () => 10 });
      const statuses: LiveStatus[] = [];
      live.subscribeStatus((s) => statuses.push(s));
      // The page's own queries go on.
      live.subscribeFiles(() => {});
      fs.listeners.get("files:top")!.onResult({ docs: [], fromCache: false });
      let files: string[] | null = null;
      live.subscribeSharedFilesIn("p", (f) => (files = f.map((x) => x.name)));
      fs.listeners
        .get("shared-files:p")!
        .onResult({ docs: [fileDoc("f1", "a.txt")], fromCache: false });
      expect(files).toEqual(["a.txt"]);
      fs.listeners.get("shared-files:p")!.onError({ code: "permission-denied" });
      expect(files).toEqual([]);
      vi.advanceTimersByTime(1000);
      expect(fs.starts).toEqual(["files:top", "shared-files:p"]);
      expect(statuses).toEqual(["connecting", "live"]);
      // Looked at again (shared again, say): asked again.
      live.subscribeSharedFilesIn("p", () => {});
      expect(fs.starts).toEqual(["files:top", "shared-files:p", "shared-files:p"]);
      live.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
