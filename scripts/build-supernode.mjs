#!/usr/bin/env node
// Bundles the Node supernode CLI (supernode/main.ts and the SDK core it imports) with esbuild into
// dist/supernode/cli.mjs — Node 20 cannot run .ts files — at pack time (`npm pack` → prepack) and, in
// a checkout, lazily from the launcher. `ws` (pure JS) is bundled in; node-datachannel stays external
// (a native module that loads its binary relative to its own folder), as do ws's optional native
// add-ons (ws requires them inside try/catch). Also writes dist/supernode/usage.mjs (the usage text
// alone), so `edgeswarm-seed --help` answers where node-datachannel is not installed yet.
import { build } from "esbuild";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const common = {
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  legalComments: "none",
  logLevel: process.argv.includes("--quiet") ? "warning" : "info",
  external: ["node-datachannel", "node-datachannel/*", "bufferutil", "utf-8-validate"],
  // ws is CommonJS: give the ESM bundle a real `require` for its Node built-ins.
  banner: { js: 'import { createRequire as __edgeswarmRequire } from "node:module"; const require = __edgeswarmRequire(import.meta.url);' },
};
await build({ ...common, entryPoints: [resolve(root, "supernode/main.ts")], outfile: resolve(root, "dist/supernode/cli.mjs"), sourcemap: "linked" });
await build({
  ...common,
  stdin: { contents: 'export { USAGE } from "./supernode/cli-args";', resolveDir: root, loader: "ts" },
  outfile: resolve(root, "dist/supernode/usage.mjs"),
});
