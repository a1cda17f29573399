/**
 * Scenario 3: a poisoned seeder — a real peer on the real WebRTC path whose chunk store lies (a
 * Node peer in this process over a `LyingChunkBackend`: every chunk it uploads has a byte flipped).
 * The browser leecher must end with the origin's bytes, count the hash failures, ban the peer and
 * not use it again — and no corrupted byte ever reaches page code. The SDK itself has no corrupting
 * path: the liar is built on the test side.
 */
import { afterAll, afterEach, expect, it } from "vitest";
import { ChunkStore } from "../../client/chunk-store";
import { shutdownNodeRuntime } from "../../supernode/node-runtime";
import { LyingChunkBackend } from "../client/fakes/lying-backend";
import { useStack } from "./harness/stack";
import { startNodePeer, type NodePeer } from "./harness/supernode";
import { contentStats, createSwarm, diagnose, sdkStats, swarmFetch, waitForSeeders } from "./harness/swarm-page";

const stack = useStack();
const SIZE = 2 * 1024 * 1024;

let liar: NodePeer | undefined;
afterEach(() => {
  liar?.close();
  liar = undefined;
});
afterAll(async () => {
  // Links close asynchronously; give them a moment before libdatachannel's threads go.
  await new Promise((r) => setTimeout(r, 300));
  shutdownNodeRuntime();
});

it("leecher rejects a lying seeder: correct bytes, hash failures reported, peer banned and not used again", async () => {
  const s = stack();
  const first = `/gen/poisoned-1/${SIZE}.bin`;
  const second = `/gen/poisoned-2/${SIZE}.bin`;

  // The lying peer is the only seeder, so the leecher must try it. It announces itself a browser
  // (the picker asks browsers first) and fetched both items from the edge, verified, into its store.
  liar = await startNodePeer({
    edge: s.edge.url, kind: "browser",
    store: await ChunkStore.open(new LyingChunkBackend(), { quotaBytes: 64 << 20 }),
  });
  const pId = liar.swarm.peerId;
  for (const path of [first, second]) {
    const got = await liar.fetch(s.edge.contentUrl(path));
    expect(got).toMatchObject({ status: 200, sha256: s.origin.sha256(path) });
    await waitForSeeders(s.edge, path, 1);
  }

  const l = await s.openPeer("L");
  await createSwarm(l);
  // The page hashes what swarm.fetch handed it: equal to the origin means zero corrupted bytes.
  expect(await swarmFetch(l, s.edge.contentUrl(first))).toMatchObject({ status: 200, size: SIZE, sha256: s.origin.sha256(first) });
  const after1 = await sdkStats(l);
  expect(after1.hashFailures).toBeGreaterThanOrEqual(1);
  expect(after1.bannedPeers).toContain(pId);
  expect(contentStats(after1, s.edge.contentUrl(first)).byPeer[pId] ?? 0).toBe(0);
  // diagnose() says why the link is gone: it opened, then the ban after the hash failure closed it.
  const banned = (await diagnose(l)).peers.filter((p) => p.peerId === pId);
  expect(banned.map((p) => [p.state, p.reason])).toContainEqual(["failed", "banned"]);
  expect(banned.find((p) => p.reason === "banned" && p.openedAt !== undefined)).toBeDefined();
  expect(banned.filter((p) => p.state === "connected" || p.state === "connecting")).toEqual([]);

  // Banned means banned: the next item the liar also seeds comes from elsewhere, with no new failures.
  expect(await swarmFetch(l, s.edge.contentUrl(second))).toMatchObject({ status: 200, size: SIZE, sha256: s.origin.sha256(second) });
  const after2 = await sdkStats(l);
  expect(after2.hashFailures).toBe(after1.hashFailures);
  expect(contentStats(after2, s.edge.contentUrl(second)).byPeer[pId] ?? 0).toBe(0);
  expect(after2.bannedPeers).toContain(pId);
  expect((await diagnose(l)).peers.filter((p) => p.peerId === pId && p.state !== "failed")).toEqual([]);

  expect(s.origin.hits(first)).toBe(1);
  expect(s.origin.hits(second)).toBe(1);
});
