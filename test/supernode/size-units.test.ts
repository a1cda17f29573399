import { describe, expect, it } from "vitest";
import { formatBytes, formatDuration, parseDuration, parseRate, parseSize } from "../../supernode/size-units";

describe("size units", () => {
  it("parses binary and decimal sizes, bits and bytes", () => {
    expect(parseSize("10GiB")).toBe(10 * 1024 ** 3);
    expect(parseSize("1.5MB")).toBe(1_500_000);
    expect(parseSize("512")).toBe(512);
    expect(parseSize("512b")).toBe(512);
    expect(parseSize("8Mb")).toBe(1_000_000);
    expect(parseSize("1 KiB")).toBe(1024);
    for (const bad of ["", "GiB", "-1MB", "1XB", "1e9", "ten"]) expect(parseSize(bad), bad).toBeNull();
  });

  it("parses rates with or without /s; 0 and unlimited mean no cap", () => {
    expect(parseRate("4MiB/s")).toBe(4 * 1024 ** 2);
    expect(parseRate("80Mbit/s")).toBe(10_000_000);
    expect(parseRate("10Mbps")).toBe(1_250_000);
    expect(parseRate("2MB")).toBe(2_000_000);
    expect(parseRate("unlimited")).toBe(0);
    expect(parseRate("0")).toBe(0);
    expect(parseRate("quick")).toBeNull();
  });

  it("parses durations (bare numbers are seconds)", () => {
    expect(parseDuration("30s")).toBe(30_000);
    expect(parseDuration("5m")).toBe(300_000);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("12")).toBe(12_000);
    expect(parseDuration("soon")).toBeNull();
  });

  it("formats bytes and durations compactly", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(10 * 1024 ** 3)).toBe("10.0 GiB");
    expect(formatBytes(300 * 1024 ** 2)).toBe("300 MiB");
    expect(formatDuration(42_900)).toBe("42s");
    expect(formatDuration(185_000)).toBe("3m05s");
    expect(formatDuration(3_725_000)).toBe("1h02m");
  });
});
