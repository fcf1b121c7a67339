// "Download as ZIP": a folder with everything in it, as one archive, made in
// the page and saved to disk as it is made.
//
// 1. The whole listing first, page by page, from an ArchiveSource: a folder
//    of mine or one shared with me (POST /api/folders/{id}/archive), some
//    files and folders selected in one (POST /api/archive), or a folder seen
//    through a public link (POST /api/s/{token}/archive, which hands out a
//    ticket with its first page). It is small (names, sizes, signed URLs),
//    and with it zipSize() gives the archive's exact length, so the
//    browser's download shows real progress.
// 2. The archive, from zipStream(): every entry under "<folder name>/", each
//    file's bytes fetched from its signed URL only when its turn comes. A
//    URL lasts minutes and a large download hours, so a URL that has expired
//    or is about to is signed again by asking for its page again (by the
//    cursor the page started at: the same page, fresh URLs).
// 3. Saving, streamed: the archive's ReadableStream is transferred to a tiny
//    Service Worker (public/zip-sw.js) that answers a navigation to
//    /__zip/<id>/<name>.zip with it as an attachment. The browser's download
//    manager writes it to disk as it reads; this page keeps pulling (it owns
//    the fetches), so it counts what went out for the progress, and aborting
//    errors the stream, which ends the download. Neither the archive nor any
//    whole file is ever held in memory.
//
// Where that cannot work (no Service Worker: a plain-HTTP page not on
// localhost, a private window in Firefox; no transferable streams: Safari),
// an archive of at most IN_MEMORY_LIMIT is built in memory, as a Blob, and
// saved from that; a larger one is refused with an error saying why and
// pointing at the command line, never buffered silently.

import type {
  ArchiveEntry,
  ArchivePage,
  Backend,
  Folder,
  LinkArchivePage,
  LinkArchiveRequest,
  SelectedItems,
} from "./backend/types";
import { zipSize, zipStream, type ZipEntry } from "./zip";

/** The in-memory fallback's limit: what a tab can hold without trouble. */
export const IN_MEMORY_LIMIT = 256 * 1024 * 1024;

/** A URL is signed again when it expires in less than this. */
export const RESIGN_MARGIN_MS = 60_000;

/** The Service Worker's script, and the part of the site it answers. */
export const SW_URL = "/zip-sw.js";
export const SW_SCOPE = "/__zip/";

/** How often the page pings the Service Worker while it streams, so it is not stopped as idle. */
const KEEP_ALIVE_MS = 10_000;

export interface ZipProgress {
  phase: "listing" | "saving" | "done";
  /** Entries listed so far (files and folders). */
  listed: number;
  /** Files in the archive, once listed. */
  files: number;
  /** Bytes of the archive handed to the browser so far. */
  written: number;
  /** The archive's exact length, once listed. */
  total: number | null;
  /** Over the last few seconds; null until there is a measure. */
  bytesPerSecond: number | null;
  secondsLeft: number | null;
  /** How it is saved: streamed to disk, or built in memory first. */
  via: "stream" | "memory" | null;
}

export interface ZipOptions {
  onProgress?: (p: ZipProgress) => void;
  signal?: AbortSignal;
  /** Tests: where the archive goes (default: saveZip, below). */
  save?: SaveFn;
  /** Tests: the fetch for file bytes (default: the global one). */
  fetch?: typeof fetch;
  /** Tests: the clock (ms). */
  now?: () => number;
}

export interface SaveInfo {
  /** The file's name, "<folder>.zip". */
  name: string;
  /** The archive's exact length. */
  size: number;
  signal: AbortSignal;
  /** Settles when the whole archive has been read from the stream, or it failed. */
  done: Promise<void>;
}

/**
 * Takes the archive's stream and saves it: resolves once the browser has
 * the download (streamed: when it starts reading; in memory: when it has
 * all of it), rejects when it cannot.
 */
export type SaveFn = (stream: ReadableStream<Uint8Array>, info: SaveInfo) => Promise<void>;

/** The browser cannot save this archive as it is made; `message` says why and what to do. */
export class ZipUnsupportedError extends Error {
  override name = "ZipUnsupportedError";
}

/** Making the archive failed (a file could not be read, changed, went). */
export class ZipDownloadError extends Error {
  override name = "ZipDownloadError";
}

/** The download was stopped in the browser's download manager (or the tab that held it went). */
export class ZipCanceledError extends Error {
  override name = "ZipCanceledError";
}

/**
 * Asks for one page of an archive's listing, by the cursor it starts at (null:
 * the first). `again`: the page was had before, and is asked for only to
 * sign its URLs afresh (never counted as another download).
 */
