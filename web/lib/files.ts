// Sorting, searching and typing files on the client.

import type { FileRecord, SortKey, SortOrder } from "./backend/types";

/** Whether a file's bytes are all there: only such a file is downloaded, previewed, zipped or counted. */
export function isReady(f: FileRecord): boolean {
  return f.status === "ready";
}

/** The ready files of a list (uploads in progress left out). */
export function readyFiles(files: FileRecord[]): FileRecord[] {
  return files.every(isReady) ? files : files.filter(isReady);
}

/**
 * Bytes of a file stored so far: `received` as the server says, at most its
 * size; an older server says nothing, which is none yet for a pending file
 * and all of them for a ready one.
 */
export function receivedOf(f: FileRecord): number {
  if (f.status === "ready") return f.size;
  const n = typeof f.received === "number" && Number.isFinite(f.received) ? f.received : 0;
  return Math.max(0, Math.min(f.size, n));
}

/** How far an upload in progress is, 0 to 100 (whole numbers, rounded down). */
export function uploadPercent(f: FileRecord): number {
  if (f.size <= 0) return f.status === "ready" ? 100 : 0;
  return Math.floor((receivedOf(f) / f.size) * 100);
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

export function sortFiles(files: FileRecord[], key: SortKey, order: SortOrder): FileRecord[] {
  const dir = order === "asc" ? 1 : -1;
  const cmp = (a: FileRecord, b: FileRecord): number => {
    switch (key) {
      case "name":
        return collator.compare(a.name, b.name);
      case "size":
        return a.size - b.size;
      case "created":
        return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0;
      case "updated":
        return a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : 0;
    }
  };
  // Ties fall back to the id so rows never swap places on a live update.
  return [...files].sort((a, b) => dir * cmp(a, b) || (a.id < b.id ? -1 : 1));
}

/** Case-insensitive match on name, owner and type; every word must match. */
export function searchFiles(files: FileRecord[], query: string): FileRecord[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return files;
  return files.filter((f) => {
    const hay = `${f.name} ${f.owner_email} ${f.content_type}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

const BY_EXTENSION: Record<string, string> = {
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  json: "application/json",
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  mp3: "audio/mpeg",
  wav: "audio/wav",
  ogg: "audio/ogg",
  zip: "application/zip",
  gz: "application/gzip",
  tar: "application/x-tar",
};

/** The picked file's type, from the browser or else the extension. */
export function contentTypeOf(file: { name: string; type: string }): string {
  if (file.type) return file.type;
  const ext = file.name.toLowerCase().split(".").pop() ?? "";
  return BY_EXTENSION[ext] ?? "application/octet-stream";
}

export type PreviewKind = "image" | "pdf" | "video" | "audio" | "text";

const SAFE_IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/**
 * How to preview a type, or null when it must not be shown inline. The same
 * list the server honours `inline` for: never SVG or HTML (script).
 */
export function previewKind(contentType: string): PreviewKind | null {
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  if (SAFE_IMAGES.has(type)) return "image";
  if (type === "application/pdf") return "pdf";
  if (type === "text/plain") return "text";
  if (type.startsWith("video/")) return "video";
  if (type.startsWith("audio/")) return "audio";
  return null;
}
