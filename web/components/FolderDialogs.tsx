"use client";

import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import {
  describeError,
  type Backend,
  type FileRecord,
  type Folder,
  type OnConflict,
} from "@/lib/backend";
import { canMoveFolderTo, nameProblem, sortFolders } from "@/lib/folders";
import { ConfirmDialog, Dialog } from "./Dialog";
import { useLiveFolders } from "./live-folders";
import { FolderIcon } from "./FolderIcon";

interface NameDialogProps {
  title: string;
  initial?: string;
  submitLabel: string;
  /** For a file: the name is selected without its extension, ready to type over. */
  keepExtension?: boolean;
  /** Does it; a rejection's words are shown in the dialog, which stays open. */
  onSubmit: (name: string) => Promise<void>;
  onClose: () => void;
}

/** A name to give: a new folder's, or a file's or folder's new one. */
export function NameDialog({
  title,
  initial = "",
  submitLabel,
  keepExtension,
  onSubmit,
  onClose,
}: NameDialogProps) {
  const [value, setValue] = useState(initial);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const formId = useId();
  const inputId = useId();
  const errorId = useId();
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const el = input.current;
    if (!el) return;
    el.focus();
    const dot = initial.lastIndexOf(".");
    el.setSelectionRange(0, keepExtension && dot > 0 ? dot : initial.length);
    // Only when the dialog opens.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problem = nameProblem(value);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onSubmit(value.trim());
      onClose();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <Dialog
      title={title}
      onClose={onClose}
      footer={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form={formId} className="primary" disabled={busy}>
            {submitLabel}
          </button>
        </>
      }
    >
      <form id={formId} onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor={inputId}>Name</label>
          <input
            ref={input}
            id={inputId}
            value={value}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
            onChange={(e) => setValue(e.target.value)}
          />
        </div>
        {error ? (
          <p id={errorId} className="alert" role="alert">
            {error}
          </p>
        ) : null}
      </form>
    </Dialog>
  );
}

/** What is being moved. */
export type Movable = { kind: "file"; item: FileRecord } | { kind: "folder"; item: Folder };

interface MoveDialogProps {
  backend: Backend;
  what: Movable;
  /** The folders from the top down to where the picker starts (where it is now). */
  startTrail: Folder[];
  onClose: () => void;
  /** After the move, with where it went (null: the top). */
  onMoved?: (target: string | null) => void;
}

/**
 * Moving a file or folder: a picker that browses my folders from where it
 * is now, up through the trail and down into subfolders, then moves it to
 * the folder shown. A folder cannot go into itself or below itself: it is
 * left out of the lists, and "Move here" says no inside it.
 */
