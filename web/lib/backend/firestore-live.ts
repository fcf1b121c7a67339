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
  LiveData,
  LiveStatus,
  Unsubscribe,
} from "./types";

export type LiveCollection = "files" | "shared" | "activity";

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
    created_at: isoTime(d.created_at as TimeLike),
    updated_at: isoTime(d.updated_at as TimeLike),
  };
}

/** `activity/{id}` (`ActivityDoc`) as the API's Activity. */
export function activityFromDoc(id: string, d: Data): Activity {
  return {
    id,
    owner_id: str(d.owner_id),
    file_id: str(d.file_id),
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
 * Starts one of the three queries for the signed-in user and reports every
 * result set (the whole current set each time) or the error that ended it.
 */
export type Listen = (
  collection: LiveCollection,
  onResult: (result: ResultSet) => void,
  onError: (error: unknown) => void,
) => Unsubscribe;

type Listener = (value: never) => void;

interface Channel {
  map: Map<string, FileRecord | Activity>;
  /** Had a result at least once. */
  received: boolean;
  /** The last result came from the server, not only the cache. */
  synced: boolean;
  stop: Unsubscribe | null;
  failures: number;
  timer: ReturnType<typeof setTimeout> | null;
  listeners: Set<Listener>;
}

export interface FirestoreLiveOptions {
  listen: Listen;
  /** Reconnect delays; a seam for tests. */
  backoff?: (attempt: number) => number;
}

/**
 * LiveData on Firestore listeners. Each collection's query starts with its
 * first subscriber and runs until close(); a listener that fails (Firestore
 * ends a listener on any error) is started again with backoff.
 */
export class FirestoreLive implements LiveData {
  private channels: Record<LiveCollection, Channel>;
  private status = new StatusCell();
  private closed = false;

  constructor(private readonly options: FirestoreLiveOptions) {
    const channel = (): Channel => ({
      map: new Map(),
      received: false,
      synced: false,
      stop: null,
      failures: 0,
      timer: null,
      listeners: new Set(),
    });
    this.channels = { files: channel(), shared: channel(), activity: channel() };
  }

  subscribeFiles(onChange: (files: FileRecord[]) => void): Unsubscribe {
    return this.subscribe("files", onChange as Listener);
  }

  subscribeShared(onChange: (files: FileRecord[]) => void): Unsubscribe {
    return this.subscribe("shared", onChange as Listener);
  }

  subscribeActivity(onChange: (activity: Activity[]) => void): Unsubscribe {
    return this.subscribe("activity", onChange as Listener);
  }

  subscribeStatus(onChange: (status: LiveStatus) => void): Unsubscribe {
    return this.status.subscribe(onChange);
  }

  close(): void {
    this.closed = true;
    for (const c of Object.values(this.channels)) {
      if (c.timer) clearTimeout(c.timer);
      c.timer = null;
      c.stop?.();
      c.stop = null;
    }
  }

  /** Applies one whole result set to a collection; tells subscribers if it changed. */
  private onResult(name: LiveCollection, result: ResultSet) {
    const c = this.channels[name];
    c.failures = 0;
    c.synced = !result.fromCache;
    const next =
      name === "activity"
        ? result.docs.map((d) => activityFromDoc(d.id, d.data))
        : result.docs.map((d) => fileFromDoc(d.id, d.data));
    const diff = diffById(c.map, next as (FileRecord | Activity)[]);
    const first = !c.received;
    c.received = true;
    if (!isEmptyDiff(diff)) applyDiff(c.map, diff);
    if (first || !isEmptyDiff(diff)) {
      const value = this.current(name);
      for (const l of c.listeners) (l as (v: unknown) => void)(value);
    }
    this.updateStatus();
  }

  private onError(name: LiveCollection) {
    const c = this.channels[name];
    c.stop = null;
    c.synced = false;
    if (this.closed) return;
    const delay = (this.options.backoff ?? backoff)(c.failures++);
    c.timer = setTimeout(() => {
      c.timer = null;
      this.start(name);
    }, delay);
    this.updateStatus();
  }

  private subscribe(name: LiveCollection, listener: Listener): Unsubscribe {
    const c = this.channels[name];
    c.listeners.add(listener);
    if (c.received) (listener as (v: unknown) => void)(this.current(name));
    if (!c.stop && !c.timer) this.start(name);
    return () => c.listeners.delete(listener);
  }

  private start(name: LiveCollection) {
    if (this.closed) return;
    const c = this.channels[name];
    let active = true;
    let inner: Unsubscribe | null = null;
    c.stop = () => {
      active = false;
      inner?.();
    };
    inner = this.options.listen(
      name,
      (r) => {
        if (active) this.onResult(name, r);
      },
      () => {
        if (!active) return;
        active = false;
        inner?.();
        this.onError(name);
      },
    );
    // It failed while starting: the listener is already over.
    if (!active) inner();
  }

  private current(name: LiveCollection): FileRecord[] | Activity[] {
    const values = [...this.channels[name].map.values()];
    if (name === "activity") return sortActivity(values as Activity[]).slice(0, ACTIVITY_LIMIT);
    return values as FileRecord[];
  }

  private updateStatus() {
    const active = Object.values(this.channels).filter((c) => c.stop || c.timer);
    let status: LiveStatus;
    if (active.some((c) => c.failures >= 3)) status = "offline";
    else if (active.some((c) => c.timer || (c.received && !c.synced))) status = "reconnecting";
    else if (active.some((c) => c.received)) status = "live";
    else status = "connecting";
    this.status.set(status);
  }
}
