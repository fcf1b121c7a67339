"use client";

import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { describeError } from "@/lib/backend";
import { useSession } from "./session";

type State = { kind: "working" } | { kind: "done" } | { kind: "failed"; message: string };

/**
 * Where the link of a confirmation letter or an invitation lands
 * (`/verify/?token=...`), signed in: it proves the address, and what was
 * shared with it arrives in "Shared with me".
 */
export function VerifyScreen() {
  const token = useSearchParams().get("token");
  const { backend, me, refresh } = useSession();
  const [state, setState] = useState<State>(() =>
    !token
      ? { kind: "failed", message: "This address has no confirmation token in it." }
      : !backend.features.addressVerification
        ? { kind: "done" }
        : { kind: "working" },
  );
  // A token works once: never send it twice (React runs effects twice in
  // development).
  const sent = useRef(false);

  useEffect(() => {
    if (sent.current || !token || !backend.features.addressVerification) return;
    sent.current = true;
    backend.verifyAddress(token).then(
      () => {
        setState({ kind: "done" });
        void refresh();
      },
      (e) => setState({ kind: "failed", message: describeError(e) }),
    );
  }, [backend, token, refresh]);

  return (
    <section className="card narrow" aria-labelledby="verify-title">
      <h1 id="verify-title">Confirm your address</h1>
      <div aria-live="polite">
        {state.kind === "working" ? <p className="muted">Confirming {me.user.email}…</p> : null}
        {state.kind === "done" ? (
          <>
            <p className="alert ok">{me.user.email} is confirmed as yours.</p>
            <p>
              Files shared with this address are in <Link href="/shared/">Shared with me</Link>.
            </p>
          </>
        ) : null}
        {state.kind === "failed" ? (
          <>
            <p className="alert" role="alert">
              {state.message}
            </p>
            <p className="muted">
              You are signed in as {me.user.email}. <Link href="/files/">Go to my files</Link>
            </p>
          </>
        ) : null}
      </div>
    </section>
  );
}
