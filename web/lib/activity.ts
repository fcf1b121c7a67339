// One line of text for an activity entry, in the owner's words.

import type { Activity } from "./backend/types";

export function actorName(a: Activity, meId: string | null): string {
  if (a.actor_id && a.actor_id === meId) return "You";
  if (a.actor_email) return a.actor_email;
  if (a.link_id) return "Someone with a public link";
  return "Someone";
}

export function describeActivity(a: Activity, meId: string | null, withFileName = false): string {
  const who = actorName(a, meId);
  const file = withFileName ? ` “${a.file_name}”` : "";
  const it = withFileName ? file.trim() : a.folder_id ? "the folder" : "the file";
  switch (a.kind) {
    case "uploaded":
      // Into a folder: its name (older entries, and the top: none).
      return a.detail ? `${who} uploaded ${it} to “${a.detail}”` : `${who} uploaded ${it}`;
    case "shared":
      return `${who} shared ${it} with ${a.detail ?? "someone"}`;
    case "unshared":
      return `${who} stopped sharing ${it} with ${a.detail ?? "someone"}`;
    case "link_created":
      return `${who} created a public link to ${it}`;
    case "link_revoked":
      return `${who} revoked a public link to ${it}`;
    case "downloaded": {
      // Through a public link (a file's, or a folder's: one file or the whole folder).
      const byLink = !a.actor_id && a.link_id;
      const subject = byLink ? "Someone" : who;
      const via = byLink ? " through a public link" : "";
      if (a.folder_id && a.detail === "zip") return `${subject} downloaded ${it} as ZIP${via}`;
      const used = a.detail ? ` (${a.detail})` : "";
      return `${subject} downloaded ${it}${via}${used}`;
    }
    case "viewed":
      return `${who} previewed ${it}`;
    case "renamed":
      return a.detail
        ? `${who} renamed ${withFileName ? `“${a.detail}” to “${a.file_name}”` : `it from “${a.detail}”`}`
        : `${who} renamed ${it}`;
    case "moved":
      // The destination's name; "" is the top. (No detail: an older entry.)
      if (a.detail === null) return `${who} moved ${it}`;
      return a.detail === ""
        ? `${who} moved ${it} to the top`
        : `${who} moved ${it} to “${a.detail}”`;
    case "deleted":
      return `${who} deleted ${it}`;
    default:
      return `${who}: ${String(a.kind)}`;
  }
}

/**
 * The owner's own downloads are left out: every preview is a download on the
 * server, and they would crowd out what others did.
 */
export function visibleActivity(list: Activity[], meId: string): Activity[] {
  return list.filter((a) => !(a.kind === "downloaded" && a.actor_id === meId));
}

/** One line of the activity list: an entry, or uploads that belong together. */
export type ActivityLine =
  { kind: "one"; entry: Activity } | { kind: "uploads"; folder: string; entries: Activity[] };

/** Uploads further apart than this are told apart. */
const TOGETHER_MS = 10 * 60 * 1000;

/**
 * Groups a list (newest first) so that a folder's worth of uploads reads as
 * one line, "Alice added 24 files to “Trip”": uploads by the same person
 * into the same folder, each within ten minutes of the one after it. Files
 * of a tree arrive interleaved (a few at a time, folder after folder), so
 * other entries in between do not split a group; the line stands where its
 * newest upload is. A live list regroups as entries arrive.
 */
export function groupActivity(list: Activity[]): ActivityLine[] {
  const lines: ActivityLine[] = [];
  // The group still open for each person and folder, and its oldest entry.
  const open = new Map<string, Extract<ActivityLine, { kind: "uploads" }>>();
  const single = new Map<string, number>();
  for (const a of list) {
    if (a.kind !== "uploaded" || !a.detail) {
      lines.push({ kind: "one", entry: a });
      continue;
    }
    const key = JSON.stringify([a.actor_id, a.link_id, a.detail]);
    const near = (b: Activity) => Math.abs(Date.parse(b.at) - Date.parse(a.at)) <= TOGETHER_MS;
    const group = open.get(key);
    if (group && near(group.entries[group.entries.length - 1]!)) {
      group.entries.push(a);
      continue;
    }
    // A lone upload so far, with this one: they become a group in its place.
    const at = single.get(key);
    const lone = at === undefined ? undefined : lines[at];
    if (lone?.kind === "one" && near(lone.entry)) {
      const made = { kind: "uploads" as const, folder: a.detail, entries: [lone.entry, a] };
      lines[at!] = made;
      open.set(key, made);
      single.delete(key);
      continue;
    }
    open.delete(key);
    single.set(key, lines.length);
    lines.push({ kind: "one", entry: a });
  }
  return lines;
}

/** The line of a group of uploads. */
export function describeUploads(
  line: Extract<ActivityLine, { kind: "uploads" }>,
  meId: string | null,
): string {
  const who = actorName(line.entries[0]!, meId);
  return `${who} added ${line.entries.length} files to “${line.folder}”`;
}
