import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, describeError, errorFromBody } from "./errors";
import { SelfHostedBackend, sessionState, storedFromRange } from "./selfhosted";
import type { Config } from "./types";

const config: Config = {
  mode: "self-hosted",
  signup_open: true,
  mail: false,
  max_file_size: 1e9,
  resumable_threshold: 8e6,
};

describe("resumable session answers", () => {
  it("reads Range: bytes=0-N as N+1 bytes stored", () => {
    expect(storedFromRange("bytes=0-8388607")).toBe(8388608);
    expect(storedFromRange(null)).toBe(0);
    expect(sessionState(308, null)).toEqual({ kind: "partial", stored: 0 });
    expect(sessionState(200, null)).toEqual({ kind: "complete" });
    expect(sessionState(404, null)).toEqual({ kind: "gone" });
    expect(sessionState(500, null)).toBeNull();
  });
});

describe("errors", () => {
  it("reads the server's error body and Retry-After", () => {
    const e = errorFromBody(429, '{"error":{"code":"rate_limited","message":"slow down"}}', "7");
    expect(e).toMatchObject({ status: 429, code: "rate_limited", retryAfter: 7 });
    expect(describeError(e)).toBe("Too many attempts. Try again in 7 s.");
  });
  it("copes with a body that is not JSON", () => {
    const e = errorFromBody(502, "<html>bad gateway</html>", null);
    expect(e.code).toBe("internal");
    expect(e.message).toMatch(/server had a problem/);
  });
});

