/**
 * `edgeswarm/node`: the SDK on Node — a swarm with Node transports (node-datachannel's WebRTC, `ws`)
 * and a disk or memory chunk store, plus the seeder that keeps items pinned (what `edgeswarm-seed`
 * runs). `ws` and `node-datachannel` are optional peer dependencies of the package: install them to
 * use this entry.
 *
 * @example
 * import { createNodeSwarm, SeederNode } from "edgeswarm/node";
 * const node = await createNodeSwarm({ edge: "https://cdn.example", storeDir: "./store" });
 * new SeederNode({ node, edge: "https://cdn.example", pins: ["/c/media/intro.mp4"] }).start();
 *
 * @module
 */
export { createNodeSwarm, shutdownNodeRuntime, assertNodeRuntime } from "./node-runtime";
export type { NodeSwarm, NodeSwarmOptions, SocketCounters } from "./node-runtime";
export { SeederNode } from "./seeder-node";
export type { ItemStatus, SeederNodeOptions } from "./seeder-node";
export { openDiskChunkStore } from "./disk-chunk-store";
export type { DiskStoreOptions } from "./disk-chunk-store";
