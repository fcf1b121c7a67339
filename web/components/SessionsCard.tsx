"use client";

import { useState, type FormEvent } from "react";
import { describeError, type Backend } from "@/lib/backend";
import { ConfirmDialog } from "./Dialog";

type SessionsBackend = Pick<Backend, "features" | "signOutOthers" | "changePassword">;

/** "Signed out 2 other sessions", or that there were none. */
export function endedSentence(n: number): string {
  if (n === 0) return "No other sessions were signed in";
  return `Signed out ${n} other session${n === 1 ? "" : "s"}`;
}

/** What the password form says on a code, over the general words. */
const passwordWords: Record<string, string> = {
  wrong_password: "The current password is wrong.",
  invalid_password: "The new password needs at least 8 characters.",
};

export const MISMATCH = "The new passwords don’t match. Type the same one twice.";

/** Why a new password would be refused, before asking the server; null if fine. */
export function newPasswordProblem(next: string, repeat: string): string | null {
  // As the server counts: characters, then bytes.
  if (Array.from(next).length < 8) return passwordWords.invalid_password!;
  if (new TextEncoder().encode(next).length > 1024) {
    return "The new password is too long (at most 1024 bytes).";
  }
  if (next !== repeat) return MISMATCH;
  return null;
}

/**
 * Sessions and password (self-hosted): sign every other browser out, and
 * change the password, which does the same. In the cloud the sign-in
 * provider owns both, and this says so.
 */
export function SessionsCard({ backend, email }: { backend: SessionsBackend; email: string }) {
  if (!backend.features.sessions) {
    return (
      <section className="card" aria-labelledby="sessions-title">
        <h2 id="sessions-title">Sessions and password</h2>
        <p className="muted" style={{ margin: 0 }}>
          Your sessions and password are managed by the sign-in provider.
        </p>
      </section>
    );
  }
  return (
    <section className="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Sessions and password</h2>
      <SignOutOthers backend={backend} />
      <h3 id="password-title" style={{ margin: "18px 0 8px" }}>
        Change password
      </h3>
      <PasswordForm backend={backend} email={email} />
    </section>
  );
}

function SignOutOthers({ backend }: { backend: SessionsBackend }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      const ended = await backend.signOutOthers();
      setDone(endedSentence(ended) + ".");
      setConfirming(false);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <p className="muted" style={{ marginTop: 0 }}>
        Signed in on a computer you no longer use, or lost a phone? Sign out every other browser.
        This one stays signed in, and API tokens keep working.
      </p>
      <div role="status" data-testid="signout-others-status">
        {done ? <p className="alert ok">{done}</p> : null}
      </div>
      <button
        type="button"
        onClick={() => {
          setDone(null);
          setError(null);
          setConfirming(true);
        }}
      >
        Sign out everywhere else
      </button>
      {confirming ? (
        <ConfirmDialog
          title="Sign out everywhere else?"
          message={
            <p style={{ margin: 0 }}>
              Every other browser signed in as you is signed out at once. This browser stays signed
              in.
            </p>
          }
          confirmLabel="Sign them out"
          danger
          busy={busy}
          error={error}
          onConfirm={confirm}
          onCancel={() => setConfirming(false)}
        />
      ) : null}
    </>
  );
}

function PasswordForm({ backend, email }: { backend: SessionsBackend; email: string }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [mismatch, setMismatch] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    const problem = newPasswordProblem(next, repeat);
    setMismatch(problem === MISMATCH);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const ended = await backend.changePassword(current, next);
      setDone(
        ended === 0
          ? "Password changed. No other sessions were signed in."
          : `Password changed. ${endedSentence(ended)}.`,
      );
      setCurrent("");
      setNext("");
      setRepeat("");
    } catch (err) {
      setError(describeError(err, passwordWords));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} aria-labelledby="password-title" data-testid="password-form">
      <div role="alert" data-testid="password-error">
        {error ? <p className="alert">{error}</p> : null}
      </div>
      <div role="status" data-testid="password-status">
        {done ? <p className="alert ok">{done}</p> : null}
      </div>
      {/* For password managers: whose password this is. */}
      <input type="email" name="username" autoComplete="username" value={email} readOnly hidden />
      <div className="field">
        <label htmlFor="current-password">Current password</label>
        <input
          id="current-password"
          name="current-password"
          type="password"
          autoComplete="current-password"
          required
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="new-password">New password</label>
        <input
          id="new-password"
          name="new-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          aria-describedby="new-password-hint"
          value={next}
          onChange={(e) => setNext(e.target.value)}
        />
        <p id="new-password-hint" className="hint" style={{ margin: "4px 0 0" }}>
          At least 8 characters. Every other session is signed out.
        </p>
      </div>
      <div className="field">
        <label htmlFor="repeat-password">Repeat new password</label>
        <input
          id="repeat-password"
          name="repeat-password"
          type="password"
          autoComplete="new-password"
          required
          aria-invalid={mismatch || undefined}
          value={repeat}
          onChange={(e) => {
            setRepeat(e.target.value);
            setMismatch(false);
          }}
        />
      </div>
      <button type="submit" className="primary" disabled={busy}>
        {busy ? "One moment…" : "Change password"}
      </button>
    </form>
  );
}
