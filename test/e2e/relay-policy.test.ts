/**
 * `iceTransportPolicy: "relay"` (README "Behind NAT"): a page that must not expose its visitors' IP
 * addresses to each other connects to peers only through TURN relays. The edge hands out TURN
 * credentials for a TURN server that does not answer (nothing listens on 10.99.0.1:3478 in the test
 * namespace), so such a page gathers no relay candidate, reaches no peer and takes every byte from
 * the edge — while a page without the option, next to the same seeder, gets peer bytes.
 * `swarm.diagnose()` says why on both sides, and shows the TURN URL but never its credential.
 */
import { expect, it } from "vitest";
import { useStack } from "./harness/stack";
import { contentStats, createSwarm, diagnose, sdkStats, swarmFetch, waitFor, waitForSeeders } from "./harness/swarm-page";
import type { PeerDiagnosis } from "../../client/peer-diagnostics";

const TURN_URL = "turn:10.99.0.1:3478?transport=udp";
const TURN_SECRET = "e2e-turn-secret";
const stack = useStack({ vars: { TURN_URLS: JSON.stringify([TURN_URL]), TURN_SECRET } });
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
  await createSwarm(relay, { iceTransportPolicy: "relay", peerWaitMs: 3000 });
  expect(await swarmFetch(relay, url)).toMatchObject({ status: 200, size: SIZE, sha256: s.origin.sha256(path) });
  const r = contentStats(await sdkStats(relay), url);
  expect(r.fromPeers).toBe(0);
  expect(r.fromEdge).toBe(SIZE);

  // Why: R's link to the seeder never opened, and diagnose() names the policy (no relay candidate
  // gathered: the TURN server is unreachable); the seeder's side of it got no candidate from R.
  const sId = (await sdkStats(seeder)).peerId;
  const rId = (await sdkStats(relay)).peerId;
  const failed = (peers: PeerDiagnosis[], id: string, reason: string) => peers.find((p) => p.peerId === id && p.state === "failed" && p.reason === reason);
  const rLink = await waitFor("R's link to S to fail as relay-policy", async () => failed((await diagnose(relay)).peers, sId, "relay-policy"), 30_000, 250);
  expect(rLink).toMatchObject({ offeredBy: "local", candidates: { local: {} } });
  expect(rLink.pair).toBeUndefined();
  const rDiag = await diagnose(relay);
  console.log(`R's diagnose(): ${JSON.stringify(rDiag, null, 1)}`);
  expect(rDiag).toMatchObject({ peerId: rId, p2p: "on", iceTransportPolicy: "relay", iceServers: [TURN_URL] });
  expect(rDiag.peers.filter((p) => p.state === "connected")).toEqual([]);
  expect(JSON.stringify(rDiag)).not.toMatch(/username|credential|e2e-turn-secret/);
  const sLink = await waitFor("S's side of R's link to fail", async () => failed((await diagnose(seeder)).peers, rId, "no-remote-candidates"), 30_000, 250);
  expect(sLink).toMatchObject({ offeredBy: "remote", candidates: { remote: 0 } });
  expect(sLink.candidates.local.host).toBeGreaterThan(0);

  const direct = await s.openPeer("D");
  await createSwarm(direct);
  expect(await swarmFetch(direct, url)).toMatchObject({ status: 200, size: SIZE, sha256: s.origin.sha256(path) });
  expect(contentStats(await sdkStats(direct), url).fromPeers).toBeGreaterThan(0);
  const dLinks = (await diagnose(direct)).peers.filter((p) => p.peerId === sId && p.state === "connected");
  expect(dLinks).toHaveLength(1);
  expect(dLinks[0]!.pair).toMatchObject({ local: { type: "host", address: "10.99.0.1" } });
  expect(s.origin.hits(path)).toBe(1);
});
