/**
 * Diagnostics: summarises a V8 CPU profile (`.cpuprofile`, e.g. from `BENCH_CPU_PROFILE=<file>` of
 * the coordinator section, see swarm-process.ts) as self and inclusive time per function, over the
 * last `seconds` of the recording (the ops phase ends right before the server stops).
 *
 * Usage: `npx esbuild bench/coordinator/profile-summary.ts --bundle --platform=node --format=esm
 * --outfile=/tmp/ps.mjs && node /tmp/ps.mjs <file.cpuprofile> [seconds] [top]`
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self and inclusive microseconds per function name (`name url:line`), over samples in the window.
 * @example
 * const { self, total, windowUs } = summarize(JSON.parse(readFileSync(f, "utf8")), 3);
 */
export function summarize(p: Profile, seconds: number): { self: Map<string, number>; total: Map<string, number>; windowUs: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode) => `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber + 1}`;
  const times: number[] = [];
  let t = 0;
  for (const d of p.timeDeltas) times.push((t += d));
  const from = t - seconds * 1e6;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let windowUs = 0;
  for (let i = 1; i < p.samples.length; i++) {
    if (times[i]! < from) continue;
    const dt = times[i]! - times[i - 1]!;
    windowUs += dt;
    const node = byId.get(p.samples[i]!)!;
    self.set(label(node), (self.get(label(node)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const l = label(byId.get(id)!);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + dt);
    }
  }
  return { self, total, windowUs };
}

if (process.argv[2]) {
  const [file, sec = "3", top = "30"] = process.argv.slice(2);
  const { self, total, windowUs } = summarize(JSON.parse(readFileSync(file!, "utf8")) as Profile, Number(sec));
  const show = (title: string, m: Map<string, number>) => {
    console.log(`\n${title} (window ${(windowUs / 1e6).toFixed(2)} s)`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) console.log(`${((100 * v) / windowUs).toFixed(1).padStart(6)}%  ${k}`);
  };
  show("self", self);
  show("inclusive", total);
}
