import { describe, expect, it, vi } from "vitest";
import { authError, firebaseConfig, hostPort, trackingTransfer } from "./cloud-helpers";
import { ApiError, NetworkError, describeError, isAbort } from "./errors";
import type { BlobTransfer, Config } from "./types";

const base: Config = {
  mode: "cloud",
  signup_open: false,
  mail: false,
  max_file_size: 1e9,
  resumable_threshold: 8e6,
};

describe("firebaseConfig", () => {
  it("splits the web config from the emulator addresses", () => {
    const fb = firebaseConfig({
      ...base,
      firebase: {
        apiKey: "k",
        projectId: "demo-livedrop",
        emulators: { auth: "http://127.0.0.1:9099", firestore: "127.0.0.1:8086" },
      },
    });
    expect(fb.options).toEqual({
      apiKey: "k",
      projectId: "demo-livedrop",
      authDomain: "demo-livedrop.firebaseapp.com",
    });
    expect(fb.authEmulator).toBe("http://127.0.0.1:9099");
    expect(fb.firestoreEmulator).toEqual(["127.0.0.1", 8086]);
  });

  it("has no emulators in production", () => {
    const fb = firebaseConfig({
      ...base,
      firebase: { apiKey: "k", projectId: "p", emulators: { auth: null, firestore: null } },
    });
    expect(fb.authEmulator).toBeNull();
    expect(fb.firestoreEmulator).toBeNull();
  });

  it("refuses a config without a project", () => {
    expect(() => firebaseConfig(base)).toThrow(NetworkError);
  });

  it("reads host:port, also IPv6", () => {
    expect(hostPort("localhost:8080")).toEqual(["localhost", 8080]);
    expect(hostPort("[::1]:8080")).toEqual(["::1", 8080]);
    expect(hostPort("nohost")).toBeNull();
  });
});

describe("authError", () => {
  it("says wrong e-mail or password, whichever Firebase code it comes as", () => {
    for (const code of ["auth/invalid-credential", "auth/wrong-password", "auth/user-not-found"]) {
      expect(describeError(authError({ code }))).toBe("Wrong e-mail or password.");
    }
  });
  it("maps a taken address, rate limits and network failures", () => {
    expect(describeError(authError({ code: "auth/email-already-in-use" }))).toMatch(
      /already exists/,
    );
    expect(describeError(authError({ code: "auth/too-many-requests" }))).toMatch(
      /Too many attempts/,
    );
    expect(authError({ code: "auth/network-request-failed" })).toBeInstanceOf(NetworkError);
  });
  it("treats a closed Google window as a cancel, not an error", () => {
    expect(isAbort(authError({ code: "auth/popup-closed-by-user" }))).toBe(true);
  });
  it("names unknown codes", () => {
    const e = authError({ code: "auth/something-new" });
    expect(e).toBeInstanceOf(ApiError);
    expect(e.message).toBe("Sign-in failed (auth/something-new).");
  });
});

describe("trackingTransfer", () => {
  const chunk = new Blob([new Uint8Array(256 * 1024)]);
  const signal = new AbortController().signal;
  const target = { method: "POST" as const, url: "u", headers: [], resumable: true };
  const fake = (state: Awaited<ReturnType<BlobTransfer["putChunk"]>>) => {
    const querySession = vi.fn(async () => ({ kind: "complete" as const }));
    const base: BlobTransfer = {
      putWhole: vi.fn(),
      startSession: vi.fn(async () => "loc"),
      querySession,
      putChunk: vi.fn(async () => state),
    };
    return { base, querySession };
  };

  it("counts the chunk as stored when the 308 hides its Range (fake-gcs-server)", async () => {
    const { base, querySession } = fake({ kind: "partial", stored: 0 });
    const t = trackingTransfer(base);
    await t.startSession(target, signal);
    const s = await t.putChunk("loc", chunk, 512 * 1024, 2e6, () => {}, signal);
    expect(s).toEqual({ kind: "partial", stored: 768 * 1024 });
    // Asked again (after a dropped chunk): its own count, not the emulator.
    expect(await t.querySession("loc", 2e6, signal)).toEqual({
      kind: "partial",
      stored: 768 * 1024,
    });
    expect(querySession).not.toHaveBeenCalled();
  });

  it("never asks the emulator about a session it has just started", async () => {
    const { base, querySession } = fake({ kind: "partial", stored: 0 });
    const t = trackingTransfer(base);
    const loc = await t.startSession(target, signal);
    expect(await t.querySession(loc, 2e6, signal)).toEqual({ kind: "partial", stored: 0 });
    expect(querySession).not.toHaveBeenCalled();
  });

  it("believes a Range it can read (Cloud Storage), and asks the server from then on", async () => {
    const { base, querySession } = fake({ kind: "partial", stored: 100 });
    const t = trackingTransfer(base);
    await t.startSession(target, signal);
    expect(await t.putChunk("loc", chunk, 0, 2e6, () => {}, signal)).toEqual({
      kind: "partial",
      stored: 100,
    });
    await t.querySession("loc", 2e6, signal);
    expect(querySession).toHaveBeenCalled();
  });

  it("asks the server about a session from before a reload", async () => {
    const { base } = fake({ kind: "complete" });
    const t = trackingTransfer(base);
    expect(await t.querySession("old", 2e6, signal)).toEqual({ kind: "complete" });
    expect(await t.putChunk("loc", chunk, 0, 2e6, () => {}, signal)).toEqual({
      kind: "complete",
    });
  });
});
