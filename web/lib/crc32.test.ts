import { describe, expect, it } from "vitest";
import { crc32, crc32Update } from "./crc32";

const ascii = (s: string) => new TextEncoder().encode(s);

/** Bit by bit, straight from the definition, to check the tables against. */
function reference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

describe("crc32", () => {
  it("matches the check value for 123456789", () => {
    expect(crc32(ascii("123456789"))).toBe(0xcbf43926);
  });

  it("matches known values", () => {
    expect(crc32(ascii("The quick brown fox jumps over the lazy dog"))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
    expect(crc32(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b);
  });

  it("is 0 for no bytes", () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("matches the bitwise definition at every length and alignment", () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 2654435761) >>> 24);
    for (let start = 0; start < 8; start++) {
      for (let end = start; end < data.length; end += 13) {
        const part = data.subarray(start, end);
        expect(crc32(part)).toBe(reference(part));
      }
    }
  });

  it("gives the same answer however the input is split", () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
    const whole = crc32(data);
    for (const cut of [1, 7, 8, 9, 500, 999]) {
      const split = crc32Update(crc32Update(0, data.subarray(0, cut)), data.subarray(cut));
      expect(split).toBe(whole);
    }
  });
});
