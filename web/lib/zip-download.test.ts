import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import type {
  ArchiveEntry,
  ArchivePage,
  Backend,
  Folder,
  LinkArchivePage,
  LinkArchiveRequest,
} from "./backend/types";
import {
  contentDisposition,
  downloadFolderZip,
  downloadZip,
  linkArchive,
  selectionArchive,
  IN_MEMORY_LIMIT,
  Rate,
  ZipCanceledError,
  ZipDownloadError,
  ZipUnsupportedError,
  type SaveFn,
  type ZipProgress,
} from "./zip-download";
import { zipSize } from "./zip";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "livedrop-zipdl-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.unstubAllGlobals());

const text = (s: string) => new TextEncoder().encode(s);
const FOLDER: Folder = {
  id: "f1",
  owner_id: "u1",
  owner_email: "owner@example.com",
  name: "Trip",
  parent_id: null,
  created_at: "2026-01-02T03:04:05Z",
  updated_at: "2026-01-02T03:04:05Z",
};
const AT = "2026-01-02T03:04:06Z";
const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();

interface FakeFile {
  path: string;
  body: Uint8Array;
}

/**
 * A server with the archive endpoint and its signed URLs: entries in pages
 * of `perPage`; each archivePage signs fresh URLs ("<id>?v=<n>") that expire
 * `ttl()` minutes from now, and the blob store serves only the newest
 * signature of each file.
 */
function fakeServer(
  tree: (FakeFile | { folder: string })[],
  opts: { perPage?: number; ttl?: (call: number) => number; name?: string } = {},
) {
  const perPage = opts.perPage ?? 2;
  const calls: (string | null)[] = [];
  const signature = new Map<string, number>();
  const gone = new Set<string>();
  const fetched: string[] = [];
  const backend = {
    archivePage: vi.fn(async (folderId: string, cursor: string | null): Promise<ArchivePage> => {
      expect(folderId).toBe(FOLDER.id);
      calls.push(cursor);
      const start = cursor === null ? 0 : Number(cursor.slice(1));
      const slice = tree.slice(start, start + perPage);
      const entries: ArchiveEntry[] = slice
        .filter((e) => !("path" in e && gone.has(e.path)))
        .map((e, i): ArchiveEntry => {
          if ("folder" in e) return { kind: "folder", path: e.folder, updated_at: AT };
          const id = `file-${start + i}`;
          const v = (signature.get(id) ?? 0) + 1;
          signature.set(id, v);
          return {
            kind: "file",
            path: e.path,
            file_id: id,
            size: e.body.length,
            updated_at: AT,
            url: `https://storage.test/${id}?v=${v}`,
            expires_at: inMinutes(opts.ttl ? opts.ttl(calls.length) : 5),
          };
        });
      const next = start + perPage < tree.length ? `c${start + perPage}` : null;
      return { name: opts.name ?? FOLDER.name, entries, next_cursor: next };
    }),
  } as unknown as Backend & { archivePage: ReturnType<typeof vi.fn> };
  const files = tree.filter((e): e is FakeFile => "path" in e);
  const fetchFn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    fetched.push(url.pathname.slice(1) + url.search);
    const id = url.pathname.slice(1);
    const i = Number(id.split("-")[1]);
    const file = files.find((f) => tree.indexOf(f) === i);
    if (!file || gone.has(file.path)) return fakeResponse(404, null);
    if (Number(url.searchParams.get("v")) !== signature.get(id)) return fakeResponse(403, null);
    return fakeResponse(200, file.body, init?.signal ?? undefined);
  });
  return { backend, fetch: fetchFn as unknown as typeof fetch, calls, fetched, gone };
}

/** What fetch answers, in pieces of 3 bytes (so a file takes several reads). */
function fakeResponse(status: number, body: Uint8Array | null, signal?: AbortSignal): Response {
  let pos = 0;
  const stream =
    body &&
    new ReadableStream<Uint8Array>({
      pull(c) {
        if (signal?.aborted) return c.error(signal.reason);
        if (pos >= body.length) return c.close();
        c.enqueue(body.slice(pos, pos + 3));
        pos += 3;
      },
    });
  return { ok: status >= 200 && status < 300, status, body: stream } as unknown as Response;
}

