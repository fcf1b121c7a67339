"use client";

// React hooks for folders, live: what is in a folder, and where a folder is
// (its breadcrumbs), kept up to date by the backend's live data. They take
// the backend as an argument, so dialogs and tests can hand theirs.

import { useEffect, useMemo, useState } from "react";
import {
  ApiError,
  describeError,
  type Backend,
  type FileRecord,
  type Folder,
  type FolderDetails,
} from "@/lib/backend";
import { liveChain } from "@/lib/folders";

/** The folders directly in `parent` (null: the top), live; null until known. */
export function useLiveFolders(backend: Backend, parent: string | null): Folder[] | null {
  const [state, setState] = useState<{ parent: string | null; folders: Folder[] } | null>(null);
  useEffect(
    () => backend.live().subscribeFolders(parent, (folders) => setState({ parent, folders })),
    [backend, parent],
  );
  // What was known of another folder is not this one's.
  return state && state.parent === parent ? state.folders : null;
}

/** My ready files directly in `parent`, live; null until known. */
export function useLiveFilesIn(backend: Backend, parent: string | null): FileRecord[] | null {
  const [state, setState] = useState<{ parent: string | null; files: FileRecord[] } | null>(null);
  useEffect(
    () => backend.live().subscribeFilesIn(parent, (files) => setState({ parent, files })),
    [backend, parent],
  );
  return state && state.parent === parent ? state.files : null;
}

/**
 * Folders shared with me, live; null until known. `parent` null: the ones
 * shared with me themselves; else those in a folder I see through a share.
 */
export function useLiveSharedFolders(backend: Backend, parent: string | null): Folder[] | null {
  const [state, setState] = useState<{ parent: string | null; folders: Folder[] } | null>(null);
  useEffect(
    () => backend.live().subscribeSharedFolders(parent, (folders) => setState({ parent, folders })),
    [backend, parent],
  );
  return state && state.parent === parent ? state.folders : null;
}

/** The ready files in a folder I see through a share, live; null until known. */
export function useLiveSharedFilesIn(backend: Backend, parent: string): FileRecord[] | null {
  const [state, setState] = useState<{ parent: string; files: FileRecord[] } | null>(null);
  useEffect(
    () => backend.live().subscribeSharedFilesIn(parent, (files) => setState({ parent, files })),
    [backend, parent],
  );
  return state && state.parent === parent ? state.files : null;
}

export type FolderPlace =
  | { kind: "top" }
  | { kind: "loading" }
  /** `path`: the folders above it, the top first. */
  | { kind: "folder"; folder: Folder; path: Folder[] }
  | { kind: "missing" }
  | { kind: "error"; message: string };

type Loaded = { id: string; result: FolderDetails | "missing" | { error: string } };

/**
 * Where folder `id` is (null: the top), live: its name and those above it
 * follow renames from the listings they are in; when one of them is no
 * longer where it was (moved, or deleted), the path is asked for again.
 * `shared`: a folder I see through a share, whose path starts at the folder
 * shared with me, which is in the listing of the folders shared with me
 * (unshared: it is no longer there, and the folder is missing).
 */
export function useFolderPlace(backend: Backend, id: string | null, shared = false): FolderPlace {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (id === null) return;
    let live = true;
    backend.getFolder(id).then(
      (d) => {
        if (live) setLoaded({ id, result: d });
      },
      (e: unknown) => {
        if (!live) return;
        setLoaded({
          id,
          result:
            e instanceof ApiError && e.status === 404 ? "missing" : { error: describeError(e) },
        });
      },
    );
    return () => {
      live = false;
    };
  }, [backend, id, attempt]);

  const details =
    loaded && loaded.id === id && typeof loaded.result === "object" && "folder" in loaded.result
      ? loaded.result
      : null;
  const chain = useMemo(() => (details ? [...details.path, details.folder] : []), [details]);
  const chainKey = chain.map((f) => f.id).join("/");

  // The listing each folder of the chain is in: the top's for the first.
  const [levels, setLevels] = useState<{ key: string; lists: (Folder[] | null)[] }>({
    key: "",
    lists: [],
  });
  useEffect(() => {
    if (!chain.length) return;
    const parents = [null, ...chain.slice(0, -1).map((f) => f.id)];
    const lists: (Folder[] | null)[] = parents.map(() => null);
    const live = backend.live();
    const subscribe = shared
      ? live.subscribeSharedFolders.bind(live)
      : live.subscribeFolders.bind(live);
    const stops = parents.map((parent, i) =>
      subscribe(parent, (folders) => {
        lists[i] = folders;
        setLevels({ key: chainKey, lists: [...lists] });
        // Moved or deleted: ask where it is now.
        if (liveChain(chain, lists) === null) setAttempt((n) => n + 1);
      }),
    );
    return () => stops.forEach((stop) => stop());
    // chainKey stands for chain.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [backend, chainKey, shared]);

  if (id === null) return { kind: "top" };
  if (!loaded || loaded.id !== id) return { kind: "loading" };
  if (loaded.result === "missing") return { kind: "missing" };
  if (!details) return { kind: "error", message: (loaded.result as { error: string }).error };
  const lists = levels.key === chainKey ? levels.lists : [];
  // Out of date for a moment while the path is asked for again: show what was.
  const now = liveChain(chain, lists) ?? chain;
  return { kind: "folder", folder: now.at(-1)!, path: now.slice(0, -1) };
}
