"use client";

import { useEffect, useRef, useState, type DragEvent } from "react";
import { formatBytes, formatDuration, formatSpeed } from "@/lib/format";
import type { SavedUpload, UploadManager, UploadView } from "@/lib/uploads";

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
}

export function UploadPanel({ uploads, onFinished, free }: UploadPanelProps) {
  const [views, setViews] = useState<UploadView[]>(() => uploads.views());
  const [unfinished, setUnfinished] = useState<SavedUpload[]>(() => uploads.unfinished());
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const doneCount = useRef(0);
  const onFinishedRef = useRef(onFinished);
  useEffect(() => {
    onFinishedRef.current = onFinished;
  });

  useEffect(
    () =>
      uploads.subscribe((v) => {
        setViews(v);
        setUnfinished(uploads.unfinished());
        const done = v.filter((x) => x.status === "done").length;
        if (done > doneCount.current) onFinishedRef.current?.();
        doneCount.current = done;
      }),
    [uploads],
  );

  const add = (list: FileList | null) => {
    if (list && list.length) uploads.add(Array.from(list));
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
      if (!hasFiles(e)) return;
      e.preventDefault();
      setOver(false);
      const files = e.dataTransfer?.files;
      if (files && files.length) uploads.add(Array.from(files));
    };
    window.addEventListener("dragover", onOver);
    window.addEventListener("dragleave", onLeave);
    window.addEventListener("drop", onDrop);
    return () => {
      window.removeEventListener("dragover", onOver);
      window.removeEventListener("dragleave", onLeave);
      window.removeEventListener("drop", onDrop);
    };
  }, [uploads]);

  // A drop on the zone: handled here, and kept from the window's handler.
  const finished = views.filter((v) => v.status === "done" || v.status === "canceled").length;

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    e.nativeEvent.stopImmediatePropagation();
    setOver(false);
    add(e.dataTransfer.files);
  };

  return (
    <section aria-label="Upload">
      <div className={over ? "dropzone over" : "dropzone"} onDrop={onDrop} data-testid="dropzone">
        <button type="button" className="primary" onClick={() => input.current?.click()}>
          Upload files
        </button>
        <p className="muted grow">
          or drop files here. Up to {formatBytes(uploads.maxFileSize)} a file
          {free !== undefined ? `, ${formatBytes(free)} free` : ""}; large files resume after a lost
          connection.
        </p>
        {finished > 1 ? (
          <button
            type="button"
            className="small"
            onClick={() => {
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

      {views.length > 0 ? (
        <ul className="uploads" aria-label="Uploads">
          {views.map((v) => {
            const active = ["queued", "hashing", "uploading", "retrying"].includes(v.status);
            const pct = percent(v);
            return (
              <li key={v.key} className="upload" data-status={v.status}>
                <div className="ellipsis" title={v.name}>
                  <strong>{v.name}</strong>
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
