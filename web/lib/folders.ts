// Folders on the client: where a folder's page is, names as the server
// compares them, sorting, the checks a name gets before it is sent, and the
// trail of folders a picker or the breadcrumbs walk.

import type { Folder, SortKey, SortOrder } from "./backend/types";

/** The files page of a folder (null: the top). A query, so the static export serves it. */
export function folderHref(id: string | null): string {
  return id === null ? "/files/" : `/files/?folder=${encodeURIComponent(id)}`;
}

/** A folder shared with me, in "Shared with me" (null: its top). */
export function sharedFolderHref(id: string | null): string {
  return id === null ? "/shared/" : `/shared/?folder=${encodeURIComponent(id)}`;
}

/** A name as the server compares names within a folder: case-insensitively. */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** By name, as people sort ("day 2" before "day 10"); ties by id, so rows never swap. */
export function sortFolders<T extends { id: string; name: string }>(folders: T[]): T[] {
  return [...folders].sort((a, b) => collator.compare(a.name, b.name) || (a.id < b.id ? -1 : 1));
}

/**
 * Folder rows in a table sorted by `key`: by name, or by when they changed;
 * sizes they have none, so then by name.
 */
export function sortFoldersBy<T extends Folder>(folders: T[], key: SortKey, order: SortOrder): T[] {
  const dir = order === "asc" ? 1 : -1;
  const cmp = (a: T, b: T): number => {
    switch (key) {
      case "name":
        return dir * collator.compare(a.name, b.name);
      case "created":
        return dir * (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0);
      case "updated":
        return dir * (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : 0);
      case "size":
        return collator.compare(a.name, b.name);
    }
  };
  return [...folders].sort((a, b) => cmp(a, b) || (a.id < b.id ? -1 : 1));
}

/** Case-insensitive match on the name; every word must match (as files are searched). */
export function searchFolders<T extends { name: string }>(folders: T[], query: string): T[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return folders;
  return folders.filter((f) => words.every((w) => f.name.toLowerCase().includes(w)));
}

const encoder = new TextEncoder();

/**
 * What is wrong with a name before the server is asked, in words; null when
 * it may be sent (trimmed). The server has the last word (its rules for
 * control characters and the like), and its message is shown then.
 */
export function nameProblem(raw: string): string | null {
  const name = raw.trim();
  if (!name) return "Enter a name.";
  if (name.includes("/") || name.includes("\\")) return "A name cannot contain / or \\.";
  if (name === "." || name === "..") return "“.” and “..” cannot be names.";
  if (encoder.encode(name).length > 255) return "That name is too long (255 bytes at most).";
  return null;
}

/** The names of `picked` taken among `existing` (case-insensitively), once each, in order. */
export function takenNames(picked: string[], existing: Iterable<{ name: string }>): string[] {
  const have = new Set<string>();
  for (const e of existing) have.add(nameKey(e.name));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const name of picked) {
    const key = nameKey(name);
    if (have.has(key) && !seen.has(key)) {
      seen.add(key);
      out.push(name);
    }
  }
  return out;
}

/**
 * Whether a folder may go into `target` (null: the top), `trail` being the
 * folders from the top down to `target`: not into itself or anything inside
 * it (the server says invalid_move too), and not where it is already.
 */
export function canMoveFolderTo(
  folder: Pick<Folder, "id" | "parent_id">,
  target: string | null,
  trail: Pick<Folder, "id">[],
): boolean {
  if (target === folder.id || trail.some((f) => f.id === folder.id)) return false;
  return (folder.parent_id ?? null) !== target;
}

/**
 * Brings breadcrumbs up to date with live listings: `levels[i]` is what is
 * in the folder above `chain[i]` (the top for the first). Each folder of the
 * chain takes its name from there; null when one is no longer where the
 * chain says (moved or deleted: the path must be asked for again).
 */
export function liveChain(chain: Folder[], levels: (Folder[] | null)[]): Folder[] | null {
  const out: Folder[] = [];
  for (let i = 0; i < chain.length; i++) {
    const level = levels[i];
    if (!level) {
      out.push(chain[i]!);
      continue;
    }
    const found = level.find((f) => f.id === chain[i]!.id);
    if (!found) return null;
    out.push(found);
  }
  return out;
}
