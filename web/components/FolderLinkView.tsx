"use client";

import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import {
  ApiError,
  describeError,
  type LinkAccess,
  type LinkArchiveRequest,
  type LinkFile,
  type LinkListing,
  type PublicFolderLink,
} from "@/lib/backend";
import { previewKind } from "@/lib/files";
import { formatBytes, formatDate, timeAgo } from "@/lib/format";
import { folderFromHash, folderHash, linkProblem } from "@/lib/links";
import { Breadcrumbs } from "./Breadcrumbs";
import { FileIcon } from "./FileIcon";
import { FolderIcon } from "./FolderIcon";
import { LinkFacts, PasswordField, type LinkViewProps } from "./LinkParts";
import { Preview } from "./Preview";

/**
 * A folder's public link: the password first where it has one (kept in
 * this page's memory only, and sent with every call), then the folder a
 * level at a time (where in it is the address's hash: `#folder=ID`), each
 * file with Download and, where it is safe to show, Preview, and the folder
 * being looked at as one ZIP. Every download counts against the link's
 * limit, previews and ZIPs too; looking through the folder does not.
 */
export function FolderLinkView({
  backend,
  token,
  info,
  onClosed,
}: LinkViewProps<PublicFolderLink>) {
  const [password, setPassword] = useState("");
  const [needsPassword, setNeedsPassword] = useState(info.password_required);
  /** What every call carries: null until a password has been given (where one is needed). */
  const [access, setAccess] = useState<LinkAccess | null>(info.password_required ? null : {});
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [place, setPlace] = useState<string | null>(() => folderFromHash(window.location.hash));
  const [listing, setListing] = useState<LinkListing | null>(null);
  /** What the last listing that came back (or failed) was asked with. */
  const [settled, setSettled] = useState<{ access: LinkAccess; place: string | null } | null>(null);
  const loading = access !== null && (settled?.access !== access || settled.place !== place);
  /** `away`: the folder asked for is not (or no longer) in the linked one. */
  const [error, setError] = useState<{ text: string; away: boolean } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [preview, setPreview] = useState<{ file: LinkFile; url: string } | null>(null);
  const [left, setLeft] = useState(info.downloads_left);
  // Downloads may be counted after this render (a ZIP's first page): the count is kept here.
  const leftRef = useRef(info.downloads_left);
  const heading = useRef<HTMLHeadingElement>(null);
  const shown = useRef<string | null>(null);

  /** The password was missing or wrong: the page asks for it (again). */
  const askPassword = useCallback((text: string) => {
    setNeedsPassword(true);
    setAccess(null);
    setListing(null);
    setPasswordError(text);
  }, []);

  // Back, forward, a folder's link or a breadcrumb: the hash names the place.
  useEffect(() => {
    const onHash = () => setPlace(folderFromHash(window.location.hash));
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    if (!access) return;
    let live = true;
    backend.linkList(token, { ...access, ...(place ? { folder_id: place } : {}) }).then(
      (got) => {
        if (!live) return;
        setSettled({ access, place });
        setListing(got);
        setError(null);
        setPreview(null);
        document.title = `${got.folder.name} · livedrop`;
      },
      (e: unknown) => {
        if (!live) return;
        setSettled({ access, place });
        const problem = linkProblem(e);
        if (problem.kind === "closed") {
          onClosed(problem.code);
        } else if (problem.kind === "password") {
          askPassword(problem.text);
        } else if (e instanceof ApiError && e.code === "not_found") {
          setError({
            text: "This folder is not in the shared folder: it may have been moved or deleted.",
            away: true,
          });
        } else {
          setError({ text: problem.text, away: false });
        }
      },
    );
    return () => {
      live = false;
    };
  }, [backend, token, access, place, onClosed, askPassword]);

  // Moving to another folder: focus goes to its name, as after loading a page.
  useEffect(() => {
    const id = listing?.folder.id ?? null;
    if (id === null) return;
    if (shown.current !== null && shown.current !== id) heading.current?.focus();
    shown.current = id;
  }, [listing]);

  /** One download counted (`note`: what the page tells of it): the page closes after the last. */
  const counted = (note: string | null) => {
    if (leftRef.current !== null) {
      leftRef.current = Math.max(0, leftRef.current - 1);
      setLeft(leftRef.current);
      if (leftRef.current === 0) {
        const last = "That was the last download this link allows.";
        onClosed("link_exhausted", note ? `${note} ${last}` : last);
        return;
      }
    }
    if (note) setNotice(note);
  };

  /** Something a download through the link was refused for. */
  const refused = (e: unknown, file?: LinkFile) => {
    const problem = linkProblem(e, {
      not_found: file
        ? `“${file.name}” is no longer in this folder.`
        : "This folder is no longer shared through this link.",
    });
    if (problem.kind === "closed") onClosed(problem.code);
    else if (problem.kind === "password") askPassword(problem.text);
    else setError({ text: problem.text, away: false });
  };

  const fileUrl = async (file: LinkFile, inline: boolean): Promise<string | null> => {
    setBusy(file.id);
    setError(null);
    setNotice(null);
    try {
      const { url } = await backend.linkDownload(token, {
        ...access,
        file_id: file.id,
        ...(inline ? { inline: true } : {}),
      });
      return url;
    } catch (e) {
      refused(e, file);
      return null;
    } finally {
      setBusy(null);
    }
  };

  const download = async (file: LinkFile) => {
    const url = await fileUrl(file, false);
    if (!url) return;
    window.location.assign(url);
    counted(`Your download of “${file.name}” has started.`);
  };

  const showPreview = async (file: LinkFile) => {
    const url = await fileUrl(file, true);
    if (!url) return;
    setPreview({ file, url });
    counted(null);
  };

  const downloadAll = async (at: LinkListing) => {
    setError(null);
    setNotice(null);
    const name = at.folder.name;
    // The first page (the password, no ticket) is the download counted.
    const request = async (body: LinkArchiveRequest) => {
      try {
        const page = await backend.linkArchivePage(token, body);
        if (!body.ticket) {
          counted(
            `Your ZIP of “${name}” has started: its progress is at the bottom of the page. Keep this page open until it says Done.`,
          );
        }
        return page;
      } catch (e) {
        if (!body.ticket) refused(e);
        throw e;
      }
    };
    try {
      const [{ startArchiveDownload }, { linkArchive }] = await Promise.all([
        import("./ZipButton"),
        import("@/lib/zip-download"),
      ]);
      const top = at.path.length === 0;
      startArchiveDownload(
        `link:${token}:${at.folder.id}`,
        linkArchive(
          request,
          { id: top ? null : at.folder.id, name, updated_at: at.folder.updated_at },
          access?.password,
        ),
      );
    } catch (e) {
      setError({ text: describeError(e), away: false });
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setPasswordError(null);
    setError(null);
    setAccess({ password });
  };

  // A preview uses a download: never let it take the last one.
  const canPreview = (file: LinkFile) =>
    previewKind(file.content_type) !== null && (left === null || left > 1);

  if (!listing) {
    return (
      <div className="card recipient" aria-busy={loading || undefined}>
        <FolderIcon />
        <h1 data-testid="link-name">{info.name}</h1>
        <p className="muted" style={{ marginTop: 0 }}>
          A folder
        </p>
        <LinkFacts expiresAt={info.expires_at} left={left} />
        {needsPassword ? (
          <form onSubmit={submit}>
            <PasswordField
              noun="folder"
              value={password}
              onChange={setPassword}
              error={passwordError}
            />
            {error ? (
              <p className="alert" role="alert">
                {error.text}
              </p>
            ) : null}
            <div className="row" style={{ justifyContent: "center" }}>
              <button type="submit" className="primary" disabled={loading}>
                {loading ? "Opening…" : "Open"}
              </button>
            </div>
          </form>
        ) : error ? (
          <p className="alert" role="alert">
            {error.text}
          </p>
        ) : (
          <p className="muted">Opening the folder…</p>
        )}
        <p className="footer-note">Shared with livedrop</p>
      </div>
    );
  }

  const { folder, path, folders, files } = listing;
  const empty = folders.length === 0 && files.length === 0;
  return (
    <div className="card recipient folder-link" aria-busy={loading || undefined}>
      {path.length > 0 ? (
        <Breadcrumbs
          plain
          top={path[0]!.name}
          path={path.slice(1)}
          folder={folder}
          href={folderHash}
        />
      ) : null}
      <div className="folder-link-head">
        <FolderIcon />
        <h1 data-testid="link-name" ref={heading} tabIndex={-1}>
          {folder.name}
        </h1>
      </div>
      <LinkFacts expiresAt={info.expires_at} left={left} />
      {left !== null ? (
        <p className="hint" style={{ marginTop: 0 }}>
          Each file downloaded or previewed counts as one of the downloads left, and so does a
          folder as ZIP.
        </p>
      ) : null}

      <div className="row">
        <button
          type="button"
          className="primary"
          onClick={() => void downloadAll(listing)}
          disabled={empty || left === 0 || error?.away}
        >
          Download all as ZIP
        </button>
        {loading ? (
          <span className="muted" role="status">
            Loading…
          </span>
        ) : null}
      </div>

      {error ? (
        <div className="alert" role="alert" style={{ marginTop: 14 }}>
          {error.text}
          {error.away ? (
            <>
              {" "}
              <a href={folderHash(null)}>Back to the shared folder</a>
            </>
          ) : null}
        </div>
      ) : null}
      <div aria-live="polite">
        {notice ? (
          <p className="alert ok" style={{ marginTop: 14 }}>
            {notice}
          </p>
        ) : null}
      </div>

      {error?.away ? null : empty ? (
        <p className="muted">This folder is empty.</p>
      ) : (
        <ul className="link-entries" aria-label={`In ${folder.name}`}>
          {folders.map((f) => (
            <li key={f.id}>
              <div className="link-entry">
                <FolderIcon />
                <div className="link-entry-name">
                  <a href={folderHash(f.id)}>{f.name}</a>
                  <span className="hint">
                    Folder · <When iso={f.updated_at} />
                  </span>
                </div>
              </div>
            </li>
          ))}
          {files.map((file) => (
            <li key={file.id}>
              <div className="link-entry">
                <FileIcon name={file.name} />
                <div className="link-entry-name">
                  <span className="name">{file.name}</span>
                  <span className="hint">
                    {formatBytes(file.size)} · <When iso={file.updated_at} />
                  </span>
                </div>
                <div className="link-entry-actions">
                  {canPreview(file) && preview?.file.id !== file.id ? (
                    <button
                      type="button"
                      className="small"
                      onClick={() => void showPreview(file)}
                      disabled={busy !== null || left === 0}
                      aria-label={`Preview ${file.name}`}
                    >
                      Preview
                    </button>
                  ) : null}
                  <button
                    type="button"
                    className="small"
                    onClick={() => void download(file)}
                    disabled={busy !== null || left === 0}
                    aria-label={`Download ${file.name}`}
                  >
                    Download
                  </button>
                </div>
              </div>
              {preview?.file.id === file.id ? (
                <div className="link-entry-preview">
                  <Preview
                    contentType={file.content_type}
                    name={file.name}
                    size={file.size}
                    url={preview.url}
                    readText={backend.readText.bind(backend)}
                    readBlob={backend.readBlob.bind(backend)}
                  />
                  <button type="button" className="small" onClick={() => setPreview(null)}>
                    Close the preview
                  </button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <p className="footer-note">Shared with livedrop</p>
    </div>
  );
}

function When({ iso }: { iso: string }) {
  return (
    <time dateTime={iso} title={formatDate(iso)}>
      {timeAgo(iso)}
    </time>
  );
}
