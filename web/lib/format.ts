// How numbers, times and types read to a person.

const UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/** Decimal (SI) units, as storage is sold: 1 kB = 1000 B. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "–";
  if (bytes < 1000) return `${bytes} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = value < 10 ? 1 : 0;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** A time left: "8 s", "2 min 5 s", "1 h 4 min". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "–";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const rest = s % 60;
    return rest ? `${m} min ${rest} s` : `${m} min`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

/** "just now", "12 s ago", "3 min ago", "2 h ago", "3 days ago", then a date. */
export function timeAgo(iso: string, now: number = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 2) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.floor(h / 24);
  if (d < 7) return d === 1 ? "yesterday" : `${d} days ago`;
  return formatDate(iso);
}

/** "in 3 days", "in 2 h" for an expiry. */
export function timeUntil(iso: string, now: number = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.round((t - now) / 1000);
  if (s <= 0) return "expired";
  if (s < 60) return `in ${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `in ${m} min`;
  const h = Math.round(m / 60);
  if (h < 48) return `in ${h} h`;
  // A 7-day link a minute old still reads "in 7 days".
  return `in ${Math.round(h / 24)} days`;
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

const NAMED: Record<string, string> = {
  "application/pdf": "PDF document",
  "application/zip": "ZIP archive",
  "application/gzip": "Gzip archive",
  "application/x-tar": "Tar archive",
  "application/json": "JSON",
  "application/octet-stream": "Binary file",
  "text/plain": "Plain text",
  "text/csv": "CSV",
  "text/markdown": "Markdown",
  "text/html": "HTML",
  "image/svg+xml": "SVG image",
};

/** "PNG image", "PDF document", "MP4 video", ... */
export function describeType(contentType: string): string {
  const type = contentType.split(";")[0]!.trim().toLowerCase();
  if (NAMED[type]) return NAMED[type];
  const [major, minor = ""] = type.split("/");
  const sub = minor
    .replace(/^x-/, "")
    .replace(/^vnd\./, "")
    .split(/[.+]/)[0]!
    .toUpperCase();
  switch (major) {
    case "image":
      return `${sub} image`;
    case "video":
      return `${sub} video`;
    case "audio":
      return `${sub} audio`;
    case "text":
      return `${sub} text`;
    default:
      return sub ? `${sub} file` : "File";
  }
}
