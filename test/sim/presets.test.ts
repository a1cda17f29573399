import { describe, expect, it } from "vitest";
import { analyticOffload } from "../../sim/capacity-model";
import { PRESETS } from "../../sim/presets/index";
import { CONTINENT_WEIGHTS } from "../../sim/presets/capacity";
import type { PresetResult } from "../../sim/preset";
import { lineChart, toCsv } from "../../sim/svg-chart";

/** Everything a preset writes, as the files' text: what must not change for a seed. */
function outputs(r: PresetResult): string {
  const parts = [toCsv(r.csv.header, r.csv.rows), lineChart(r.chart), r.headline.join("\n"), String(r.events)];
  for (const x of r.extra ?? []) parts.push(toCsv(x.csv.header, x.csv.rows), lineChart(x.chart));
  return parts.join("\n---\n");
}

const SMALL = 0.01; // throughput 200 browsers, availability 200, hot content 1,000, capacity 1/800 scale
const runs = new Map<string, PresetResult>();
const run = (name: string, seed: number, fresh = false) => {
  const p = PRESETS.find((x) => x.name === name);
  if (!p) throw new Error(`no preset ${name}`);
  const key = `${name}:${seed}`;
  const r = !fresh && runs.get(key) || p.run({ seed, scale: SMALL, log: () => {} });
  runs.set(key, r);
  return r;
};

describe("presets are deterministic for a seed", () => {
  for (const name of ["capacity", "throughput", "availability", "hot-content", "stream"]) {
    it(`${name}: same seed → identical CSV, chart and headline; another seed → different numbers`, () => {
      const a = run(name, 7);
      const b = run(name, 7, true);
      expect(outputs(b)).toBe(outputs(a));
      expect(a.csv.rows.length).toBeGreaterThan(3);
      const c = run(name, 8);
      expect(toCsv(c.csv.header, c.csv.rows)).not.toBe(toCsv(a.csv.header, a.csv.rows));
    }, 60_000);
  }
});

describe("capacity preset", () => {
  it("reproduces the article: ~2 M online peers for ~99% offload of 16 M images (one global swarm)", () => {
    const session = 0.4 * 227; // views held: one session of 3 min 47 s
    const at = (online: number) => analyticOffload({ items: 16e6, zipfS: 0.8, online, heldViews: session, shardWeights: [1], mobileShare: 0.2 });
    expect(at(1e6)).toBeLessThan(0.99);
    expect(at(3e6)).toBeGreaterThan(0.99);
    expect(at(2e6)).toBeGreaterThan(0.98);
    // Offload rises with the online population, and sharding per continent needs more peers.
    expect(at(1e5)).toBeLessThan(at(1e6));
    const cont = analyticOffload({ items: 16e6, zipfS: 0.8, online: 2e6, heldViews: session, shardWeights: CONTINENT_WEIGHTS, mobileShare: 0.2 });
    expect(cont).toBeLessThan(at(2e6) - 0.05);
  });

  it("simulated points (scaled catalogue, churn) sit on the full-size analytic curve", () => {
    const r = run("capacity", 7);
    const h = r.csv.header;
    const iAn = h.indexOf("analytic_continent_1session"), iSim = h.indexOf("sim_continent_1session");
    const pts = r.csv.rows.filter((row) => Number.isFinite(row[iSim] as number));
    expect(pts.length).toBe(5);
    for (let i = 1; i < pts.length; i++) expect(pts[i]![iSim] as number).toBeGreaterThan(pts[i - 1]![iSim] as number);
    // At 1/800 scale the smallest point (125 online, 20k items) sits ~0.045 low: a finite-size
    // effect of the scaled catalogue (at the documented 1/8 scale it is 0.007); the rest agree.
    for (const row of pts.slice(1)) expect(Math.abs((row[iSim] as number) - (row[iAn] as number))).toBeLessThan(0.04);
  }, 60_000);
});
