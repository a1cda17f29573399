#!/usr/bin/env node
// `npm run simulate [-- preset… --seed N --scale S --out DIR]`
// Node 20 cannot execute TypeScript, and tsx is not a dependency: bundle sim/cli.ts (and the real
// policy modules it imports from durable/ and client/) with esbuild into a temporary ESM file, then
// import it. The bundle is rebuilt on every run (~50 ms), so the simulation always tracks the code.
import { build } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "edgeswarm-sim-"));
const outfile = join(dir, "cli.mjs");
try {
  await build({
    entryPoints: [join(here, "cli.ts")], bundle: true, format: "esm", platform: "node",
    target: "node20", outfile, logLevel: "warning", sourcemap: "inline",
  });
  const { main } = await import(pathToFileURL(outfile).href);
  process.exitCode = await main(process.argv.slice(2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
