// The upload manager: hashes each picked file, asks the API for an upload
// target, sends the bytes (one PUT, or 8 MiB chunks of a resumable session),
// and completes the upload. It keeps per-file progress, speed and time left,
// and supports pause, resume and cancel.
//
// A resumable session survives a network drop (it retries and asks the
// session where it stands) and a page reload: the session is remembered in
// localStorage under the file's name, size and modification time, so picking
// the same file again continues where it stopped. What is remembered belongs
// to the person who started it (one key per signed-in person) and is
// forgotten when they sign out.
//
// An upload goes into a folder (the top by default), and may belong to a
// batch: a folder upload, whose files are shown together with one overall
// progress (files done of all, bytes, speed, time left) besides their rows.

import { describeError, isAbort, ApiError, NetworkError } from "./backend/errors";
import type { Backend, OnConflict, SessionState, UploadTarget } from "./backend/types";
import { crc32cOfBlob } from "./crc32c";
import { formatBytes } from "./format";
import { contentTypeOf } from "./files";

export type UploadStatus =
  | "queued"
  | "hashing"
  | "uploading"
  | "retrying"
  | "paused"
  | "completing"
  | "done"
  | "failed"
  | "canceled";

export interface UploadView {
  key: string;
  name: string;
  size: number;
  status: UploadStatus;
  /** Bytes sent (for hashing: bytes hashed). */
  loaded: number;
  hashed: number;
  /** Bytes per second over the last few seconds, null until known. */
  speed: number | null;
  /** Seconds left, null until known. */
  eta: number | null;
  error: string | null;
  /** Bytes the server already held when this upload picked up an earlier session. */
  resumedFrom: number | null;
  fileId: string | null;
  /** The folder it goes in; null: the top. */
  folderId: string | null;
  /** Where it is in a folder upload ("Trip/day 1"), for its row; null otherwise. */
  path: string | null;
  /** The batch (folder upload) it belongs to. */
  batch: string | null;
}

/** What to upload, and where. */
export interface UploadItem {
  file: File;
  /** The folder it goes in; null or left out: the top. */
  folderId?: string | null;
  /** What completing does if the name is taken in the folder by then (the server's default: keep both). */
  onConflict?: OnConflict;
  path?: string | null;
  batch?: string | null;
}

export type BatchStatus = "preparing" | "uploading" | "paused" | "done" | "failed" | "canceled";

/** A folder upload as a whole. */
export interface BatchView {
  id: string;
  /** What was picked or dropped: "Trip", or "Trip and 2 more". */
  label: string;
  status: BatchStatus;
  /** While preparing: folders made so far, of those to make. */
  foldersMade: number;
  foldersTotal: number;
  error: string | null;
  /** Files in it (known from the start), done, failed. */
  files: number;
  done: number;
  failed: number;
  /**
   * Of those done, the files found there already, the same bytes (a folder
   * dropped again after a reload): not sent again.
   */
  already: number;
  /** Bytes in all, and sent so far (a finished file counts whole). */
  size: number;
  loaded: number;
  /** Bytes per second of the files going now, null until known. */
  speed: number | null;
  /** Seconds left at that speed, null until known. */
  eta: number | null;
}

interface Batch {
  id: string;
  label: string;
  files: number;
  size: number;
  /** Set while preparing, and when preparing failed or was canceled. */
  stage: "preparing" | "failed" | "canceled" | null;
  foldersMade: number;
  foldersTotal: number;
  error: string | null;
  /** Files there already with the same bytes, and their bytes: done without sending. */
  already: number;
  alreadyBytes: number;
}

/**
 * A batch as a whole, from its files' rows: done when every file is,
 * failed when none is left going and some failed.
 */
