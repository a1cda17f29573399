/**
 * The access links of the edge race and the cold-item rows, and the proof that a run used them.
 *
 * - A visitor (downloader) is an SDK peer process in a network namespace of its own whose one
 *   interface is a token bucket each way (default 50 Mbit/s): edge bytes and peer bytes share it,
 *   as they share a real access link. Its way to the edge also crosses a delay relay (RTT, default
 *   40 ms) — the kernel here has no netem, so the link's delay is the relay's; the rate is the
 *   kernel's. The edge listens on loopback of the bench's namespace, which the visitor cannot reach
 *   (its own loopback is its own): the relay is its only way to the edge.
 * - A seeder is an SDK peer process on a link of its own whose uplink is a token bucket (default
 *   10 Mbit/s, depth 16 KiB): no burst beyond the bucket's depth, whatever the SDK does; the SDK's
 *   own upload cap is off. Seeders reach the edge through a relay with no delay (their download is
 *   set-up, not measured).
 *
 * `verifyShaped` compares each run's delivered bytes with the buckets' and relay's own counters; a
 * run whose bytes did not all cross them is reported and never counted.
 */
import type { AccessLink, Bucket } from "../lib/netns-host";
import { ownNamespace } from "../lib/netns-host";
import { startShapingProxy, type ShapingProxy } from "./shaping-proxy";
import type { SdkPeer } from "./sdk-peer";

/** What the checks read of a peer process: its link and its pid. */
type LinkedProcess = Pick<SdkPeer, "host" | "cp">;

const KiB = 1024;

/** Where the bench's namespace is reachable from namespaced hosts (scripts/netns.sh's v0). */
export const BENCH_NS_ADDRESS = "10.99.0.1";

/**
 * Queue in front of each bucket, ms at its rate: BENCH_ACCESS_QUEUE_MS, default 50 (a modest
 * access-router buffer; tail drop beyond it).
 */
const queueMs = () => Number(process.env.BENCH_ACCESS_QUEUE_MS ?? 50);

/** A visitor's access link: `rateBps` each way, a 32 KiB bucket (≈ 5 ms at 50 Mbit/s). */
export function visitorLink(rateBps: number): AccessLink {
  const b: Bucket = { rateBps, burstBytes: 32 * KiB, queueMs: queueMs() };
  return { down: b, up: b };
}

/** A seeder's link: uplink capped at `upBps`, bucket depth 16 KiB; downlink unshaped. */
export function seederLink(upBps: number): AccessLink {
  return { up: { rateBps: upBps, burstBytes: 16 * KiB, queueMs: queueMs() } };
}

/** The relays in front of the edge. */
export interface EdgeRelays {
  /** Edge origin for visitors: the delay relay. */
  visitorEdge: string;
  /** Edge origin for seeders: no delay. */
  seederEdge: string;
  visitorRelay: ShapingProxy;
  close(): Promise<void>;
}

/** Starts both relays toward the edge on 127.0.0.1:`edgePort`. */
export async function startEdgeRelays(edgePort: number, rttMs: number): Promise<EdgeRelays> {
  const visitorRelay = await startShapingProxy({ upstreamHost: "127.0.0.1", upstreamPort: edgePort, rateBps: Infinity, rttMs, host: BENCH_NS_ADDRESS });
  const seederRelay = await startShapingProxy({ upstreamHost: "127.0.0.1", upstreamPort: edgePort, rateBps: Infinity, rttMs: 0, host: BENCH_NS_ADDRESS });
  return {
    visitorEdge: `http://${BENCH_NS_ADDRESS}:${visitorRelay.port}`,
    seederEdge: `http://${BENCH_NS_ADDRESS}:${seederRelay.port}`,
    visitorRelay,
    close: async () => {
      await visitorRelay.close();
      await seederRelay.close();
    },
  };
}

/** Counters read before a run, to be compared after it. */
export interface ShapeMark {
  visitorDown: number;
  seedersUp: number;
  relayDown: number;
  /** Packets the visitor's downlink bucket / the seeders' uplink buckets dropped (diagnostics). */
  visitorDropped: number;
  seedersDropped: number;
}

/** Reads the counters a run will be judged by. */
export function markShaped(visitor: LinkedProcess, seeders: LinkedProcess[], relays: EdgeRelays): ShapeMark {
  return {
    visitorDown: visitor.host?.shaped().down ?? NaN,
    seedersUp: seeders.reduce((a, s) => a + (s.host?.shaped().up ?? NaN), 0),
    relayDown: relays.visitorRelay.bytesDown(),
    visitorDropped: visitor.host?.dropped().down ?? NaN,
    seedersDropped: seeders.reduce((a, s) => a + (s.host?.dropped().up ?? NaN), 0),
  };
}

/**
 * Why a run does not count (null = it crossed its shaped links): the visitor must be in a namespace
 * of its own behind a token bucket; every body byte it got must have crossed that bucket, every edge
 * byte the delay relay, every peer byte the seeders' buckets.
 */
export function verifyShaped(
  o: { visitor: LinkedProcess; seeders: LinkedProcess[]; relays: EdgeRelays; before: ShapeMark },
  got: { fromEdge: number; fromPeers: number },
): string | null {
  const { visitor, seeders, relays, before } = o;
  if (!visitor.host || !ownNamespace(visitor.cp.pid!)) return "the visitor is not in a namespace of its own";
  const desc = visitor.host.describe().down;
  if (!/\btbf\b/.test(desc)) return `no token bucket on the visitor's downlink (${desc || "gone"})`;
  const after = markShaped(visitor, seeders, relays);
  const down = after.visitorDown - before.visitorDown;
  if (!(down >= got.fromEdge + got.fromPeers))
    return `the visitor's bucket passed ${down} B but it received ${got.fromEdge + got.fromPeers} B`;
  const relay = after.relayDown - before.relayDown;
  if (!(relay >= got.fromEdge)) return `the delay relay passed ${relay} B but the edge sent ${got.fromEdge} B`;
  if (got.fromPeers > 0) {
    if (seeders.some((s) => !s.host || !/\btbf\b/.test(s.host.describe().up))) return "a seeder's uplink has no token bucket";
    const up = after.seedersUp - before.seedersUp;
    if (!(up >= got.fromPeers)) return `the seeders' buckets passed ${up} B but ${got.fromPeers} B came from peers`;
  }
  return null;
}
