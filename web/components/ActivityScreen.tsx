"use client";

import Link from "next/link";
import { useMemo } from "react";
import {
  describeActivity,
  describeUploads,
  groupActivity,
  visibleActivity,
  type ActivityLine,
} from "@/lib/activity";
import type { Activity } from "@/lib/backend";
import { folderHref } from "@/lib/folders";
import { formatDate, timeAgo } from "@/lib/format";
import { useLiveActivity, useNow, useSession } from "./session";

/** Everything that happened to my files, newest first, live. */
export function ActivityScreen() {
  const { me } = useSession();
  const live = useLiveActivity();
  const activity = useMemo(
    () => (live ? groupActivity(visibleActivity(live, me.user.id)) : null),
    [live, me.user.id],
  );
  const now = useNow(1000);
  return (
    <div style={{ maxWidth: 760 }}>
      <h1>Activity</h1>
      <p className="muted">What happened to your files, as it happens.</p>
      {activity === null ? (
        <div className="empty" aria-busy="true">
          Loading…
        </div>
      ) : activity.length === 0 ? (
        <div className="empty">Nothing yet. Upload or share a file to see it here.</div>
      ) : (
        <section className="card" aria-label="Activity on my files">
          <ol className="activity" data-testid="all-activity">
            {activity.map((line) => (
              <Line key={lineKey(line)} line={line} meId={me.user.id} now={now} />
            ))}
          </ol>
        </section>
      )}
    </div>
  );
}

const lineKey = (line: ActivityLine) =>
  line.kind === "one" ? line.entry.id : `uploads-${line.entries[0]!.id}`;

function When({ at, now }: { at: string; now: number }) {
  return (
    <time dateTime={at} title={formatDate(at)}>
      {timeAgo(at, now)}
    </time>
  );
}

/** Where an entry leads: its file, or its folder; nowhere once deleted. */
function EntryText({ a, meId }: { a: Activity; meId: string }) {
  const text = describeActivity(a, meId, true);
  if (a.kind === "deleted") return <>{text}</>;
  if (a.file_id === null) return <Link href={folderHref(a.folder_id)}>{text}</Link>;
  return <Link href={`/file/?id=${encodeURIComponent(a.file_id)}`}>{text}</Link>;
}

function Line({ line, meId, now }: { line: ActivityLine; meId: string; now: number }) {
  if (line.kind === "one") {
    return (
      <li>
        <span>
          <EntryText a={line.entry} meId={meId} />
        </span>
        <When at={line.entry.at} now={now} />
      </li>
    );
  }
  // Newest first: the group's time is its latest upload's.
  return (
    <li>
      <details>
        <summary>{describeUploads(line, meId)}</summary>
        <ul aria-label={`Files added to ${line.folder}`}>
          {line.entries.map((a) => (
            <li key={a.id}>
              {a.file_id ? (
                <Link href={`/file/?id=${encodeURIComponent(a.file_id)}`}>{a.file_name}</Link>
              ) : (
                a.file_name
              )}
            </li>
          ))}
        </ul>
      </details>
      <When at={line.entries[0]!.at} now={now} />
    </li>
  );
}