export function batchProgress(batch: Batch, views: UploadView[]): BatchView {
  const mine = views.filter((v) => v.batch === batch.id);
  let done = 0;
  let failed = 0;
  let loaded = 0;
  let speed = 0;
  let going = 0;
  let paused = 0;
  let canceled = 0;
  let sized = 0;
  for (const v of mine) {
    if (v.status === "done") done++;
    else if (v.status === "failed") failed++;
    else if (v.status === "paused") paused++;
    else if (v.status === "canceled") canceled++;
    else going++;
    if (v.status === "canceled") continue;
    sized += v.size;
    loaded += v.status === "done" ? v.size : v.status === "hashing" ? 0 : v.loaded;
    if (v.status === "uploading" && v.speed) speed += v.speed;
  }
  // Files there already count as done, whole.
  done += batch.already;
  loaded += batch.alreadyBytes;
  sized += batch.alreadyBytes;
  // Canceled files leave the whole.
  const size = mine.length || batch.already ? sized : batch.size;
  let status: BatchStatus;
  if (batch.stage) status = batch.stage;
  else if (going) status = "uploading";
  else if (paused) status = "paused";
  else if (failed) status = "failed";
  else if (canceled === mine.length && mine.length > 0 && !batch.already) status = "canceled";
  else status = "done";
  const error =
    batch.error ??
    (failed && status === "failed"
      ? `${failed} of ${batch.files} ${batch.files === 1 ? "file" : "files"} failed.`
      : null);
  return {
    id: batch.id,
    label: batch.label,
    status,
    foldersMade: batch.foldersMade,
    foldersTotal: batch.foldersTotal,
    error,
    files: batch.files - canceled,
    done,
    failed,
    already: batch.already,
    size,
    loaded,
    speed: status === "uploading" && speed > 0 ? speed : null,
    eta: status === "uploading" && speed > 0 ? Math.max(0, size - loaded) / speed : null,
  };
}

/** A resumable session, remembered across reloads. */
export interface SavedUpload {
  fileId: string;
  location: string;
  name: string;
  size: number;
  lastModified: number;
  savedAt: number;
  /** The folder it goes in (left out by sessions saved before folders: any). */
  folderId?: string | null;
}

/**
 * Before sessions were kept per person, everyone's shared one key. Nothing
 * in it says whose they were, so it is dropped, not migrated.
 */
export const LEGACY_STORAGE_KEY = "livedrop.uploads.v1";
const SAVED_TTL_MS = 7 * 24 * 3600 * 1000;

/** Where one person's unfinished uploads are kept. */
export function savedUploadsKey(owner: string): string {
  return `livedrop.uploads.v2.${encodeURIComponent(owner)}`;
}

/** One person's unfinished resumable sessions, in localStorage. */
export class SavedUploads {
  private closed = false;

  /** `owner`: the signed-in person's id; null keeps nothing. */
  constructor(
    private readonly storage: Storage | null,
    readonly owner: string | null,
    private readonly now: () => number = Date.now,
  ) {
    this.drop(LEGACY_STORAGE_KEY);
  }

  private get key(): string | null {
    return this.storage && this.owner !== null && !this.closed ? savedUploadsKey(this.owner) : null;
  }

  list(): SavedUpload[] {
    const key = this.key;
    if (!key) return [];
    try {
      const raw = JSON.parse(this.storage!.getItem(key) ?? "[]") as SavedUpload[];
      return Array.isArray(raw) ? raw.filter((r) => this.now() - r.savedAt < SAVED_TTL_MS) : [];
    } catch {
      return [];
    }
  }

  /**
   * The session of this file going into `folderId`: the same file picked
   * for another folder is another upload.
   */
  find(
    file: { name: string; size: number; lastModified: number },
    folderId: string | null = null,
  ): SavedUpload | undefined {
    return this.list().find(
      (r) =>
        r.name === file.name &&
        r.size === file.size &&
        r.lastModified === file.lastModified &&
        (r.folderId === undefined || r.folderId === folderId),
    );
  }

  save(record: Omit<SavedUpload, "savedAt">): void {
    const rest = this.list().filter((r) => r.fileId !== record.fileId);
    this.write([...rest, { ...record, savedAt: this.now() }]);
  }

  remove(fileId: string): void {
    this.write(this.list().filter((r) => r.fileId !== fileId));
  }

  /**
   * Sign-out: forgets every session of this person (and the legacy key), and
   * keeps nothing more, even from an upload that has not stopped yet.
   */
  clear(): void {
    if (this.owner !== null) this.drop(savedUploadsKey(this.owner));
    this.drop(LEGACY_STORAGE_KEY);
    this.closed = true;
  }

  private write(records: SavedUpload[]) {
    const key = this.key;
    if (!key) return;
    try {
      if (records.length) this.storage!.setItem(key, JSON.stringify(records));
      else this.storage!.removeItem(key);
    } catch {
      // Storage full or denied: resuming after a reload won't work, uploads still do.
    }
  }

