import { describe, expect, it, vi } from "vitest";
import { ApiError, NetworkError } from "./backend/errors";
import type {
  BlobTransfer,
  FileRecord,
  NewUpload,
  SessionState,
  UploadTarget,
} from "./backend/types";
import {
  LEGACY_STORAGE_KEY,
  SavedUploads,
  batchProgress,
  savedUploadsKey,
  UploadManager,
  uploadErrorMessage,
  type UploadBackend,
  type UploadView,
} from "./uploads";

/** An in-memory server: pending records and resumable sessions. */
class FakeServer {
  created: NewUpload[] = [];
  completed: string[] = [];
  canceled: string[] = [];
  sessions = new Map<string, { total: number; bytes: Uint8Array; stored: number }>();
  whole = new Map<string, Uint8Array>();
  puts: string[] = [];
  /** Makes the nth chunk PUT (1-based) fail as a network drop. */
  failChunks = new Set<number>();
  threshold: number;
  private chunkCount = 0;
  private n = 0;

  constructor(threshold = 100) {
    this.threshold = threshold;
  }

  backend(): UploadBackend {
    const transfer: BlobTransfer = {
      putWhole: async (target, body, onProgress) => {
        const bytes = new Uint8Array(await body.arrayBuffer());
        onProgress(bytes.length);
        this.whole.set(target.url, bytes);
      },
      startSession: async (target) => {
        const id = target.url.split("/").pop()!;
        const total = this.created.find((_, i) => `f${i + 1}` === id)!.size;
        this.sessions.set(`/blob/sessions/${id}`, {
          total,
          bytes: new Uint8Array(total),
          stored: 0,
        });
        return `/blob/sessions/${id}`;
      },
      putChunk: async (location, chunk, first, total, onProgress) => {
        this.chunkCount++;
        const s = this.sessions.get(location);
        if (!s) return { kind: "gone" };
        this.puts.push(`bytes ${first}-${first + chunk.size - 1}/${total}`);
        if (this.failChunks.has(this.chunkCount)) {
          // Half the chunk arrived before the drop.
          const half = new Uint8Array(await chunk.slice(0, chunk.size / 2).arrayBuffer());
          if (first === s.stored) {
            s.bytes.set(half, first);
            s.stored += half.length;
          }
          throw new NetworkError();
        }
        if (first !== s.stored) throw new ApiError(400, "invalid_range", "wrong offset");
        const bytes = new Uint8Array(await chunk.arrayBuffer());
        onProgress(bytes.length);
        s.bytes.set(bytes, first);
        s.stored += bytes.length;
        return s.stored === s.total ? { kind: "complete" } : { kind: "partial", stored: s.stored };
      },
      querySession: async (location): Promise<SessionState> => {
        const s = this.sessions.get(location);
        if (!s) return { kind: "gone" };
        return s.stored === s.total ? { kind: "complete" } : { kind: "partial", stored: s.stored };
      },
    };
    return {
      transfer,
      createUpload: async (u) => {
        this.created.push(u);
        const id = `f${++this.n}`;
        const upload: UploadTarget = {
          method: u.size > this.threshold ? "POST" : "PUT",
          url: `/blob/${id}`,
          headers: u.size > this.threshold ? [["x-goog-resumable", "start"]] : [],
          resumable: u.size > this.threshold,
        };
        return { file: { id, name: u.name, size: u.size } as FileRecord, upload };
      },
      completeUpload: async (id) => {
        this.completed.push(id);
        return { id } as FileRecord;
      },
      cancelUpload: async (id) => {
        this.canceled.push(id);
      },
    };
  }
}

function bytes(n: number): Uint8Array<ArrayBuffer> {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);
}

function makeFile(n: number, name = "data.bin", lastModified = 1700000000000): File {
  return new File([bytes(n)], name, { lastModified, type: "application/octet-stream" });
}

