/**
 * Section 5 — The edge race: does a visitor with peers finish no later than one without?
 *
 * One access link per visitor (bench/peer/visitor-link.ts): the downloader's whole downlink — edge
 * and peers together — is one kernel token bucket (50 Mbit/s) in a network namespace of its own, its
 * way to the edge adds 40 ms RTT; each seeder's uplink is a token bucket (10 Mbit/s, 16 KiB deep).
 * For each seeder count the same downloader process alternates a plain GET of the item (edge only,
 * cache HIT, new connection) and an SDK download (fresh peer id, empty store), so each case's
 * yardstick is measured on the same link, interleaved with it. A run whose bytes did not all cross
 * the shaped links is reported and not counted.
 */
import { createHash } from "node:crypto";
import { cpus, loadavg } from "node:os";
import type { Row } from "../lib/report";
import type { Section, SectionContext } from "../lib/section";
import { fmt, summarize } from "../lib/stats";
import { bundleWorker } from "../lib/worker-bundle";
import { benchBindings, startEdgeProcess, type EdgeProcess } from "../lib/edge-server";
import { itemBytes, startBenchOrigin, type BenchOrigin } from "../peer/bench-origin";
import { linkSummary } from "../peer/link-sampler";
import { SdkPeer } from "../peer/sdk-peer";
import type { SdkFetchResult } from "../peer/sdk-protocol";
import { markShaped, seederLink, startEdgeRelays, verifyShaped, visitorLink, type EdgeRelays } from "../peer/visitor-link";

const MiB = 2 ** 20;

interface Config {
  bytes: number;
  reps: number;
  seeders: number[];
  rateBps: number;
  rttMs: number;
  seederUpBps: number;
}
const QUICK: Config = { bytes: 8 * MiB, reps: 2, seeders: [3], rateBps: 50e6, rttMs: 40, seederUpBps: 10e6 };
const FULL: Config = { bytes: 16 * MiB, reps: 5, seeders: [1, 3, 6], rateBps: 50e6, rttMs: 40, seederUpBps: 10e6 };

/** One case: k seeders; samples that count, and runs that did not cross the shaped links. */
interface RaceCase {
  k: number;
  edgeOnlyMs: number[];
  sdk: SdkFetchResult[];
  unshaped: string[];
  failed: string[];
  /** Bytes the visitor's downlink bucket passed per payload byte: the plain GETs', the SDK downloads' (counted runs). */
  wire: { plain: number[]; sdk: number[] };
}

