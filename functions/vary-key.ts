/**
 * `Vary` as a secondary cache key (RFC 9111 §4.1).
 *
 * A response with `Vary: A, B` is stored under a key that adds the request's normalised values of
 * A and B — as the edge *forwarded* them to the origin, since those are what the origin chose by.
 * A request cannot know the Vary list before it has the response, so the URL's primary key holds a
 * small {@link VaryRecord} instead of a body (the last Vary list seen, plus a generation id): the
 * lookup reads it, computes its secondary key, and reads again — what CDNs do. The generation is in
 * every variant key, so deleting the record (purge, unsafe-method invalidation) orphans every old
 * variant at once without listing them; they age out of the cache.
 *
 * Fields whose forwarded value is the same for every request (`Accept-Encoding`: always `identity`;
 * the fields the edge never sends to the origin, {@link NEVER_FORWARDED}) add nothing to the key:
 * a response varying only on them has one variant, is stored under the primary key as before, and
 * is the only kind of varied response peers may share. Any other field is "keyed": its variants
 * are stored apart, the edge forwards that field to the origin, and `/m/` answers 409.
 */
import { INTERNAL_HOST, VARY_GENERATION, VARY_RECORD } from "./edge-cache";
import { STORED_AT } from "./freshness";
import { originHeaders } from "./origin-fetch";

/** Request fields the edge never sends to the origin on the cacheable path, even when a response varies on them. */
export const NEVER_FORWARDED: ReadonlySet<string> = new Set([
  // Credentials: such requests bypass the cache altogether (eligibility.ts).
  "authorization", "proxy-authorization", "cookie",
  // The edge answers CORS itself (cors.ts); the stored bytes never depend on the caller's site.
  "origin",
  // Hop-by-hop and framing (RFC 9110 §7.6.1), and the edge's own conditional/range handling.
  "host", "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect",
  "content-length", "range", "if-range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since",
  // Client addresses: per visitor, and not the origin's business.
  "forwarded", "via", "x-real-ip", "true-client-ip",
]);
const NEVER_FORWARDED_PREFIXES = ["cf-", "x-forwarded-"];

/** Fields always forwarded with one fixed value: `accept-encoding: identity` (origin-fetch.ts). */
const CONSTANT = new Set(["accept-encoding"]);

/** Most field names in one Vary list the edge keys by; a longer list is treated like `Vary: *`. */
export const MAX_VARY_FIELDS = 16;
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]{1,64}$/;

/**
 * The normalised Vary list of a response: lowercase names, deduplicated, sorted; `[]` without
 * Vary; `"*"` for `Vary: *` — and for a list the edge will not key by (a non-token name, more than
 * {@link MAX_VARY_FIELDS} names), which is then not stored, like `*`.
 * @example
 * varyFields(new Headers({ vary: "Foo, accept-encoding", "Vary": "foo" })); // ["accept-encoding", "foo"]
 */
export function varyFields(h: Headers): string[] | "*" {
  const raw = h.get("vary");
  if (raw === null) return [];
  const names = new Set<string>();
  for (const part of raw.split(",")) {
    const name = part.trim().toLowerCase();
    if (name === "") continue;
    if (name === "*" || !TOKEN.test(name)) return "*";
    names.add(name);
  }
  if (names.size > MAX_VARY_FIELDS) return "*";
  return [...names].sort();
}

/** True if the edge may send `name` to the origin when a response varies on it. */
export function forwardable(name: string): boolean {
  return !NEVER_FORWARDED.has(name) && !NEVER_FORWARDED_PREFIXES.some((p) => name.startsWith(p));
}

/** The fields of a Vary list that select between variants (those the edge forwards with the client's value). */
export function keyedFields(fields: readonly string[]): string[] {
  return fields.filter((f) => !CONSTANT.has(f) && forwardable(f));
}

