/** A failed API call: the server's stable code and human message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** Seconds, from Retry-After on 429. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, retryAfter: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** The request never got an answer (offline, connection cut, server down). */
export class NetworkError extends Error {
  constructor(message = "Can't reach the server. Check your connection and try again.") {
    super(message);
    this.name = "NetworkError";
  }
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}

/** Builds an ApiError from a status, the response text and Retry-After. */
export function errorFromBody(status: number, text: string, retryAfter: string | null): ApiError {
  let code = status >= 500 ? "internal" : "http_" + status;
  let message = status >= 500 ? "The server had a problem. Try again in a moment." : "";
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (body.error && typeof body.error.code === "string") code = body.error.code;
    if (body.error && typeof body.error.message === "string") message = body.error.message;
  } catch {
    // Not JSON (a proxy's error page): keep the generic message.
  }
  if (!message) message = `The request failed (HTTP ${status}).`;
  const seconds = retryAfter ? Number.parseInt(retryAfter, 10) : NaN;
  return new ApiError(status, code, message, Number.isFinite(seconds) ? seconds : null);
}

const friendly: Record<string, string> = {
  unauthenticated: "Your session has ended. Sign in again.",
  csrf_failed: "This page is out of date. Reload it and try again.",
  invalid_credentials: "Wrong e-mail or password.",
  email_taken: "An account with this e-mail already exists. Sign in instead.",
  signup_closed: "Sign-up is closed on this server. Ask its administrator for an account.",
  link_not_available:
    "This link is not available. It may have been revoked, or the address is wrong.",
  link_expired: "This link has expired.",
  link_exhausted: "This link has reached its download limit.",
  wrong_password: "Wrong password.",
  password_required: "This link needs a password.",
  file_not_ready: "The file is still uploading.",
  upload_closed:
    "This upload was finished, cancelled or deleted elsewhere, so it takes no more bytes. Retry to upload the file again.",
  http_412:
    "This upload was finished, cancelled or deleted elsewhere, so it takes no more bytes. Retry to upload the file again.",
};

/**
 * What to tell a person about an error. `words`: this place's own words for
 * some codes, over the general ones (a code can mean different things on
 * different forms: `wrong_password` on a link or on the password change).
 */
export function describeError(e: unknown, words: Record<string, string> = {}): string {
  if (e instanceof ApiError) {
    if (e.code === "rate_limited") {
      return e.retryAfter
        ? `Too many attempts. Try again in ${e.retryAfter} s.`
        : "Too many attempts. Try again in a moment.";
    }
    // Quota, size and validation errors carry the server's own precise text.
    return words[e.code] ?? friendly[e.code] ?? e.message;
  }
  if (e instanceof NetworkError) return e.message;
  if (e instanceof Error) return e.message;
  return "Something went wrong.";
}
