"use client";

import { useEffect, useState, type FormEvent } from "react";
import {
  describeError,
  type Backend,
  type CreatedLink,
  type FileRecord,
  type Folder,
  type Link,
  type NewLink,
  type Share,
} from "@/lib/backend";
import { formatBytes, timeAgo, timeUntil } from "@/lib/format";
import { CopyField } from "./CopyButton";
import { Dialog } from "./Dialog";
import { QrCode } from "./QrCode";

const EXPIRY: { label: string; seconds: number | null }[] = [
  { label: "1 hour", seconds: 3600 },
  { label: "1 day", seconds: 86400 },
  { label: "7 days", seconds: 7 * 86400 },
  { label: "30 days", seconds: 30 * 86400 },
  { label: "Never", seconds: null },
];

/** What sharing a file asks of the backend. */
export type FileShareBackend = Pick<
  Backend,
  "getFile" | "share" | "unshare" | "createLink" | "revokeLink"
>;

/** What sharing a folder asks of the backend. */
export type FolderShareBackend = Pick<
  Backend,
  | "folderShares"
  | "shareFolder"
  | "unshareFolder"
  | "folderLinks"
  | "createFolderLink"
  | "revokeLink"
>;

type ShareDialogProps = {
  onClose: () => void;
  /** The page origin the links are made absolute with. */
  origin?: string;
} & (
  | {
      /** A file: people, and public links. */
      file: FileRecord;
      folder?: undefined;
      backend: FileShareBackend;
    }
  | {
      /** A folder, with everything in it: people, and public links. */
      folder: Folder;
      file?: undefined;
      backend: FolderShareBackend;
    }
);

/** What the dialog does with people and links, for a file or a folder. */
interface ShareOps {
  id: string;
  name: string;
  noun: "file" | "folder";
  load(): Promise<{ shares: Share[]; links: Link[] }>;
  share(email: string): Promise<Share>;
  unshare(email: string): Promise<void>;
  createLink(options: NewLink): Promise<CreatedLink>;
  revokeLink(linkId: string): Promise<void>;
}

function shareOps(props: ShareDialogProps): ShareOps {
  if (props.folder) {
    const { backend, folder } = props;
    return {
      id: folder.id,
      name: folder.name,
      noun: "folder",
      load: async () => {
        const [shares, links] = await Promise.all([
          backend.folderShares(folder.id),
          backend.folderLinks(folder.id),
        ]);
        return { shares, links };
      },
      share: (email) => backend.shareFolder(folder.id, email),
      unshare: (email) => backend.unshareFolder(folder.id, email),
      createLink: (options) => backend.createFolderLink(folder.id, options),
      revokeLink: (linkId) => backend.revokeLink(linkId),
    };
  }
  const { backend, file } = props;
  return {
    id: file.id,
    name: file.name,
    noun: "file",
    load: async () => {
      const d = await backend.getFile(file.id);
      return { shares: d.shares ?? [], links: d.links ?? [] };
    },
    share: (email) => backend.share(file.id, email),
    unshare: (email) => backend.unshare(file.id, email),
    createLink: (options) => backend.createLink(file.id, options),
    revokeLink: (linkId) => backend.revokeLink(linkId),
  };
}

export function linkSummary(link: Link, now: number): string {
  const parts = [`Created ${timeAgo(link.created_at, now)}`];
  parts.push(link.expires_at ? `expires ${timeUntil(link.expires_at, now)}` : "never expires");
  if (link.has_password) parts.push("password");
  parts.push(
    link.max_downloads !== null
      ? `${link.downloads} of ${link.max_downloads} downloads`
      : `${link.downloads} ${link.downloads === 1 ? "download" : "downloads"}`,
  );
  return parts.join(" · ");
}

