/**
 * Issue 11 item 1, end to end: an origin that announces its full Content-Length, sends half and
 * drops the socket (a real RST). The SDK in a real browser must never return that prefix as the
 * object — not on the first fetch of the fresh URL, not on a later one from another page — and the
 * edge must neither store it nor certify it with a manifest (so no peer ever seeds it).
 */
import { expect, it } from "vitest";
import { useStack } from "./harness/stack";
import { createSwarm, sdkStats, swarmFetch } from "./harness/swarm-page";

const stack = useStack();
const SIZE = 1024 * 1024;

it("a body cut by the origin's reset: every page's swarm.fetch fails, nothing is stored, seeded or certified", async () => {
  const s = stack();
  const path = `/cut/truncated-origin/${SIZE}.bin`;
  const url = s.edge.contentUrl(path);

  const a = await s.openPeer("A");
  await createSwarm(a);
  // Before issue 11: status 200, 524,288 bytes, a clean end (and hashFailures 0).
  await expect(swarmFetch(a, url)).rejects.toThrow();
  const b = await s.openPeer("B");
  await createSwarm(b);
  await expect(swarmFetch(b, url)).rejects.toThrow();

  // Never stored: each fetch (and any manifest probe) went to the origin again, and the edge holds
  // no copy (a HEAD reads no body, so a stored prefix would answer HIT here).
  expect(s.origin.hits(path)).toBeGreaterThanOrEqual(2);
  const head = await fetch(url, { method: "HEAD" });
  expect(head.headers.get("x-edgeswarm-cache")).not.toBe("HIT");
  const m = await s.edge.manifest(path);
  expect(m.status).not.toBe(200);
  // Nothing reached a peer: no bytes from peers, none uploaded.
  const [sa, sb] = [await sdkStats(a), await sdkStats(b)];
  expect(sa.uploaded + sb.uploaded).toBe(0);
  expect(sa.fromPeers + sb.fromPeers).toBe(0);
});
