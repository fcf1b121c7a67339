// Cloud live data without the Firebase SDK: turning Firestore documents into
// the app's records, diffing each result set against the last one, and the
// `LiveData` implementation built on a listening seam. cloud.ts plugs the
// real `onSnapshot` queries into it; the tests plug in fakes.
//
// Why diff: the Firestore emulator answers every change with a reset and a
// resend of the whole result (and production resends after a reconnect), so
// a listener cannot trust "what changed" from the wire. We keep the last
// set by id, compare the new one field by field, and tell subscribers only
// when something was added, modified or removed.

import { ACTIVITY_LIMIT, StatusCell, backoff, sortActivity } from "./feed";
import type {
  Activity,
  ActivityKind,
  FileRecord,
  FileStatus,
  Folder,
  LiveData,
  LiveStatus,
  Unsubscribe,
} from "./types";

/**
 * The queries: my files, the ones shared with me themselves (ready), my
 * activity (each one for the whole time the page is open), and per folder
 * its subfolders and its files, uploads in progress included (while someone
 * looks at the folder); for folders
 * shared with me, "shared-folders" (with no folder: the ones shared with me
 * themselves) and "shared-files", per folder too.
 */
export type LiveCollection =
  "files" | "shared" | "activity" | "folders" | "folder-files" | "shared-folders" | "shared-files";

/** A Firestore Timestamp (anything with toDate), or a string / Date already. */
type TimeLike = { toDate(): Date } | Date | string | null | undefined;

/** Times as ISO strings with milliseconds: fixed width, so they sort as text. */
export function isoTime(t: TimeLike): string {
  if (!t) return new Date(0).toISOString();
  if (typeof t === "string") return t;
  if (t instanceof Date) return t.toISOString();
  if (typeof t.toDate === "function") return t.toDate().toISOString();
  return new Date(0).toISOString();
}

type Data = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const optStr = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const num = (v: unknown): number => (typeof v === "number" ? v : Number(v ?? 0) || 0);

/** `files/{id}` (src/cloud/firestore/docs.rs `FileDoc`) as the API's FileRecord. */
export function fileFromDoc(id: string, d: Data): FileRecord {
  return {
    id: str(d.id) || id,
    owner_id: str(d.owner_id),
    owner_email: str(d.owner_email),
    name: str(d.name),
    size: num(d.size),
    content_type: str(d.content_type) || "application/octet-stream",
    crc32c: str(d.crc32c),
    status: (d.status === "pending" ? "pending" : "ready") as FileStatus,
    // Older documents have none: none yet while pending, all once ready.
    received: d.status === "pending" ? Math.min(num(d.size), num(d.received)) : num(d.size),
    created_at: isoTime(d.created_at as TimeLike),
    updated_at: isoTime(d.updated_at as TimeLike),
    // "" at the top (and documents from before folders have none).
    folder_id: optStr(d.parent),
  };
}

/** `folders/{id}` (`FolderDoc`) as the API's Folder. */
export function folderFromDoc(id: string, d: Data): Folder {
  return {
    id: str(d.id) || id,
    owner_id: str(d.owner_id),
    owner_email: str(d.owner_email),
    name: str(d.name),
    parent_id: optStr(d.parent),
    created_at: isoTime(d.created_at as TimeLike),
    updated_at: isoTime(d.updated_at as TimeLike),
  };
}

/** `activity/{id}` (`ActivityDoc`) as the API's Activity. */
export function activityFromDoc(id: string, d: Data): Activity {
  return {
    id,
    owner_id: str(d.owner_id),
    // "" in the document for what is done to a whole folder.
    file_id: optStr(d.file_id) || null,
    folder_id: optStr(d.folder_id),
    file_name: str(d.file_name),
    kind: str(d.kind) as ActivityKind,
    actor_id: optStr(d.actor_id),
    actor_email: optStr(d.actor_email),
    link_id: optStr(d.link_id),
    detail: optStr(d.detail),
    at: isoTime(d.at as TimeLike),
  };
}

export interface Diff<T> {
  added: T[];
  modified: T[];
  removed: string[];
}

function sameRecord(a: object, b: object): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
}

/** What turns `prev` into `next` (both keyed by id). */
export function diffById<T extends { id: string }>(prev: Map<string, T>, next: T[]): Diff<T> {
  const diff: Diff<T> = { added: [], modified: [], removed: [] };
  const seen = new Set<string>();
  for (const doc of next) {
    seen.add(doc.id);
    const old = prev.get(doc.id);
    if (!old) diff.added.push(doc);
    else if (!sameRecord(old, doc)) diff.modified.push(doc);
  }
  for (const id of prev.keys()) if (!seen.has(id)) diff.removed.push(id);
  return diff;
}

