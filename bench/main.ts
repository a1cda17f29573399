/**
 * The bench runner (bundled and started by bench/index.mjs inside the network namespace): runs the
 * selected sections in order, each within its time budget, prints each table as it completes, and
 * writes bench/results/latest.json and docs/bench.md.
 *
 * Flags: `--quick` (≤ 2 minutes), `--only <id|number>[,…]` (e.g. `--only coordinator` or `--only 3,4`;
 * other sections keep their previous results in the files).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killAllChildren, liveChildren } from "./lib/procs";
import { hostLine, machineInfo, resultsMarkdown, sectionText, type BenchResults, type SectionResult } from "./lib/report";
import type { Section } from "./lib/section";
import { offloadSection } from "./sections/offload";
import { peerPathSection } from "./sections/peer-path";
import { coordinatorSection } from "./sections/coordinator";
import { sdkSizeSection } from "./sections/sdk-size";
import { edgeRaceSection } from "./sections/edge-race";
import { coldItemSection } from "./sections/cold-item";
import { streamsSection } from "./sections/streams";

const SECTIONS: readonly Section[] = [offloadSection, peerPathSection, coordinatorSection, sdkSizeSection, edgeRaceSection, coldItemSection, streamsSection];
const RESULTS = "bench/results/latest.json";
const MARKDOWN = "docs/bench.md";
/** Hand-run measurements appended to docs/bench.md on every regeneration. */
const BY_HAND = "docs/bench-by-hand.md";

interface Args {
  quick: boolean;
  only: Section[];
}

function parseArgs(argv: string[]): Args {
  const quick = argv.includes("--quick");
  let only = [...SECTIONS];
  const i = argv.indexOf("--only");
  if (i >= 0) {
    const want = (argv[i + 1] ?? "").split(",").filter(Boolean);
    only = SECTIONS.filter((s) => want.includes(s.id) || want.includes(String(s.number)));
    if (only.length === 0) throw new Error(`--only: no section among ${JSON.stringify(want)}; known: ${SECTIONS.map((s) => `${s.number}=${s.id}`).join(", ")}`);
  }
  return { quick, only };
}

async function runSection(s: Section, quick: boolean, root: string): Promise<SectionResult> {
  const budgetMs = (quick ? s.budgetS.quick : s.budgetS.full) * 1000;
  const tmp = mkdtempSync(join(tmpdir(), `edgeswarm-bench-${s.id}-`));
  const host = hostLine();
  const t0 = performance.now();
  const log = (msg: string) => process.stderr.write(`[${s.id} ${((performance.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`section exceeded 1.5× its ${budgetMs / 1000} s budget`)), budgetMs * 1.5);
  });
  let out;
  try {
    out = await Promise.race([s.run({ quick, budgetMs, root, tmp, log }), timeout]);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    log(`FAILED: ${msg}`);
    if (e instanceof Error && e.stack) process.stderr.write(e.stack + "\n");
    killAllChildren();
    out = {
      rows: [{ metric: "section", value: "error", baseline: "—", ratio: "—", target: "", status: "fail" as const }],
      notes: [`The section failed: ${msg}`],
      data: { error: msg },
    };
  } finally {
    clearTimeout(timer);
    rmSync(tmp, { recursive: true, force: true });
  }
  return {
    id: s.id, title: `${s.number}. ${s.title}`, mode: quick ? "quick" : "full", date: new Date().toISOString(),
    durationS: (performance.now() - t0) / 1000, host, ...out,
  };
}

function loadPrevious(): BenchResults | null {
  if (!existsSync(RESULTS)) return null;
  try {
    return JSON.parse(readFileSync(RESULTS, "utf8")) as BenchResults;
  } catch {
    return null;
  }
}

/** Runs the bench; resolves to the process exit code (0 even when targets are not met: those are results). */
export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const root = process.cwd();
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.on(sig, () => {
      killAllChildren();
      process.exit(130);
    });
  process.on("exit", killAllChildren);

  const machine = machineInfo();
  console.log(`edgeswarm bench (${args.quick ? "quick" : "full"}): ${machine.nproc} × ${machine.cpu}, Node ${machine.node}, load ${machine.loadAtStart}`);
  const prev = args.only.length < SECTIONS.length ? loadPrevious() : null;
  const results: BenchResults = {
    machine, date: new Date().toISOString(), mode: args.quick ? "quick" : "full", sections: { ...(prev?.sections ?? {}) },
  };
  let errors = 0;
  for (const s of args.only) {
    const r = await runSection(s, args.quick, root);
    if (r.data.error) errors++;
    results.sections[s.id] = r;
    console.log(sectionText(r));
    if (liveChildren() > 0) {
      console.error(`[${s.id}] left ${liveChildren()} child process(es) running: killing them`);
      killAllChildren();
    }
  }
  mkdirSync("bench/results", { recursive: true });
  mkdirSync("docs", { recursive: true });
  writeFileSync(RESULTS, JSON.stringify(results, null, 2) + "\n");
  const byHand = existsSync(BY_HAND) ? readFileSync(BY_HAND, "utf8") : "";
  writeFileSync(MARKDOWN, resultsMarkdown(results, SECTIONS.map((s) => s.id), byHand));
  console.log(`\nwrote ${RESULTS} and ${MARKDOWN}`);
  return errors ? 1 : 0;
}
