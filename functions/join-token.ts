/**
 * Swarm join tokens: short-lived HMAC-SHA-256 signatures over (root, peer id, expiry), issued with
 * each manifest and required by the swarm WebSocket endpoint. They stop anyone from opening swarms
 * for content the edge never served, and bind a socket to the peer id it will announce.
 *
 * Format: `base64url(JSON {r, p, e, n, z, s?}) "." base64url(HMAC-SHA-256(secret, payload))`.
 *
 * Besides who and where, a token carries what the item is — its chunk count `n` and byte size `z`,
 * from the manifest the edge just served — so the coordinator can bound what a peer may claim
 * (held chunks < n; byte counters within what a peer could have moved) without trusting the peer,
 * and `s` (supernode) only when the caller showed the edge's `SUPERNODE_KEY`.
 */
import { MAX_CHUNKS } from "../protocol/manifest";
import { fromBase64Url, toBase64Url } from "../protocol/base64";

/** What a valid token says. */
export interface JoinClaims {
  /** Swarm root (hex SHA-256). */
  root: string;
  /** Peer id the token was issued to. */
  peerId: string;
  /** Expiry, Unix milliseconds. */
  expires: number;
  /** Chunks of the item (0 … `MAX_CHUNKS`): the coordinator refuses claims of chunk indices ≥ this. */
  chunks: number;
  /** Bytes of the item: the coordinator clamps the peer's byte counters with it. */
  size: number;
  /** Issued to a configured supernode (the caller showed `SUPERNODE_KEY`): may join as `kind: "supernode"`. */
  supernode?: boolean;
}

/** Why a token was refused. `wrong-root` and `expired` are 403; `bad-token` is 401. */
export type TokenError = "bad-token" | "expired" | "wrong-root";

const enc = new TextEncoder();
const MAX_TOKEN_LENGTH = 1024;

// One imported key per secret and isolate: importKey costs about as much as the HMAC itself, and
// every manifest and every swarm upgrade needs the key. A secret rotation brings a new isolate (new
// deploy/config), so the map holds one or two entries.
const keys = new Map<string, Promise<CryptoKey>>();

function key(secret: string): Promise<CryptoKey> {
  if (!secret) return Promise.reject(new Error("TOKEN_SECRET is not configured"));
  let k = keys.get(secret);
  if (!k) {
    k = crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, k);
    k.catch(() => keys.delete(secret));
  }
  return k;
}

/**
 * Signs a join token.
 * @example
 * const token = await signJoinToken(env.TOKEN_SECRET, { root, peerId, expires: Date.now() + 600_000 });
 */
export async function signJoinToken(secret: string, claims: JoinClaims): Promise<string> {
  const body: Record<string, unknown> = { r: claims.root, p: claims.peerId, e: claims.expires, n: claims.chunks, z: claims.size };
  if (claims.supernode) body.s = 1;
  const payload = toBase64Url(enc.encode(JSON.stringify(body)));
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await key(secret), enc.encode(payload)));
  return `${payload}.${toBase64Url(sig)}`;
}

/**
 * Verifies a join token for `root` at time `now` (ms). The signature is checked with
 * `crypto.subtle.verify`, which compares in constant time.
 */
export async function verifyJoinToken(
  secret: string,
  token: string,
  root: string,
  now: number,
): Promise<{ ok: true; claims: JoinClaims } | { ok: false; error: TokenError }> {
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return { ok: false, error: "bad-token" };
  const [payload, sig, extra] = token.split(".");
  if (!payload || !sig || extra !== undefined) return { ok: false, error: "bad-token" };
  const sigBytes = fromBase64Url(sig);
  const body = fromBase64Url(payload);
  if (!sigBytes || !body) return { ok: false, error: "bad-token" };
  const valid = await crypto.subtle.verify("HMAC", await key(secret), sigBytes, enc.encode(payload));
  if (!valid) return { ok: false, error: "bad-token" };
  let c: { r?: unknown; p?: unknown; e?: unknown; n?: unknown; z?: unknown; s?: unknown };
  try {
    c = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return { ok: false, error: "bad-token" };
  }
  if (typeof c.r !== "string" || typeof c.p !== "string" || typeof c.e !== "number") return { ok: false, error: "bad-token" };
  // Signed by us, so these are ours; checked anyway, since a coordinator trusts them as bounds.
  if (!Number.isSafeInteger(c.n) || (c.n as number) < 0 || (c.n as number) > MAX_CHUNKS) return { ok: false, error: "bad-token" };
  if (!Number.isSafeInteger(c.z) || (c.z as number) < 0) return { ok: false, error: "bad-token" };
  if (c.r !== root) return { ok: false, error: "wrong-root" };
  if (c.e <= now) return { ok: false, error: "expired" };
  const claims: JoinClaims = { root: c.r, peerId: c.p, expires: c.e, chunks: c.n as number, size: c.z as number };
  if (c.s === 1) claims.supernode = true;
  return { ok: true, claims };
}

export { SUPERNODE_KEY_HEADER } from "../protocol/swarm-protocol";

/**
 * Whether `shown` (the {@link SUPERNODE_KEY_HEADER} of a request) is the configured `SUPERNODE_KEY`.
 * No key configured → nobody is a supernode (the safe default). Compared in constant time over
 * SHA-256 digests, so neither length nor content leaks through timing.
 * @example
 * const supernode = await isSupernodeKey(env.SUPERNODE_KEY, c.req.header(SUPERNODE_KEY_HEADER));
 */
export async function isSupernodeKey(configured: string | undefined, shown: string | null | undefined): Promise<boolean> {
  if (!configured || !shown || shown.length > MAX_TOKEN_LENGTH) return false;
  const [a, b] = await Promise.all([configured, shown].map(async (v) => new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(v)))));
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= a![i]! ^ b![i]!; // no early exit
  return diff === 0;
}
