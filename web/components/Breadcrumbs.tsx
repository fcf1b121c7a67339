import NextLink from "next/link";
import { folderHref } from "@/lib/folders";

/**
 * My files › Trip › day 1: every folder above is a link; the folder itself
 * is where we are. In a folder shared with me: Shared with me › the folder
 * shared with me › ... Through a folder's public link: the linked folder ›
 * ..., with plain links (to the page's own hash).
 */
export function Breadcrumbs({
  path,
  folder,
  top = "My files",
  href = folderHref,
  plain = false,
}: {
  path: { id: string; name: string }[];
  folder: { name: string };
  /** What the first crumb says; it links to `href(null)`. */
  top?: string;
  /** Where a folder's page is (null: the top). */
  href?: (id: string | null) => string;
  /** Plain <a> links, not the app's router (a page outside it, as a link's page is). */
  plain?: boolean;
}) {
  const Link = plain ? "a" : NextLink;
  return (
    <nav aria-label="Breadcrumbs" className="crumbs">
      <ol>
        <li>
          <Link href={href(null)}>{top}</Link>
        </li>
        {path.map((f) => (
          <li key={f.id}>
            <Link href={href(f.id)} title={f.name}>
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
