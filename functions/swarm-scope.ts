/**
 * Which swarm a served item's peers meet in: the item's own (scope `item`: the swarm id is its root,
 * the token bounds claims by its chunk count and size) or its collection's (scope `stream` or
 * `route`, protocol/collection.ts: the id is derived from the item's directory or the route prefix,
 * claims are bounded per item by {@link COLLECTION_ITEM_CHUNKS}). The route's `scope` setting
 * decides, else the content type.
 */
import type { Manifest } from "../protocol/manifest";
import { COLLECTION_GRANT_BYTES, COLLECTION_ITEM_CHUNKS, collectionId, collectionKey, defaultScope, type SwarmScope } from "../protocol/collection";
import type { Route } from "./route-table";

/** The swarm of an item, and what its join token grants. */
export interface SwarmOfItem {
  /** Item root or collection id (lowercase hex SHA-256). */
  id: string;
  scope: SwarmScope;
  grant: { chunks: number; size: number };
}

/**
 * @example
 * const s = await swarmOf(target.route, "/demo/stream/vod/hls/seg-001.m4s", manifest);
 * signJoinToken(secret, { root: s.id, peerId, expires, ...s.grant });
 */
export async function swarmOf(route: Pick<Route, "prefix" | "scope">, path: string, manifest: Pick<Manifest, "root" | "type" | "size" | "chunks">): Promise<SwarmOfItem> {
  const scope = route.scope ?? defaultScope(manifest.type, path, manifest.size);
  const key = collectionKey(scope, route.prefix, path);
  if (key === null) return { id: manifest.root, scope, grant: { chunks: manifest.chunks.length, size: manifest.size } };
  return { id: await collectionId(key), scope, grant: { chunks: COLLECTION_ITEM_CHUNKS, size: COLLECTION_GRANT_BYTES } };
}
