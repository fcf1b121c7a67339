"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";
import type { ReactNode } from "react";
import type { LiveStatus } from "@/lib/backend";
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
        {children}
      </main>
    </>
  );
}
