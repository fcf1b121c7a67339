// The self-hosted feed's folders shared with me: the ones shared with me
// (from the snapshot, listed again when a change cannot be placed), what is
// in them (listed when looked at, then live), and "Shared with me" keeping
// only the files shared with me themselves.

import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "./errors";
import {
  WebSocketFeed,
  applyFeedMessage,
  contentsOf,
  directShares,
  emptyFeedState,
  mergeListing,
  type FeedMessage,
  type SocketLike,
} from "./feed";
import type { FileRecord, Folder, FolderDetails } from "./types";

const folder = (id: string, parent: string | null, name = id): Folder => ({
  id,
  owner_id: "owner",
  owner_email: "owner@example.com",
  name,
  parent_id: parent,
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
});
const file = (id: string, folderId: string | null, name = id): FileRecord =>
  ({
    id,
    name,
    size: 1,
    status: "ready",
    owner_id: "owner",
    owner_email: "owner@example.com",
    folder_id: folderId,
    updated_at: "2026-01-01T00:00:00.000Z",
  }) as FileRecord;

const snapshot = (over: Partial<Extract<FeedMessage, { type: "snapshot" }>> = {}): FeedMessage => ({
  type: "snapshot",
  epoch: "E",
  seq: 1,
  files: [],
  shared: [],
  activity: [],
  folders: [],
  shared_folders: [],
  ...over,
});
const change = (
  seq: number,
  collection: string,
  kind: "added" | "modified" | "removed",
  doc: FileRecord | Folder | null,
  id = doc?.id ?? "",
): FeedMessage => ({ type: "change", seq, collection, kind, id, doc }) as FeedMessage;

const ids = (list: { id: string }[]) => list.map((x) => x.id).sort();

describe("applyFeedMessage with shared folders", () => {
  it("takes the snapshot's shared folders as the ones shared with me, and its files as direct", () => {
    const s = emptyFeedState();
    applyFeedMessage(
      s,
      snapshot({ shared_folders: [folder("p", null)], shared: [file("f", "elsewhere")] }),
    );
    expect(s.rootsKnown).toBe(true);
    expect(ids(contentsOf(s, "shared_folders", null))).toEqual(["p"]);
    expect(ids(directShares(s))).toEqual(["f"]);
    // A folder made inside it, and a file put in it: not at the top.
    applyFeedMessage(s, change(2, "shared_folders", "added", folder("sub", "p")));
    applyFeedMessage(s, change(3, "shared", "added", file("g", "sub")));
    expect(ids(contentsOf(s, "shared_folders", null))).toEqual(["p"]);
    expect(ids(contentsOf(s, "shared_folders", "p"))).toEqual(["sub"]);
    expect(ids(contentsOf(s, "shared", "sub"))).toEqual(["g"]);
    expect(ids(directShares(s))).toEqual(["f"]);
    // A file at its owner's top can only be shared itself.
    applyFeedMessage(s, change(4, "shared", "added", file("top", null)));
    expect(ids(directShares(s))).toEqual(["f", "top"]);
    // Unshared: gone from the top.
    applyFeedMessage(s, change(5, "shared_folders", "removed", null, "p"));
    expect(contentsOf(s, "shared_folders", null)).toEqual([]);
  });

  it("does not trust a snapshot without shared folders (an older server)", () => {
    const s = emptyFeedState();
    applyFeedMessage(s, { ...snapshot(), shared_folders: undefined } as FeedMessage);
    expect(s.rootsKnown).toBe(false);
  });

  it("merges a listing of the folders shared with me, a later change winning", () => {
    const s = emptyFeedState();
    applyFeedMessage(s, snapshot({ seq: 10, shared_folders: [folder("old", null)] }));
    applyFeedMessage(s, change(11, "shared_folders", "removed", null, "gone"));
    mergeListing(s, "shared_folders", null, [folder("new", "x"), folder("gone", null)], 10);
    expect(ids(contentsOf(s, "shared_folders", null))).toEqual(["new"]);
    expect(s.rootsKnown).toBe(true);
  });
});