  private drop(key: string) {
    try {
      this.storage?.removeItem(key);
    } catch {
      // Storage denied: there is nothing kept in it either.
    }
  }
}

export type UploadBackend = Pick<
  Backend,
  "createUpload" | "completeUpload" | "cancelUpload" | "transfer"
> &
  Partial<Pick<Backend, "reportProgress">>;

export interface UploadManagerOptions {
  backend: UploadBackend;
  maxFileSize: number;
  /**
   * The signed-in person's id. Unfinished uploads are remembered for them
   * alone: someone else signing in on this browser never sees or resumes
   * them. null remembers none.
   */
  owner: string | null;
  chunkSize?: number;
  concurrency?: number;
  storage?: Storage | null;
  now?: () => number;
  /** Waits between retries after a network drop; the last failure gives up. */
  retryDelays?: number[];
  hash?: (file: Blob, onProgress: (n: number) => void, signal: AbortSignal) => Promise<string>;
}

export const CHUNK_SIZE = 8 * 1024 * 1024;

/**
 * How often an upload tells the server how far it is (POST
 * /api/uploads/{id}/progress), at most, and how long after its bytes start:
 * a file sent in less never reports. Firestore sustains about one write a
 * second to a document; every 2 s keeps well within it.
 */
export const PROGRESS_EVERY_MS = 2000;

/** Failures after which a retry must begin a fresh upload. */
const START_OVER = new Set([
  "checksum_mismatch",
  "size_mismatch",
  "upload_incomplete",
  "signature_expired",
  "signature_invalid",
  // The file was completed, cancelled or deleted elsewhere (another tab, the
  // sweep): its upload URLs take no more bytes. Self-hosted says so; Cloud
  // Storage answers 412 to the create-only precondition.
  "upload_closed",
  "http_412",
]);
const SPEED_WINDOW_MS = 5000;

