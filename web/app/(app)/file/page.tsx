"use client";

import { useSearchParams } from "next/navigation";
import { Suspense } from "react";
import { FileDetails } from "@/components/FileDetails";

function FileFromQuery() {
  const id = useSearchParams().get("id");
  if (!id) return <p className="alert">No file was named in the address.</p>;
  return <FileDetails key={id} id={id} />;
}

export default function FilePage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <FileFromQuery />
    </Suspense>
  );
}
