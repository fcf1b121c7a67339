// A QR code as one SVG path (dark modules), from the tiny `uqr` encoder.

import { encode } from "uqr";

export interface QrPath {
  /** Modules per side, quiet zone included. */
  size: number;
  /** SVG path data in module units. */
  path: string;
}

export function qrPath(text: string): QrPath {
  const { data, size } = encode(text, { ecc: "M", border: 2 });
  let path = "";
  for (let y = 0; y < size; y++) {
    const row = data[y]!;
    let x = 0;
    while (x < size) {
      if (!row[x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < size && row[x]) x++;
      path += `M${start} ${y}h${x - start}v1h${start - x}z`;
    }
  }
  return { size, path };
}
