import { describe, expect, it } from "vitest";
import {
  describeType,
  formatBytes,
  formatDuration,
  formatSpeed,
  timeAgo,
  timeUntil,
} from "./format";

describe("formatBytes", () => {
  it("uses decimal units with one digit below ten", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1000)).toBe("1.0 kB");
    expect(formatBytes(1_500_000)).toBe("1.5 MB");
    expect(formatBytes(25_000_000)).toBe("25 MB");
    expect(formatBytes(3.2e9)).toBe("3.2 GB");
  });
  it("speed", () => expect(formatSpeed(12_345_678)).toBe("12 MB/s"));
});

describe("formatDuration", () => {
  it("reads naturally", () => {
    expect(formatDuration(7.2)).toBe("8 s");
    expect(formatDuration(125)).toBe("2 min 5 s");
    expect(formatDuration(120)).toBe("2 min");
    expect(formatDuration(3840)).toBe("1 h 4 min");
    expect(formatDuration(Infinity)).toBe("–");
  });
});

describe("timeAgo", () => {
  const now = Date.parse("2026-01-10T12:00:00Z");
  it("counts seconds, minutes, hours and days", () => {
    expect(timeAgo("2026-01-10T12:00:00Z", now)).toBe("just now");
    expect(timeAgo("2026-01-10T11:59:58Z", now)).toBe("2 s ago");
    expect(timeAgo("2026-01-10T11:57:00Z", now)).toBe("3 min ago");
    expect(timeAgo("2026-01-10T10:00:00Z", now)).toBe("2 h ago");
    expect(timeAgo("2026-01-09T10:00:00Z", now)).toBe("yesterday");
    expect(timeAgo("2026-01-07T10:00:00Z", now)).toBe("3 days ago");
  });
  it("never says a time in the future is ago", () => {
    expect(timeAgo("2026-01-10T12:00:05Z", now)).toBe("just now");
  });
  it("timeUntil", () => {
    expect(timeUntil("2026-01-10T13:00:00Z", now)).toBe("in 1 h");
    expect(timeUntil("2026-01-13T12:00:00Z", now)).toBe("in 3 days");
    expect(timeUntil("2026-01-10T11:00:00Z", now)).toBe("expired");
  });
});

describe("describeType", () => {
  it("names common types", () => {
    expect(describeType("image/png")).toBe("PNG image");
    expect(describeType("application/pdf")).toBe("PDF document");
    expect(describeType("video/mp4")).toBe("MP4 video");
    expect(describeType("text/plain; charset=utf-8")).toBe("Plain text");
    expect(describeType("application/x-7z-compressed")).toBe("7Z-COMPRESSED file");
  });
});
