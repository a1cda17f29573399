/**
 * The peer id grammar, shared by the edge (`/m/?peer=`), the coordinator and the SDK.
 *
 * Its own module so that the SDK's first-load bundle, which only checks ids, does not pull in the
 * whole swarm protocol (parsers and encoders the lazily loaded peer side needs): esbuild's code
 * splitting works per module, so one constant imported from `swarm-protocol.ts` would move that
 * module into the chunk every page loads.
 */

/** 8–64 characters of the URL-safe base64 alphabet: safe in URLs, logs and SQLite keys unescaped. */
export const PEER_ID = /^[A-Za-z0-9_-]{8,64}$/;
