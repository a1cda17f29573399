/**
 * Content manifest: the edge's description of one content item, shared by the edge Worker
 * (which computes it while the body streams), the swarm coordinator and the client SDK (which
 * verifies every peer chunk against it).
 *
 * Swarms are keyed by `root = sha256(concatenated raw chunk hashes)`: the same bytes under two URLs
 * share one swarm, a new version gets a new swarm, and stale chunks can never match.
 */

/** Default chunk size: 256 KiB. Peer frames carry at most 16 KiB, so one chunk is 16+ frames. */
export const DEFAULT_CHUNK_SIZE = 256 * 1024;
/** Smallest and largest configurable chunk sizes. */
export const MIN_CHUNK_SIZE = 16 * 1024;
export const MAX_CHUNK_SIZE = 4 * 1024 * 1024;
/** Most chunks one manifest may list (256 KiB × 65,536 = 16 GiB). Bounds bitfields and JSON. */
export const MAX_CHUNKS = 65_536;

/** A SHA-256 digest as 64 lowercase hex characters. */
export type Sha256Hex = string;

/** The manifest of one content item. */
export interface Manifest {
  /** The public URL path under the edge, e.g. `/c/demo/video.mp4`. */
  url: string;
  /** The origin's validator (ETag, else Last-Modified, else "") — which version was hashed. */
  version: string;
  /** Total size in bytes. */
  size: number;
  /** The origin's Content-Type. */
  type: string;
  /** Chunk size in bytes; the last chunk may be shorter. */
  chunkSize: number;
  /** SHA-256 of each chunk, hex. */
  chunks: Sha256Hex[];
  /** SHA-256 over the concatenated raw (32-byte) chunk digests, hex. Names the swarm. */
  root: Sha256Hex;
}

/** What `GET /m/<path>` answers: the manifest plus what a peer needs to join its swarm. */
export interface ManifestResponse {
  manifest: Manifest;
  join: {
    /** The peer id the token is bound to (the one the client sent as `?peer=`, or a fresh one). */
    peerId: string;
    /** Signed join token for `GET /swarm/<swarm>?token=…`. */
    token: string;
    /** Expiry, Unix milliseconds. */
    expires: number;
    /** Path of the swarm WebSocket endpoint, relative to the edge origin. */
    url: string;
    /**
     * The swarm this item's peers meet in (protocol/collection.ts): the item's root (scope `item`)
     * or its collection's id, which the token is issued for. Absent: the root.
     */
    swarm?: string;
  };
  /** ICE servers from the edge's configuration (RTCIceServer[]). */
  iceServers: { urls: string | string[]; username?: string; credential?: string }[];
}

/** HTTP status of a {@link ManifestPending} answer from `GET /m/<path>`. */
export const MANIFEST_PENDING_STATUS = 202;

/**
 * What `GET /m/<path>` answers (status {@link MANIFEST_PENDING_STATUS}, plus a `Retry-After` header)
 * while the edge has not yet hashed a cold item: the first visitor must never wait for a whole-object
 * hash, so the SDK streams the item from `/c/<path>` at once (a plain edge fetch) and asks `/m/`
 * again later (after `retryAfter` seconds) to join the swarm and seed what it holds, once verified.
 */
export interface ManifestPending {
  status: "pending";
  /** The public URL path under the edge, e.g. `/c/demo/video.mp4`: where to stream it from now. */
  url: string;
  /** The object's size when the origin announced it, else null. */
  size: number | null;
  /** Seconds after which the manifest is likely ready. */
  retryAfter: number;
}

/**
 * Query parameter of `GET /m/<path>` (value `1`) by which the SDK accepts the item itself as the
 * answer for a cold item: where the edge would answer {@link MANIFEST_PENDING_STATUS} while it holds
 * the item's body (its fill in progress), it answers that body instead — `/c/`'s 200, marked with
 * {@link MANIFEST_PENDING_HEADER}. The first visitor's bytes then start one edge round trip sooner
 * than with a 202 followed by a `GET /c/`, and the edge fetches and reads the origin once for both.
 */
export const MANIFEST_INLINE_PARAM = "inline";

/**
 * Response header of such an answer (exposed to cross-origin scripts): its value is the
 * `retryAfter` of the {@link ManifestPending} it stands for, in seconds; the body is the whole item.
 */
export const MANIFEST_PENDING_HEADER = "x-edgeswarm-manifest-pending";

/**
 * Query parameter of `GET /m/<path>` (value: a chunk count, 1 … {@link MANIFEST_LEAD_MAX_CHUNKS}) by
 * which the SDK asks a manifest answer to carry the item's first chunks after the JSON: the edge
 * would be asked for those bytes one round trip later anyway (the download's first edge run), so
 * they leave with the manifest and the visitor's link is busy from the first round trip on, as with
 * a plain GET. Ignored where the answer is not a manifest (pending, inline item, errors).
 */
export const MANIFEST_LEAD_PARAM = "lead";

/** Most chunks a manifest answer carries after its JSON ({@link MANIFEST_LEAD_PARAM}). */
export const MANIFEST_LEAD_MAX_CHUNKS = 64;