export type ArchivePages = (cursor: string | null, again: boolean) => Promise<ArchivePage>;

/** What a ZIP is made of: a folder, and where its listing comes from. */
export interface ArchiveSource {
  /** The folder's name, until the listing says it; the archive is "<name>.zip". */
  name: string;
  /** The folder's own time, for the archive's top entry. */
  updated_at: string;
  /**
   * Starts one download's listing: every page of that download is asked for
   * through the function it returns (which may keep what the first page
   * handed out), so each download starts afresh.
   */
  open(): ArchivePages;
  /**
   * Where else to turn when this browser cannot save the archive, the end of
   * a sentence ("or …"); by default the command line.
   */
  elsewhere?: (root: string) => string;
}

/** A folder of mine, or one shared with me (POST /api/folders/{id}/archive). */
export function folderArchive(
  backend: Pick<Backend, "archivePage">,
  folder: Folder,
): ArchiveSource {
  return {
    name: folder.name,
    updated_at: folder.updated_at,
    open: () => (cursor, again) =>
      again
        ? backend.archivePage(folder.id, cursor, { again: true })
        : backend.archivePage(folder.id, cursor),
  };
}

/**
 * Some files and folders of one folder (POST /api/archive): "<name>.zip",
 * `name` being the folder they are in, with only them under "<name>/".
 */
export function selectionArchive(
  backend: Pick<Backend, "selectionArchivePage">,
  items: SelectedItems,
  name: string,
): ArchiveSource {
  return {
    name,
    // No folder of its own is archived: its top entry is dated when asked for.
    updated_at: new Date().toISOString(),
    open: () => (cursor, again) =>
      again
        ? backend.selectionArchivePage(items, cursor, { again: true })
        : backend.selectionArchivePage(items, cursor),
    // Not the command line: `get -r` takes the whole folder. Fewer may fit in memory.
    elsewhere: () => "or select fewer items at a time.",
  };
}

/**
 * A folder through a public link (POST /api/s/{token}/archive): `request`
 * sends one page's request. The first page carries the password (counted
 * as one download) and brings a ticket; every later page, and every page
 * asked for again, carries the ticket instead (not counted).
 */
export function linkArchive(
  request: (body: LinkArchiveRequest) => Promise<LinkArchivePage>,
  folder: { id: string | null; name: string; updated_at: string },
  password?: string,
): ArchiveSource {
  const where = folder.id !== null ? { folder_id: folder.id } : {};
  return {
    name: folder.name,
    updated_at: folder.updated_at,
    open: () => {
      let ticket: string | null = null;
      return async (cursor) => {
        if (ticket === null) {
          if (cursor !== null) throw new ZipDownloadError("The archive's first page went missing.");
          const first = await request({ ...where, ...(password ? { password } : {}) });
          ticket = first.ticket;
          return first;
        }
        return request({ ...where, ticket, ...(cursor !== null ? { cursor } : {}) });
      };
    },
    elsewhere: () => "or download its files one at a time.",
  };
}

interface ListedFile {
  kind: "file";
  path: string;
  fileId: string;
  size: number;
  modified: Date;
  url: string;
  expiresAt: number;
  /** The listing page it came in: re-signing asks for that page again. */
  page: number;
}

interface ListedFolder {
  kind: "folder";
  path: string;
  modified: Date;
}

type Listed = ListedFile | ListedFolder;

interface Listing {
  name: string;
  entries: Listed[];
  /** Each page's starting cursor (null for the first). */
  cursors: (string | null)[];
}

/** downloadZip() of a folder of mine, or one shared with me. */
export function downloadFolderZip(
  backend: Pick<Backend, "archivePage">,
  folder: Folder,
  options: ZipOptions = {},
): Promise<void> {
  return downloadZip(folderArchive(backend, folder), options);
}

/**
 * Lists the folder, builds its ZIP and saves it ("<name>.zip", its entries
 * under "<name>/"). Resolves once the whole archive has gone to the browser;
 * rejects with an AbortError when `signal` aborts, ZipCanceledError when the
 * download was stopped in the browser, ZipUnsupportedError when it cannot be
 * saved here, ZipDownloadError or an ApiError otherwise.
 */
