import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "./errors";
import {
  LISTING_LIMIT,
  SNAPSHOT_LIMIT,
  WebSocketFeed,
  applyFeedMessage,
  emptyFeedState,
  mergeListing,
  type FeedMessage,
  type SocketLike,
} from "./feed";
import type { FileRecord, Folder } from "./types";

const folder = (id: string, parent: string | null, name = id): Folder => ({
  id,
  owner_id: "u",
  owner_email: "owner@example.com",
  name,
  parent_id: parent,
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
});
const file = (
  id: string,
  folderId: string | null,
  status: FileRecord["status"] = "ready",
  updated = "2026-01-01T00:00:00.000Z",
): FileRecord =>
  ({ id, name: id, size: 1, status, folder_id: folderId, updated_at: updated }) as FileRecord;

const snapshot = (over: Partial<Extract<FeedMessage, { type: "snapshot" }>> = {}): FeedMessage => ({
  type: "snapshot",
  epoch: "E",
  seq: 1,
  files: [],
  shared: [],
  activity: [],
  ...over,
});
const change = (
  seq: number,
  collection: string,
  kind: "added" | "modified" | "removed",
  doc: FileRecord | Folder | { id: string } | null,
  id = doc?.id ?? "",
): FeedMessage => ({ type: "change", seq, collection, kind, id, doc }) as FeedMessage;

describe("applyFeedMessage with folders", () => {
  it("keeps folders from changes, and the snapshot's when it has them", () => {
    const s = emptyFeedState();
    applyFeedMessage(s, snapshot({ folders: [folder("a", null)] }));
    expect(s.complete.folders).toBe(true);
    const touched = applyFeedMessage(s, change(2, "folders", "added", folder("b", "a")));
    expect([...touched]).toEqual(["folders"]);
    applyFeedMessage(s, change(3, "folders", "removed", null, "a"));
    expect([...s.folders.keys()]).toEqual(["b"]);
  });

  it("ignores a collection it does not know, but counts its number", () => {
    const s = emptyFeedState();
    applyFeedMessage(s, snapshot());
    expect(applyFeedMessage(s, change(2, "stickers", "added", { id: "x" })).size).toBe(0);
    expect(s.seq).toBe(2);
    // The next change after it is applied, not taken for a resend.
    applyFeedMessage(s, change(3, "files", "added", file("f", null)));
    expect(s.files.has("f")).toBe(true);
  });

  it("trusts no folders from a snapshot without them, and knows a full one is not complete", () => {
    const s = emptyFeedState();
    applyFeedMessage(s, snapshot());
    expect(s.complete).toEqual({ files: true, folders: false });
    const many = Array.from({ length: SNAPSHOT_LIMIT }, (_, i) => file(`f${i}`, null));
    applyFeedMessage(s, snapshot({ files: many }));
    expect(s.complete.files).toBe(false);
  });
});

