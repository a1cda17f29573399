/**
 * Scenario 2: three seeders, one leecher — the leecher pulls from more than one peer in parallel.
 */
import { expect, it } from "vitest";
import { useStack } from "./harness/stack";
import { contentStats, createSwarm, sdkStats, swarmFetch, waitForSeeders } from "./harness/swarm-page";

const stack = useStack();
const SIZE = 8 * 1024 * 1024; // 32 chunks of 256 KiB: enough work to spread over three seeders

it("a leecher with three seeders downloads from more than one of them, bytes intact, origin hit once", async () => {
  const s = stack();
  const path = `/gen/parallel-seeders/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);
  const expected = s.origin.sha256(path);

  const seeders: string[] = [];
  for (const name of ["S1", "S2", "S3"]) {
    const p = await s.openPeer(name);
    seeders.push(await createSwarm(p));
    expect(await swarmFetch(p, url)).toMatchObject({ status: 200, size: SIZE, sha256: expected });
  }
  expect(s.origin.hits(path)).toBe(1);
  await waitForSeeders(s.edge, path, 3);

  const l = await s.openPeer("L");
  await createSwarm(l, { chunkDeadlineMs: 15_000 });
  expect(await swarmFetch(l, url)).toMatchObject({ status: 200, size: SIZE, sha256: expected });
  expect(s.origin.hits(path)).toBe(1);

  const c = contentStats(await sdkStats(l), url);
  const contributors = seeders.filter((id) => (c.byPeer[id] ?? 0) > 0);
  expect(contributors.length, `byPeer: ${JSON.stringify(c.byPeer)}`).toBeGreaterThanOrEqual(2);
  expect(c.fromPeers).toBeGreaterThanOrEqual(SIZE / 2);
  // byPeer accounts for the peer bytes exactly: nothing credited twice, nothing from strangers.
  expect(Object.values(c.byPeer).reduce((x, y) => x + y, 0)).toBe(c.fromPeers);
});
