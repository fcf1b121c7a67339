// CRC32C (Castagnoli), as Google Cloud Storage and the livedrop server check
// it: reflected polynomial 0x82F63B78, init and final XOR 0xFFFFFFFF, sent as
// base64 of the four big-endian bytes. Slicing-by-8 tables (crc-slicing.ts):
// eight bytes per step, so hashing keeps up with an upload.

import { reflectedCrc } from "./crc-slicing";

/** Continues a CRC32C over `bytes`. Start with 0; the result is unsigned. */
export const crc32cUpdate = reflectedCrc(0x82f63b78);

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
