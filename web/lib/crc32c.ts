// CRC32C (Castagnoli), as Google Cloud Storage and the livedrop server check
// it: reflected polynomial 0x82F63B78, init and final XOR 0xFFFFFFFF, sent as
// base64 of the four big-endian bytes. Slicing-by-8 tables: eight bytes per
// step, so hashing keeps up with an upload.

const POLY = 0x82f63b78;

const TABLE = (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) {
      const prev = t[(s - 1) * 256 + i]!;
      t[s * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

/** Continues a CRC32C over `bytes`. Start with 0; the result is unsigned. */
export function crc32cUpdate(crc: number, bytes: Uint8Array): number {
  const t = TABLE;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const a =
      (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>>
      0;
    c =
      t[7 * 256 + (a & 0xff)]! ^
      t[6 * 256 + ((a >>> 8) & 0xff)]! ^
      t[5 * 256 + ((a >>> 16) & 0xff)]! ^
      t[4 * 256 + (a >>> 24)]! ^
      t[3 * 256 + bytes[i + 4]!]! ^
      t[2 * 256 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
    i += 8;
  }
  while (i < n) {
    c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}

export function crc32c(bytes: Uint8Array): number {
  return crc32cUpdate(0, bytes);
}

/** The GCS form: base64 of the four big-endian bytes. */
export function crc32cBase64(crc: number): string {
  const b = [(crc >>> 24) & 0xff, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff];
  return btoa(String.fromCharCode(...b));
}

export const HASH_CHUNK = 4 * 1024 * 1024;

/**
 * Hashes a Blob (a picked File) in slices, so a large file is never read
 * into memory whole. Reports bytes hashed so far; stops on `signal`.
 */
export async function crc32cOfBlob(
  blob: Blob,
  onProgress: (hashed: number) => void = () => {},
  signal?: AbortSignal,
  chunkSize = HASH_CHUNK,
): Promise<string> {
  let crc = 0;
  for (let offset = 0; offset < blob.size; offset += chunkSize) {
    if (signal?.aborted) throw new DOMException("aborted", "AbortError");
    const slice = blob.slice(offset, Math.min(offset + chunkSize, blob.size));
    crc = crc32cUpdate(crc, new Uint8Array(await readBlob(slice)));
    onProgress(Math.min(offset + chunkSize, blob.size));
  }
  return crc32cBase64(crc);
}

function readBlob(blob: Blob): Promise<ArrayBuffer> {
  if (typeof blob.arrayBuffer === "function") return blob.arrayBuffer();
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as ArrayBuffer);
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(blob);
  });
}
