/**
 * Section 2 — Peer path efficiency (the edge race is section 5, bench/sections/edge-race.ts).
 *
 * 2a. Overhead: k plain WebRTC peers (node-datachannel, no SDK) send N MiB to a downloader over bare
 *     data channels, vs the SDK downloading the same N MiB with k SDK seeders — same namespace, same
 *     run. Ratio = SDK time ÷ raw time (connection setup included on both sides).
 *
 * Everything runs in the bench's network namespace: peers' host candidates are on 10.99.0.1.
 */
import { createHash } from "node:crypto";
import { cpus, loadavg } from "node:os";
import type { Row } from "../lib/report";
import type { Section, SectionContext } from "../lib/section";
import { SdkPeer } from "../peer/sdk-peer";
import { fmt, fmtRange, median, summarize } from "../lib/stats";
import { bundleWorker } from "../lib/worker-bundle";
import { benchBindings, startEdgeProcess, type EdgeProcess } from "../lib/edge-server";
import { itemBytes, startBenchOrigin, type BenchOrigin } from "../peer/bench-origin";
import { rawBaseline, type RawRun, type RawWarm } from "../peer/raw-baseline";
import { SEND_HIGH_WATER, SEND_LOW_WATER } from "../../client/peer-link";
import type { SdkFetchResult, SdkPeerOptions } from "../peer/sdk-protocol";
import { MANIFEST_PENDING_STATUS } from "../../protocol/manifest";

const MiB = 2 ** 20;

interface Config {
  overheadBytes: number;
  overheadReps: number;
  seederCounts: number[];
}
const QUICK: Config = { overheadBytes: 8 * MiB, overheadReps: 2, seederCounts: [1] };
const FULL: Config = { overheadBytes: 32 * MiB, overheadReps: 5, seederCounts: [1, 3] };

/**
 * Overrides for working on the peer path (not used by the lead's runs): BENCH_PEER_SEEDERS="1,3",
 * BENCH_PEER_REPS=n.
 */
function withEnv(c: Config): Config {
  const e = process.env;
  const out = { ...c };
  if (e.BENCH_PEER_SEEDERS) out.seederCounts = e.BENCH_PEER_SEEDERS.split(",").map(Number);
  if (e.BENCH_PEER_REPS) out.overheadReps = Number(e.BENCH_PEER_REPS);
  return out;
}

// ---- SDK peers ----

interface SdkRun {
  /** Cold downloads: a fresh downloader (no links yet) fetching the item. */
  results: SdkFetchResult[];
  /** Warm downloads: the same downloader right after, a second item the same seeders hold (links up). */
  warm: SdkFetchResult[];
  /** CPU time of the k seeder processes (summed) during each warm download, ms. */
  warmSeederCpuMs: number[];
  /** The raw peers' links-up transfers, one beside each warm download (alternately before and after it). */
  rawWarm: RawWarm[];
}

/** An item to download: its edge URL (given the edge origin) and SHA-256. */
interface Item {
  url: (edge: string) => string;
  sha: string;
}

/**
 * Grows `pool` to `k` SDK seeders (new ones start in parallel — process start-up dominates — and
 * each fetches every item fully from `seedEdge`, or from the seeders already there).
 */
async function growSeeders(pool: SdkPeer[], k: number, items: Item[], seedEdge: string, options: SdkPeerOptions, tag: string): Promise<void> {
  // Seeders must be in the items' swarms: a visitor of a cold item (the edge has no manifest yet)
  // streams it from the edge and seeds only once the manifest appears (client/cold-item.ts), which
  // left §2's seeders out of the first item's swarm — its cold downloads then linked no seeder.
  for (const it of items) await warmAtEdge(it.url(seedEdge));
  const fresh = Array.from({ length: Math.max(0, k - pool.length) }, () => SdkPeer.local());
  const base = pool.length;
  pool.push(...fresh);
  await Promise.all(fresh.map(async (s, j) => {
    await s.open(seedEdge, `${tag}-seed-${base + j}`.padEnd(8, "x"), options);
    for (const it of items) {
      const r = await s.fetch(it.url(seedEdge), it.sha);
      if (!r.ok || r.intact === false) throw new Error(`seeder ${base + j} could not fetch the item: ${r.error ?? r.status}`);
    }
  }));
}

