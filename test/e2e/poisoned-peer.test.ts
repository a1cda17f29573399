/**
 * Scenario 3: a poisoned seeder — the real SDK in a page whose data channels flip a byte in every
 * DATA frame it sends (harness/lying-peer.ts: the lie is built on the test side; the SDK ships no
 * corruption switch). The leecher must end with the origin's bytes, count the hash failures, ban the peer and
 * not use it again — and no corrupted byte ever reaches page code.
 */
import { expect, it } from "vitest";
import { liesTold, makeLyingPeer } from "./harness/lying-peer";
import { useStack } from "./harness/stack";
import { contentStats, createSwarm, sdkStats, swarmFetch, waitForSeeders } from "./harness/swarm-page";

const stack = useStack();
const SIZE = 2 * 1024 * 1024;

it("leecher rejects a corrupting seeder: correct bytes, hash failures reported, peer banned and not used again", async () => {
  const s = stack();
  const first = `/gen/poisoned-1/${SIZE}.bin`;
  const second = `/gen/poisoned-2/${SIZE}.bin`;

  // The poisoned peer is the only seeder, so the leecher must try it.
  const p = await s.openPeer("P");
  await makeLyingPeer(p);
  const pId = await createSwarm(p);
  for (const path of [first, second]) {
    expect(await swarmFetch(p, s.edge.contentUrl(path))).toMatchObject({ status: 200, sha256: s.origin.sha256(path) });
    await waitForSeeders(s.edge, path, 1);
  }

  const l = await s.openPeer("L");
  await createSwarm(l);
  // The page hashes what swarm.fetch handed it: equal to the origin means zero corrupted bytes.
  expect(await swarmFetch(l, s.edge.contentUrl(first))).toMatchObject({ status: 200, size: SIZE, sha256: s.origin.sha256(first) });
  expect(await liesTold(p)).toBeGreaterThan(0);
  const after1 = await sdkStats(l);
  expect(after1.hashFailures).toBeGreaterThanOrEqual(1);
  expect(after1.bannedPeers).toContain(pId);
  expect(contentStats(after1, s.edge.contentUrl(first)).byPeer[pId] ?? 0).toBe(0);

  // Banned means banned: the next item P also seeds comes from elsewhere, with no new failures.
  expect(await swarmFetch(l, s.edge.contentUrl(second))).toMatchObject({ status: 200, size: SIZE, sha256: s.origin.sha256(second) });
  const after2 = await sdkStats(l);
  expect(after2.hashFailures).toBe(after1.hashFailures);
  expect(contentStats(after2, s.edge.contentUrl(second)).byPeer[pId] ?? 0).toBe(0);
  expect(after2.bannedPeers).toContain(pId);

  expect(s.origin.hits(first)).toBe(1);
  expect(s.origin.hits(second)).toBe(1);
});
