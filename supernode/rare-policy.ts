/**
 * Follow-rare mode's decision, kept pure: given what a swarm coordinator reports
 * (`GET /swarm/<swarm>/stats`, {@link swarmStatsUrl}), should this supernode fetch and seed the item?
 *
 * A supernode is the availability of last resort (the coordinator ranks it below nearby browsers
 * unless it is the sole source), so it joins where visitors are present but copies are scarce —
 * not where browsers already hold plenty, which would only make it a second CDN.
 */

/** The fields of the coordinator's stats this policy reads (durable/swarm.ts `SwarmStats`). */
export interface SwarmStatsView {
  browsers: number;
  supernodes: number;
  /** Distinct chunks held by someone online. */
  chunksHeld: number;
  /** Sum over online peers of chunks held. */
  chunkCopies: number;
}

/** Thresholds of follow-rare mode. */
export interface RarePolicy {
  /** Visitors online before an item counts as in demand (default 1). */
  minBrowsers?: number;
  /** Mean copies per chunk below which an item is rare (default 2). */
  minCopies?: number;
}

/** Why an item was (or was not) judged rare — logged by the seeder. */
export type RareVerdict =
  | { follow: true; reason: "missing-chunks" | "few-copies" }
  | { follow: false; reason: "held" | "no-demand" | "well-seeded" | "bad-stats" };

/**
 * Decides whether to seed an item this supernode does not fully hold yet.
 *
 * @example
 * rareVerdict({ browsers: 3, supernodes: 0, chunksHeld: 40, chunkCopies: 40 }, 40, false); // few-copies
 */
export function rareVerdict(s: SwarmStatsView | null | undefined, chunkCount: number, heldFully: boolean, p: RarePolicy = {}): RareVerdict {
  if (heldFully) return { follow: false, reason: "held" };
  if (!s || ![s.browsers, s.supernodes, s.chunksHeld, s.chunkCopies].every((n) => Number.isFinite(n) && n >= 0) || chunkCount <= 0) {
    return { follow: false, reason: "bad-stats" };
  }
  if (s.browsers < (p.minBrowsers ?? 1)) return { follow: false, reason: "no-demand" };
  if (s.chunksHeld < chunkCount) return { follow: true, reason: "missing-chunks" };
  if (s.chunkCopies / chunkCount < (p.minCopies ?? 2)) return { follow: true, reason: "few-copies" };
  return { follow: false, reason: "well-seeded" };
}

/**
 * Validates a parsed stats body into the view (unknown shape → null).
 *
 * @example
 * parseSwarmStats(await (await fetch(`${edge}/swarm/${root}/stats`)).json());
 */
export function parseSwarmStats(v: unknown): SwarmStatsView | null {
  const o = v as Partial<SwarmStatsView> | null;
  if (!o || typeof o !== "object") return null;
  const { browsers, supernodes, chunksHeld, chunkCopies } = o;
  if (![browsers, supernodes, chunksHeld, chunkCopies].every((n) => typeof n === "number")) return null;
  return { browsers: browsers!, supernodes: supernodes!, chunksHeld: chunksHeld!, chunkCopies: chunkCopies! };
}

/**
 * Where an item's figures are: its own swarm's stats, or — an item of a collection swarm (a stream
 * segment, a route asset: `join.swarm` ≠ the root) — the collection's stats filtered to that item
 * (`?item=`), since the item's peers meet in the collection's object and its own would be empty.
 * The join token (for the swarm id) authorises the request where the edge requires one.
 *
 * @example
 * swarmStatsUrl("https://edge.example", manifest.root, mr.join); // …/swarm/<collection>/stats?token=…&item=<root>
 */
export function swarmStatsUrl(edge: string | URL, root: string, join: { token: string; swarm?: string }): URL {
  const swarm = join.swarm ?? root;
  const url = new URL(`/swarm/${swarm}/stats`, edge);
  url.searchParams.set("token", join.token);
  if (swarm !== root) url.searchParams.set("item", root);
  return url;
}
