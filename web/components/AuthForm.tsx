"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";
import { describeError, loadBackend, type Config } from "@/lib/backend";

/** Only same-site paths: never bounce a person to another site after sign-in. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) {
    return "/files/";
  }
  return next;
}

export function AuthForm({ mode }: { mode: "signin" | "signup" }) {
  const router = useRouter();
  const [config, setConfig] = useState<Config | null>(null);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    loadBackend().then(
      async (b) => {
        setConfig(b.config);
        // Already signed in: straight on.
        const me = await b.me().catch(() => null);
        if (me) router.replace(safeNext(new URLSearchParams(window.location.search).get("next")));
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
      router.replace(safeNext(new URLSearchParams(window.location.search).get("next")));
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  const closed = mode === "signup" && config !== null && !config.signup_open;

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
        </div>
        <p style={{ textAlign: "center" }}>
          {mode === "signin" ? (
            config === null || config.signup_open ? (
              <>
                New here? <Link href="/signup/">Create an account</Link>
              </>
            ) : null
          ) : (
            <>
              Have an account? <Link href="/signin/">Sign in</Link>
            </>
          )}
        </p>
      </div>
    </div>
  );
}