/**
 * True if a response with these headers has a single variant for every client (no Vary, or Vary
 * only on fields that never differ at the origin): the condition for storing it under the primary
 * key and for sharing it between peers.
 */
export function singleVariant(h: Headers): boolean {
  const fields = varyFields(h);
  return fields !== "*" && keyedFields(fields).length === 0;
}

/**
 * The origin request headers for a cacheable request: origin-fetch.ts's fixed set plus the
 * client's values of the keyed fields of `fields` (the URL's last seen Vary list).
 */
export function forwardedHeaders(client: Headers, fields: readonly string[] = []): Headers {
  const h = originHeaders(client, false);
  for (const f of keyedFields(fields)) {
    const v = client.get(f);
    if (v !== null) h.set(f, v);
  }
  return h;
}

/**
 * Keyed fields of `fields` that the client sent but `sent` lacks: the origin chose without them,
 * so its answer is not the one this client asked for (a first fill, before the URL's Vary was known).
 */
export function unsentFields(fields: readonly string[], client: Headers, sent: Headers): string[] {
  return keyedFields(fields).filter((f) => client.has(f) && !sent.has(f));
}

/**
 * RFC 9111 §4.1: a field's value for matching — its field lines combined, whitespace around list
 * members removed and runs of whitespace made one space; `null` when absent (an absent field only
 * matches an absent field).
 */
export function selectingValue(h: Headers, name: string): string | null {
  const v = h.get(name);
  if (v === null) return null;
  return v.split(",").map((m) => m.trim().replace(/[ \t]+/g, " ")).join(",");
}

/** How long a Vary record is kept, seconds (a lost record only costs its variants one miss each). */
export const VARY_RECORD_SECONDS = 30 * 24 * 3600;

/** What the primary key holds for a URL whose responses vary on keyed fields. */
export interface VaryRecord {
  fields: string[];
  generation: string;
}

/** The stored form of a Vary record (no body; `STORED_AT` so purges see its age). */
export function varyRecordResponse(r: VaryRecord, now: number): Response {
  return new Response(null, {
    headers: {
      [VARY_RECORD]: r.fields.join(","),
      [VARY_GENERATION]: r.generation,
      [STORED_AT]: String(now),
      "cache-control": `public, s-maxage=${VARY_RECORD_SECONDS}`,
    },
  });
}

/** The Vary record a stored primary-key response is, or null for an ordinary stored response. */
export function readVaryRecord(stored: Response): VaryRecord | null {
  const list = stored.headers.get(VARY_RECORD);
  const generation = stored.headers.get(VARY_GENERATION);
  if (list === null || generation === null || !/^[0-9a-f]{1,32}$/.test(generation)) return null;
  const fields = varyFields(new Headers({ vary: list }));
  return fields === "*" || fields.length === 0 ? null : { fields, generation };
}

/** A fresh generation id. */
export function newGeneration(): string {
  return crypto.randomUUID().replace(/-/g, "").slice(0, 16);
}

/** True if two normalised Vary lists are equal. */
export function sameFields(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");

/**
 * The cache key of one variant: the generation and a SHA-256 of the keyed fields' selecting values
 * (as forwarded, `sent`), then the origin URL. Its own `/cv/` namespace: no request URL can ever
 * produce it (content keys are `/c/…`).
 * @example
 * await variantKey(new URL("https://o.test/a.bin"), { fields: ["foo"], generation: "ab12" }, new Headers({ foo: "x" }));
 * // https://edgeswarm.internal/cv/ab12.<32 hex>/https%3A%2F%2Fo.test/a.bin
 */
export async function variantKey(originUrl: URL, record: VaryRecord, sent: Headers): Promise<string> {
  const selecting = keyedFields(record.fields).map((f) => [f, selectingValue(sent, f)]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(selecting)));
  return `${INTERNAL_HOST}/cv/${record.generation}.${hex(digest).slice(0, 32)}/${encodeURIComponent(originUrl.origin)}${originUrl.pathname}${originUrl.search}`;
}