describe("mergeListing", () => {
  it("takes what a listing names and drops what it leaves out, unless a later change spoke", () => {
    const s = emptyFeedState();
    applyFeedMessage(s, snapshot({ seq: 10 }));
    s.folders.set("old", folder("old", "p"));
    s.folders.set("elsewhere", folder("elsewhere", "q"));
    // Asked for at 10; meanwhile "new" was added and "renamed" renamed.
    applyFeedMessage(s, change(11, "folders", "added", folder("new", "p")));
    applyFeedMessage(s, change(12, "folders", "modified", folder("renamed", "p", "after")));
    mergeListing(s, "folders", "p", [folder("renamed", "p", "before"), folder("listed", "p")], 10);
    expect(new Set(s.folders.keys())).toEqual(new Set(["elsewhere", "new", "renamed", "listed"]));
    expect(s.folders.get("renamed")!.name).toBe("after");
  });

  it("leaves older files than a full page's alone", () => {
    const s = emptyFeedState();
    s.files.set("ancient", file("ancient", "p", "ready", "2020-01-01T00:00:00.000Z"));
    s.files.set("gone", file("gone", "p", "ready", "2026-06-01T00:00:00.000Z"));
    const page = Array.from({ length: LISTING_LIMIT }, (_, i) =>
      file(`f${i}`, "p", "ready", "2026-03-01T00:00:00.000Z"),
    );
    mergeListing(s, "files", "p", page, 0);
    expect(s.files.has("ancient")).toBe(true);
    expect(s.files.has("gone")).toBe(false);
  });

  it("takes uploads in progress from a listing (uploading=true has them), and drops those it leaves out", () => {
    const s = emptyFeedState();
    applyFeedMessage(s, snapshot({ seq: 5 }));
    // Cancelled before the listing: no longer there.
    s.files.set("cancelled", file("cancelled", "p", "pending", "2026-06-01T00:00:00.000Z"));
    // Reported progress after the listing was asked for: the change wins.
    applyFeedMessage(
      s,
      change(6, "shared", "modified", { ...file("moving", "p", "pending"), received: 900 }),
    );
    mergeListing(
      s,
      "shared",
      "p",
      [
        { ...file("moving", "p", "pending"), received: 100 },
        { ...file("new", "p", "pending"), received: 0 },
        file("done", "p"),
      ],
      5,
    );
    expect(s.shared.get("moving")!.received).toBe(900);
    expect(s.shared.get("new")!.status).toBe("pending");
    expect(s.shared.has("done")).toBe(true);
    mergeListing(s, "files", "p", [file("done2", "p")], 6);
    expect(s.files.has("cancelled")).toBe(false);
  });
});

class FakeSocket implements SocketLike {
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  constructor(readonly url: string) {}
  send(msg: FeedMessage) {
    this.onmessage?.({ data: JSON.stringify(msg) } as MessageEvent);
  }
  close() {}
  drop() {
    this.onclose?.({ code: 1006 } as CloseEvent);
  }
}

