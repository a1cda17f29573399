/**
 * Per-WebSocket state of the coordinator: one typed shape, kept ONLY in the socket's attachment
 * (`serializeAttachment`), so it survives hibernation with the socket itself. Nothing is stored as
 * properties on socket objects or in instance maps keyed by socket.
 *
 * Attachments are limited to 2,048 bytes (Cloudflare docs, "WebSocket Hibernation API"): this shape
 * holds short, bounded fields only (location strings are truncated by the Worker).
 */
import type { PeerKind, PeerLocation } from "../protocol/swarm-protocol";
import { PEER_ID } from "../protocol/swarm-protocol";
import { type BucketState, fullBucket } from "./token-bucket";
import type { ConnectInfo, JoinGrant } from "./connect-request";
import type { SwarmLimits } from "./swarm-limits";

/** Attachment of one socket. */
export interface SocketState {
  /** Shape version, so a future deploy can migrate attachments of sockets that hibernated across it. */
  v: 2;
  /** Peer id from the verified join token. */
  peerId: string;
  /** What the join token grants: the item's chunk count and size, supernode or not. */
  grant: JoinGrant;
  location: PeerLocation;
  connectedAt: number;
  /** True after a valid `hello`. */
  joined: boolean;
  /** From `hello` (the token does not say). */
  kind: PeerKind;
  uploadSlots: number;
  bucket: BucketState;
  /** When the last `rate-limited` error was sent (one per second at most: no amplification). */
  limitedAt: number;
  /** Strikes: invalid frames and rate-limit episodes. Past the limit the socket is closed 1008. */
  badFrames: number;
  /**
   * When this peer first sent `want` (0: never). Only "has wanted" must survive eviction (`peer-have`
   * goes to wanters); the member index keeps the latest time in memory, so a `want` writes no
   * attachment after the first.
   */
  lastWantAt: number;
  /** Superseded by a newer connection of the same peer id, or left with `bye`: no longer in the swarm. */
  gone: boolean;
}

/**
 * The attachment of a socket just admitted: not joined until its `hello`, a full rate bucket.
 * @example
 * this.accept(server, [peerTag(info.peerId)], newSocketState(info, now, this.limits));
 */
export function newSocketState(info: ConnectInfo, now: number, limits: SwarmLimits): SocketState {
  return {
    v: 2, peerId: info.peerId, grant: info.grant, location: info.location, connectedAt: now, joined: false, kind: "browser",
    uploadSlots: 0, bucket: fullBucket({ perSecond: limits.ratePerSecond, burst: limits.rateBurst }, now),
    limitedAt: 0, badFrames: 0, lastWantAt: 0, gone: false,
  };
}

/** The tag under which a peer's sockets are accepted and found again with `getWebSockets(tag)`. */
export function peerTag(peerId: string): string {
  return `peer:${peerId}`;
}

/**
 * Reads a socket's state, or null when the attachment is missing or not ours (never throws).
 * @example
 * const state = readSocketState(ws); if (!state) ws.close(1011, "no state");
 */
export function readSocketState(ws: WebSocket): SocketState | null {
  let v: unknown;
  try {
    v = ws.deserializeAttachment();
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const s = v as Partial<SocketState>;
  if (s.v !== 2 || typeof s.peerId !== "string" || !PEER_ID.test(s.peerId)) return null;
  return s as SocketState;
}

/** Saves a socket's state (after every change; the attachment is the only copy). */
export function writeSocketState(ws: WebSocket, state: SocketState): void {
  ws.serializeAttachment(state);
}

/** True when the socket's peer is a current member of the swarm. */
export function isMember(state: SocketState | null): state is SocketState {
  return state !== null && state.joined && !state.gone;
}