function manager(
  server: FakeServer,
  storage: Storage = localStorage,
  owner: string | null = "u-ann",
) {
  return new UploadManager({
    backend: server.backend(),
    maxFileSize: 10_000,
    owner,
    chunkSize: 64,
    storage,
    retryDelays: [1, 1, 1],
    hash: async () => "AAAAAA==",
  });
}

async function settle(
  m: UploadManager,
  key: string,
  statuses: string[] = ["done", "failed", "canceled", "paused"],
) {
  let view: UploadView | undefined;
  await vi.waitFor(() => {
    view = m.views().find((v) => v.key === key);
    if (!view || !statuses.includes(view.status)) throw new Error(`still ${view?.status}`);
  });
  return view!;
}

describe("UploadManager", () => {
  it("sends a small file in one PUT and completes it", async () => {
    const server = new FakeServer();
    const m = manager(server);
    const [key] = m.add([makeFile(50, "note.txt")]);
    const view = await settle(m, key!);
    expect(view.status).toBe("done");
    expect(server.created[0]).toMatchObject({ name: "note.txt", size: 50, crc32c: "AAAAAA==" });
    expect(server.whole.get("/blob/f1")).toEqual(bytes(50));
    expect(server.completed).toEqual(["f1"]);
  });

  it("sends a large file in chunks with Content-Range", async () => {
    const server = new FakeServer();
    const m = manager(server);
    const [key] = m.add([makeFile(150)]);
    expect((await settle(m, key!)).status).toBe("done");
    expect(server.puts).toEqual(["bytes 0-63/150", "bytes 64-127/150", "bytes 128-149/150"]);
    expect(server.sessions.get("/blob/sessions/f1")!.bytes).toEqual(bytes(150));
  });

  it("survives a network drop: asks the session where it stands and continues", async () => {
    const server = new FakeServer();
    server.failChunks.add(2);
    const m = manager(server);
    const [key] = m.add([makeFile(200)]);
    expect((await settle(m, key!)).status).toBe("done");
    // The second chunk broke after 32 bytes; the retry starts at byte 96.
    expect(server.puts).toEqual([
      "bytes 0-63/200",
      "bytes 64-127/200",
      "bytes 96-159/200",
      "bytes 160-199/200",
    ]);
    expect(server.sessions.get("/blob/sessions/f1")!.bytes).toEqual(bytes(200));
    expect(server.completed).toEqual(["f1"]);
  });

  it("gives up after the last retry and can be resumed by hand", async () => {
    const server = new FakeServer();
    for (let i = 2; i < 10; i++) server.failChunks.add(i);
    const m = manager(server);
    const [key] = m.add([makeFile(200)]);
    const failed = await settle(m, key!);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/connection/i);
    server.failChunks.clear();
    m.resume(key!);
    expect((await settle(m, key!, ["done"])).status).toBe("done");
    expect(server.created).toHaveLength(1);
    expect(server.sessions.get("/blob/sessions/f1")!.bytes).toEqual(bytes(200));
  });

  it("continues after a reload when the same file is picked again", async () => {
    const server = new FakeServer();
    for (let i = 2; i < 10; i++) server.failChunks.add(i);
    const first = manager(server);
    const [k1] = first.add([makeFile(300, "movie.mp4")]);
    expect((await settle(first, k1!)).status).toBe("failed");
    const stored = server.sessions.get("/blob/sessions/f1")!.stored;
    expect(stored).toBeGreaterThan(0);

    // A new page: a new manager over the same localStorage.
    server.failChunks.clear();
    const second = manager(server);
    expect(second.unfinished().map((r) => r.name)).toEqual(["movie.mp4"]);
    const [k2] = second.add([makeFile(300, "movie.mp4")]);
    const view = await settle(second, k2!);
    expect(view.status).toBe("done");
    expect(view.resumedFrom).toBe(stored);
    expect(server.created).toHaveLength(1); // no new upload record
    expect(server.sessions.get("/blob/sessions/f1")!.bytes).toEqual(bytes(300));
    expect(second.unfinished()).toEqual([]);
  });

  it("does not resume a different file with the same name", async () => {
    const server = new FakeServer();
    for (let i = 2; i < 10; i++) server.failChunks.add(i);
    const first = manager(server);
    const [k1] = first.add([makeFile(300, "a.bin", 1)]);
    await settle(first, k1!);
    server.failChunks.clear();
    const second = manager(server);
    const [k2] = second.add([makeFile(300, "a.bin", 2)]);
    expect((await settle(second, k2!)).status).toBe("done");
    expect(server.created).toHaveLength(2);
  });

  it("pauses and resumes", async () => {
    const server = new FakeServer();
    let release: () => void = () => {};
    const backend = server.backend();
    const slow = backend.transfer.putChunk;
    let calls = 0;
    backend.transfer.putChunk = async (loc, chunk, first, total, onProgress, signal) => {
      if (++calls === 2) {
        await new Promise<void>((resolve, reject) => {
          release = resolve;
          signal.addEventListener("abort", () => reject(new DOMException("x", "AbortError")));
        });
      }
      return slow(loc, chunk, first, total, onProgress, signal);
    };
    const m = new UploadManager({
      backend,
      maxFileSize: 1e6,
      chunkSize: 64,
      owner: "u-ann",
      storage: localStorage,
      hash: async () => "AAAAAA==",
    });
    const [key] = m.add([makeFile(200)]);
    await vi.waitFor(() => expect(calls).toBe(2));
    m.pause(key!);
    expect((await settle(m, key!)).status).toBe("paused");
    m.resume(key!);
    release();
    expect((await settle(m, key!, ["done"])).status).toBe("done");
    expect(server.sessions.get("/blob/sessions/f1")!.bytes).toEqual(bytes(200));
  });

  it("cancels: aborts, tells the server and forgets the session", async () => {
    const server = new FakeServer();
    for (let i = 2; i < 10; i++) server.failChunks.add(i);
    const m = new UploadManager({
      backend: server.backend(),
      maxFileSize: 1e6,
      chunkSize: 64,
      owner: "u-ann",
      storage: localStorage,
      retryDelays: [60_000],
      hash: async () => "AAAAAA==",
    });
    const [key] = m.add([makeFile(200)]);
    await vi.waitFor(() => expect(m.views()[0]!.status).toBe("retrying"));
    m.cancel(key!);
    expect(m.views()[0]!.status).toBe("canceled");
    await vi.waitFor(() => expect(server.canceled).toEqual(["f1"]));
    expect(m.unfinished()).toEqual([]);
  });

  it("refuses a file over the size limit before sending anything", async () => {
    const server = new FakeServer();
    const m = manager(server);
    m.add([makeFile(20_000, "huge.iso")]);
    const view = m.views()[0]!;
    expect(view.status).toBe("failed");
    expect(view.error).toContain("10 kB");
    expect(server.created).toEqual([]);
  });

  it("shows the server's message for quota errors", async () => {
    const server = new FakeServer();
    const backend = server.backend();
    backend.createUpload = async () => {
      throw new ApiError(413, "quota_exceeded", "uploading 50 bytes would exceed your quota");
    };
    const m = new UploadManager({
      backend,
      maxFileSize: 1e6,
      owner: "u-ann",
      storage: localStorage,
      hash: async () => "x",
    });
    const [key] = m.add([makeFile(50)]);
    const view = await settle(m, key!);
    expect(view.status).toBe("failed");
    expect(view.error).toContain("Not enough storage");
  });

  it("puts quota and size errors in readable sizes", () => {
    const quota = new ApiError(
      403,
      "quota_exceeded",
      "uploading 63963136 bytes would exceed your quota of 62914560 bytes (10000000 used)",
    );
    expect(uploadErrorMessage(quota, 63963136)).toBe(
      "Not enough storage: this file needs 64 MB, and 53 MB of your 63 MB is free. Delete some files, then retry.",
    );
    const tooLarge = new ApiError(
      413,
      "file_too_large",
      "the file is 5 bytes; the largest allowed is 4000 bytes",
    );
    expect(uploadErrorMessage(tooLarge, 5)).toBe("Too large: the limit is 4.0 kB per file.");
    expect(uploadErrorMessage(new ApiError(400, "invalid_name", "names cannot contain /"), 1)).toBe(
      "names cannot contain /",
    );
  });

  it("starts a fresh upload on retry after a checksum mismatch", async () => {
    const server = new FakeServer();
    const backend = server.backend();
    let completes = 0;
    backend.completeUpload = async (id) => {
      if (++completes === 1) {
        throw new ApiError(409, "checksum_mismatch", "stored checksum does not match");
      }
      server.completed.push(id);
      return { id } as FileRecord;
    };
    const m = new UploadManager({
      backend,
      maxFileSize: 1e6,
      owner: "u-ann",
      storage: localStorage,
      hash: async () => "x",
    });
    const [key] = m.add([makeFile(50)]);
    const failed = await settle(m, key!);
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("checksum");
    await vi.waitFor(() => expect(server.canceled).toEqual(["f1"]));
    m.resume(key!);
    expect((await settle(m, key!, ["done"])).status).toBe("done");
    expect(server.created).toHaveLength(2);
    expect(server.completed).toEqual(["f2"]);
  });

  it("starts a fresh upload on retry when the upload URL is closed", async () => {
    const server = new FakeServer();
    const backend = server.backend();
    const putWhole = backend.transfer.putWhole;
    let puts = 0;
    backend.transfer.putWhole = async (...args) => {
      if (++puts === 1) {
        throw new ApiError(409, "upload_closed", "this upload is over");
      }
      return putWhole(...args);
    };
    const m = new UploadManager({
      backend,
      maxFileSize: 1e6,
      owner: "u-ann",
      storage: localStorage,
      hash: async () => "x",
    });
    const [key] = m.add([makeFile(50)]);
    const failed = await settle(m, key!);
    expect(failed.status).toBe("failed");
    expect(failed.error).toContain("finished, cancelled or deleted elsewhere");
    await vi.waitFor(() => expect(server.canceled).toEqual(["f1"]));
    m.resume(key!);
    expect((await settle(m, key!, ["done"])).status).toBe("done");
    expect(server.completed).toEqual(["f2"]);
  });

  it("ignores the same file picked again while it is still uploading", async () => {
    const server = new FakeServer();
    const m = manager(server);
    const keys = m.add([makeFile(150, "twice.bin")]);
    expect(m.add([makeFile(150, "twice.bin")])).toEqual([]);
    expect((await settle(m, keys[0]!)).status).toBe("done");
    expect(server.created).toHaveLength(1);
  });
});

