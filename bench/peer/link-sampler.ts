/**
 * The visitor's access link as it sees it (diagnostics, BENCH_TIMELINE=1, bench §5): bytes received
 * on its one interface, sampled every few ms from `/proc/self/net/dev` (per network namespace, so a
 * namespaced peer process reads its own shaped link). A fetch's samples show when the link started
 * to carry bytes, where it idled, and — against the payload — how many bytes crossed it twice.
 */
import { readFileSync } from "node:fs";

/** Bytes received so far on `iface` (NaN if it is not there). */
export function rxBytes(iface = "eth0"): number {
  const line = readFileSync("/proc/self/net/dev", "utf8").split("\n").find((l) => l.trim().startsWith(`${iface}:`));
  return line ? Number(line.split(":")[1]!.trim().split(/\s+/)[0]) : NaN;
}

/**
 * Samples `iface`'s received bytes every `everyMs` until stopped; `stop()` returns
 * `[ms since start, bytes since start]` pairs.
 * @example
 * const s = sampleLink(); await work(); const series = s.stop();
 */
export function sampleLink(iface = "eth0", everyMs = 5): { stop(): [number, number][] } {
  const t0 = performance.now();
  const rx0 = rxBytes(iface);
  const out: [number, number][] = [[0, 0]];
  if (!Number.isFinite(rx0)) return { stop: () => [] };
  const timer = setInterval(() => out.push([Math.round(performance.now() - t0), rxBytes(iface) - rx0]), everyMs);
  return {
    stop() {
      clearInterval(timer);
      out.push([Math.round(performance.now() - t0), rxBytes(iface) - rx0]);
      return out;
    },
  };
}

/** What {@link linkSummary} reads off one fetch's samples. */
export interface LinkSummary {
  /** When the link had carried its first 64 KiB, ms. */
  firstMs: number;
  /** Time the link carried under half its rate between then and the last sample, ms. */
  idleMs: number;
  /** Bytes received over the payload (IP/TCP/SCTP framing, and bytes that crossed twice). */
  overhead: number;
  /** Bytes per 100 ms slot, KiB. */
  slots: number[];
}

/** Summarises a {@link sampleLink} series for a link of `rateBps` carrying `payload` bytes. */
export function linkSummary(series: readonly [number, number][], rateBps: number, payload: number): LinkSummary {
  const perMs = rateBps / 8 / 1000;
  const first = series.find(([, b]) => b >= 65536)?.[0] ?? NaN;
  let idle = 0;
  for (let k = 1; k < series.length; k++) {
    const [t0, b0] = series[k - 1]!;
    const [t1, b1] = series[k]!;
    if (t0 >= first && t1 > t0 && b1 - b0 < 0.5 * perMs * (t1 - t0)) idle += t1 - t0;
  }
  const last = series.at(-1) ?? [0, 0];
  const slots: number[] = [];
  for (let s = 0, k = 0, prev = 0; s * 100 < last[0]; s++) {
    while (k < series.length - 1 && series[k + 1]![0] <= (s + 1) * 100) k++;
    slots.push(Math.round((series[k]![1] - prev) / 1024));
    prev = series[k]![1];
  }
  return { firstMs: first, idleMs: idle, overhead: last[1] / payload, slots };
}
