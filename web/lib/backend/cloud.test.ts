import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Backend, Config } from "./types";

// The Firebase SDK, faked: one signed-in person whose token the test controls.
const user = {
  uid: "u1",
  email: "a@example.com",
  emailVerified: false,
  getIdToken: vi.fn(async (force?: boolean): Promise<string> =>
    force ? "fresh.token.sig" : "stale.token.sig",
  ),
};
const auth = {
  currentUser: null as typeof user | null,
  authStateReady: vi.fn(async () => {}),
};
const emulatorCalls: unknown[] = [];

vi.mock("firebase/app", () => ({ initializeApp: vi.fn(() => ({})) }));
vi.mock("firebase/auth", () => ({
  GoogleAuthProvider: class {
    setCustomParameters() {}
  },
  connectAuthEmulator: vi.fn((_a, url) => emulatorCalls.push(["auth", url])),
  createUserWithEmailAndPassword: vi.fn(async () => {
    auth.currentUser = user;
    return { user };
  }),
  getAuth: vi.fn(() => auth),
  sendEmailVerification: vi.fn(async () => {}),
  signInWithEmailAndPassword: vi.fn(async () => {
    const e = new Error("Firebase: Error (auth/invalid-credential).") as Error & { code: string };
    e.code = "auth/invalid-credential";
    throw e;
  }),
  signInWithPopup: vi.fn(),
  signOut: vi.fn(async () => {
    auth.currentUser = null;
  }),
}));
vi.mock("firebase/firestore", () => ({
  collection: vi.fn(),
  connectFirestoreEmulator: vi.fn((_db, host, port) =>
    emulatorCalls.push(["firestore", host, port]),
  ),
  getFirestore: vi.fn(() => ({})),
  limit: vi.fn(),
  onSnapshot: vi.fn(),
  orderBy: vi.fn(),
  query: vi.fn(),
  where: vi.fn(),
}));

const { CloudBackend } = await import("./cloud");

const config = (emulators: boolean): Config => ({
  mode: "cloud",
  signup_open: false,
  mail: false,
  max_file_size: 1e9,
  resumable_threshold: 8e6,
  firebase: {
    apiKey: "k",
    projectId: "demo-livedrop",
    emulators: emulators
      ? { auth: "http://127.0.0.1:9099", firestore: "127.0.0.1:8086" }
      : { auth: null, firestore: null },
  },
});

const me = {
  user: { id: "u1", email: "a@example.com" },
  csrf_token: null,
  usage: { used: 0, quota: 1 },
  max_file_size: 1,
};

