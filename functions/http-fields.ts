/**
 * Strict parsers of the HTTP fields caching depends on: `Cache-Control` (RFC 9111 §5.2, with
 * quoted strings and duplicate directives), `Age` (§5.1), and HTTP-dates (RFC 9110 §5.6.7) for
 * `Expires`, `Date`, `Last-Modified`. Lenient parsing here would make a cache keep what the origin
 * said to drop (`Date.parse` accepts dozens of non-HTTP date shapes; `Number("7200, 0")` is NaN).
 */

/** A parsed Cache-Control: directive (lowercase) → value ("" for bare), and which appeared twice with different values. */
export interface CacheDirectives {
  readonly map: ReadonlyMap<string, string>;
  /** Directives given more than once with different values (RFC 9111 §4.2.1: the response is then stale). */
  readonly conflicting: ReadonlySet<string>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Parses a Cache-Control value: `token [ "=" ( token / quoted-string ) ]`, comma-separated;
 * commas inside quoted strings do not split; malformed members are skipped.
 * @example
 * parseDirectives('public, no-cache="set-cookie, x", max-age=60').map.get("max-age"); // "60"
 */
export function parseDirectives(value: string | null): CacheDirectives {
  const map = new Map<string, string>();
  const conflicting = new Set<string>();
  if (!value) return { map, conflicting };
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && (value[i] === " " || value[i] === "\t" || value[i] === ",")) i++;
    let j = i;
    while (j < n && value[j] !== "=" && value[j] !== ",") j++;
    const name = value.slice(i, j).trim().toLowerCase();
    let v = "";
    let ok = TOKEN.test(name);
    i = j;
    if (value[i] === "=") {
      i++;
      while (i < n && (value[i] === " " || value[i] === "\t")) i++;
      if (value[i] === '"') {
        i++;
        let out = "";
        while (i < n && value[i] !== '"') {
          if (value[i] === "\\" && i + 1 < n) i++;
          out += value[i++];
        }
        if (value[i] !== '"') ok = false; // unterminated
        i++;
        v = out;
        while (i < n && value[i] !== ",") {
          if (value[i] !== " " && value[i] !== "\t") ok = false;
          i++;
        }
      } else {
        let k = i;
        while (k < n && value[k] !== ",") k++;
        v = value.slice(i, k).trim();
        if (!TOKEN.test(v)) ok = false;
        i = k;
      }
    }
    if (!ok || name === "") continue;
    const prev = map.get(name);
    if (prev !== undefined && prev !== v) conflicting.add(name);
    if (prev === undefined) map.set(name, v);
  }
  return { map, conflicting };
}

/**
 * A delta-seconds directive value (RFC 9111 §1.2.2): digits only, capped at 2^31. Anything else
 * (negative, fractional, empty, conflicting duplicates) is `"invalid"`; absent is `undefined`.
 */
export function deltaSeconds(d: CacheDirectives, name: string): number | "invalid" | undefined {
  const v = d.map.get(name);
  if (v === undefined) return undefined;
  if (d.conflicting.has(name) || !/^\d+$/.test(v)) return "invalid";
  return Math.min(Number(v.length > 12 ? "2147483648" : v), 2_147_483_648);
}

/**
 * The `Age` value in seconds (RFC 9111 §5.1): the first member of a list, a non-negative integer;
 * anything else is ignored (0).
 * @example
 * parseAge("7200, 0"); // 7200
 * parseAge("-5");      // 0
 */
export function parseAge(value: string | null): number {
  if (value === null) return 0;
  const first = value.split(",")[0]!.trim();
  return /^\d+$/.test(first) ? Math.min(Number(first.length > 12 ? "2147483648" : first), 2_147_483_648) : 0;
}

const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const LONG_DAY = "(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)";
const MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const IMF = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`);

function utc(y: number, mon: string, d: number, h: number, m: number, s: number): number | null {
  const month = MONTHS.indexOf(mon);
  if (d < 1 || d > 31 || h > 23 || m > 59 || s > 60) return null;
  const t = Date.UTC(y, month, d, h, m, Math.min(s, 59));
  return new Date(t).getUTCDate() === d ? t : null;
}

/**
 * An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, or the obsolete RFC 850 and asctime forms) in Unix ms,
 * or null when the value is not one — e.g. `Thu 01 Dec 2030 16:00:00 GMT` (no comma) or `0`.
 * @example
 * parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"); // 784111777000
 */
export function parseHttpDate(value: string | null): number | null {
  if (value === null) return null;
  const v = value.trim();
  let m = IMF.exec(v);
  if (m) return utc(Number(m[3]), m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850.exec(v);
  if (m) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past century.
    let y = 2000 + Number(m[3]);
    if (y > new Date().getUTCFullYear() + 50) y -= 100;
    return utc(y, m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME.exec(v);
  // asctime: month, day, h, m, s, year (the weekday is not captured).
  if (m) return utc(Number(m[6]), m[1]!, Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return null;
}
