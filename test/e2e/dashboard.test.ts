/**
 * The operator's dashboard in real Chromium: two visitors load the demo gallery (the second mostly
 * from the first, over WebRTC), then a third tab opens `/dashboard` with the edge's token and must
 * show — in its KPIs and on its charts — at least 1 MB delivered by peers and an offload above 0,
 * as reported by the real coordinators through their alarms and bounded by the edge's own counts.
 * The same page without a token is refused.
 *
 * EDGESWARM_SCREENSHOT=1 also writes the dashboard to docs/dashboard.png (off by default, so test
 * runs do not rewrite a tracked file; as test/e2e/demo-page.test.ts does for docs/demo.png).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { GALLERY, galleryPath } from "../../demo/gallery.mjs";
import type { Peer } from "./harness/browser";
import { useDemoStack } from "./harness/demo-stack";
import { E2E_DASHBOARD_TOKEN, REPO } from "./harness/edge";
import { waitForSeeders } from "./harness/swarm-page";

const demo = useDemoStack({ name: "dashboard" });

/** Opens the demo gallery as a new visitor and waits until it loaded the whole set. */
async function visit(name: string, url: string): Promise<{ peer: Peer; fromPeers: number; fromEdge: number; state: string }> {
  const peer = await demo().visit(name, url);
  const v = await peer.page.evaluate(() => {
    const s = (window as any).demo.swarm.stats();
    return { state: (window as any).demo.state as string, fromPeers: s.fromPeers as number, fromEdge: s.fromEdge as number };
  });
  console.log(`dashboard e2e: visitor ${name} ${v.state}, ${v.fromPeers} B from peers, ${v.fromEdge} B from the edge`);
  return { peer, ...v };
}

/** Field names of each interface in docs/dashboard.md's `/dashboard/data` schema block, sorted. */
function documentedFields(md: string): Record<string, string[]> {
  const block = /## `GET \/dashboard\/data`[\s\S]*?```ts\n([\s\S]*?)```/.exec(md)?.[1] ?? "";
  const out: Record<string, string[]> = {};
  for (const m of block.matchAll(/interface (\w+)[^{]*\{([\s\S]*?)\n\}/g)) {
    const body = m[2]!.replace(/\/\/.*$/gm, "").replace(/\{[^}]*\}/g, ""); // comments, inline types
    out[m[1]!] = [...body.matchAll(/(\w+)\s*:/g)].map((x) => x[1]!).sort();
  }
  return out;
}

/** What the dashboard page shows: its last document, its KPI text and its charts' data. */
interface PageView {
  polls: number;
  error: string | null;
  totals: { peerBytes: number; edgeBytes: number; offload: number; fetches: number; originBytes: number; hashFailures: number; bannedPeers: number; edgeLaneBytes: number } | null;
  kpi: { offload: string; peerBytes: string; peersOnline: string };
  health: { hashFailures: string; bannedPeers: string; laneBytes: string; deadlineBytes: string };
  chartPeerBytes: number;
  chartMaxOffload: number;
  rows: string[];
}

