/**
 * Swarm join tokens: short-lived HMAC-SHA-256 signatures over (root, peer id, expiry), issued with
 * each manifest and required by the swarm WebSocket endpoint. They stop anyone from opening swarms
 * for content the edge never served, and bind a socket to the peer id it will announce.
 *
 * Format: `base64url(JSON {r, p, e}) "." base64url(HMAC-SHA-256(secret, payload))`.
 */
import { fromBase64Url, toBase64Url } from "../protocol/base64";

/** What a valid token says. */
export interface JoinClaims {
  /** Swarm root (hex SHA-256). */
  root: string;
  /** Peer id the token was issued to. */
  peerId: string;
  /** Expiry, Unix milliseconds. */
  expires: number;
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
  const payload = toBase64Url(enc.encode(JSON.stringify({ r: claims.root, p: claims.peerId, e: claims.expires })));
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
  let c: { r?: unknown; p?: unknown; e?: unknown };
  try {
    c = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return { ok: false, error: "bad-token" };
  }
  if (typeof c.r !== "string" || typeof c.p !== "string" || typeof c.e !== "number") return { ok: false, error: "bad-token" };
  if (c.r !== root) return { ok: false, error: "wrong-root" };
  if (c.e <= now) return { ok: false, error: "expired" };
  return { ok: true, claims: { root: c.r, peerId: c.p, expires: c.e } };
}
