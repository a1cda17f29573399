#!/usr/bin/env node
// `edgeswarm-seed` launcher (docs/supernode.md). Runs the prebuilt dist/supernode/cli.mjs (`npm pack`
// builds it). In a checkout of the repository it first rebuilds the bundle when the TypeScript
// sources are newer (Node 20 cannot run them directly). node-datachannel (WebRTC for Node, a native
// module) is an optional peer dependency of the package: without it, --help and --version still
// answer and anything else says what to install.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bundle = join(root, "dist/supernode/cli.mjs");
const args = process.argv.slice(2);

/** Newest mtime of the .ts sources the bundle is made from (0 in an installed package: none ship). */
function newestSource() {
  let newest = 0;
  for (const dir of ["supernode", "client", "protocol"]) {
    const d = join(root, dir);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (f.endsWith(".ts")) newest = Math.max(newest, statSync(join(d, f)).mtimeMs);
  }
  return newest;
}

const build = join(root, "scripts/build-supernode.mjs");
if (existsSync(build) && (!existsSync(bundle) || statSync(bundle).mtimeMs < newestSource())) {
  const r = spawnSync(process.execPath, [build, "--quiet"], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

let webrtc = true;
try {
  createRequire(bundle).resolve("node-datachannel");
} catch {
  webrtc = false;
}
if (webrtc) {
  await import(pathToFileURL(bundle).href);
} else {
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  const install = "npm install node-datachannel   (WebRTC for Node: a native module, an optional peer dependency of edgeswarm)";
  if (args.includes("--version") || args.includes("-v")) {
    console.log(version);
  } else if (args.includes("--help") || args.includes("-h")) {
    const { USAGE } = await import(pathToFileURL(join(root, "dist/supernode/usage.mjs")).href);
    console.log(`${USAGE.trimEnd()}\n\nTo seed, also install:\n  ${install}`);
  } else {
    console.error(`edgeswarm-seed ${version}: node-datachannel is not installed.\n  ${install}`);
    process.exitCode = 1;
  }
}
