/**
 * The dashboard page's script (bundled with uPlot by scripts/build-dashboard.mjs): polls
 * `/dashboard/data` with the page's token and draws the KPIs, three charts and the top-content table.
 * `window.dashboard` exposes the last document and the charts (the end-to-end suite reads them).
 *
 * Query options: `token` (required), `site`, `window` (15m|1h|6h|24h|7d|30d|90d), `source`
 * (sqlite|analytics), `poll` (ms, ≥ 500).
 */
import uPlot from "uplot";
import type { DashboardData, SeriesPoint, SiteSnapshot, TopItem } from "../durable/site-stats-model";

const params = new URLSearchParams(location.search);
/** `/dashboard`, or `/<mount>/dashboard` when the edge is mounted under a prefix (set by the route). */
const base = document.querySelector<HTMLMetaElement>('meta[name="dashboard-base"]')?.content ?? "/dashboard";
const token = params.get("token") ?? "";
const pollMs = Math.max(500, Number(params.get("poll")) || 2000);
const $ = <T = HTMLElement>(id: string) => document.getElementById(id) as unknown as T;
const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

const COLORS = { peer: css("--peer") || "#3fb950", edge: css("--edge") || "#f38020", origin: css("--origin") || "#d2a8ff", blue: css("--blue") || "#58a6ff", grid: "#26313c", text: "#8b98a5" };

