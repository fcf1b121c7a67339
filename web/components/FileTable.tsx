"use client";

import Link from "next/link";
import { useEffect, useMemo, useRef, useState } from "react";
import {
  SELECTION_ZIP_LIMIT,
  type FileRecord,
  type Folder,
  type SelectedItems,
  type SortKey,
  type SortOrder,
} from "@/lib/backend";
import { receivedOf, searchFiles, sortFiles, uploadPercent } from "@/lib/files";
import { folderHref, searchFolders, sortFoldersBy } from "@/lib/folders";
import { describeType, formatBytes, formatDate, timeAgo } from "@/lib/format";
import { FileIcon } from "./FileIcon";
import { RowMenu, type MenuAction } from "./RowMenu";
import { FolderIcon } from "./FolderIcon";

interface FileTableProps {
  files: FileRecord[] | null;
  /** Folders, listed before the files; left out where there are none. */
  folders?: Folder[] | null;
  /** Where a folder's page is: My files' by default. */
  folderLink?: (id: string) => string;
  /** Who a folder is shared by ("You" for mine by default; null: not known). */
  folderOwner?: (folder: Folder) => string | null;
  scope: "mine" | "shared";
  meId: string;
  now: number;
  onDownload: (file: FileRecord) => void;
  onShare?: (file: FileRecord) => void;
  /** More for a file (rename, move), in its row's menu. */
  fileActions?: (file: FileRecord) => MenuAction[];
  /** What may be done with a folder (rename, move, delete), in its row's menu. */
  folderActions?: (folder: Folder) => MenuAction[];
  /**
   * Turns on selecting rows (folders and ready files), and "Download as
   * ZIP" of what is selected. Only where every row is in one folder: the
   * server makes a ZIP of such items only, so not at the top of "Shared
   * with me", where files of several owners meet.
   */
  onDownloadSelection?: (items: SelectedItems) => void;
  emptyText: string;
}

