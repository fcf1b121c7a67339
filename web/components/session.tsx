"use client";

import { usePathname, useRouter } from "next/navigation";
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from "react";
import {
  describeError,
  loadBackend,
  type Activity,
  type Backend,
  type FileRecord,
  type LiveStatus,
  type Me,
} from "@/lib/backend";
import { UploadManager } from "@/lib/uploads";

export interface Session {
  backend: Backend;
  me: Me;
  uploads: UploadManager;
  /** Reloads the account (usage after an upload or delete). */
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside SessionProvider");
  return s;
}

type State =
  | { kind: "loading" }
  | { kind: "error"; message: string }
  | { kind: "ready"; backend: Backend; me: Me; uploads: UploadManager };

/** Loads the config and the signed-in account; sends others to sign in. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ kind: "loading" });
  const [attempt, setAttempt] = useState(0);
  const router = useRouter();
  const pathname = usePathname();

  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const backend = await loadBackend();
        const me = await backend.me();
        if (!live) return;
        if (!me) {
          const next = window.location.pathname + window.location.search;
          router.replace(`/signin/?next=${encodeURIComponent(next)}`);
          return;
        }
        // Unfinished uploads are remembered for this person alone.
        const uploads = new UploadManager({
          backend,
          maxFileSize: me.max_file_size,
          owner: me.user.id,
        });
        setState({ kind: "ready", backend, me, uploads });
      } catch (e) {
        if (live) setState({ kind: "error", message: describeError(e) });
      }
    })();
    return () => {
      live = false;
    };
    // pathname is read once: the session does not reload on navigation.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [attempt]);

  // The feed keeps failing: maybe the session ended (signed out in another
  // tab, expired). Then go to sign-in rather than retry for ever.
  useEffect(() => {
    if (state.kind !== "ready") return;
    const { backend, uploads } = state;
    return backend.live().subscribeStatus((status) => {
      if (status !== "offline") return;
      backend.me().then(
        (me) => {
          if (me) return;
          // Their uploads stop with them (and stay saved for them alone).
          uploads.stop();
          router.replace("/signin/");
        },
        () => {},
      );
    });
  }, [state, router]);

  // Leaving the page pauses uploads: ask first.
  useEffect(() => {
    if (state.kind !== "ready") return;
    const { uploads } = state;
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      if (
        uploads
          .views()
          .some((v) => ["hashing", "uploading", "retrying", "completing"].includes(v.status))
      ) {
        e.preventDefault();
      }
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, [state]);

  const refresh = useCallback(async () => {
    if (state.kind !== "ready") return;
    const me = await state.backend.me();
    if (me) setState((s) => (s.kind === "ready" ? { ...s, me } : s));
  }, [state]);

  const signOut = useCallback(async () => {
    if (state.kind !== "ready") return;
    // Both deployments sign out here: first forget this person's unfinished
    // uploads, so the next person on this browser never sees or resumes them.
    state.uploads.signOut();
    await state.backend.signOut().catch(() => {});
    router.replace("/signin/");
  }, [state, router]);

  const value = useMemo<Session | null>(
    () =>
      state.kind === "ready"
        ? { backend: state.backend, me: state.me, uploads: state.uploads, refresh, signOut }
        : null,
    [state, refresh, signOut],
  );

  if (state.kind === "error") {
    return (
      <div className="center-page">
        <div className="card narrow" role="alert">
          <h1>Can’t load livedrop</h1>
          <p>{state.message}</p>
          <button type="button" className="primary" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  if (!value) {
    return (
      <div className="center-page" aria-busy="true">
        <p className="muted">Loading{pathname ? "…" : ""}</p>
      </div>
    );
  }
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** My files, live; null until the first snapshot. */
export function useLiveFiles(scope: "mine" | "shared"): FileRecord[] | null {
  const { backend } = useSession();
  const [files, setFiles] = useState<FileRecord[] | null>(null);
  useEffect(() => {
    const live = backend.live();
    return scope === "mine" ? live.subscribeFiles(setFiles) : live.subscribeShared(setFiles);
  }, [backend, scope]);
  return files;
}

export function useLiveActivity(): Activity[] | null {
  const { backend } = useSession();
  const [activity, setActivity] = useState<Activity[] | null>(null);
  useEffect(() => backend.live().subscribeActivity(setActivity), [backend]);
  return activity;
}

export function useLiveStatus(): LiveStatus {
  const { backend } = useSession();
  const [status, setStatus] = useState<LiveStatus>("connecting");
  useEffect(() => backend.live().subscribeStatus(setStatus), [backend]);
  return status;
}

/** The current time, ticking, for "2 s ago" labels. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
