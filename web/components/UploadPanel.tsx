"use client";

import { useEffect, useRef, useState, type DragEvent } from "react";
import { readDrop, treeFromFiles, type PickedTree } from "@/lib/folder-upload";
import { formatBytes, formatDuration, formatSpeed } from "@/lib/format";
import type { BatchView, SavedUpload, UploadManager, UploadView } from "@/lib/uploads";
import { FolderIcon } from "./FolderIcon";

function statusText(v: UploadView): string {
  const of = `${formatBytes(v.loaded)} of ${formatBytes(v.size)}`;
  switch (v.status) {
    case "queued":
      return "Waiting to start…";
    case "hashing":
      return `Checking the file… ${v.size ? Math.floor((v.hashed / v.size) * 100) : 100}%`;
    case "uploading": {
      const parts = [of];
      if (v.speed) parts.push(formatSpeed(v.speed));
      if (v.eta !== null && v.speed) parts.push(`${formatDuration(v.eta)} left`);
      if (v.resumedFrom) parts.push(`resumed at ${formatBytes(v.resumedFrom)}`);
      return parts.join(" · ");
    }
    case "retrying":
      return v.error ?? "Connection lost. Retrying…";
    case "paused":
      return `Paused at ${of}`;
    case "completing":
      return "Verifying the checksum…";
    case "done":
      return v.resumedFrom
        ? `Uploaded · ${formatBytes(v.size)} · continued from ${formatBytes(v.resumedFrom)}`
        : `Uploaded · ${formatBytes(v.size)}`;
    case "failed":
      return v.error ?? "Failed.";
    case "canceled":
      return "Canceled";
  }
}

/** A folder dropped again: what was there already is not sent again. */
function alreadyText(b: BatchView): string {
  return b.already ? ` (${b.already} there already)` : "";
}

function batchText(b: BatchView): string {
  switch (b.status) {
    case "preparing":
      return b.foldersTotal
        ? `Making folders… ${b.foldersMade} of ${b.foldersTotal}`
        : "Getting ready…";
    case "uploading":
    case "paused": {
      const parts = [
        `${b.done} of ${b.files} ${b.files === 1 ? "file" : "files"}${alreadyText(b)}`,
        `${formatBytes(b.loaded)} of ${formatBytes(b.size)}`,
      ];
      if (b.status === "paused") parts.push("paused");
      if (b.speed) parts.push(formatSpeed(b.speed));
      if (b.eta !== null) parts.push(`${formatDuration(b.eta)} left`);
      return parts.join(" · ");
    }
    case "done":
      return `Uploaded ${b.done} ${b.done === 1 ? "file" : "files"}${alreadyText(b)} · ${formatBytes(b.size)}`;
    case "failed":
      return b.error ?? "Failed.";
    case "canceled":
      return "Canceled";
  }
}

function batchPercent(b: BatchView): number {
  if (b.status === "done") return 100;
  if (b.status === "preparing") return 0;
  return b.size ? Math.min(100, (b.loaded / b.size) * 100) : b.files ? (b.done / b.files) * 100 : 0;
}

/** The attribute React does not know, for picking a folder. */
const PICK_FOLDER = { webkitdirectory: "", directory: "" } as Record<string, string>;

function percent(v: UploadView): number {
  if (v.status === "done") return 100;
  if (v.status === "hashing") return 0;
  return v.size ? Math.min(100, (v.loaded / v.size) * 100) : 0;
}

interface UploadPanelProps {
  uploads: UploadManager;
  onFinished?: () => void;
  /** Bytes left in the quota, when known. */
  free?: number;
  /**
   * Where picked and dropped files and folders go (as a tree: a folder
   * keeps its folders). Without it, files go straight to the upload
   * manager and no folder can be picked.
   */
  onUpload?: (tree: PickedTree) => void;
  /** Where uploads go, in words ("Trip"), when not the top. */
  destination?: string;
}

