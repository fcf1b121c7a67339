"use client";

import { Suspense, lazy, useCallback, useEffect, useState, type FormEvent } from "react";
import {
  ApiError,
  describeError,
  loadBackend,
  type Backend,
  type PublicFileLink,
  type PublicLink,
} from "@/lib/backend";
import { previewKind } from "@/lib/files";
import { describeType, formatBytes } from "@/lib/format";
import { linkProblem, type ClosedCode } from "@/lib/links";
import { FileIcon } from "./FileIcon";
import { LinkFacts, PasswordField, type LinkViewProps, type OnClosed } from "./LinkParts";
import { Preview } from "./Preview";

// Its own chunk: a file's link, the most common, loads none of it.
const FolderLinkView = lazy(() =>
  import("./FolderLinkView").then((m) => ({ default: m.FolderLinkView })),
);

/** The token from /s/<token> (with or without a trailing slash). */
export function tokenFromPath(pathname: string): string | null {
  const m = /^\/s\/([^/?#]+)\/?$/.exec(pathname);
  return m ? decodeURIComponent(m[1]!) : null;
}

const CLOSED: Record<ClosedCode, { title: string; text: string }> = {
  link_not_available: {
    title: "This link is not available",
    text: "It may have been revoked by its owner, or the address is not quite right. Ask the person who sent it for a new link.",
  },
  link_expired: {
    title: "This link has expired",
    text: "Links can be set to stop working after a while. Ask the person who sent it for a new link.",
  },
  link_exhausted: {
    title: "This link has been used up",
    text: "It allowed a set number of downloads, and they have all been used. Ask the person who sent it for a new link.",
  },
};

type State =
  | { kind: "loading" }
  | { kind: "closed"; code: ClosedCode; note?: string }
  | { kind: "error"; text: string }
  | { kind: "ready"; backend: Backend; token: string; info: PublicLink };

interface RecipientViewProps {
  /** For tests; the page reads it from the address. */
  token?: string | null;
  load?: () => Promise<Backend>;
}

/** A public link's page: a file to download, or a folder to look through. */
export function RecipientView({ token: given, load = loadBackend }: RecipientViewProps) {
  const [state, setState] = useState<State>({ kind: "loading" });
  const onClosed: OnClosed = useCallback(
    (code, note) => setState({ kind: "closed", code, note }),
    [],
  );

  useEffect(() => {
    const token = given !== undefined ? given : tokenFromPath(window.location.pathname);
    let live = true;
    (async () => {
      try {
        if (!token) throw new ApiError(404, "link_not_available", "no token in the address");
        const backend = await load();
        const info = await backend.linkInfo(token);
        if (!live) return;
        setState({ kind: "ready", backend, token, info });
        document.title = `${info.name} · livedrop`;
      } catch (e) {
        if (!live) return;
        const problem = linkProblem(e);
        if (problem.kind === "closed") setState({ kind: "closed", code: problem.code });
        else if (e instanceof ApiError && e.status === 404)
          setState({ kind: "closed", code: "link_not_available" });
        else setState({ kind: "error", text: describeError(e) });
      }
    })();
    return () => {
      live = false;
    };
  }, [given, load]);

  if (state.kind === "loading") return <Opening />;
  if (state.kind === "closed") {
    const c = CLOSED[state.code];
    return (
      <div className="card recipient" role="alert" data-testid="link-closed">
        <h1>{c.title}</h1>
        {state.note ? <p className="alert ok">{state.note}</p> : null}
        <p className="muted">{c.text}</p>
      </div>
    );
  }
  if (state.kind === "error") {
    return (
      <div className="card recipient" role="alert">
        <h1>Something went wrong</h1>
        <p>{state.text}</p>
        <button type="button" onClick={() => window.location.reload()}>
          Try again
        </button>
      </div>
    );
  }

  const { backend, token, info } = state;
  return info.kind === "folder" ? (
    <Suspense fallback={<Opening />}>
      <FolderLinkView backend={backend} token={token} info={info} onClosed={onClosed} />
    </Suspense>
  ) : (
    <FileLinkView backend={backend} token={token} info={info} onClosed={onClosed} />
  );
}

function Opening() {
  return (
    <div className="card recipient" aria-busy="true">
      <p className="muted">Opening the link…</p>
    </div>
  );
}

/** A file's link: its name, size and type, Download, and Preview where it is safe. */
function FileLinkView({ backend, token, info, onClosed }: LinkViewProps<PublicFileLink>) {
  const [password, setPassword] = useState("");
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [previewUrl, setPreviewUrl] = useState<string | null>(null);
  const [left, setLeft] = useState(info.downloads_left);

  const kind = previewKind(info.content_type);
  // A preview uses a download: never let it take the last one.
  const canPreview = kind !== null && !previewUrl && (left === null || left > 1);

  const fetchUrl = async (inline: boolean): Promise<string | null> => {
    setBusy(true);
    setError(null);
    setPasswordError(null);
    try {
      const { url } = await backend.linkDownload(token, {
        ...(info.password_required ? { password } : {}),
        ...(inline ? { inline: true } : {}),
      });
      if (left !== null) setLeft(Math.max(0, left - 1));
      return url;
    } catch (e) {
      const problem = linkProblem(e);
      if (problem.kind === "password") setPasswordError(problem.text);
      else if (problem.kind === "closed") onClosed(problem.code);
      else setError(problem.text);
      return null;
    } finally {
      setBusy(false);
    }
  };

  const download = async (e: FormEvent) => {
    e.preventDefault();
    const url = await fetchUrl(false);
    if (url) {
      window.location.assign(url);
      setNotice("Your download has started.");
    }
  };

  const preview = async () => {
    const url = await fetchUrl(true);
    if (url) setPreviewUrl(url);
  };

  return (
    <div className="card recipient">
      <FileIcon name={info.name} />
      <h1 data-testid="link-name">{info.name}</h1>
      <p className="muted" style={{ marginTop: 0 }}>
        {formatBytes(info.size)} · {describeType(info.content_type)}
      </p>
      <LinkFacts expiresAt={info.expires_at} left={left} />

      {previewUrl ? (
        <Preview
          contentType={info.content_type}
          name={info.name}
          size={info.size}
          url={previewUrl}
          readText={backend.readText.bind(backend)}
          readBlob={backend.readBlob.bind(backend)}
        />
      ) : null}

      <form onSubmit={download}>
        {info.password_required ? (
          <PasswordField
            noun="file"
            value={password}
            onChange={setPassword}
            error={passwordError}
          />
        ) : null}
        {error ? (
          <p className="alert" role="alert">
            {error}
          </p>
        ) : null}
        <div className="row" style={{ justifyContent: "center" }}>
          <button type="submit" className="primary" disabled={busy || left === 0}>
            Download
          </button>
          {canPreview ? (
            <button
              type="button"
              onClick={preview}
              disabled={busy || left === 0 || (info.password_required && !password)}
            >
              Preview
            </button>
          ) : null}
        </div>
        {canPreview && left !== null ? (
          <p className="hint" style={{ textAlign: "center" }}>
            A preview counts as one of the downloads left.
          </p>
        ) : null}
      </form>
      <div aria-live="polite">
        {notice ? (
          <p className="alert ok" style={{ marginTop: 14 }}>
            {notice}
            {left === 0 ? " That was the last download this link allows." : ""}
          </p>
        ) : null}
      </div>
      <p className="footer-note">Shared with livedrop</p>
    </div>
  );
}
