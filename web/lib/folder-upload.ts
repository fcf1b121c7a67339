// Uploading folders: what was dropped or picked, as a tree of files; the
// plan that makes it on the server (the folders to find or make, parents
// first, and each file's folder); and carrying the plan out: folders that
// exist are reused by name, missing ones made through the API, and every
// file handed to the upload manager with the id of its folder.
//
// Plain files go the same way, with an empty plan of folders: either way,
// if some names are taken where the files go, the person is asked once for
// the whole lot whether to keep both or replace. A folder's file that is
// there already with the same size and CRC32C is not sent again, so a
// folder dropped again after a reload or a lost connection continues where
// it stopped (a file cut halfway resumes from its saved session).

import { ApiError, describeError } from "./backend/errors";
import { crc32cOfBlob } from "./crc32c";
import type { Backend, FileRecord, Folder, OnConflict } from "./backend/types";
import { nameKey, takenNames } from "./folders";
import type { UploadItem, UploadManager } from "./uploads";

/** A picked file and the folders it is in below what was picked (none: directly there). */
export interface PickedFile {
  file: File;
  dirs: string[];
}

export interface PickedTree {
  files: PickedFile[];
  /** Every folder seen, empty ones included, each as its path of names. */
  dirs: string[][];
}

/**
 * Clutter that file managers leave in folders and never show: not worth
 * uploading, and surprising to find in the folder afterwards.
 */
const CLUTTER = new Set([".ds_store", "thumbs.db", "desktop.ini"]);

function keep(name: string): boolean {
  return !CLUTTER.has(name.toLowerCase());
}

/**
 * From `<input webkitdirectory>`: each file says where it is in
 * `webkitRelativePath` ("Trip/day 1/a.jpg"); plain picks have none.
 */
export function treeFromFiles(files: Iterable<File>): PickedTree {
  const tree: PickedTree = { files: [], dirs: [] };
  const seen = new Set<string>();
  for (const file of files) {
    const parts = (file.webkitRelativePath || file.name).split("/").filter(Boolean);
    const dirs = parts.slice(0, -1);
    for (let i = 1; i <= dirs.length; i++) {
      const key = dirs.slice(0, i).join("\u0000");
      if (!seen.has(key)) {
        seen.add(key);
        tree.dirs.push(dirs.slice(0, i));
      }
    }
    if (keep(file.name)) tree.files.push({ file, dirs });
  }
  return tree;
}

/** The slice of the File and Directory Entries API that a drop hands out. */
interface EntryLike {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
}
interface FileEntryLike extends EntryLike {
  file(ok: (f: File) => void, fail: (e: unknown) => void): void;
}
interface DirEntryLike extends EntryLike {
  createReader(): {
    readEntries(ok: (entries: EntryLike[]) => void, fail: (e: unknown) => void): void;
  };
}

async function walk(dir: DirEntryLike, path: string[], tree: PickedTree): Promise<void> {
  tree.dirs.push(path);
  const reader = dir.createReader();
  // readEntries hands out a hundred or so at a time, and [] at the end.
  for (;;) {
    const batch = await new Promise<EntryLike[]>((ok, fail) => reader.readEntries(ok, fail));
    if (!batch.length) return;
    for (const entry of batch) {
      if (entry.isDirectory) {
        await walk(entry as DirEntryLike, [...path, entry.name], tree);
      } else if (entry.isFile && keep(entry.name)) {
        const file = await new Promise<File>((ok, fail) => (entry as FileEntryLike).file(ok, fail));
        tree.files.push({ file, dirs: path });
      }
    }
  }
}

/**
 * What was dropped: dropped folders are walked whole, files taken as they
 * are. Call it in the drop event itself (the items are readable only
 * then); the walk goes on after.
 */
export function readDrop(data: DataTransfer): Promise<PickedTree> {
  const folders: DirEntryLike[] = [];
  const plain: File[] = [];
  const items = data.items ? Array.from(data.items) : [];
  for (const item of items) {
    if (item.kind !== "file") continue;
    const entry = (item.webkitGetAsEntry?.() ?? null) as EntryLike | null;
    if (entry?.isDirectory) {
      folders.push(entry as DirEntryLike);
    } else {
      const file = item.getAsFile();
      if (file) plain.push(file);
    }
  }
  // No items list (older browsers, tests): the files are all there is.
  if (!items.length && data.files) plain.push(...Array.from(data.files));
  return (async () => {
    const tree: PickedTree = { files: plain.map((file) => ({ file, dirs: [] })), dirs: [] };
    for (const dir of folders) await walk(dir, [dir.name], tree);
    return tree;
  })();
}