export async function downloadZip(archive: ArchiveSource, options: ZipOptions = {}): Promise<void> {
  const signal = options.signal ?? new AbortController().signal;
  const now = options.now ?? (() => Date.now());
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const progress: ZipProgress = {
    phase: "listing",
    listed: 0,
    files: 0,
    written: 0,
    total: null,
    bytesPerSecond: null,
    secondsLeft: null,
    via: null,
  };
  const report = () => options.onProgress?.({ ...progress });
  signal.throwIfAborted();
  report();

  // The Service Worker starts while the listing is fetched.
  const saver = options.save ? Promise.resolve(options.save) : streamSaver();
  saver.catch(() => {}); // awaited below; not unhandled meanwhile

  const pages = archive.open();
  const listing = await list(pages, archive.name, signal, (n) => {
    progress.listed = n;
    report();
  });
  const root = listing.name || archive.name || "folder";
  const entries: ZipEntry[] = [
    { path: `${root}/`, size: 0, modified: new Date(archive.updated_at), open: never },
    ...listing.entries.map((e) =>
      e.kind === "folder"
        ? { path: `${root}/${e.path}/`, size: 0, modified: e.modified, open: never }
        : {
            path: `${root}/${e.path}`,
            size: e.size,
            modified: e.modified,
            open: () => openFile(e),
          },
    ),
  ];
  const total = zipSize(entries);
  progress.total = total;
  progress.files = listing.entries.filter((e) => e.kind === "file").length;

  let save = await saver.catch(() => null);
  progress.via = "stream";
  if (!save) {
    const why = await unsupportedReason();
    if (total > IN_MEMORY_LIMIT) {
      const elsewhere =
        archive.elsewhere?.(root) ?? `or the command line: livedrop get -r "${root}"`;
      throw new ZipUnsupportedError(
        `This browser cannot save a ZIP this large as it is made (${why}). ` +
          `Use a current Chrome, Edge or Firefox on an HTTPS address, ${elsewhere}`,
      );
    }
    // Small enough to build in memory first (and only then saved).
    save = saveInMemory;
    progress.via = "memory";
  }
  progress.phase = "saving";
  report();

  // Re-signing: one request per page at a time, shared by its files.
  const resigning = new Map<number, Promise<void>>();
  const resign = (page: number): Promise<void> => {
    let p = resigning.get(page);
    if (!p) {
      p = (async () => {
        const fresh = await pages(listing.cursors[page] ?? null, true);
        const urls = new Map<string, { url: string; expires_at: string }>();
        for (const e of fresh.entries) if (e.kind === "file") urls.set(e.file_id, e);
        for (const e of listing.entries) {
          if (e.kind !== "file" || e.page !== page) continue;
          const u = urls.get(e.fileId);
          if (u) {
            e.url = u.url;
            e.expiresAt = Date.parse(u.expires_at);
          } else {
            e.expiresAt = -Infinity; // gone from its page: openFile says so
          }
        }
      })().finally(() => resigning.delete(page));
      resigning.set(page, p);
    }
    return p;
  };

  const fileAbort = new AbortController();
  const onAbort = () => fileAbort.abort(signal.reason);
  signal.addEventListener("abort", onAbort);

  async function openFile(e: ListedFile): Promise<ReadableStream<Uint8Array>> {
    let resigned = false;
    if (e.expiresAt - now() < RESIGN_MARGIN_MS) {
      await resign(e.page);
      resigned = true;
    }
    for (;;) {
      if (e.expiresAt === -Infinity) {
        throw new ZipDownloadError(
          `“${e.path}” was deleted or replaced while the ZIP was being made. Start the download again.`,
        );
      }
      let res: Response;
      try {
        res = await doFetch(e.url, { signal: fileAbort.signal, cache: "no-store" });
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        throw new ZipDownloadError(
          `Could not read “${e.path}”: the connection failed (${String(err)}).`,
        );
      }
      // A URL refused although it looked fresh (a clock ahead of the
      // server's): once more, signed again.
      if (!res.ok && !resigned && [400, 401, 403, 404, 410].includes(res.status)) {
        await res.body?.cancel().catch(() => {});
        await resign(e.page);
        resigned = true;
        continue;
      }
      if (!res.ok || !res.body) {
        await res.body?.cancel().catch(() => {});
        throw new ZipDownloadError(
          res.status === 404
            ? `“${e.path}” is no longer there: it was deleted while the ZIP was being made.`
            : `Could not read “${e.path}” (HTTP ${res.status}).`,
        );
      }
      return res.body;
    }
  }

  const rate = new Rate(now);
  let stop = () => {};
  const source = zipStream(entries).getReader();
  let finished: () => void = () => {};
  let failed: (e: unknown) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finished = resolve;
    failed = reject;
  });
  done.catch(() => {}); // awaited below
  let lastReport = 0;
  let out: ReadableStreamDefaultController<Uint8Array> | null = null;
  const counted = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        out = controller;
      },
      async pull(controller) {
        try {
          const next = await source.read();
          signal.throwIfAborted();
          if (next.done) {
            if (progress.written !== total) {
              throw new ZipDownloadError("The archive came out shorter than it should be.");
            }
            controller.close();
            finished();
            return;
          }
          controller.enqueue(next.value);
          progress.written += next.value.length;
          rate.add(next.value.length);
          const t = now();
          if (t - lastReport >= 200) {
            lastReport = t;
            progress.bytesPerSecond = rate.perSecond();
            progress.secondsLeft = progress.bytesPerSecond
              ? (total - progress.written) / progress.bytesPerSecond
              : null;
            report();
          }
        } catch (e) {
          const err = signal.aborted ? signal.reason : e;
          // Errors the download in the browser: never a short file that looks whole.
          controller.error(err);
          failed(err);
        }
      },
      async cancel(reason) {
        // The reader went: the download was stopped in the browser.
        failed(new ZipCanceledError("The download was stopped in the browser."));
        await source.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
  const aborted = new Promise<never>((_, reject) => {
    stop = () => {
      // Ends the download: the stream errors, the browser marks it failed.
      try {
        out?.error(signal.reason);
      } catch {
        // already closed or errored
      }
      void source.cancel(signal.reason).catch(() => {});
      failed(signal.reason);
      reject(signal.reason);
    };
  });
  aborted.catch(() => {});
  signal.addEventListener("abort", stop);

  try {
    try {
      await Promise.race([
        save(counted, { name: `${root}.zip`, size: total, signal, done }),
        aborted,
      ]);
    } catch (e) {
      void source.cancel(e).catch(() => {});
      throw signal.aborted ? signal.reason : e;
    }
    await done;
  } finally {
    signal.removeEventListener("abort", onAbort);
    signal.removeEventListener("abort", stop);
  }
  progress.phase = "done";
  progress.bytesPerSecond = rate.perSecond();
  progress.secondsLeft = 0;
  report();
}

