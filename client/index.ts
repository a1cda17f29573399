/**
 * edgeswarm browser SDK: upgrades `fetch` of large public assets to peer-to-peer delivery over
 * WebRTC data channels, with the Cloudflare edge as cache and fallback. Every chunk from a peer is
 * SHA-256-verified against the edge's manifest before use; anything that goes wrong falls back to
 * a plain edge fetch, so pages never see an error they would not have seen without the SDK.
 *
 * @example
 * import { createSwarm, registerServiceWorker } from "https://cdn.example/sdk/edgeswarm.js";
 *
 * const swarm = createSwarm({ edge: "https://cdn.example" });
 * const res = await swarm.fetch("/c/demo/video.mp4");          // a standard Response, streamed in order
 * swarm.addEventListener("progress", (e) => console.log(e.detail.source, e.detail.received));
 * console.log(swarm.stats().fromPeers);
 *
 * // Or, with no SDK calls in page code (page served from the edge origin):
 * await registerServiceWorker({ swarm, patterns: ["/c/demo/"] });
 *
 * @module
 */
export { createSwarm, Swarm } from "./swarm";
export type { SwarmOptions, PeerStats, ContentStats, ProgressDetail, SwarmDiagnosis, PeerDiagnosis, CandidatePairInfo, LinkEndReason } from "./swarm";
export { registerServiceWorker } from "./service-worker-bridge";
export type { RegisterOptions } from "./service-worker-bridge";
export { ChunkStore, MemoryChunkBackend } from "./chunk-store";
export type { ChunkBackend, ItemInfo, ItemMeta, ItemRecord } from "./chunk-store";

/** SDK version. */
export const VERSION = "0.1.0";
