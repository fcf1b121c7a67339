// The self-hosted live-data source: the server's WebSocket feed at /api/feed.
//
// The server sends a snapshot on connect, then numbered changes. We keep the
// epoch and the last sequence number and pass them on reconnect, so a resumed
// connection neither misses nor repeats a change; when resuming is impossible
// the server sends a fresh snapshot instead.

import type { Activity, FileRecord, LiveData, LiveStatus, Unsubscribe } from "./types";

export type Collection = "files" | "shared" | "activity";

export type FeedMessage =
  | {
      type: "snapshot";
      epoch: string;
      seq: number;
      files: FileRecord[];
      shared: FileRecord[];
      activity: Activity[];
    }
  | { type: "resumed"; epoch: string; seq: number }
  | {
      type: "change";
      seq: number;
      collection: Collection;
      kind: "added" | "modified" | "removed";
      id: string;
      doc: FileRecord | Activity | null;
    };

export interface FeedState {
  epoch: string | null;
  seq: number;
  files: Map<string, FileRecord>;
  shared: Map<string, FileRecord>;
  activity: Map<string, Activity>;
}

/** How many activity entries the client keeps. */
export const ACTIVITY_LIMIT = 500;

export function emptyFeedState(): FeedState {
  return { epoch: null, seq: 0, files: new Map(), shared: new Map(), activity: new Map() };
}

function byId<T extends { id: string }>(docs: T[]): Map<string, T> {
  return new Map(docs.map((d) => [d.id, d]));
}

/**
 * Applies one message; returns the collections it touched. Mutates `state`
 * (the maps are private to the feed).
 */
export function applyFeedMessage(state: FeedState, msg: FeedMessage): Set<Collection> {
  switch (msg.type) {
    case "snapshot":
      state.epoch = msg.epoch;
      state.seq = msg.seq;
      state.files = byId(msg.files ?? []);
      state.shared = byId(msg.shared ?? []);
      state.activity = byId(msg.activity ?? []);
      return new Set<Collection>(["files", "shared", "activity"]);
    case "resumed":
      state.epoch = msg.epoch;
      state.seq = msg.seq;
      return new Set();
    case "change": {
      // A change we have already applied (a resend after reconnect): skip it.
      if (msg.seq <= state.seq) return new Set();
      state.seq = msg.seq;
      const map = state[msg.collection] as Map<string, FileRecord | Activity>;
      if (!map) return new Set();
      if (msg.kind === "removed" || msg.doc === null) {
        map.delete(msg.id);
      } else {
        map.set(msg.id, msg.doc);
        if (msg.collection === "activity" && map.size > ACTIVITY_LIMIT) trimActivity(state);
      }
      return new Set([msg.collection]);
    }
    default:
      return new Set();
  }
}

function trimActivity(state: FeedState) {
  const newest = sortActivity([...state.activity.values()]).slice(0, ACTIVITY_LIMIT);
  state.activity = byId(newest);
}

/** Newest first; ties broken by id so the order is stable. */
export function sortActivity(list: Activity[]): Activity[] {
  return list.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.id < b.id ? 1 : -1));
}

export function feedUrl(base: { protocol: string; host: string }, state: FeedState): string {
  const scheme = base.protocol === "https:" ? "wss:" : "ws:";
  const resume =
    state.epoch !== null ? `?epoch=${encodeURIComponent(state.epoch)}&since=${state.seq}` : "";
  return `${scheme}//${base.host}/api/feed${resume}`;
}

/** Reconnect delay after `attempt` failures in a row: 0.5 s doubling to 15 s, with jitter. */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(15_000, 500 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.75 + random() * 0.5));
}

type Listener<T> = (value: T) => void;

export interface SocketLike {
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  close(code?: number, reason?: string): void;
}

export interface FeedOptions {
  /** Opens a socket; a seam for tests. */
  connect: (url: string) => SocketLike;
  location: { protocol: string; host: string };
}

/** A live connection's status, told to each subscriber at once and on every change. */
export class StatusCell {
  private status: LiveStatus = "connecting";
  private listeners = new Set<(status: LiveStatus) => void>();

  subscribe(onChange: (status: LiveStatus) => void): Unsubscribe {
    this.listeners.add(onChange);
    onChange(this.status);
    return () => this.listeners.delete(onChange);
  }

  set(status: LiveStatus) {
    if (status === this.status) return;
    this.status = status;
    for (const l of this.listeners) l(status);
  }
}

/** The server's close code for a feed whose credential has ended. */
export const CLOSE_SIGNED_OUT = 4401;

export class WebSocketFeed implements LiveData {
  private state = emptyFeedState();
  private socket: SocketLike | null = null;
  private status = new StatusCell();
  private received = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private listeners: Record<Collection, Set<Listener<never>>> = {
    files: new Set(),
    shared: new Set(),
    activity: new Set(),
  };
  private readonly onOnline = () => this.reconnectNow();

  constructor(private readonly options: FeedOptions) {
    this.open();
    if (typeof window !== "undefined") window.addEventListener("online", this.onOnline);
  }

  subscribeFiles(onChange: (files: FileRecord[]) => void): Unsubscribe {
    return this.listen("files", onChange as Listener<never>);
  }

  subscribeShared(onChange: (files: FileRecord[]) => void): Unsubscribe {
    return this.listen("shared", onChange as Listener<never>);
  }

  subscribeActivity(onChange: (activity: Activity[]) => void): Unsubscribe {
    return this.listen("activity", onChange as Listener<never>);
  }

  subscribeStatus(onChange: (status: LiveStatus) => void): Unsubscribe {
    return this.status.subscribe(onChange);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (typeof window !== "undefined") window.removeEventListener("online", this.onOnline);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "bye");
  }

  private listen(collection: Collection, listener: Listener<never>): Unsubscribe {
    this.listeners[collection].add(listener);
    // Listener semantics: a subscriber gets the current set at once when we
    // already have one.
    if (this.received) (listener as Listener<unknown>)(this.current(collection));
    return () => this.listeners[collection].delete(listener);
  }

  private current(collection: Collection): FileRecord[] | Activity[] {
    if (collection === "activity") return sortActivity([...this.state.activity.values()]);
    return [...this.state[collection].values()];
  }

  private open() {
    if (this.closed) return;
    const socket = this.options.connect(feedUrl(this.options.location, this.state));
    this.socket = socket;
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      let msg: FeedMessage;
      try {
        msg = JSON.parse(String(ev.data)) as FeedMessage;
      } catch {
        return;
      }
      const touched = applyFeedMessage(this.state, msg);
      if (msg.type === "snapshot" || msg.type === "resumed") {
        this.attempt = 0;
        this.received = true;
        this.status.set("live");
      }
      for (const c of touched) {
        const value = this.current(c);
        for (const l of this.listeners[c]) (l as Listener<unknown>)(value);
      }
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      // The server ended the feed because its session was signed out (in
      // another tab, say): reconnecting would be refused. Offline at once,
      // so the app checks the session and goes to sign-in.
      if (ev.code === CLOSE_SIGNED_OUT) {
        this.status.set("offline");
        return;
      }
      this.scheduleReconnect();
    };
    socket.onerror = () => {
      // onclose follows and reconnects.
    };
  }

  private scheduleReconnect() {
    if (this.closed) return;
    this.status.set(this.attempt >= 3 ? "offline" : "reconnecting");
    const delay = backoff(this.attempt++);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.open();
    }, delay);
  }

  private reconnectNow() {
    if (this.closed || this.socket) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.attempt = 0;
    this.open();
  }
}
