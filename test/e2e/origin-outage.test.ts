/**
 * Scenario 7: the origin goes down after the first fetch. Later peers still get the content — from
 * peers while any hold it, and from the edge's stale copy (stale-if-error, RFC 5861 §4) when none do.
 */
import { expect, it } from "vitest";
import { useStack } from "./harness/stack";
import { contentStats, createSwarm, sdkStats, swarmFetch, waitForSeeders } from "./harness/swarm-page";

const stack = useStack();
const SIZE = 2 * 1024 * 1024;

it("with the origin down, peers and the edge's stale copy still deliver the origin's bytes", async () => {
  const s = stack();
  // `/short/` is served with max-age=1: by the time the origin fails, the edge's copy is stale.
  const path = `/short/origin-outage/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);
  const expected = s.origin.sha256(path);

  const a = await s.openPeer("A");
  const aId = await createSwarm(a);
  expect(await swarmFetch(a, url)).toMatchObject({ status: 200, sha256: expected });
  await waitForSeeders(s.edge, path, 1);
  await new Promise((r) => setTimeout(r, 1500)); // let max-age=1 expire

  // Down, answering 500: B gets the content with A seeding.
  await s.origin.setMode("error");
  const b = await s.openPeer("B");
  await createSwarm(b, { chunkDeadlineMs: 15_000 });
  expect(await swarmFetch(b, url)).toMatchObject({ status: 200, size: SIZE, sha256: expected });
  expect(contentStats(await sdkStats(b), url).byPeer[aId] ?? 0).toBeGreaterThan(0);

  // Down, refusing connections, and no peer left: only the edge's stale copy remains.
  await a.close();
  await b.close();
  await s.origin.setMode("refuse");
  const c = await s.openPeer("C");
  await createSwarm(c);
  expect(await swarmFetch(c, url)).toMatchObject({ status: 200, size: SIZE, sha256: expected });

  // The edge says what it did.
  const direct = await fetch(url);
  const body = new Uint8Array(await direct.arrayBuffer());
  expect(direct.status).toBe(200);
  expect(direct.headers.get("x-edgeswarm-cache")).toBe("STALE");
  expect(Buffer.from(body).equals(Buffer.from(s.origin.bytes(path)))).toBe(true);
  // The origin served the content exactly once, before it went down.
  expect(s.origin.log().filter((r) => r.path === path && (r.status === 200 || r.status === 206))).toHaveLength(1);
});
