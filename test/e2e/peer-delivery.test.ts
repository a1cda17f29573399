/**
 * Scenario 1: the core promise. A fetches a 4 MiB file through the SDK (edge → origin once);
 * B then fetches it and gets it mostly from A — the origin is not asked again.
 */
import { expect, it } from "vitest";
import { useStack } from "./harness/stack";
import { contentStats, createSwarm, peerId, sdkStats, swarmFetch, waitForSeeders } from "./harness/swarm-page";

const stack = useStack();
const SIZE = 4 * 1024 * 1024;

it("second peer gets the file from the first: same SHA-256, origin hit once, ≥ 75% of bytes from peers", async () => {
  const s = stack();
  const path = `/gen/peer-delivery/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);
  const expected = s.origin.sha256(path);

  const a = await s.openPeer("A");
  const aId = peerId("A");
  await createSwarm(a, { peerId: aId });
  expect(await swarmFetch(a, url)).toMatchObject({ status: 200, size: SIZE, sha256: expected });
  expect(s.origin.hits(path)).toBe(1);

  await waitForSeeders(s.edge, path, 1);
  const b = await s.openPeer("B");
  // A generous per-chunk deadline: this 2-core machine is shared, and the scenario is about where
  // bytes come from, not how fast (speed belongs in bench/).
  await createSwarm(b, { peerId: peerId("B"), chunkDeadlineMs: 15_000 });
  expect(await swarmFetch(b, url)).toMatchObject({ status: 200, size: SIZE, sha256: expected });
  expect(s.origin.hits(path)).toBe(1);

  const bStats = await sdkStats(b);
  const c = contentStats(bStats, url);
  expect(c.size).toBe(SIZE);
  expect(c.received).toBe(SIZE);
  expect(c.fromPeers / SIZE).toBeGreaterThanOrEqual(0.75);
  expect(c.byPeer[aId] ?? 0).toBeGreaterThanOrEqual(0.75 * SIZE);
  expect(bStats.hashFailures).toBe(0);
  // A's own account agrees: it uploaded at least what B credits it with.
  expect((await sdkStats(a)).uploaded).toBeGreaterThanOrEqual(c.byPeer[aId]!);
});
