import { Suspense } from "react";
import { MyFilesFromQuery } from "@/components/FilesScreen";

export const metadata = { title: "My files · livedrop" };

export default function FilesPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <MyFilesFromQuery />
    </Suspense>
  );
}
