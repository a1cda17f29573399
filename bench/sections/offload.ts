/**
 * Section 1 — Swarm offload against its theoretical limit.
 *
 * A generated workload (bench/offload/workload.ts: catalogue 256 KiB – 16 MiB, Zipf popularity,
 * Poisson arrivals, exponential sessions) is played in real time (bench/offload/run-workload.ts)
 * against the real edge (Worker + Swarm DO in Miniflare, bench origin behind it) by real SDK peers:
 * mostly Node peers (client/ with node-datachannel, several per process) and a few Chromium peers
 * (contexts of one browser). Two runs, same parameters and fresh content: no churn (peers stay to
 * the end) and churn (exponential sessions).
 *
 * offload = bytes from peers ÷ (bytes from peers + bytes from the edge), as the SDKs count them.
 * The limit comes from the recorded trace through sim/offload-limit.ts (an item leaves the edge
 * once per shard while some holder is online; one shard here).
 */
import { createHash } from "node:crypto";
import { cpus, loadavg } from "node:os";
import type { Browser } from "playwright-core";
import { DEFAULTS } from "../../client/defaults";
import { offloadLimit, type OffloadLimit } from "../../sim/offload-limit";
import { promiseBound } from "../../sim/promise-bound";
import { launchChromium } from "../../test/e2e/harness/browser";
import { benchBindings, startEdgeProcess, type EdgeProcess } from "../lib/edge-server";
import type { Row } from "../lib/report";
import type { Section, SectionContext } from "../lib/section";
import { fmt, fmtRange, median, summarize } from "../lib/stats";
import { bundleWorker } from "../lib/worker-bundle";
import { chromiumPeer, NodePeerHost, type BenchPeer } from "../offload/bench-peer";
import { runWorkload, type RunRecord } from "../offload/run-workload";
import { makeWorkload, type WorkloadParams } from "../offload/workload";
import { accessLinkFromEnv, shapedPeer } from "../offload/shaped-peer";
import type { SdkFetchResult, SdkPeerOptions } from "../peer/sdk-protocol";
import { itemBytes, startBenchOrigin, type BenchOrigin } from "../peer/bench-origin";

const KiB = 1024;
const MiB = KiB * KiB;
/** The edge's CHUNK_SIZE in the bench (benchBindings). */
const CHUNK = 256 * KiB;

interface Config {
  base: Omit<WorkloadParams, "seed" | "meanSessionS">;
  churnMeanSessionS: number;
  nodeHosts: number;
  /** Workload seeds per mode (no churn, churn): each a different trace, catalogue order and content. */
  seedsPerMode: number;
}
const COMMON = { minItemBytes: 256 * KiB, maxItemBytes: 16 * MiB, alpha: Number(process.env.BENCH_ZIPF_ALPHA ?? 0.9), minSessionS: 3 };
const QUICK: Config = {
  base: { ...COMMON, items: 10, peers: 8, browserPeers: 2, arrivalsPerS: 1, meanThinkS: 2, maxRequestsPerPeer: 3, horizonS: 6 },
  churnMeanSessionS: 8,
  nodeHosts: 2,
  seedsPerMode: 1,
};
const FULL: Config = {
  base: { ...COMMON, items: 16, peers: 24, browserPeers: 3, arrivalsPerS: 0.8, meanThinkS: 3, maxRequestsPerPeer: 4, horizonS: 36 },
  churnMeanSessionS: 15,
  nodeHosts: 2,
  seedsPerMode: 5,
};

/** SDK options for every peer, from BENCH_SDK_OPTIONS (JSON), to compare policies in one build. */
const SDK_OPTIONS: SdkPeerOptions = JSON.parse(process.env.BENCH_SDK_OPTIONS ?? "{}");

/** Each peer's own link to the edge (BENCH_EDGE_LINK; bench/offload/shaped-peer.ts). */
const LINK = accessLinkFromEnv();

/**
 * The edge alone's fixed cost on LINK before its bytes flow, s, for the promise bound: §5 measures
 * a plain GET of 16 MiB at 2,852 ms on this link against 2,684 ms of link time (connect, request
 * round trip, slow start: ~170 ms); a longer window only raises the bound, so it is rounded up.
 */
