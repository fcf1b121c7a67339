// Where to go after signing in: the `next` parameter of /signin/ and /signup/.
// It comes from the address bar, so anyone can write it: only a path on this
// site is followed, never another site, a script or the sign-in pages again.

/** Where a person goes after sign-in when `next` is missing or refused. */
export const DEFAULT_NEXT = "/files/";

/** Longer than any address the app makes itself: refused rather than parsed. */
export const MAX_NEXT_LENGTH = 2048;

/** Pages that would send a signed-in person straight on again. */
const AUTH_PAGES = new Set(["/signin", "/signup"]);

/**
 * A path on `origin` (default: this page's) to go to after sign-in, or
 * DEFAULT_NEXT. `next` is resolved the way the browser would resolve it
 * (tabs and newlines dropped, `\` read as `/`, dot segments folded), and
 * followed only when the result is on the same origin; what is returned is
 * that result's path, query and fragment, which starts with exactly one `/`.
 */
export function safeNext(next: string | null | undefined, origin?: string): string {
  if (!next || next.length > MAX_NEXT_LENGTH) return DEFAULT_NEXT;
  let base: URL;
  let url: URL;
  try {
    base = new URL(origin ?? window.location.origin);
    url = new URL(next, base);
  } catch {
    return DEFAULT_NEXT;
  }
  if (base.origin === "null" || url.origin !== base.origin) return DEFAULT_NEXT;
  // Credentials in a same-origin address are never the app's own.
  if (url.username || url.password) return DEFAULT_NEXT;
  // Dot segments can fold `/.//evil.example` into the path `//evil.example`,
  // which a router would read as another host.
  if (!url.pathname.startsWith("/") || /^\/[/\\]/.test(url.pathname)) return DEFAULT_NEXT;
  if (isAuthPage(url.pathname)) return DEFAULT_NEXT;
  const path = url.pathname + url.search + url.hash;
  // Belt and braces: the path read again on its own stays here.
  try {
    if (new URL(path, base).origin !== base.origin) return DEFAULT_NEXT;
  } catch {
    return DEFAULT_NEXT;
  }
  return path;
}

function isAuthPage(pathname: string): boolean {
  let p = pathname;
  try {
    p = decodeURIComponent(p);
  } catch {
    // Stray `%`: compare as written.
  }
  p = p
    .toLowerCase()
    .replace(/\/index\.html$/, "")
    .replace(/\/+$/, "");
  return AUTH_PAGES.has(p);
}
