#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --only <section>]`: the benchmark launcher.
//
// 1. Re-executes itself inside the private network namespace (scripts/netns.sh) unless already
//    there: WebRTC needs a non-loopback interface, and no bench traffic may reach real interfaces.
// 2. Bundles the TypeScript bench (bench/main.ts and every child-process entry bench/**/*-process.ts)
//    with esbuild into node_modules/.cache/edgeswarm-bench/ — packages stay external, so they resolve
//    from the project's node_modules — and imports the bundled main.
// The launcher is plain JS because it must run before anything can compile TypeScript.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);

if (process.env.EDGESWARM_NETNS !== "1") {
  const r = spawnSync("bash", ["scripts/netns.sh", process.execPath, ...process.argv.slice(1)], { stdio: "inherit" });
  if (r.error) console.error("bench: cannot enter the network namespace:", r.error.message);
  process.exit(r.status ?? 1);
}

/** Every `*-process.ts` under bench/: entry points of child processes. */
function processEntries(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...processEntries(p));
    else if (name.endsWith("-process.ts")) out.push(relative(root, p));
  }
  return out;
}

const { build } = await import("esbuild");
// One build directory per checkout: node_modules is shared between worktrees, and two checkouts'
// benches must not run each other's bundles.
const outdir = join(root, "node_modules/.cache/edgeswarm-bench", createHash("sha256").update(root).digest("hex").slice(0, 12));
await build({
  entryPoints: ["bench/main.ts", ...processEntries(join(root, "bench"))],
  outdir,
  outbase: "bench",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: "inline",
  logLevel: "warning",
});
const { main } = await import(pathToFileURL(join(outdir, "main.mjs")).href);
process.exit(await main(process.argv.slice(2)));
