/**
 * The internal request by which the Worker hands a verified WebSocket upgrade to a swarm object.
 * Identity (peer id from the join token), location (from `request.cf`) and the shard travel in
 * headers that the object trusts only because nothing but the Worker can reach it: a Durable Object
 * has no public URL, and the Worker builds this request from scratch (client headers never pass).
 */
import type { PeerLocation } from "../protocol/swarm-protocol";
import { PEER_ID } from "../protocol/swarm-protocol";
import { MAX_CHUNKS } from "../protocol/manifest";

const H_PEER = "X-Edgeswarm-Peer";
const H_ROOT = "X-Edgeswarm-Root";
const H_SHARD = "X-Edgeswarm-Shard";
const H_LOCATION = "X-Edgeswarm-Location";
const H_SPILL = "X-Edgeswarm-Spill";
const H_GRANT = "X-Edgeswarm-Grant";

/**
 * What the verified join token grants the peer (`functions/join-token.ts`): the bounds of the item
 * it may make claims about, and whether it may join as a supernode.
 */
export interface JoinGrant {
  /** Chunks of the item: claimed chunk indices must be below this. */
  chunks: number;
  /** Bytes of the item: bounds the peer's byte counters. */
  size: number;
  /** The peer showed the edge's `SUPERNODE_KEY`: `hello` may say `kind: "supernode"`. */
  supernode: boolean;
}

/** What the object learns about a connecting peer. */
export interface ConnectInfo {
  peerId: string;
  root: string;
  shard: string;
  location: PeerLocation;
  grant: JoinGrant;
  /**
   * Spill allowed: when the object is full it answers a plain 503 `swarm-full` (no upgrade) so the
   * Worker can try the next sub-shard. Without it a full object keeps the old answer (101, `swarm-full`
   * frame, close 1013).
   */
  spill?: boolean;
  /**
   * With `spill`: also spill when the object has room but its request budget is spent (503 with
   * `X-Swarm-Busy`, `spill-budget.ts`). Sent as spill header value "2".
   */
  busyOk?: boolean;
}

/** Shard names: short, URL- and name-safe. */
export const SHARD_NAME = /^[A-Za-z0-9_-]{1,16}$/;

/**
 * Names of one object of a shard: the shard itself (sub-shard 0) or `<shard>~<k>`, k = 1..9999
 * without leading zeros (the route also bounds k by `MAX_SUBSHARDS`).
 */
export const SUBSHARD_NAME = /^[A-Za-z0-9_-]{1,16}(~[1-9][0-9]{0,3})?$/;

/**
 * Builds the upgrade request the Worker sends to the object's `fetch`.
 * @example
 * await stub.fetch(buildConnectRequest({ peerId, root, shard: "EU", location: { colo: "FRA" }, grant: { chunks: 16, size: 4_194_304, supernode: false } }));
 */
export function buildConnectRequest(info: ConnectInfo): Request {
  return new Request("https://swarm.internal/connect", {
    headers: {
      Upgrade: "websocket",
      [H_PEER]: info.peerId,
      [H_ROOT]: info.root,
      [H_SHARD]: info.shard,
      [H_LOCATION]: JSON.stringify(sanitizeLocation(info.location)),
      [H_GRANT]: JSON.stringify({ n: info.grant.chunks, z: info.grant.size, s: info.grant.supernode ? 1 : 0 }),
      ...(info.spill ? { [H_SPILL]: info.busyOk ? "2" : "1" } : {}),
    },
  });
}

const spillOf = (v: string | null) => ({ spill: v === "1" || v === "2", busyOk: v === "2" });

/** Reads the request built by {@link buildConnectRequest}; null when it is not one. */
export function parseConnectRequest(req: Request): ConnectInfo | null {
  const peerId = req.headers.get(H_PEER) ?? "";
  const root = req.headers.get(H_ROOT) ?? "";
  const shard = req.headers.get(H_SHARD) ?? "";
  if (!PEER_ID.test(peerId) || !/^[0-9a-f]{64}$/.test(root) || !SUBSHARD_NAME.test(shard)) return null;
  let location: unknown;
  try {
    location = JSON.parse(req.headers.get(H_LOCATION) ?? "{}");
  } catch {
    location = {};
  }
  const grant = parseGrant(req.headers.get(H_GRANT));
  if (!grant) return null;
  return { peerId, root, shard, location: sanitizeLocation(location), grant, ...spillOf(req.headers.get(H_SPILL)) };
}

function parseGrant(header: string | null): JoinGrant | null {
  let g: { n?: unknown; z?: unknown; s?: unknown };
  try {
    g = JSON.parse(header ?? "null") ?? {};
  } catch {
    return null;
  }
  const { n, z } = g;
  if (!Number.isSafeInteger(n) || (n as number) < 0 || (n as number) > MAX_CHUNKS) return null;
  if (!Number.isSafeInteger(z) || (z as number) < 0) return null;
  return { chunks: n as number, size: z as number, supernode: g.s === 1 };
}

const str = (v: unknown, max: number): string | undefined =>
  typeof v === "string" && v.length > 0 ? v.slice(0, max) : undefined;

function num(v: unknown, lo: number, hi: number): number | undefined {
  // request.cf gives latitude/longitude as strings ("48.85"), asn as a number.
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) && n >= lo && n <= hi ? n : undefined;
}

/**
 * Keeps the known location fields with sane types and sizes (it ends up in a 2 KiB attachment).
 * Accepts `request.cf` directly.
 * @example
 * sanitizeLocation({ asn: 3320, colo: "FRA", latitude: "50.1", longitude: "8.7", city: "x" });
 * // { asn: 3320, colo: "FRA", latitude: 50.1, longitude: 8.7 }
 */
export function sanitizeLocation(v: unknown): PeerLocation {
  if (typeof v !== "object" || v === null) return {};
  const o = v as Record<string, unknown>;
  const out: PeerLocation = {};
  const asn = num(o.asn, 0, 4_294_967_295);
  if (asn !== undefined && Number.isInteger(asn)) out.asn = asn;
  const colo = str(o.colo, 8);
  if (colo) out.colo = colo;
  const country = str(o.country, 4);
  if (country) out.country = country;
  const continent = str(o.continent, 4);
  if (continent) out.continent = continent;
  const lat = num(o.latitude, -90, 90);
  const lon = num(o.longitude, -180, 180);
  if (lat !== undefined && lon !== undefined) {
    out.latitude = lat;
    out.longitude = lon;
  }
  return out;
}
