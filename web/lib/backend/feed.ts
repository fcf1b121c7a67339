// The self-hosted live-data source: the server's WebSocket feed at /api/feed.
//
// The server sends a snapshot on connect, then numbered changes. We keep the
// epoch and the last sequence number and pass them on reconnect, so a resumed
// connection neither misses nor repeats a change; when resuming is impossible
// the server sends a fresh snapshot instead.
//
// A folder's contents are read from the same state: its subfolders and files
// are the ones whose parent is that folder. The snapshot holds only the 1000
// most recently changed files (and folders; a server may leave folders out
// altogether), so a folder it does not cover in full is listed once through
// the API when someone first looks at it, after the snapshot, and kept up to
// date by the changes from then on, like everything else.
//
// Folders shared with me work the same way: the snapshot carries the ones
// shared with me themselves (`shared_folders`), changes carry every folder
// I see through them (and `shared` every file I see, whether shared with me
// itself or through its folder), and what is in one of them is listed
// through the API when someone first looks at it. "Shared with me" lists
// only the files shared with me themselves: a file that arrives by a change
// is placed by its folder (one I see through a share is not), and when its
// folder is one the page does not know, the API is asked.

import { ApiError } from "./errors";
import type {
  Activity,
  FileRecord,
  Folder,
  FolderDetails,
  LiveData,
  LiveStatus,
  Unsubscribe,
} from "./types";

export type Collection = "files" | "folders" | "shared" | "shared_folders" | "activity";

const COLLECTIONS: ReadonlySet<string> = new Set<Collection>([
  "files",
  "folders",
  "shared",
  "shared_folders",
  "activity",
]);

export type FeedMessage =
  | {
      type: "snapshot";
      epoch: string;
      seq: number;
      files: FileRecord[];
      shared: FileRecord[];
      activity: Activity[];
      /** Left out by servers that send no folders in the snapshot. */
      folders?: Folder[];
      /** The folders shared with me themselves; left out by servers without them. */
      shared_folders?: Folder[];
    }
  | { type: "resumed"; epoch: string; seq: number }
  | {
      type: "change";
      seq: number;
      /** One of ours, or one a newer server added (ignored). */
      collection: Collection | (string & {});
      kind: "added" | "modified" | "removed";
      id: string;
      doc: FileRecord | Folder | Activity | null;
    };

/** The collections subscribed to whole. */
type WholeCollection = Exclude<Collection, "folders" | "shared_folders">;

/**
 * The collections a folder's contents come from: my files and folders, or
 * the files and folders I see through a share.
 */
export type FolderCollection = "files" | "folders" | "shared" | "shared_folders";

const isFileKind = (kind: FolderCollection) => kind === "files" || kind === "shared";

export interface FeedState {
  epoch: string | null;
  seq: number;
  files: Map<string, FileRecord>;
  folders: Map<string, Folder>;
  /** Files shared with me: themselves (`direct`) or through a folder. */
  shared: Map<string, FileRecord>;
  /** The ids in `shared` of the files shared with me themselves. */
  direct: Set<string>;
  /** Folders I see through a share: the ones shared with me (`roots`), and those in them. */
  shared_folders: Map<string, Folder>;
  /** The ids in `shared_folders` of the folders shared with me themselves. */
  roots: Set<string>;
  /** Whether `roots` is known to be all of them (from the snapshot or a listing). */
  rootsKnown: boolean;
  activity: Map<string, Activity>;
  /**
   * Whether the last snapshot held all my files / all my folders (fewer than
   * the server sends at most), so that a folder's contents can be read from
   * it without listing the folder.
   */
  complete: Record<"files" | "folders", boolean>;
  /**
   * The number of the last change to each file and folder ("files:ID",
   * "folders:ID", "shared:ID", "shared_folders:ID"), while listings are under way: a change newer than a
   * listing wins over what the listing says.
   */
  touched: Map<string, number>;
}

/** How many activity entries the client keeps. */
export const ACTIVITY_LIMIT = 500;
/** The most files (and folders) a snapshot carries per collection. */
export const SNAPSHOT_LIMIT = 1000;
/** Files asked for when a folder is listed (the API's largest page). */
export const LISTING_LIMIT = 1000;