class FakeSocket implements SocketLike {
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  send(msg: FeedMessage) {
    this.onmessage?.({ data: JSON.stringify(msg) } as MessageEvent);
  }
  close() {}
}

function startFeed() {
  const socket = new FakeSocket();
  const calls: string[] = [];
  const answers = {
    roots: [] as Folder[],
    folders: new Map<string, Folder[]>(),
    files: new Map<string, FileRecord[]>(),
    folder: new Map<string, FolderDetails>(),
  };
  const feed = new WebSocketFeed({
    connect: () => socket,
    location: { protocol: "http:", host: "x" },
    backoff: () => 1000,
    list: {
      folders: async () => [],
      files: async () => [],
      shared_folders: async (parent) => {
        calls.push(`folders:${parent ?? ""}`);
        return parent === null ? answers.roots : (answers.folders.get(parent) ?? []);
      },
      shared: async (parent) => {
        calls.push(`files:${parent ?? ""}`);
        return answers.files.get(parent ?? "") ?? [];
      },
      folder: async (id) => {
        calls.push(`folder:${id}`);
        const d = answers.folder.get(id);
        if (!d) throw new ApiError(404, "not_found", "folder not found");
        return d;
      },
    },
  });
  return { feed, socket, calls, answers };
}

describe("WebSocketFeed shared folders", () => {
  afterEach(() => vi.useRealTimers());

  it("tells the folders shared with me from the snapshot, and follows shares and unshares", async () => {
    const { feed, socket, calls, answers } = startFeed();
    let top: string[] = [];
    feed.subscribeSharedFolders(null, (f) => (top = ids(f)));
    socket.send(snapshot({ shared_folders: [folder("p", null)] }));
    expect(top).toEqual(["p"]);
    expect(calls).toEqual([]);
    // Newly shared with me (its folder is not one I see): they are listed again.
    answers.roots = [folder("p", null), folder("q", "theirs")];
    socket.send(change(2, "shared_folders", "added", folder("q", "theirs")));
    await vi.waitFor(() => expect(top).toEqual(["p", "q"]));
    expect(calls).toEqual(["folders:"]);
    // Renamed: told at once; unshared: gone at once.
    socket.send(change(3, "shared_folders", "modified", folder("p", null, "Project 2")));
    expect(top).toEqual(["p", "q"]);
    socket.send(change(4, "shared_folders", "removed", null, "q"));
    expect(top).toEqual(["p"]);
    feed.close();
  });

  it("lists a shared folder when looked at, then follows its files and folders", async () => {
    const { feed, socket, calls, answers } = startFeed();
    answers.folders.set("p", [folder("sub", "p")]);
    answers.files.set("sub", [file("a", "sub")]);
    let inP: string[] = [];
    let inSub: string[] = [];
    feed.subscribeSharedFolders("p", (f) => (inP = ids(f)));
    feed.subscribeSharedFilesIn("sub", (f) => (inSub = ids(f)));
    let top: string[] = [];
    feed.subscribeShared((f) => (top = ids(f)));
    socket.send(snapshot({ shared_folders: [folder("p", null)], shared: [file("d", null)] }));
    await vi.waitFor(() => expect(inSub).toEqual(["a"]));
    expect(inP).toEqual(["sub"]);
    expect(calls.sort()).toEqual(["files:sub", "folders:p"]);
    // The owner adds a file and renames one: live, and not at the top.
    socket.send(change(2, "shared", "added", file("b", "sub")));
    socket.send(change(3, "shared", "modified", file("a", "sub", "renamed")));
    expect(inSub).toEqual(["a", "b"]);
    expect(top).toEqual(["d"]);
    // Moved out of the folder, and deleted.
    socket.send(change(4, "shared", "modified", file("a", "p")));
    socket.send(change(5, "shared", "removed", null, "b"));
    expect(inSub).toEqual([]);
    feed.close();
  });

  it("follows an upload into a shared folder as it goes, and never shows it at the top", async () => {
    const { feed, socket, answers } = startFeed();
    const pending = (id: string, folderId: string | null, received: number): FileRecord => ({
      ...file(id, folderId),
      size: 1000,
      status: "pending",
      received,
    });
    // Listed with uploading=true: one upload under way already.
    answers.files.set("p", [file("a", "p"), pending("early", "p", 100)]);
    let inP: FileRecord[] = [];
    feed.subscribeSharedFilesIn("p", (f) => (inP = [...f].sort((x, y) => (x.id < y.id ? -1 : 1))));
    let top: string[] = [];
    feed.subscribeShared((f) => (top = ids(f)));
    socket.send(snapshot({ shared_folders: [folder("p", null)] }));
    await vi.waitFor(() => expect(ids(inP)).toEqual(["a", "early"]));
    const state = () => inP.map((f) => `${f.id}:${f.status}:${f.received ?? "-"}`);
    expect(state()).toEqual(["a:ready:-", "early:pending:100"]);
    // A new upload begins, reports progress, and completes.
    socket.send(change(2, "shared", "added", pending("big", "p", 0)));
    expect(state()).toEqual(["a:ready:-", "big:pending:0", "early:pending:100"]);
    socket.send(change(3, "shared", "modified", pending("big", "p", 400)));
    expect(state()).toEqual(["a:ready:-", "big:pending:400", "early:pending:100"]);
    socket.send(change(4, "shared", "added", { ...pending("big", "p", 1000), status: "ready" }));
    expect(state()).toEqual(["a:ready:-", "big:ready:1000", "early:pending:100"]);
    // The other one is cancelled (or swept).
    socket.send(change(5, "shared", "removed", null, "early"));
    expect(state()).toEqual(["a:ready:-", "big:ready:1000"]);
    // An upload at its owner's top is nobody's "Shared with me" while pending.
    socket.send(change(6, "shared", "added", pending("loose", null, 0)));
    expect(top).toEqual([]);
    feed.close();
  });

  it("asks about a file's unknown folder: shared with me itself unless I see the folder", async () => {
    const { feed, socket, calls, answers } = startFeed();
    let top: string[] = [];
    feed.subscribeShared((f) => (top = ids(f)));
    socket.send(snapshot({ shared_folders: [folder("p", null)] }));
    // A file in a folder of theirs I do not see: shared with me itself.
    socket.send(change(2, "shared", "added", file("mine-to-see", "private")));
    await vi.waitFor(() => expect(top).toEqual(["mine-to-see"]));
    // A file deep in a shared tree: the folder and its path become known.
    answers.folder.set("deep", {
      folder: folder("deep", "mid"),
      path: [folder("p", null), folder("mid", "p")],
    });
    socket.send(change(3, "shared", "added", file("inside", "deep")));
    await vi.waitFor(() => expect(calls).toContain("folder:deep"));
    await new Promise((r) => setTimeout(r, 0));
    expect(top).toEqual(["mine-to-see"]);
    // Another file there needs no question.
    socket.send(change(4, "shared", "added", file("inside2", "mid")));
    expect(calls.filter((c) => c.startsWith("folder:"))).toEqual(["folder:private", "folder:deep"]);
    expect(top).toEqual(["mine-to-see"]);
    feed.close();
  });

  it("takes a shared folder that is gone (unshared, 404) as empty", async () => {
    const socket = new FakeSocket();
    const feed = new WebSocketFeed({
      connect: () => socket,
      location: { protocol: "http:", host: "x" },
      list: {
        folders: async () => [],
        files: async () => [],
        shared: () => Promise.reject(new ApiError(404, "not_found", "folder not found")),
      },
    });
    const got = vi.fn();
    feed.subscribeSharedFilesIn("gone", got);
    socket.send(snapshot());
    await vi.waitFor(() => expect(got).toHaveBeenCalledWith([]));
    feed.close();
  });
});