/**
 * Response header of a manifest answer that carries lead bytes (exposed to cross-origin scripts):
 * `<json> <lead>` — the body is `<json>` bytes of a `ManifestResponse` (UTF-8 JSON), then the
 * item's bytes `[0, <lead>)`, which the client verifies chunk by chunk like any edge bytes.
 */
export const MANIFEST_LEAD_HEADER = "x-edgeswarm-manifest-lead";

/** The {@link MANIFEST_LEAD_HEADER} value of a body of `json` JSON bytes then `lead` item bytes. */
export const formatManifestLead = (json: number, lead: number): string => `${json} ${lead}`;

/** Parses a {@link MANIFEST_LEAD_HEADER} value; `null` unless it is two non-negative safe integers. */
export function parseManifestLead(value: string | null): { json: number; lead: number } | null {
  const m = value === null ? null : /^(\d{1,15}) (\d{1,15})$/.exec(value.trim());
  return m ? { json: Number(m[1]), lead: Number(m[2]) } : null;
}

/** True when an untrusted JSON value has the shape of a {@link ManifestPending}. */
export function isManifestPending(value: unknown): value is ManifestPending {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.status === "pending" && typeof v.url === "string" && (v.size === null || Number.isSafeInteger(v.size)) &&
    typeof v.retryAfter === "number" && Number.isFinite(v.retryAfter) && v.retryAfter >= 0;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Number of chunks for a size and chunk size (an empty object has zero chunks). */
export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** Byte range `[start, end)` of chunk `index`. */
export function chunkRange(m: Pick<Manifest, "size" | "chunkSize">, index: number): [number, number] {
  const start = index * m.chunkSize;
  return [start, Math.min(start + m.chunkSize, m.size)];
}

/** Byte length of chunk `index` (0 past the end): the length of {@link chunkRange}, never negative. */
export function chunkLength(m: Pick<Manifest, "size" | "chunkSize">, index: number): number {
  return Math.max(0, Math.min(m.chunkSize, m.size - index * m.chunkSize));
}

/** Lowercase hex of bytes. */
export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (let i = 0; i < u8.length; i++) out += (u8[i]! < 16 ? "0" : "") + u8[i]!.toString(16);
  return out;
}

/** Bytes of a hex string (assumed valid, even length). */
export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** SHA-256 of bytes as hex, via WebCrypto (present in Workers, browsers and Node ≥ 20). */
export async function sha256Hex(data: ArrayBuffer | Uint8Array): Promise<Sha256Hex> {
  return toHex(await crypto.subtle.digest("SHA-256", data as BufferSource));
}

/** The swarm root of a list of chunk hashes: SHA-256 over their concatenated raw digests. */
export async function computeRoot(chunks: readonly Sha256Hex[]): Promise<Sha256Hex> {
  const all = new Uint8Array(chunks.length * 32);
  chunks.forEach((h, i) => all.set(fromHex(h), i * 32));
  return sha256Hex(all);
}

/** True for a 64-character lowercase hex SHA-256 digest (e.g. a swarm root in a URL). */
export function isSha256Hex(value: unknown): value is Sha256Hex {
  return typeof value === "string" && HEX64.test(value);
}

/**
 * Validates untrusted JSON (from the network or a cache) into a {@link Manifest}, or returns a
 * reason. Checks the arithmetic too (chunk count matches size/chunkSize), not the root hash: the
 * manifest comes from the configured edge, which computed the root (`computeRoot`); peers' bytes
 * are checked against its chunk hashes.
 */
export function parseManifest(value: unknown): { ok: true; manifest: Manifest } | { ok: false; reason: string } {
  if (typeof value !== "object" || value === null) return { ok: false, reason: "manifest is not an object" };
  const v = value as Record<string, unknown>;
  if (typeof v.url !== "string" || v.url.length > 4096) return { ok: false, reason: "bad url" };
  if (typeof v.version !== "string" || v.version.length > 1024) return { ok: false, reason: "bad version" };
  if (typeof v.type !== "string" || v.type.length > 256) return { ok: false, reason: "bad type" };
  if (!Number.isSafeInteger(v.size) || (v.size as number) < 0) return { ok: false, reason: "bad size" };
  const cs = v.chunkSize as number;
  if (!Number.isSafeInteger(cs) || cs < MIN_CHUNK_SIZE || cs > MAX_CHUNK_SIZE) return { ok: false, reason: "bad chunkSize" };
  if (!Array.isArray(v.chunks) || v.chunks.length > MAX_CHUNKS) return { ok: false, reason: "bad chunks" };
  if (v.chunks.length !== chunkCount(v.size as number, cs)) return { ok: false, reason: "chunk count does not match size" };
  if (!v.chunks.every(isSha256Hex)) return { ok: false, reason: "bad chunk hash" };
  if (!isSha256Hex(v.root)) return { ok: false, reason: "bad root" };
  return {
    ok: true,
    manifest: {
      url: v.url, version: v.version, type: v.type, size: v.size as number, chunkSize: cs,
      chunks: [...(v.chunks as string[])], root: v.root,
    },
  };
}