/** Seeders that hold the item (they seed it through every case). */
const seeding = new WeakSet<SdkPeer>();

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function raceCase(o: {
  k: number; pool: SdkPeer[]; cfg: Config; relays: EdgeRelays; url: (edge: string) => string; sha: string; ctx: SectionContext; dl: SdkPeer;
}): Promise<RaceCase> {
  const { k, pool, cfg, relays, ctx, dl } = o;
  const out: RaceCase = { k, edgeOnlyMs: [], sdk: [], unshaped: [], failed: [], wire: { plain: [], sdk: [] } };
  // Seeders (their processes started with the section): each fetches the item from the edge once,
  // in parallel; the pool shrinks between cases (largest first).
  await Promise.all(pool.map(async (s, j) => {
    if (seeding.has(s)) return;
    seeding.add(s);
    await s.open(relays.seederEdge, `race-seed-${j}`.padEnd(8, "x"), { maxUploadBytesPerSec: 0 });
    const r = await s.fetch(o.url(relays.seederEdge), o.sha);
    if (!r.ok || r.intact === false) throw new Error(`seeder ${j} could not fetch the item: ${r.error ?? r.status}`);
  }));
  if (pool.length > k) {
    // A stopped seeder's coordinator socket closes: give the Durable Object a moment to drop it.
    await Promise.all(pool.splice(k).map((p) => p.stop()));
    await new Promise((r) => setTimeout(r, 300));
  }
  ctx.log(`race/${k}: ${k} seeder(s) hold the item`);
  {
    // One slow seeder runs at its capped rate with little spread: fewer repetitions.
    const reps = k === 1 ? Math.min(3, cfg.reps) : cfg.reps;
    for (let r = 0; r < reps; r++) {
      let before = markShaped(dl, [], relays);
      const plain = await dl.plain(o.url(relays.visitorEdge), o.sha);
      const plainMark = markShaped(dl, [], relays);
      const plainWire = plainMark.visitorDown - before.visitorDown;
      const plainDrops = plainMark.visitorDropped - before.visitorDropped;
      const why = plain.error || plain.status !== 200 || plain.intact === false ? `edge only: ${plain.error ?? plain.status}` : verifyShaped({ visitor: dl, seeders: [], relays, before }, { fromEdge: plain.bytes, fromPeers: 0 });
      if (why) (plain.error || plain.status !== 200 ? out.failed : out.unshaped).push(why);
      else {
        out.edgeOnlyMs.push(plain.totalMs);
        out.wire.plain.push(plainWire / cfg.bytes);
      }
      before = markShaped(dl, pool, relays);
      await dl.open(relays.visitorEdge, `race-dl-${k}-${r}`.padEnd(8, "x"), {});
      const res = await dl.fetch(o.url(relays.visitorEdge), o.sha);
      await dl.close();
      const bad = !res.ok || res.intact === false ? `SDK: ${res.error ?? (res.intact === false ? "wrong bytes" : res.status)}` : null;
      const unshaped = bad ? null : verifyShaped({ visitor: dl, seeders: pool, relays, before }, res);
      const after = markShaped(dl, pool, relays);
      // Bytes on the wire (the buckets' own counters: every packet's headers, every byte sent twice)
      // per byte delivered: a peer byte costs the shared downlink more than an edge byte.
      ctx.log(`race/${k} rep ${r} wire: edge only ${fmt(plainWire / cfg.bytes, 3)}× payload (${plainDrops} packets dropped); SDK ${fmt((after.visitorDown - before.visitorDown) / cfg.bytes, 3)}× payload (${after.visitorDropped - before.visitorDropped} dropped), seeders' uplinks ${fmt((after.seedersUp - before.seedersUp) / Math.max(1, res.fromPeers), 3)}× the peer bytes (${after.seedersDropped - before.seedersDropped} dropped), delay relay ${fmt((after.relayDown - before.relayDown) / Math.max(1, res.fromEdge), 3)}× the edge bytes`);
      if (bad) out.failed.push(bad);
      else if (unshaped) out.unshaped.push(unshaped);
      else {
        out.sdk.push(res);
        out.wire.sdk.push((after.visitorDown - before.visitorDown) / cfg.bytes);
      }
      const tl = (res as { timeline?: string[] }).timeline;
      if (tl) ctx.log(`race/${k} rep ${r} timeline (ms chunk source): ${tl.join(", ")}`);
      for (const [who, x] of [["edge only", plain], ["SDK", res]] as const) {
        if (!x.link?.length) continue;
        const l = linkSummary(x.link, cfg.rateBps, cfg.bytes);
        ctx.log(`race/${k} rep ${r} link, ${who}: 64 KiB by ${fmt(l.firstMs)} ms, under half rate ${fmt(l.idleMs)} ms, ${fmt(l.overhead, 3)}× payload; KiB per 100 ms: ${l.slots.join(" ")}`);
      }
      ctx.log(`race/${k} rep ${r}: edge only ${fmt(plain.totalMs)} ms; SDK ${fmt(res.totalMs)} ms, ${fmt(res.fromPeers / MiB)} MiB from peers, ${fmt(res.fromEdge / MiB)} MiB from edge${bad ? `, FAILED ${bad}` : ""}${unshaped ? `, NOT COUNTED: ${unshaped}` : ""}`);
    }
  }
  return out;
}

