"use client";

import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  describeError,
  type Backend,
  type FileRecord,
  type Folder,
  type OnConflict,
  type SelectedItems,
} from "@/lib/backend";
import { uploadTree, type PickedTree } from "@/lib/folder-upload";
import { folderHref, sharedFolderHref } from "@/lib/folders";
import { readyFiles } from "@/lib/files";
import { formatBytes } from "@/lib/format";
import { Breadcrumbs } from "./Breadcrumbs";
import { FileTable } from "./FileTable";
import type { Movable } from "./FolderDialogs";
import {
  useFolderPlace,
  useLiveFilesIn,
  useLiveFolders,
  useLiveSharedFilesIn,
  useLiveSharedFolders,
} from "./live-folders";
import { RowMenu, type MenuAction } from "./RowMenu";
import { UploadPanel } from "./UploadPanel";
import { useLiveFiles, useNow, useSession } from "./session";

// Dialogs are loaded when first opened: the page shows sooner without them.
const dialogs = () => import("./FolderDialogs");
const NameDialog = lazy(() => dialogs().then((m) => ({ default: m.NameDialog })));
const MoveDialog = lazy(() => dialogs().then((m) => ({ default: m.MoveDialog })));
const ConflictDialog = lazy(() => dialogs().then((m) => ({ default: m.ConflictDialog })));
const DeleteFolderDialog = lazy(() => dialogs().then((m) => ({ default: m.DeleteFolderDialog })));
const ShareDialog = lazy(() => import("./ShareDialog").then((m) => ({ default: m.ShareDialog })));

/** How many files per list the live feed's snapshot (and a folder's listing) carries. */
const SNAPSHOT_LIMIT = 1000;

/**
 * Files paged in past the live list (older than its newest 1000), on
 * request; those rows are not live.
 */