const EDGE_ALONE_OVERHEAD_S = 0.2;
/** Every peer's upload cap in this run, bytes/s (0 in the SDK's options = none). */
const UPLOAD_CAP = SDK_OPTIONS.maxUploadBytesPerSec ?? DEFAULTS.maxUploadBytesPerSec;

/** Edge bytes by reason (`ContentStats.edgeWhy`), as the peers report them per fetch. */
type EdgeWhy = Record<string, number>;
const whyOf = (r: SdkFetchResult): EdgeWhy => (r as SdkFetchResult & { edgeWhy?: EdgeWhy }).edgeWhy ?? {};
const addWhy = (into: EdgeWhy, w: EdgeWhy) => {
  for (const [k, v] of Object.entries(w)) into[k] = (into[k] ?? 0) + v;
};

interface RunSummary {
  name: string;
  churn: boolean;
  params: WorkloadParams;
  limit: OffloadLimit;
  /** Offload of the promise bound (sim/promise-bound.ts); NaN on an unshaped edge link (no edge-alone yardstick). */
  bound: number;
  /** First-chunk bytes of the requests the limit serves from peers (the SDK takes them from the edge). */
  fastStartBytes: number;
  /** Requests the limit serves from peers that took more than the first chunk from the edge. */
  gap: { requests: number; bytes: number; holderDone: number; holderDoneBytes: number };
  /** Edge bytes by reason: all completed requests, and those the limit serves from peers. */
  edgeWhy: { all: EdgeWhy; limitFromPeers: EdgeWhy };
  fromPeers: number;
  fromEdge: number;
  originBytes: number;
  offload: number;
  ok: number;
  failed: number;
  corrupt: number;
  skipped: number;
  chromiumFetches: number;
  chromiumFromPeers: number;
  chromiumBytes: number;
  uploadedTotal: number;
  downloadMs: number[];
  wallS: number;
  record: RunRecord;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function oneRun(o: {
  name: string; churn: boolean; cfg: Config; seed: number; edgeUrl: string; origin: BenchOrigin; hosts: NodePeerHost[];
  browser: Browser | null; ctx: SectionContext;
}): Promise<RunSummary> {
  const params: WorkloadParams = { ...o.cfg.base, seed: o.seed, meanSessionS: o.churn ? o.cfg.churnMeanSessionS : Infinity };
  const w = makeWorkload(params);
  // Fresh content per run (item seed ≠ any other run's): a cold edge cache and new swarms.
  const itemSeed = (item: number) => o.seed * 1000 + item;
  const shas = new Map<number, string>();
  const originBefore = o.origin.bytesServed();
  let nodeSlot = 0;
  o.ctx.log(`${o.name}: ${w.peers.length} peers (${w.peers.filter((p) => p.kind === "chromium").length} Chromium), ${w.peers.reduce((a, p) => a + p.requests.length, 0)} planned requests, catalogue ${fmt(w.sizes.reduce((a, b) => a + b, 0) / MiB)} MiB`);
  const record = await runWorkload(w, {
    url: (item) => `${o.edgeUrl}/c/bench${o.origin.path(w.sizes[item]!, itemSeed(item))}`,
    sha256: (item) => {
      if (!shas.has(item)) shas.set(item, sha(itemBytes(w.sizes[item]!, itemSeed(item))));
      return shas.get(item)!;
    },
    makePeer: (p): BenchPeer => {
      const id = `${o.name}-${p.index}`.padEnd(8, "x");
      if (p.kind === "chromium" && o.browser) return shapedPeer("chromium", o.edgeUrl, LINK, (edge) => chromiumPeer(o.browser!, edge, id, SDK_OPTIONS));
      const host = o.hosts[nodeSlot++ % o.hosts.length]!;
      return shapedPeer("node", o.edgeUrl, LINK, (edge) => host.peer(edge, id, SDK_OPTIONS));
    },
    log: (m) => o.ctx.log(`${o.name}: ${m}`),
    hardStopS: params.horizonS + 10,
  });
  const world = { shardOf: () => 0, sizeOf: (item: number) => w.sizes[item]! };
  const limit = offloadLimit(record.trace, world);
  const bound = LINK.rateBps
    ? promiseBound(record.trace, {
        sizeOf: world.sizeOf,
        uploadBytesPerSec: UPLOAD_CAP || Infinity,
        edgeBytesPerSec: LINK.rateBps / 8,
        edgeOverheadS: EDGE_ALONE_OVERHEAD_S,
      }).offload
    : NaN;
  // Which requests the limit serves from peers (prefix by prefix: traces here are ≤ ~100 events).
  let fastStartBytes = 0;
  let edgeSoFar = 0;
  // Diagnosis of the gap: limit-from-peers requests that took more than the fast-start chunk from
  // the edge, split by whether some online holder had completed its own download by then.
  const gap = { requests: 0, bytes: 0, holderDone: 0, holderDoneBytes: 0 };
  const edgeWhy = { all: {} as EdgeWhy, limitFromPeers: {} as EdgeWhy };
  for (const f of record.fetches) if (f.result.ok) addWhy(edgeWhy.all, whyOf(f.result));
  const online = new Set<number>();
  const fetchOf = new Map(record.fetches.map((f) => [`${f.peer}:${f.item}:${f.t}`, f] as const));
  const doneAt = new Map<string, number>(); // `${peer}:${item}` → completion, s
  for (const f of record.fetches) if (f.result.ok) doneAt.set(`${f.peer}:${f.item}`, f.t + f.result.totalMs / 1000);
  const requesters = new Map<number, number[]>(); // item → peers that requested it so far
  record.trace.forEach((e, i) => {
    if (e.type === "on") online.add(e.peer);
    if (e.type === "off") online.delete(e.peer);
    if (e.type !== "request") return;
    const edgeNow = offloadLimit(record.trace.slice(0, i + 1), world).edgeRequests;
    const fromPeersInLimit = edgeNow === edgeSoFar;
    edgeSoFar = edgeNow;
    const prior = requesters.get(e.item) ?? [];
    requesters.set(e.item, [...prior, e.peer]);
    if (!fromPeersInLimit) return;
    const first = Math.min(CHUNK, w.sizes[e.item]!);
    fastStartBytes += first;
    const f = fetchOf.get(`${e.peer}:${e.item}:${e.t}`);
    if (f?.result.ok) addWhy(edgeWhy.limitFromPeers, whyOf(f.result));
    const extra = (f?.result.fromEdge ?? 0) - first;
    if (!f?.result.ok || extra <= 0) return;
    const r = f.result as SdkFetchResult & { firstPeerMs?: number };
    o.ctx.log(`${o.name}: gap: peer ${e.peer} (${f.kind}) item ${e.item} (${fmt(f.size / MiB)} MiB) at ${fmt(e.t)} s: edge ${fmt(f.result.fromEdge / MiB)} MiB ${JSON.stringify(Object.fromEntries(Object.entries(whyOf(r)).map(([k, v]) => [k, +(v / MiB).toFixed(2)])))}, first peer chunk after ${fmt(r.firstPeerMs ?? -1)} ms, took ${fmt(r.totalMs)} ms`);
    gap.requests++;
    gap.bytes += extra;
    if (prior.some((p) => online.has(p) && (doneAt.get(`${p}:${e.item}`) ?? Infinity) <= e.t)) {
      gap.holderDone++;
      gap.holderDoneBytes += extra;
    }
  });
  const ok = record.fetches.filter((f) => f.result.ok);
  const fromPeers = ok.reduce((a, f) => a + f.result.fromPeers, 0);
  const fromEdge = ok.reduce((a, f) => a + f.result.fromEdge, 0);
  const chromium = ok.filter((f) => f.kind === "chromium");
  const s: RunSummary = {
    name: o.name, churn: o.churn, params, limit, bound, fastStartBytes, gap, edgeWhy, fromPeers, fromEdge,
    originBytes: o.origin.bytesServed() - originBefore,
    offload: fromPeers + fromEdge > 0 ? fromPeers / (fromPeers + fromEdge) : 0,
    ok: ok.length, failed: record.fetches.length - ok.length, corrupt: ok.filter((f) => f.result.intact === false).length,
    skipped: record.skipped,
    chromiumFetches: chromium.length, chromiumFromPeers: chromium.reduce((a, f) => a + f.result.fromPeers, 0),
    chromiumBytes: chromium.reduce((a, f) => a + f.result.fromPeers + f.result.fromEdge, 0),
    uploadedTotal: record.totals.reduce((a, t) => a + (t?.uploaded ?? 0), 0),
    downloadMs: ok.map((f) => f.result.totalMs), wallS: record.wallS, record,
  };
  o.ctx.log(`${o.name}: offload ${fmt(s.offload)} vs limit ${fmt(limit.offload)}, promise bound ${fmt(bound)} (${s.ok} ok, ${s.failed} failed, ${s.skipped} skipped) in ${fmt(record.wallS)} s; edge by reason: ${whyText(edgeWhy.all)} (limit-from-peers requests: ${whyText(edgeWhy.limitFromPeers)})`);
  return s;
}

const mib = (b: number) => `${fmt(b / MiB)} MiB`;
const whyText = (w: EdgeWhy) => Object.entries(w).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${mib(v)}`).join(", ") || "none";

const sumWhy = (runs: RunSummary[], k: "all" | "limitFromPeers") => {
  const out: EdgeWhy = {};
  for (const r of runs) addWhy(out, r.edgeWhy[k]);
  return out;
};
const sum = (runs: RunSummary[], f: (r: RunSummary) => number) => runs.reduce((a, r) => a + f(r), 0);

/** The rows of one mode (no churn or churn) over its seeds: the headline is offload ÷ trace limit. */
function modeRows(runs: RunSummary[]): Row[] {
  if (!runs.length) return [];
  const churn = runs[0]!.churn;
  const label = churn ? `churn (mean session ${runs[0]!.params.meanSessionS} s)` : "no churn";
  const n = `${runs.length} seed${runs.length === 1 ? "" : "s"}`;
  const ofLimit = runs.map((r) => (r.limit.offload > 0 ? r.offload / r.limit.offload : NaN));
  const med = median(ofLimit);
  const d = summarize(runs.flatMap((r) => r.downloadMs));
  const failed = sum(runs, (r) => r.failed);
  const corrupt = sum(runs, (r) => r.corrupt);
  const chromiumBytes = sum(runs, (r) => r.chromiumBytes);
  return [
    {
      metric: `${label}: offload (peer ÷ all bytes) ÷ trace limit, ${n}: median (min–max)`,
      value: fmtRange(ofLimit),
      baseline: `offload ${fmtRange(runs.map((r) => r.offload))}; limit ${fmtRange(runs.map((r) => r.limit.offload))}`,
      ratio: `${fmt(med)} of limit`,
      target: churn ? "report (aim ≥ 0.90)" : "≥ 0.97 of limit",
      status: churn ? "info" : runs.length < 5 ? "info" : med >= 0.97 ? "pass" : "fail",
    },
    ...(runs.every((r) => r.bound > 0)
      ? [{
          metric: `${label}: offload ÷ promise bound (the most any scheduler keeping the edge-alone promise at the SDK's upload cap could reach), ${n}: median (min–max)`,
          value: fmtRange(runs.map((r) => r.offload / r.bound)),
          baseline: `bound ${fmtRange(runs.map((r) => r.bound))} = ${fmtRange(runs.map((r) => r.bound / r.limit.offload))} of the trace limit`,
          ratio: `${fmt(median(runs.map((r) => r.offload / r.bound)))} of bound`,
          target: "report",
          status: "info" as const,
        }]
      : []),
    {
      metric: `${label}: bytes from origin / edge / peers, ${n} summed`,
      value: `${mib(sum(runs, (r) => r.originBytes))} / ${mib(sum(runs, (r) => r.fromEdge))} / ${mib(sum(runs, (r) => r.fromPeers))}`,
      baseline: `requested ${mib(sum(runs, (r) => r.limit.requestedBytes))}; limit: edge ${mib(sum(runs, (r) => r.limit.edgeBytes))}`,
      ratio: "", target: "", status: "info",
    },
    {
      metric: `${label}: requests the limit serves from peers that took more than the first chunk from the edge`,
      value: `${sum(runs, (r) => r.gap.requests)} (${mib(sum(runs, (r) => r.gap.bytes))})`,
      baseline: `${sum(runs, (r) => r.gap.holderDone)} (${mib(sum(runs, (r) => r.gap.holderDoneBytes))}) with a holder online that had finished its download`,
      ratio: "", target: "", status: "info",
    },
    {
      metric: `${label}: edge bytes by reason, all requests (those the limit serves from peers)`,
      value: whyText(sumWhy(runs, "all")),
      baseline: whyText(sumWhy(runs, "limitFromPeers")),
      ratio: "", target: "", status: "info",
    },
    {
      metric: `${label}: requests ok / failed / not issued; wrong bytes`,
      value: `${sum(runs, (r) => r.ok)} / ${failed} / ${sum(runs, (r) => r.skipped)}; ${corrupt}`,
      baseline: `${mib(sum(runs, (r) => r.fromPeers + r.fromEdge))} delivered`,
      ratio: "", target: "0 failed, 0 wrong", status: failed || corrupt ? "fail" : "pass",
    },
    {
      metric: `${label}: download time p50 / p95 (all sizes, all seeds); Chromium peers' share from peers`,
      value: `${fmt(d.p50)} / ${fmt(d.p95)} ms; ${chromiumBytes ? fmt(sum(runs, (r) => r.chromiumFromPeers) / chromiumBytes) : "—"} (${sum(runs, (r) => r.chromiumFetches)} fetches)`,
      baseline: `runs ${fmtRange(runs.map((r) => r.wallS))} s`, ratio: "", target: "", status: "info",
    },
  ];
}

