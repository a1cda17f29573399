/**
 * Which responses may be cached by the edge and delivered by peers: only publicly cacheable ones.
 * Pure: no I/O, no clock — the same rule is used by `/c/` (cache or pass through) and `/m/` (409).
 */
import { parseDirectives } from "./http-fields";
import { keyedFields, varyFields } from "./vary-key";

/**
 * `Content-Encoding` values whose body reaches the Worker as identity bytes: `identity`, and the two
 * codings workerd's fetch() decodes itself (exact, case-sensitive match — measured with miniflare at
 * compatibility date 2026-04-20: `gzip` and `br` decoded; `deflate`, `x-gzip`, `GZIP`, `gzip, identity`
 * passed through encoded).
 */
export const RUNTIME_DECODED: ReadonlySet<string> = new Set(["identity", "gzip", "br"]);

/** Why a request/response pair is not eligible. */
export type IneligibleReason =
  | "method" | "status" | "private" | "no-store" | "set-cookie" | "vary-star" | "vary" | "encoding" | "authorization" | "cookie";

/** The verdict; `reason` is set when not eligible. */
export type Eligibility = { eligible: true } | { eligible: false; reason: IneligibleReason };

/**
 * Parses a Cache-Control header into lowercase directive → value ("" for bare directives), strictly
 * (quoted strings, malformed members skipped: functions/http-fields.ts).
 */
export function parseCacheControl(value: string | null): Map<string, string> {
  return new Map(parseDirectives(value).map);
}

/**
 * RFC 9213 targeted fields, highest precedence first: when present, the edge (a CDN) takes its
 * freshness from the first of them instead of Cache-Control.
 */
export const TARGETED_CACHE_CONTROL = ["cloudflare-cdn-cache-control", "cdn-cache-control"] as const;

/**
 * The Cache-Control value that governs the edge: the first targeted field present, else Cache-Control.
 * @example
 * edgeCacheControl(new Headers({ "cache-control": "max-age=60", "cdn-cache-control": "max-age=600" })); // "max-age=600"
 */
export function edgeCacheControl(h: Headers): string | null {
  for (const k of TARGETED_CACHE_CONTROL) {
    const v = h.get(k);
    if (v !== null) return v;
  }
  return h.get("cache-control");
}

/**
 * Request-side half of the rule: a request carrying credentials is never served from, or stored
 * into, a shared cache (RFC 9111 §3.5 for Authorization; Cookie because the origin may vary on it
 * without saying so).
 */
export function requestEligibility(method: string, headers: Headers): Eligibility {
  if (method !== "GET" && method !== "HEAD") return { eligible: false, reason: "method" };
  if (headers.has("authorization")) return { eligible: false, reason: "authorization" };
  if (headers.has("cookie")) return { eligible: false, reason: "cookie" };
  return { eligible: true };
}

/**
 * The full rule: GET (HEAD is judged like the GET it describes), status 200, no
 * `Cache-Control: private|no-store` (nor in `CDN-Cache-Control`, RFC 9213), no `Set-Cookie`, no `Vary: *`, no encoding left encoded, and
 * no Vary on a field that selects between variants (`vary`: the only reason a response is still
 * stored, per variant), no Authorization/Cookie on the request.
 * @example
 * const verdict = eligibility("GET", req.headers, 200, res.headers);
 * if (!verdict.eligible) console.log(verdict.reason);
 */
export function eligibility(method: string, requestHeaders: Headers, status: number, responseHeaders: Headers): Eligibility {
  const req = requestEligibility(method, requestHeaders);
  if (!req.eligible) return req;
  if (status !== 200) return { eligible: false, reason: "status" };
  // Stricter than RFC 9213 on purpose: a targeted field may let a CDN store what Cache-Control calls
  // private, but peers are not a CDN — private/no-store in either field keeps content off the swarm.
  const general = parseCacheControl(responseHeaders.get("cache-control"));
  const targeted = parseCacheControl(edgeCacheControl(responseHeaders));
  if (general.has("private") || targeted.has("private")) return { eligible: false, reason: "private" };
  if (general.has("no-store") || targeted.has("no-store")) return { eligible: false, reason: "no-store" };
  if (responseHeaders.has("set-cookie")) return { eligible: false, reason: "set-cookie" };
  // RFC 9110 §12.5.5: `Vary: *` means the response depends on more than the request headers
  // (an unusable list — non-token names, too many — is treated alike: functions/vary-key.ts).
  const vary = varyFields(responseHeaders);
  if (vary === "*") return { eligible: false, reason: "vary-star" };
  // The edge asks for identity; an origin may still encode. workerd's fetch() decodes exactly `gzip`
  // and `br` itself (content-loader.ts then drops the stale encoding headers); any other coding
  // would leave encoded bytes that ranges, hashes and peer-assembled responses cannot use.
  const ce = responseHeaders.get("content-encoding");
  if (ce !== null && !RUNTIME_DECODED.has(ce)) return { eligible: false, reason: "encoding" };
  // RFC 9111 §4.1: a response chosen by a request field the edge forwards (Accept, Accept-Language,
  // any other field it then forwards) has one variant per value. The edge stores each under its own
  // secondary key (functions/vary-key.ts), so `vary` is the one reason that still allows storing —
  // but such a variant is never shared by peers: a swarm serves one byte string to every member.
  // Fields that never differ at the origin (Accept-Encoding is always `identity`; Origin, Cookie, …
  // are never forwarded) leave a single variant, which stays eligible.
  if (keyedFields(vary).length > 0) return { eligible: false, reason: "vary" };
  return { eligible: true };
}
