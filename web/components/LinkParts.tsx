// Pieces of a public link's page that a file's link and a folder's share.

import type { Backend } from "@/lib/backend";
import { formatDate, timeUntil } from "@/lib/format";
import type { ClosedCode } from "@/lib/links";

/**
 * The link stopped working while the page was open (`note`: what the
 * page did last, such as the download that used it up).
 */
export type OnClosed = (code: ClosedCode, note?: string) => void;

/** What the page of a link of either kind is given, once the link is known. */
export interface LinkViewProps<Info> {
  backend: Backend;
  token: string;
  info: Info;
  onClosed: OnClosed;
}

/** When the link stops working, and how many downloads it has left. */
export function LinkFacts({ expiresAt, left }: { expiresAt: string | null; left: number | null }) {
  return (
    <p className="hint">
      {expiresAt ? (
        <span title={formatDate(expiresAt)}>Link expires {timeUntil(expiresAt)}</span>
      ) : (
        "Link does not expire"
      )}
      {left !== null ? ` · ${left} ${left === 1 ? "download" : "downloads"} left` : ""}
    </p>
  );
}

/** The link's password, with what was wrong with the last one tried. */
export function PasswordField({
  noun,
  value,
  onChange,
  error,
}: {
  noun: "file" | "folder";
  value: string;
  onChange: (value: string) => void;
  error: string | null;
}) {
  return (
    <div className="field">
      <label htmlFor="link-password">This {noun} is protected by a password</label>
      <input
        id="link-password"
        type="password"
        autoComplete="off"
        required
        autoFocus
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "link-password-error" : undefined}
      />
      {error ? (
        <p id="link-password-error" className="alert" role="alert" style={{ margin: "6px 0 0" }}>
          {error}
        </p>
      ) : null}
    </div>
  );
}
