"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import { useState, type ReactNode } from "react";
import { describeError, type LiveStatus } from "@/lib/backend";
import { useLiveStatus, useSession } from "./session";

const STATUS_TEXT: Record<LiveStatus, string> = {
  connecting: "Connecting",
  live: "Live",
  reconnecting: "Reconnecting",
  offline: "Offline",
};

const NAV: { href: string; label: string; short?: string }[] = [
  { href: "/files/", label: "My files" },
  { href: "/shared/", label: "Shared with me", short: "Shared" },
  { href: "/activity/", label: "Activity" },
  { href: "/account/", label: "Account" },
];

export function AppShell({ children }: { children: ReactNode }) {
  const { me, signOut } = useSession();
  const status = useLiveStatus();
  const pathname = usePathname();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link className="brand" href="/files/">
            live<span>drop</span>
          </Link>
          <nav className="nav" aria-label="Main">
            {NAV.map((n) => (
              <Link
                key={n.href}
                href={n.href}
                aria-current={pathname === n.href || pathname + "/" === n.href ? "page" : undefined}
              >
                {n.short ? (
                  <>
                    <span className="long-label">{n.label}</span>
                    <span className="short-label" aria-hidden="true">
                      {n.short}
                    </span>
                  </>
                ) : (
                  n.label
                )}
              </Link>
            ))}
          </nav>
          <div className="topbar-end">
            <span
              className="live"
              data-status={status}
              role="status"
              title="Changes appear here as they happen"
            >
              {STATUS_TEXT[status]}
            </span>
            <span className="user-email ellipsis" title={me.user.email}>
              {me.user.email}
            </span>
            <button type="button" className="small" onClick={signOut}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {pathname.startsWith("/verify") ? null : <ConfirmAddressNotice />}
        {children}
      </main>
    </>
  );
}

/**
 * Until a person has proved their address, nothing shared with it reaches
 * them: say so, and how to prove it.
 */
function ConfirmAddressNotice() {
  const { backend, me } = useSession();
  const [said, setSaid] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  if (!backend.features.addressVerification || me.email_verified) return null;
  const resend = async () => {
    setBusy(true);
    try {
      const sent = await backend.resendVerification();
      setSaid({
        ok: true,
        text: sent ? `Sent. Look for it at ${me.user.email}.` : "Confirmed already.",
      });
    } catch (e) {
      setSaid({ ok: false, text: describeError(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="alert warn" role="status" data-testid="confirm-address">
      {backend.config.mail ? (
        <>
          <p>
            Confirm your address: open the link we sent to {me.user.email}. Until then, files shared
            with this address do not reach you.
          </p>
          <button type="button" className="small" onClick={resend} disabled={busy}>
            Send the link again
          </button>
          {said ? <p className={said.ok ? "hint" : "alert"}>{said.text}</p> : null}
        </>
      ) : (
        <p>
          Your address is not confirmed yet. Files shared with {me.user.email} reach you when you
          open the invitation link the person sharing them gives you.
        </p>
      )}
    </div>
  );
}
