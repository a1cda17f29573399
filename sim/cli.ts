/**
 * `npm run simulate [-- <preset>… --seed N --scale S --out DIR]` — runs the named presets (all by
 * default), writes `<out>/<preset>.csv` and `.svg`, and `<out>/runs.csv` with wall-clock times.
 * Wall-clock time is measured here, outside the model: nothing inside `sim/` reads the clock.
 */
import { mkdirSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { lineChart, toCsv } from "./svg-chart";
import { PRESETS } from "./presets/index";

/** Entry point used by `sim/run.mjs`; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let seed = 1, scale = 1, out = "docs/sim";
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--seed") seed = Number(argv[++i]);
    else if (a === "--scale") scale = Number(argv[++i]);
    else if (a === "--out") out = String(argv[++i]);
    else if (a === "--help" || a === "-h") {
      console.log(`usage: npm run simulate -- [${PRESETS.map((p) => p.name).join("|")}]… [--seed N] [--scale S] [--out DIR]`);
      for (const p of PRESETS) console.log(`  ${p.name.padEnd(14)} ${p.description}`);
      return 0;
    } else names.push(a);
  }
  const chosen = names.length ? names.map((n) => PRESETS.find((p) => p.name === n)) : PRESETS;
  if (chosen.some((p) => p === undefined) || !Number.isFinite(seed) || !(scale > 0)) {
    console.error(`unknown preset or bad option; presets: ${PRESETS.map((p) => p.name).join(", ")}`);
    return 2;
  }
  mkdirSync(out, { recursive: true });
  const runsFile = join(out, "runs.csv");
  const runs = new Map<string, (string | number)[]>();
  if (existsSync(runsFile)) for (const line of readFileSync(runsFile, "utf8").trim().split("\n").slice(1)) {
    const cells = line.split(",");
    if (cells.length !== 8) continue; // a row from an older format
    runs.set(cells[0] as string, cells);
  }
  for (const p of chosen) {
    if (!p) continue;
    console.log(`\n## ${p.name}: ${p.description}`);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = p.run({ seed, scale, log: (l) => console.log(`  ${l}`) });
    const secs = (performance.now() - t0) / 1000;
    const c1 = process.cpuUsage(c0);
    const cpu = (c1.user + c1.system) / 1e6; // the machine is shared: CPU time is the fairer number
    writeFileSync(join(out, `${p.name}.csv`), toCsv(r.csv.header, r.csv.rows));
    writeFileSync(join(out, `${p.name}.svg`), lineChart(r.chart));
    for (const x of r.extra ?? []) {
      writeFileSync(join(out, `${p.name}-${x.name}.csv`), toCsv(x.csv.header, x.csv.rows));
      writeFileSync(join(out, `${p.name}-${x.name}.svg`), lineChart(x.chart));
    }
    // Peak resident set of the process so far (kB on Linux): exact per preset when one preset runs.
    const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    for (const h of r.headline) console.log(`  → ${h}`);
    console.log(`  ${p.name}: ${secs.toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU, ${r.peers} simulated peers max, ${r.events} events, peak RSS ${rssMb} MB, seed ${seed}, scale ${scale}`);
    runs.set(p.name, [p.name, Number(secs.toFixed(1)), Number(cpu.toFixed(1)), r.peers, r.events, rssMb, seed, scale]);
    writeFileSync(join(out, `${p.name}.txt`), r.headline.join("\n") + "\n");
  }
  writeFileSync(runsFile, toCsv(["preset", "wall_seconds", "cpu_seconds", "max_simulated_peers", "events", "peak_rss_mb", "seed", "scale"], [...runs.values()]));
  return 0;
}
