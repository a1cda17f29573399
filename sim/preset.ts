/** The shape every experiment preset has: a name, a run, and what it writes. */
import type { ChartSpec } from "./svg-chart";

/** Context a preset runs in. */
export interface PresetContext {
  seed: number;
  /** Multiplies population sizes (1 = the documented run; tests use small values). */
  scale: number;
  log: (line: string) => void;
}

/** What a preset produces: one CSV, one chart, a few headline lines. */
export interface PresetResult {
  csv: { header: string[]; rows: (number | string)[][] };
  chart: ChartSpec;
  headline: string[];
  /** Largest number of simulated peers in any run of the preset. */
  peers: number;
  /** Events processed over all runs. */
  events: number;
  /** Further outputs written next to the main ones as `<preset>-<name>.csv/.svg` (e.g. a timeline). */
  extra?: { name: string; csv: { header: string[]; rows: (number | string)[][] }; chart: ChartSpec }[];
}

/** A named experiment. */
export interface Preset {
  name: string;
  description: string;
  run(ctx: PresetContext): PresetResult;
}