export function emptyFeedState(): FeedState {
  return {
    epoch: null,
    seq: 0,
    files: new Map(),
    folders: new Map(),
    shared: new Map(),
    direct: new Set(),
    shared_folders: new Map(),
    roots: new Set(),
    rootsKnown: false,
    activity: new Map(),
    complete: { files: false, folders: false },
    touched: new Map(),
  };
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
    case "snapshot": {
      state.epoch = msg.epoch;
      state.seq = msg.seq;
      state.files = byId(msg.files ?? []);
      state.shared = byId(msg.shared ?? []);
      state.direct = new Set(state.shared.keys());
      // Only the ones shared with me themselves: those in them are listed
      // again when looked at.
      state.shared_folders = byId(msg.shared_folders ?? []);
      state.roots = new Set(state.shared_folders.keys());
      state.rootsKnown = Array.isArray(msg.shared_folders);
      state.activity = byId(msg.activity ?? []);
      state.complete.files = (msg.files ?? []).length < SNAPSHOT_LIMIT;
      // Without folders in the snapshot the ones known are kept, but none is
      // trusted until its parent is listed again (the feed does that).
      if (Array.isArray(msg.folders)) state.folders = byId(msg.folders);
      state.complete.folders = Array.isArray(msg.folders) && msg.folders.length < SNAPSHOT_LIMIT;
      state.touched.clear();
      return new Set<Collection>(["files", "folders", "shared", "shared_folders", "activity"]);
    }
    case "resumed":
      state.epoch = msg.epoch;
      state.seq = msg.seq;
      return new Set();
    case "change": {
      // A change we have already applied (a resend after reconnect): skip it.
      if (msg.seq <= state.seq) return new Set();
      state.seq = msg.seq;
      // A collection this page does not know (a newer server's): its
      // number still counts, for resuming.
      if (!COLLECTIONS.has(msg.collection)) return new Set();
      const collection = msg.collection as Collection;
      const map = state[collection] as Map<string, FileRecord | Folder | Activity>;
      if (msg.kind === "removed" || msg.doc === null) {
        map.delete(msg.id);
        if (collection === "shared") state.direct.delete(msg.id);
        if (collection === "shared_folders") state.roots.delete(msg.id);
      } else {
        map.set(msg.id, msg.doc);
        if (collection === "activity" && map.size > ACTIVITY_LIMIT) trimActivity(state);
        // Only a share of the file itself shows a file at its owner's top.
        if (collection === "shared" && (msg.doc as FileRecord).folder_id == null) {
          state.direct.add(msg.id);
        }
      }
      if (collection !== "activity") {
        state.touched.set(`${collection}:${msg.id}`, msg.seq);
      }
      return new Set([collection]);
    }
    default:
      return new Set();
  }
}

/** The folder a file or folder is in (null: the top; older servers say nothing: the top). */
export function parentOf(kind: FolderCollection, item: FileRecord | Folder): string | null {
  return isFileKind(kind)
    ? ((item as FileRecord).folder_id ?? null)
    : ((item as Folder).parent_id ?? null);
}

/**
 * Whether `state` holds all of what is in `parent` without listing it: my
 * files or folders after a snapshot that had them all, the folders shared
 * with me (`parent` null) once known; never what is in a shared folder.
 */
export function isComplete(state: FeedState, kind: FolderCollection, parent: string | null) {
  if (kind === "files" || kind === "folders") return state.complete[kind];
  return kind === "shared_folders" && parent === null && state.rootsKnown;
}

/**
 * The files shared with me themselves (not those I see through a folder):
 * ready ones (an upload in progress has no shares of its own).
 */
export function directShares(state: FeedState): FileRecord[] {
  return [...state.shared.values()].filter((f) => state.direct.has(f.id) && f.status === "ready");
}

/**
 * What `state` says is directly in `parent`: files (ready ones, and uploads
 * in progress), or folders; for "shared_folders" with `parent` null, the
 * folders shared with me.
 */
