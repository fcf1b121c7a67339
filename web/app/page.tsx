"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";
import { loadBackend } from "@/lib/backend";

/** The front door: your files when signed in, else the sign-in page. */
export default function Home() {
  const router = useRouter();
  useEffect(() => {
    loadBackend()
      .then((b) => b.me())
      .then(
        (me) => router.replace(me ? "/files/" : "/signin/"),
        () => router.replace("/signin/"),
      );
  }, [router]);
  return (
    <div className="center-page" aria-busy="true">
      <p className="muted">Loading…</p>
    </div>
  );
}