/** A save that reads the whole stream into memory, for the test to look at. */
function collector() {
  const got: { name?: string; size?: number; bytes?: Uint8Array } = {};
  const save: SaveFn = async (stream, info) => {
    got.name = info.name;
    got.size = info.size;
    const parts: Uint8Array[] = [];
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    got.bytes = out;
  };
  return { got, save };
}

/** Python's zipfile over the archive: testzip(), then [name, contents] of each entry. */
function pythonRead(bytes: Uint8Array): [string, string][] {
  const file = path.join(tmp, `${Math.random().toString(36).slice(2)}.zip`);
  fs.writeFileSync(file, bytes);
  const script = [
    "import json, sys, zipfile",
    "z = zipfile.ZipFile(sys.argv[1])",
    "assert z.testzip() is None",
    "print(json.dumps([[i.filename, z.read(i).decode()] for i in z.infolist()]))",
  ].join("\n");
  const r = spawnSync("python3", ["-c", script, file], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as [string, string][];
}

const TREE: (FakeFile | { folder: string })[] = [
  { path: "a.txt", body: text("alpha") },
  { path: "b.txt", body: text("bravo!") },
  { folder: "day 1" },
  { path: "day 1/café ☕.txt", body: text("crème") },
  { folder: "day 1/empty" },
  { path: "z.bin", body: new Uint8Array(0) },
  { folder: "zz" },
];

describe("downloadFolderZip", () => {
  it("lists every page first, then writes the archive under the folder's name", async () => {
    const server = fakeServer(TREE);
    const { got, save } = collector();
    const seen: ZipProgress[] = [];
    await downloadFolderZip(server.backend, FOLDER, {
      save,
      fetch: server.fetch,
      onProgress: (p) => seen.push(p),
    });
    // Four pages, each asked for once (no URL was near its end).
    expect(server.calls).toEqual([null, "c2", "c4", "c6"]);
    // The whole listing came before any byte was fetched.
    const firstSave = seen.findIndex((p) => p.phase === "saving");
    expect(seen[firstSave]!.listed).toBe(TREE.length);
    expect(seen.slice(0, firstSave).every((p) => p.written === 0)).toBe(true);

    expect(got.name).toBe("Trip.zip");
    expect(got.bytes!.length).toBe(got.size);
    expect(pythonRead(got.bytes!)).toEqual([
      ["Trip/", ""],
      ["Trip/a.txt", "alpha"],
      ["Trip/b.txt", "bravo!"],
      ["Trip/day 1/", ""],
      ["Trip/day 1/café ☕.txt", "crème"],
      ["Trip/day 1/empty/", ""],
      ["Trip/z.bin", ""],
      ["Trip/zz/", ""],
    ]);
    const last = seen.at(-1)!;
    expect(last.phase).toBe("done");
    expect(last.written).toBe(got.size);
    expect(last.total).toBe(got.size);
    expect(last.files).toBe(4);
    expect(last.via).toBe("stream");
    // Files are fetched in archive order, each once.
    expect(server.fetched).toEqual(["file-0?v=1", "file-1?v=1", "file-3?v=1", "file-5?v=1"]);
  });

  it("takes the archive's name from the server's answer", async () => {
    const server = fakeServer(TREE.slice(0, 1), { name: "Trip renamed" });
    const { got, save } = collector();
    await downloadFolderZip(server.backend, FOLDER, { save, fetch: server.fetch });
    expect(got.name).toBe("Trip renamed.zip");
    expect(pythonRead(got.bytes!).map((e) => e[0])).toEqual([
      "Trip renamed/",
      "Trip renamed/a.txt",
    ]);
  });

  it("signs a page again when its URLs have expired or are within a minute of it", async () => {
    // The listing's URLs last 30 s (first 4 calls); fresh ones, 5 min.
    const server = fakeServer(TREE, { ttl: (call) => (call <= 4 ? 0.5 : 5) });
    const { got, save } = collector();
    await downloadFolderZip(server.backend, FOLDER, { save, fetch: server.fetch });
    // Each page with files asked for again, by its own starting cursor, once.
    expect(server.calls).toEqual([null, "c2", "c4", "c6", null, "c2", "c4"]);
    // Only the listing counts as a download: asking again says so.
    const again = server.backend.archivePage.mock.calls.map((c: unknown[]) => c[2]);
    expect(again).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      ...Array(3).fill({ again: true }),
    ]);
    // Only fresh signatures were used: nothing was refused.
    expect(server.fetched).toEqual(["file-0?v=2", "file-1?v=2", "file-3?v=2", "file-5?v=2"]);
    expect(pythonRead(got.bytes!)).toHaveLength(8);
  });

  it("signs again once when a URL that looked fresh is refused", async () => {
    const server = fakeServer(TREE.slice(0, 2));
    const { got, save } = collector();
    let first = true;
    const fetchFn: typeof fetch = async (input, init) => {
      if (first) {
        first = false;
        return fakeResponse(403, text("expired"));
      }
      return server.fetch(input, init);
    };
    await downloadFolderZip(server.backend, FOLDER, { save, fetch: fetchFn });
    expect(server.calls).toEqual([null, null]);
    expect(server.fetched).toEqual(["file-0?v=2", "file-1?v=2"]);
    expect(pythonRead(got.bytes!).map((e) => e[1])).toEqual(["", "alpha", "bravo!"]);
  });

  it("fails clearly when a file went between the listing and its turn", async () => {
    const server = fakeServer(TREE, { ttl: () => 0 });
    const { save } = collector();
    const run = downloadFolderZip(server.backend, FOLDER, {
      save,
      fetch: server.fetch,
      onProgress: (p) => {
        if (p.phase === "saving") server.gone.add("b.txt");
      },
    });
    await expect(run).rejects.toThrow(ZipDownloadError);
    await expect(run).rejects.toThrow("“b.txt” was deleted or replaced");
  });

  it("fails clearly when a file's bytes cannot be read", async () => {
    const server = fakeServer(TREE.slice(0, 2));
    const { save } = collector();
    const fetchFn: typeof fetch = async (input, init) =>
      String(input).includes("file-1") ? fakeResponse(500, null) : server.fetch(input, init);
    await expect(
      downloadFolderZip(server.backend, FOLDER, { save, fetch: fetchFn }),
    ).rejects.toThrow("Could not read “b.txt” (HTTP 500).");
  });

  it("cancel: aborting errors the stream being saved and fetches nothing more", async () => {
    const server = fakeServer(TREE);
    const abort = new AbortController();
    let savedStream: Promise<unknown> | null = null;
    const save: SaveFn = async (stream) => {
      const reader = stream.getReader();
      savedStream = (async () => {
        for (;;) {
          const { done } = await reader.read();
          if (done) return "closed";
        }
      })().catch((e: unknown) => e);
    };
    const fetchFn: typeof fetch = async (input, init) => {
      if (String(input).includes("file-1")) abort.abort();
      return server.fetch(input, init);
    };
    const run = downloadFolderZip(server.backend, FOLDER, {
      save,
      fetch: fetchFn,
      signal: abort.signal,
    });
    await expect(run).rejects.toMatchObject({ name: "AbortError" });
    // The reader saw an error, never a clean end (a short file that looks whole).
    expect(await savedStream).toMatchObject({ name: "AbortError" });
    expect(server.fetched).toEqual(["file-0?v=1", "file-1?v=1"]);
  });

  it("cancel during the listing stops before any page more", async () => {
    const server = fakeServer(TREE);
    const abort = new AbortController();
    server.backend.archivePage.mockImplementationOnce(async () => {
      abort.abort();
      return { name: "Trip", entries: [], next_cursor: "c2" };
    });
    const { save } = collector();
    await expect(
      downloadFolderZip(server.backend, FOLDER, {
        save,
        fetch: server.fetch,
        signal: abort.signal,
      }),
    ).rejects.toMatchObject({ name: "AbortError" });
    expect(server.backend.archivePage).toHaveBeenCalledTimes(1);
  });

  it("a download stopped in the browser says so", async () => {
    const server = fakeServer(TREE);
    const save: SaveFn = async (stream) => {
      const reader = stream.getReader();
      await reader.read();
      await reader.cancel("the user stopped it");
    };
    await expect(
      downloadFolderZip(server.backend, FOLDER, { save, fetch: server.fetch }),
    ).rejects.toThrow(ZipCanceledError);
  });

  it("without a Service Worker: refuses a large archive, naming the CLI", async () => {
    const big = 300 * 1024 * 1024;
    const backend = {
      archivePage: async (): Promise<ArchivePage> => ({
        name: "Big",
        entries: [
          {
            kind: "file",
            path: "movie.mkv",
            file_id: "x",
            size: big,
            updated_at: AT,
            url: "https://storage.test/x",
            expires_at: inMinutes(5),
          },
        ],
        next_cursor: null,
      }),
    } as unknown as Backend;
    const fetchFn = vi.fn();
    // jsdom's page is no secure context: no Service Worker.
    const run = downloadFolderZip(backend, FOLDER, { fetch: fetchFn as unknown as typeof fetch });
    await expect(run).rejects.toThrow(ZipUnsupportedError);
    await expect(run).rejects.toThrow('livedrop get -r "Big"');
    await expect(run).rejects.toThrow("not on an HTTPS address");
    expect(fetchFn).not.toHaveBeenCalled();
    expect(big).toBeGreaterThan(IN_MEMORY_LIMIT);
  });

  it("without a Service Worker: a small archive is built in memory and saved from a Blob", async () => {
    const server = fakeServer(TREE);
    const blobs: Blob[] = [];
    vi.stubGlobal(
      "URL",
      Object.assign(globalThis.URL, {
        createObjectURL: (b: Blob) => {
          blobs.push(b);
          return "blob:fake";
        },
        revokeObjectURL: () => {},
      }),
    );
    const clicked: { href: string; download: string }[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      clicked.push({ href: this.href, download: this.download });
    });
    const seen: ZipProgress[] = [];
    try {
      await downloadFolderZip(server.backend, FOLDER, {
        fetch: server.fetch,
        onProgress: (p) => seen.push(p),
      });
    } finally {
      click.mockRestore();
    }
    expect(clicked).toEqual([{ href: "blob:fake", download: "Trip.zip" }]);
    expect(seen.at(-1)!.via).toBe("memory");
    const bytes = new Uint8Array(await blobs[0]!.arrayBuffer());
    expect(bytes.length).toBe(seen.at(-1)!.total);
    expect(pythonRead(bytes)).toHaveLength(8);
  });

  it("the size it announces is the archive's", async () => {
    const server = fakeServer(TREE);
    const { got, save } = collector();
    await downloadFolderZip(server.backend, FOLDER, { save, fetch: server.fetch });
    const names = [
      { path: "Trip/", size: 0 },
      { path: "Trip/a.txt", size: 5 },
      { path: "Trip/b.txt", size: 6 },
      { path: "Trip/day 1/", size: 0 },
      { path: "Trip/day 1/café ☕.txt", size: text("crème").length },
      { path: "Trip/day 1/empty/", size: 0 },
      { path: "Trip/z.bin", size: 0 },
      { path: "Trip/zz/", size: 0 },
    ];
    expect(got.size).toBe(zipSize(names));
  });
});

