// CRC-32 (IEEE 802.3, as ZIP, gzip and PNG use it): reflected polynomial
// 0xEDB88320, init and final XOR 0xFFFFFFFF. Slicing-by-8 tables
// (crc-slicing.ts), so a ZIP being streamed out hashes as fast as it downloads.

import { reflectedCrc } from "./crc-slicing";

/** Continues a CRC-32 over `bytes`. Start with 0; the result is unsigned. */
export const crc32Update = reflectedCrc(0xedb88320);

export function crc32(bytes: Uint8Array): number {
  return crc32Update(0, bytes);
}
