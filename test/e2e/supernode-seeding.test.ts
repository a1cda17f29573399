/**
 * Issue 6: the supernode (`edgeswarm-seed`, a real process) as the always-on source of a file no
 * browser holds: it serves a newcomer, survives the edge restarting, and dying mid-transfer does not
 * break the browser's download.
 */
import { afterEach, beforeAll, expect, it } from "vitest";
import { useStack } from "./harness/stack";
import { buildSupernode, spawnSupernode, waitForSupernodes, type SupernodeProcess } from "./harness/supernode";
import {
  awaitSwarmFetch, contentStats, createSwarm, peerId, sdkStats, startSwarmFetch, swarmFetch, waitFor,
} from "./harness/swarm-page";

// The edge's cache is kept on disk so that it survives the restart in the last test (the
// coordinator's state does not: the supernode has to come back and re-announce itself).
const stack = useStack({ persistCache: true });
const SIZE = 8 * 1024 * 1024;

let running: SupernodeProcess[] = [];
beforeAll(() => buildSupernode());
afterEach(async () => {
  for (const sn of running) await sn.stop();
  running = [];
});

function supernode(edge: string, pins: string[], args: string[] = []): SupernodeProcess {
  const sn = spawnSupernode({ edge, pins, peerId: peerId("SN"), args });
  running.push(sn);
  return sn;
}

it("a browser arriving when no other browser holds the file gets ≥ 90% of it from the pinned supernode; the origin is not hit again", async () => {
  const s = stack();
  const path = `/gen/supernode-serves/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);
  const expected = s.origin.sha256(path);

  const sn = supernode(s.edge.url, [url]);
  await sn.waitForLine(/pin .*: held 8\.00 MiB in 32 chunks, seeding/);
  const shard = await waitForSupernodes(s.edge, path);
  expect(shard).toMatchObject({ browsers: 0, supernodes: 1 });
  expect(s.origin.hits(path)).toBe(1);

  const b = await s.openPeer("B");
  // Generous waits: the scenario is about where bytes come from, not speed (shared 2-core machine).
  await createSwarm(b, { peerId: peerId("B"), chunkDeadlineMs: 15_000, peerWaitMs: 10_000 } as never);
  expect(await swarmFetch(b, url)).toMatchObject({ status: 200, size: SIZE, sha256: expected });
  expect(s.origin.hits(path)).toBe(1);

  const st = await sdkStats(b);
  const c = contentStats(st, url);
  expect(c.received).toBe(SIZE);
  const share = (c.byPeer[sn.peerId] ?? 0) / SIZE;
  console.log(`supernode share of the browser's bytes: ${(share * 100).toFixed(1)}% (edge ${c.fromEdge} B)`);
  expect(share).toBeGreaterThanOrEqual(0.9);
  expect(st.hashFailures).toBe(0);
  // The supernode's own stats line counts what it sent.
  await sn.waitForLine(/sent (?!0 B)/);
});