export const edgeRaceSection: Section = {
  id: "edge-race",
  number: 5,
  title: "The edge race: one access link per visitor",
  budgetS: { quick: 40, full: 200 },
  async run(ctx) {
    const cfg = ctx.quick ? QUICK : FULL;
    const load0 = loadavg();
    const data: Record<string, unknown> = { config: cfg, loadAverage: load0 };
    const cases: RaceCase[] = [];
    let origin: BenchOrigin | null = null;
    let edge: EdgeProcess | null = null;
    let relays: EdgeRelays | null = null;
    const pool: SdkPeer[] = [];
    let dl: SdkPeer | undefined;
    let error: string | undefined;
    // The peer processes (the visitor, and as many seeders as the largest case) start while the edge
    // does: each is a network namespace and a Node process, seconds on a busy host.
    const peers = Promise.allSettled([visitorLink(cfg.rateBps), ...Array.from({ length: Math.max(...cfg.seeders) }, () => seederLink(cfg.seederUpBps))].map((l) => SdkPeer.onLink(l)));
    try {
      origin = await startBenchOrigin();
      edge = await startEdgeProcess(bundleWorker(ctx.root), benchBindings({ "/bench/": origin.url }));
      relays = await startEdgeRelays(edge.port, cfg.rttMs);
      const started = await peers;
      for (const p of started) if (p.status === "fulfilled") pool.push(p.value);
      dl = pool.shift();
      const failed = started.find((p) => p.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      ctx.log(`edge and ${pool.length + 1} peer processes up`);
      const seed = 200;
      const url = (e: string) => `${e}/c/bench${origin!.path(cfg.bytes, seed)}`;
      const sha = sha256(itemBytes(cfg.bytes, seed));
      for (const k of [...cfg.seeders].sort((a, b) => b - a)) cases.push(await raceCase({ k, pool, cfg, relays, url, sha, ctx, dl: dl! }));
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    } finally {
      await peers;
      await Promise.all([dl, ...pool].map((p) => p?.stop()));
      await relays?.close();
      await edge?.stop();
      await origin?.close();
    }
    data.cases = cases;

    const rows: Row[] = [];
    const link = ((cfg.bytes * 8) / cfg.rateBps) * 1000;
    const allEdge = cases.flatMap((c) => c.edgeOnlyMs);
    if (allEdge.length)
      rows.push({
        metric: `edge only, ${cfg.bytes / MiB} MiB over the visitor's link (${cfg.rateBps / 1e6} Mbit/s + ${cfg.rttMs} ms RTT), all cases (p50 / p95)`,
        value: `${fmt(summarize(allEdge).p50)} / ${fmt(summarize(allEdge).p95)} ms`,
        baseline: `link time ${fmt(link)} ms + handshakes`,
        ratio: `${fmt(summarize(allEdge).p50 / link)}× link`,
        target: "link check ≈ 1×",
        status: "info",
      });
    for (const c of [...cases].sort((a, b) => a.k - b.k)) {
      const t = c.sdk.map((x) => x.totalMs);
      const e = c.edgeOnlyMs;
      const limit = c.k >= 3 ? 1 : 1.1;
      const ratio = t.length && e.length ? summarize(t).p50 / summarize(e).p50 : NaN;
      const share = c.sdk.map((x) => x.fromPeers / Math.max(1, x.fromPeers + x.fromEdge));
      rows.push({
        metric: `edge race: SDK with ${c.k} seeder(s) at ${cfg.seederUpBps / 1e6} Mbit/s each vs edge only on the same link (p50 / p95; share from peers)`,
        value: t.length ? `${fmt(summarize(t).p50)} / ${fmt(summarize(t).p95)} ms; ${fmt(summarize(share).p50, 2)}` : "no counted run",
        baseline: e.length ? `${fmt(summarize(e).p50)} / ${fmt(summarize(e).p95)} ms` : "—",
        ratio: Number.isFinite(ratio) ? `${fmt(ratio)}× (p50)` : "—",
        target: `p50 ≤ ${limit === 1 ? "" : `${limit}× `}edge only`,
        status: !Number.isFinite(ratio) || c.unshaped.length || c.failed.length ? "fail" : ratio <= limit ? "pass" : "fail",
      });
    }
    for (const c of [...cases].sort((a, b) => a.k - b.k)) {
      if (!c.wire.sdk.length || !c.wire.plain.length) continue;
      const sdkWire = summarize(c.wire.sdk).p50;
      const plainWire = summarize(c.wire.plain).p50;
      rows.push({
        metric: `  wire bytes on the visitor's downlink per payload byte, ${c.k} seeder(s): SDK vs edge only (the bucket's own counter; p50)`,
        value: `${fmt(sdkWire, 3)}×`,
        baseline: `${fmt(plainWire, 3)}× (TCP/IP headers)`,
        ratio: `${fmt(sdkWire / plainWire, 3)}× the link time`,
        target: "report",
        status: "info",
      });
    }
    const unshaped = cases.flatMap((c) => c.unshaped);
    const failed = cases.flatMap((c) => c.failed);
    rows.push({
      metric: "runs that bypassed a shaped link (not counted) / failed downloads",
      value: `${unshaped.length} / ${failed.length}`,
      baseline: `${cases.reduce((a, c) => a + c.sdk.length + c.edgeOnlyMs.length, 0)} runs counted`,
      ratio: "",
      target: "0 / 0",
      status: unshaped.length || failed.length || error ? "fail" : "pass",
    });

    const notes = [
      `Visitor: an SDK peer process in a network namespace of its own (bench/lib/netns-host.ts); its only interface is a veth pair whose two directions are kernel token buckets (tc tbf, ${cfg.rateBps / 1e6} Mbit/s, 32 KiB deep, ${process.env.BENCH_ACCESS_QUEUE_MS ?? 50} ms queue): the edge's answers and every peer's data channel share that downlink. Its way to the edge (manifest, Range requests, swarm socket) adds ${cfg.rttMs} ms RTT in a relay (the kernel here has no netem in a user namespace); peer links get no added delay.`,
      `Seeders: SDK peer processes, each in its own namespace with its uplink a token bucket of ${cfg.seederUpBps / 1e6} Mbit/s and 16 KiB depth (so no burst beyond 16 KiB above the rate); the SDK's own upload cap is off. One pool, largest case first, shrunk between cases (${[...cfg.seeders].sort((a, b) => b - a).join(" → ")}).`,
      `Edge only: a plain GET (new connection, cache HIT) from the same visitor process on the same link, alternated with the SDK downloads (fresh peer id, empty store, from swarm.fetch() to the last body byte; manifest, join and peer setup included). ${cfg.reps} repetitions per case (3 with one seeder). Targets (issue 18): p50 ≤ edge only with ≥ 3 seeders, ≤ 1.1× with one.`,
      "The log gives each run's wire bytes per payload byte from the buckets' own counters (the GET's TCP/IP headers: 1.05×; a peer byte's DTLS + SCTP framing ≈ 1.09×, so on a link the edge alone fills a peer byte costs ~4 % more link time than an edge byte — the “wire bytes” rows: on a link both fill from their first ~55 ms, the SDK's time ÷ the GET's follows its wire bytes ÷ the GET's, so with peers carrying a share of the bytes p50 ≤ edge only is out of reach by that margin) and packets the buckets dropped; BENCH_TIMELINE=1 adds per-chunk timelines and the visitor's received bytes every 5 ms (bench/peer/link-sampler.ts).",
      "A run counts only if its bytes crossed the shaped links: the visitor in its own namespace with a tbf on its downlink, the bucket's own byte counter (tc -s) ≥ the bytes delivered, the delay relay's ≥ the edge's bytes, the seeders' buckets' ≥ the peer bytes. Others are listed in the log and counted in the last row, which fails if any.",
      `Load average (1/5/15 min) at the start / end: ${load0.map((x) => x.toFixed(2)).join(" / ")} → ${loadavg().map((x) => x.toFixed(2)).join(" / ")}, on ${cpus().length} cores shared with other work.`,
    ];
    if (unshaped.length || failed.length) notes.push(`Not counted: ${[...unshaped, ...failed].slice(0, 6).join("; ")}`);
    if (error) notes.push(`The section stopped early: ${error.slice(0, 400)}`);
    return { rows, notes, data };
  },
};
