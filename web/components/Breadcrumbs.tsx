import Link from "next/link";
import type { Folder } from "@/lib/backend";
import { folderHref } from "@/lib/folders";

/** My files › Trip › day 1: every folder above is a link; the folder itself is where we are. */
export function Breadcrumbs({ path, folder }: { path: Folder[]; folder: Folder }) {
  return (
    <nav aria-label="Breadcrumbs" className="crumbs">
      <ol>
        <li>
          <Link href={folderHref(null)}>My files</Link>
        </li>
        {path.map((f) => (
          <li key={f.id}>
            <Link href={folderHref(f.id)} title={f.name}>
              {f.name}
            </Link>
          </li>
        ))}
        <li>
          <span aria-current="page" title={folder.name}>
            {folder.name}
          </span>
        </li>
      </ol>
    </nav>
  );
}