describe("downloadZip of a selection", () => {
  const ITEMS = { files: ["a", "b"], folders: ["day1", "zz"] };
  // What the server lists for it: the files, then each folder with its tree.
  const SELECTED: (FakeFile | { folder: string })[] = [
    { path: "a.txt", body: text("alpha") },
    { path: "b.txt", body: text("bravo!") },
    { folder: "day 1" },
    { path: "day 1/café ☕.txt", body: text("crème") },
    { folder: "day 1/empty" },
    { folder: "zz" },
  ];

  /** POST /api/archive over fakeServer: every call names the same items. */
  function selectionServer(server: ReturnType<typeof fakeServer>) {
    const asked: { items: unknown; cursor: string | null; options: unknown }[] = [];
    const backend = {
      selectionArchivePage: async (
        items: typeof ITEMS,
        cursor: string | null,
        options?: { again?: boolean },
      ) => {
        asked.push({ items, cursor, options });
        return server.backend.archivePage(FOLDER.id, cursor);
      },
    } as unknown as Backend;
    return { asked, backend };
  }

  it("lists the selected items page by page, under the name of the folder they are in", async () => {
    const server = fakeServer(SELECTED, { name: "Holiday" });
    const { asked, backend } = selectionServer(server);
    const { got, save } = collector();
    const archive = selectionArchive(backend, ITEMS, "Holiday");
    expect(archive.name).toBe("Holiday");
    await downloadZip(archive, { save, fetch: server.fetch });
    expect(asked).toEqual([
      { items: ITEMS, cursor: null, options: undefined },
      { items: ITEMS, cursor: "c2", options: undefined },
      { items: ITEMS, cursor: "c4", options: undefined },
    ]);
    expect(got.name).toBe("Holiday.zip");
    expect(pythonRead(got.bytes!)).toEqual([
      ["Holiday/", ""],
      ["Holiday/a.txt", "alpha"],
      ["Holiday/b.txt", "bravo!"],
      ["Holiday/day 1/", ""],
      ["Holiday/day 1/café ☕.txt", "crème"],
      ["Holiday/day 1/empty/", ""],
      ["Holiday/zz/", ""],
    ]);
  });

  it("signs a page again with `again`, for the same items, by its own cursor", async () => {
    // The listing's URLs last 30 s (first 3 calls); fresh ones, 5 min.
    const server = fakeServer(SELECTED, { ttl: (call) => (call <= 3 ? 0.5 : 5) });
    const { asked, backend } = selectionServer(server);
    const { got, save } = collector();
    await downloadZip(selectionArchive(backend, ITEMS, "Trip"), { save, fetch: server.fetch });
    expect(asked.slice(3)).toEqual([
      { items: ITEMS, cursor: null, options: { again: true } },
      { items: ITEMS, cursor: "c2", options: { again: true } },
    ]);
    expect(server.fetched).toEqual(["file-0?v=2", "file-1?v=2", "file-3?v=2"]);
    expect(pythonRead(got.bytes!)).toHaveLength(7);
  });

  it("without a Service Worker, a large archive points at a smaller selection, not the CLI", async () => {
    const backend = {
      selectionArchivePage: async (): Promise<ArchivePage> => ({
        name: "My files",
        entries: [
          {
            kind: "file",
            path: "movie.mkv",
            file_id: "x",
            size: 300 * 1024 * 1024,
            updated_at: AT,
            url: "https://storage.test/x",
            expires_at: inMinutes(5),
          },
        ],
        next_cursor: null,
      }),
    } as unknown as Backend;
    const run = downloadZip(selectionArchive(backend, { files: ["x"], folders: [] }, "My files"), {
      fetch: vi.fn() as unknown as typeof fetch,
    });
    await expect(run).rejects.toThrow(ZipUnsupportedError);
    await expect(run).rejects.toThrow(/, or select fewer items at a time\.$/);
  });
});