/** Sharing a file or a folder: with people, and by public links. */
export function ShareDialog(props: ShareDialogProps) {
  const { onClose, origin } = props;
  const ops = shareOps(props);
  const file = props.file;
  const [shares, setShares] = useState<Share[] | null>(null);
  const [links, setLinks] = useState<Link[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [email, setEmail] = useState("");
  const [peopleMsg, setPeopleMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [invite, setInvite] = useState<{ email: string; url: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [expiry, setExpiry] = useState("2");
  const [password, setPassword] = useState("");
  const [maxDownloads, setMaxDownloads] = useState("");
  const [created, setCreated] = useState<CreatedLink | null>(null);
  const [linkError, setLinkError] = useState<string | null>(null);
  const [now] = useState(() => Date.now());
  const base = origin ?? (typeof window !== "undefined" ? window.location.origin : "");

  useEffect(() => {
    let live = true;
    ops.load().then(
      (d) => {
        if (!live) return;
        setShares(d.shares);
        setLinks(d.links);
      },
      (e) => live && setLoadError(describeError(e)),
    );
    return () => {
      live = false;
    };
    // ops stands for the backend and the id.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.backend, ops.id]);

  const addPerson = async (e: FormEvent) => {
    e.preventDefault();
    const address = email.trim();
    if (!address) return;
    setBusy(true);
    setPeopleMsg(null);
    setInvite(null);
    try {
      const share = await ops.share(address);
      setShares((s) => [...(s ?? []).filter((x) => x.email !== share.email), share]);
      setEmail("");
      if (share.invite_url) setInvite({ email: share.email, url: base + share.invite_url });
      setPeopleMsg({
        ok: true,
        text: !share.pending
          ? `Shared with ${share.email}. It appears on their screen now.`
          : share.invite_url
            ? `${share.email} has no confirmed account yet, and this server sends no e-mail. Send them the invitation link below yourself.`
            : `${share.email} has no confirmed account yet. They will see the ${ops.noun} once they sign up with this address and confirm it.`,
      });
    } catch (err) {
      setPeopleMsg({ ok: false, text: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  const removePerson = async (share: Share) => {
    setPeopleMsg(null);
    try {
      await ops.unshare(share.email);
      setShares((s) => (s ?? []).filter((x) => x.email !== share.email));
      setPeopleMsg({ ok: true, text: `${share.email} no longer has access.` });
    } catch (err) {
      setPeopleMsg({ ok: false, text: describeError(err) });
    }
  };

  const createLink = async (e: FormEvent) => {
    e.preventDefault();
    setLinkError(null);
    const seconds = EXPIRY[Number(expiry)]?.seconds ?? null;
    const max = maxDownloads.trim() ? Number(maxDownloads) : null;
    if (max !== null && (!Number.isInteger(max) || max < 1)) {
      setLinkError("The download limit must be a whole number of at least 1.");
      return;
    }
    setBusy(true);
    try {
      const link = await ops.createLink({
        ...(seconds !== null ? { expires_in_seconds: seconds } : {}),
        ...(password ? { password } : {}),
        ...(max !== null ? { max_downloads: max } : {}),
      });
      setCreated(link);
      setLinks((l) => [link.link, ...(l ?? [])]);
      setPassword("");
      setMaxDownloads("");
    } catch (err) {
      setLinkError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (link: Link) => {
    setLinkError(null);
    try {
      await ops.revokeLink(link.id);
      setLinks((l) => (l ?? []).map((x) => (x.id === link.id ? { ...x, revoked: true } : x)));
      if (created?.link.id === link.id) setCreated(null);
    } catch (err) {
      setLinkError(describeError(err));
    }
  };

  const createdUrl = created ? base + created.url : "";
  const activeLinks = (links ?? []).filter((l) => !l.revoked);

  return (
    <Dialog title={`Share “${ops.name}”`} onClose={onClose}>
      <p className="muted" style={{ marginTop: 0 }}>
        {file
          ? formatBytes(file.size)
          : "A folder: the people you share it with see everything in it, the folders in it too, as it changes."}
      </p>
      {loadError ? (
        <p className="alert" role="alert">
          {loadError}
        </p>
      ) : null}

      <h3>People</h3>
      <form onSubmit={addPerson} className="row nowrap" style={{ marginBottom: 8 }}>
        <label htmlFor="share-email" className="visually-hidden">
          E-mail address
        </label>
        <input
          id="share-email"
          className="grow"
          style={{ width: "auto" }}
          type="email"
          required
          placeholder="name@example.com"
          autoComplete="off"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <button type="submit" className="primary" disabled={busy}>
          Share
        </button>
      </form>
      <div aria-live="polite">
        {peopleMsg ? <p className={peopleMsg.ok ? "alert ok" : "alert"}>{peopleMsg.text}</p> : null}
      </div>
      {invite ? (
        <div className="field" data-testid="invite-link">
          <label htmlFor="invite-url">Invitation link for {invite.email}</label>
          <CopyField id="invite-url" value={invite.url} />
          <p className="hint">
            Whoever opens it signed in as {invite.email} gets what you shared with that address, so
            send it only to them.
          </p>
        </div>
      ) : null}
      {shares === null ? (
        <p className="muted">Loading…</p>
      ) : shares.length === 0 ? (
        <p className="muted">Not shared with anyone yet.</p>
      ) : (
        <ul className="list" aria-label="People with access">
          {shares.map((s) => (
            <li key={s.email}>
              <span className="grow ellipsis">{s.email}</span>
              {s.pending ? (
                <span
                  className="badge warn"
                  title="They get access once they sign up with this address and confirm it"
                >
                  Invited
                </span>
              ) : null}
              <button
                type="button"
                className="small danger"
                onClick={() => removePerson(s)}
                aria-label={`Stop sharing with ${s.email}`}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}

      <h3 style={{ marginTop: 20 }}>Public links</h3>
      {created ? (
        <div className="link-out" data-testid="new-link">
          <div>
            <label htmlFor="new-link-url">New link (shown once — copy it now)</label>
            <CopyField id="new-link-url" value={createdUrl} />
            <p className="hint">
              {ops.noun === "folder"
                ? "Anyone with this link can open the folder and download what is in it"
                : "Anyone with this link can download the file"}
              {created.link.has_password ? " with the password" : ""}.
            </p>
          </div>
          <QrCode text={createdUrl} label="QR code of the new link" />
        </div>
      ) : null}
      <form onSubmit={createLink}>
        <div className="grid-3">
          <div className="field">
            <label htmlFor="link-expiry">Expires after</label>
            <select id="link-expiry" value={expiry} onChange={(e) => setExpiry(e.target.value)}>
              {EXPIRY.map((x, i) => (
                <option key={x.label} value={String(i)}>
                  {x.label}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="link-password">Password</label>
            <input
              id="link-password"
              type="password"
              placeholder="None"
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="link-max">Download limit</label>
            <input
              id="link-max"
              type="number"
              placeholder="No limit"
              min={1}
              inputMode="numeric"
              value={maxDownloads}
              onChange={(e) => setMaxDownloads(e.target.value)}
            />
          </div>
        </div>
        {ops.noun === "folder" ? (
          <p className="hint" style={{ marginTop: 0 }}>
            Each file downloaded or previewed through the link counts as one download, and so does
            the whole folder as ZIP.
          </p>
        ) : null}
        {linkError ? (
          <p className="alert" role="alert">
            {linkError}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          Create link
        </button>
      </form>
      {activeLinks.length > 0 ? (
        <ul className="list" aria-label="Active links" style={{ marginTop: 10 }}>
          {activeLinks.map((l) => (
            <li key={l.id}>
              <span className="grow" style={{ fontSize: "0.9em" }}>
                {linkSummary(l, now)}
              </span>
              <button
                type="button"
                className="small danger"
                onClick={() => revoke(l)}
                aria-label={`Revoke the link created ${timeAgo(l.created_at, now)}`}
              >
                Revoke
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </Dialog>
  );
}