describe("unfinished uploads belong to the person who started them", () => {
  /** Ann starts a large upload that the network cuts: it is saved for her. */
  async function annLeavesOneUnfinished(server: FakeServer) {
    for (let i = 2; i < 10; i++) server.failChunks.add(i);
    const ann = manager(server, localStorage, "u-ann");
    const [key] = ann.add([makeFile(300, "ann-movie.mp4")]);
    expect((await settle(ann, key!)).status).toBe("failed");
    server.failChunks.clear();
    expect(ann.saved.list().map((r) => r.name)).toEqual(["ann-movie.mp4"]);
    return ann;
  }

  function keys(): string[] {
    return Object.keys(localStorage).sort();
  }

  it("keeps them under the person's own key", async () => {
    await annLeavesOneUnfinished(new FakeServer());
    expect(keys()).toEqual([savedUploadsKey("u-ann")]);
    expect(savedUploadsKey("u-ann")).not.toBe(savedUploadsKey("u-bob"));
    // Ids are opaque: one that looks like a key suffix stays its own.
    expect(savedUploadsKey("a.b")).not.toBe(savedUploadsKey("a%2Eb"));
  });

  it("Ann's are invisible to Bob on the same browser, and Bob never resumes them", async () => {
    const server = new FakeServer();
    await annLeavesOneUnfinished(server);

    const bob = manager(server, localStorage, "u-bob");
    expect(bob.unfinished()).toEqual([]);
    expect(bob.saved.list()).toEqual([]);
    // Bob picks a file just like Ann's (same name, size and time): a new upload.
    const [key] = bob.add([makeFile(300, "ann-movie.mp4")]);
    const view = await settle(bob, key!);
    expect(view.status).toBe("done");
    expect(view.resumedFrom).toBeNull();
    expect(view.fileId).toBe("f2");
    expect(server.created).toHaveLength(2);
    expect(bob.unfinished()).toEqual([]);

    // Ann's session was neither used nor touched: back on this browser, she resumes it.
    const annAgain = manager(server, localStorage, "u-ann");
    expect(annAgain.unfinished().map((r) => [r.name, r.fileId])).toEqual([["ann-movie.mp4", "f1"]]);
    const [k2] = annAgain.add([makeFile(300, "ann-movie.mp4")]);
    const resumed = await settle(annAgain, k2!);
    expect(resumed.status).toBe("done");
    expect(resumed.fileId).toBe("f1");
    expect(resumed.resumedFrom).toBeGreaterThan(0);
  });

  it("sign-out forgets Ann's, and only Ann's", async () => {
    const server = new FakeServer();
    // Bob has one of his own from an earlier visit.
    for (let i = 2; i < 10; i++) server.failChunks.add(i);
    const bob = manager(server, localStorage, "u-bob");
    const [bk] = bob.add([makeFile(300, "bob.iso")]);
    expect((await settle(bob, bk!)).status).toBe("failed");

    const ann = await annLeavesOneUnfinished(server);
    ann.signOut();
    expect(ann.saved.list()).toEqual([]);
    expect(ann.views()).toEqual([]);
    expect(keys()).toEqual([savedUploadsKey("u-bob")]);
    // A new page for Ann, or anyone else, finds nothing of hers.
    expect(manager(server, localStorage, "u-ann").unfinished()).toEqual([]);
    expect(
      manager(server, localStorage, "u-bob")
        .unfinished()
        .map((r) => r.name),
    ).toEqual(["bob.iso"]);
  });

  it("sign-out stops running uploads, and nothing is saved after it", async () => {
    const server = new FakeServer();
    const backend = server.backend();
    const start = backend.transfer.startSession;
    let open: () => void = () => {};
    const opened = new Promise<void>((resolve) => (open = resolve));
    let sessionAsked = false;
    backend.transfer.startSession = async (target, signal) => {
      sessionAsked = true;
      await opened;
      // A session that was already on its way when the person signed out.
      return start(target, signal);
    };
    const ann = new UploadManager({
      backend,
      maxFileSize: 1e6,
      owner: "u-ann",
      chunkSize: 64,
      storage: localStorage,
      hash: async () => "x",
    });
    ann.add([makeFile(300, "late.bin")]);
    await vi.waitFor(() => expect(sessionAsked).toBe(true));
    ann.signOut();
    open();
    await new Promise((r) => setTimeout(r, 20));
    expect(keys()).toEqual([]);
    expect(ann.unfinished()).toEqual([]);
    expect(server.puts).toEqual([]);
    expect(server.completed).toEqual([]);
    // Nothing starts again after sign-out.
    expect(ann.add([makeFile(10, "after.txt")])).toEqual([]);
    expect(server.created).toHaveLength(1);
  });

  it("drops the unscoped key from before, without handing it to anyone", () => {
    const legacy = JSON.stringify([
      {
        fileId: "f9",
        location: "/blob/sessions/f9",
        name: "whose.mp4",
        size: 300,
        lastModified: 1700000000000,
        savedAt: Date.now(),
      },
    ]);
    localStorage.setItem(LEGACY_STORAGE_KEY, legacy);
    const m = manager(new FakeServer(), localStorage, "u-ann");
    expect(m.unfinished()).toEqual([]);
    expect(localStorage.getItem(LEGACY_STORAGE_KEY)).toBeNull();
    expect(keys()).toEqual([]);

    // Written again by an old tab still open: sign-out drops it too.
    localStorage.setItem(LEGACY_STORAGE_KEY, legacy);
    m.signOut();
    expect(localStorage.getItem(LEGACY_STORAGE_KEY)).toBeNull();
  });

  it("remembers nothing when nobody is known", async () => {
    const server = new FakeServer();
    for (let i = 2; i < 10; i++) server.failChunks.add(i);
    const m = manager(server, localStorage, null);
    const [key] = m.add([makeFile(300)]);
    expect((await settle(m, key!)).status).toBe("failed");
    expect(keys()).toEqual([]);
    expect(m.unfinished()).toEqual([]);
  });

  it("stop() (signed out elsewhere) halts the uploads but keeps them for their owner", async () => {
    const server = new FakeServer();
    for (let i = 2; i < 10; i++) server.failChunks.add(i);
    const ann = new UploadManager({
      backend: server.backend(),
      maxFileSize: 1e6,
      owner: "u-ann",
      chunkSize: 64,
      storage: localStorage,
      retryDelays: [60_000],
      hash: async () => "x",
    });
    ann.add([makeFile(300, "kept.bin")]);
    await vi.waitFor(() => expect(ann.views()[0]!.status).toBe("retrying"));
    ann.stop();
    expect(ann.views()).toEqual([]);
    expect(server.canceled).toEqual([]);
    expect(
      manager(server, localStorage, "u-ann")
        .unfinished()
        .map((r) => r.name),
    ).toEqual(["kept.bin"]);
  });
});