export function UploadPanel({
  uploads,
  onFinished,
  free,
  onUpload,
  destination,
}: UploadPanelProps) {
  const [views, setViews] = useState<UploadView[]>(() => uploads.views());
  const [batches, setBatches] = useState<BatchView[]>(() => uploads.batches());
  const [unfinished, setUnfinished] = useState<SavedUpload[]>(() => uploads.unfinished());
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const doneCount = useRef(0);
  const onFinishedRef = useRef(onFinished);
  const onUploadRef = useRef(onUpload);
  useEffect(() => {
    onFinishedRef.current = onFinished;
    onUploadRef.current = onUpload;
  });

  useEffect(
    () =>
      uploads.subscribe((v) => {
        setViews(v);
        setBatches(uploads.batches());
        setUnfinished(uploads.unfinished());
        const done = v.filter((x) => x.status === "done").length;
        if (done > doneCount.current) onFinishedRef.current?.();
        doneCount.current = done;
      }),
    [uploads],
  );

  const add = (list: FileList | null) => {
    if (!list || !list.length) return;
    const files = Array.from(list);
    if (onUploadRef.current) onUploadRef.current(treeFromFiles(files));
    else uploads.add(files);
  };

  // A drop's folders are walked (their items are readable in the event only).
  const addDrop = (data: DataTransfer) => {
    const handle = onUploadRef.current;
    if (!handle) {
      if (data.files.length) uploads.add(Array.from(data.files));
      return;
    }
    void readDrop(data).then(
      (tree) => {
        if (tree.files.length || tree.dirs.length) handle(tree);
      },
      () => {
        // Unreadable (moved away meanwhile): nothing to upload.
      },
    );
  };

  // Files dropped anywhere on the page are uploaded too (not only on the zone).
  useEffect(() => {
    const hasFiles = (e: globalThis.DragEvent) => e.dataTransfer?.types.includes("Files") ?? false;
    const onOver = (e: globalThis.DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      setOver(true);
    };
    const onLeave = (e: globalThis.DragEvent) => {
      if (e.relatedTarget === null) setOver(false);
    };
    const onDrop = (e: globalThis.DragEvent) => {
      if (!hasFiles(e) || !e.dataTransfer) return;
      e.preventDefault();
      setOver(false);
      addDrop(e.dataTransfer);
    };
    window.addEventListener("dragover", onOver);
    window.addEventListener("dragleave", onLeave);
    window.addEventListener("drop", onDrop);
    return () => {
      window.removeEventListener("dragover", onOver);
      window.removeEventListener("dragleave", onLeave);
      window.removeEventListener("drop", onDrop);
    };
    // addDrop reads its handler through a ref.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [uploads]);

  // A drop on the zone: handled here, and kept from the window's handler.
  const finished =
    views.filter((v) => v.status === "done" || v.status === "canceled").length +
    batches.filter((b) => b.status === "done" || b.status === "canceled").length;

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    e.nativeEvent.stopImmediatePropagation();
    setOver(false);
    addDrop(e.dataTransfer);
  };

  return (
    <section aria-label="Upload">
      <div className={over ? "dropzone over" : "dropzone"} onDrop={onDrop} data-testid="dropzone">
        <div className="row">
          <button type="button" className="primary" onClick={() => input.current?.click()}>
            Upload files
          </button>
          {onUpload ? (
            <button type="button" onClick={() => folderInput.current?.click()}>
              Upload folder
            </button>
          ) : null}
        </div>
        <p className="muted grow">
          or drop {onUpload ? "files or folders" : "files"} here
          {destination ? ` to put them in “${destination}”` : ""}. Up to{" "}
          {formatBytes(uploads.maxFileSize)} a file
          {free !== undefined ? `, ${formatBytes(free)} free` : ""}; large files resume after a lost
          connection.
        </p>
        {finished > 1 ? (
          <button
            type="button"
            className="small"
            onClick={() => {
              for (const b of batches) {
                if (b.status === "done" || b.status === "canceled") uploads.dismissBatch(b.id);
              }
              for (const v of views) {
                if (v.status === "done" || v.status === "canceled") uploads.dismiss(v.key);
              }
            }}
          >
            Clear finished
          </button>
        ) : null}
        <input
          ref={input}
          type="file"
          multiple
          hidden
          aria-label="Choose files to upload"
          data-testid="file-input"
          onChange={(e) => {
            add(e.target.files);
            e.target.value = "";
          }}
        />
        {onUpload ? (
          <input
            ref={folderInput}
            type="file"
            {...PICK_FOLDER}
            multiple
            hidden
            aria-label="Choose a folder to upload"
            data-testid="folder-input"
            onChange={(e) => {
              add(e.target.files);
              e.target.value = "";
            }}
          />
        ) : null}
      </div>

      {unfinished.length > 0 ? (
        <div className="alert warn" role="status">
          <strong>Unfinished uploads.</strong> Pick the same file again to continue where it
          stopped:
          <ul className="list">
            {unfinished.map((r) => (
              <li key={r.fileId}>
                <span className="grow ellipsis" title={r.name}>
                  {r.name} <span className="muted">({formatBytes(r.size)})</span>
                </span>
                <button type="button" className="small" onClick={() => input.current?.click()}>
                  Pick file
                </button>
                <button
                  type="button"
                  className="small danger"
                  onClick={() => void uploads.forget(r.fileId)}
                  aria-label={`Discard the unfinished upload of ${r.name}`}
                >
                  Discard
                </button>
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      {batches.length > 0 ? (
        <ul className="uploads" aria-label="Folder uploads">
          {batches.map((b) => {
            const active = b.status === "preparing" || b.status === "uploading";
            const pct = batchPercent(b);
            return (
              <li key={b.id} className="upload batch" data-status={b.status}>
                <div className="batch-name" title={b.label}>
                  <FolderIcon />
                  <strong className="ellipsis">{b.label}</strong>
                </div>
                <div className="row" style={{ flexWrap: "nowrap" }}>
                  {active || b.status === "paused" ? (
                    <button
                      type="button"
                      className="small danger"
                      onClick={() => uploads.cancelBatch(b.id)}
                      aria-label={`Cancel the upload of ${b.label}`}
                    >
                      Cancel
                    </button>
                  ) : (
                    <button
                      type="button"
                      className="small"
                      onClick={() => uploads.dismissBatch(b.id)}
                      aria-label={`Dismiss the upload of ${b.label}`}
                    >
                      Dismiss
                    </button>
                  )}
                </div>
                <div
                  className={`progress ${b.status === "done" ? "done" : b.status === "failed" ? "failed" : ""}`}
                  role="progressbar"
                  aria-label={`Upload of ${b.label}`}
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={Math.round(pct)}
                  aria-valuetext={batchText(b)}
                >
                  <div style={{ width: `${pct}%` }} />
                </div>
                <div
                  className={b.status === "failed" ? "meta error" : "meta"}
                  role={b.status === "failed" ? "alert" : undefined}
                  data-testid="batch-status"
                >
                  {batchText(b)}
                </div>
              </li>
            );
          })}
        </ul>
      ) : null}

      {views.length > 0 ? (
        <ul className="uploads" aria-label="Uploads">
          {views.map((v) => {
            const active = ["queued", "hashing", "uploading", "retrying"].includes(v.status);
            const pct = percent(v);
            return (
              <li key={v.key} className="upload" data-status={v.status}>
                <div className="ellipsis" title={v.path ? `${v.path}/${v.name}` : v.name}>
                  <strong>{v.name}</strong>
                  {v.path ? <span className="muted"> in {v.path}</span> : null}
                </div>
                <div className="row" style={{ flexWrap: "nowrap" }}>
                  {active ? (
                    <button
                      type="button"
                      className="small"
                      onClick={() => uploads.pause(v.key)}
                      aria-label={`Pause ${v.name}`}
                    >
                      Pause
                    </button>
                  ) : null}
                  {v.status === "paused" ||
                  (v.status === "failed" && v.size <= uploads.maxFileSize) ? (
                    <button
                      type="button"
                      className="small"
                      onClick={() => uploads.resume(v.key)}
                      aria-label={`${v.status === "paused" ? "Resume" : "Retry"} ${v.name}`}
                    >
                      {v.status === "paused" ? "Resume" : "Retry"}
                    </button>
                  ) : null}
                  {active || v.status === "paused" || v.status === "completing" ? (
                    <button
                      type="button"
                      className="small danger"
                      onClick={() => uploads.cancel(v.key)}
                      aria-label={`Cancel ${v.name}`}
                    >
                      Cancel
                    </button>
                  ) : (
                    <button
                      type="button"
                      className="small"
                      onClick={() => uploads.dismiss(v.key)}
                      aria-label={`Dismiss ${v.name}`}
                    >
                      Dismiss
                    </button>
                  )}
                </div>
                <div
                  className={`progress ${v.status === "done" ? "done" : v.status === "failed" ? "failed" : ""}`}
                  role="progressbar"
                  aria-label={`Upload of ${v.name}`}
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={Math.round(pct)}
                >
                  <div style={{ width: `${pct}%` }} />
                </div>
                <div
                  className={v.status === "failed" ? "meta error" : "meta"}
                  role={v.status === "failed" ? "alert" : undefined}
                  data-testid="upload-status"
                >
                  {statusText(v)}
                </div>
              </li>
            );
          })}
        </ul>
      ) : null}
    </section>
  );
}
