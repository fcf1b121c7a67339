// Cloud-mode pieces that need no Firebase SDK (so they are unit-tested in
// jsdom): reading the runtime Firebase config, Firebase Auth errors in the
// app's words, and uploads to Cloud Storage that track their own bytes.

import { ApiError, NetworkError } from "./errors";
import type { BlobTransfer, Config } from "./types";

export interface FirebaseRuntimeConfig {
  /** What initializeApp takes: apiKey, authDomain, projectId, appId, ... */
  options: Record<string, string>;
  /** "http://127.0.0.1:9099", when the server uses the Auth emulator. */
  authEmulator: string | null;
  /** ["127.0.0.1", 8086], when the server uses the Firestore emulator. */
  firestoreEmulator: [string, number] | null;
}

/** Splits "host:port" (also "[::1]:port"). */
export function hostPort(value: string): [string, number] | null {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(value.replace(/^https?:\/\//, "").replace(/\/$/, ""));
  return m && m[1] && m[2] ? [m[1], Number(m[2])] : null;
}

/** The `firebase` object of GET /api/config (cloud mode). */
export function firebaseConfig(config: Config): FirebaseRuntimeConfig {
  const raw = (config.firebase ?? {}) as Record<string, unknown>;
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === "string") options[k] = v;
  if (!options.projectId)
    throw new NetworkError("The server's Firebase configuration has no project.");
  // Every project has this domain; the Google popup needs one.
  if (!options.authDomain) options.authDomain = `${options.projectId}.firebaseapp.com`;
  const emulators = (raw.emulators ?? {}) as Record<string, unknown>;
  const auth = typeof emulators.auth === "string" && emulators.auth ? emulators.auth : null;
  const fs = typeof emulators.firestore === "string" ? hostPort(emulators.firestore) : null;
  return {
    options,
    authEmulator: auth ? (/^https?:\/\//.test(auth) ? auth : `http://${auth}`) : null,
    firestoreEmulator: fs,
  };
}

const authMessages: Record<string, [string, string]> = {
  "auth/invalid-credential": ["invalid_credentials", ""],
  "auth/invalid-login-credentials": ["invalid_credentials", ""],
  "auth/wrong-password": ["invalid_credentials", ""],
  "auth/user-not-found": ["invalid_credentials", ""],
  "auth/email-already-in-use": ["email_taken", ""],
  "auth/too-many-requests": ["rate_limited", ""],
  "auth/weak-password": ["weak_password", "Choose a longer password (at least 8 characters)."],
  "auth/invalid-email": ["invalid_email", "That is not an e-mail address."],
  "auth/missing-password": ["invalid_credentials", "Enter your password."],
  "auth/user-disabled": ["account_disabled", "This account has been disabled."],
  "auth/popup-blocked": [
    "popup_blocked",
    "The sign-in window was blocked. Allow pop-ups for this site and try again.",
  ],
  "auth/operation-not-allowed": [
    "provider_disabled",
    "This way of signing in is not enabled for this site.",
  ],
  "auth/account-exists-with-different-credential": [
    "account_exists",
    "This address already has an account with another way of signing in. Use that one.",
  ],
  "auth/unauthorized-domain": [
    "unauthorized_domain",
    "This site is not allowed to sign in with Google. Its administrator must add the domain in Firebase.",
  ],
};

/** A Firebase Auth error (`{ code: "auth/..." }`) as the app's error. */
export function authError(e: unknown): Error {
  const code =
    e && typeof e === "object" && typeof (e as { code?: unknown }).code === "string"
      ? (e as { code: string }).code
      : "";
  if (code === "auth/network-request-failed") return new NetworkError();
  if (code === "auth/popup-closed-by-user" || code === "auth/cancelled-popup-request") {
    return new DOMException("The sign-in window was closed.", "AbortError");
  }
  const known = authMessages[code];
  if (known) return new ApiError(400, known[0], known[1] || code);
  if (e instanceof ApiError || e instanceof NetworkError) return e;
  return new ApiError(400, "auth_failed", code ? `Sign-in failed (${code}).` : "Sign-in failed.");
}

/**
 * Cloud Storage uploads: the common protocol, except where the page cannot
 * read a `308`'s `Range`. Real Cloud Storage exposes it (cloud/cors.json);
 * fake-gcs-server does not, stores every chunk it answers 308 to, and
 * finishes an empty object when asked for the state of a fresh session
 * (`Content-Range: bytes *` + `/N`). So for a session this page started,
 * until the server shows a Range, the page counts the bytes itself and
 * answers state queries from that count. A session from before a reload is
 * asked.
 */
export function trackingTransfer(base: BlobTransfer): BlobTransfer {
  const sessions = new Map<string, { stored: number; rangeVisible: boolean }>();
  return {
    putWhole: (target, body, onProgress, signal) => base.putWhole(target, body, onProgress, signal),
    async startSession(target, signal) {
      const location = await base.startSession(target, signal);
      sessions.set(location, { stored: 0, rangeVisible: false });
      return location;
    },
    async querySession(location, total, signal) {
      const known = sessions.get(location);
      if (known && !known.rangeVisible) return { kind: "partial", stored: known.stored };
      return base.querySession(location, total, signal);
    },
    async putChunk(location, chunk, first, total, onProgress, signal) {
      const state = await base.putChunk(location, chunk, first, total, onProgress, signal);
      if (state.kind !== "partial") {
        sessions.delete(location);
        return state;
      }
      const entry = sessions.get(location) ?? { stored: 0, rangeVisible: false };
      sessions.set(location, entry);
      if (state.stored > 0) {
        entry.rangeVisible = true;
        entry.stored = state.stored;
        return state;
      }
      if (chunk.size > 0) entry.stored = first + chunk.size;
      return { kind: "partial", stored: entry.stored };
    },
  };
}