describe("SelfHostedBackend", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("sends the CSRF token it got at sign-in on state-changing requests", async () => {
    const calls: [string, RequestInit][] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push([url, init]);
        if (url === "/api/auth/signin") {
          return new Response(
            JSON.stringify({ user: { id: "u", email: "a@x.io" }, csrf_token: "T" }),
          );
        }
        return new Response(null, { status: 204 });
      }),
    );
    const b = new SelfHostedBackend(config);
    await b.signIn("a@x.io", "pw");
    await b.deleteFile("f/1");
    const [url, init] = calls[1]!;
    expect(url).toBe("/api/files/f%2F1");
    expect(init.method).toBe("DELETE");
    expect((init.headers as Record<string, string>)["X-CSRF-Token"]).toBe("T");
  });

  it("turns 401 from /api/me into null and other errors into ApiError", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) =>
        url === "/api/me"
          ? new Response('{"error":{"code":"unauthenticated","message":"sign in first"}}', {
              status: 401,
            })
          : new Response('{"error":{"code":"not_found","message":"file not found"}}', {
              status: 404,
            }),
      ),
    );
    const b = new SelfHostedBackend(config);
    expect(await b.me()).toBeNull();
    await expect(b.getFile("x")).rejects.toBeInstanceOf(ApiError);
  });

  it("signs out other sessions and changes the password, with the CSRF token", async () => {
    const calls: [string, RequestInit][] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push([url, init]);
        if (url === "/api/auth/signin") {
          return new Response(
            JSON.stringify({ user: { id: "u", email: "a@x.io" }, csrf_token: "T" }),
          );
        }
        if (url === "/api/auth/password" && String(init.body).includes('"wrong"')) {
          return new Response(
            '{"error":{"code":"wrong_password","message":"the current password is wrong"}}',
            { status: 403 },
          );
        }
        return new Response(JSON.stringify({ ended: url.endsWith("password") ? 1 : 3 }));
      }),
    );
    const b = new SelfHostedBackend(config);
    expect(b.features.sessions).toBe(true);
    await b.signIn("a@x.io", "pw");
    expect(await b.signOutOthers()).toBe(3);
    expect(await b.changePassword("old pass", "new password")).toBe(1);
    const [url, init] = calls[1]!;
    expect(url).toBe("/api/auth/signout-others");
    expect(init.method).toBe("POST");
    expect(init.body).toBe("{}");
    expect((init.headers as Record<string, string>)["X-CSRF-Token"]).toBe("T");
    expect(calls[2]![0]).toBe("/api/auth/password");
    expect(JSON.parse(String(calls[2]![1].body))).toEqual({
      current_password: "old pass",
      new_password: "new password",
    });
    expect((calls[2]![1].headers as Record<string, string>)["X-CSRF-Token"]).toBe("T");
    const wrong = b.changePassword("wrong", "new password");
    await expect(wrong).rejects.toMatchObject({ status: 403, code: "wrong_password" });
    expect(describeError(await wrong.catch((e: unknown) => e))).toBe("Wrong password.");
    expect(
      describeError(await b.changePassword("wrong", "x").catch((e: unknown) => e), {
        wrong_password: "The current password is wrong.",
      }),
    ).toBe("The current password is wrong.");
  });

  it("speaks the folders API: lists, makes, moves, deletes (with the CSRF token)", async () => {
    const calls: [string, RequestInit][] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push([url, init]);
        if (url === "/api/auth/signin") {
          return new Response(
            JSON.stringify({ user: { id: "u", email: "a@x.io" }, csrf_token: "T" }),
          );
        }
        if (url.startsWith("/api/folders?") || (url === "/api/folders" && init.method === "GET")) {
          return new Response(JSON.stringify({ folders: [{ id: "d1" }] }));
        }
        if (url.startsWith("/api/files?")) {
          return new Response(JSON.stringify({ files: [], next_cursor: null }));
        }
        if (init.method === "DELETE") {
          return new Response(JSON.stringify({ deleted: { folders: 2, files: 5 } }));
        }
        return new Response(JSON.stringify({ folder: { id: "d1" }, file: { id: "f1" } }), {
          status: init.method === "POST" ? 201 : 200,
        });
      }),
    );
    const b = new SelfHostedBackend(config);
    await b.signIn("a@x.io", "pw");
    expect(await b.listFolders(null)).toEqual([{ id: "d1" }]);
    await b.listFolders("a/b");
    await b.createFolder("Trip", null);
    await b.createFolder("day 1", "d1");
    await b.updateFolder("d1", { parent_id: null });
    await b.updateFile("f1", { folder_id: "d1" });
    expect(await b.deleteFolder("d1")).toEqual({ folders: 2, files: 5 });
    await b.listFiles({ scope: "mine", within: null });
    await b.listFiles({ scope: "mine", within: "d1" });
    const sent = calls.slice(1).map(([url, init]) => [init.method, url, init.body ?? null]);
    expect(sent).toEqual([
      ["GET", "/api/folders", null],
      ["GET", "/api/folders?parent=a%2Fb", null],
      ["POST", "/api/folders", '{"name":"Trip","parent_id":null}'],
      ["POST", "/api/folders", '{"name":"day 1","parent_id":"d1"}'],
      ["PATCH", "/api/folders/d1", '{"parent_id":null}'],
      ["PATCH", "/api/files/f1", '{"folder_id":"d1"}'],
      ["DELETE", "/api/folders/d1", null],
      ["GET", "/api/files?scope=mine&within=top", null],
      ["GET", "/api/files?scope=mine&within=d1", null],
    ]);
    const del = calls.find(([, init]) => init.method === "DELETE")!;
    expect((del[1].headers as Record<string, string>)["X-CSRF-Token"]).toBe("T");
  });

  it("speaks the folder sharing API: folders shared with me, a folder's shares, share, unshare", async () => {
    const calls: [string, RequestInit][] = [];
    const share = { email: "b@x.io", user_id: "u2", pending: false };
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push([url, init]);
        if (url === "/api/auth/signin") {
          return new Response(
            JSON.stringify({ user: { id: "u", email: "a@x.io" }, csrf_token: "T" }),
          );
        }
        if (url.startsWith("/api/folders?")) {
          return new Response(JSON.stringify({ folders: [{ id: "p" }] }));
        }
        if (url.startsWith("/api/files?")) {
          return new Response(JSON.stringify({ files: [], next_cursor: null }));
        }
        if (init.method === "DELETE") return new Response(null, { status: 204 });
        if (init.method === "POST") return new Response(JSON.stringify({ share }), { status: 201 });
        return new Response(JSON.stringify({ folder: { id: "p" }, path: [], shares: [share] }));
      }),
    );
    const b = new SelfHostedBackend(config);
    await b.signIn("a@x.io", "pw");
    expect(await b.listSharedFolders()).toEqual([{ id: "p" }]);
    expect(await b.folderShares("p")).toEqual([share]);
    expect(await b.shareFolder("p", "b@x.io")).toEqual(share);
    await b.unshareFolder("p", "b+1@x.io");
    await b.listFiles({ scope: "shared", within: "p" });
    const sent = calls.slice(1).map(([url, init]) => [init.method, url, init.body ?? null]);
    expect(sent).toEqual([
      ["GET", "/api/folders?scope=shared", null],
      ["GET", "/api/folders/p", null],
      ["POST", "/api/folders/p/shares", '{"email":"b@x.io"}'],
      ["DELETE", "/api/folders/p/shares/b%2B1%40x.io", null],
      ["GET", "/api/files?scope=shared&within=p", null],
    ]);
    for (const [, init] of calls.slice(3, 5)) {
      expect((init.headers as Record<string, string>)["X-CSRF-Token"]).toBe("T");
    }
  });

  it("lists uploads in progress when asked, and reports an upload's progress", async () => {
    const calls: [string, RequestInit][] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push([url, init]);
        if (url === "/api/auth/signin") {
          return new Response(
            JSON.stringify({ user: { id: "u", email: "a@x.io" }, csrf_token: "T" }),
          );
        }
        if (url.startsWith("/api/files?")) {
          return new Response(JSON.stringify({ files: [], next_cursor: null }));
        }
        return new Response(
          JSON.stringify({ file: { id: "f1", status: "pending", size: 10, received: 4 } }),
        );
      }),
    );
    const b = new SelfHostedBackend(config);
    await b.signIn("a@x.io", "pw");
    await b.listFiles({ scope: "shared", within: "p", uploading: true });
    await b.listFiles({ scope: "mine", within: null, uploading: false });
    expect(await b.reportProgress("f/1", 4)).toMatchObject({ id: "f1", received: 4 });
    const sent = calls.slice(1).map(([url, init]) => [init.method, url, init.body ?? null]);
    expect(sent).toEqual([
      ["GET", "/api/files?scope=shared&within=p&uploading=true", null],
      ["GET", "/api/files?scope=mine&within=top", null],
      ["POST", "/api/uploads/f%2F1/progress", '{"received":4}'],
    ]);
    expect((calls[3]![1].headers as Record<string, string>)["X-CSRF-Token"]).toBe("T");
  });

  it("asks for a folder's ZIP and a selection's ZIP page by page, again only to re-sign", async () => {
    const calls: [string, RequestInit][] = [];
    const page = { name: "Trip", entries: [], next_cursor: null };
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push([url, init]);
        if (url === "/api/auth/signin") {
          return new Response(
            JSON.stringify({ user: { id: "u", email: "a@x.io" }, csrf_token: "T" }),
          );
        }
        return new Response(JSON.stringify(page));
      }),
    );
    const b = new SelfHostedBackend(config);
    await b.signIn("a@x.io", "pw");
    expect(await b.archivePage("d/1", null)).toEqual(page);
    await b.archivePage("d1", "c2", { again: true });
    const items = { files: ["f1", "f2"], folders: ["d2"] };
    expect(await b.selectionArchivePage(items, null)).toEqual(page);
    await b.selectionArchivePage(items, "c2");
    await b.selectionArchivePage(items, null, { again: true });
    await b.selectionArchivePage({ files: [], folders: ["d2"] }, "c4", { again: true });
    const sent = calls.slice(1).map(([url, init]) => [init.method, url, init.body ?? null]);
    expect(sent).toEqual([
      ["POST", "/api/folders/d%2F1/archive", "{}"],
      ["POST", "/api/folders/d1/archive", '{"cursor":"c2","again":true}'],
      ["POST", "/api/archive", '{"files":["f1","f2"],"folders":["d2"]}'],
      ["POST", "/api/archive", '{"files":["f1","f2"],"folders":["d2"],"cursor":"c2"}'],
      ["POST", "/api/archive", '{"files":["f1","f2"],"folders":["d2"],"again":true}'],
      ["POST", "/api/archive", '{"files":[],"folders":["d2"],"cursor":"c4","again":true}'],
    ]);
    for (const [, init] of calls.slice(1)) {
      expect((init.headers as Record<string, string>)["X-CSRF-Token"]).toBe("T");
    }
  });

  it("lists a folder for the live feed with uploads in progress", async () => {
    const urls: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        urls.push(url);
        return new Response(JSON.stringify({ files: [], next_cursor: null, folders: [] }));
      }),
    );
    class Socket {
      onopen = null;
      onclose = null;
      onerror = null;
      onmessage: ((ev: MessageEvent) => void) | null = null;
      static last: Socket | null = null;
      constructor() {
        Socket.last = this;
      }
      close() {}
    }
    vi.stubGlobal("WebSocket", Socket);
    const b = new SelfHostedBackend(config);
    const live = b.live();
    live.subscribeFilesIn("d1", () => {});
    live.subscribeSharedFilesIn("p", () => {});
    // A snapshot that does not cover every file: folders are listed.
    const many = Array.from({ length: 1000 }, (_, i) => ({ id: `f${i}`, status: "ready" }));
    Socket.last!.onmessage!({
      data: JSON.stringify({
        type: "snapshot",
        epoch: "E",
        seq: 1,
        files: many,
        shared: [],
        activity: [],
        folders: [],
        shared_folders: [],
      }),
    } as MessageEvent);
    await vi.waitFor(() => expect(urls.filter((u) => u.startsWith("/api/files?"))).toHaveLength(2));
    for (const u of urls.filter((u) => u.startsWith("/api/files?"))) {
      expect(new URL(u, "http://x").searchParams.get("uploading")).toBe("true");
    }
    live.close();
  });
});
