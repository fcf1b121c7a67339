// A public link's page (/s/<token>): what an error through the link means
// for the page, and where in a folder's link the page is (the address's
// hash, so that reload, back and forward keep the place and the server
// never sees it).

import { ApiError, describeError } from "./backend/errors";

/** The link itself no longer works: the page says why, and offers nothing more. */
export type ClosedCode = "link_not_available" | "link_expired" | "link_exhausted";

const CLOSED_CODES: readonly string[] = ["link_not_available", "link_expired", "link_exhausted"];

export type LinkProblem =
  /** The password is missing or wrong: ask for it (again). */
  | { kind: "password"; text: string }
  | { kind: "closed"; code: ClosedCode }
  /** Anything else, in words (rate limits, a file gone, the network). */
  | { kind: "error"; text: string };

/**
 * What an error from a call through a link means for its page. `words`:
 * the page's own words for some codes (as describeError takes them).
 */
export function linkProblem(e: unknown, words: Record<string, string> = {}): LinkProblem {
  if (e instanceof ApiError) {
    if (e.code === "wrong_password")
      return { kind: "password", text: "Wrong password. Try again." };
    if (e.code === "password_required") return { kind: "password", text: "Enter the password." };
    if (CLOSED_CODES.includes(e.code)) return { kind: "closed", code: e.code as ClosedCode };
  }
  return { kind: "error", text: describeError(e, words) };
}

/** The folder inside a folder's link that the address's hash names; null: the linked folder. */
export function folderFromHash(hash: string): string | null {
  const id = new URLSearchParams(hash.replace(/^#/, "")).get("folder");
  return id ? id : null;
}

/** The hash for a folder inside the link (null: the linked folder itself). */
export function folderHash(id: string | null): string {
  return id === null ? "#" : `#folder=${encodeURIComponent(id)}`;
}
