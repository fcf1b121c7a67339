"use client";

import { useMemo, useState } from "react";
import { describeError, type FileRecord } from "@/lib/backend";
import { formatBytes } from "@/lib/format";
import { FileTable } from "./FileTable";
import { ShareDialog } from "./ShareDialog";
import { UploadPanel } from "./UploadPanel";
import { useLiveFiles, useNow, useSession } from "./session";

export function FilesScreen({ scope }: { scope: "mine" | "shared" }) {
  const { backend, me, uploads, refresh } = useSession();
  const files = useLiveFiles(scope);
  const now = useNow(5000);
  const [sharing, setSharing] = useState<FileRecord | null>(null);
  const [error, setError] = useState<string | null>(null);

  // Unfinished uploads are shown by the upload panel, not as files.
  const ready = useMemo(() => files?.filter((f) => f.status === "ready") ?? null, [files]);

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
        <UploadPanel uploads={uploads} onFinished={() => void refresh()} />
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
      {sharing ? (
        <ShareDialog backend={backend} file={sharing} onClose={() => setSharing(null)} />
      ) : null}
    </>
  );
}
