/**
 * Issue 6: Node peers (the supernode runtime: SDK core + node-datachannel, in this process) move
 * bytes over real WebRTC with browsers and with each other, byte-for-byte. The same runtime is how
 * tests and benchmarks put many cheap peers into a swarm.
 */
import { afterAll, afterEach, expect, it } from "vitest";
import { useStack } from "./harness/stack";
import { startNodePeer, waitForSupernodes, type NodePeer } from "./harness/supernode";
import { contentStats, createSwarm, sdkStats, swarmFetch, waitForSeeders } from "./harness/swarm-page";
import { SeederNode } from "../../supernode/seeder-node";
import { shutdownNodeRuntime } from "../../supernode/node-runtime";

const stack = useStack();
const SIZE = 4 * 1024 * 1024;

let nodes: NodePeer[] = [];
let seeders: SeederNode[] = [];
afterEach(async () => {
  for (const s of seeders) await s.stop();
  for (const n of nodes) n.close();
  seeders = [];
  nodes = [];
});
afterAll(async () => {
  // Links close asynchronously; give them a moment before libdatachannel's threads go.
  await new Promise((r) => setTimeout(r, 300));
  shutdownNodeRuntime();
});

async function nodePeer(kind: "browser" | "supernode"): Promise<NodePeer> {
  // Generous waits: where the bytes come from is the point, not how fast (shared 2-core machine).
  // No id given: the SDK's default random key (`?key=`), as a real supernode in memory mode.
  const n = await startNodePeer({ edge: stack().edge.url, kind, chunkDeadlineMs: 15_000, peerWaitMs: 10_000 });
  expect(n.swarm.peerId).toMatch(/^pk_[A-Za-z0-9_-]{29}$/);
  nodes.push(n);
  return n;
}

it("Node → Node: a Node peer gets a pinned file from an in-process supernode, byte-for-byte", async () => {
  const s = stack();
  const path = `/gen/node-node/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);

  const sn = await nodePeer("supernode");
  const seeder = new SeederNode({ node: sn, edge: s.edge.url, pins: [url], statsIntervalMs: 0 });
  seeders.push(seeder);
  seeder.start();
  await seeder.whenPinned();
  expect(seeder.items[0]).toMatchObject({ state: "held", chunks: 16, held: 16 });
  await waitForSupernodes(s.edge, path);

  const n = await nodePeer("browser");
  const r = await n.fetch(url);
  expect(r).toMatchObject({ status: 200, via: "p2p" });
  expect(Buffer.compare(r.bytes, s.origin.bytes(path))).toBe(0);
  const c = contentStats(n.swarm.stats(), url);
  console.log(`Node → Node: ${((c.byPeer[sn.swarm.peerId] ?? 0) / SIZE * 100).toFixed(1)}% from the supernode`);
  expect(c.byPeer[sn.swarm.peerId] ?? 0).toBeGreaterThanOrEqual(0.75 * SIZE);
  expect(sn.swarm.stats().uploaded).toBeGreaterThanOrEqual(c.byPeer[sn.swarm.peerId]!);
  expect(s.origin.hits(path)).toBe(1);
  // The Node SDK shares diagnose(): node-datachannel's getStats() names the pair (host, 10.99.0.1).
  const d = await n.swarm.diagnose();
  console.log(`Node → Node diagnose(): ${JSON.stringify(d.peers.filter((p) => p.peerId === sn.swarm.peerId))}`);
  const link = d.peers.filter((p) => p.peerId === sn.swarm.peerId && p.state === "connected");
  expect(link).toHaveLength(1);
  expect(link[0]).toMatchObject({ offeredBy: "local", pair: { local: { type: "host", address: "10.99.0.1" }, remote: { address: "10.99.0.1" } } });
  // The remote is the supernode's host candidate, or peer-reflexive when its check beat its signal.
  expect(["host", "prflx"]).toContain(link[0]!.pair!.remote.type);
  expect(link[0]!.pair!.bytesReceived).toBeGreaterThanOrEqual(c.byPeer[sn.swarm.peerId]!);
});

it("Browser → Node: a Node peer gets a browser's copy byte-for-byte", async () => {
  const s = stack();
  const path = `/gen/browser-node/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);

  const a = await s.openPeer("A");
  await createSwarm(a);
  const aId = (await sdkStats(a)).peerId;
  expect(await swarmFetch(a, url)).toMatchObject({ status: 200, size: SIZE, sha256: s.origin.sha256(path) });
  await waitForSeeders(s.edge, path, 1);

  const n = await nodePeer("browser");
  const r = await n.fetch(url);
  expect(r).toMatchObject({ status: 200, via: "p2p" });
  expect(Buffer.compare(r.bytes, s.origin.bytes(path))).toBe(0);
  const c = contentStats(n.swarm.stats(), url);
  console.log(`Browser → Node: ${((c.byPeer[aId] ?? 0) / SIZE * 100).toFixed(1)}% from the browser`);
  expect(c.byPeer[aId] ?? 0).toBeGreaterThanOrEqual(0.75 * SIZE);
  expect((await sdkStats(a)).uploaded).toBeGreaterThanOrEqual(c.byPeer[aId]!);
  expect(s.origin.hits(path)).toBe(1);
});