describe("uploads into folders", () => {
  it("sends the folder and what to do about a taken name, and only when said", async () => {
    const server = new FakeServer();
    const m = manager(server);
    const [a] = m.add([makeFile(5, "a.txt")], { folderId: "trip", onConflict: "replace" });
    const [b] = m.add([makeFile(5, "b.txt")]);
    await settle(m, a!);
    await settle(m, b!);
    expect(server.created[0]).toMatchObject({ folder_id: "trip", on_conflict: "replace" });
    expect(server.created[1]).not.toHaveProperty("folder_id");
    expect(server.created[1]).not.toHaveProperty("on_conflict");
    expect(m.views().map((v) => v.folderId)).toEqual(["trip", null]);
  });

  it("takes the same file for two folders as two uploads", () => {
    const m = manager(new FakeServer());
    const f = makeFile(5, "same.txt");
    expect(m.add([f], { folderId: "x" })).toHaveLength(1);
    expect(m.add([f], { folderId: "x" })).toHaveLength(0);
    expect(m.add([f], { folderId: "y" })).toHaveLength(1);
  });

  it("resumes a saved session only for the folder it was going into", () => {
    const saved = new SavedUploads(localStorage, "u-ann");
    saved.save({
      fileId: "f9",
      location: "/s/1",
      name: "v.mp4",
      size: 9,
      lastModified: 1,
      folderId: "trip",
    });
    const file = { name: "v.mp4", size: 9, lastModified: 1 };
    expect(saved.find(file, "trip")?.fileId).toBe("f9");
    expect(saved.find(file, null)).toBeUndefined();
    // Saved before folders: any folder.
    saved.save({ fileId: "f8", location: "/s/2", name: "w.mp4", size: 9, lastModified: 1 });
    expect(saved.find({ ...file, name: "w.mp4" }, "elsewhere")?.fileId).toBe("f8");
  });

  it("shows a folder upload as a whole: preparing, then files, bytes, done", async () => {
    const server = new FakeServer();
    const m = manager(server);
    const id = m.beginBatch("Trip", 2, 30, 2);
    expect(m.batches()[0]).toMatchObject({ label: "Trip", status: "preparing", foldersTotal: 2 });
    m.updateBatch(id, { foldersMade: 1 });
    expect(m.batches()[0]!.foldersMade).toBe(1);
    m.updateBatch(id, { prepared: true });
    const keys = m.addItems([
      { file: makeFile(10, "a"), folderId: "d1", batch: id, path: "Trip" },
      { file: makeFile(20, "b"), folderId: "d2", batch: id, path: "Trip/day 1" },
    ]);
    for (const k of keys) await settle(m, k);
    expect(m.batches()[0]).toMatchObject({
      status: "done",
      files: 2,
      done: 2,
      size: 30,
      loaded: 30,
    });
    expect(m.views().map((v) => v.path)).toEqual(["Trip", "Trip/day 1"]);
    m.dismissBatch(id);
    expect(m.batches()).toEqual([]);
    expect(m.views()).toEqual([]);
  });

  it("cancels a whole batch, its preparation included", async () => {
    const m = manager(new FakeServer());
    const id = m.beginBatch("Trip", 1, 10, 3);
    m.cancelBatch(id);
    expect(m.batchCanceled(id)).toBe(true);
    expect(m.batches()[0]!.status).toBe("canceled");
    m.updateBatch(id, { error: "too late" });
    expect(m.batches()[0]!.status).toBe("canceled");
  });
});

