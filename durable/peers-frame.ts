/**
 * Encodes a `peers` answer from ranked members, reusing each member's cached JSON prefix
 * (`{"peerId":…,"kind":…,"have":…`, `LivePeer.wire`) so a bitfield is base64-encoded once per change
 * rather than once per answer. The text equals `encodeMessage({ type: "peers", peers })` of the same
 * entries (test/durable/swarm-cache.test.ts checks it).
 */
import type { PeerEntry } from "../protocol/swarm-protocol";
import type { LivePeer } from "./peer-directory";
import type { RankedPeer } from "./peer-ranking";

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
    c.wire ??= JSON.stringify({ peerId: c.peerId, kind: c.kind, have: c.chunks.toBase64() } satisfies Omit<PeerEntry, "proximity">).slice(0, -1);
    const tail = r.distanceKm === undefined ? `}` : `,"distanceKm":${Math.round(r.distanceKm)}}`;
    const e = `${c.wire},"proximity":"${r.proximity}"${tail}`;
    bytes += e.length + 1;
    if (bytes > maxBytes) break;
    parts.push(e);
    included?.push(c);
  }
  return `${head}${parts.join(",")}]}`;
}
