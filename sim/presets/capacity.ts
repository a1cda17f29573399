/**
 * Preset 1 — capacity: can browsers hold a 500 GB static catalogue (~16 M images of ~31 KB)?
 * Offload (theoretical limit, bandwidth ignored) versus online population.
 *
 * Simulated: the item-level churn model (`capacity-model.ts`) on a catalogue scaled down by K with
 * the population scaled down by K (for Zipf s < 1 coverage depends on online/items only — checked
 * against the full-size analytic curve, which the simulated points sit on). Analytic: the same
 * model at full size (16 M items), also for stores the simulator cannot hold at a million peers.
 */
import { analyticOffload, runCapacity, type CapacityParams } from "../capacity-model";
import type { Preset, PresetContext, PresetResult } from "../preset";

/** Continent shards (edge shards per continent): share of visitors — NA, EU, AS, SA, OC, AF. */
export const CONTINENT_WEIGHTS = [0.3, 0.28, 0.28, 0.07, 0.04, 0.03] as const;
const CATALOGUE_ITEMS = 16_000_000;
const ITEM_BYTES = 31_250; // 500 GB / 16 M
const K = 8; // catalogue and population scale-down for the simulated points
const VIEWS_PER_S = 0.4; // ≈ 91 image views in a 3 min 47 s session (≈ 2.8 MB)
const SESSION_S = 227;

export const capacity: Preset = {
  name: "capacity",
  description: "offload limit vs online population for a 500 GB / 16 M-image catalogue",
  run(ctx: PresetContext): PresetResult {
    // Catalogue and population shrink together (by K, and by --scale for quick runs and tests), so
    // the simulated points stay comparable with the full-size analytic curves at any scale.
    const shrink = K / ctx.scale;
    const base: CapacityParams = {
      seed: ctx.seed, items: Math.round(CATALOGUE_ITEMS / shrink), zipfS: 0.8, itemBytes: ITEM_BYTES,
      online: 0, populationFactor: 2, sessionMeanS: SESSION_S, viewsPerS: VIEWS_PER_S, priorViews: 0,
      shardWeights: CONTINENT_WEIGHTS, mobileShare: 0.2, desktopQuotaBytes: 500e6, mobileQuotaBytes: 50e6,
      horizonS: 20,
    };
    const session = VIEWS_PER_S * SESSION_S;
    const xs = [1e4, 2e4, 5e4, 1e5, 2e5, 4e5, 1e6, 2e6, 4e6, 8e6, 16e6];
    const simX = [1e5, 4e5, 1e6, 2e6, 4e6].filter((x) => x / shrink >= 100);
    const simGlobalX = [1e5, 2e6];
    const an = (online: number, held: number, shards: readonly number[]) =>
      analyticOffload({ items: CATALOGUE_ITEMS, zipfS: 0.8, online, heldViews: Math.min(held, 500e6 / ITEM_BYTES), mobileHeldViews: Math.min(held, 50e6 / ITEM_BYTES), mobileShare: 0.2, shardWeights: shards });
    const curves = {
      continent1: xs.map((x) => an(x, session, CONTINENT_WEIGHTS)),
      global1: xs.map((x) => an(x, session, [1])),
      continent10: xs.map((x) => an(x, 10 * session, CONTINENT_WEIGHTS)),
      continentFull: xs.map((x) => an(x, Infinity, CONTINENT_WEIGHTS)),
    };
    let events = 0, peers = 0;
    const sim = (xList: number[], shards: readonly number[], k: number) => xList.map((x) => {
      const online = Math.round(x / shrink);
      const r = runCapacity({ ...base, seed: ctx.seed + k, online, shardWeights: shards });
      events += r.events;
      peers = Math.max(peers, Math.round(online * base.populationFactor));
      ctx.log(`capacity: ${x.toExponential(1)} online (sim ${online}, ${shards.length} shard(s)): offload ${r.offload.toFixed(4)}, held/peer ${r.meanHeld.toFixed(0)}, ${r.requests} requests`);
      return { x, offload: r.offload };
    });
    const simC = sim(simX, CONTINENT_WEIGHTS, 1);
    const simG = sim(simGlobalX.filter((x) => x / shrink >= 100), [1], 2);
    const simAt = (list: { x: number; offload: number }[], x: number) => list.find((p) => p.x === x)?.offload ?? NaN;
    const rows = xs.map((x, i) => [x, curves.global1[i]!, curves.continent1[i]!, curves.continent10[i]!, curves.continentFull[i]!, simAt(simG, x), simAt(simC, x)]);
    const need = (f: (x: number) => number, target: number) => {
      let lo = 1e3, hi = 1e9;
      for (let i = 0; i < 26; i++) { const mid = Math.sqrt(lo * hi); if (f(mid) >= target) hi = mid; else lo = mid; }
      return hi;
    };
    const m = (v: number) => `${(v / 1e6).toFixed(2)} M`;
    const headline = [
      `one session of views held (~${session.toFixed(0)} images, ~2.8 MB/peer), one global swarm per item: 95% offload at ${m(need((x) => an(x, session, [1]), 0.95))} online, 99% at ${m(need((x) => an(x, session, [1]), 0.99))}`,
      `same with swarms sharded per continent: 95% at ${m(need((x) => an(x, session, CONTINENT_WEIGHTS), 0.95))}, 99% at ${m(need((x) => an(x, session, CONTINENT_WEIGHTS), 0.99))}`,
      `ten sessions held, per continent: 99% at ${m(need((x) => an(x, 10 * session, CONTINENT_WEIGHTS), 0.99))}; full quotas (500/50 MB): 99% at ${m(need((x) => an(x, Infinity, CONTINENT_WEIGHTS), 0.99))}`,
      `storage bound alone: 500 GB / (0.8·500 MB + 0.2·50 MB) = ${Math.round(500e9 / 410e6)} peers per full copy`,
      `simulated (1/${Number(shrink.toPrecision(3))} scale, churn, continent shards) vs analytic: ${simC.map((p) => `${m(p.x)} ${p.offload.toFixed(3)}/${an(p.x, session, CONTINENT_WEIGHTS).toFixed(3)}`).join(", ")}`,
    ];
    return {
      csv: { header: ["online_peers", "analytic_global_1session", "analytic_continent_1session", "analytic_continent_10sessions", "analytic_continent_fullquota", "sim_global_1session", "sim_continent_1session"], rows },
      chart: {
        title: "Capacity: 500 GB catalogue (16 M images), Zipf 0.8, sessions 3 min 47 s",
        xLabel: "online peers (log)", yLabel: "theoretical offload (share of requests)", logX: true, yMin: 0, yMax: 1,
        series: [
          { name: "global swarm, 1 session held", x: xs, y: curves.global1, dashed: true },
          { name: "per continent, 1 session", x: xs, y: curves.continent1, dashed: true },
          { name: "per continent, 10 sessions", x: xs, y: curves.continent10, dashed: true },
          { name: "per continent, full quota", x: xs, y: curves.continentFull, dashed: true },
          { name: "simulated, global", x: simG.map((p) => p.x), y: simG.map((p) => p.offload), markers: true },
          { name: "simulated, per continent", x: simC.map((p) => p.x), y: simC.map((p) => p.offload), markers: true },
        ],
      },
      headline, peers, events,
    };
  },
};
