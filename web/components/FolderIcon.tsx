/** A folder, in the accent colour, the size of a file's icon. */
export function FolderIcon() {
  return (
    <span className="file-icon folder-icon" aria-hidden="true">
      <svg viewBox="0 0 20 16" width="18" height="14" focusable="false">
        <path
          d="M1.5 3A1.5 1.5 0 0 1 3 1.5h4.4l2 2H17A1.5 1.5 0 0 1 18.5 5v8.5A1.5 1.5 0 0 1 17 15H3a1.5 1.5 0 0 1-1.5-1.5z"
          fill="currentColor"
        />
      </svg>
    </span>
  );
}
