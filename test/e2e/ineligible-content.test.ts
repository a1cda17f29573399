/**
 * Scenario 8: content the origin marks `Cache-Control: private` is never shared. Every page gets it
 * from the edge (which passes it through), no manifest is issued, and no swarm ever hears of it.
 */
import { createHash } from "node:crypto";
import { expect, it } from "vitest";
import { computeRoot } from "../../protocol/manifest";
import { useStack } from "./harness/stack";
import { createSwarm, sdkStats, swarmFetch, type SwarmShardStats } from "./harness/swarm-page";

const stack = useStack();
const SIZE = 1024 * 1024;
const CHUNK = 262_144; // CHUNK_SIZE of the edge under test

it("private content goes edge → page for every peer, never to a peer or a swarm", async () => {
  const s = stack();
  const path = `/private/ineligible/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);
  const expected = s.origin.sha256(path);

  const a = await s.openPeer("A");
  await createSwarm(a);
  expect(await swarmFetch(a, url)).toMatchObject({ status: 200, size: SIZE, sha256: expected });
  const b = await s.openPeer("B");
  await createSwarm(b);
  expect(await swarmFetch(b, url)).toMatchObject({ status: 200, size: SIZE, sha256: expected });

  // RFC 9111 §5.2.2.7: a shared cache must not store `private` — each page's bytes came from the
  // origin, plus one manifest probe whose "ineligible" verdict the edge then remembers.
  expect(s.origin.hits(path)).toBe(3);
  const [sa, sb] = [await sdkStats(a), await sdkStats(b)];
  expect(sa.uploaded).toBe(0);
  expect(sb.fromPeers).toBe(0);
  expect(sb.peersConnected).toBe(0);

  // No manifest, with the contract's error code.
  const m = await s.edge.manifest(path);
  expect(m.status).toBe(409);
  expect(m.body?.error?.code).toBe("ineligible");

  // The swarm these bytes would have had, had they been eligible, has never seen a peer.
  const chunks: string[] = [];
  const bytes = s.origin.bytes(path);
  for (let o = 0; o < bytes.length; o += CHUNK) chunks.push(createHash("sha256").update(bytes.subarray(o, o + CHUNK)).digest("hex"));
  const shard = (await s.edge.swarmStats(await computeRoot(chunks))) as SwarmShardStats;
  expect(shard.peersOnline).toBe(0);
  expect(shard.chunkCopies).toBe(0);
  expect(shard.bytes).toEqual({ fromPeers: 0, fromEdge: 0, uploaded: 0 });
});
