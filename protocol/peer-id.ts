/**
 * Peer identity, shared by the edge (`/m/?key=` / `?peer=`), the coordinator and the SDK: the id
 * grammar, the peer key grammar and the derivation of an id from a key — a security contract, so it
 * is written once here and both sides import it.
 *
 * Its own module so that the SDK's first-load bundle, which only checks ids, does not pull in the
 * whole swarm protocol (parsers and encoders the lazily loaded peer side needs): esbuild's code
 * splitting works per module, so one constant imported from `swarm-protocol.ts` would move that
 * module into the chunk every page loads.
 */
import { toBase64Url } from "./base64";

/** 8–64 characters of the URL-safe base64 alphabet: safe in URLs, logs and SQLite keys unescaped. */
export const PEER_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** A peer key: a secret the client keeps (≥ 128 bits of base64url), from which its peer id is derived. */
export const PEER_KEY = /^[A-Za-z0-9_-]{22,128}$/;

const DERIVED_PEER_PREFIX = "pk_";
/** Characters of the digest kept in a derived id: 29 × 6 = 174 bits, beyond any second-preimage search. */
const DERIVED_DIGEST_CHARS = 29;
/** The shape of key-derived peer ids; `?peer=` may not claim it (the edge refuses it there). */
export const DERIVED_PEER_ID = /^pk_[A-Za-z0-9_-]{29}$/;

/**
 * The peer id of a peer key: `pk_` + the first 29 characters of base64url(SHA-256(UTF-8 bytes of the
 * key)). Other peers learn only the id; SHA-256 preimage resistance means nobody can find a key for
 * someone else's id, so nobody can get a token for it and supplant its owner (the swarm object lets
 * the newer connection of a peer id win). No server secret goes in: a client computes its own id
 * before any request, and ids survive a TOKEN_SECRET rotation.
 * @example
 * await peerIdFromKey(randomPeerKey()); // "pk_…" (32 characters)
 */
export async function peerIdFromKey(peerKey: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(peerKey)));
  return DERIVED_PEER_PREFIX + toBase64Url(digest).slice(0, DERIVED_DIGEST_CHARS);
}

/**
 * A fresh peer key: 16 random bytes (128 bits), base64url (22 characters).
 * @example
 * PEER_KEY.test(randomPeerKey()); // true
 */
export const randomPeerKey = (): string => toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
