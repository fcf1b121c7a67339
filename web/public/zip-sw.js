// livedrop's "Download as ZIP" helper: a Service Worker that does one thing.
//
// The page (web/lib/zip-download.ts) builds the archive as a ReadableStream
// and transfers it here with a postMessage; this worker answers the page's
// navigation to /__zip/<id>/<name>.zip with it, as an attachment, so the
// browser's download manager writes it to disk as the page makes it.
// Nothing is read or kept here: the page owns the fetches and the progress,
// and cancelling there errors the stream, which ends the download.
//
// Registered with scope /__zip/: it controls no page and sees no other
// request. Plain JavaScript, served as it is (no build step).

/** id -> { stream, headers, port, timer }: handed over, not yet asked for. */
const waiting = new Map();

/** A download not asked for within this long is dropped (its stream cancelled). */
const UNCLAIMED_MS = 60_000;

const ID = /^[0-9a-f]{32}$/;

/** The only headers a download is answered with, and how each must look. */
const HEADERS = {
  "Content-Type": /^application\/zip$/,
  "Content-Disposition": /^attachment;[\x20-\x7e]*$/,
  "Content-Length": /^\d{1,16}$/,
};

self.addEventListener("install", () => {
  // A new version takes over at once: it holds no state worth waiting for.
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("message", (event) => {
  const data = event.data;
  const port = event.ports && event.ports[0];
  if (!data || typeof data !== "object") return;
  if (data.type === "ping") return; // a message alone keeps this worker running
  if (data.type !== "zip") return;
  const { id, stream, headers } = data;
  const ok =
    typeof id === "string" &&
    ID.test(id) &&
    stream instanceof ReadableStream &&
    headers &&
    typeof headers === "object" &&
    Object.keys(HEADERS).every(
      (k) => typeof headers[k] === "string" && HEADERS[k].test(headers[k]),
    );
  if (!ok) {
    if (port) port.postMessage({ type: "refused" });
    if (stream instanceof ReadableStream) stream.cancel("refused").catch(() => {});
    return;
  }
  const timer = setTimeout(() => {
    const job = waiting.get(id);
    if (!job) return;
    waiting.delete(id);
    job.stream.cancel("never asked for").catch(() => {});
  }, UNCLAIMED_MS);
  waiting.set(id, { stream, headers, port, timer });
  if (port) port.postMessage({ type: "accepted" });
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith("/__zip/")) return;
  const id = url.pathname.split("/")[2] || "";
  const job = waiting.get(id);
  if (!job) {
    event.respondWith(
      new Response(
        "This download is no longer available. Go back and start it again from the folder's menu.\n",
        {
          status: 404,
          headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
        },
      ),
    );
    return;
  }
  waiting.delete(id);
  clearTimeout(job.timer);
  if (job.port) {
    job.port.postMessage({ type: "started" });
    job.port.close();
  }
  event.respondWith(
    new Response(job.stream, {
      headers: {
        ...job.headers,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
      },
    }),
  );
});