export interface UploadPlan {
  /**
   * The folders to find or make, each as its path of names below where the
   * upload goes, parents before children; names that differ only in case
   * are one folder (the server says they are), spelt as first seen.
   */
  folders: string[][];
  /** Each file and the folder it goes in (its path, as in `folders`). */
  uploads: PickedFile[];
}

const pathKey = (dirs: string[]) => dirs.map(nameKey).join("\u0000");

/** Turns a dropped or picked tree into the folders to make and the uploads into them. */
export function planFolderUpload(tree: PickedTree): UploadPlan {
  const spelt = new Map<string, string[]>();
  const folders: string[][] = [];
  const canonical = (dirs: string[]): string[] => {
    const out: string[] = [];
    for (let i = 0; i < dirs.length; i++) {
      const key = pathKey(dirs.slice(0, i + 1));
      let known = spelt.get(key);
      if (!known) {
        known = [...out, dirs[i]!.trim()];
        spelt.set(key, known);
        folders.push(known);
      }
      out.push(known[i]!);
    }
    return out;
  };
  for (const dirs of tree.dirs) canonical(dirs);
  const uploads = tree.files.map((f) => ({ file: f.file, dirs: canonical(f.dirs) }));
  // Parents first: shorter paths first, keeping the order seen otherwise.
  const order = new Map(folders.map((f, i) => [f, i]));
  folders.sort((a, b) => a.length - b.length || order.get(a)! - order.get(b)!);
  return { folders, uploads };
}

/** "Trip", "Trip and report.pdf", "Trip and 3 more": what a batch is called. */
export function batchLabel(plan: UploadPlan): string {
  const tops: string[] = [];
  const seen = new Set<string>();
  for (const f of plan.folders) {
    if (f.length === 1 && !seen.has(nameKey(f[0]!))) {
      seen.add(nameKey(f[0]!));
      tops.push(f[0]!);
    }
  }
  for (const u of plan.uploads) if (!u.dirs.length) tops.push(u.file.name);
  if (tops.length <= 1) return tops[0] ?? "Folder";
  if (tops.length === 2) return `${tops[0]} and ${tops[1]}`;
  return `${tops[0]} and ${tops.length - 1} more`;
}

export type FolderUploadBackend = Pick<Backend, "listFolders" | "createFolder" | "listFiles">;

export interface FolderUploadOptions {
  backend: FolderUploadBackend;
  uploads: Pick<
    UploadManager,
    "addItems" | "beginBatch" | "updateBatch" | "batchCanceled" | "cancelBatch"
  >;
  /** The folder it goes in; null: the top. */
  target: string | null;
  tree: PickedTree;
  /**
   * All the files in `target` when they are at hand (the page shows them
   * live, and has no more to page in), so that it need not be listed.
   */
  filesHere?: FileRecord[];
  /**
   * Asked once when some names are taken where their files go: keep both
   * or replace; null uploads nothing.
   */
  decide: (taken: string[]) => Promise<OnConflict | null>;
  /** The CRC32C of a file, as the server keeps it (tests stand in for it). */
  hash?: (file: File) => Promise<string>;
}

export type FolderUploadResult = "started" | "canceled" | "empty";

/**
 * Carries out the plan for `tree`. A folder upload shows as a batch from
 * the start (preparing while folders are made); a failure then is told in
 * the batch. With no folders (plain files) a failure is thrown.
 */
export async function uploadTree(o: FolderUploadOptions): Promise<FolderUploadResult> {
  const plan = planFolderUpload(o.tree);
  if (!plan.uploads.length && !plan.folders.length) return "empty";
  const withFolders = plan.folders.length > 0;
  const size = plan.uploads.reduce((n, u) => n + u.file.size, 0);
  const batch = withFolders
    ? o.uploads.beginBatch(batchLabel(plan), plan.uploads.length, size, plan.folders.length)
    : null;
  try {
    return await carryOut(o, plan, batch);
  } catch (e) {
    if (!batch) throw e;
    o.uploads.updateBatch(batch, { error: describeError(e) });
    return "started";
  }
}

