"use client";

import Link from "next/link";
import { useMemo } from "react";
import { describeActivity, visibleActivity } from "@/lib/activity";
import { folderHref } from "@/lib/folders";
import { formatDate, timeAgo } from "@/lib/format";
import { useLiveActivity, useNow, useSession } from "./session";

/** Everything that happened to my files, newest first, live. */
export function ActivityScreen() {
  const { me } = useSession();
  const live = useLiveActivity();
  const activity = useMemo(
    () => (live ? visibleActivity(live, me.user.id) : null),
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
            {activity.map((a) => (
              <li key={a.id}>
                <span>
                  {a.kind === "deleted" ? (
                    describeActivity(a, me.user.id, true)
                  ) : a.file_id === null ? (
                    <Link href={folderHref(a.folder_id)}>
                      {describeActivity(a, me.user.id, true)}
                    </Link>
                  ) : (
                    <Link href={`/file/?id=${encodeURIComponent(a.file_id)}`}>
                      {describeActivity(a, me.user.id, true)}
                    </Link>
                  )}
                </span>
                <time dateTime={a.at} title={formatDate(a.at)}>
                  {timeAgo(a.at, now)}
                </time>
              </li>
            ))}
          </ol>
        </section>
      )}
    </div>
  );
}
