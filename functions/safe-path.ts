/**
 * Request-path hygiene for `/c/` and `/m/`. Safety comes by construction: the route-relative rest
 * of a path is split into segments, each segment percent-decoded once and re-encoded canonically
 * (RFC 3986 `pchar`: unreserved, sub-delims, `:` and `@` stay literal, everything else becomes
 * `%XX` of its UTF-8 bytes), and the origin URL is `base + that` (route-table.ts then requires the
 * parsed URL to have exactly the base's origin and that path). So every character a file name may
 * hold works — `logo@2x.png`, `a:b.png`, `100%.txt`, `café.bin` — while nothing can name a host.
 *
 * Refused (400 `bad-path`) are only the things that are not file names and that some server along
 * the way would turn into a separator or a climb: dot segments, empty segments (`//`), encoded `/`
 * or `\`, raw `\`, and control bytes — checked through several rounds of decoding, because an
 * origin or proxy that decodes twice must not see `..` either.
 */
import { HttpError } from "./http-error";

/** Longest request path accepted (bytes of the raw, percent-encoded form). Longer → 414. */
export const MAX_PATH_LENGTH = 2048;
/** How many rounds of percent-decoding are inspected (catches `%252e%252e`, `%25252f`, …). */
const DECODE_ROUNDS = 4;

// Checked on every decoding round of the path:
//  - %2f / %5c: an encoded slash or backslash becomes a separator at some servers (CVE-rich area);
//  - `\`: WHATWG URL treats it as `/` for special schemes;
//  - `//`: an empty segment, and the start of a scheme-relative URL;
//  - C0 controls and DEL (raw or encoded): header/request splitting, truncation (%00).
const FORBIDDEN = /%2f|%5c|\\|\/\/|[\u0000-\u001f\u007f]|%[01][0-9a-f]|%7f/i;

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
 * it unchanged. Throws `HttpError(400, "bad-path")` for what could be a separator or a climb at
 * some decoding depth, and `HttpError(414)` when too long.
 * @example
 * checkRelativePath("video/logo@2x.png"); // "video/logo@2x.png"
 * checkRelativePath("a/%2e%2e/secret");   // throws bad-path
 */
export function checkRelativePath(rest: string): string {
  if (rest.length > MAX_PATH_LENGTH) throw new HttpError(414, "uri-too-long", `path longer than ${MAX_PATH_LENGTH} bytes`);
  if (rest === "") throw new HttpError(400, "bad-path", "empty path under the route");
  if (rest.startsWith("/")) throw new HttpError(400, "bad-path", "path must not start with //");
  let stage = rest;
  for (let round = 0; round <= DECODE_ROUNDS; round++) {
    if (FORBIDDEN.test(stage)) throw new HttpError(400, "bad-path", "path contains a forbidden sequence");
    if (hasDotSegment(stage)) throw new HttpError(400, "bad-path", "path contains a dot segment");
    if (!/%[0-9a-f]{2}/i.test(stage)) return rest;
    stage = round === 0 ? decodeOnce(stage) : decodeLenient(stage);
  }
  throw new HttpError(400, "bad-path", "path is percent-encoded too many times");
}

/** Later decoding rounds: a literal `%` that is not an escape is a file-name character, not an error. */
function decodeLenient(s: string): string {
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

// RFC 3986 §3.3 pchar minus pct-encoded: unreserved / sub-delims / ":" / "@".
const PCHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;

/**
 * The canonical form of one decoded path segment: RFC 3986 `pchar` literal, every other byte of
 * its UTF-8 form as uppercase `%XX`. Equivalent spellings (`a%62c`, `abc`) give one cache key and
 * one origin fetch.
 * @example
 * encodeSegment("logo@2x.png"); // "logo@2x.png"
 * encodeSegment("100% café");   // "100%25%20caf%C3%A9"
 */
export function encodeSegment(segment: string): string {
  let out = "";
  for (const ch of segment) {
    if (PCHAR.test(ch)) out += ch;
    else for (const b of new TextEncoder().encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The canonical origin-side form of a checked rest: each segment decoded once, then re-encoded by
 * {@link encodeSegment}.
 * @example
 * canonicalPath("a%62c/%c3%a9.bin"); // "abc/%C3%A9.bin"
 * canonicalPath("img/logo%402x.png"); // "img/logo@2x.png"
 */
export function canonicalPath(rest: string): string {
  return rest.split("/").map((seg) => encodeSegment(decodeOnce(seg))).join("/");
}
