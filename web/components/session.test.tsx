import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Backend, Config, LiveData, Me } from "@/lib/backend";
import { LEGACY_STORAGE_KEY, savedUploadsKey, type SavedUpload } from "@/lib/uploads";
import { SessionProvider, useSession } from "./session";

const router = { replace: vi.fn(), push: vi.fn() };
vi.mock("next/navigation", () => ({
  useRouter: () => router,
  usePathname: () => "/files/",
}));

let current: Backend;
vi.mock("@/lib/backend", async (importOriginal) => ({
  ...(await importOriginal<typeof import("@/lib/backend")>()),
  loadBackend: () => Promise.resolve(current),
}));

function person(id: string): Me {
  return {
    user: { id, email: `${id}@example.com` },
    csrf_token: null,
    email_verified: true,
    download_notices: false,
    usage: { used: 0, quota: 1e9 },
    max_file_size: 1e9,
  };
}

function fakeBackend(me: Me | null) {
  const live: LiveData = {
    subscribeFiles: () => () => {},
    subscribeShared: () => () => {},
    subscribeActivity: () => () => {},
    subscribeFolders: () => () => {},
    subscribeFilesIn: () => () => {},
    subscribeSharedFolders: () => () => {},
    subscribeSharedFilesIn: () => () => {},
    subscribeStatus: () => () => {},
    close: () => {},
  };
  const signOut = vi.fn(async () => {});
  const backend = {
    config: { mode: "self-hosted" } as Config,
    features: { apiTokens: true, googleSignIn: false },
    me: vi.fn(async () => me),
    signOut,
    live: () => live,
    cancelUpload: vi.fn(async () => {}),
  } as unknown as Backend;
  return { backend, signOut };
}

function saved(name: string, fileId: string): SavedUpload {
  return {
    fileId,
    location: `/blob/sessions/${fileId}`,
    name,
    size: 5e9,
    lastModified: 1,
    savedAt: Date.now(),
  };
}

function Probe() {
  const { me, uploads, signOut } = useSession();
  return (
    <div>
      <p>Signed in as {me.user.id}</p>
      <ul aria-label="unfinished">
        {uploads.unfinished().map((r) => (
          <li key={r.fileId}>{r.name}</li>
        ))}
      </ul>
      <button type="button" onClick={() => void signOut()}>
        Sign out
      </button>
    </div>
  );
}

beforeEach(() => {
  router.replace.mockClear();
});

// Both deployments sign out through the session (AppShell's button), whose
// backend is the self-hosted or the cloud one: the session does not care
// which, so one fake stands for both.
describe("SessionProvider", () => {
  it("shows the signed-in person only their own unfinished uploads", async () => {
    localStorage.setItem(savedUploadsKey("u-ann"), JSON.stringify([saved("ann.mp4", "f1")]));
    localStorage.setItem(savedUploadsKey("u-bob"), JSON.stringify([saved("bob.iso", "f2")]));
    current = fakeBackend(person("u-bob")).backend;
    render(
      <SessionProvider>
        <Probe />
      </SessionProvider>,
    );
    expect(await screen.findByText("Signed in as u-bob")).toBeTruthy();
    expect(screen.getByRole("list", { name: "unfinished" }).textContent).toBe("bob.iso");
    expect(screen.queryByText("ann.mp4")).toBeNull();
    // Ann's are still hers.
    expect(localStorage.getItem(savedUploadsKey("u-ann"))).toContain("ann.mp4");
  });

  it("forgets the person's unfinished uploads at sign-out, and the legacy key", async () => {
    localStorage.setItem(savedUploadsKey("u-ann"), JSON.stringify([saved("ann.mp4", "f1")]));
    localStorage.setItem(savedUploadsKey("u-bob"), JSON.stringify([saved("bob.iso", "f2")]));
    const { backend, signOut } = fakeBackend(person("u-ann"));
    current = backend;
    render(
      <SessionProvider>
        <Probe />
      </SessionProvider>,
    );
    expect(await screen.findByText("ann.mp4")).toBeTruthy();
    localStorage.setItem(LEGACY_STORAGE_KEY, JSON.stringify([saved("whose.mp4", "f3")]));
    fireEvent.click(screen.getByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/signin/"));
    expect(signOut).toHaveBeenCalledTimes(1);
    expect(localStorage.getItem(savedUploadsKey("u-ann"))).toBeNull();
    expect(localStorage.getItem(LEGACY_STORAGE_KEY)).toBeNull();
    // Someone else's are not Ann's to forget.
    expect(localStorage.getItem(savedUploadsKey("u-bob"))).toContain("bob.iso");
  });

  it("forgets them even when the server cannot be reached to sign out", async () => {
    localStorage.setItem(savedUploadsKey("u-ann"), JSON.stringify([saved("ann.mp4", "f1")]));
    const { backend, signOut } = fakeBackend(person("u-ann"));
    signOut.mockRejectedValueOnce(new Error("offline"));
    current = backend;
    render(
      <SessionProvider>
        <Probe />
      </SessionProvider>,
    );
    expect(await screen.findByText("ann.mp4")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Sign out" }));
    await waitFor(() => expect(router.replace).toHaveBeenCalledWith("/signin/"));
    expect(localStorage.getItem(savedUploadsKey("u-ann"))).toBeNull();
  });

  it("sends a signed-out visitor to sign in with the page to come back to", async () => {
    current = fakeBackend(null).backend;
    render(
      <SessionProvider>
        <Probe />
      </SessionProvider>,
    );
    await waitFor(() => expect(router.replace).toHaveBeenCalled());
    expect(router.replace.mock.calls[0]![0]).toMatch(/^\/signin\/\?next=%2F/);
  });
});