/** Every file in my folder `id`, uploads in progress left out, page by page. */
async function allFilesIn(backend: FolderUploadBackend, id: string | null): Promise<FileRecord[]> {
  const files: FileRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await backend.listFiles({
      scope: "mine",
      within: id,
      sort: "name",
      order: "asc",
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    files.push(...page.files);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return files;
}

async function carryOut(
  o: FolderUploadOptions,
  plan: UploadPlan,
  batch: string | null,
): Promise<FolderUploadResult> {
  const { backend } = o;
  const stopped = () => batch !== null && o.uploads.batchCanceled(batch);
  // Folder ids by path key; "" is the target.
  const ids = new Map<string, string | null>([["", o.target]]);
  const listed = new Map<string | null, Folder[]>();
  const foldersIn = async (parent: string | null, again = false): Promise<Folder[]> => {
    let list = again ? undefined : listed.get(parent);
    if (!list) {
      list = await backend.listFolders(parent);
      listed.set(parent, list);
    }
    return list;
  };

  // The folders there already, found by name below folders there already.
  for (const path of plan.folders) {
    const parent = ids.get(pathKey(path.slice(0, -1)));
    if (parent === undefined) continue;
    const name = nameKey(path.at(-1)!);
    const found = (await foldersIn(parent)).find((f) => nameKey(f.name) === name);
    if (found) ids.set(pathKey(path), found.id);
    if (stopped()) return "canceled";
  }

  // Names taken where files go, and files there already with the same
  // bytes: only folders there already may hold any.
  const byFolder = new Map<string, PickedFile[]>();
  for (const u of plan.uploads) {
    const key = pathKey(u.dirs);
    byFolder.set(key, [...(byFolder.get(key) ?? []), u]);
  }
  const taken: string[] = [];
  const there = new Set<PickedFile>();
  let thereBytes = 0;
  const hash = o.hash ?? ((file: File) => crc32cOfBlob(file));
  for (const [key, files] of byFolder) {
    const id = ids.get(key);
    if (id === undefined) continue;
    const existing = key === "" && o.filesHere ? o.filesHere : await allFilesIn(backend, id);
    // Ready files hold names; a pending one (an upload cut short) does not.
    const ready = existing.filter((f) => f.status === "ready");
    const byName = new Map(ready.map((f) => [nameKey(f.name), f]));
    const rest: PickedFile[] = [];
    for (const f of files) {
      const have = batch ? byName.get(nameKey(f.file.name)) : undefined;
      // The same size first: only then is the file read to compare.
      if (have && have.size === f.file.size && (await hash(f.file)) === have.crc32c) {
        there.add(f);
        thereBytes += f.file.size;
      } else {
        rest.push(f);
      }
      if (stopped()) return "canceled";
    }
    const dirs = files[0]!.dirs;
    for (const name of takenNames(
      rest.map((f) => f.file.name),
      ready,
    )) {
      taken.push([...dirs, name].join("/"));
    }
    if (stopped()) return "canceled";
  }
  if (batch && there.size)
    o.uploads.updateBatch(batch, { already: { files: there.size, bytes: thereBytes } });
  let onConflict: OnConflict | undefined;
  if (taken.length) {
    const choice = await o.decide(taken);
    if (choice === null) {
      if (batch) o.uploads.cancelBatch(batch);
      return "canceled";
    }
    onConflict = choice;
  }

  // The missing folders, parents first.
  let made = 0;
  for (const path of plan.folders) {
    if (stopped()) return "canceled";
    const key = pathKey(path);
    if (ids.has(key)) continue;
    const parent = ids.get(pathKey(path.slice(0, -1)))!;
    const name = path.at(-1)!;
    let folder: Folder;
    try {
      folder = await backend.createFolder(name, parent);
    } catch (e) {
      // Made meanwhile (another tab, another upload): use it. A file with
      // the name is in the way, and the server's words say so.
      if (!(e instanceof ApiError && e.code === "name_taken")) throw e;
      const again = (await foldersIn(parent, true)).find((f) => nameKey(f.name) === nameKey(name));
      if (!again) throw e;
      folder = again;
    }
    ids.set(key, folder.id);
    made++;
    if (batch) o.uploads.updateBatch(batch, { foldersMade: made });
  }
  if (stopped()) return "canceled";

  const items: UploadItem[] = plan.uploads
    .filter((u) => !there.has(u))
    .map((u) => ({
      file: u.file,
      folderId: ids.get(pathKey(u.dirs))!,
      onConflict,
      path: u.dirs.length ? u.dirs.join("/") : null,
      batch,
    }));
  if (batch) o.uploads.updateBatch(batch, { prepared: true });
  o.uploads.addItems(items);
  return "started";
}