function counted(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

const COLUMNS: { key: SortKey | null; label: string; className: string }[] = [
  { key: "name", label: "Name", className: "col-name" },
  { key: "size", label: "Size", className: "col-size" },
  { key: null, label: "Type", className: "col-type" },
  { key: null, label: "Owner", className: "col-owner" },
  { key: "updated", label: "Modified", className: "col-date" },
];

/** A row changed this recently flashes once, so a live change is seen. */
const FRESH_MS = 4000;

/** An upload in progress that has not moved for this long, while watched, says it waits. */
export const STALLED_MS = 60_000;

/** What a pending row says of its upload: "Uploading 40% · 12 MB of 30 MB". */
export function uploadingText(f: FileRecord): string {
  return `Uploading ${uploadPercent(f)}% · ${formatBytes(receivedOf(f))} of ${formatBytes(f.size)}`;
}

interface Moved {
  received: number;
  /** The table's time when it first saw this many bytes. */
  at: number;
}

/**
 * When each upload in progress among `files` was last seen to move (its
 * `received` change), in the table's time: from when this page first saw
 * it, since what happened before it watched is not known.
 */
function useLastMoved(files: FileRecord[] | null, now: number): Map<string, Moved> {
  const [seen, setSeen] = useState<{ files: FileRecord[] | null; marks: Map<string, Moved> }>(
    () => ({ files: null, marks: new Map() }),
  );
  if (seen.files === files) return seen.marks;
  const marks = new Map<string, Moved>();
  for (const f of files ?? []) {
    if (f.status !== "pending") continue;
    const received = receivedOf(f);
    const old = seen.marks.get(f.id);
    marks.set(f.id, old && old.received === received ? old : { received, at: now });
  }
  // Kept from one list to the next (React's "state from the previous render").
  setSeen({ files, marks });
  return marks;
}

interface Selection {
  files: ReadonlySet<string>;
  folders: ReadonlySet<string>;
}

const NOTHING: Selection = { files: new Set(), folders: new Set() };

/**
 * What is selected, of `files` (ready ones only) and `folders`: an item
 * that leaves the lists (deleted or moved away, live) leaves the selection
 * for good, and does not come back selected. A folder shown anew starts
 * with nothing selected, as FilesScreen gives each folder a table of its own.
 */
function useSelection(
  files: FileRecord[] | null,
  folders: Folder[] | null | undefined,
): [Selection, (change: (s: Selection) => Selection) => void] {
  const [seen, setSeen] = useState<{
    files: FileRecord[] | null;
    folders: Folder[] | null | undefined;
    selected: Selection;
  }>(() => ({ files, folders, selected: NOTHING }));
  let selected = seen.selected;
  // Lists not known yet (null) take nothing away.
  if ((seen.files !== files || seen.folders !== folders) && files && folders !== null) {
    const ready = new Set(files.filter((f) => f.status !== "pending").map((f) => f.id));
    const here = new Set((folders ?? []).map((d) => d.id));
    const kept = {
      files: new Set([...selected.files].filter((id) => ready.has(id))),
      folders: new Set([...selected.folders].filter((id) => here.has(id))),
    };
    if (kept.files.size !== selected.files.size || kept.folders.size !== selected.folders.size) {
      selected = kept;
    }
    // Kept from one list to the next (React's "state from the previous render").
    setSeen({ files, folders, selected });
  }
  return [selected, (change) => setSeen((s) => ({ ...s, selected: change(s.selected) }))];
}

/** `set` with `ids` added (`on`) or taken out. */
function toggled(set: ReadonlySet<string>, ids: string[], on: boolean): ReadonlySet<string> {
  const next = new Set(set);
  for (const id of ids) {
    if (on) next.add(id);
    else next.delete(id);
  }
  return next;
}

export function FileTable({
  files,
  scope,
  meId,
  now,
  onDownload,
  onShare,
  fileActions,
  folderActions,
  folders,
  folderLink = folderHref,
  folderOwner,
  onDownloadSelection,
  emptyText,
}: FileTableProps) {
  const [sort, setSort] = useState<{ key: SortKey; order: SortOrder }>({
    key: "updated",
    order: "desc",
  });
  const [query, setQuery] = useState("");

  const rows = useMemo(
    () => (files ? sortFiles(searchFiles(files, query), sort.key, sort.order) : null),
    [files, query, sort],
  );
  // Folders come first, whatever the order of the files below them.
  const folderRows = useMemo(
    () => (folders ? sortFoldersBy(searchFolders(folders, query), sort.key, sort.order) : []),
    [folders, query, sort],
  );
  const loading = rows === null || folders === null;
  const total = (rows?.length ?? 0) + folderRows.length;
  const lastMoved = useLastMoved(files, now);
  // Uploads in progress are rows, but not files yet: counted apart.
  const uploading = rows?.filter((f) => f.status === "pending").length ?? 0;
  const fileCount = counted((rows?.length ?? 0) - uploading, "file", "files");
  const countText =
    (folderRows.length
      ? `${counted(folderRows.length, "folder", "folders")}, ${fileCount}`
      : fileCount) + (uploading ? `, ${uploading} uploading` : "");

  const selectable = onDownloadSelection !== undefined;
  const [selected, changeSelected] = useSelection(files, folders);
  const selectedCount = selected.files.size + selected.folders.size;
  // "Select all" is of the rows shown (the search's), not of those it hides.
  const shown = {
    files: (rows ?? []).filter((f) => f.status !== "pending").map((f) => f.id),
    folders: folderRows.map((d) => d.id),
  };
  const shownCount = shown.files.length + shown.folders.length;
  const shownSelected =
    shown.files.filter((id) => selected.files.has(id)).length +
    shown.folders.filter((id) => selected.folders.has(id)).length;
  const selectAll = useRef<HTMLInputElement>(null);
  const search = useRef<HTMLInputElement>(null);
  const some = shownSelected > 0 && shownSelected < shownCount;
  useEffect(() => {
    // Only a property: no attribute says a checkbox is "some of them".
    if (selectAll.current) selectAll.current.indeterminate = some;
  });
  const selectShown = (on: boolean) =>
    changeSelected((s) => ({
      files: toggled(s.files, shown.files, on),
      folders: toggled(s.folders, shown.folders, on),
    }));
  const selectRow = (kind: "files" | "folders", id: string, on: boolean) =>
    changeSelected((s) => ({ ...s, [kind]: toggled(s[kind], [id], on) }));
  const clearSelection = () => {
    changeSelected(() => NOTHING);
    // Its button goes with the bar: focus stays in the table.
    (selectAll.current ?? search.current)?.focus();
  };
  const tooMany = selectedCount > SELECTION_ZIP_LIMIT;
  const selectBox = (kind: "files" | "folders", id: string, name: string) => (
    <td className="col-select">
      <label>
        <input
          type="checkbox"
          checked={selected[kind].has(id)}
          onChange={(e) => selectRow(kind, id, e.target.checked)}
          aria-label={`Select ${name}`}
        />
      </label>
    </td>
  );
  const rowClass = (fresh: boolean, isSelected: boolean) =>
    [fresh ? "fresh" : "", isSelected ? "selected" : ""].filter(Boolean).join(" ") || undefined;

  const toggle = (key: SortKey) =>
    setSort((s) =>
      s.key === key
        ? { key, order: s.order === "asc" ? "desc" : "asc" }
        : { key, order: key === "name" ? "asc" : "desc" },
    );

  return (
    <section aria-label={scope === "mine" ? "My files" : "Files shared with me"}>
      <div className="toolbar">
        <label className="visually-hidden" htmlFor={`search-${scope}`}>
          Search files
        </label>
        <input
          ref={search}
          id={`search-${scope}`}
          type="search"
          placeholder="Search by name, owner or type"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <span className="muted" aria-live="polite">
          {loading ? "" : countText}
        </span>
      </div>
      {selectable ? (
        // Told when it appears and as its count changes.
        <div aria-live="polite">
          {selectedCount > 0 ? (
            <div className="selection-bar" role="group" aria-label="Selection">
              <span className="selection-count">{selectedCount} selected</span>
              <button
                type="button"
                className="small"
                disabled={tooMany}
                onClick={() =>
                  onDownloadSelection({
                    files: [...selected.files],
                    folders: [...selected.folders],
                  })
                }
              >
                Download as ZIP
              </button>
              <button type="button" className="small" onClick={clearSelection}>
                Clear selection
              </button>
              {tooMany ? (
                <p className="hint">
                  One ZIP takes at most {SELECTION_ZIP_LIMIT} selected items: select fewer.
                </p>
              ) : null}
            </div>
          ) : null}
        </div>
      ) : null}
      {loading ? (
        <div className="empty" aria-busy="true">
          Loading files…
        </div>
      ) : total === 0 ? (
        <div className="empty">{query ? `No files match “${query}”.` : emptyText}</div>
      ) : (
        <table className={selectable ? "files selectable" : "files"}>
          <thead>
            <tr>
              {selectable ? (
                <th className="col-select" scope="col">
                  <label>
                    <input
                      ref={selectAll}
                      type="checkbox"
                      checked={shownCount > 0 && shownSelected === shownCount}
                      disabled={shownCount === 0}
                      onChange={(e) => selectShown(e.target.checked)}
                    />
                    <span className="select-all-text">Select all</span>
                  </label>
                </th>
              ) : null}
              {COLUMNS.map((c) => (
                <th
                  key={c.label}
                  className={c.className}
                  scope="col"
                  aria-sort={
                    c.key && sort.key === c.key
                      ? sort.order === "asc"
                        ? "ascending"
                        : "descending"
                      : undefined
                  }
                >
                  {c.key ? (
                    <button type="button" onClick={() => toggle(c.key!)}>
                      {c.label}
                      <span aria-hidden="true">
                        {sort.key === c.key ? (sort.order === "asc" ? " ↑" : " ↓") : ""}
                      </span>
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              ))}
              <th className="col-actions" scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {folderRows.map((d) => {
              const fresh = now - Date.parse(d.updated_at) < FRESH_MS;
              const owner = folderOwner ? folderOwner(d) : "You";
              return (
                <tr
                  key={d.id}
                  className={rowClass(fresh, selected.folders.has(d.id))}
                  data-folder-id={d.id}
                >
                  {selectable ? selectBox("folders", d.id, d.name) : null}
                  <td className="col-name">
                    <div className="file-name">
                      <FolderIcon />
                      <Link className="ellipsis" href={folderLink(d.id)} title={d.name}>
                        {d.name}
                      </Link>
                    </div>
                  </td>
                  <td className="col-size" />
                  <td className="col-type">Folder</td>
                  <td className="col-owner ellipsis" title={owner ?? undefined}>
                    {owner ?? ""}
                  </td>
                  <td className="col-date" title={formatDate(d.updated_at)}>
                    {timeAgo(d.updated_at, now)}
                  </td>
                  <td className="col-meta-m ellipsis">
                    Folder · {scope === "shared" && owner ? `${owner} · ` : ""}
                    {timeAgo(d.updated_at, now)}
                  </td>
                  <td className="col-actions">
                    <div className="row">
                      {folderActions ? (
                        <RowMenu label={`More actions for ${d.name}`} actions={folderActions(d)} />
                      ) : null}
                    </div>
                  </td>
                </tr>
              );
            })}
            {rows.map((f) => {
              const owner = f.owner_id === meId ? "You" : f.owner_email;
              if (f.status === "pending") {
                const moved = lastMoved.get(f.id);
                // A plain function, not a component: the same <tr> turns
                // ready in place.
                return pendingRow({
                  file: f,
                  owner,
                  scope,
                  now,
                  stalled: moved !== undefined && now - moved.at >= STALLED_MS,
                  selectable,
                });
              }
              const fresh = now - Date.parse(f.updated_at) < FRESH_MS;
              return (
                <tr
                  key={f.id}
                  className={rowClass(fresh, selected.files.has(f.id))}
                  data-file-id={f.id}
                >
                  {selectable ? selectBox("files", f.id, f.name) : null}
                  <td className="col-name">
                    <div className="file-name">
                      <FileIcon name={f.name} />
                      <Link
                        className="ellipsis"
                        href={`/file/?id=${encodeURIComponent(f.id)}`}
                        title={f.name}
                      >
                        {f.name}
                      </Link>
                    </div>
                  </td>
                  {detailCells(f, owner, now)}
                  <td className="col-meta-m ellipsis">
                    {formatBytes(f.size)} · {describeType(f.content_type)} ·{" "}
                    {scope === "shared" ? `${owner} · ` : ""}
                    {timeAgo(f.updated_at, now)}
                  </td>
                  <td className="col-actions">
                    <div className="row">
                      <button
                        type="button"
                        className="small"
                        onClick={() => onDownload(f)}
                        aria-label={`Download ${f.name}`}
                      >
                        Download
                      </button>
                      {onShare ? (
                        <button
                          type="button"
                          className="small"
                          onClick={() => onShare(f)}
                          aria-label={`Share ${f.name}`}
                        >
                          Share
                        </button>
                      ) : null}
                      {fileActions ? (
                        <RowMenu label={`More actions for ${f.name}`} actions={fileActions(f)} />
                      ) : null}
                    </div>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * A file still uploading: its name, how far it is, and nothing to do with it
 * yet (no download, share, rename, preview or selecting); it turns into a
 * normal row, in place, once ready.
 */
function pendingRow({
  file: f,
  owner,
  scope,
  now,
  stalled,
  selectable,
}: {
  file: FileRecord;
  owner: string;
  scope: "mine" | "shared";
  now: number;
  stalled: boolean;
  /** The table selects rows: an empty cell where a ready row's checkbox is. */
  selectable: boolean;
}) {
  const pct = uploadPercent(f);
  const text = uploadingText(f);
  return (
    <tr key={f.id} className="pending" data-file-id={f.id} data-status="pending">
      {selectable ? <td className="col-select" /> : null}
      <td className="col-name">
        <div className="file-name">
          <FileIcon name={f.name} />
          <span className="ellipsis pending-name" title={f.name}>
            {f.name}
          </span>
        </div>
        <div className="pending-upload">
          <div
            className="progress"
            role="progressbar"
            aria-label={`Uploading ${f.name}`}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={pct}
            aria-valuetext={`${pct}%, ${formatBytes(receivedOf(f))} of ${formatBytes(f.size)}`}
          >
            <div style={{ width: `${pct}%` }} />
          </div>
          <span className="meta" data-testid="pending-status">
            {text}
            {stalled ? " · Waiting for the upload to continue" : ""}
          </span>
        </div>
      </td>
      {detailCells(f, owner, now)}
      <td className="col-meta-m ellipsis">
        {describeType(f.content_type)}
        {scope === "shared" ? ` · ${owner}` : ""}
      </td>
      <td className="col-actions" />
    </tr>
  );
}

/** A file's size, type, owner and date cells: the same for a ready row and an upload's. */
function detailCells(f: FileRecord, owner: string, now: number) {
  return (
    <>
      <td className="col-size">{formatBytes(f.size)}</td>
      <td className="col-type ellipsis" title={f.content_type}>
        {describeType(f.content_type)}
      </td>
      <td className="col-owner ellipsis" title={f.owner_email}>
        {owner}
      </td>
      <td className="col-date" title={formatDate(f.updated_at)}>
        {timeAgo(f.updated_at, now)}
      </td>
    </>
  );
}