interface Task {
  view: UploadView;
  file: File;
  onConflict: OnConflict | undefined;
  intent: "run" | "pause" | "cancel";
  controller: AbortController | null;
  target: UploadTarget | null;
  location: string | null;
  samples: [number, number][];
  /** Telling the server how far it is: see `report`. */
  reported: {
    /** When this run's bytes started going; null when they are not. */
    since: number | null;
    /** When it was last told, and what. */
    at: number;
    bytes: number;
    /** A report is under way (never more than one). */
    busy: boolean;
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new DOMException("aborted", "AbortError"));
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new DOMException("aborted", "AbortError"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Words for a failed upload. Quota and size errors are put in sizes a person
 * reads (the server's message carries exact byte counts).
 */
export function uploadErrorMessage(e: unknown, size: number): string {
  if (e instanceof ApiError && e.code === "quota_exceeded") {
    const m = /quota of (\d+) bytes \((\d+) used\)/.exec(e.message);
    if (m) {
      const quota = Number(m[1]);
      const used = Number(m[2]);
      return `Not enough storage: this file needs ${formatBytes(size)}, and ${formatBytes(
        Math.max(0, quota - used),
      )} of your ${formatBytes(quota)} is free. Delete some files, then retry.`;
    }
    return `Not enough storage for ${formatBytes(size)}. Delete some files, then retry.`;
  }
  if (e instanceof ApiError && e.code === "file_too_large") {
    const m = /largest allowed is (\d+) bytes/.exec(e.message);
    return m ? `Too large: the limit is ${formatBytes(Number(m[1]))} per file.` : e.message;
  }
  return describeError(e);
}

/** Worth another try: the network, the server's temporary trouble, a busy session. */
function retryable(e: unknown): boolean {
  if (e instanceof NetworkError) return true;
  if (e instanceof ApiError) {
    return e.status >= 500 || e.status === 429 || e.code === "session_busy";
  }
  return false;
}

export class UploadManager {
  private tasks: Task[] = [];
  private batchList: Batch[] = [];
  private nextBatch = 1;
  private listeners = new Set<(views: UploadView[]) => void>();
  private nextKey = 1;
  private stopped = false;
  private emitTimer: ReturnType<typeof setTimeout> | null = null;
  readonly saved: SavedUploads;
  private readonly backend: UploadBackend;
  private readonly chunkSize: number;
  private readonly concurrency: number;
  private readonly now: () => number;
  private readonly retryDelays: number[];
  private readonly hash: NonNullable<UploadManagerOptions["hash"]>;
  maxFileSize: number;

  constructor(options: UploadManagerOptions) {
    this.backend = options.backend;
    this.maxFileSize = options.maxFileSize;
    this.chunkSize = options.chunkSize ?? CHUNK_SIZE;
    this.concurrency = options.concurrency ?? 2;
    this.now = options.now ?? Date.now;
    this.retryDelays = options.retryDelays ?? [1000, 2000, 4000, 8000, 15000, 30000];
    this.hash =
      options.hash ?? ((file, onProgress, signal) => crc32cOfBlob(file, onProgress, signal));
    this.saved = new SavedUploads(
      options.storage === undefined ? (globalThis.localStorage ?? null) : options.storage,
      options.owner,
      this.now,
    );
  }

  subscribe(listener: (views: UploadView[]) => void): () => void {
    this.listeners.add(listener);
    listener(this.views());
    return () => this.listeners.delete(listener);
  }

  views(): UploadView[] {
    return this.tasks.map((t) => ({ ...t.view }));
  }

  /** Folder uploads, each as a whole. */
  batches(): BatchView[] {
    const views = this.views();
    return this.batchList.map((b) => batchProgress(b, views));
  }

  /**
   * Starts a folder upload: shown as preparing (folders being made) until
   * its files are added with its id.
   */
  beginBatch(label: string, files: number, size: number, foldersTotal: number): string {
    const id = `b${this.nextBatch++}`;
    this.batchList.push({
      id,
      label,
      files,
      size,
      stage: "preparing",
      foldersMade: 0,
      foldersTotal,
      error: null,
      already: 0,
      alreadyBytes: 0,
    });
    this.emit();
    return id;
  }

  /**
   * Folders made so far; preparing is over (its files follow, if it has
   * any); or the batch failed before its files were added.
   */
  updateBatch(
    id: string,
    patch: {
      foldersMade?: number;
      prepared?: boolean;
      error?: string;
      /** Files found there already with the same bytes: done without sending. */
      already?: { files: number; bytes: number };
    },
  ): void {
    const b = this.batchList.find((x) => x.id === id);
    if (!b || b.stage === "canceled") return;
    if (patch.foldersMade !== undefined) b.foldersMade = patch.foldersMade;
    if (patch.already) {
      b.already = patch.already.files;
      b.alreadyBytes = patch.already.bytes;
    }
    if (patch.prepared && b.stage === "preparing") b.stage = null;
    if (patch.error !== undefined) {
      b.stage = "failed";
      b.error = patch.error;
    }
    this.emit();
  }

  /** Whether a batch was canceled (its preparation stops at the next step). */
  batchCanceled(id: string): boolean {
    const b = this.batchList.find((x) => x.id === id);
    // Gone: every upload stopped (sign-out).
    return !b || b.stage === "canceled";
  }

  /** Cancels every file of a batch, and its preparation. */
  cancelBatch(id: string): void {
    const b = this.batchList.find((x) => x.id === id);
    if (!b) return;
    if (b.stage === "preparing") b.stage = "canceled";
    for (const t of this.tasks) if (t.view.batch === id) this.cancel(t.view.key);
    this.emit();
  }

  /** Removes a finished batch and the rows of its finished files. */
  dismissBatch(id: string): void {
    const b = this.batches().find((x) => x.id === id);
    if (!b || b.status === "preparing" || b.status === "uploading") return;
    this.tasks = this.tasks.filter(
      (t) => !(t.view.batch === id && ["done", "failed", "canceled"].includes(t.view.status)),
    );
    if (!this.tasks.some((t) => t.view.batch === id)) {
      this.batchList = this.batchList.filter((x) => x.id !== id);
    }
    this.emit();
  }

  /** Saved sessions that no upload in this page is working on. */
  unfinished(): SavedUpload[] {
    const active = new Set(this.tasks.map((t) => t.view.fileId));
    return this.saved.list().filter((r) => !active.has(r.fileId));
  }

  /** Uploads files into one folder (the top unless said). */
  add(files: Iterable<File>, options: Omit<UploadItem, "file" | "path"> = {}): string[] {
    return this.addItems(Array.from(files, (file) => ({ ...options, file })));
  }

  addItems(items: Iterable<UploadItem>): string[] {
    const keys: string[] = [];
    if (this.stopped) return keys;
    for (const item of items) {
      const { file } = item;
      const folderId = item.folderId ?? null;
      const path = item.path ?? null;
      // The same file picked twice for the same place while it is still
      // going: one upload is enough.
      const busy = this.tasks.some(
        (t) =>
          !["done", "failed", "canceled"].includes(t.view.status) &&
          t.file.name === file.name &&
          t.file.size === file.size &&
          t.file.lastModified === file.lastModified &&
          t.view.folderId === folderId &&
          t.view.path === path,
      );
      if (busy) continue;
      const key = `u${this.nextKey++}`;
      const view: UploadView = {
        key,
        name: file.name,
        size: file.size,
        status: "queued",
        loaded: 0,
        hashed: 0,
        speed: null,
        eta: null,
        error: null,
        resumedFrom: null,
        fileId: null,
        folderId,
        path,
        batch: item.batch ?? null,
      };
      if (file.size > this.maxFileSize) {
        view.status = "failed";
        view.error = `Too large: the limit is ${formatBytes(this.maxFileSize)} per file.`;
      }
      this.tasks.push({
        view,
        file,
        onConflict: item.onConflict,
        intent: "run",
        controller: null,
        target: null,
        location: null,
        samples: [],
        reported: { since: null, at: 0, bytes: 0, busy: false },
      });
      keys.push(key);
    }
    this.emit();
    this.pump();
    return keys;
  }

  pause(key: string): void {
    const task = this.find(key);
    if (!task || !["queued", "hashing", "uploading", "retrying"].includes(task.view.status)) return;
    task.intent = "pause";
    if (task.controller) task.controller.abort();
    else this.update(task, { status: "paused", speed: null, eta: null });
  }

  resume(key: string): void {
    const task = this.find(key);
    if (!task || !["paused", "failed"].includes(task.view.status)) return;
    if (task.view.status === "failed" && task.file.size > this.maxFileSize) return;
    task.intent = "run";
    this.update(task, { status: "queued", error: null });
    this.pump();
  }

  cancel(key: string): void {
    const task = this.find(key);
    if (!task || task.view.status === "done" || task.view.status === "canceled") return;
    task.intent = "cancel";
    task.controller?.abort();
    this.update(task, { status: "canceled", speed: null, eta: null });
    const fileId = task.view.fileId;
    if (fileId) {
      this.saved.remove(fileId);
      this.backend.cancelUpload(fileId).catch(() => {
        // The server sweeps pending uploads that never complete.
      });
    }
    this.pump();
  }

  /** Removes a finished, failed or canceled row. */
  dismiss(key: string): void {
    const task = this.find(key);
    if (!task || !["done", "failed", "canceled"].includes(task.view.status)) return;
    this.tasks = this.tasks.filter((t) => t !== task);
    // A batch whose last row went goes too.
    const batch = task.view.batch;
    if (batch && !this.tasks.some((t) => t.view.batch === batch)) {
      this.batchList = this.batchList.filter((b) => b.id !== batch || b.stage === "preparing");
    }
    this.emit();
  }

  /** Gives up a saved session from an earlier page (the user won't pick the file again). */
  async forget(fileId: string): Promise<void> {
    this.saved.remove(fileId);
    this.emit();
    await this.backend.cancelUpload(fileId).catch(() => {});
  }

  /**
   * The person is no longer signed in here (signed out in another tab, or the
   * session ended): every upload in this page stops and none starts again.
   * Their saved sessions are kept, for them to resume after signing in.
   */
  stop(): void {
    this.stopped = true;
    for (const task of this.tasks) {
      task.intent = "cancel";
      task.controller?.abort();
    }
    this.tasks = [];
    for (const b of this.batchList) if (b.stage === "preparing") b.stage = "canceled";
    this.batchList = [];
    this.emit();
  }

  /**
   * Sign-out: stops every upload in this page and forgets this person's
   * unfinished ones, so whoever signs in next on this browser never sees
   * them. (The server sweeps the pending files left behind.)
   */
  signOut(): void {
    this.saved.clear();
    this.stop();
  }

  private find(key: string): Task | undefined {
    return this.tasks.find((t) => t.view.key === key);
  }

  private pump() {
    if (this.stopped) return;
    let running = this.tasks.filter((t) => t.controller).length;
    for (const task of this.tasks) {
      if (running >= this.concurrency) break;
      if (task.view.status === "queued" && !task.controller) {
        running++;
        void this.run(task);
      }
    }
  }

  private async run(task: Task) {
    const controller = new AbortController();
    task.controller = controller;
    const signal = controller.signal;
    const size = task.file.size;
    try {
      if (!task.view.fileId) await this.begin(task, signal);
      // Every step may have outlived a pause, cancel or sign-out.
      signal.throwIfAborted();
      if (task.target?.resumable || task.location) {
        if (!task.location) await this.startSession(task, signal);
        signal.throwIfAborted();
        task.reported.since = this.now();
        await this.sendChunks(task, signal);
      } else {
        task.reported.since = this.now();
        await this.sendWhole(task, signal);
      }
      task.reported.since = null;
      this.update(task, { status: "completing", loaded: size, speed: null, eta: null });
      signal.throwIfAborted();
      await this.backend.completeUpload(task.view.fileId!).catch((e: unknown) => {
        // Completed already (by another tab that had the same session): fine.
        if (!(e instanceof ApiError && e.code === "not_pending")) throw e;
      });
      this.saved.remove(task.view.fileId!);
      this.update(task, { status: "done", loaded: size, error: null });
    } catch (e) {
      if (task.intent === "cancel") {
        // cancel() already updated the row.
      } else if (task.intent === "pause" && isAbort(e)) {
        this.update(task, { status: "paused", speed: null, eta: null, error: null });
      } else {
        if (e instanceof ApiError && e.code === "not_found" && task.location) {
          // The session or pending record was swept: start over next time.
          this.forgetSession(task);
        } else if (e instanceof ApiError && START_OVER.has(e.code) && task.view.fileId) {
          // The stored bytes are wrong, or the signed URL is stale: a retry
          // starts a new upload (and hashes the file again).
          const stale = task.view.fileId;
          this.forgetSession(task);
          this.backend.cancelUpload(stale).catch(() => {});
        }
        this.update(task, {
          status: "failed",
          speed: null,
          eta: null,
          error: uploadErrorMessage(e, task.file.size),
        });
      }
    } finally {
      task.reported.since = null;
      task.controller = null;
      this.pump();
    }
  }

  /**
   * Tells the server how many bytes are stored, for those watching the
   * folder: at most every PROGRESS_EVERY_MS, from PROGRESS_EVERY_MS after the
   * bytes started, one report at a time, and never in the upload's way (it
   * is not waited for, and its failure is ignored).
   */
  private report(task: Task, loaded: number) {
    const r = task.reported;
    const send = this.backend.reportProgress;
    const fileId = task.view.fileId;
    loaded = Math.min(loaded, task.file.size);
    if (!send || !fileId || r.since === null || r.busy || loaded <= r.bytes) return;
    const now = this.now();
    if (now - r.since < PROGRESS_EVERY_MS || now - r.at < PROGRESS_EVERY_MS) return;
    r.busy = true;
    r.at = now;
    r.bytes = loaded;
    let call: Promise<unknown>;
    try {
      call = Promise.resolve(send.call(this.backend, fileId, loaded));
    } catch {
      call = Promise.resolve();
    }
    void call
      .catch(() => {
        // Only what others see of it: the upload goes on regardless.
      })
      .finally(() => {
        r.busy = false;
      });
  }

  /** Picks up a remembered session for this file, or creates a new upload. */
  private async begin(task: Task, signal: AbortSignal) {
    const { file } = task;
    const saved = this.saved.find(file, task.view.folderId);
    if (saved) {
      const state = await this.backend.transfer
        .querySession(saved.location, file.size, signal)
        .catch((e: unknown) => {
          if (isAbort(e)) throw e;
          return { kind: "gone" } as SessionState;
        });
      if (state.kind !== "gone") {
        const stored = state.kind === "complete" ? file.size : state.stored;
        task.location = saved.location;
        this.update(task, { fileId: saved.fileId, resumedFrom: stored, loaded: stored });
        return;
      }
      this.saved.remove(saved.fileId);
    }

    this.update(task, { status: "hashing", hashed: 0 });
    const crc32c = await this.hash(
      file,
      (n) => {
        task.view.hashed = n;
        this.emitSoon();
      },
      signal,
    );
    const { file: record, upload } = await this.backend.createUpload({
      name: file.name,
      size: file.size,
      content_type: contentTypeOf(file),
      crc32c,
      ...(task.view.folderId !== null ? { folder_id: task.view.folderId } : {}),
      ...(task.onConflict ? { on_conflict: task.onConflict } : {}),
    });
    task.target = upload;
    // A new upload: nothing of it told yet.
    task.reported = { since: null, at: 0, bytes: 0, busy: false };
    this.update(task, { fileId: record.id });
  }

  private async startSession(task: Task, signal: AbortSignal) {
    const location = await this.backend.transfer.startSession(task.target!, signal);
    task.location = location;
    // Saved even when paused meanwhile; after sign-out the store keeps nothing.
    this.saved.save({
      fileId: task.view.fileId!,
      location,
      name: task.file.name,
      size: task.file.size,
      lastModified: task.file.lastModified,
      folderId: task.view.folderId,
    });
  }

  private forgetSession(task: Task) {
    if (task.view.fileId) this.saved.remove(task.view.fileId);
    task.location = null;
    task.target = null;
    task.view.fileId = null;
  }

  private async sendChunks(task: Task, signal: AbortSignal) {
    const { file } = task;
    const total = file.size;
    const location = task.location!;
    let offset: number | null = null;
    let attempt = 0;
    task.samples = [];
    for (;;) {
      signal.throwIfAborted();
      try {
        if (offset === null) {
          const state = await this.backend.transfer.querySession(location, total, signal);
          if (state.kind === "complete") return;
          if (state.kind === "gone") {
            this.forgetSession(task);
            throw new ApiError(
              404,
              "not_found",
              "The upload session has expired. Start the upload again.",
            );
          }
          offset = state.stored;
        }
        const end = Math.min(offset + this.chunkSize, total);
        const start = offset;
        this.update(task, { status: "uploading", error: null, loaded: start });
        const state = await this.backend.transfer.putChunk(
          location,
          file.slice(start, end),
          start,
          total,
          (n) => this.progress(task, start + n),
          signal,
        );
        attempt = 0;
        if (state.kind === "complete") return;
        if (state.kind === "gone") {
          offset = null;
          continue;
        }
        offset = state.stored;
      } catch (e) {
        if (isAbort(e) || !retryable(e) || attempt >= this.retryDelays.length) throw e;
        await this.waitToRetry(task, attempt++, signal);
        offset = null;
      }
    }
  }

  private async sendWhole(task: Task, signal: AbortSignal) {
    let attempt = 0;
    task.samples = [];
    for (;;) {
      try {
        this.update(task, { status: "uploading", error: null, loaded: 0 });
        await this.backend.transfer.putWhole(
          task.target!,
          task.file,
          (n) => this.progress(task, n),
          signal,
        );
        return;
      } catch (e) {
        if (isAbort(e) || !retryable(e) || attempt >= this.retryDelays.length) throw e;
        await this.waitToRetry(task, attempt++, signal);
      }
    }
  }

  private async waitToRetry(task: Task, attempt: number, signal: AbortSignal) {
    const delay = this.retryDelays[attempt]!;
    this.update(task, {
      status: "retrying",
      speed: null,
      eta: null,
      error: `Connection lost. Trying again in ${Math.ceil(delay / 1000)} s…`,
    });
    await sleep(delay, signal);
  }

  private progress(task: Task, loaded: number) {
    const now = this.now();
    const samples = task.samples;
    samples.push([now, loaded]);
    while (samples.length > 2 && now - samples[1]![0] > SPEED_WINDOW_MS) samples.shift();
    const [t0, l0] = samples[0]!;
    const dt = (now - t0) / 1000;
    task.view.loaded = loaded;
    this.report(task, loaded);
    if (dt >= 0.5 && loaded > l0) {
      const speed = (loaded - l0) / dt;
      task.view.speed = speed;
      task.view.eta = (task.file.size - loaded) / speed;
    }
    this.emitSoon();
  }

  private update(task: Task, patch: Partial<UploadView>) {
    Object.assign(task.view, patch);
    this.emit();
  }

  private emitSoon() {
    if (this.emitTimer) return;
    this.emitTimer = setTimeout(() => {
      this.emitTimer = null;
      this.emit();
    }, 100);
  }

  private emit() {
    const views = this.views();
    for (const l of this.listeners) l(views);
  }
}
