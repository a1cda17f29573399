#!/usr/bin/env node
// `npm test`: typecheck, then the workerd suite, the Node unit suite, the end-to-end suite (in a
// private network namespace) and the package suite. Prints one closing line `N passed, N failed`
// summed from vitest's JSON reports — the line CI reads. Pass suite names to run a subset: `npm test -- node workers`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const suites = [
  { name: "typecheck", cmd: ["npx", "tsc", "--noEmit"] },
  { name: "workers", config: "vitest.workers.config.ts" },
  { name: "node", config: "vitest.node.config.ts" },
  { name: "e2e", config: "vitest.e2e.config.ts", netns: true },
  // Packs the tarball and uses it as a consumer would; the examples' frameworks come from the npm registry.
  { name: "package", config: "vitest.package.config.ts" },
];
const wanted = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), "edgeswarm-test-"));
let passed = 0, failed = 0, skipped = 0;
/** What failed, repeated just above the closing line: CI shows only the tail of a long log. */
const failures = [];

for (const s of suites) {
  if (wanted.length && !wanted.includes(s.name)) continue;
  console.log(`\n=== ${s.name} ===`);
  if (s.cmd) {
    const r = spawnSync(s.cmd[0], s.cmd.slice(1), { stdio: "inherit" });
    if (r.status === 0) passed++;
    else { failed++; failures.push(`${s.name}: exit ${r.status}`); console.log(`${s.name}: FAILED`); }
    continue;
  }
  const out = join(dir, `${s.name}.json`);
  const args = ["vitest", "run", "--config", s.config, "--reporter=default", "--reporter=json", `--outputFile.json=${out}`];
  const cmd = s.netns ? ["bash", "scripts/netns.sh", "npx", ...args] : ["npx", ...args];
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: "inherit", env: process.env });
  if (!existsSync(out)) {
    // No report: the runner crashed or found nothing to run. Either way that is a failure.
    console.log(`${s.name}: no test report (exit ${r.status})`);
    failures.push(`${s.name}: no test report (exit ${r.status})`);
    failed++;
    continue;
  }
  const rep = JSON.parse(readFileSync(out, "utf8"));
  passed += rep.numPassedTests;
  failed += rep.numFailedTests;
  skipped += rep.numPendingTests + (rep.numTodoTests ?? 0);
  // A suite that failed outside any test (e.g. a file that does not import) counts as a failure.
  const fileErrors = rep.testResults.filter((f) => f.status === "failed" && f.assertionResults.every((a) => a.status !== "failed")).length;
  failed += fileErrors;
  for (const f of rep.testResults) {
    const file = f.name.replace(process.cwd() + "/", "");
    const bad = f.assertionResults.filter((a) => a.status === "failed");
    for (const a of bad) failures.push(`${s.name}: ${file} > ${a.fullName}: ${String(a.failureMessages?.[0] ?? "").split("\n")[0].slice(0, 300)}`);
    if (f.status === "failed" && bad.length === 0) failures.push(`${s.name}: ${file}: ${String(f.message ?? "").split("\n")[0].slice(0, 300)}`);
  }
  if (rep.numTotalTests === 0) { console.log(`${s.name}: ran no test`); failures.push(`${s.name}: ran no test`); failed++; }
  if (r.status !== 0 && rep.numFailedTests === 0 && fileErrors === 0) { console.log(`${s.name}: exit ${r.status}`); failures.push(`${s.name}: exit ${r.status}`); failed++; }
}
if (failures.length) console.log(`\nFailed:\n${failures.map((f) => `  ✗ ${f}`).join("\n")}`);
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed ? 1 : 0);