describe("batchProgress", () => {
  const batch = {
    id: "b1",
    label: "Trip",
    files: 3,
    size: 300,
    stage: null,
    foldersMade: 0,
    foldersTotal: 0,
    error: null,
    already: 0,
    alreadyBytes: 0,
  };
  const view = (status: UploadView["status"], size: number, loaded: number, speed: number | null) =>
    ({ batch: "b1", status, size, loaded, speed }) as UploadView;

  it("adds up files, bytes and speed, and the time left", () => {
    const p = batchProgress(batch, [
      view("done", 100, 100, null),
      view("uploading", 100, 50, 25),
      view("uploading", 100, 0, 25),
    ]);
    expect(p).toMatchObject({ status: "uploading", done: 1, files: 3, loaded: 150, speed: 50 });
    expect(p.eta).toBe(3);
  });

  it("says how many failed once nothing is going, and leaves canceled files out", () => {
    const p = batchProgress(batch, [
      view("done", 100, 100, null),
      view("failed", 100, 10, null),
      view("canceled", 100, 0, null),
    ]);
    expect(p).toMatchObject({ status: "failed", files: 2, size: 200, loaded: 110 });
    expect(p.error).toBe("1 of 3 files failed.");
  });

  it("counts files found there already as done, whole", () => {
    const again = { ...batch, already: 2, alreadyBytes: 200 };
    const p = batchProgress(again, [view("uploading", 100, 40, 20)]);
    expect(p).toMatchObject({ status: "uploading", done: 2, already: 2, size: 300, loaded: 240 });
    expect(p.eta).toBe(3);
    // Every file there already: done, with nothing sent.
    expect(batchProgress({ ...batch, files: 2, already: 2, alreadyBytes: 200 }, [])).toMatchObject({
      status: "done",
      done: 2,
      size: 200,
    });
  });
});

