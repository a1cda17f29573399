/**
 * Collections: one coordinator swarm spanning many content items — a stream's segments, or a
 * route's assets (a page's images) — so a peer holds one coordinator socket per collection instead
 * of one per item. Items keep their own identity and integrity (manifest root, SHA-256 per chunk);
 * the collection only scopes who meets whom. Written once here, imported by the edge (which derives
 * a collection for each manifest it serves), the coordinator and the SDK.
 */
import { isSha256Hex } from "./manifest";

/**
 * How far a route's swarms reach: `item` (one swarm per content item, the pre-collection
 * behaviour), `stream` (one per directory of media segments: an HLS media playlist and its segments,
 * a DASH representation's directory), `route` (one per configured route prefix: a site's images,
 * scripts, styles).
 */
export type SwarmScope = "item" | "stream" | "route";
/** The scope names, for configuration parsing. */
export const SWARM_SCOPES = ["item", "stream", "route"] as const satisfies readonly SwarmScope[];

/**
 * Chunks the coordinator lets a member claim per item of a collection (the token cannot carry each
 * item's count): 4,096 × 256 KiB = 1 GiB per item, far above a media segment or a page asset.
 */
export const COLLECTION_ITEM_CHUNKS = 4096;
/**
 * Items the coordinator tracks per member of a collection (least recently announced dropped first),
 * and the SDK keeps per socket: 64 segments = 2 min of 2 s video (a live window is 6–10), about
 * 10 KB of coordinator memory per member.
 */
export const MAX_ITEMS_PER_MEMBER = 64;
/** Byte bound of a collection join token (clamps a member's `stats` counters, as an item's size does). */
export const COLLECTION_GRANT_BYTES = 4 * 1024 ** 3;
/** Media objects at most this big default to the `stream` scope; bigger ones are items of their own. */
export const STREAM_ITEM_MAX_BYTES = 32 * 1024 * 1024;

const ROUTE_TYPES = /^(image\/|text\/css|text\/javascript|application\/javascript|application\/json|font\/)/i;
const MEDIA_TYPES = /^(video\/|audio\/|application\/mp4)/i;
const SEGMENT_PATH = /\.(m4s|ts|m4v|m4a|mp4|aac|cmfv|cmfa|webm|vtt)$/i;

/**
 * The scope a route without a `scope` setting gives an item: media segments (a media type or a
 * segment file name, at most {@link STREAM_ITEM_MAX_BYTES}) → `stream`; images, scripts, styles,
 * fonts, JSON → `route`; anything else (downloads, large media files) → `item`.
 * @example
 * defaultScope("video/iso.segment", "/v/seg-001.m4s", 400_000); // "stream"
 * defaultScope("image/jpeg", "/g/a.jpg", 80_000); // "route"
 */
export function defaultScope(contentType: string, path: string, size: number): SwarmScope {
  const type = contentType.split(";", 1)[0]!.trim();
  const bare = path.split("?", 1)[0]!;
  if (size <= STREAM_ITEM_MAX_BYTES && (MEDIA_TYPES.test(type) || SEGMENT_PATH.test(bare))) return "stream";
  if (ROUTE_TYPES.test(type)) return "route";
  return "item";
}

/**
 * The collection key of an item: `stream` → the directory of its public path (query dropped: a
 * playlist's segments sit beside it), `route` → the route prefix, `item` → null (the item's root is
 * its swarm). Derived from the served item alone, so nobody can mint collections at will.
 * @example
 * collectionKey("stream", "/demo/", "/demo/stream/vod/hls/seg-001.m4s"); // "stream:/demo/stream/vod/hls/"
 */
export function collectionKey(scope: SwarmScope, routePrefix: string, path: string): string | null {
  if (scope === "item") return null;
  if (scope === "route") return `route:${routePrefix}`;
  const bare = path.split("?", 1)[0]!;
  return `stream:${bare.slice(0, bare.lastIndexOf("/") + 1)}`;
}

/**
 * The collection id: lowercase hex SHA-256 of `edgeswarm-collection\n<key>` — the same shape as an
 * item root, so `/swarm/<id>` and the Durable Object name ({@link swarmObjectName}) treat both alike
 * (an item-scope swarm's id is its root).
 */
export async function collectionId(key: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`edgeswarm-collection\n${key}`));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The Durable Object name of a swarm (item root or collection id) in a shard (or sub-shard,
 * `<shard>~<k>`).
 * @example
 * env.SWARM.idFromName(swarmObjectName(id, "EU"));
 */
export function swarmObjectName(swarm: string, shard: string): string {
  return `swarm:${swarm}:${shard}`;
}

/** Whether `v` is an item root as frames name it (lowercase hex SHA-256). */
export const isItemRoot = isSha256Hex;