function useOlderFiles(
  backend: Backend,
  scope: "mine" | "shared",
  within: string | null | undefined,
  live: FileRecord[] | null,
) {
  const [older, setOlder] = useState<FileRecord[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = async () => {
    setLoading(true);
    setError(null);
    try {
      const known = new Set([...(live ?? []), ...older].map((f) => f.id));
      let next = cursor ?? undefined;
      let added: FileRecord[] = [];
      do {
        const page = await backend.listFiles({
          scope,
          sort: "updated",
          order: "desc",
          limit: SNAPSHOT_LIMIT,
          cursor: next,
          ...(within !== undefined ? { within } : {}),
        });
        added = page.files.filter((f) => !known.has(f.id));
        next = page.next_cursor ?? undefined;
      } while (added.length === 0 && next);
      setOlder((o) => [...o, ...added]);
      setCursor(next ?? null);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setLoading(false);
    }
  };

  // A paged-in file that moved away or went is left out by its live row.
  const files = useMemo(() => {
    if (!live) return null;
    const ids = new Set(live.map((f) => f.id));
    return [...live, ...older.filter((f) => !ids.has(f.id))];
  }, [live, older]);
  // Uploads in progress, where a list has them, are rows but not files yet:
  // nothing is done with them until they are ready.
  const ready = useMemo(() => (files ? readyFiles(files) : null), [files]);

  const more = live !== null && live.length >= SNAPSHOT_LIMIT && cursor !== null;
  return { files, ready, more, load, loading, error };
}

export function FilesScreen({
  scope,
  folderId = null,
}: {
  scope: "mine" | "shared";
  /** The folder shown (null: the top): one of mine, or one shared with me. */
  folderId?: string | null;
}) {
  // A folder of its own: what was paged in, dialogs and messages belong to it.
  return scope === "mine" ? (
    <MyFiles key={folderId ?? ""} folderId={folderId} />
  ) : folderId === null ? (
    <SharedFiles />
  ) : (
    <SharedFolder key={folderId} folderId={folderId} />
  );
}

/**
 * My files at the folder in the query (/files/?folder=ID), not the path: the
 * static export has one page for every folder, and reload, back and forward
 * keep the folder.
 */
export function MyFilesFromQuery() {
  const folder = useSearchParams().get("folder") || null;
  return <FilesScreen scope="mine" folderId={folder} />;
}

/** Shared with me at the folder in the query (/shared/?folder=ID), as My files. */
export function SharedFilesFromQuery() {
  const folder = useSearchParams().get("folder") || null;
  return <FilesScreen scope="shared" folderId={folder} />;
}

/** "Download as ZIP" of what is selected in the folder `name`, in the ZIP tray. */
function downloadSelection(backend: Backend, name: string) {
  return (items: SelectedItems) =>
    void import("./ZipButton").then((m) => m.startSelectionZipDownload(backend, items, name));
}

function useDownload(backend: Backend, setError: (e: string | null) => void) {
  return async (f: FileRecord) => {
    setError(null);
    try {
      const { url } = await backend.downloadUrl(f.id, false);
      window.location.assign(url);
    } catch (e) {
      setError(describeError(e));
    }
  };
}

/** The top of "Shared with me": the folders shared with me, then the files. */
function SharedFiles() {
  const { backend, me } = useSession();
  const files = useLiveFiles("shared");
  const folders = useLiveSharedFolders(backend, null);
  const now = useNow(5000);
  const [error, setError] = useState<string | null>(null);
  const older = useOlderFiles(backend, "shared", undefined, files);
  const download = useDownload(backend, setError);
  useEffect(() => {
    document.title = "Shared with me · livedrop";
  }, []);
  const shownError = error ?? older.error;
  return (
    <>
      <div className="page-head">
        <h1>Shared with me</h1>
      </div>
      {shownError ? (
        <p className="alert" role="alert">
          {shownError}
        </p>
      ) : null}
      <FileTable
        files={older.ready}
        folders={folders}
        folderLink={sharedFolderHref}
        folderOwner={(f) => f.owner_email}
        scope="shared"
        meId={me.user.id}
        now={now}
        onDownload={download}
        emptyText="Nothing is shared with you yet. Files and folders appear here the moment someone shares them."
      />
      {older.more ? <LoadOlder onClick={older.load} busy={older.loading} /> : null}
    </>
  );
}

/**
 * A folder shared with me (itself, or one above it), to browse and
 * download from, live; nothing in it is mine to rename, move or delete.
 */
function SharedFolder({ folderId }: { folderId: string }) {
  const { backend, me } = useSession();
  const router = useRouter();
  const place = useFolderPlace(backend, folderId, true);
  const folders = useLiveSharedFolders(backend, folderId);
  const files = useLiveSharedFilesIn(backend, folderId);
  const now = useNow(5000);
  const [error, setError] = useState<string | null>(null);
  const older = useOlderFiles(backend, "shared", folderId, files);
  const download = useDownload(backend, setError);

  const here = place.kind === "folder" ? place.folder : null;
  // My own folder (a link of mine, or one I was sent): My files shows it.
  const mine = here !== null && here.owner_id === me.user.id;
  useEffect(() => {
    if (mine) router.replace(folderHref(folderId));
  }, [mine, router, folderId]);
  const title = here?.name ?? "Shared with me";
  useEffect(() => {
    document.title = `${title} · livedrop`;
  }, [title]);

  if (mine) return <p className="muted">Opening…</p>;
  if (place.kind === "missing" || place.kind === "error") {
    return (
      <div className="card narrow" role="alert">
        <h1>Folder not available</h1>
        <p>
          {place.kind === "missing"
            ? "This folder is not shared with you (any more), or it was deleted."
            : place.message}
        </p>
        <Link href={sharedFolderHref(null)}>Back to Shared with me</Link>
      </div>
    );
  }

  const owner = here?.owner_email ?? null;
  const shownError = error ?? older.error;
  return (
    <>
      {here && place.kind === "folder" ? (
        <Breadcrumbs path={place.path} folder={here} top="Shared with me" href={sharedFolderHref} />
      ) : null}
      <div className="page-head">
        <h1 className={here ? "ellipsis" : undefined} title={here?.name}>
          {place.kind === "loading" ? "Loading…" : title}
        </h1>
        {owner ? (
          <span className="muted grow ellipsis" data-testid="shared-by">
            Shared by {owner}
          </span>
        ) : null}
        {here ? (
          // All of it, its ready files (uploads in progress are not in an archive).
          <button
            type="button"
            onClick={() =>
              void import("./ZipButton").then((m) => m.startZipDownload(backend, here))
            }
          >
            Download as ZIP
          </button>
        ) : null}
      </div>
      {shownError ? (
        <p className="alert" role="alert">
          {shownError}
        </p>
      ) : null}
      <FileTable
        files={older.files}
        folders={folders}
        folderLink={sharedFolderHref}
        folderOwner={(f) => f.owner_email}
        scope="shared"
        meId={me.user.id}
        now={now}
        onDownload={download}
        onDownloadSelection={downloadSelection(backend, title)}
        emptyText="This folder is empty. What its owner puts in it appears here at once."
      />
      {older.more ? <LoadOlder onClick={older.load} busy={older.loading} /> : null}
    </>
  );
}

function LoadOlder({ onClick, busy }: { onClick: () => void; busy: boolean }) {
  return (
    <p style={{ textAlign: "center" }}>
      <button type="button" onClick={onClick} disabled={busy}>
        {busy ? "Loading…" : "Load older files"}
      </button>
    </p>
  );
}

type Dialogs =
  | { kind: "new-folder" }
  | { kind: "rename-file"; file: FileRecord }
  | { kind: "rename-folder"; folder: Folder }
  | { kind: "move"; what: Movable }
  | { kind: "delete-folder"; folder: Folder; current: boolean }
  | { kind: "share"; file: FileRecord }
  | { kind: "share-folder"; folder: Folder }
  | { kind: "conflict"; taken: string[]; answer: (c: OnConflict | null) => void };

function MyFiles({ folderId }: { folderId: string | null }) {
  const { backend, me, uploads, refresh } = useSession();
  const router = useRouter();
  const place = useFolderPlace(backend, folderId);
  const folders = useLiveFolders(backend, folderId);
  const files = useLiveFilesIn(backend, folderId);
  const now = useNow(5000);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [dialog, setDialog] = useState<Dialogs | null>(null);
  const older = useOlderFiles(backend, "mine", folderId, files);
  const download = useDownload(backend, setError);

  const here = place.kind === "folder" ? place.folder : null;
  // Someone else's folder, shared with me (the link in their letter is a
  // My files one): Shared with me shows it.
  const theirs = here !== null && here.owner_id !== me.user.id;
  useEffect(() => {
    if (theirs && folderId) router.replace(sharedFolderHref(folderId));
  }, [theirs, router, folderId]);
  const trail = useMemo(
    () => (place.kind === "folder" ? [...place.path, place.folder] : []),
    [place],
  );
  const title = here?.name ?? "My files";
  useEffect(() => {
    document.title = `${title} · livedrop`;
  }, [title]);

  // One question at a time (a second drop while one is asked waits for
  // it); a question left open when the page goes: nothing is uploaded.
  const pending = useRef<((c: OnConflict | null) => void) | null>(null);
  const asking = useRef<Promise<unknown>>(Promise.resolve());
  const gone = useRef(false);
  useEffect(() => {
    gone.current = false;
    return () => {
      gone.current = true;
      pending.current?.(null);
    };
  }, []);

  // What is shown is all there is only when there is nothing more to page in.
  const readyRef = useRef(older.more ? null : older.ready);
  useEffect(() => {
    readyRef.current = older.more ? null : older.ready;
  });

  const onUpload = useCallback(
    (tree: PickedTree) => {
      setError(null);
      uploadTree({
        backend,
        uploads,
        target: folderId,
        tree,
        filesHere: readyRef.current ?? undefined,
        decide: (taken) => {
          const ask = () =>
            new Promise<OnConflict | null>((resolve) => {
              if (gone.current) return resolve(null);
              const answer = (c: OnConflict | null) => {
                pending.current = null;
                setDialog(null);
                resolve(c);
              };
              pending.current = answer;
              setDialog({ kind: "conflict", taken, answer });
            });
          const question = asking.current.then(ask);
          asking.current = question;
          return question;
        },
      }).catch((e: unknown) => setError(describeError(e)));
    },
    [backend, uploads, folderId],
  );

  const folderActions = (f: Folder, current = false): MenuAction[] => [
    { label: "Share", onSelect: () => setDialog({ kind: "share-folder", folder: f }) },
    { label: "Rename", onSelect: () => setDialog({ kind: "rename-folder", folder: f }) },
    {
      label: "Download as ZIP",
      onSelect: () => void import("./ZipButton").then((m) => m.startZipDownload(backend, f)),
    },
    {
      label: "Move",
      onSelect: () => setDialog({ kind: "move", what: { kind: "folder", item: f } }),
    },
    {
      label: "Delete",
      danger: true,
      onSelect: () => setDialog({ kind: "delete-folder", folder: f, current }),
    },
  ];
  const fileActions = (f: FileRecord): MenuAction[] => [
    { label: "Rename", onSelect: () => setDialog({ kind: "rename-file", file: f }) },
    { label: "Move", onSelect: () => setDialog({ kind: "move", what: { kind: "file", item: f } }) },
  ];

  if (theirs) return <p className="muted">Opening…</p>;
  if (place.kind === "missing" || place.kind === "error") {
    return (
      <div className="card narrow" role="alert">
        <h1>Folder not available</h1>
        <p>
          {place.kind === "missing"
            ? "This folder does not exist: it may have been deleted."
            : place.message}
        </p>
        <Link href={folderHref(null)}>Back to my files</Link>
      </div>
    );
  }

  const close = () => setDialog(null);
  const shown = (dialog: Dialogs) => (
    <>
      {dialog.kind === "new-folder" ? (
        <NameDialog
          title={here ? `New folder in “${here.name}”` : "New folder"}
          submitLabel="Create"
          onSubmit={async (name) => {
            await backend.createFolder(name, folderId);
          }}
          onClose={close}
        />
      ) : null}
      {dialog.kind === "rename-file" ? (
        <NameDialog
          title={`Rename “${dialog.file.name}”`}
          initial={dialog.file.name}
          keepExtension
          submitLabel="Rename"
          onSubmit={async (name) => {
            if (name !== dialog.file.name) await backend.updateFile(dialog.file.id, { name });
          }}
          onClose={close}
        />
      ) : null}
      {dialog.kind === "rename-folder" ? (
        <NameDialog
          title={`Rename “${dialog.folder.name}”`}
          initial={dialog.folder.name}
          submitLabel="Rename"
          onSubmit={async (name) => {
            if (name !== dialog.folder.name) await backend.updateFolder(dialog.folder.id, { name });
          }}
          onClose={close}
        />
      ) : null}
      {dialog.kind === "move" ? (
        <MoveDialog
          backend={backend}
          what={dialog.what}
          // The current folder itself moves from where it is: its parent.
          startTrail={
            dialog.what.kind === "folder" && dialog.what.item.id === folderId
              ? trail.slice(0, -1)
              : trail
          }
          onClose={close}
        />
      ) : null}
      {dialog.kind === "delete-folder" ? (
        <DeleteFolderDialog
          backend={backend}
          folder={dialog.folder}
          onClose={close}
          onDeleted={(d) => {
            void refresh();
            const what = `“${dialog.folder.name}” was deleted with ${d.folders - 1} ${
              d.folders - 1 === 1 ? "folder" : "folders"
            } and ${d.files} ${d.files === 1 ? "file" : "files"} in it.`;
            if (dialog.current) {
              router.push(folderHref(dialog.folder.parent_id));
            } else {
              setNotice(what);
            }
          }}
        />
      ) : null}
      {dialog.kind === "share" ? (
        <ShareDialog backend={backend} file={dialog.file} onClose={close} />
      ) : null}
      {dialog.kind === "share-folder" ? (
        <ShareDialog backend={backend} folder={dialog.folder} onClose={close} />
      ) : null}
      {dialog.kind === "conflict" ? (
        <ConflictDialog taken={dialog.taken} onChoose={dialog.answer} />
      ) : null}
    </>
  );

  const shownError = error ?? older.error;

  return (
    <>
      {here && place.kind === "folder" ? <Breadcrumbs path={place.path} folder={here} /> : null}
      <div className="page-head">
        <h1 className={here ? "ellipsis" : undefined} title={here?.name}>
          {place.kind === "loading" ? "Loading…" : title}
        </h1>
        {here ? (
          <RowMenu label={`More actions for ${here.name}`} actions={folderActions(here, true)} />
        ) : null}
        <span className="muted grow">
          {formatBytes(me.usage.used)} of {formatBytes(me.usage.quota)} used
        </span>
        <button type="button" onClick={() => setDialog({ kind: "new-folder" })}>
          New folder
        </button>
      </div>
      <UploadPanel
        uploads={uploads}
        onFinished={() => void refresh()}
        free={Math.max(0, me.usage.quota - me.usage.used)}
        onUpload={onUpload}
        destination={here?.name}
      />
      {shownError ? (
        <p className="alert" role="alert">
          {shownError}
        </p>
      ) : null}
      {notice ? (
        <p className="alert ok" role="status">
          {notice}
        </p>
      ) : null}
      <FileTable
        files={older.files}
        folders={folders}
        scope="mine"
        meId={me.user.id}
        now={now}
        onDownload={download}
        onShare={(f) => setDialog({ kind: "share", file: f })}
        fileActions={fileActions}
        folderActions={(f) => folderActions(f)}
        onDownloadSelection={downloadSelection(backend, title)}
        emptyText={
          here
            ? "This folder is empty. Upload files or a folder into it."
            : "No files yet. Upload one to share it."
        }
      />
      {older.more ? <LoadOlder onClick={older.load} busy={older.loading} /> : null}

      <Suspense fallback={null}>{dialog ? shown(dialog) : null}</Suspense>
    </>
  );
}