export function isEmptyDiff(d: Diff<unknown>): boolean {
  return d.added.length === 0 && d.modified.length === 0 && d.removed.length === 0;
}

/** Applies a diff to the map in place. */
export function applyDiff<T extends { id: string }>(map: Map<string, T>, d: Diff<T>): void {
  for (const id of d.removed) map.delete(id);
  for (const doc of d.added) map.set(doc.id, doc);
  for (const doc of d.modified) map.set(doc.id, doc);
}

/** One result set from a listener: the documents, and whether they came from the cache only. */
export interface ResultSet {
  docs: { id: string; data: Data }[];
  fromCache: boolean;
}

/**
 * Starts one of the queries for the signed-in user and reports every
 * result set (the whole current set each time) or the error that ended it.
 * `parent`: for "folders" and "folder-files", the folder (null: the top).
 */
export type Listen = (
  collection: LiveCollection,
  onResult: (result: ResultSet) => void,
  onError: (error: unknown) => void,
  parent?: string | null,
) => Unsubscribe;

type Listener = (value: never) => void;
type Doc = FileRecord | Folder | Activity;

/** How long a folder's queries go on after its last subscriber left: going back is instant. */
export const LINGER_MS = 30_000;

interface Channel {
  collection: LiveCollection;
  parent: string | null;
  map: Map<string, Doc>;
  /** Had a result at least once. */
  received: boolean;
  /** The last result came from the server, not only the cache. */
  synced: boolean;
  stop: Unsubscribe | null;
  failures: number;
  timer: ReturnType<typeof setTimeout> | null;
  listeners: Set<Listener>;
  /** A folder's channel with nobody subscribed: when it stops. */
  linger: ReturnType<typeof setTimeout> | null;
}

const perFolder = (c: LiveCollection) =>
  c === "folders" || c === "folder-files" || c === "shared-folders" || c === "shared-files";

/**
 * Whether a listener's error says the folder is not mine to see (any more):
 * its files' query is refused by the rules once I am not among its
 * viewers, or it is gone. That is an answer, not a failure: the folder
 * holds nothing I see, and asking again would be refused again.
 */
export function isRefused(e: unknown): boolean {
  return (
    typeof e === "object" && e !== null && (e as { code?: unknown }).code === "permission-denied"
  );
}

export interface FirestoreLiveOptions {
  listen: Listen;
  /** Reconnect delays; a seam for tests. */
  backoff?: (attempt: number) => number;
}

/**
 * LiveData on Firestore listeners. Each query starts with its first
 * subscriber; the three whole-collection ones run until close(), a folder's
 * stop a while after its last subscriber left. A listener that fails
 * (Firestore ends a listener on any error) is started again with backoff.
 */
export class FirestoreLive implements LiveData {
  private channels = new Map<string, Channel>();
  private status = new StatusCell();
  private closed = false;

  constructor(private readonly options: FirestoreLiveOptions) {}

  subscribeFiles(onChange: (files: FileRecord[]) => void): Unsubscribe {
    return this.subscribe(this.channel("files"), onChange as Listener);
  }

  subscribeShared(onChange: (files: FileRecord[]) => void): Unsubscribe {
    return this.subscribe(this.channel("shared"), onChange as Listener);
  }

  subscribeActivity(onChange: (activity: Activity[]) => void): Unsubscribe {
    return this.subscribe(this.channel("activity"), onChange as Listener);
  }

  subscribeFolders(parent: string | null, onChange: (folders: Folder[]) => void): Unsubscribe {
    return this.subscribe(this.channel("folders", parent), onChange as Listener);
  }

  subscribeFilesIn(parent: string | null, onChange: (files: FileRecord[]) => void): Unsubscribe {
    return this.subscribe(this.channel("folder-files", parent), onChange as Listener);
  }

  subscribeSharedFolders(
    parent: string | null,
    onChange: (folders: Folder[]) => void,
  ): Unsubscribe {
    return this.subscribe(this.channel("shared-folders", parent), onChange as Listener);
  }

  subscribeSharedFilesIn(parent: string, onChange: (files: FileRecord[]) => void): Unsubscribe {
    return this.subscribe(this.channel("shared-files", parent), onChange as Listener);
  }