/** 1536 → "1.5 KB" (decimal units, as the demo page). */
export function bytes(n: number): string {
  const u = ["B", "KB", "MB", "GB", "TB", "PB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) (n /= 1000), i++;
  return `${i === 0 ? n : n.toFixed(n >= 100 ? 0 : 1)} ${u[i]}`;
}
/** Axis labels: whole numbers from 10 up ("30 MB", "2.5 MB"). */
const bytesShort = (n: number) => bytes(n).replace(/^(\d{2,})\.\d /, "$1 ");
const pct = (r: number) => `${(r * 100).toFixed(r > 0 && r < 0.1 ? 1 : 0)} %`;

interface View {
  data: DashboardData | null;
  polls: number;
  error: string | null;
  charts: Record<"offload" | "bytes" | "peers", uPlot | null>;
}
const view: View = { data: null, polls: 0, error: null, charts: { offload: null, bytes: null, peers: null } };
(window as unknown as { dashboard: View }).dashboard = view;

const siteSel = $<HTMLSelectElement>("site");
const winSel = $<HTMLSelectElement>("window");
const topSel = $<HTMLSelectElement>("top-order");
const sourceSel = $<HTMLSelectElement>("source");
if (params.get("source")) sourceSel.value = params.get("source")!;
if (params.get("site")) siteSel.innerHTML += `<option>${escapeHtml(params.get("site")!)}</option>`;
siteSel.value = params.get("site") ?? "";
if (params.get("window")) winSel.value = params.get("window")!;
for (const el of [siteSel, winSel, topSel, sourceSel]) el.addEventListener("change", () => void poll(true));

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function dataUrl(kind: "data" | "metrics"): string {
  const q = new URLSearchParams();
  if (kind === "data") q.set("window", winSel.value);
  if (kind === "data" && sourceSel.value !== "sqlite") q.set("source", sourceSel.value);
  if (siteSel.value) q.set("site", siteSel.value);
  return `${base}/${kind}${q.size ? `?${q}` : ""}`;
}

/** Fills missing minutes of the window (counters 0, gauges carried ≤ 5 minutes). */
function fill(series: SeriesPoint[], now: number, windowMs: number): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  const minutes = new Map(series.filter((p) => p.step === 60_000).map((p) => [p.t, p]));
  for (const p of series) if (p.step !== 60_000) out.push(p);
  const end = Math.floor(now / 60_000) * 60_000;
  const firstMinute = series.find((p) => p.step === 60_000)?.t ?? end;
  let last: SeriesPoint | null = null, carried = 0;
  for (let t = Math.max(end - windowMs + 60_000, Math.min(firstMinute, end - 60_000 * 14)); t <= end; t += 60_000) {
    const p = minutes.get(t);
    if (p) (last = p), (carried = 0), out.push(p);
    else {
      carried++;
      const g = last && carried <= 5 ? last : null;
      out.push({ t, step: 60_000, peerBytes: 0, edgeBytes: 0, originBytes: 0, uploaded: 0, hits: 0, misses: 0, fetches: 0,
        hashFailures: 0, bannedPeers: 0, edgeLaneBytes: 0, deadlineFallbackBytes: 0, peersOnline: g?.peersOnline ?? 0, swarms: g?.swarms ?? 0 });
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

function axes(fmt: (v: number) => string): uPlot.Axis[] {
  const a = { stroke: COLORS.text, grid: { stroke: COLORS.grid, width: 1 }, ticks: { stroke: COLORS.grid, width: 1 }, font: "11px system-ui, sans-serif" };
  return [a, { ...a, size: 64, values: (_u: uPlot, vals: number[]) => vals.map(fmt) }];
}

function chart(key: keyof View["charts"], el: HTMLElement, opts: Omit<uPlot.Options, "width" | "height">, data: uPlot.AlignedData): void {
  const width = Math.max(240, el.clientWidth);
  const c = view.charts[key];
  if (c && c.series.length === opts.series.length) {
    c.setData(data);
    if (Math.abs(c.width - width) > 4) c.setSize({ width, height: 220 });
    return;
  }
  c?.destroy();
  el.textContent = "";
  view.charts[key] = new uPlot({ ...opts, width, height: 220, cursor: { drag: { x: false, y: false } } } as uPlot.Options, data, el);
}

function draw(s: Omit<SiteSnapshot, "site">, windowMs: number): void {
  const pts = fill(s.series, s.now, windowMs);
  const x = pts.map((p) => p.t / 1000);
  const perMin = (p: SeriesPoint, v: number) => (v * 60_000) / p.step;
  const peer = pts.map((p) => perMin(p, p.peerBytes));
  const edge = pts.map((p) => perMin(p, p.edgeBytes));
  const origin = pts.map((p) => perMin(p, p.originBytes));
  const offload = pts.map((p) => (p.peerBytes + p.edgeBytes > 0 ? (100 * p.peerBytes) / (p.peerBytes + p.edgeBytes) : null));
  // The window's running offload: a line from the first delivered byte on, even when few intervals carry traffic.
  let sumPeer = 0, sumAll = 0;
  const running = pts.map((p) => ((sumPeer += p.peerBytes), (sumAll += p.peerBytes + p.edgeBytes), sumAll > 0 ? (100 * sumPeer) / sumAll : null));
  const fmtPct = (_u: uPlot, v: number | null) => (v == null ? "–" : `${v.toFixed(0)} %`);
  chart("offload", $("chart-offload"), {
    series: [
      {},
      { label: "per interval", stroke: COLORS.peer, width: 2, fill: "rgba(63,185,80,.15)", spanGaps: true, points: { show: true, size: 5 }, value: fmtPct },
      { label: "in window", stroke: COLORS.blue, width: 1.5, dash: [6, 4], value: fmtPct },
    ],
    scales: { y: { range: [0, 100] } }, axes: axes((v) => `${v} %`),
  }, [x, offload, running]);
  // Stacked: the edge band is drawn as peer + edge, the peer band over it; legends show own values.
  const total = peer.map((v, i) => v + edge[i]!);
  chart("bytes", $("chart-bytes"), {
    series: [
      {},
      { label: "edge", stroke: COLORS.edge, fill: "rgba(243,128,32,.35)", width: 1.5, value: (_u, _v, _s, i) => (i == null ? "–" : `${bytes(edge[i] ?? 0)}/min`) },
      { label: "peers", stroke: COLORS.peer, fill: "rgba(63,185,80,.55)", width: 1.5, value: (_u, v) => (v == null ? "–" : `${bytes(v)}/min`) },
      { label: "origin", stroke: COLORS.origin, width: 1.5, dash: [5, 4], value: (_u, v) => (v == null ? "–" : `${bytes(v)}/min`) },
    ],
    scales: { y: { range: (_u, _min, max) => [0, Math.max(max, 1)] } }, axes: axes(bytesShort),
  }, [x, total, peer, origin]);
  chart("peers", $("chart-peers"), {
    series: [
      {},
      { label: "peers online", stroke: COLORS.blue, fill: "rgba(88,166,255,.15)", width: 2 },
      { label: "swarms", stroke: COLORS.origin, width: 1.5 },
    ],
    scales: { y: { range: (_u, _min, max) => [0, Math.max(max + 1, 2)] } }, axes: axes((v) => String(v)),
  }, [x, pts.map((p) => p.peersOnline), pts.map((p) => p.swarms)]);
}

function kpis(s: Omit<SiteSnapshot, "site">): void {
  const t = s.totals;
  const set = (id: string, v: string) => { const el = $(id); if (el.textContent !== v) el.textContent = v; };
  set("offload", t.peerBytes + t.edgeBytes > 0 ? pct(t.offload) : "–");
  set("peer-bytes", bytes(t.peerBytes));
  set("edge-bytes", bytes(t.edgeBytes));
  set("origin-bytes", bytes(t.originBytes));
  set("saved", bytes(t.originBytesSaved));
  set("peers-online", String(s.peersOnline));
  set("swarms", String(s.swarmsActive));
  set("hit-ratio", t.hits + t.misses > 0 ? pct(t.cacheHitRatio) : "–");
  set("fetches", String(t.fetches));
  set("uploaded", bytes(t.uploaded));
  set("rejected", bytes(t.rejectedBytes));
  set("hash-failures", String(t.hashFailures));
  set("banned-peers", String(t.bannedPeers));
  set("lane-bytes", bytes(t.edgeLaneBytes));
  set("deadline-bytes", bytes(t.deadlineFallbackBytes));
  const all = t.peerBytes + t.edgeBytes || 1;
  // CSSOM, not style attributes: the page's CSP (style-src 'self') refuses inline style markup.
  const bar = $("bar");
  if (bar.children.length !== 2) bar.replaceChildren(document.createElement("div"), document.createElement("div"));
  Object.assign((bar.children[0] as HTMLElement).style, { width: `${(100 * t.peerBytes) / all}%`, background: COLORS.peer });
  Object.assign((bar.children[1] as HTMLElement).style, { width: `${(100 * t.edgeBytes) / all}%`, background: COLORS.edge });
}

/**
 * The top-content table. Items of a collection swarm (`…/*`: a gallery, a stream's segments) share
 * one swarm, whose peer bytes are not split by item: their rows name the swarm's row instead of
 * showing 0 B from peers.
 */
function table(items: TopItem[], swarms: TopItem[]): void {
  const swarmOf = (path: string) => swarms.find((s) => s.path !== path && s.path.endsWith("/*") && path.startsWith(s.path.slice(0, -1)))?.path;
  $("top").querySelector("tbody")!.innerHTML = items.map((i) => {
    const swarm = swarmOf(i.path);
    const peers = swarm ? `<td class="muted">in <code>${escapeHtml(swarm)}</code></td>` : `<td>${bytes(i.peerBytes)}</td>`;
    const offload = swarm ? `<td class="muted">–</td>` : `<td>${pct(i.offload)}<span class="meter"><i></i></span></td>`;
    return `<tr><td><code>${escapeHtml(i.path)}</code>${i.path.endsWith("/*") ? ` <span class="tag">swarm</span>` : ""}</td><td>${i.size > 0 ? bytes(i.size) : "–"}</td><td>${i.fetches}</td>
      ${peers}<td>${bytes(i.edgeBytes)}</td>${offload}<td>${i.peersOnline}</td></tr>`;
  }).join("");
  const rows = items.filter((i) => !swarmOf(i.path));
  $("top").querySelectorAll<HTMLElement>(".meter i").forEach((el, n) => (el.style.width = `${(100 * rows[n]!.offload).toFixed(1)}%`));
}

function status(text: string, cls: "live" | "error" | ""): void {
  const el = $("status");
  el.textContent = text;
  el.className = `status ${cls}`;
}

let timer: ReturnType<typeof setTimeout> | undefined;
let inflight = false;

/** One poll: fetch, render, schedule the next (slower while the tab is hidden). */
async function poll(now = false): Promise<void> {
  clearTimeout(timer);
  if (inflight && !now) return;
  inflight = true;
  try {
    const res = await fetch(dataUrl("data"), { headers: { authorization: `Bearer ${token}` }, cache: "no-store" });
    if (res.status === 401 || res.status === 403) {
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      view.error = body?.error?.message ?? `HTTP ${res.status}`;
      status(res.status === 401 ? "token refused" : "route not allowed", "error");
      return; // no retry loop on a refused token
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const data = (await res.json()) as DashboardData;
    view.data = data;
    view.polls++;
    view.error = null;
    const known = new Set([...siteSel.options].map((o) => o.value));
    for (const s of data.sites) if (!known.has(s.site)) siteSel.add(new Option(s.site, s.site));
    const s = siteSel.value ? data.sites.find((x) => x.site === siteSel.value) ?? data.overall : data.overall;
    const windowMs = { "15m": 15, "1h": 60, "6h": 360, "24h": 1440, "7d": 10080, "30d": 43200, "90d": 129600 }[winSel.value as "1h"] * 60_000;
    // The source choice appears when the edge can read Analytics Engine (docs/dashboard.md).
    $("source-label").hidden = !data.analytics;
    kpis(s);
    draw(s, windowMs);
    table(topSel.value === "peers" ? s.topByPeers : s.topByBytes, [...s.topByBytes, ...s.topByPeers]);
    $("updated").textContent = new Date(data.now).toLocaleTimeString();
    status("live", "live");
  } catch (err) {
    view.error = String(err);
    status("reconnecting…", "error");
  } finally {
    inflight = false;
  }
  timer = setTimeout(() => void poll(), document.hidden ? pollMs * 5 : pollMs);
}

for (const [id, kind] of [["json-link", "data"], ["prom-link", "metrics"]] as const)
  $(id).addEventListener("click", (e) => {
    // The links carry the token in the URL only when followed (never in the page's markup).
    (e.currentTarget as HTMLAnchorElement).href = `${dataUrl(kind)}${dataUrl(kind).includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
  });
document.addEventListener("visibilitychange", () => !document.hidden && void poll(true));
addEventListener("resize", () => view.data && void poll(true));
void poll(true);
