/**
 * `iceTransportPolicy: "relay"` (README "Behind NAT"): a page that must not expose its visitors' IP
 * addresses to each other connects to peers only through TURN relays. With no TURN server
 * configured (this edge hands out none), such a page reaches no peer and takes every byte from the
 * edge — while a page without the option, next to the same seeder, gets peer bytes.
 */
import { expect, it } from "vitest";
import { useStack } from "./harness/stack";
import { contentStats, createSwarm, sdkStats, swarmFetch, waitForSeeders, type SwarmOptions } from "./harness/swarm-page";

const stack = useStack();
const SIZE = 2 * 1024 * 1024;

it("relay-only peers never connect directly: all bytes from the edge, verified; a default peer beside them gets peer bytes", async () => {
  const s = stack();
  const path = `/gen/relay-policy/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);
  const seeder = await s.openPeer("S");
  await createSwarm(seeder);
  expect(await swarmFetch(seeder, url)).toMatchObject({ status: 200, sha256: s.origin.sha256(path) });
  await waitForSeeders(s.edge, path, 1);

  const relay = await s.openPeer("R");
  await createSwarm(relay, { iceTransportPolicy: "relay", peerWaitMs: 3000 } as SwarmOptions);
  expect(await swarmFetch(relay, url)).toMatchObject({ status: 200, size: SIZE, sha256: s.origin.sha256(path) });
  const r = contentStats(await sdkStats(relay), url);
  expect(r.fromPeers).toBe(0);
  expect(r.fromEdge).toBe(SIZE);

  const direct = await s.openPeer("D");
  await createSwarm(direct);
  expect(await swarmFetch(direct, url)).toMatchObject({ status: 200, size: SIZE, sha256: s.origin.sha256(path) });
  expect(contentStats(await sdkStats(direct), url).fromPeers).toBeGreaterThan(0);
  expect(s.origin.hits(path)).toBe(1);
});
