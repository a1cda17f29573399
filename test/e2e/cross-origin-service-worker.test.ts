/**
 * A site not served by the edge (the common deployment: pages at www.example.com, the edge at
 * cdn.example.com). The site's own origin — here a Node server on another port — hosts the page,
 * the SDK and the service worker, as a site that installed the package would; the worker
 * intercepts the page's plain requests for *edge* URLs and routes them through the page's swarm.
 * The SDK's own requests to the edge (manifest, edge ranges) carry the cross-origin marker
 * (a same-origin referrer: no CORS preflight) and must pass the worker untouched: if they were
 * intercepted, each would be handed back to the window and fetched through the swarm again.
 */
import { createServer, type Server } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { expect, it } from "vitest";
import { openPeer, type Peer } from "./harness/browser";
import { REPO } from "./harness/edge";
import { useStack } from "./harness/stack";
import {
  contentStats, createSwarm, isControlled, plainFetch, registerServiceWorker, reloadPeer, sdkStats, swarmFetch,
  waitForSeeders,
} from "./harness/swarm-page";

const stack = useStack();

/** The site's own origin: the test page and its helper, the SDK and the service worker from dist/. */
async function startSite(): Promise<{ url: string; server: Server }> {
  const files: Record<string, { file: string; type: string }> = {
    "/__e2e/peer.html": { file: join(REPO, "test/e2e/pages/peer.html"), type: "text/html; charset=utf-8" },
    "/__e2e/peer.js": { file: join(REPO, "test/e2e/pages/peer.js"), type: "text/javascript" },
    "/sdk/edgeswarm.js": { file: join(REPO, "dist/sdk/edgeswarm.js"), type: "text/javascript" },
    "/edgeswarm-sw.js": { file: join(REPO, "dist/sdk/sw.js"), type: "text/javascript" },
  };
  const server = createServer((req, res) => {
    const f = files[new URL(req.url ?? "/", "http://site").pathname];
    if (!f) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": f.type, "cache-control": "no-store" }).end(readFileSync(f.file));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Counts the window's answers to the worker (one per intercepted request) from here on. */
async function countWorkerAsks(v: Peer): Promise<void> {
  await v.page.evaluate(() => {
    (window as any).__asks = [];
    navigator.serviceWorker.addEventListener("message", (e) => {
      if (e.data?.type === "edgeswarm-fetch") (window as any).__asks.push(e.data.url);
    });
  });
}
const asks = (v: Peer): Promise<string[]> => v.page.evaluate(() => (window as any).__asks as string[]);

it("a page on another origin: its service worker routes edge URLs through the swarm, the SDK's own edge requests pass through (no loop)", async () => {
  const s = stack();
  const site = await startSite();
  try {
    expect(new URL(site.url).origin).not.toBe(new URL(s.edge.url).origin);
    const cold = `/gen/cross-origin-sw-cold/${1024 * 1024 + 5}.bin`; // nobody holds it: all bytes via the SDK's edge requests
    const warm = `/gen/cross-origin-sw-warm/${2 * 1024 * 1024}.bin`; // a seeder holds it: peer bytes
    const coldUrl = s.edge.contentUrl(cold);
    const warmUrl = s.edge.contentUrl(warm);

    const seeder = await s.openPeer("S");
    await createSwarm(seeder);
    expect(await swarmFetch(seeder, warmUrl)).toMatchObject({ status: 200, sha256: s.origin.sha256(warm) });
    await waitForSeeders(s.edge, warm, 1);

    // The visitor: a page of the site, its swarm pointed at the edge, the site's worker told to
    // intercept the edge's content URLs (absolute prefix: they are cross-origin).
    const v = await openPeer(s.browser, "V");
    s.peers.push(v);
    await v.page.goto(`${site.url}/__e2e/peer.html`);
    await v.page.waitForFunction(() => (window as any).e2e?.ready === true, undefined, { timeout: 15_000 });
    const setup = async (): Promise<void> => {
      await createSwarm(v, { edge: s.edge.url, chunkDeadlineMs: 15_000 });
      await registerServiceWorker(v, [`${s.edge.url}/c/e2e/`]);
    };
    await setup();
    if (!(await isControlled(v))) {
      await reloadPeer(v);
      await setup();
    }
    expect(await isControlled(v)).toBe(true);
    expect(await v.page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toMatch(new RegExp(`^${site.url}/edgeswarm-sw\\.js`));
    await countWorkerAsks(v);

    // Page code: plain fetch() of edge URLs.
    expect(await plainFetch(v, coldUrl)).toMatchObject({ status: 200, size: 1024 * 1024 + 5, sha256: s.origin.sha256(cold) });
    expect(await plainFetch(v, warmUrl)).toMatchObject({ status: 200, size: 2 * 1024 * 1024, sha256: s.origin.sha256(warm) });

    // Exactly the page's two requests reached the window: the SDK's own edge requests (several
    // Range requests for the cold item) were let through, not handed back.
    expect(await asks(v)).toEqual([coldUrl, warmUrl]);
    const st = await sdkStats(v);
    expect(contentStats(st, coldUrl).fromEdge).toBe(1024 * 1024 + 5);
    expect(contentStats(st, warmUrl).fromPeers).toBeGreaterThan(0);
    expect(s.origin.hits(cold)).toBe(1);
    expect(s.origin.hits(warm)).toBe(1);
  } finally {
    await new Promise((r) => site.server.close(r));
  }
});