function never(): Promise<ReadableStream<Uint8Array>> {
  return Promise.reject(new Error("a folder has no bytes"));
}

/** Every page of the folder's archive listing. */
async function list(
  pages: ArchivePages,
  name: string,
  signal: AbortSignal,
  onListed: (n: number) => void,
): Promise<Listing> {
  const listing: Listing = { name, entries: [], cursors: [] };
  let cursor: string | null = null;
  for (let page = 0; ; page++) {
    signal.throwIfAborted();
    const got: ArchivePage = await pages(cursor, false);
    signal.throwIfAborted();
    if (page === 0 && got.name) listing.name = got.name;
    listing.cursors.push(cursor);
    for (const e of got.entries) {
      const listed = toListed(e, page);
      if (listed) listing.entries.push(listed);
    }
    onListed(listing.entries.length);
    if (!got.next_cursor) return listing;
    if (got.next_cursor === cursor) {
      throw new ZipDownloadError("The folder's listing did not advance; try again.");
    }
    cursor = got.next_cursor;
  }
}

function toListed(e: ArchiveEntry, page: number): Listed | null {
  const path = e.path.replace(/^\/+|\/+$/g, "");
  if (!path) return null; // the folder itself: it is the archive's root
  const modified = new Date(e.updated_at);
  if (e.kind === "folder") return { kind: "folder", path, modified };
  return {
    kind: "file",
    path,
    fileId: e.file_id,
    size: e.size,
    modified,
    url: e.url,
    expiresAt: Date.parse(e.expires_at),
    page,
  };
}

/** Bytes per second over a sliding window of the last few seconds. */
export class Rate {
  private readonly samples: { at: number; bytes: number }[] = [];
  private sum = 0;
  private readonly started: number;

  constructor(
    private readonly now: () => number,
    private readonly windowMs = 5000,
  ) {
    this.started = now();
  }

  add(bytes: number) {
    this.samples.push({ at: this.now(), bytes });
    this.sum += bytes;
  }

  /** null for the first half second: too soon to say. */
  perSecond(): number | null {
    const at = this.now();
    while (this.samples.length > 0 && at - this.samples[0]!.at > this.windowMs) {
      this.sum -= this.samples.shift()!.bytes;
    }
    const elapsed = at - this.started;
    if (elapsed < 500) return null;
    return (this.sum * 1000) / Math.min(this.windowMs, elapsed);
  }
}

/**
 * Content-Disposition for a download named `name` (RFC 6266): an ASCII
 * `filename` for old readers, and the exact UTF-8 name as RFC 5987's
 * `filename*`.
 */