export function MoveDialog({ backend, what, startTrail, onClose, onMoved }: MoveDialogProps) {
  const [trail, setTrail] = useState<Folder[]>(startTrail);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const here = trail.at(-1)?.id ?? null;
  const listed = useLiveFolders(backend, here);
  const folders = listed
    ? sortFolders(listed.filter((f) => !(what.kind === "folder" && f.id === what.item.id)))
    : null;
  const name = what.item.name;
  const current = what.kind === "file" ? what.item.folder_id : what.item.parent_id;
  const allowed =
    what.kind === "folder" ? canMoveFolderTo(what.item, here, trail) : (current ?? null) !== here;
  const hereName = trail.at(-1)?.name ?? "My files";
  const listId = useId();

  const move = async () => {
    setBusy(true);
    setError(null);
    try {
      if (what.kind === "file") await backend.updateFile(what.item.id, { folder_id: here });
      else await backend.updateFolder(what.item.id, { parent_id: here });
      onMoved?.(here);
      onClose();
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };

  return (
    <Dialog
      title={`Move “${name}”`}
      onClose={onClose}
      footer={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="primary"
            onClick={move}
            disabled={busy || !allowed}
            aria-describedby={listId}
          >
            Move here
          </button>
        </>
      }
    >
      {error ? (
        <p className="alert" role="alert">
          {error}
        </p>
      ) : null}
      <nav aria-label="Folder to move to" className="crumbs picker-crumbs">
        <ol>
          <li>
            {trail.length ? (
              <button type="button" className="link" onClick={() => setTrail([])}>
                My files
              </button>
            ) : (
              <span aria-current="location">My files</span>
            )}
          </li>
          {trail.map((f, i) => (
            <li key={f.id}>
              {i < trail.length - 1 ? (
                <button
                  type="button"
                  className="link"
                  onClick={() => setTrail(trail.slice(0, i + 1))}
                >
                  {f.name}
                </button>
              ) : (
                <span aria-current="location">{f.name}</span>
              )}
            </li>
          ))}
        </ol>
      </nav>
      <p id={listId} className="hint" aria-live="polite">
        {allowed
          ? `“${name}” goes into ${trail.length ? `“${hereName}”` : "My files, at the top"}.`
          : (current ?? null) === here
            ? `“${name}” is in ${trail.length ? `“${hereName}”` : "My files"} already.`
            : `A folder cannot go inside itself.`}
      </p>
      {folders === null ? (
        <p className="muted" aria-busy="true">
          Loading folders…
        </p>
      ) : folders.length === 0 ? (
        <p className="muted">No folders in here.</p>
      ) : (
        <ul className="list picker" aria-label={`Folders in ${hereName}`}>
          {folders.map((f) => (
            <li key={f.id}>
              <button
                type="button"
                className="picker-item"
                onClick={() => setTrail([...trail, f])}
                aria-label={`Open ${f.name}`}
              >
                <FolderIcon />
                <span className="ellipsis">{f.name}</span>
                <span className="muted" aria-hidden="true">
                  ›
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  );
}

const SHOWN = 5;

/** Some picked names are taken where they go: keep both, replace, or upload nothing. */
export function ConflictDialog({
  taken,
  onChoose,
}: {
  taken: string[];
  onChoose: (choice: OnConflict | null) => void;
}) {
  const one = taken.length === 1;
  return (
    <Dialog
      title={one ? `“${taken[0]}” is already here` : `${taken.length} names are already taken`}
      onClose={() => onChoose(null)}
      footer={
        <>
          <button type="button" onClick={() => onChoose(null)}>
            Cancel
          </button>
          <button type="button" className="danger" onClick={() => onChoose("replace")}>
            Replace
          </button>
          <button type="button" className="primary" onClick={() => onChoose("keep_both")} autoFocus>
            Keep both
          </button>
        </>
      }
    >
      {one ? null : (
        <ul className="taken">
          {taken.slice(0, SHOWN).map((n) => (
            <li key={n} className="ellipsis" title={n}>
              {n}
            </li>
          ))}
          {taken.length > SHOWN ? <li className="muted">and {taken.length - SHOWN} more</li> : null}
        </ul>
      )}
      <p>
        <strong>Keep both</strong> uploads {one ? "it" : "them"} beside the {one ? "file" : "files"}{" "}
        there, numbered: “report (2).pdf”.
      </p>
      <p>
        <strong>Replace</strong> puts {one ? "it" : "them"} in place of the {one ? "file" : "files"}{" "}
        there, which {one ? "is" : "are"} deleted with {one ? "its" : "their"} shares and links.
      </p>
    </Dialog>
  );
}

/** Deleting a folder deletes everything in it: the dialog says so. */
export function DeleteFolderDialog({
  backend,
  folder,
  onClose,
  onDeleted,
}: {
  backend: Backend;
  folder: Folder;
  onClose: () => void;
  onDeleted: (deleted: { folders: number; files: number }) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      const deleted = await backend.deleteFolder(folder.id);
      onDeleted(deleted);
      onClose();
    } catch (e) {
      setError(describeError(e));
      setBusy(false);
    }
  };
  return (
    <ConfirmDialog
      title={`Delete “${folder.name}” and everything in it?`}
      message={
        <p>
          Every folder and file inside “{folder.name}” is deleted with it, for you and everyone its
          files are shared with, and their public links stop working. This cannot be undone.
        </p>
      }
      confirmLabel="Delete folder"
      danger
      busy={busy}
      error={error}
      onConfirm={remove}
      onCancel={onClose}
    />
  );
}