export function contentsOf(
  state: FeedState,
  kind: FolderCollection,
  parent: string | null,
): (FileRecord | Folder)[] {
  if (kind === "shared_folders" && parent === null) {
    return [...state.roots].flatMap((id) => state.shared_folders.get(id) ?? []);
  }
  const out: (FileRecord | Folder)[] = [];
  for (const item of state[kind].values()) {
    if (parentOf(kind, item) !== parent) continue;
    out.push(item);
  }
  return out;
}

/**
 * Puts a listing of `parent` (asked for when the feed stood at `since`)
 * into the state: what it names is there now, and what it leaves out is
 * gone, except for a file or folder a change after `since` spoke of (the
 * change is at least as new as the listing).
 */
export function mergeListing(
  state: FeedState,
  kind: FolderCollection,
  parent: string | null,
  items: (FileRecord | Folder)[],
  since: number,
): void {
  const map = state[kind] as Map<string, FileRecord | Folder>;
  const fresh = (id: string) => (state.touched.get(`${kind}:${id}`) ?? 0) > since;
  const listed = new Set<string>();
  for (const item of items) {
    listed.add(item.id);
    if (!fresh(item.id)) map.set(item.id, item);
  }
  if (kind === "shared_folders" && parent === null) {
    // The folders shared with me: the listing says which they are.
    for (const id of listed) if (!fresh(id)) state.roots.add(id);
    for (const id of state.roots) if (!listed.has(id) && !fresh(id)) state.roots.delete(id);
    state.rootsKnown = true;
    return;
  }
  // A full page of files may leave older ones out: only what is newer than
  // its oldest is known to be gone.
  let oldest: string | null = null;
  if (isFileKind(kind) && items.length >= LISTING_LIMIT) {
    oldest = items.reduce((m, f) => (f.updated_at < m ? f.updated_at : m), items[0]!.updated_at);
  }
  for (const [id, item] of map) {
    if (listed.has(id) || fresh(id) || parentOf(kind, item) !== parent) continue;
    if (oldest !== null && item.updated_at < oldest) continue;
    map.delete(id);
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
  /**
   * Lists what is directly in a folder, for folders the snapshot does not
   * cover in full. Without it, a folder's contents are what the snapshot
   * and the changes say.
   */
  list?: {
    folders(parent: string | null): Promise<Folder[]>;
    /** My files in a folder, uploads in progress included. */
    files(parent: string | null): Promise<FileRecord[]>;
    /** Null: the folders shared with me; else the folders in one I see. */
    shared_folders?(parent: string | null): Promise<Folder[]>;
    /** The files in a folder I see through a share (uploads in progress too). */
    shared?(parent: string | null): Promise<FileRecord[]>;
    /** A folder and its path as I see it (404: I do not see it). */
    folder?(id: string): Promise<FolderDetails>;
  };
  /** Waits before listing a folder again after a failure; a seam for tests. */
  backoff?: (attempt: number) => number;
}

/** Someone looking at a folder's files or subfolders. */
interface FolderWatch {
  kind: FolderCollection;
  parent: string | null;
  listeners: Set<Listener<never>>;
  /**
   * Whether its contents are known on this connection. Kept after the last
   * subscriber leaves: the changes keep them right until the next snapshot,
   * so going back to a folder shows it at once.
   */
  state: "unlisted" | "listing" | "listed";
  /** What subscribers were told last, to tell them only of a difference. */
  last: (FileRecord | Folder)[] | null;
  attempt: number;
  retry: ReturnType<typeof setTimeout> | null;
}

function sameItems<T>(a: T[] | null, b: T[]): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => x === b[i]);
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
  private listeners: Record<WholeCollection, Set<Listener<never>>> = {
    files: new Set(),
    shared: new Set(),
    activity: new Set(),
  };
  private watches = new Map<string, FolderWatch>();
  /** Counts snapshots: a listing asked for before the last one is stale. */
  private generation = 0;
  private listings = 0;
  /** The folders shared with me changed while they were being listed. */
  private rootsAgain = false;
  /** Folders asked about, to place files in them (see `place`). */
  private asking = new Map<string, Promise<FolderDetails | null | undefined>>();
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

  subscribeFolders(parent: string | null, onChange: (folders: Folder[]) => void): Unsubscribe {
    return this.watch("folders", parent, onChange as Listener<never>);
  }

  subscribeFilesIn(parent: string | null, onChange: (files: FileRecord[]) => void): Unsubscribe {
    return this.watch("files", parent, onChange as Listener<never>);
  }

  subscribeSharedFolders(
    parent: string | null,
    onChange: (folders: Folder[]) => void,
  ): Unsubscribe {
    return this.watch("shared_folders", parent, onChange as Listener<never>);
  }

  subscribeSharedFilesIn(parent: string, onChange: (files: FileRecord[]) => void): Unsubscribe {
    return this.watch("shared", parent, onChange as Listener<never>);
  }

  subscribeStatus(onChange: (status: LiveStatus) => void): Unsubscribe {
    return this.status.subscribe(onChange);
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches.values()) if (w.retry) clearTimeout(w.retry);
    if (this.timer) clearTimeout(this.timer);
    if (typeof window !== "undefined") window.removeEventListener("online", this.onOnline);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "bye");
  }

  private listen(collection: WholeCollection, listener: Listener<never>): Unsubscribe {
    this.listeners[collection].add(listener);
    // Listener semantics: a subscriber gets the current set at once when we
    // already have one.
    if (this.received) (listener as Listener<unknown>)(this.current(collection));
    return () => this.listeners[collection].delete(listener);
  }

  private current(collection: WholeCollection): FileRecord[] | Activity[] {
    if (collection === "activity") return sortActivity([...this.state.activity.values()]);
    if (collection === "shared") return directShares(this.state);
    return [...this.state[collection].values()];
  }

  private watch(kind: FolderCollection, parent: string | null, listener: Listener<never>) {
    const key = `${kind}:${parent ?? ""}`;
    let w = this.watches.get(key);
    if (!w) {
      w = {
        kind,
        parent,
        listeners: new Set(),
        state: "unlisted",
        last: null,
        attempt: 0,
        retry: null,
      };
      this.watches.set(key, w);
    }
    const watch = w;
    watch.listeners.add(listener);
    if (this.known(watch)) {
      const value = contentsOf(this.state, kind, parent);
      watch.last = value;
      (listener as Listener<unknown>)(value);
    } else {
      this.ensureListed(watch);
    }
    return () => {
      watch.listeners.delete(listener);
    };
  }

  /** Whether a folder's contents can be told: after a snapshot, and a listing if it needs one. */
  private known(w: FolderWatch): boolean {
    return this.received && (isComplete(this.state, w.kind, w.parent) || w.state === "listed");
  }

  private tell(w: FolderWatch) {
    if (!w.listeners.size || !this.known(w)) return;
    const value = contentsOf(this.state, w.kind, w.parent);
    if (sameItems(w.last, value)) return;
    w.last = value;
    for (const l of w.listeners) (l as Listener<unknown>)(value);
  }

  private ensureListed(w: FolderWatch) {
    // Before the snapshot there is nothing to list against: the snapshot
    // lists what is looked at.
    if (!this.received || this.closed || w.state !== "unlisted") return;
    if (isComplete(this.state, w.kind, w.parent)) return this.tell(w);
    const list = this.options.list?.[w.kind];
    if (!list) {
      w.state = "listed";
      return this.tell(w);
    }
    w.state = "listing";
    const generation = this.generation;
    const since = this.state.seq;
    this.listings++;
    list(w.parent)
      .catch((e: unknown) => {
        // The folder is gone (deleted meanwhile): it holds nothing.
        if (e instanceof ApiError && e.status === 404) return [];
        throw e;
      })
      .then(
        (items: (FileRecord | Folder)[]) => {
          if (generation !== this.generation || this.closed) return;
          mergeListing(this.state, w.kind, w.parent, items, since);
          w.state = "listed";
          w.attempt = 0;
          this.tell(w);
          if (w.kind === "shared_folders" && w.parent === null && this.rootsAgain) {
            this.rootsAgain = false;
            this.rootsChanged();
          }
        },
        () => {
          if (generation !== this.generation || this.closed) return;
          w.state = "unlisted";
          w.retry = setTimeout(
            () => {
              w.retry = null;
              if (w.listeners.size) this.ensureListed(w);
            },
            (this.options.backoff ?? backoff)(w.attempt++),
          );
        },
      )
      .finally(() => {
        // Changes are remembered only while a listing may need them.
        if (--this.listings === 0) this.state.touched.clear();
      });
  }

  /** After a snapshot: every folder is listed again before it is told, the watched ones now. */
  private relist() {
    this.generation++;
    this.rootsAgain = false;
    for (const w of this.watches.values()) {
      if (w.retry) clearTimeout(w.retry);
      w.retry = null;
      w.attempt = 0;
      w.state = "unlisted";
    }
    for (const w of this.watches.values()) {
      if (w.listeners.size) this.ensureListed(w);
      else if (!isComplete(this.state, w.kind, w.parent)) {
        this.watches.delete(`${w.kind}:${w.parent ?? ""}`);
      }
    }
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
      // Changes are remembered only while a listing may need them.
      if (this.listings === 0) this.state.touched.clear();
      if (msg.type === "snapshot" || msg.type === "resumed") {
        this.attempt = 0;
        this.received = true;
        this.status.set("live");
      }
      if (msg.type === "snapshot") this.relist();
      if (msg.type === "change" && msg.kind !== "removed" && msg.doc) this.place(msg);
      for (const c of touched) {
        if (c === "folders" || c === "shared_folders") continue;
        this.tellWhole(c);
      }
      for (const w of this.watches.values()) if (touched.has(w.kind)) this.tell(w);
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

  private tellWhole(c: WholeCollection) {
    const value = this.current(c);
    for (const l of this.listeners[c]) (l as Listener<unknown>)(value);
  }

  /**
   * Finds out where a shared file or folder that a change brought belongs
   * when the page cannot tell: a folder whose folder it does not know may
   * be newly shared with me (the folders shared with me are listed again),
   * and a file in a folder it does not know is shared with me itself unless
   * I see that folder (the API is asked).
   */
  private place(msg: Extract<FeedMessage, { type: "change" }>) {
    const s = this.state;
    if (msg.collection === "shared_folders") {
      const f = msg.doc as Folder;
      if (s.roots.has(f.id) || (f.parent_id !== null && s.shared_folders.has(f.parent_id))) return;
      this.rootsChanged();
    } else if (msg.collection === "shared") {
      const f = msg.doc as FileRecord;
      if (s.direct.has(f.id) || f.folder_id == null || s.shared_folders.has(f.folder_id)) return;
      const ask = this.options.list?.folder;
      if (!ask) {
        s.direct.add(f.id);
        return;
      }
      const generation = this.generation;
      const folderId = f.folder_id;
      let pending = this.asking.get(folderId);
      if (!pending) {
        pending = ask(folderId).then(
          (d) => d,
          (e: unknown) => (e instanceof ApiError && e.status === 404 ? null : undefined),
        );
        this.asking.set(folderId, pending);
        void pending.finally(() => this.asking.delete(folderId));
      }
      void pending.then((d) => {
        if (generation !== this.generation || this.closed || d === undefined) return;
        if (d === null) {
          // Not a folder I see: the file is shared with me itself.
          if (!s.shared.has(f.id)) return;
          s.direct.add(f.id);
          this.tellWhole("shared");
          return;
        }
        // A folder I see: it and those above it (from the one shared with me) are known now.
        for (const x of [...d.path, d.folder]) {
          if (!s.shared_folders.has(x.id)) s.shared_folders.set(x.id, x);
        }
        const top = d.path[0] ?? d.folder;
        if (!s.roots.has(top.id)) this.rootsChanged();
      });
    }
  }

  /** The folders shared with me may have changed: they are listed again. */
  private rootsChanged() {
    this.state.rootsKnown = false;
    const w = this.watches.get("shared_folders:");
    if (!w) return;
    // A listing under way may have been answered before the change.
    if (w.state === "listing") {
      this.rootsAgain = true;
      return;
    }
    w.state = "unlisted";
    if (w.listeners.size) this.ensureListed(w);
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
