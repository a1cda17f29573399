/**
 * The offload section's workload, generated before the run from a seed: a catalogue of items
 * (sizes log-spaced over 256 KiB – 16 MiB, assigned to popularity ranks by a seeded shuffle), peers
 * arriving as a Poisson process, sessions exponentially distributed (churn) or lasting to the end
 * (no churn), and each peer's requests drawn from a Zipf distribution over the catalogue.
 *
 * A peer never requests an item twice (repeat views are browser-cache hits, not network bytes: the
 * bench measures network offload, so the plan redraws instead), which keeps the measured offload
 * (peer bytes ÷ all bytes) and the trace-based limit on the same footing.
 */
import { Rng } from "../../sim/prng";
import { ZipfSampler } from "../../sim/zipf";

/** Parameters of one workload. */
export interface WorkloadParams {
  seed: number;
  /** Catalogue size. */
  items: number;
  minItemBytes: number;
  maxItemBytes: number;
  /** Zipf exponent of item popularity. */
  alpha: number;
  peers: number;
  /** How many of them are Chromium peers (spread evenly over arrival order). */
  browserPeers: number;
  /** Poisson arrival rate, peers per second. */
  arrivalsPerS: number;
  /** Mean session length, s; Infinity = no churn (online until the horizon). */
  meanSessionS: number;
  /** Shortest session, s (a visitor who leaves before one request finishes adds nothing). */
  minSessionS: number;
  /** Mean think time between a peer's requests, s (exponential). */
  meanThinkS: number;
  /** Most requests per peer. */
  maxRequestsPerPeer: number;
  /** No request is issued after this time, s. */
  horizonS: number;
}

/** One planned request. */
export interface PlannedRequest {
  /** Earliest start, s from the run start (later if the peer's previous request is still running). */
  t: number;
  item: number;
}

/** One planned peer session. */
export interface PlannedPeer {
  index: number;
  kind: "chromium" | "node";
  onS: number;
  /** Planned departure, s (the peer leaves after its running request, if any, completes). */
  offS: number;
  requests: PlannedRequest[];
}

/** A generated workload. */
export interface Workload {
  params: WorkloadParams;
  /** Size of each item, bytes, by item index (0 = most popular). */
  sizes: number[];
  peers: PlannedPeer[];
}

/** Rounds to whole 4 KiB pages (sizes look like files, and chunk maths stays easy to read). */
const page = (n: number) => Math.max(4096, Math.round(n / 4096) * 4096);

/**
 * Generates a workload (deterministic for given params).
 * @example
 * const w = makeWorkload({ ...params, seed: 7 }); w.peers[0].requests // [{ t: 0.2, item: 3 }, …]
 */
export function makeWorkload(p: WorkloadParams): Workload {
  const rng = new Rng(p.seed);
  const ladder = Array.from({ length: p.items }, (_, i) =>
    page(p.minItemBytes * Math.pow(p.maxItemBytes / p.minItemBytes, p.items === 1 ? 0 : i / (p.items - 1))));
  // Fisher–Yates: popularity and size independent, as on a real site.
  for (let i = ladder.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [ladder[i], ladder[j]] = [ladder[j]!, ladder[i]!];
  }
  const zipf = new ZipfSampler(p.items, p.alpha);
  const browserEvery = p.browserPeers > 0 ? p.peers / p.browserPeers : Infinity;
  const peers: PlannedPeer[] = [];
  let t = 0;
  for (let i = 0; i < p.peers; i++) {
    if (i > 0) t += rng.exp(1 / p.arrivalsPerS);
    const onS = t;
    const session = Number.isFinite(p.meanSessionS) ? Math.max(p.minSessionS, rng.exp(p.meanSessionS)) : Infinity;
    const offS = onS + session;
    // Chromium peers at positions ⌊(k + 0.5)·P/B⌋: spread over the run, never all first or last.
    const kind = Number.isFinite(browserEvery) && Math.floor((Math.floor(i / browserEvery) + 0.5) * browserEvery) === i ? "chromium" : "node";
    const requests: PlannedRequest[] = [];
    const seen = new Set<number>();
    let rt = onS + 0.2;
    while (requests.length < p.maxRequestsPerPeer && rt < Math.min(offS, p.horizonS) && seen.size < p.items) {
      let item = zipf.sample(rng.random);
      for (let k = 0; seen.has(item) && k < 64; k++) item = zipf.sample(rng.random);
      if (seen.has(item)) break;
      seen.add(item);
      requests.push({ t: rt, item });
      rt += rng.exp(p.meanThinkS);
    }
    peers.push({ index: i, kind, onS, offS, requests });
  }
  return { params: p, sizes: ladder, peers };
}