  subscribeStatus(onChange: (status: LiveStatus) => void): Unsubscribe {
    return this.status.subscribe(onChange);
  }

  close(): void {
    this.closed = true;
    for (const c of this.channels.values()) this.halt(c);
  }

  private channel(collection: LiveCollection, parent: string | null = null): Channel {
    const key = perFolder(collection) ? `${collection}:${parent ?? ""}` : collection;
    let c = this.channels.get(key);
    if (!c) {
      c = {
        collection,
        parent: perFolder(collection) ? parent : null,
        map: new Map(),
        received: false,
        synced: false,
        stop: null,
        failures: 0,
        timer: null,
        listeners: new Set(),
        linger: null,
      };
      this.channels.set(key, c);
    }
    return c;
  }

  private halt(c: Channel) {
    if (c.timer) clearTimeout(c.timer);
    if (c.linger) clearTimeout(c.linger);
    c.timer = null;
    c.linger = null;
    c.stop?.();
    c.stop = null;
  }

  /** Applies one whole result set to a channel; tells subscribers if it changed. */
  private onResult(c: Channel, result: ResultSet) {
    c.failures = 0;
    c.synced = !result.fromCache;
    const toRecord =
      c.collection === "activity"
        ? activityFromDoc
        : c.collection === "folders" || c.collection === "shared-folders"
          ? folderFromDoc
          : fileFromDoc;
    const next: Doc[] = result.docs.map((d) => toRecord(d.id, d.data));
    const diff = diffById(c.map, next);
    const first = !c.received;
    c.received = true;
    if (!isEmptyDiff(diff)) applyDiff(c.map, diff);
    if (first || !isEmptyDiff(diff)) {
      const value = this.current(c);
      for (const l of c.listeners) (l as (v: unknown) => void)(value);
    }
    this.updateStatus();
  }

  private onError(c: Channel, error: unknown) {
    c.stop = null;
    if (this.closed) return;
    if (c.collection === "shared-files" && isRefused(error)) {
      // Unshared or deleted: nothing in it is mine to see. It is asked
      // again only when someone subscribes again.
      this.onResult(c, { docs: [], fromCache: false });
      return;
    }
    c.synced = false;
    const delay = (this.options.backoff ?? backoff)(c.failures++);
    c.timer = setTimeout(() => {
      c.timer = null;
      this.start(c);
    }, delay);
    this.updateStatus();
  }

  private subscribe(c: Channel, listener: Listener): Unsubscribe {
    c.listeners.add(listener);
    if (c.linger) clearTimeout(c.linger);
    c.linger = null;
    if (c.received) (listener as (v: unknown) => void)(this.current(c));
    if (!c.stop && !c.timer) this.start(c);
    return () => {
      c.listeners.delete(listener);
      if (!perFolder(c.collection) || c.listeners.size || this.closed) return;
      c.linger = setTimeout(() => {
        c.linger = null;
        if (c.listeners.size) return;
        this.halt(c);
        this.channels.delete(`${c.collection}:${c.parent ?? ""}`);
        this.updateStatus();
      }, LINGER_MS);
    };
  }

  private start(c: Channel) {
    if (this.closed) return;
    let active = true;
    let inner: Unsubscribe | null = null;
    c.stop = () => {
      active = false;
      inner?.();
    };
    const onResult = (r: ResultSet) => {
      if (active) this.onResult(c, r);
    };
    const onError = (e: unknown) => {
      if (!active) return;
      active = false;
      inner?.();
      this.onError(c, e);
    };
    inner = perFolder(c.collection)
      ? this.options.listen(c.collection, onResult, onError, c.parent)
      : this.options.listen(c.collection, onResult, onError);
    // It failed while starting: the listener is already over.
    if (!active) inner();
  }

  private current(c: Channel): Doc[] {
    const values = [...c.map.values()];
    if (c.collection === "activity") {
      return sortActivity(values as Activity[]).slice(0, ACTIVITY_LIMIT);
    }
    return values;
  }

  private updateStatus() {
    const active = [...this.channels.values()].filter((c) => c.stop || c.timer);
    let status: LiveStatus;
    if (active.some((c) => c.failures >= 3)) status = "offline";
    else if (active.some((c) => c.timer || (c.received && !c.synced))) status = "reconnecting";
    else if (active.some((c) => c.received)) status = "live";
    else status = "connecting";
    this.status.set(status);
  }
}
