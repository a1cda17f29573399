/**
 * Encodes a `peers` answer from ranked members, reusing each member's cached JSON prefix
 * (`{"peerId":…,"kind":…,"have":…`; a cache private to this module, keyed by the member object and
 * valid while its chunk set is the same object of the same size — sets only grow) so a bitfield is
 * base64-encoded once per change rather than once per answer. The text equals `encodeMessage({ type: "peers", peers })` of the same
 * entries (test/durable/swarm-cache.test.ts checks it).
 */
import type { PeerEntry } from "../protocol/swarm-protocol";
import type { LivePeer } from "./peer-directory";
import type { RankedPeer } from "./peer-ranking";

/** Encoded entry prefix per member, with the chunk set (and its size) it was encoded from. */
const entries = new WeakMap<LivePeer, { chunks: LivePeer["chunks"]; size: number; wire: string }>();

function wireOf(c: LivePeer): string {
  const e = entries.get(c);
  if (e !== undefined && e.chunks === c.chunks && e.size === c.chunks.size) return e.wire;
  const wire = JSON.stringify({ peerId: c.peerId, kind: c.kind, have: c.chunks.toBase64() } satisfies Omit<PeerEntry, "proximity">).slice(0, -1);
  entries.set(c, { chunks: c.chunks, size: c.chunks.size, wire });
  return wire;
}

/**
 * The frame for `ranked`, truncated so its JSON stays within `maxBytes` (large bitfields: fewer peers
 * rather than a frame the client's parser refuses). The members that made it into the frame are pushed
 * to `included` when given (the requester now knows them: `leave-audience.ts`).
 * @example
 * ws.send(peersFrame(rankPeers({ ...req, candidates: dir.list }), 60 * 1024));
 */
export function peersFrame(ranked: readonly RankedPeer<LivePeer>[], maxBytes: number, included?: LivePeer[]): string {
  const head = `{"type":"peers","peers":[`;
  const parts: string[] = [];
  let bytes = head.length + 2;
  for (const r of ranked) {
    const c = r.candidate;
    const tail = r.distanceKm === undefined ? `}` : `,"distanceKm":${Math.round(r.distanceKm)}}`;
    const e = `${wireOf(c)},"proximity":"${r.proximity}"${tail}`;
    bytes += e.length + 1;
    if (bytes > maxBytes) break;
    parts.push(e);
    included?.push(c);
  }
  return `${head}${parts.join(",")}]}`;
}
