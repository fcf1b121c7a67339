"use client";

import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { createRoot } from "react-dom/client";
import {
  describeError,
  isAbort,
  type Backend,
  type Folder,
  type SelectedItems,
} from "@/lib/backend";
import { formatBytes, formatDuration, formatSpeed } from "@/lib/format";
import {
  downloadZip,
  folderArchive,
  selectionArchive,
  ZipCanceledError,
  ZipUnsupportedError,
  type ArchiveSource,
  type ZipProgress,
} from "@/lib/zip-download";

type State =
  | { kind: "idle" }
  | { kind: "running"; progress: ZipProgress | null }
  | { kind: "done"; progress: ZipProgress }
  | { kind: "canceled"; why: string }
  | { kind: "failed"; message: string; unsupported: boolean };

/**
 * "Download as ZIP" for one folder (of mine, shared with me, or through a
 * public link: `archive` says where its listing comes from): the button,
 * then the archive's progress (bytes, speed, time left), Cancel, and what
 * happened. The archive is made in this page and streamed to disk
 * (lib/zip-download.ts), so the page has to stay open until it is done.
 */
export function ZipButton({
  archive,
  autoStart = false,
  onRunningChange,
}: {
  archive: ArchiveSource;
  /** Starts at once (the folder menu's "Download as ZIP"). */
  autoStart?: boolean;
  onRunningChange?: (running: boolean) => void;
}) {
  const [state, setState] = useState<State>(
    autoStart ? { kind: "running", progress: null } : { kind: "idle" },
  );
  const abort = useRef<AbortController | null>(null);
  const running = state.kind === "running";

  /** Makes and saves the archive; the state says "running" already. */
  const run = () => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    downloadZip(archive, {
      signal: controller.signal,
      onProgress: (progress) => {
        if (!controller.signal.aborted) setState({ kind: "running", progress });
      },
    }).then(
      () => {
        if (abort.current !== controller) return;
        abort.current = null;
        setState((s) =>
          s.kind === "running" && s.progress
            ? // The last report may be from before the last bytes went out.
              {
                kind: "done",
                progress: {
                  ...s.progress,
                  phase: "done",
                  written: s.progress.total ?? s.progress.written,
                },
              }
            : { kind: "idle" },
        );
      },
      (e: unknown) => {
        if (abort.current !== controller) return;
        abort.current = null;
        if (isAbort(e) || controller.signal.aborted) {
          setState({ kind: "canceled", why: "The ZIP download was cancelled." });
        } else if (e instanceof ZipCanceledError) {
          setState({ kind: "canceled", why: "The ZIP download was stopped in the browser." });
        } else {
          setState({
            kind: "failed",
            message: describeError(e),
            unsupported: e instanceof ZipUnsupportedError,
          });
        }
      },
    );
  };

  const start = () => {
    setState({ kind: "running", progress: null });
    run();
  };

  // The menu's item starts it on mount; unmounting stops it. (Strict
  // mode's second mount starts it again; the first run is ignored.)
  useEffect(() => {
    if (autoStart) run();
    return () => abort.current?.abort();
    // run is this render's; it is called on mount only.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    onRunningChange?.(running);
    if (!running) return;
    // Closing or reloading the tab would cut the archive short.
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    addEventListener("beforeunload", warn);
    return () => removeEventListener("beforeunload", warn);
  }, [running, onRunningChange]);

  const zipName = `${archive.name}.zip`;
  return (
    <div className="zip-download" data-testid="zip-download">
      <div className="row nowrap">
        <span className="grow ellipsis" title={zipName}>
          {zipName}
        </span>
        {running ? (
          <button
            type="button"
            className="small danger"
            onClick={() => abort.current?.abort()}
            aria-label={`Cancel the ZIP download of ${archive.name}`}
          >
            Cancel
          </button>
        ) : (
          <button type="button" className="small" onClick={start}>
            {state.kind === "idle" ? "Download as ZIP" : "Download again"}
          </button>
        )}
      </div>
      {state.kind !== "idle" ? <Status state={state} name={archive.name} /> : null}
    </div>
  );
}

