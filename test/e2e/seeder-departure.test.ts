/**
 * Scenario 4: a seeder closes its page in the middle of a transfer; the leecher finishes from the
 * other seeder or the edge, with intact bytes.
 */
import { expect, it } from "vitest";
import { useStack } from "./harness/stack";
import type { Peer } from "./harness/browser";
import {
  awaitSwarmFetch, contentStats, createSwarm, sdkStats, startSwarmFetch, swarmFetch, waitFor, waitForSeeders,
} from "./harness/swarm-page";

const stack = useStack();
const SIZE = 6 * 1024 * 1024;

it("leecher completes with the right bytes after a seeder leaves mid-transfer", async () => {
  const s = stack();
  const path = `/gen/seeder-departure/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);
  const expected = s.origin.sha256(path);

  // Upload caps slow the seeders down so that "mid-transfer" is a state the test can observe.
  const seeders = new Map<string, Peer>();
  for (const name of ["A", "B"]) {
    const p = await s.openPeer(name);
    seeders.set(await createSwarm(p, { maxUploadBytesPerSec: 1024 * 1024 }), p);
    expect(await swarmFetch(p, url)).toMatchObject({ status: 200, sha256: expected });
  }
  await waitForSeeders(s.edge, path, 2);

  const l = await s.openPeer("L");
  await createSwarm(l);
  await startSwarmFetch(l, "f", url);
  // Wait until some peer has delivered bytes and the transfer is not finished, then close that peer.
  const mid = await waitFor("leecher mid-transfer with bytes from a seeder", async () => {
    const st = await sdkStats(l);
    const c = Object.keys(st.contents ?? {}).length ? contentStats(st, url) : undefined;
    if (!c || c.received >= SIZE) return c && c.received >= SIZE ? { done: true as const, c } : undefined;
    const [top] = Object.entries(c.byPeer).filter(([id, n]) => seeders.has(id) && n > 0).sort((x, y) => y[1] - x[1]);
    return top ? { done: false as const, c, leaver: top[0] } : undefined;
  }, 30_000, 50);
  expect(mid.done, "transfer finished before a seeder could leave — the scenario was not exercised").toBe(false);
  if (mid.done) return;
  await seeders.get(mid.leaver)!.close();

  expect(await awaitSwarmFetch(l, "f")).toMatchObject({ status: 200, size: SIZE, sha256: expected });
  const c = contentStats(await sdkStats(l), url);
  expect(c.received).toBe(SIZE);
  expect(c.byPeer[mid.leaver]).toBeGreaterThan(0);
  expect(s.origin.hits(path)).toBe(1);
});