describe("downloadZip through a public link", () => {
  /** The link's archive endpoint over fakeServer: a new ticket for each call without one. */
  function linkServer(server: ReturnType<typeof fakeServer>) {
    const bodies: LinkArchiveRequest[] = [];
    let tickets = 0;
    const request = async (body: LinkArchiveRequest): Promise<LinkArchivePage> => {
      bodies.push(body);
      const page = await server.backend.archivePage(FOLDER.id, body.cursor ?? null);
      return { ...page, ticket: body.ticket ?? `t${++tickets}` };
    };
    return { bodies, request };
  }

  it("sends the password once, then the first page's ticket, re-signing with it too", async () => {
    // The listing's URLs last 30 s (first 4 calls): every page is signed again.
    const server = fakeServer(TREE, { ttl: (call) => (call <= 4 ? 0.5 : 5) });
    const { bodies, request } = linkServer(server);
    const archive = linkArchive(request, { id: "d7", name: "Trip", updated_at: AT }, "secret");
    const { got, save } = collector();
    await downloadZip(archive, { save, fetch: server.fetch });
    const next = (cursor?: string) => ({
      folder_id: "d7",
      ticket: "t1",
      ...(cursor ? { cursor } : {}),
    });
    expect(bodies).toEqual([
      { folder_id: "d7", password: "secret" },
      next("c2"),
      next("c4"),
      next("c6"),
      // Signed again, each page by its own cursor (the first by none).
      next(),
      next("c2"),
      next("c4"),
    ]);
    expect(got.name).toBe("Trip.zip");
    expect(pythonRead(got.bytes!)).toHaveLength(8);

    // Another download of the same archive starts afresh: password, new ticket.
    bodies.length = 0;
    await downloadZip(archive, { save: collector().save, fetch: server.fetch });
    expect(bodies[0]).toEqual({ folder_id: "d7", password: "secret" });
    expect(bodies[1]).toEqual({ folder_id: "d7", ticket: "t2", cursor: "c2" });
  });

  it("the linked folder itself, without a password: an empty first request", async () => {
    const server = fakeServer(TREE.slice(0, 2));
    const { bodies, request } = linkServer(server);
    const { got, save } = collector();
    await downloadZip(linkArchive(request, { id: null, name: "Trip", updated_at: AT }), {
      save,
      fetch: server.fetch,
    });
    expect(bodies).toEqual([{}]);
    expect(pythonRead(got.bytes!).map((e) => e[0])).toEqual(["Trip/", "Trip/a.txt", "Trip/b.txt"]);
  });

  it("without a Service Worker, a large archive points at the files one at a time", async () => {
    const request = async (): Promise<LinkArchivePage> => ({
      name: "Big",
      entries: [
        {
          kind: "file",
          path: "movie.mkv",
          file_id: "x",
          size: 300 * 1024 * 1024,
          updated_at: AT,
          url: "https://storage.test/x",
          expires_at: inMinutes(5),
        },
      ],
      next_cursor: null,
      ticket: "t",
    });
    const run = downloadZip(linkArchive(request, { id: null, name: "Big", updated_at: AT }), {
      fetch: vi.fn() as unknown as typeof fetch,
    });
    await expect(run).rejects.toThrow(ZipUnsupportedError);
    await expect(run).rejects.toThrow("or download its files one at a time.");
  });
});

describe("contentDisposition", () => {
  it("gives an ASCII filename and the exact UTF-8 one (RFC 5987)", () => {
    expect(contentDisposition("Trip.zip")).toBe(
      `attachment; filename="Trip.zip"; filename*=UTF-8''Trip.zip`,
    );
    expect(contentDisposition("Café ☕ (2).zip")).toBe(
      `attachment; filename="Caf_ _ (2).zip"; filename*=UTF-8''Caf%C3%A9%20%E2%98%95%20%282%29.zip`,
    );
    expect(contentDisposition('a"b\\c\n.zip')).toBe(
      `attachment; filename="a_b_c_.zip"; filename*=UTF-8''a_b_c_.zip`,
    );
  });
});

describe("Rate", () => {
  it("is bytes per second over the last five seconds", () => {
    let t = 0;
    const rate = new Rate(() => t);
    rate.add(1000);
    expect(rate.perSecond()).toBeNull();
    t = 1000;
    rate.add(1000);
    expect(rate.perSecond()).toBe(2000);
    t = 10_000;
    rate.add(5000);
    expect(rate.perSecond()).toBe(1000);
  });
});
