import { Suspense } from "react";
import { SharedFilesFromQuery } from "@/components/FilesScreen";

export const metadata = { title: "Shared with me · livedrop" };

export default function SharedPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <SharedFilesFromQuery />
    </Suspense>
  );
}
