"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { describeError, isAbort, loadBackend, type Config, type Features } from "@/lib/backend";
import { safeNext } from "@/lib/next";

/** Where to go once signed in: `?next=` if it is a path on this site. */
function nextPage(): string {
  return safeNext(new URLSearchParams(window.location.search).get("next"));
}

/**
 * `page`, keeping this page's `?next=`, so that switching between sign-in
 * and sign-up still lands where the visitor was going (an invitation link).
 */
function withNext(page: string): string {
  if (typeof window === "undefined") return page;
  const next = new URLSearchParams(window.location.search).get("next");
  return next ? `${page}?next=${encodeURIComponent(next)}` : page;
}

export function AuthForm({ mode }: { mode: "signin" | "signup" }) {
  const router = useRouter();
  const [config, setConfig] = useState<Config | null>(null);
  const [features, setFeatures] = useState<Features | null>(null);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    loadBackend().then(
      async (b) => {
        setConfig(b.config);
        setFeatures(b.features);
        // Already signed in: straight on.
        const me = await b.me().catch(() => null);
        if (me) router.replace(nextPage());
      },
      (e) => setError(describeError(e)),
    );
  }, [router]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const b = await loadBackend();
      if (mode === "signin") await b.signIn(email.trim(), password);
      else await b.signUp(email.trim(), password);
      router.replace(nextPage());
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  const google = async () => {
    setBusy(true);
    setError(null);
    try {
      const b = await loadBackend();
      await b.signInWithGoogle();
      router.replace(nextPage());
    } catch (err) {
      // Closing the Google window is not an error.
      if (!isAbort(err)) setError(describeError(err));
      setBusy(false);
    }
  };

  // In the cloud, Firebase Auth decides who may sign up.
  const open = config === null || config.mode === "cloud" || config.signup_open;
  const closed = mode === "signup" && !open;

  return (
    <div className="center-page">
      <div className="narrow">
        <p
          className="brand"
          style={{ textAlign: "center", fontSize: "1.6rem", margin: "0 0 16px" }}
        >
          live<span>drop</span>
        </p>
        <div className="card">
          <h1>{mode === "signin" ? "Sign in" : "Create an account"}</h1>
          {closed ? (
            <p className="alert info">
              Sign-up is closed on this server. Ask its administrator for an account.
            </p>
          ) : (
            <form onSubmit={submit} noValidate={false}>
              {error ? (
                <p className="alert" role="alert">
                  {error}
                </p>
              ) : null}
              <div className="field">
                <label htmlFor="email">E-mail</label>
                <input
                  id="email"
                  type="email"
                  autoComplete="email"
                  required
                  autoFocus
                  value={email}
                  onChange={(e) => setEmail(e.target.value)}
                />
              </div>
              <div className="field">
                <label htmlFor="password">Password</label>
                <input
                  id="password"
                  type="password"
                  autoComplete={mode === "signin" ? "current-password" : "new-password"}
                  required
                  minLength={mode === "signup" ? 8 : undefined}
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  aria-describedby={mode === "signup" ? "password-hint" : undefined}
                />
                {mode === "signup" ? (
                  <p id="password-hint" className="hint" style={{ margin: "4px 0 0" }}>
                    At least 8 characters.
                  </p>
                ) : null}
              </div>
              <button type="submit" className="primary" style={{ width: "100%" }} disabled={busy}>
                {busy ? "One moment…" : mode === "signin" ? "Sign in" : "Create account"}
              </button>
            </form>
          )}
          {features?.googleSignIn ? (
            <>
              <p className="or-divider" aria-hidden="true">
                or
              </p>
              <button
                type="button"
                className="google"
                style={{ width: "100%" }}
                disabled={busy}
                onClick={google}
              >
                <GoogleMark />
                Continue with Google
              </button>
            </>
          ) : null}
        </div>
        <p style={{ textAlign: "center" }}>
          {mode === "signin" ? (
            open ? (
              <>
                New here? <Link href={withNext("/signup/")}>Create an account</Link>
              </>
            ) : null
          ) : (
            <>
              Have an account? <Link href={withNext("/signin/")}>Sign in</Link>
            </>
          )}
        </p>
      </div>
    </div>
  );
}

/** Google's "G", as its sign-in guidelines ask for next to the words. */
function GoogleMark() {
  return (
    <svg width="18" height="18" viewBox="0 0 48 48" aria-hidden="true" focusable="false">
      <path
        fill="#EA4335"
        d="M24 9.5c3.54 0 6.71 1.22 9.21 3.6l6.85-6.85C35.9 2.38 30.47 0 24 0 14.62 0 6.51 5.38 2.56 13.22l7.98 6.19C12.43 13.72 17.74 9.5 24 9.5z"
      />
      <path
        fill="#4285F4"
        d="M46.98 24.55c0-1.57-.15-3.09-.38-4.55H24v9.02h12.94c-.58 2.96-2.26 5.48-4.78 7.18l7.73 6c4.51-4.18 7.09-10.36 7.09-17.65z"
      />
      <path
        fill="#FBBC05"
        d="M10.53 28.59c-.48-1.45-.76-2.99-.76-4.59s.27-3.14.76-4.59l-7.98-6.19C.92 16.46 0 20.12 0 24c0 3.88.92 7.54 2.56 10.78l7.97-6.19z"
      />
      <path
        fill="#34A853"
        d="M24 48c6.48 0 11.93-2.13 15.89-5.81l-7.73-6c-2.15 1.45-4.92 2.3-8.16 2.3-6.26 0-11.57-4.22-13.47-9.91l-7.98 6.19C6.51 42.62 14.62 48 24 48z"
      />
    </svg>
  );
}
