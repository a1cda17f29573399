/** The shape every bench section implements, and what it is given to run. */
import type { Row } from "./report";

/** What a section gets from the runner. */
export interface SectionContext {
  /** `--quick`: smaller loads, whole bench ≤ 2 minutes. */
  quick: boolean;
  /** This section's time budget, ms (the runner aborts the section at 1.5× this). */
  budgetMs: number;
  /** Project root (cwd). */
  root: string;
  /** A fresh temporary directory for this section. */
  tmp: string;
  /** Progress line on stderr (results go to the table, not here). */
  log(msg: string): void;
}

/** What a section returns (the runner adds id, title, mode, date and duration). */
export interface SectionOutput {
  rows: Row[];
  notes: string[];
  data: Record<string, unknown>;
}

/** A bench section. */
export interface Section {
  /** Stable id used by `--only` and as the key in latest.json. */
  id: string;
  /** Number in the issue (1 = offload … 4 = SDK size); `--only 3` works too. */
  number: number;
  title: string;
  /** Time budgets, seconds. */
  budgetS: { quick: number; full: number };
  run(ctx: SectionContext): Promise<SectionOutput>;
}