/** Fetches `url` (a `/c/` URL) through the edge once and waits until its `/m/` has the manifest. */
async function warmAtEdge(url: string): Promise<void> {
  await (await fetch(url)).arrayBuffer();
  const m = url.replace("/c/", "/m/");
  for (let i = 0; i < 300; i++) {
    const res = await fetch(m);
    await res.arrayBuffer();
    if (res.status === 200) return;
    if (res.status !== MANIFEST_PENDING_STATUS) throw new Error(`${m}: ${res.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${m}: still pending after 30 s`);
}

/**
 * With `pool` grown (or shrunk) to k seeders holding the item(s), `reps` fresh downloaders (new peer id, empty
 * store) fetch `item` through `dlEdge` — and, when `warmItem` is given, that second item right after
 * over the links the first download set up. The pool stays up for the next (smaller) k.
 */
async function sdkDownloads(o: {
  pool: SdkPeer[]; k: number; item: Item; warmItem?: Item; seedEdge: string; dlEdge: string; reps: number;
  seederOptions: SdkPeerOptions; downloaderOptions: SdkPeerOptions; tag: string; ctx: SectionContext;
  /** The raw peers' links-up transfer, run beside each warm download. */
  rawAgain?: () => Promise<RawWarm>;
}): Promise<SdkRun> {
  const dl = SdkPeer.local();
  try {
    await growSeeders(o.pool, o.k, o.warmItem ? [o.item, o.warmItem] : [o.item], o.seedEdge, o.seederOptions, o.tag);
    // Shrinking (cases run largest k first): a stopped seeder's coordinator socket closes, so the
    // swarm forgets it; give the Durable Object a moment to process the close.
    if (o.pool.length > o.k) {
      await Promise.all(o.pool.splice(o.k).map((p) => p.stop()));
      await new Promise((r) => setTimeout(r, 300));
    }
    const out: SdkRun = { results: [], warm: [], warmSeederCpuMs: [], rawWarm: [] };
    const seederCpu = async () => (await Promise.all(o.pool.map((p) => p.cpu()))).reduce((a, b) => a + b, 0);
    const line = (what: string, res: SdkFetchResult, seedCpu?: number) =>
      o.ctx.log(`${o.tag}/${o.k} ${what}: ${fmt(res.totalMs)} ms (CPU: downloader ${fmt(res.cpuMs ?? NaN)} ms${seedCpu === undefined ? "" : `, seeders ${fmt(seedCpu)} ms`}${res.gc ? `; downloader GC ${res.gc.major} major, ${fmt(res.gc.ms)} ms` : ""}), ${fmt(res.fromPeers / MiB)} MiB from peers, ${fmt(res.fromEdge / MiB)} MiB from edge${res.intact === false ? ", CORRUPT" : ""}${res.error ? `, error ${res.error}` : ""}`);
    for (let r = 0; r < o.reps; r++) {
      await dl.open(o.dlEdge, `${o.tag}-dl-${o.k}-${r}`.padEnd(8, "x"), o.downloaderOptions);
      const res = await dl.fetch(o.item.url(o.dlEdge), o.item.sha);
      out.results.push(res);
      line(`rep ${r}`, res);
      if (o.warmItem) {
        // The raw transfer beside it, first before and then after (host load drifts during a run).
        const rawBeside = async () => {
          if (!o.rawAgain) return;
          const w = await o.rawAgain();
          out.rawWarm.push(w);
          o.ctx.log(`${o.tag}/${o.k} rep ${r} raw beside: ${fmt(w.ms)} ms (CPU: downloader ${fmt(w.downloaderCpuMs)} ms, seeders ${fmt(w.seederCpuMs)} ms)`);
        };
        if (r % 2 === 0) await rawBeside();
        const c0 = await seederCpu();
        const w = await dl.fetch(o.warmItem.url(o.dlEdge), o.warmItem.sha);
        const seedCpu = (await seederCpu()) - c0;
        out.warm.push(w);
        out.warmSeederCpuMs.push(seedCpu);
        line(`rep ${r} warm`, w, seedCpu);
        if (r % 2 === 1) await rawBeside();
      }
      await dl.close();
    }
    return out;
  } finally {
    await dl.stop();
  }
}

/**
 * The downloader of §2. Its edge is the bench's unshaped loopback Miniflare, and the SDK's edge lane
 * (held to the edge alone's schedule, client/edge-lane.ts) would rightly take most chunks from it —
 * §2 then measured the edge, not the peer path (0.55× "raw" with 13 % of bytes from peers). The
 * section compares peer delivery with raw data channels, so the lane is held off; §5 measures it.
 */
const PEER_PATH_DOWNLOADER: SdkPeerOptions = { maxUploadBytesPerSec: 0, scheduler: { laneSlackMs: 600_000 } };

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const ms = (xs: number[]) => `${fmtRange(xs)} ms`;

export const peerPathSection: Section = {
  id: "peer-path",
  number: 2,
  title: "Peer path efficiency",
  budgetS: { quick: 30, full: 150 },
  async run(ctx) {
    const cfg = withEnv(ctx.quick ? QUICK : FULL);
    const rows: Row[] = [];
    const notes: string[] = [];
    const load0 = loadavg();
    const data: Record<string, unknown> = { config: cfg, loadAverage: load0 };

    // 2a: per k, largest first (one pool of SDK seeders, shrunk for the next k): the raw baseline's
    // fresh connections, then the SDK downloads — each links-up one beside a raw links-up transfer
    // over the raw peers' last connections, kept up meanwhile.
    const raw: Record<number, RawRun> = {};
    let origin: BenchOrigin | null = null;
    let edge: EdgeProcess | null = null;
    let sdkError: string | undefined;
    const sdk: Record<string, SdkRun> = {};
    try {
      origin = await startBenchOrigin();
      edge = await startEdgeProcess(bundleWorker(ctx.root), benchBindings({ "/bench/": origin.url }));
      const edgeUrl = `http://127.0.0.1:${edge.port}`;
      const itemUrl = (bytes: number, seed: number) => (e: string) => `${e}/c/bench${origin!.path(bytes, seed)}`;

      // SDK side: unshaped edge, uploads uncapped (as the raw peers); the same two items for every k.
      const ovh = [100, 150].map((seed) => ({ url: itemUrl(cfg.overheadBytes, seed), sha: sha256(itemBytes(cfg.overheadBytes, seed)) }));
      const ovhPool: SdkPeer[] = [];
      try {
        for (const k of [...cfg.seederCounts].sort((a, b) => b - a)) {
          ctx.log(`raw data channels: ${k} seeder(s) → 1, ${cfg.overheadBytes / MiB} MiB × ${cfg.overheadReps}`);
          const rb = await rawBaseline(k, cfg.overheadBytes, cfg.overheadReps);
          raw[k] = rb.run;
          ctx.log(`raw ${k}: transfer ${rb.run.transferMs.map((x) => fmt(x)).join(", ")} ms, links up ${rb.run.warmTransferMs.map((x) => fmt(x)).join(", ")} ms; CPU downloader ${rb.run.downloaderCpuMs.map((x) => fmt(x)).join(", ")} ms, seeders ${rb.run.seederCpuMs.map((x) => fmt(x)).join(", ")} ms`);
          try {
            sdk[`overhead-${k}`] = await sdkDownloads({
              pool: ovhPool, k, item: ovh[0]!, warmItem: ovh[1]!, seedEdge: edgeUrl, dlEdge: edgeUrl,
              reps: cfg.overheadReps, seederOptions: { maxUploadBytesPerSec: 0 }, downloaderOptions: PEER_PATH_DOWNLOADER, tag: "ovh", ctx,
              rawAgain: rb.again,
            });
          } catch (e) {
            sdkError ??= e instanceof Error ? e.message : String(e);
          } finally {
            await rb.stop();
          }
        }
      } finally {
        await Promise.all(ovhPool.map((p) => p.stop()));
      }

    } catch (e) {
      sdkError ??= e instanceof Error ? e.message : String(e);
    } finally {
      await edge?.stop();
      await origin?.close();
    }
    data.raw = raw;
    data.sdk = sdk;

    // ---- rows ----
    for (const k of cfg.seederCounts) {
      const r = raw[k];
      if (!r) continue;
      const rawTotal = r.setupMs.map((s, i) => s + r.transferMs[i]!);
      const mbps = r.transferMs.map((t) => cfg.overheadBytes / MiB / (t / 1000));
      const s = sdk[`overhead-${k}`];
      const sdkMs = s?.results.filter((x) => x.ok).map((x) => x.totalMs) ?? [];
      const ratio = sdkMs.length ? median(sdkMs) / median(rawTotal) : NaN;
      rows.push({
        metric: `${cfg.overheadBytes / MiB} MiB from ${k} peer(s), cold (connection setup included): SDK vs raw data channels`,
        value: sdkMs.length ? ms(sdkMs) : "not yet measured",
        baseline: `${ms(rawTotal)} (${fmtRange(mbps)} MiB/s; setup ${fmt(median(r.setupMs))} ms${r.failedAttempts ? `; ${r.failedAttempts} attempt(s) never connected, retried` : ""})`,
        ratio: sdkMs.length ? `${fmt(ratio)}×` : "—",
        target: "",
        status: !sdkMs.length ? "pending" : "info",
      });
      const warmMs = s?.warm.filter((x) => x.ok).map((x) => x.totalMs) ?? [];
      // The raw links-up transfers taken beside the SDK's (else, in an older run shape, the raw
      // baseline's own back-to-back ones).
      const beside = s?.rawWarm ?? [];
      const rawWarmMs = beside.length ? beside.map((w) => w.ms) : r.warmTransferMs;
      if (warmMs.length) {
        const wr = median(warmMs) / median(rawWarmMs);
        rows.push({
          metric: `${cfg.overheadBytes / MiB} MiB from ${k} peer(s), links up (SDK: protocol + hashing + scheduling; raw: the same bytes again over the same channels)`,
          value: `${ms(warmMs)}; ${fmt(median(s!.warm.filter((x) => x.ok).map((x) => x.totalMs - x.ttfbMs)))} ms after the first byte`,
          baseline: `${ms(rawWarmMs)}${beside.length ? ", each beside one of the SDK's" : ""}`,
          ratio: `${fmt(wr)}×`,
          target: "≤ 1.25×",
          status: wr <= 1.25 ? "pass" : "fail",
        });
      }
      const warmOk = s?.warm.map((x, i) => ({ x, seed: s.warmSeederCpuMs[i] })).filter((w) => w.x.ok && w.x.cpuMs !== undefined && w.seed !== undefined) ?? [];
      if (warmOk.length && r.downloaderCpuMs.length) {
        const MiBs = cfg.overheadBytes / MiB;
        const sdkDl = warmOk.map((w) => w.x.cpuMs! / MiBs);
        const sdkSeed = warmOk.map((w) => w.seed! / MiBs);
        const rawDlCpu = beside.length ? beside.map((w) => w.downloaderCpuMs) : r.downloaderCpuMs;
        const rawSeedCpu = beside.length ? beside.map((w) => w.seederCpuMs) : r.seederCpuMs;
        const rawDl = rawDlCpu.map((c) => c / MiBs);
        const rawSeed = rawSeedCpu.map((c) => c / MiBs);
        const sdkAll = warmOk.map((w) => (w.x.cpuMs! + w.seed!) / MiBs);
        const rawAll = rawDlCpu.map((c, i) => (c + rawSeedCpu[i]!) / MiBs);
        rows.push({
          metric: `  CPU per MiB, links up (${k} peer(s)): downloader + seeders (processes' user + system time, all threads)`,
          value: `${fmt(median(sdkAll))} ms/MiB (downloader ${fmtRange(sdkDl)}; seeders ${fmtRange(sdkSeed)})`,
          baseline: `${fmt(median(rawAll))} ms/MiB (downloader ${fmtRange(rawDl)}; seeders ${fmtRange(rawSeed)})`,
          ratio: `${fmt(median(sdkAll) / median(rawAll))}×`,
          target: "",
          status: "info",
        });
      }
      if (s) {
        const fromPeers = s.results.map((x) => x.fromPeers / Math.max(1, x.fromPeers + x.fromEdge));
        rows.push({ metric: `  share of bytes from peers (${k} peer(s))`, value: fmtRange(fromPeers, 2), baseline: "1 (raw: all from peers)", ratio: "", target: "", status: "info" });
      }
    }
    const corrupt = Object.values(sdk).flatMap((r) => [...r.results, ...r.warm]).filter((x) => x.intact === false).length;
    if (Object.keys(sdk).length) rows.push({ metric: "SDK downloads with wrong bytes", value: String(corrupt), baseline: "0", ratio: "", target: "0", status: corrupt ? "fail" : "pass" });

    notes.push(
      `Raw baseline: node-datachannel (libdatachannel) RTCPeerConnection, one ordered data channel per seeder, 16 KiB messages, bufferedAmount backpressure with the SDK's own marks (high ${SEND_HIGH_WATER / MiB} MiB, low ${SEND_LOW_WATER / 1024} KiB, client/peer-link.ts), equal byte ranges per seeder, signalling relayed over IPC (instant); each process separate; cold time = connection setup + transfer; links-up time = the same bytes transferred again over the same channels (the SDK's links-up download likewise runs over links that carried a whole item), each such raw transfer taken right beside one of the SDK's links-up downloads (before it, then after the next: the host's load drifts over a run, and both sides see the same). ${cfg.overheadReps} fresh connections per case; median (min–max).`,
      "Fairness: the SDK peer process checks the body's SHA-256 after the clock stops (the raw side checks nothing); both sides use the same channel settings (ordered, 16 KiB messages, same backpressure marks). CPU rows: user + system time of the whole processes (JS and the WebRTC stack's threads) during the links-up transfers, per MiB — steadier than wall time on a busy machine.",
      "SDK side: createSwarm from client/ in Node processes (ws + node-datachannel injected, in-memory store); seeders fetched the item first, then each repetition is a fresh downloader (new peer id, empty store); time = swarm.fetch() to the last body byte, including manifest, swarm join, peer setup, hashing. Uploads uncapped in 2a. The “links up” row: the same downloader then fetches a second item of the same size that the same seeders hold, over the links already up (manifest + swarm join + transfer + hashing), against the raw transfer time without setup.",
      "libdatachannel here sometimes takes ~1 s to connect a pair (seen on both sides: raw setup 5 ms or ~1,000 ms, SDK cold downloads bimodal by ~1 s), so cold ratios swing with it; the warm rows do not include connection setup.",
    );
    notes.push(`Load average (1/5/15 min) at the start / end of the section: ${load0.map((x) => x.toFixed(2)).join(" / ")} → ${loadavg().map((x) => x.toFixed(2)).join(" / ")}, on ${cpus().length} cores shared with other work.`);
    if (sdkError) notes.push(`Failed: ${sdkError.slice(0, 400)}`);
    return { rows, notes, data };
  },
};