it("after two visitors load the gallery, the dashboard shows ≥ 1 MB from peers and an offload above 0 on its charts", async () => {
  const { edge } = demo();
  const url = `${edge.url}/c/e2e/index.html?deadline=15000&peerwait=10000`;
  const a = await visit("A", url);
  expect(a.state).toBe("done");
  for (let n = 0; n < GALLERY.count; n++) await waitForSeeders(edge, galleryPath(n), 1, 30_000);
  const b = await visit("B", url);
  expect(b.state).toBe("done");
  expect(b.fromPeers).toBeGreaterThan(1_000_000);

  // Without a token: refused.
  expect((await fetch(`${edge.url}/dashboard`)).status).toBe(401);
  expect((await fetch(`${edge.url}/dashboard/data`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);

  const c = await demo().openPeer("dashboard");
  await c.page.setViewportSize({ width: 1360, height: 1000 });
  await c.page.goto(`${edge.url}/dashboard?token=${E2E_DASHBOARD_TOKEN}&poll=1000&window=15m`);
  // Coordinators report from their stats-flush alarms (at most every 10 s each, and from the
  // maintenance alarm): poll the page until its charts carry the peers' bytes, and the claims of
  // both tabs have arrived (accepted or held back), so the numbers below are the whole visit's.
  const claimed = a.fromPeers + b.fromPeers;
  await c.page.waitForFunction((claimed: number) => {
    const d = (window as any).dashboard;
    const u = d?.charts?.bytes;
    const t = d?.data?.overall.totals;
    return u && t && (u.data[2] as number[]).reduce((s: number, v: number) => s + (v ?? 0), 0) >= 1_000_000 && t.peerBytes + t.rejectedBytes >= 0.9 * claimed;
  }, claimed, { timeout: 180_000, polling: 500 });
  const view = await c.page.evaluate((): PageView => {
    const d = (window as any).dashboard;
    const sum = (xs: (number | null)[]) => xs.reduce<number>((s, v) => s + (v ?? 0), 0);
    const text = (id: string) => document.getElementById(id)!.textContent ?? "";
    return {
      polls: d.polls,
      error: d.error,
      totals: d.data?.overall.totals ?? null,
      kpi: { offload: text("offload"), peerBytes: text("peer-bytes"), peersOnline: text("peers-online") },
      health: { hashFailures: text("hash-failures"), bannedPeers: text("banned-peers"), laneBytes: text("lane-bytes"), deadlineBytes: text("deadline-bytes") },
      chartPeerBytes: sum(d.charts.bytes.data[2]),
      chartMaxOffload: Math.max(0, ...(d.charts.offload.data[1] as (number | null)[]).map((v) => v ?? 0)),
      rows: [...document.querySelectorAll("#top tbody tr td:first-child")].map((td) => td.textContent ?? ""),
    };
  });
  console.log(`dashboard e2e: ${JSON.stringify(view)}`);
  expect(view.error).toBeNull();
  expect(view.totals!.peerBytes).toBeGreaterThanOrEqual(1_000_000);
  expect(view.totals!.offload).toBeGreaterThan(0);
  // The edge counted what it witnessed: every image's manifest (two visitors) and one origin fill each.
  expect(view.totals!.fetches).toBeGreaterThanOrEqual(2 * GALLERY.count);
  // Never more than the two tabs themselves claim (the SDKs' own counters).
  expect(view.totals!.peerBytes).toBeLessThanOrEqual(a.fromPeers + b.fromPeers);
  // The edge measured at least what the tabs counted from it — the first visitor's cold items come
  // inline in /m/ answers, later ones' first chunks after the manifest JSON — so the dashboard's
  // offload is never above what the tabs saw (it read 98 % for a ~50 % visit when /m/ bytes were missed).
  expect(view.totals!.edgeBytes).toBeGreaterThanOrEqual(a.fromEdge + b.fromEdge);
  expect(view.totals!.offload).toBeLessThanOrEqual(claimed / (claimed + a.fromEdge + b.fromEdge));
  // The origin sent the gallery once (one fill per image), and the dashboard says so.
  expect(view.totals!.originBytes).toBeGreaterThanOrEqual(GALLERY.count * (54 + GALLERY.width * GALLERY.height * 3)); // 24-bit BMPs
  expect(view.chartPeerBytes).toBeGreaterThanOrEqual(1_000_000);
  expect(view.chartMaxOffload).toBeGreaterThan(0);
  expect(Number.parseFloat(view.kpi.offload)).toBeGreaterThan(0);
  expect(view.kpi.peerBytes).toMatch(/ (MB|GB)$/);
  expect(view.rows.some((p) => p.startsWith("/e2e/"))).toBe(true);
  // The health row shows the document's counters; two honest tabs refused nothing and banned no one.
  expect(view.totals!.hashFailures).toBe(0);
  expect(view.totals!.bannedPeers).toBe(0);
  expect(view.health.hashFailures).toBe("0");
  expect(view.health.bannedPeers).toBe("0");
  expect(view.health.laneBytes).toMatch(/^\d+(\.\d)? [KMGTP]?B$/);
  expect(view.health.deadlineBytes).toMatch(/^\d+(\.\d)? [KMGTP]?B$/);

  // The JSON operators' tools read has exactly the fields docs/dashboard.md documents.
  const doc = (await (await fetch(`${edge.url}/dashboard/data?window=15m`, { headers: { authorization: `Bearer ${E2E_DASHBOARD_TOKEN}` } })).json()) as any;
  const documented = documentedFields(readFileSync(join(REPO, "docs/dashboard.md"), "utf8"));
  const keys = (o: object) => Object.keys(o).sort();
  expect(keys(doc)).toEqual(documented.DashboardData);
  expect(keys(doc.sites[0])).toEqual(documented.SiteSnapshot);
  expect(keys(doc.overall)).toEqual(documented.SiteSnapshot);
  expect(keys(doc.sites[0].totals)).toEqual(documented.SiteTotals);
  expect(keys(doc.sites[0].series[0])).toEqual(documented.SeriesPoint);
  expect(keys(doc.sites[0].topByBytes[0])).toEqual(documented.TopItem);

  if (process.env.EDGESWARM_SCREENSHOT === "1") {
    await c.page.waitForTimeout(1500); // one more poll: the charts settle at the page's width
    await c.page.screenshot({ path: join(REPO, "docs/dashboard.png"), fullPage: true });
    console.log("wrote docs/dashboard.png");
  }
}, 400_000);
