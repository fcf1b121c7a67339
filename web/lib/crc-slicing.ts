// A reflected CRC with init and final XOR 0xFFFFFFFF, over slicing-by-8
// tables: eight bytes per step, so hashing keeps up with a transfer. One
// implementation for CRC32C (crc32c.ts, as Cloud Storage checks it) and
// CRC-32 (crc32.ts, as ZIP stores it); only the polynomial differs.

/** A function that continues the CRC over `bytes` (start with 0; unsigned). */
export function reflectedCrc(poly: number): (crc: number, bytes: Uint8Array) => number {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let s = 1; s < 8; s++) {
      const prev = t[(s - 1) * 256 + i]!;
      t[s * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return (crc, bytes) => {
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
  };
}
