import { describe, expect, it } from "vitest";
import { crc32c, crc32cBase64, crc32cOfBlob, crc32cUpdate } from "./crc32c";

const ascii = (s: string) => new TextEncoder().encode(s);

describe("crc32c", () => {
  it("matches the RFC 3720 vector for 32 zero bytes", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });

  it("matches the check value for 123456789", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
  });

  it("matches RFC 3720 vectors for 32 bytes of 0xff, ascending and descending", () => {
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it("is 0 for no bytes", () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it("gives the same answer however the input is split", () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7919) & 0xff);
    const whole = crc32c(data);
    for (const cut of [1, 7, 8, 9, 500, 999]) {
      const split = crc32cUpdate(crc32cUpdate(0, data.subarray(0, cut)), data.subarray(cut));
      expect(split).toBe(whole);
    }
  });

  it("encodes as base64 of the big-endian bytes, like GCS", () => {
    // GCS documents the CRC32C of "hello world" (no newline) as yZRlqg==.
    expect(crc32cBase64(crc32c(ascii("hello world")))).toBe("yZRlqg==");
    expect(crc32cBase64(0xe3069283)).toBe("4waSgw==");
  });

  it("hashes a Blob in slices with progress", async () => {
    const data = Uint8Array.from({ length: 10_000 }, (_, i) => i & 0xff);
    const seen: number[] = [];
    const b64 = await crc32cOfBlob(new Blob([data]), (n) => seen.push(n), undefined, 4096);
    expect(b64).toBe(crc32cBase64(crc32c(data)));
    expect(seen).toEqual([4096, 8192, 10_000]);
  });
});
