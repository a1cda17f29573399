/**
 * Scenario 1: the core promise. A fetches a 4 MiB file through the SDK (edge → origin once);
 * B then fetches it and gets it mostly from A — the origin is not asked again. Both use the SDK's
 * default identity (a random key per instance, `?key=`), so A's id is key-derived and B — who sees
 * it in `peers` frames — cannot get a join token for it.
 */
import { expect, it } from "vitest";
import { useStack } from "./harness/stack";
import { contentStats, createSwarm, diagnose, sdkStats, swarmFetch, waitForSeeders } from "./harness/swarm-page";

const stack = useStack();
const SIZE = 4 * 1024 * 1024;

it("second peer gets the file from the first: same SHA-256, origin hit once, ≥ 75% of bytes from peers", async () => {
  const s = stack();
  const path = `/gen/peer-delivery/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);
  const expected = s.origin.sha256(path);

  const a = await s.openPeer("A");
  await createSwarm(a);
  const aId = (await sdkStats(a)).peerId;
  expect(aId).toMatch(/^pk_[A-Za-z0-9_-]{29}$/);
  expect(await swarmFetch(a, url)).toMatchObject({ status: 200, size: SIZE, sha256: expected });
  expect(s.origin.hits(path)).toBe(1);

  await waitForSeeders(s.edge, path, 1);
  const b = await s.openPeer("B");
  // A generous per-chunk deadline: this 2-core machine is shared, and the scenario is about where
  // bytes come from, not how fast (speed belongs in bench/).
  await createSwarm(b, { chunkDeadlineMs: 15_000 });
  const bId = (await sdkStats(b)).peerId;
  expect(bId).toMatch(/^pk_[A-Za-z0-9_-]{29}$/);
  expect(bId).not.toBe(aId); // one key per instance: contexts never share an id
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
  // diagnose(): B offered, and the link runs over host candidates on the namespace's only
  // interface (10.99.0.1); the selected pair carried at least the chunk bytes B credits A with.
  const bDiag = await diagnose(b);
  console.log(`B's diagnose(): ${JSON.stringify(bDiag, null, 1)}`);
  expect(bDiag).toMatchObject({ peerId: bId, p2p: "on", iceTransportPolicy: "all", iceServers: [] });
  const toA = bDiag.peers.filter((p) => p.peerId === aId);
  expect(toA).toHaveLength(1);
  expect(toA[0]).toMatchObject({ state: "connected", offeredBy: "local", pair: { local: { type: "host", protocol: "udp", address: "10.99.0.1" }, remote: { address: "10.99.0.1" } } });
  expect(["connected", "completed"]).toContain(toA[0]!.iceConnectionState);
  // The remote candidate is A's host candidate, or peer-reflexive when A's check beat its signal.
  expect(["host", "prflx"]).toContain(toA[0]!.pair!.remote.type);
  expect(toA[0]!.pair!.bytesReceived).toBeGreaterThanOrEqual(c.byPeer[aId]!);
  expect(toA[0]!.candidates.local.host).toBeGreaterThan(0);
  const fromB = (await diagnose(a)).peers.filter((p) => p.peerId === bId);
  expect(fromB).toHaveLength(1);
  expect(fromB[0]).toMatchObject({ state: "connected", offeredBy: "remote", pair: { local: { type: "host", address: "10.99.0.1" } } });
  expect(fromB[0]!.pair!.bytesSent).toBeGreaterThanOrEqual(c.byPeer[aId]!);
});

it("a default SDK peer's id cannot be claimed from another context: ?peer=<its id> is refused, no key yields it", async () => {
  const s = stack();
  const path = `/gen/peer-takeover/${64 * 1024}.bin`;
  const a = await s.openPeer("A");
  await createSwarm(a);
  const aId = (await sdkStats(a)).peerId;
  expect(aId).toMatch(/^pk_[A-Za-z0-9_-]{29}$/);
  expect((await swarmFetch(a, s.edge.contentUrl(path))).status).toBe(200);

  // B, in its own browser context, asks the edge for a token under A's id.
  const b = await s.openPeer("B");
  const attempts = await b.page.evaluate(
    async ([m, id]) => {
      const out: { query: string; status: number; code?: string; peerId?: string }[] = [];
      for (const query of [`peer=${id}`, `key=${id}`, `key=${id.slice(3)}`, ""]) {
        const r = await fetch(`${m}${query ? "?" + query : ""}`);
        const j = (await r.json()) as { error?: { code: string }; join?: { peerId: string } };
        out.push({ query, status: r.status, code: j.error?.code, peerId: j.join?.peerId });
      }
      return out;
    },
    [s.edge.contentUrl(path).replace("/c/", "/m/"), aId] as const,
  );
  expect(attempts[0]).toMatchObject({ status: 400, code: "bad-peer-id" });
  expect(attempts[0]!.peerId).toBeUndefined();
  for (const t of attempts.slice(1)) {
    expect(t.status).toBe(200);
    expect(t.peerId).toBeDefined();
    expect(t.peerId).not.toBe(aId);
  }
});