function Status({ state, name }: { state: Exclude<State, { kind: "idle" }>; name: string }) {
  if (state.kind === "failed") {
    return (
      <p className="alert" role="alert" style={{ margin: "6px 0 0" }}>
        {state.message}
      </p>
    );
  }
  if (state.kind === "canceled") {
    return (
      <p className="muted" role="status" style={{ margin: "6px 0 0" }}>
        {state.why}
      </p>
    );
  }
  const p = state.progress;
  const pct = p?.total ? Math.min(100, (100 * p.written) / p.total) : 0;
  const text = statusText(state);
  return (
    <>
      <div
        className={`progress ${state.kind === "done" ? "done" : ""}`}
        role="progressbar"
        aria-label={`ZIP download of ${name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(pct)}
        aria-valuetext={text}
        style={{ margin: "6px 0" }}
      >
        <div style={{ width: `${pct}%` }} />
      </div>
      <p
        className="muted"
        role={state.kind === "done" ? "status" : undefined}
        data-testid="zip-status"
        style={{ margin: 0 }}
      >
        {text}
      </p>
      {state.kind === "running" && p?.via === "memory" ? (
        <p className="hint" style={{ margin: "4px 0 0" }}>
          This browser cannot save a download as it is made, so the ZIP is put together in memory
          first (it is small enough).
        </p>
      ) : state.kind === "running" && p?.phase === "saving" ? (
        <p className="hint" style={{ margin: "4px 0 0" }}>
          Keep this page open until the download is done.
        </p>
      ) : null}
    </>
  );
}

function statusText(state: Extract<State, { kind: "running" | "done" }>): string {
  const p = state.progress;
  if (!p) return "Starting…";
  const files = `${p.files} ${p.files === 1 ? "file" : "files"}`;
  if (state.kind === "done") return `Done: ${files}, ${formatBytes(p.total ?? p.written)}.`;
  if (p.phase === "listing") {
    return `Listing the folder… ${p.listed} ${p.listed === 1 ? "item" : "items"}`;
  }
  const parts = [`${formatBytes(p.written)} of ${formatBytes(p.total ?? 0)}`];
  if (p.bytesPerSecond) parts.push(formatSpeed(p.bytesPerSecond));
  if (p.secondsLeft !== null && p.bytesPerSecond)
    parts.push(`${formatDuration(p.secondsLeft)} left`);
  return parts.join(" · ");
}

// ---------- the tray the folder menus start downloads in ----------

interface TrayItem {
  key: number;
  /** What makes two downloads the same one (a folder's, or a folder's through a link). */
  id: string;
  archive: ArchiveSource;
}

let items: TrayItem[] = [];
let nextKey = 1;
const listeners = new Set<() => void>();
const emit = () => listeners.forEach((l) => l());
const store = {
  subscribe(l: () => void) {
    listeners.add(l);
    return () => listeners.delete(l);
  },
  get: () => items,
};

/**
 * Starts a ZIP download of `folder` in a small panel at the bottom of the
 * window, which stays while the app moves between pages. One per folder at
 * a time: asking again for one already there brings nothing new.
 */
export function startZipDownload(backend: Backend, folder: Folder) {
  startArchiveDownload(`folder:${folder.id}`, folderArchive(backend, folder));
}

/**
 * startZipDownload for some files and folders of one folder, "<name>.zip"
 * (`name`: the folder they are in). The same items asked for again, in any
 * order, are the same download.
 */
export function startSelectionZipDownload(backend: Backend, items: SelectedItems, name: string) {
  const id = `selection:${[...items.files].sort().join(",")}:${[...items.folders].sort().join(",")}`;
  startArchiveDownload(id, selectionArchive(backend, items, name));
}

/** startZipDownload for any archive; `id` tells two downloads of the same archive. */
export function startArchiveDownload(id: string, archive: ArchiveSource) {
  if (typeof document === "undefined") return;
  if (!document.getElementById("zip-tray")) {
    const host = document.createElement("div");
    host.id = "zip-tray";
    document.body.appendChild(host);
    createRoot(host).render(<ZipTray />);
  }
  if (items.some((i) => i.id === id)) return;
  items = [...items, { key: nextKey++, id, archive }];
  emit();
}

function ZipTray() {
  const list = useSyncExternalStore(store.subscribe, store.get, store.get);
  if (list.length === 0) return null;
  return (
    <section
      className="card"
      aria-label="ZIP downloads"
      style={{
        position: "fixed",
        right: 16,
        bottom: 16,
        zIndex: 30,
        width: "min(420px, calc(100vw - 32px))",
        padding: 12,
        display: "grid",
        gap: 12,
      }}
    >
      {list.map((item) => (
        <TrayEntry key={item.key} item={item} />
      ))}
    </section>
  );
}

function TrayEntry({ item }: { item: TrayItem }) {
  const [running, setRunning] = useState(true);
  return (
    <div>
      <ZipButton archive={item.archive} autoStart onRunningChange={setRunning} />
      {running ? null : (
        <p style={{ margin: "6px 0 0", textAlign: "right" }}>
          <button
            type="button"
            className="small"
            aria-label={`Dismiss the ZIP download of ${item.archive.name}`}
            onClick={() => {
              items = items.filter((i) => i.key !== item.key);
              emit();
            }}
          >
            Dismiss
          </button>
        </p>
      )}
    </div>
  );
}