export const offloadSection: Section = {
  id: "offload",
  number: 1,
  title: "Swarm offload",
  budgetS: { quick: 60, full: 500 },
  async run(ctx) {
    const cfg = ctx.quick ? QUICK : FULL;
    const load0 = loadavg();
    const data: Record<string, unknown> = { config: cfg, loadAverage: load0 };
    let origin: BenchOrigin | null = null;
    let edge: EdgeProcess | null = null;
    let browser: Browser | null = null;
    let browserError: string | undefined;
    const hosts: NodePeerHost[] = [];
    const runs: RunSummary[] = [];
    try {
      origin = await startBenchOrigin();
      edge = await startEdgeProcess(bundleWorker(ctx.root), benchBindings({ "/bench/": origin.url }));
      const edgeUrl = `http://127.0.0.1:${edge.port}`;
      for (let i = 0; i < cfg.nodeHosts; i++) hosts.push(new NodePeerHost((m) => ctx.log(`node host ${i} fatal: ${m.slice(0, 300)}`)));
      try {
        browser = await launchChromium();
      } catch (e) {
        browserError = e instanceof Error ? e.message : String(e);
        ctx.log(`Chromium unavailable, its peers run as Node peers: ${browserError}`);
      }
      // Modes alternate seed by seed, so a load change on the shared machine hits both alike.
      const seeds = Number(process.env.BENCH_OFFLOAD_SEEDS ?? cfg.seedsPerMode);
      // BENCH_OFFLOAD_MODES ("nochurn", "churn" or both, comma-separated): one mode while iterating.
      const modes = (process.env.BENCH_OFFLOAD_MODES ?? "nochurn,churn").split(",");
      for (let i = 0; i < seeds; i++) {
        if (modes.includes("nochurn")) runs.push(await oneRun({ name: `nochurn${i}`, churn: false, cfg, seed: 11 + 2 * i, edgeUrl, origin, hosts, browser, ctx }));
        if (modes.includes("churn")) runs.push(await oneRun({ name: `churn${i}`, churn: true, cfg, seed: 12 + 2 * i, edgeUrl, origin, hosts, browser, ctx }));
      }
    } finally {
      await browser?.close().catch(() => undefined);
      await Promise.all(hosts.map((h) => h.stop()));
      await edge?.stop();
      await origin?.close();
    }
    data.runs = runs.map(({ record, ...s }) => ({ ...s, trace: record.trace, fetches: record.fetches.map((f) => ({ ...f, result: { ...f.result } })), totals: record.totals }));
    data.loadAverageEnd = loadavg();
    const rows = [...modeRows(runs.filter((r) => !r.churn)), ...modeRows(runs.filter((r) => r.churn))];
    const b = cfg.base;
    const notes = [
      `Workload (seeded, bench/offload/workload.ts): catalogue of ${b.items} items, sizes log-spaced ${b.minItemBytes / KiB} KiB – ${b.maxItemBytes / MiB} MiB shuffled over popularity ranks; Zipf α = ${b.alpha} (BENCH_ZIPF_ALPHA); ${b.peers} peers arriving as a Poisson process at ${b.arrivalsPerS}/s, ${b.browserPeers} of them Chromium (contexts of one headless browser, the SDK from the edge's /sdk/edgeswarm.js), the rest Node SDK peers (client/ with node-datachannel, ${cfg.nodeHosts} processes hosting them); each peer makes up to ${b.maxRequestsPerPeer} requests of distinct items, the first 0.2 s after arrival, then after exponential think times (mean ${b.meanThinkS} s), none after ${b.horizonS} s. Churn run: sessions exponential, mean ${cfg.churnMeanSessionS} s (at least ${b.minSessionS} s); no-churn run: every peer stays until all requests are done. SDK defaults everywhere (upload cap 4 MiB/s, chunk deadline 4 s).`,
      "Bytes from peers / edge: the SDKs' own per-item counters (swarm.stats().contents) summed over completed requests; origin: bytes the bench origin served (edge cache misses). offload = peers ÷ (peers + edge).",
      "Limit: sim/offload-limit.ts over the trace recorded during the run (actual join, request-start and leave times): a request needs the edge only if no online peer of the shard holds the item at that instant — a holder counts from the start of its own request, whatever the bandwidth. So the limit is an upper bound no real transfer reaches exactly; one shard here (all peers on one edge).",
      `Seeds: ${runs.filter((r) => !r.churn).length} per mode (BENCH_OFFLOAD_SEEDS), no-churn and churn runs alternating; each seed is its own workload (arrivals, requests, catalogue order) and its own content (a cold edge, new swarms). The headline row is each run's offload ÷ its own trace limit, median (min–max) over seeds; its target applies to the median, and only with ≥ 5 seeds. Fast start: the SDK takes the first chunk (${CHUNK / KiB} KiB) from a linked peer holding it if one turns up within the start grace, else from the edge (edge bytes "start" below).`,
      `Promise bound: sim/promise-bound.ts over the same trace — the trace limit's holders, each uploading at most the SDK's cap (${UPLOAD_CAP ? `${fmt(UPLOAD_CAP / MiB)} MiB/s` : "none in this run"}) shared by every request it serves at once, and a request's peer bytes counting only until its edge-alone finish (start + ${EDGE_ALONE_OVERHEAD_S} s + size ÷ the link's rate); links free (no setup, no round trips, no chunks). A maximum flow over 50 ms slots. It is an upper bound too: the trace limit ÷ this bound shows how much of the limit no scheduler keeping the promise can reach.`,
      "Edge bytes by reason (ProgressDetail.why, summed per request by the bench peers): start = fast-start chunk, orphan = no linked peer held the chunk once the swarm had answered (includes holders the SDK could not link to), wait = none held it when peerWaitMs (1.5 s) ran out with links still connecting, lane = the edge lane raced peers projected to finish later than edge-only + laneSlackMs, probe = one chunk measuring the edge for the lane, deadline = a peer missed its chunk deadline. The run log lists each request of the gap row with its reasons.",
      LINK.rateBps
        ? `Edge link: every peer reaches the edge (manifest, Range requests, swarm socket; Chromium also its SDK script) through its own shaping proxy (bench/offload/shaped-peer.ts over bench/peer/shaping-proxy.ts: FIFO link at ${LINK.rateBps / 1e6} Mbit/s each way + ${LINK.rttMs / 2} ms each way), so edge-only download times — the edge lane's yardstick — are those of a visitor's access link, not loopback's; peer data channels do not cross it. BENCH_EDGE_LINK="<Mbit/s>,<RTT ms>", "0" = unshaped.`
        : "Edge link: unshaped loopback (BENCH_EDGE_LINK=0): the edge is ~100× faster than a peer's capped uplink, so edge-only times are near zero.",
      `SDK options for every peer: BENCH_SDK_OPTIONS (JSON, e.g. '{"scheduler":{"startGraceMs":0,"laneSlackMs":0}}' for the old policy), this run: ${JSON.stringify(SDK_OPTIONS)}.`,
      "Gap diagnosis row: of the requests the limit serves from peers, those that still took more than the first chunk from the edge; the baseline column counts those where an online holder had already finished its own download (so bytes were there to take) — the rest overlapped a holder's download, which the limit counts as holding.",
      `Load average (1/5/15 min) at the start / end of the section: ${load0.map((x) => x.toFixed(2)).join(" / ")} → ${loadavg().map((x) => x.toFixed(2)).join(" / ")}, on ${cpus().length} cores shared with other work.`,
    ];
    if (browserError) notes.push(`Chromium could not start (${browserError.slice(0, 200)}): its peers ran as Node peers.`);
    return { rows, notes, data };
  },
};
