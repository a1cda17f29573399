/**
 * Section 6 — Cold items: does the first visitor of an item wait longer with the SDK than with a
 * plain fetch? (issue 13, item 1)
 *
 * One visitor on its own access link (bench/peer/visitor-link.ts: 50 Mbit/s token bucket, 40 ms RTT
 * to the edge). For each size it alternates a plain GET of `/c/<item>` and an SDK `swarm.fetch()` of
 * another item of the same size, both cold (never requested before: the edge fetches the origin),
 * with no peers in the swarm. First byte = the request (or the fetch call) to the first body byte;
 * total = to the last.
 */
import { createHash } from "node:crypto";
import { cpus, loadavg } from "node:os";
import type { Row } from "../lib/report";
import type { Section } from "../lib/section";
import { fmt, fmtRange, median } from "../lib/stats";
import { bundleWorker } from "../lib/worker-bundle";
import { benchBindings, startEdgeProcess, type EdgeProcess } from "../lib/edge-server";
import { itemBytes, startBenchOrigin, type BenchOrigin } from "../peer/bench-origin";
import { SdkPeer } from "../peer/sdk-peer";
import { markShaped, startEdgeRelays, verifyShaped, visitorLink, type EdgeRelays } from "../peer/visitor-link";

const MiB = 2 ** 20;

interface Config {
  /** Item sizes and repetitions of each side. */
  sizes: { bytes: number; reps: number }[];
  rateBps: number;
  rttMs: number;
}
const QUICK: Config = { sizes: [{ bytes: 1 * MiB, reps: 2 }, { bytes: 8 * MiB, reps: 1 }], rateBps: 50e6, rttMs: 40 };
const FULL: Config = { sizes: [{ bytes: 1 * MiB, reps: 5 }, { bytes: 64 * MiB, reps: 3 }], rateBps: 50e6, rttMs: 40 };

