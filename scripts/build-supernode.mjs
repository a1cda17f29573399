#!/usr/bin/env node
// Bundles the Node supernode (supernode/main.ts and the SDK core it imports) with esbuild into
// dist/supernode/cli.mjs: Node 20 cannot run .ts files. Packages stay external (node-datachannel
// loads a native binary relative to its own folder; ws has optional native add-ons).
import { build } from "esbuild";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = resolve(root, "dist/supernode/cli.mjs");
await build({
  entryPoints: [resolve(root, "supernode/main.ts")],
  outfile,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: "linked",
  legalComments: "none",
  logLevel: process.argv.includes("--quiet") ? "warning" : "info",
});
