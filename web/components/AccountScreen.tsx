"use client";

import { useEffect, useState, type FormEvent } from "react";
import { describeError, type ApiToken, type CreatedToken } from "@/lib/backend";
import { formatBytes, formatDate, timeAgo, timeUntil } from "@/lib/format";
import { CopyField } from "./CopyButton";
import { ConfirmDialog } from "./Dialog";
import { MailCard } from "./MailCard";
import { SessionsCard } from "./SessionsCard";
import { useNow, useSession } from "./session";

export function AccountScreen() {
  const { backend, me, refresh } = useSession();
  const now = useNow(10_000);
  const [tokens, setTokens] = useState<ApiToken[] | null>(null);
  const [name, setName] = useState("");
  const [lifetime, setLifetime] = useState("90");
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const origin = typeof window === "undefined" ? "" : window.location.origin;
  const loginCommand = `livedrop login --server ${origin} --email ${me.user.email}`;

  useEffect(() => {
    void refresh();
    if (backend.features.apiTokens) {
      backend.listTokens().then(setTokens, (e) => setError(describeError(e)));
    }
    // Once on arrival.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [backend]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const t = await backend.createToken(
        name.trim(),
        lifetime === "never" ? null : Number(lifetime),
      );
      setCreated(t);
      setTokens((list) => [t.token, ...(list ?? [])]);
      setName("");
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async () => {
    if (!revoking) return;
    setBusy(true);
    try {
      await backend.revokeToken(revoking.id);
      setTokens((list) => (list ?? []).filter((t) => t.id !== revoking.id));
      if (created?.token.id === revoking.id) setCreated(null);
      setRevoking(null);
    } catch (err) {
      setError(describeError(err));
      setRevoking(null);
    } finally {
      setBusy(false);
    }
  };

  const { used, quota } = me.usage;
  const pct = quota ? Math.min(100, (used / quota) * 100) : 0;

  return (
    <div className="stack" style={{ maxWidth: 720 }}>
      <h1>Account</h1>
      <section className="card" aria-labelledby="storage-title">
        <h2 id="storage-title">Storage</h2>
        <div
          className="meter"
          role="meter"
          aria-label="Storage used"
          aria-valuemin={0}
          aria-valuemax={quota}
          aria-valuenow={used}
        >
          <div style={{ width: `${pct}%` }} />
        </div>
        <p style={{ margin: 0 }}>
          <strong>{formatBytes(used)}</strong> of {formatBytes(quota)} used ·{" "}
          <span className="muted">largest file {formatBytes(me.max_file_size)}</span>
        </p>
        <p className="hint" style={{ marginBottom: 0 }}>
          Signed in as {me.user.email}
        </p>
      </section>

      <MailCard />
      <SessionsCard backend={backend} email={me.user.email} />

      {backend.features.apiTokens ? (
        <section className="card" aria-labelledby="tokens-title">
          <h2 id="tokens-title">API tokens</h2>
          <p className="muted" style={{ marginTop: 0 }}>
            For the <span className="mono">livedrop</span> command-line client and scripts. A token
            acts as you: keep it secret.
          </p>
          {created ? (
            <div className="alert ok" role="status" data-testid="new-token">
              <p style={{ margin: "0 0 6px" }}>
                Token “{created.token.name}” created. Copy it now: it is shown only once.
              </p>
              <CopyField value={created.secret} label="New token" />
              <p className="hint" style={{ margin: "6px 0 0" }}>
                For the command-line client:{" "}
                <span className="mono">livedrop login --server {origin} --with-token</span>, then
                paste it.
              </p>
            </div>
          ) : null}
          {error ? (
            <p className="alert" role="alert">
              {error}
            </p>
          ) : null}
          <form onSubmit={create} className="row" style={{ marginBottom: 10 }}>
            <label htmlFor="token-name" className="visually-hidden">
              Token name
            </label>
            <input
              id="token-name"
              className="grow"
              style={{ width: "auto" }}
              placeholder="Name, e.g. laptop CLI"
              required
              maxLength={100}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
            <label htmlFor="token-lifetime" className="visually-hidden">
              Expires after
            </label>
            <select
              id="token-lifetime"
              style={{ width: "auto" }}
              value={lifetime}
              onChange={(e) => setLifetime(e.target.value)}
            >
              <option value="7">7 days</option>
              <option value="30">30 days</option>
              <option value="90">90 days</option>
              <option value="365">1 year</option>
              <option value="never">Never expires</option>
            </select>
            <button type="submit" className="primary" disabled={busy || !name.trim()}>
              Create token
            </button>
          </form>
          {tokens === null ? (
            <p className="muted">Loading…</p>
          ) : tokens.length === 0 ? (
            <p className="muted">No tokens.</p>
          ) : (
            <ul className="list" aria-label="Tokens">
              {tokens.map((t) => (
                <li key={t.id}>
                  <span className="grow">
                    <strong>{t.name}</strong>
                    <br />
                    <span className="hint">
                      created {formatDate(t.created_at)} ·{" "}
                      {t.last_used_at ? `last used ${timeAgo(t.last_used_at, now)}` : "never used"}{" "}
                      ·{" "}
                      {t.expires_at
                        ? Date.parse(t.expires_at) <= now
                          ? "expired"
                          : `expires ${timeUntil(t.expires_at, now)}`
                        : "never expires"}
                    </span>
                  </span>
                  <button
                    type="button"
                    className="small danger"
                    onClick={() => setRevoking(t)}
                    aria-label={`Revoke token ${t.name}`}
                  >
                    Revoke
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      ) : (
        <section className="card" aria-labelledby="cli-title">
          <h2 id="cli-title">Command-line client</h2>
          <p className="muted" style={{ margin: "0 0 6px" }}>
            The <span className="mono">livedrop</span> command-line client signs in here with your
            e-mail and password (not with Google sign-in):
          </p>
          <CopyField value={loginCommand} label="Sign-in command" />
        </section>
      )}
      {revoking ? (
        <ConfirmDialog
          title="Revoke this token?"
          message={<p>Anything using “{revoking.name}” stops working at once.</p>}
          confirmLabel="Revoke"
          danger
          busy={busy}
          onConfirm={revoke}
          onCancel={() => setRevoking(null)}
        />
      ) : null}
    </div>
  );
}