describe("CloudBackend", () => {
  beforeEach(() => {
    auth.currentUser = null;
    user.getIdToken.mockClear();
    emulatorCalls.length = 0;
  });
  afterEach(() => vi.unstubAllGlobals());

  it("talks to the emulators the server names", async () => {
    const b = new CloudBackend(config(true));
    await b.me();
    expect(emulatorCalls).toEqual([
      ["auth", "http://127.0.0.1:9099"],
      ["firestore", "127.0.0.1", 8086],
    ]);
  });

  it("sends the ID token as Bearer, and retries a 401 once with a fresh one", async () => {
    auth.currentUser = user;
    const seen: (string | null)[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (_url: string, init: RequestInit) => {
        const h = new Headers(init.headers);
        seen.push(h.get("Authorization"));
        if (h.get("Authorization") === "Bearer stale.token.sig") {
          return new Response('{"error":{"code":"unauthenticated","message":"no"}}', {
            status: 401,
          });
        }
        return new Response(JSON.stringify(me), { status: 200 });
      }),
    );
    // After the forced refresh the SDK hands out the fresh token.
    user.getIdToken.mockImplementation(async (force?: boolean) => {
      if (force) user.getIdToken.mockImplementation(async () => "fresh.token.sig");
      return force ? "fresh.token.sig" : "stale.token.sig";
    });
    const b = new CloudBackend(config(true));
    expect(await b.me()).toEqual(me);
    expect(seen).toEqual(["Bearer stale.token.sig", "Bearer fresh.token.sig"]);
  });

  it("is signed out (me() is null) without asking the API", async () => {
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);
    const b = new CloudBackend(config(true));
    expect(await b.me()).toBeNull();
    expect(fetch).not.toHaveBeenCalled();
  });

  it("puts Firebase's sign-in errors in the app's words", async () => {
    const b = new CloudBackend(config(true));
    await expect(b.signIn("a@example.com", "wrong")).rejects.toMatchObject({
      code: "invalid_credentials",
    });
  });

  it("in production, an unverified address gets the verification mail and a clear error", async () => {
    user.getIdToken.mockImplementation(async () => "t.t.t");
    vi.stubGlobal(
      "fetch",
      vi.fn(
        async () =>
          new Response('{"error":{"code":"unauthenticated","message":"no"}}', { status: 401 }),
      ),
    );
    const b = new CloudBackend(config(false));
    await expect(b.signUp("a@example.com", "long enough")).rejects.toMatchObject({
      code: "email_not_verified",
    });
    const { sendEmailVerification, signOut } = await import("firebase/auth");
    expect(sendEmailVerification).toHaveBeenCalled();
    expect(signOut).toHaveBeenCalled();
  });

  it("opens a public link without starting Firebase", async () => {
    const { getAuth } = await import("firebase/auth");
    vi.mocked(getAuth).mockClear();
    const seen: Headers[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (_url: string, init: RequestInit) => {
        seen.push(new Headers(init.headers));
        return new Response(JSON.stringify({ name: "a.txt" }), { status: 200 });
      }),
    );
    const b = new CloudBackend(config(true));
    await b.linkInfo("tok");
    expect(getAuth).not.toHaveBeenCalled();
    expect(seen[0]!.get("Authorization")).toBeNull();
  });

  it("has no API tokens", async () => {
    const b = new CloudBackend(config(true));
    expect(b.features.apiTokens).toBe(false);
    await expect(b.listTokens()).rejects.toMatchObject({ code: "not_supported" });
  });

  it("leaves sessions and passwords to Firebase Auth, asking the API nothing", async () => {
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);
    const b: Backend = new CloudBackend(config(true));
    expect(b.features.sessions).toBe(false);
    await expect(b.signOutOthers()).rejects.toMatchObject({ status: 404, code: "not_supported" });
    await expect(b.changePassword("a", "b")).rejects.toMatchObject({ code: "not_supported" });
    expect(fetch).not.toHaveBeenCalled();
  });

  it("listens to a folder with the queries the rules allow: mine, in that folder", async () => {
    auth.currentUser = user;
    const fs = await import("firebase/firestore");
    vi.mocked(fs.where).mockImplementation(
      (field, op, value) => ["where", field, op, value] as never,
    );
    vi.mocked(fs.orderBy).mockImplementation((field, dir) => ["orderBy", field, dir] as never);
    vi.mocked(fs.collection).mockImplementation((_db, name) => ["collection", name] as never);
    vi.mocked(fs.query).mockImplementation(((...parts: unknown[]) => parts) as never);
    const queries: unknown[] = [];
    vi.mocked(fs.onSnapshot).mockImplementation(((q: unknown) => {
      queries.push(q);
      return () => {};
    }) as never);
    const b = new CloudBackend(config(true));
    const live = b.live();
    live.subscribeFolders("d1", () => {});
    live.subscribeFilesIn(null, () => {});
    await vi.waitFor(() => expect(queries).toHaveLength(2));
    const has = (q: unknown, part: unknown[]) =>
      (q as unknown[]).some((p) => JSON.stringify(p) === JSON.stringify(part));
    const [folders, files] = queries;
    expect(has(folders, ["collection", "folders"])).toBe(true);
    expect(has(folders, ["where", "owner_id", "==", "u1"])).toBe(true);
    expect(has(folders, ["where", "parent", "==", "d1"])).toBe(true);
    expect(has(folders, ["orderBy", "name_key", null])).toBe(true);
    expect(has(files, ["collection", "files"])).toBe(true);
    expect(has(files, ["where", "parent", "==", ""])).toBe(true);
    // Uploads in progress too: the folder's viewers see them arrive.
    expect(has(files, ["where", "status", "in", ["pending", "ready"]])).toBe(true);
    expect(has(files, ["orderBy", "updated_at", "desc"])).toBe(true);
    live.close();
  });
});