describe("telling the server how far an upload is", () => {
  /**
   * A manager on a clock the test moves: each step of a transfer's progress
   * is [ms later, bytes loaded in this request].
   */
  function setup(
    steps: [number, number][],
    report: (id: string, received: number) => Promise<FileRecord> = async (id) =>
      ({ id }) as FileRecord,
    threshold = 1e6,
  ) {
    let clock = 1_000_000;
    const server = new FakeServer(threshold);
    const base = server.backend();
    const reports: [number, string, number][] = [];
    const play = async (onProgress: (n: number) => void, offset = 0) => {
      for (const [ms, n] of steps) {
        clock += ms;
        onProgress(n - offset);
        // Let a report that is under way settle, as the network would.
        await new Promise((r) => setTimeout(r, 0));
      }
    };
    const backend: UploadBackend = {
      ...base,
      transfer: {
        ...base.transfer,
        putWhole: async (target, body, onProgress, signal) => {
          await play(onProgress);
          return base.transfer.putWhole(target, body, () => {}, signal);
        },
        putChunk: async (location, chunk, first, total, onProgress, signal) => {
          // The whole file in one chunk here: its steps are absolute.
          await play(onProgress, first);
          return base.transfer.putChunk(location, chunk, first, total, () => {}, signal);
        },
      },
      reportProgress: (id, received) => {
        reports.push([clock - 1_000_000, id, received]);
        return report(id, received);
      },
    };
    const m = new UploadManager({
      backend,
      maxFileSize: 1e9,
      owner: "u-ann",
      chunkSize: 1e9,
      storage: null,
      retryDelays: [1],
      now: () => clock,
      hash: async () => "AAAAAA==",
    });
    return { m, reports, server };
  }

  it("reports a PUT's bytes every 2 s at most, from 2 s after they started", async () => {
    const { m, reports } = setup([
      [500, 100],
      [1000, 200],
      // 2 s since the bytes started: told.
      [500, 300],
      [1000, 400],
      // 2 s since the last report: told again.
      [1000, 500],
      [1900, 600],
      [100, 700],
      [500, 1000],
    ]);
    const [key] = m.add([makeFile(1000)]);
    expect((await settle(m, key!)).status).toBe("done");
    expect(reports).toEqual([
      [2000, "f1", 300],
      [4000, "f1", 500],
      [6000, "f1", 700],
    ]);
  });

  it("never reports a file sent in less than 2 s", async () => {
    const { m, reports } = setup([
      [300, 20],
      [1500, 40],
      [100, 50],
    ]);
    const [key] = m.add([makeFile(50)]);
    expect((await settle(m, key!)).status).toBe("done");
    expect(reports).toEqual([]);
  });

  it("keeps one report in flight at most, and the upload never waits for it", async () => {
    let release: () => void = () => {};
    const { m, reports, server } = setup(
      [
        [2000, 100],
        [2000, 200],
        [2000, 300],
      ],
      (id) =>
        new Promise<FileRecord>((resolve) => {
          release = () => resolve({ id } as FileRecord);
        }),
    );
    const [key] = m.add([makeFile(300)]);
    expect((await settle(m, key!)).status).toBe("done");
    // The first never answered: none after it, and the upload completed.
    expect(reports).toEqual([[2000, "f1", 100]]);
    expect(server.completed).toEqual(["f1"]);
    release();
  });

  it("ignores a report that fails, or throws, and goes on reporting", async () => {
    let n = 0;
    const { m, reports, server } = setup(
      [
        [2000, 100],
        [2000, 200],
        [2000, 300],
      ],
      () => {
        n++;
        if (n === 1) return Promise.reject(new ApiError(409, "not_pending", "ready already"));
        throw new NetworkError();
      },
    );
    const [key] = m.add([makeFile(300)]);
    expect((await settle(m, key!)).status).toBe("done");
    expect(reports.map((r) => r[2])).toEqual([100, 200, 300]);
    expect(server.completed).toEqual(["f1"]);
  });

  it("reports a resumable upload's bytes stored in all, chunk after chunk", async () => {
    const { m, reports, server } = setup(
      [
        [1000, 40],
        [1500, 80],
        [1000, 100],
        [1500, 150],
      ],
      undefined,
      10,
    );
    const [key] = m.add([makeFile(150)]);
    expect((await settle(m, key!)).status).toBe("done");
    expect(server.puts).toEqual(["bytes 0-149/150"]);
    expect(reports).toEqual([
      [2500, "f1", 80],
      [5000, "f1", 150],
    ]);
  });

  it("works without a backend that reports (an older one)", async () => {
    const server = new FakeServer();
    const m = manager(server);
    const [key] = m.add([makeFile(50)]);
    expect((await settle(m, key!)).status).toBe("done");
  });
});
