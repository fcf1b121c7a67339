"use client";

import { useMemo, useState } from "react";
import { describeError, type FileRecord } from "@/lib/backend";
import { formatBytes } from "@/lib/format";
import { FileTable } from "./FileTable";
import { ShareDialog } from "./ShareDialog";
import { UploadPanel } from "./UploadPanel";
import { useLiveFiles, useNow, useSession } from "./session";

/** How many files per list the live feed's snapshot carries. */
const SNAPSHOT_LIMIT = 1000;

export function FilesScreen({ scope }: { scope: "mine" | "shared" }) {
  const { backend, me, uploads, refresh } = useSession();
  const files = useLiveFiles(scope);
  const now = useNow(5000);
  const [sharing, setSharing] = useState<FileRecord | null>(null);
  const [error, setError] = useState<string | null>(null);

  // The feed's snapshot holds the most recently changed files (up to
  // SNAPSHOT_LIMIT per list); older ones are paged in on request, not live.
  const [older, setOlder] = useState<FileRecord[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [loadingOlder, setLoadingOlder] = useState(false);

  // Unfinished uploads are shown by the upload panel, not as files.
  const ready = useMemo(() => {
    if (!files) return null;
    const live = new Set(files.map((f) => f.id));
    return [...files, ...older.filter((f) => !live.has(f.id))].filter((f) => f.status === "ready");
  }, [files, older]);

  const loadOlder = async () => {
    setLoadingOlder(true);
    setError(null);
    try {
      const known = new Set([...(files ?? []), ...older].map((f) => f.id));
      let next = cursor ?? undefined;
      let added: FileRecord[] = [];
      do {
        const page = await backend.listFiles({
          scope,
          sort: "updated",
          order: "desc",
          limit: SNAPSHOT_LIMIT,
          cursor: next,
        });
        added = page.files.filter((f) => !known.has(f.id));
        next = page.next_cursor ?? undefined;
      } while (added.length === 0 && next);
      setOlder((o) => [...o, ...added]);
      setCursor(next ?? null);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setLoadingOlder(false);
    }
  };

  const download = async (f: FileRecord) => {
    setError(null);
    try {
      const { url } = await backend.downloadUrl(f.id, false);
      window.location.assign(url);
    } catch (e) {
      setError(describeError(e));
    }
  };

  return (
    <>
      <div className="page-head">
        <h1>{scope === "mine" ? "My files" : "Shared with me"}</h1>
        {scope === "mine" ? (
          <span className="muted">
            {formatBytes(me.usage.used)} of {formatBytes(me.usage.quota)} used
          </span>
        ) : null}
      </div>
      {scope === "mine" ? (
        <UploadPanel
          uploads={uploads}
          onFinished={() => void refresh()}
          free={Math.max(0, me.usage.quota - me.usage.used)}
        />
      ) : null}
      {error ? (
        <p className="alert" role="alert">
          {error}
        </p>
      ) : null}
      <FileTable
        files={ready}
        scope={scope}
        meId={me.user.id}
        now={now}
        onDownload={download}
        onShare={scope === "mine" ? setSharing : undefined}
        emptyText={
          scope === "mine"
            ? "No files yet. Upload one to share it."
            : "Nothing is shared with you yet. Files appear here the moment someone shares them."
        }
      />
      {files && files.length >= SNAPSHOT_LIMIT && cursor !== null ? (
        <p style={{ textAlign: "center" }}>
          <button type="button" onClick={loadOlder} disabled={loadingOlder}>
            {loadingOlder ? "Loading…" : "Load older files"}
          </button>
        </p>
      ) : null}
      {sharing ? (
        <ShareDialog backend={backend} file={sharing} onClose={() => setSharing(null)} />
      ) : null}
    </>
  );
}
