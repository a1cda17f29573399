/**
 * Request-path hygiene for `/c/` and `/m/`: the part of the path after the route prefix is appended
 * to a configured origin base URL, so it must not be able to climb out of that base or name another
 * host. Anything ambiguous is refused (400 `bad-path`) rather than normalised: a CDN path has no
 * legitimate reason to contain encoded slashes, dot segments, `@`, backslashes or control bytes, and
 * refusing is the only rule that cannot disagree with how the origin's server would decode it.
 */
import { HttpError } from "./http-error";

/** Longest request path accepted (bytes of the raw, percent-encoded form). Longer → 414. */
export const MAX_PATH_LENGTH = 2048;
/** How many rounds of percent-decoding are inspected (catches `%252e%252e`, `%25252f`, …). */
const DECODE_ROUNDS = 4;

// Checked on every decoding round of the path:
//  - %2f / %5c: an encoded slash or backslash becomes a separator at some servers (CVE-rich area);
//  - `\`: WHATWG URL treats it as `/` for special schemes;
//  - `@`: userinfo separator — `http://base@evil/` tricks;
//  - `//`: an empty segment, and the start of a scheme-relative URL;
//  - C0 controls and DEL (raw or encoded): header/request splitting, truncation (%00).
const FORBIDDEN = /%2f|%5c|\\|@|\/\/|[\u0000-\u001f\u007f]|%[01][0-9a-f]|%7f/i;

function decodeOnce(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, "bad-path", "malformed percent-encoding in path");
  }
}

function hasDotSegment(s: string): boolean {
  return s.split("/").some((seg) => seg === "." || seg === "..");
}

/**
 * Validates the route-relative rest of a path (raw, percent-encoded, no leading slash) and returns
 * it unchanged. Throws `HttpError(400, "bad-path")` for anything that could escape the route, and
 * `HttpError(414)` when too long.
 * @example
 * checkRelativePath("video/intro.mp4");          // "video/intro.mp4"
 * checkRelativePath("a/%2e%2e/secret");          // throws bad-path
 */
export function checkRelativePath(rest: string): string {
  if (rest.length > MAX_PATH_LENGTH) throw new HttpError(414, "uri-too-long", `path longer than ${MAX_PATH_LENGTH} bytes`);
  if (rest === "") throw new HttpError(400, "bad-path", "empty path under the route");
  if (rest.startsWith("/")) throw new HttpError(400, "bad-path", "path must not start with //");
  let stage = rest;
  for (let round = 0; round <= DECODE_ROUNDS; round++) {
    if (FORBIDDEN.test(stage)) throw new HttpError(400, "bad-path", "path contains a forbidden sequence");
    if (hasDotSegment(stage)) throw new HttpError(400, "bad-path", "path contains a dot segment");
    // `scheme:` as the first segment is harmless after concatenation, but refusing it keeps
    // "absolute URL in the path" out of every downstream log and origin router.
    if (/^[a-z][a-z0-9+.-]*:/i.test(stage)) throw new HttpError(400, "bad-path", "path looks like an absolute URL");
    if (!stage.includes("%")) return rest;
    stage = decodeOnce(stage);
  }
  throw new HttpError(400, "bad-path", "path is percent-encoded too many times");
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * RFC 3986 §6.2.2.1–2 normalisation of a (checked) path: percent-encoded unreserved characters are
 * decoded and other escapes get uppercase hex. Equivalent URLs then make one cache key and one origin
 * fetch; without it `a%62c.bin`, `ab%63.bin`, … would each pull and store the same object again.
 * @example
 * normalizePercentEncoding("a%62c/%c3%a9.bin"); // "abc/%C3%A9.bin"
 */
export function normalizePercentEncoding(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const ch = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
}
