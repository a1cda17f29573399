/**
 * The policies the simulated swarm runs, behind one interface so the simulator uses the project's
 * real modules:
 * - peer ranking: `durable/peer-ranking.ts` `rankPeers` — the function the coordinator calls for
 *   every `want` (imported as is);
 * - piece selection: `client/piece-picker.ts` `pickChunks` (rarest first in a window) and
 *   `pickEdgeRun` (edge fallback runs) — the SDK's own policy (imported as is).
 * {@link fallbackPicker} is the stand-in the engine was built against before the client module
 * landed; the tests check the real picker and it agree on the simulator's typical inputs.
 */
import { pickChunks, pickEdgeRun } from "../client/piece-picker";
import { rankPeers, type RankCandidate, type RankRequest, type RankedPeer } from "../durable/peer-ranking";

/** A peer as the picker sees it (same shape as the client's `PickerPeer`). */
export interface PickerPeer {
  id: string;
  has(index: number): boolean;
  free: number;
  /** Browser holders are asked before supernode holders (client/piece-picker.ts, issue 6). */
  kind?: "browser" | "supernode";
}
/** Ask `peerId` for chunk `index`. */
export interface Pick { peerId: string; index: number }
/** Input of `pickChunks`. */
export interface PickInput { from: number; to: number; needed(index: number): boolean; peers: readonly PickerPeer[] }
/** Input of `pickEdgeRun`. */
export interface EdgeRunInput { from: number; startBy?: number; to: number; needed(index: number): boolean; edgeable(index: number): boolean; maxRun: number }

/** Everything the engine asks a policy. */
export interface Policies {
  /** Where the ranking and picking came from (printed with every run). */
  source: { ranking: string; picking: string };
  rankPeers<C extends RankCandidate>(req: RankRequest<C>): RankedPeer<C>[];
  pickChunks(input: PickInput): Pick[];
  pickEdgeRun(input: EdgeRunInput): [number, number] | null;
}

/**
 * Rarest-first within the window, each chunk to a holder with a free slot: browser before
 * supernode, then most free slots, then better rank; at most `free` picks per peer — the same
 * contract as the client's documented `pickChunks`.
 */
export const fallbackPicker = {
  pickChunks(input: PickInput): Pick[] {
    const free = input.peers.map((p) => p.free);
    const cand: { index: number; rarity: number }[] = [];
    for (let i = input.from; i < input.to; i++) {
      if (!input.needed(i)) continue;
      let r = 0;
      for (const p of input.peers) if (p.has(i)) r++;
      if (r > 0) cand.push({ index: i, rarity: r });
    }
    cand.sort((a, b) => a.rarity - b.rarity || a.index - b.index);
    const out: Pick[] = [];
    for (const c of cand) {
      let best = -1;
      const sn = (k: number) => input.peers[k]?.kind === "supernode";
      input.peers.forEach((p, k) => {
        if ((free[k] as number) <= 0 || !p.has(c.index)) return;
        if (best < 0 || (sn(best) && !sn(k)) || (sn(best) === sn(k) && (free[k] as number) > (free[best] as number))) best = k;
      });
      if (best < 0) continue;
      free[best]!--;
      out.push({ peerId: (input.peers[best] as PickerPeer).id, index: c.index });
    }
    return out;
  },
  pickEdgeRun(input: EdgeRunInput): [number, number] | null {
    const startBy = input.startBy ?? input.to;
    for (let i = input.from; i < startBy && i < input.to; i++) {
      if (!input.needed(i) || !input.edgeable(i)) continue;
      let j = i;
      while (j < input.to && j - i < input.maxRun && input.needed(j) && input.edgeable(j)) j++;
      return [i, j];
    }
    return null;
  },
};

/** The policies `npm run simulate` uses. */
export const realPolicies: Policies = {
  source: { ranking: "durable/peer-ranking.ts rankPeers (real)", picking: "client/piece-picker.ts pickChunks/pickEdgeRun (real)" },
  rankPeers,
  pickChunks,
  pickEdgeRun,
};
