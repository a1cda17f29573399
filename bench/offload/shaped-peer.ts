/**
 * Each offload peer reaches the edge through its own access link, like a visitor on a 50 Mbit/s
 * line with 40 ms to the nearest PoP: without it the edge is unshaped loopback, ~100× faster than
 * the peers' capped uplinks, so "what the edge alone would have taken" — the edge lane's yardstick
 * (client/edge-lane.ts) — is near zero and the lane races peers that would in reality be on time.
 *
 * One shaping proxy (bench/peer/shaping-proxy.ts, reused as is) per peer, shared by all of that
 * peer's connections to the edge (manifest, Range requests, swarm socket, Chromium's SDK script),
 * as one access link is. Peer-to-peer traffic does not cross it (data channels connect directly;
 * the peers' uplinks are capped by the SDK's own upload limiter). Byte accounting is unchanged: the
 * SDK counts its bytes, the origin counts its own.
 */
import { startShapingProxy, type ShapingProxy } from "../peer/shaping-proxy";
import type { BenchPeer } from "./bench-peer";

/** One visitor's link to the edge; `rateBps` 0 = no shaping (loopback). */
export interface AccessLink {
  /** Bits per second, each direction. */
  rateBps: number;
  /** Round-trip time the link adds, ms. */
  rttMs: number;
}

/**
 * BENCH_EDGE_LINK="<Mbit/s>,<RTT ms>" (default "50,40", the edge race's shaping in bench §2);
 * "0" = unshaped loopback (how §1 ran before).
 *
 * @example
 * accessLinkFromEnv({ BENCH_EDGE_LINK: "100,20" }); // { rateBps: 100e6, rttMs: 20 }
 */
export function accessLinkFromEnv(env: NodeJS.ProcessEnv = process.env): AccessLink {
  const [mbit = 50, rtt = 40] = (env.BENCH_EDGE_LINK ?? "50,40").split(",").map(Number);
  return { rateBps: mbit > 0 ? mbit * 1e6 : 0, rttMs: rtt > 0 ? rtt : 0 };
}

/**
 * Wraps a peer so that everything it sends to the edge at `edgeUrl` crosses its own shaped link:
 * the proxy starts on `open()`, `make` builds the inner peer against the proxy's address, content
 * URLs are rewritten to it, and the proxy closes after the peer.
 *
 * @example
 * shapedPeer("node", edgeUrl, { rateBps: 50e6, rttMs: 40 }, (edge) => host.peer(edge, id, opts));
 */
export function shapedPeer(kind: BenchPeer["kind"], edgeUrl: string, link: AccessLink, make: (edge: string) => BenchPeer): BenchPeer {
  if (!link.rateBps) return make(edgeUrl);
  const u = new URL(edgeUrl);
  let proxy: ShapingProxy | null = null;
  let inner: BenchPeer | null = null;
  let via = edgeUrl;
  return {
    kind,
    async open() {
      proxy = await startShapingProxy({ upstreamHost: u.hostname, upstreamPort: Number(u.port), rateBps: link.rateBps, rttMs: link.rttMs });
      via = `${u.protocol}//${u.hostname}:${proxy.port}`;
      inner = make(via);
      try {
        await inner.open();
      } catch (e) {
        await proxy.close();
        throw e;
      }
    },
    fetch: (url, expectSha256, timeoutMs) => inner!.fetch(url.startsWith(edgeUrl) ? via + url.slice(edgeUrl.length) : url, expectSha256, timeoutMs),
    async close() {
      try {
        return (await inner?.close()) ?? null;
      } finally {
        await proxy?.close();
      }
    },
  };
}