interface Sample {
  ttfbMs: number;
  totalMs: number;
}
interface SizeRun {
  bytes: number;
  plain: Sample[];
  sdk: (Sample & { fromEdge: number; fromPeers: number })[];
  /** Edge cache status the plain GETs saw (each must be a MISS: the item was cold). */
  plainCache: string[];
  notCounted: string[];
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

export const coldItemSection: Section = {
  id: "cold-item",
  number: 6,
  title: "Cold items: the first visitor through the SDK vs a plain fetch",
  budgetS: { quick: 40, full: 240 },
  async run(ctx) {
    const cfg = ctx.quick ? QUICK : FULL;
    const load0 = loadavg();
    const runs: SizeRun[] = [];
    let origin: BenchOrigin | null = null;
    let edge: EdgeProcess | null = null;
    let relays: EdgeRelays | null = null;
    let dl: SdkPeer | null = null;
    let error: string | undefined;
    // The visitor's namespace and process start while the edge does (seconds on a busy host).
    const visitor = SdkPeer.onLink(visitorLink(cfg.rateBps));
    try {
      origin = await startBenchOrigin();
      edge = await startEdgeProcess(bundleWorker(ctx.root), benchBindings({ "/bench/": origin.url }));
      relays = await startEdgeRelays(edge.port, cfg.rttMs);
      dl = await visitor;
      ctx.log("edge and visitor up");
      let seed = 600;
      for (const { bytes, reps } of cfg.sizes) {
        const run: SizeRun = { bytes, plain: [], sdk: [], plainCache: [], notCounted: [] };
        runs.push(run);
        for (let r = 0; r < reps; r++) {
          // Plain first, then the SDK, each on an item nobody asked for yet (the origin's content is
          // the same cost for every seed).
          const plainSeed = seed++;
          const sdkSeed = seed++;
          const url = (s: number) => `${relays!.visitorEdge}/c/bench${origin!.path(bytes, s)}`;
          // The origin generates an item's bytes on its first request: have it do so before the
          // clock runs (straight from the origin, so the edge's cache stays cold).
          for (const s of [plainSeed, sdkSeed]) await (await fetch(`${origin.url}${origin.path(bytes, s).slice(1)}`)).arrayBuffer();
          let before = markShaped(dl, [], relays);
          const p = await dl.plain(url(plainSeed), sha256(itemBytes(bytes, plainSeed)));
          const pWhy = p.error || p.status !== 200 || p.intact === false ? `plain: ${p.error ?? (p.intact === false ? "wrong bytes" : p.status)}` : verifyShaped({ visitor: dl, seeders: [], relays, before }, { fromEdge: p.bytes, fromPeers: 0 });
          run.plainCache.push(p.cache ?? "?");
          if (pWhy) run.notCounted.push(pWhy);
          else run.plain.push({ ttfbMs: p.ttfbMs, totalMs: p.totalMs });
          before = markShaped(dl, [], relays);
          await dl.open(relays.visitorEdge, `cold-${bytes}-${r}`.padEnd(8, "x"), {});
          const s = await dl.fetch(url(sdkSeed), sha256(itemBytes(bytes, sdkSeed)), 180_000);
          await dl.close();
          const sWhy = !s.ok || s.intact === false ? `SDK: ${s.error ?? (s.intact === false ? "wrong bytes" : s.status)}` : verifyShaped({ visitor: dl, seeders: [], relays, before }, s);
          if (sWhy) run.notCounted.push(sWhy);
          else run.sdk.push({ ttfbMs: s.ttfbMs, totalMs: s.totalMs, fromEdge: s.fromEdge, fromPeers: s.fromPeers });
          ctx.log(`cold ${bytes / MiB} MiB rep ${r}: plain ${fmt(p.ttfbMs)} / ${fmt(p.totalMs)} ms (${p.cache ?? "?"}); SDK ${fmt(s.ttfbMs)} / ${fmt(s.totalMs)} ms${pWhy || sWhy ? ` — NOT COUNTED: ${pWhy ?? ""} ${sWhy ?? ""}` : ""}`);
        }
      }
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    } finally {
      dl ??= await visitor.catch(() => null);
      await dl?.stop();
      await relays?.close();
      await edge?.stop();
      await origin?.close();
    }

    const rows: Row[] = [];
    for (const r of runs) {
      const size = `${r.bytes / MiB} MiB`;
      const ok = r.plain.length && r.sdk.length && !r.notCounted.length;
      const pT = median(r.plain.map((x) => x.ttfbMs));
      const sT = median(r.sdk.map((x) => x.ttfbMs));
      const pA = median(r.plain.map((x) => x.totalMs));
      const sA = median(r.sdk.map((x) => x.totalMs));
      rows.push({
        metric: `cold ${size}, first byte: SDK vs plain GET of /c/ (same link, both edge MISS)`,
        value: r.sdk.length ? `${fmtRange(r.sdk.map((x) => x.ttfbMs))} ms` : "no counted run",
        baseline: r.plain.length ? `${fmtRange(r.plain.map((x) => x.ttfbMs))} ms` : "—",
        ratio: ok ? `${sT - pT >= 0 ? "+" : ""}${fmt(sT - pT)} ms` : "—",
        target: `≤ plain + ${cfg.rttMs} ms (one edge RTT)`,
        status: ok ? (sT <= pT + cfg.rttMs ? "pass" : "fail") : "fail",
      });
      rows.push({
        metric: `cold ${size}, total: SDK vs plain GET of /c/`,
        value: r.sdk.length ? `${fmtRange(r.sdk.map((x) => x.totalMs))} ms` : "no counted run",
        baseline: r.plain.length ? `${fmtRange(r.plain.map((x) => x.totalMs))} ms` : "—",
        ratio: ok ? `${fmt(sA / pA)}×` : "—",
        target: "≤ 1.1× plain",
        status: ok ? (sA <= 1.1 * pA ? "pass" : "fail") : "fail",
      });
    }
    const notCounted = runs.flatMap((r) => r.notCounted);
    const misses = runs.flatMap((r) => r.plainCache);
    const notes = [
      `Visitor: one SDK peer process on its own access link (bench/lib/netns-host.ts: kernel token bucket ${cfg.rateBps / 1e6} Mbit/s each way, its only interface) with ${cfg.rttMs} ms RTT to the edge (delay relay); the plain GET runs in the same process over the same link, on a new connection. The bench origin is on the edge's loopback (unshaped): the edge–origin leg is a fast data-centre link; it has generated each item's bytes before the timed request.`,
      `Per size, repetitions alternate plain then SDK, each on an item never requested before (distinct seeds of the bench origin's generator); no other peer holds them, so the SDK's bytes all come from the edge. Plain GETs saw X-Edgeswarm-Cache: ${[...new Set(misses)].join(", ") || "—"} (MISS = cold, as intended). SDK: createSwarm, fresh peer id, empty store; first byte = swarm.fetch() call to the first body byte; total = to the last (manifest, swarm join and hashing included). Median (min–max); targets from issue 13 on the medians.`,
      "The SDK asks `/m/<item>?inline=1`: a cold whole item comes back in that answer itself (the edge's 200 marked X-Edgeswarm-Manifest-Pending, protocol/manifest.ts), with no second request to `/c/`; it asks `/m/` again later to seed.",
      `Load average (1/5/15 min) at the start / end: ${load0.map((x) => x.toFixed(2)).join(" / ")} → ${loadavg().map((x) => x.toFixed(2)).join(" / ")}, on ${cpus().length} cores shared with other work.`,
    ];
    if (notCounted.length) notes.push(`Not counted (failed, or bytes that did not cross the shaped link): ${notCounted.slice(0, 6).join("; ")}`);
    if (error) notes.push(`The section stopped early: ${error.slice(0, 400)}`);
    return { rows, notes, data: { config: cfg, loadAverage: load0, runs, error } };
  },
};
