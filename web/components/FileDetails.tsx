"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { describeActivity, visibleActivity } from "@/lib/activity";
import { ApiError, describeError, type Activity, type FileRecord } from "@/lib/backend";
import { sortActivity } from "@/lib/backend/feed";
import { previewKind } from "@/lib/files";
import { folderHref } from "@/lib/folders";
import { describeType, formatBytes, formatDate, timeAgo } from "@/lib/format";
import { ConfirmDialog } from "./Dialog";
import { FileIcon } from "./FileIcon";
import { useFolderPlace } from "./live-folders";
import { Preview } from "./Preview";
import { ShareDialog } from "./ShareDialog";
import { useLiveActivity, useLiveFiles, useNow, useSession } from "./session";

export function FileDetails({ id }: { id: string }) {
  const { backend, me, refresh } = useSession();
  const router = useRouter();
  const mine = useLiveFiles("mine");
  const shared = useLiveFiles("shared");
  const liveActivity = useLiveActivity();
  const now = useNow(1000);

  const [loaded, setLoaded] = useState<FileRecord | null>(null);
  const [loadError, setLoadError] = useState<{ code: string; text: string } | null>(null);
  const [history, setHistory] = useState<Activity[]>([]);
  const [previewUrl, setPreviewUrl] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [renameError, setRenameError] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [sharing, setSharing] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    backend.getFile(id).then(
      async (d) => {
        if (!live) return;
        setLoaded(d.file);
        if (d.file.owner_id === me.user.id) {
          const a = await backend.fileActivity(id).catch(() => []);
          if (live) setHistory(a);
        }
        if (previewKind(d.file.content_type) && d.file.status === "ready") {
          const u = await backend.downloadUrl(id, true).catch(() => null);
          if (live && u) setPreviewUrl(u.url);
        }
      },
      (e) => {
        if (!live) return;
        setLoadError({
          code: e instanceof ApiError ? e.code : "error",
          text:
            e instanceof ApiError && e.code === "not_found"
              ? "This file does not exist, or it is not shared with you."
              : describeError(e),
        });
      },
    );
    return () => {
      live = false;
    };
  }, [backend, id, me.user.id]);

  const liveFile = mine?.find((f) => f.id === id) ?? shared?.find((f) => f.id === id) ?? null;
  const feedReady = mine !== null && shared !== null;
  const gone = loaded !== null && feedReady && liveFile === null;
  const file = liveFile ?? loaded;
  const isOwner = file?.owner_id === me.user.id;
  // Back to the folder it is in (its name, live), for its owner.
  const folderId = isOwner ? (file?.folder_id ?? null) : null;
  const place = useFolderPlace(backend, folderId);
  const back = place.kind === "folder" ? place.folder.name : "My files";

  const title = file?.name;
  useEffect(() => {
    if (title) document.title = `${title} · livedrop`;
  }, [title]);

  const activity = useMemo(() => {
    const byId = new Map<string, Activity>();
    for (const a of history) byId.set(a.id, a);
    for (const a of liveActivity ?? []) if (a.file_id === id) byId.set(a.id, a);
    return sortActivity(visibleActivity([...byId.values()], me.user.id));
  }, [history, liveActivity, id, me.user.id]);

  if (loadError) {
    return (
      <div className="card narrow" role="alert">
        <h1>File not available</h1>
        <p>{loadError.text}</p>
        <Link href="/files/">Back to my files</Link>
      </div>
    );
  }
  if (!file) return <p className="muted">Loading…</p>;

  const download = async () => {
    setActionError(null);
    try {
      const { url } = await backend.downloadUrl(file.id, false);
      window.location.assign(url);
    } catch (e) {
      setActionError(describeError(e));
    }
  };

  const rename = async (e: FormEvent) => {
    e.preventDefault();
    if (renaming === null) return;
    setBusy(true);
    setRenameError(null);
    try {
      const updated = await backend.renameFile(file.id, renaming.trim());
      setLoaded(updated);
      setRenaming(null);
    } catch (err) {
      setRenameError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    setBusy(true);
    setDeleteError(null);
    try {
      await backend.deleteFile(file.id);
      void refresh();
      router.push(folderHref(folderId));
    } catch (err) {
      setDeleteError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <>
      <p style={{ margin: "0 0 10px" }}>
        <Link href={isOwner ? folderHref(folderId) : "/shared/"}>
          ← {isOwner ? back : "Shared with me"}
        </Link>
      </p>
      {gone ? (
        <p className="alert warn" role="alert">
          This file was deleted{isOwner ? "" : " or is no longer shared with you"}.
        </p>
      ) : null}
      <div className="page-head">
        <FileIcon name={file.name} />
        {renaming === null ? (
          <h1 className="grow" style={{ overflowWrap: "anywhere" }} data-testid="file-title">
            {file.name}
          </h1>
        ) : (
          <form onSubmit={rename} className="row nowrap grow">
            <label htmlFor="rename" className="visually-hidden">
              New name
            </label>
            <input
              id="rename"
              className="grow"
              style={{ width: "auto" }}
              value={renaming}
              autoFocus
              onChange={(e) => setRenaming(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === "Escape") setRenaming(null);
              }}
            />
            <button type="submit" className="primary" disabled={busy || !renaming.trim()}>
              Save
            </button>
            <button type="button" onClick={() => setRenaming(null)}>
              Cancel
            </button>
          </form>
        )}
      </div>
      {renameError ? (
        <p className="alert" role="alert">
          {renameError}
        </p>
      ) : null}
      {actionError ? (
        <p className="alert" role="alert">
          {actionError}
        </p>
      ) : null}
      <div className="row" style={{ marginBottom: 16 }}>
        <button type="button" className="primary" onClick={download} disabled={gone}>
          Download
        </button>
        {isOwner ? (
          <>
            <button type="button" onClick={() => setSharing(true)} disabled={gone}>
              Share
            </button>
            <button
              type="button"
              onClick={() => {
                setRenameError(null);
                setRenaming(file.name);
              }}
              disabled={gone || renaming !== null}
            >
              Rename
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => setConfirmDelete(true)}
              disabled={gone}
            >
              Delete
            </button>
          </>
        ) : null}
      </div>

      <div className="details">
        <Preview
          contentType={file.content_type}
          name={file.name}
          size={file.size}
          url={previewKind(file.content_type) ? previewUrl : null}
          readText={backend.readText.bind(backend)}
          readBlob={backend.readBlob.bind(backend)}
        />
        <div className="stack">
          <section className="card" aria-label="About this file">
            <dl className="facts">
              <dt>Size</dt>
              <dd>{formatBytes(file.size)}</dd>
              <dt>Type</dt>
              <dd>
                {describeType(file.content_type)}{" "}
                <span className="muted mono">{file.content_type}</span>
              </dd>
              <dt>Owner</dt>
              <dd>{isOwner ? "You" : file.owner_email}</dd>
              <dt>Uploaded</dt>
              <dd>{formatDate(file.created_at)}</dd>
              <dt>Modified</dt>
              <dd>{formatDate(file.updated_at)}</dd>
              <dt>CRC32C</dt>
              <dd className="mono">{file.crc32c}</dd>
            </dl>
          </section>
          {isOwner ? (
            <section className="card" aria-labelledby="activity-title">
              <h2 id="activity-title">Activity</h2>
              {activity.length === 0 ? (
                <p className="muted">Nothing yet.</p>
              ) : (
                <ol className="activity" aria-live="polite" data-testid="activity">
                  {activity.map((a) => (
                    <li key={a.id}>
                      <span>{describeActivity(a, me.user.id)}</span>
                      <time dateTime={a.at} title={formatDate(a.at)}>
                        {timeAgo(a.at, now)}
                      </time>
                    </li>
                  ))}
                </ol>
              )}
            </section>
          ) : null}
        </div>
      </div>

      {sharing ? (
        <ShareDialog backend={backend} file={file} onClose={() => setSharing(false)} />
      ) : null}
      {confirmDelete ? (
        <ConfirmDialog
          title="Delete this file?"
          message={
            <p>
              “{file.name}” will be deleted for you and everyone it is shared with, and its public
              links stop working. This cannot be undone.
            </p>
          }
          confirmLabel="Delete"
          danger
          busy={busy}
          error={deleteError}
          onConfirm={remove}
          onCancel={() => setConfirmDelete(false)}
        />
      ) : null}
    </>
  );
}
