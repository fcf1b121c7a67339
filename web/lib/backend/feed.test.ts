import { describe, expect, it, vi } from "vitest";
import type { Activity, FileRecord } from "./types";
import {
  CLOSE_SIGNED_OUT,
  WebSocketFeed,
  applyFeedMessage,
  backoff,
  emptyFeedState,
  feedUrl,
  type FeedMessage,
  type SocketLike,
} from "./feed";

const file = (id: string, name = id): FileRecord =>
  ({ id, name, size: 1, status: "ready", created_at: "", updated_at: "" }) as FileRecord;
const act = (id: string, at: string): Activity => ({ id, at, kind: "downloaded" }) as Activity;

describe("applyFeedMessage", () => {
  it("replaces everything on a snapshot and applies changes in order", () => {
    const s = emptyFeedState();
    applyFeedMessage(s, {
      type: "snapshot",
      epoch: "e1",
      seq: 5,
      files: [file("a"), file("b")],
      shared: [],
      activity: [],
    });
    expect([...s.files.keys()]).toEqual(["a", "b"]);
    const touched = applyFeedMessage(s, {
      type: "change",
      seq: 6,
      collection: "files",
      kind: "modified",
      id: "a",
      doc: file("a", "renamed"),
    });
    expect([...touched]).toEqual(["files"]);
    expect(s.files.get("a")!.name).toBe("renamed");
    applyFeedMessage(s, {
      type: "change",
      seq: 7,
      collection: "files",
      kind: "removed",
      id: "b",
      doc: null,
    });
    expect([...s.files.keys()]).toEqual(["a"]);
    expect(s.seq).toBe(7);
  });

  it("ignores a change it has already applied", () => {
    const s = emptyFeedState();
    applyFeedMessage(s, {
      type: "snapshot",
      epoch: "e",
      seq: 3,
      files: [],
      shared: [],
      activity: [],
    });
    const add: FeedMessage = {
      type: "change",
      seq: 3,
      collection: "shared",
      kind: "added",
      id: "x",
      doc: file("x"),
    };
    expect(applyFeedMessage(s, add).size).toBe(0);
    expect(s.shared.size).toBe(0);
  });

  it("keeps state on resume", () => {
    const s = emptyFeedState();
    applyFeedMessage(s, {
      type: "snapshot",
      epoch: "e",
      seq: 3,
      files: [file("a")],
      shared: [],
      activity: [],
    });
    applyFeedMessage(s, { type: "resumed", epoch: "e", seq: 9 });
    expect(s.files.size).toBe(1);
    expect(s.seq).toBe(9);
  });
});

describe("feedUrl", () => {
  it("resumes from the epoch and sequence it has", () => {
    const s = emptyFeedState();
    expect(feedUrl({ protocol: "http:", host: "h:1" }, s)).toBe("ws://h:1/api/feed");
    s.epoch = "ep 1";
    s.seq = 42;
    expect(feedUrl({ protocol: "https:", host: "h" }, s)).toBe(
      "wss://h/api/feed?epoch=ep%201&since=42",
    );
  });
  it("backs off up to 15 s", () => {
    expect(backoff(0, () => 0.5)).toBe(500);
    expect(backoff(3, () => 0.5)).toBe(4000);
    expect(backoff(20, () => 0.5)).toBe(15000);
  });
});

class FakeSocket implements SocketLike {
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  send(msg: FeedMessage) {
    this.onmessage?.({ data: JSON.stringify(msg) } as MessageEvent);
  }
  close() {
    this.closed = true;
  }
  drop(code = 1006) {
    this.onclose?.({ code } as CloseEvent);
  }
}

/** A feed over fake sockets, each one kept to be driven by the test. */
function startFeed(): { feed: WebSocketFeed; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  const feed = new WebSocketFeed({
    connect: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    location: { protocol: "http:", host: "x" },
  });
  return { feed, sockets };
}

describe("WebSocketFeed", () => {
  it("delivers snapshots and changes to subscribers, and resumes after a drop", async () => {
    vi.useFakeTimers();
    const { feed, sockets } = startFeed();
    const files: string[][] = [];
    const activity: string[][] = [];
    const statuses: string[] = [];
    feed.subscribeFiles((f) => files.push(f.map((x) => x.id)));
    feed.subscribeActivity((a) => activity.push(a.map((x) => x.id)));
    feed.subscribeStatus((s) => statuses.push(s));

    sockets[0]!.send({
      type: "snapshot",
      epoch: "E",
      seq: 1,
      files: [file("a")],
      shared: [],
      activity: [act("1", "2026-01-01T00:00:00Z"), act("2", "2026-01-02T00:00:00Z")],
    });
    expect(files).toEqual([["a"]]);
    expect(activity).toEqual([["2", "1"]]); // newest first
    sockets[0]!.send({
      type: "change",
      seq: 2,
      collection: "files",
      kind: "added",
      id: "b",
      doc: file("b"),
    });
    expect(files.at(-1)).toEqual(["a", "b"]);

    sockets[0]!.drop();
    expect(statuses).toEqual(["connecting", "live", "reconnecting"]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sockets[1]!.url).toBe("ws://x/api/feed?epoch=E&since=2");
    sockets[1]!.send({ type: "resumed", epoch: "E", seq: 2 });
    expect(statuses.at(-1)).toBe("live");

    // A late subscriber gets the current set at once.
    let late: string[] = [];
    feed.subscribeFiles((f) => (late = f.map((x) => x.id)));
    expect(late).toEqual(["a", "b"]);

    feed.close();
    expect(sockets[1]!.closed).toBe(true);
    vi.useRealTimers();
  });

  it("goes offline at once, without reconnecting, when the server ends a signed-out session's feed", async () => {
    vi.useFakeTimers();
    const { feed, sockets } = startFeed();
    const statuses: string[] = [];
    feed.subscribeStatus((s) => statuses.push(s));
    sockets[0]!.send({ type: "snapshot", epoch: "E", seq: 1, files: [], shared: [], activity: [] });
    sockets[0]!.drop(CLOSE_SIGNED_OUT);
    expect(statuses).toEqual(["connecting", "live", "offline"]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets).toHaveLength(1);
    feed.close();
    vi.useRealTimers();
  });
});
