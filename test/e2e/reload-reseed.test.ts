/**
 * Scenario 6: the chunk store survives a reload, and the reloaded page seeds what it held to a
 * newcomer without downloading it again.
 */
import { expect, it } from "vitest";
import { useStack } from "./harness/stack";
import { contentStats, createSwarm, peerKey, reloadPeer, sdkStats, swarmFetch, waitForSeeders } from "./harness/swarm-page";

const stack = useStack();
const SIZE = 3 * 1024 * 1024;

it("a reloaded page re-joins the swarm of what it stored and seeds it to a new peer", async () => {
  const s = stack();
  const path = `/gen/reload-reseed/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);
  const expected = s.origin.sha256(path);

  const a = await s.openPeer("A");
  // The page keeps its key across the reload (as a site would in sessionStorage): same id after it.
  const aKey = peerKey();
  const aId = await createSwarm(a, { peerKey: aKey });
  expect(aId).toMatch(/^pk_[A-Za-z0-9_-]{29}$/);
  expect(await swarmFetch(a, url)).toMatchObject({ status: 200, sha256: expected });
  // The body is complete before the store's IndexedDB writes are: reload only once every chunk is
  // stored, which the SDK signals by announcing it (a chunk is announced after it is put).
  await waitForSeeders(s.edge, path, 1);

  await reloadPeer(a);
  // After the reload, page code only creates the swarm again: no fetch of the content.
  expect(await createSwarm(a, { peerKey: aKey })).toBe(aId);
  await waitForSeeders(s.edge, path, 1);

  const b = await s.openPeer("B");
  await createSwarm(b, { chunkDeadlineMs: 15_000 });
  expect(await swarmFetch(b, url)).toMatchObject({ status: 200, size: SIZE, sha256: expected });
  const c = contentStats(await sdkStats(b), url);
  expect(c.byPeer[aId] ?? 0).toBeGreaterThanOrEqual(SIZE / 2);
  expect((await sdkStats(a)).uploaded).toBeGreaterThanOrEqual(c.byPeer[aId]!);
  expect(s.origin.hits(path)).toBe(1);
});
