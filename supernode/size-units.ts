/**
 * Human units for the supernode's command line and its log lines: sizes (`10GiB`, `500MB`),
 * rates (`4MiB/s`, `20Mbit/s`) and durations (`30s`, `5m`). Binary (Ki/Mi/Gi/Ti) and decimal
 * (k/M/G/T) prefixes follow IEC 80000-13; a bare number is bytes (or seconds for durations).
 */

const PREFIX: Record<string, number> = {
  "": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12,
  Ki: 1024, ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4,
};

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*(|k|K|M|G|T|Ki|ki|Mi|Gi|Ti)(B|b|bit|bits)?\s*$/;

/**
 * Parses a byte size; `null` if malformed. Bits (`b`, `bit`) are divided by 8.
 *
 * @example
 * parseSize("10GiB"); // 10737418240
 * parseSize("1.5MB"); // 1500000
 */
export function parseSize(text: string): number | null {
  const m = SIZE.exec(text);
  if (!m) return null;
  const unit = m[3] ?? "";
  // A lone "b" only means bits with a prefix ("8Mb"); "512b" is ambiguous, so take it as bytes.
  const bits = unit === "bit" || unit === "bits" || (unit === "b" && m[2] !== "");
  const n = Number(m[1]) * PREFIX[m[2]!]! / (bits ? 8 : 1);
  return Number.isFinite(n) ? Math.floor(n) : null;
}

/**
 * Parses a rate in bytes per second (`/s` optional; `0` or `unlimited` → 0, which the SDK reads as
 * no cap); `null` if malformed.
 *
 * @example
 * parseRate("4MiB/s");   // 4194304
 * parseRate("80Mbit/s"); // 10000000
 */
export function parseRate(text: string): number | null {
  const t = text.trim();
  if (t === "unlimited" || t === "none") return 0;
  return parseSize(t.replace(/\s*\/\s*s(ec)?$/, "").replace(/ps$/, ""));
}

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration to milliseconds (bare numbers are seconds); `null` if malformed.
 *
 * @example
 * parseDuration("30s"); // 30000
 */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text);
  return m ? Math.round(Number(m[1]) * DURATION_MS[m[2] ?? "s"]!) : null;
}

/**
 * Bytes for humans, binary prefixes, three significant digits.
 *
 * @example
 * formatBytes(1536); // "1.50 KiB"
 */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

/**
 * Milliseconds for humans: `1h02m`, `3m05s`, `42s`.
 *
 * @example
 * formatDuration(3_725_000); // "1h02m"
 */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, "0");
  if (h) return `${h}h${pad(m)}m`;
  if (m) return `${m}m${pad(s % 60)}s`;
  return `${s}s`;
}