export function contentDisposition(name: string): string {
  // Lone surrogates become U+FFFD first: encodeURIComponent throws on them.
  const wellFormed = new TextDecoder().decode(new TextEncoder().encode(name));
  const clean = wellFormed.replace(/[\p{Cc}"\\/]/gu, "_").trim() || "download.zip";
  const ascii = clean.replace(/[^\x20-\x7e]/g, "_");
  const star = encodeURIComponent(clean).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${star}`;
}

/** Why this browser cannot stream a download through the Service Worker. */
async function unsupportedReason(): Promise<string> {
  if (typeof window === "undefined") return "no window";
  if (!window.isSecureContext)
    return "this page is not on an HTTPS address, so it has no Service Worker";
  if (!("serviceWorker" in navigator)) return "it offers no Service Worker";
  if (!canTransferStreams()) return "it cannot hand a stream to a Service Worker";
  return "its Service Worker could not be started";
}

/** Whether a ReadableStream can be transferred (Chromium, Firefox; not Safari). */
export function canTransferStreams(): boolean {
  try {
    const probe = new ReadableStream();
    structuredClone(probe, { transfer: [probe as unknown as Transferable] });
    return true;
  } catch {
    return false;
  }
}

/** The streaming saver, once its Service Worker runs; rejects where there is none. */
async function streamSaver(): Promise<SaveFn> {
  if (typeof window === "undefined" || !window.isSecureContext) throw new Error("insecure");
  if (!("serviceWorker" in navigator) || !canTransferStreams()) throw new Error("unsupported");
  const registration = await navigator.serviceWorker.register(SW_URL, { scope: SW_SCOPE });
  const worker = await activeWorker(registration);
  return (stream, info) => saveThroughWorker(worker, stream, info);
}

async function activeWorker(registration: ServiceWorkerRegistration): Promise<ServiceWorker> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (registration.active) return registration.active;
    const w = registration.installing ?? registration.waiting;
    if (!w) throw new Error("no Service Worker");
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("the Service Worker did not start")), 10_000);
      const onChange = () => {
        if (w.state === "activated" || w.state === "redundant") {
          clearTimeout(t);
          w.removeEventListener("statechange", onChange);
          resolve();
        }
      };
      w.addEventListener("statechange", onChange);
      onChange();
    });
    if (Date.now() > deadline) throw new Error("the Service Worker did not start");
  }
}

/** Random, URL-safe. */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function saveThroughWorker(
  worker: ServiceWorker,
  stream: ReadableStream<Uint8Array>,
  info: SaveInfo,
): Promise<void> {
  const id = randomId();
  const channel = new MessageChannel();
  const heard = (want: string, ms: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new ZipDownloadError(what)), ms);
      channel.port1.addEventListener("message", (e: MessageEvent) => {
        const type = (e.data as { type?: unknown } | null)?.type;
        if (type === want) {
          clearTimeout(t);
          resolve();
        }
      });
    });
  const accepted = heard(
    "accepted",
    5000,
    "The download helper (Service Worker) did not answer. Reload the page and try again.",
  );
  const started = heard(
    "started",
    30_000,
    "The browser did not start the download. Reload the page and try again.",
  );
  accepted.catch(() => {});
  started.catch(() => {});
  channel.port1.start();
  worker.postMessage(
    {
      type: "zip",
      id,
      stream,
      headers: {
        "Content-Type": "application/zip",
        "Content-Disposition": contentDisposition(info.name),
        "Content-Length": String(info.size),
      },
    },
    [channel.port2, stream as unknown as Transferable],
  );
  try {
    await accepted;
    // The worker answers this navigation with the stream, as an
    // attachment: the page stays, the download manager takes it. (A frame
    // is not allowed by the pages' CSP, frame-src; an <a download> does
    // not pass through the worker in every browser.)
    const a = document.createElement("a");
    a.href = `${SW_SCOPE}${id}/${encodeURIComponent(info.name)}`;
    a.style.display = "none";
    document.body.appendChild(a);
    a.click();
    a.remove();
    await started;
  } catch (e) {
    channel.port1.close();
    throw e;
  }
  channel.port1.close();
  // Keeps the worker from being stopped as idle while it streams.
  const timer = setInterval(() => {
    try {
      worker.postMessage({ type: "ping" });
    } catch {
      // a stopped worker: the stream errors, and that says so
    }
  }, KEEP_ALIVE_MS);
  info.done.finally(() => clearInterval(timer)).catch(() => {});
}

/**
 * The fallback: the whole archive in memory, then saved from a Blob. Only
 * for archives up to IN_MEMORY_LIMIT (downloadZip checks): beyond
 * that a tab may run out of memory.
 */
export const saveInMemory: SaveFn = async (stream, info) => {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const blob = new Blob(parts as BlobPart[], { type: "application/zip" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = info.name;
  a.style.display = "none";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
};
