/** A small square with the file's extension, coloured like the accent. */
export function FileIcon({ name }: { name: string }) {
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && name.length - dot <= 5 ? name.slice(dot + 1) : "";
  return (
    <span className="file-icon" aria-hidden="true">
      {ext || "file"}
    </span>
  );
}
