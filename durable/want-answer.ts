/**
 * The coordinator's answer to an item-scope `want`: ranked holders in a `peers` frame bounded in
 * count and bytes, with no storage access (a `want` is the hot path: docs/coordinator.md, "Costs").
 * In a big swarm the candidates are drawn from the requester's ASN/colo/country groups with the
 * same policy (`nearby-index.ts` for "any chunk", `wanted-sampler.ts` for named chunks); only when
 * that cannot be exact is every member ranked (`peer-ranking.ts`). The peers named join the
 * requester's leave audience, and what nobody could serve is remembered so that its first holder is
 * news (`chunk-waiters.ts`).
 */
import type { PeerLocation } from "../protocol/swarm-protocol";
import { ANY_CHUNK, type ChunkWaiters, unservedOf } from "./chunk-waiters";
import type { LeaveAudience } from "./leave-audience";
import type { LivePeer, PeerDirectory } from "./peer-directory";
import { rankPeers } from "./peer-ranking";
import { peersFrame } from "./peers-frame";
import type { SwarmLimits } from "./swarm-limits";
import { sampleWanted } from "./wanted-sampler";
import { sendRaw } from "./ws-io";

/** What the answer needs from the coordinator: its member index, audiences, waiters, limits and random source. */
export interface WantHost {
  readonly dir: PeerDirectory;
  readonly audience: LeaveAudience;
  readonly waiters: ChunkWaiters;
  limits(): SwarmLimits;
  random(): number;
}

/**
 * @example
 * const answers = new WantAnswers(host);
 * answers.answer(ws, { peerId, location }, me, msg.chunks, max, now);
 */
export class WantAnswers {
  readonly #h: WantHost;
  /** Reused per `want`: the members that made it into the answer. */
  readonly #included: LivePeer[] = [];

  constructor(host: WantHost) {
    this.#h = host;
  }

  /**
   * Sends `requester` (a member, `me`, or a socket not in the index) at most `max` holders of
   * `chunks` (undefined: any chunk) over `ws`.
   */
  answer(ws: WebSocket, requester: { peerId: string; location: PeerLocation }, me: LivePeer | undefined, chunks: number[] | undefined, max: number, now: number): void {
    const h = this.#h;
    const random = () => h.random();
    // null from a sampler: only ranking every member is exact.
    const holders = h.dir.holdersFor(me);
    const ranked = (chunks === undefined
      ? h.dir.nearby.sample(requester.peerId, requester.location, max, random)
      : sampleWanted(h.dir.nearby, requester.peerId, requester.location, chunks, max, random, holders)) ??
      rankPeers({ requester, candidates: h.dir.list, wanted: chunks ?? "all", max, random, holders });
    const included = this.#included;
    included.length = 0;
    sendRaw(ws, peersFrame(ranked, h.limits().maxAnswerBytes, included));
    h.audience.tellAll(requester.peerId, included);
    included.length = 0;
    // What nobody could serve now: the first holder to appear is news (`peer-have`).
    h.waiters.set(requester.peerId, chunks === undefined ? (ranked.length === 0 ? [ANY_CHUNK] : []) : unservedOf(chunks, holders), now);
  }
}
