import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, formatSize, parseDuration, parseSize } from "../src/util/units.ts";

describe("units: durations", () => {
  it.each([
    ["500ms", 500], ["30s", 30_000], ["5m", 300_000], ["2h", 7_200_000], ["1d", 86_400_000],
    ["1h30m", 5_400_000], ["1.5s", 1500], ["0s", 0], [" 10s ", 10_000], ["2H", 7_200_000], ["1m30s250ms", 90_250],
  ])("parses %j as %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "5x", "5", "ms", "5 m", "-5s", "1h-30m", "1e3s", "s5", "5mss", "9".repeat(30) + "d"])("refuses %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it.each([[0, "0ms"], [850, "850ms"], [1500, "1.5s"], [12_500, "12.5s"], [90_000, "1m30s"], [7_800_000, "2h10m"], [273_600_000, "3d4h"]])(
    "formats %d ms as %s", (ms, text) => {
      expect(formatDuration(ms)).toBe(text);
    },
  );
});

describe("units: sizes", () => {
  it.each([
    ["1024", 1024], ["512B", 512], ["64KB", 64_000], ["50MB", 50_000_000], ["1MiB", 1_048_576], ["1mib", 1_048_576],
    ["2GiB", 2 * 1024 ** 3], ["1.5KiB", 1536], ["10 MB", 10_000_000],
  ])("parses %j as %d bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(["", "12q", "MB", "-1MB", "1 M B", "1e3", "99999999999TiB"])("refuses %j", (text) => {
    expect(parseSize(text)).toBeUndefined();
  });

  it("formats counts in IEC units and configured sizes as they were typed", () => {
    expect(formatBytes(44)).toBe("44 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(50_000_000)).toBe("47.7 MiB");
    expect(formatSize(50_000_000)).toBe("50 MB");
    expect(formatSize(1_048_576)).toBe("1 MiB");
    expect(formatSize(1500)).toBe("1.46 KiB");
  });
});
