"use client";

import { useState } from "react";
import { describeError } from "@/lib/backend";
import { useSession } from "./session";

/** What livedrop tells me by mail: today, my files' downloads. */
export function MailCard() {
  const { backend, me, refresh } = useSession();
  const [on, setOn] = useState(me.download_notices);
  const [said, setSaid] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const mail = backend.config.mail;

  const change = async (next: boolean) => {
    // Shown at once; put back if the server refuses.
    setOn(next);
    setBusy(true);
    setSaid(null);
    try {
      await backend.setDownloadNotices(next);
      setSaid({
        ok: true,
        text: next
          ? `You will get a letter at ${me.user.email} when someone downloads one of your files.`
          : "No more download letters.",
      });
      void refresh();
    } catch (e) {
      setOn(!next);
      setSaid({ ok: false, text: describeError(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="mail-title">
      <h2 id="mail-title">E-mail</h2>
      <label className="row nowrap">
        <input
          type="checkbox"
          checked={on}
          disabled={busy || !mail}
          onChange={(e) => void change(e.target.checked)}
        />
        <span>Tell me by e-mail when someone downloads one of my files</span>
      </label>
      {mail ? null : (
        <p className="hint">This server sends no e-mail (its operator has not set up SMTP).</p>
      )}
      <div aria-live="polite">
        {said ? <p className={said.ok ? "alert ok" : "alert"}>{said.text}</p> : null}
      </div>
    </section>
  );
}