/** A promise the test settles. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

function startFeed(withList = true) {
  const sockets: FakeSocket[] = [];
  const folderCalls: { parent: string | null; answer: ReturnType<typeof deferred<Folder[]>> }[] =
    [];
  const fileCalls: { parent: string | null; answer: ReturnType<typeof deferred<FileRecord[]>> }[] =
    [];
  const feed = new WebSocketFeed({
    connect: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    location: { protocol: "http:", host: "x" },
    backoff: () => 1000,
    list: withList
      ? {
          folders: (parent) => {
            const answer = deferred<Folder[]>();
            folderCalls.push({ parent, answer });
            return answer.promise;
          },
          files: (parent) => {
            const answer = deferred<FileRecord[]>();
            fileCalls.push({ parent, answer });
            return answer.promise;
          },
        }
      : undefined,
  });
  return { feed, sockets, folderCalls, fileCalls };
}

const ids = (list: { id: string }[]) => list.map((x) => x.id).sort();

describe("WebSocketFeed folders", () => {
  afterEach(() => vi.useRealTimers());

  it("lists a folder once after the snapshot (which has no folders), then follows the changes", async () => {
    const { feed, sockets, folderCalls } = startFeed();
    const seen: string[][] = [];
    feed.subscribeFolders("trip", (f) => seen.push(ids(f)));
    // Nothing is listed before the snapshot, nothing told either.
    expect(folderCalls).toHaveLength(0);
    sockets[0]!.send(snapshot());
    expect(folderCalls.map((c) => c.parent)).toEqual(["trip"]);
    // A change while the listing is under way wins over it.
    sockets[0]!.send(change(2, "folders", "added", folder("day2", "trip")));
    expect(seen).toEqual([]);
    folderCalls[0]!.answer.resolve([folder("day1", "trip")]);
    await vi.waitFor(() => expect(seen).toEqual([["day1", "day2"]]));

    // Renamed, moved away, moved in, removed.
    sockets[0]!.send(change(3, "folders", "modified", folder("day1", "trip", "Day one")));
    sockets[0]!.send(change(4, "folders", "modified", folder("day2", null)));
    sockets[0]!.send(change(5, "folders", "added", folder("day3", "trip")));
    sockets[0]!.send(change(6, "folders", "removed", null, "day1"));
    expect(seen.slice(1)).toEqual([["day1", "day2"], ["day1"], ["day1", "day3"], ["day3"]]);
    // A change elsewhere tells nobody here.
    sockets[0]!.send(change(7, "folders", "added", folder("other", "x")));
    expect(seen).toHaveLength(5);

    // A second subscriber gets it at once, without another listing.
    let late: string[] = [];
    feed.subscribeFolders("trip", (f) => (late = ids(f)));
    expect(late).toEqual(["day3"]);
    expect(folderCalls).toHaveLength(1);
    feed.close();
  });

  it("reads a folder's files, uploads in progress too, from a complete snapshot, without listing", () => {
    const { feed, sockets, fileCalls } = startFeed();
    let got: string[] = [];
    feed.subscribeFilesIn(null, (f) => (got = ids(f)));
    sockets[0]!.send(
      snapshot({
        files: [file("top", null), file("inside", "trip"), file("busy", null, "pending")],
      }),
    );
    expect(got).toEqual(["busy", "top"]);
    expect(fileCalls).toHaveLength(0);
    // A file arriving in the folder, and one moved out of it.
    sockets[0]!.send(change(2, "files", "added", file("new", null)));
    sockets[0]!.send(change(3, "files", "modified", file("top", "trip")));
    expect(got).toEqual(["busy", "new"]);
    feed.close();
  });

  it("uses the snapshot's folders when it has them all", () => {
    const { feed, sockets, folderCalls } = startFeed();
    let got: string[] = [];
    feed.subscribeFolders(null, (f) => (got = ids(f)));
    sockets[0]!.send(snapshot({ folders: [folder("a", null), folder("b", "a")] }));
    expect(got).toEqual(["a"]);
    expect(folderCalls).toHaveLength(0);
    feed.close();
  });

  it("takes a folder that is gone (404) as empty, and lists again after a failure", async () => {
    vi.useFakeTimers();
    const { feed, sockets, folderCalls } = startFeed();
    const gone = vi.fn();
    const flaky = vi.fn();
    feed.subscribeFolders("deleted", gone);
    feed.subscribeFolders("flaky", flaky);
    sockets[0]!.send(snapshot());
    folderCalls[0]!.answer.reject(new ApiError(404, "not_found", "folder not found"));
    folderCalls[1]!.answer.reject(new Error("offline"));
    await vi.advanceTimersByTimeAsync(0);
    expect(gone).toHaveBeenCalledWith([]);
    expect(flaky).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1000);
    expect(folderCalls.map((c) => c.parent)).toEqual(["deleted", "flaky", "flaky"]);
    folderCalls[2]!.answer.resolve([folder("x", "flaky")]);
    await vi.advanceTimersByTimeAsync(0);
    expect(flaky).toHaveBeenCalledWith([folder("x", "flaky")]);
    feed.close();
  });

  it("lists what is watched again after a fresh snapshot, and drops stale answers", async () => {
    vi.useFakeTimers();
    const { feed, sockets, folderCalls } = startFeed();
    const seen: string[][] = [];
    feed.subscribeFolders(null, (f) => seen.push(ids(f)));
    sockets[0]!.send(snapshot());
    const first = folderCalls[0]!;
    // The connection drops before the listing answers; the server restarted
    // meanwhile (a new epoch): a fresh snapshot, so a fresh listing.
    sockets[0]!.drop();
    await vi.advanceTimersByTimeAsync(1000);
    sockets[1]!.send(snapshot({ epoch: "E2" }));
    expect(folderCalls).toHaveLength(2);
    first.answer.resolve([folder("stale", null)]);
    folderCalls[1]!.answer.resolve([folder("fresh", null)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([["fresh"]]);
    feed.close();
  });

  it("without a way to list, tells what the feed knows", () => {
    const { feed, sockets } = startFeed(false);
    let got: string[] | null = null;
    feed.subscribeFolders(null, (f) => (got = ids(f)));
    sockets[0]!.send(snapshot());
    expect(got).toEqual([]);
    sockets[0]!.send(change(2, "folders", "added", folder("a", null)));
    expect(got).toEqual(["a"]);
    feed.close();
  });
});
