#!/usr/bin/env node
// Builds what the npm package ships (`npm pack` runs it as `prepack`; package.json "files" lists
// the outputs). Entry points (package.json "exports"):
//
//   edgeswarm          dist/npm/index.js     browser SDK, ESM, zero runtime dependencies. The peer side
//                                            stays behind `import("./p2p-runtime")`, so a consumer's
//                                            bundler splits it into a second chunk, as the edge's
//                                            /sdk/ split build does (a page's first download is smaller)
//   edgeswarm/sw       dist/npm/sw.js        the service worker, to import into (or bundle as) a site's
//                                            own worker script; dist/sdk/sw.js is the same, prebuilt
//   edgeswarm/hls      dist/npm/hls.js       hls.js loader (players issue); structurally typed, no hls.js import
//   edgeswarm/shaka    dist/npm/shaka.js     Shaka Player scheme plugin; likewise
//   edgeswarm/node     dist/node/index.js    Node peers and the seeder; `ws` and `node-datachannel` are
//                                            optional peer dependencies, left external
//   edgeswarm/worker   dist/worker/index.js  the edge as a library (functions/worker.ts) plus its Durable
//                                            Object class; `hono` is a peer dependency, left external
//                                            so the host Worker's Hono types and instance are the same
//   edgeswarm-seed     bin/edgeswarm-seed.mjs → dist/supernode/cli.mjs (prebuilt here)
//
// Declarations go to dist/types/ (tsc, declaration-only): browser entries with DOM libs only, the
// Node entry with Node's types, the worker entry with Workers types — a consumer gets the types of
// the runtime they target and no other.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const quiet = process.argv.includes("--quiet");
process.chdir(root);
const node = (script) => {
  const r = spawnSync(process.execPath, [script, "--quiet"], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

// The edge-served SDK (dist/sdk/, and the strings the Worker embeds) and the supernode CLI.
node("scripts/build-client.mjs");
node("scripts/build-supernode.mjs");

const lib = { bundle: true, format: "esm", target: "es2022", legalComments: "none", logLevel: "warning" };
rmSync("dist/npm", { recursive: true, force: true });
await build({
  ...lib,
  platform: "browser",
  entryPoints: { index: "client/index.ts", sw: "client/sw.ts", hls: "client/players/hls.ts", shaka: "client/players/shaka.ts" },
  splitting: true,
  outdir: "dist/npm",
  chunkNames: "chunks/[name]-[hash]",
});
rmSync("dist/node", { recursive: true, force: true });
await build({ ...lib, platform: "node", target: "node20", entryPoints: { index: "supernode/index.ts" }, outdir: "dist/node", external: ["ws", "node-datachannel", "node-datachannel/*"] });

const WORKER_ENTRY = "functions/worker.ts";
rmSync("dist/worker", { recursive: true, force: true });
await build({
  ...lib,
  platform: "neutral",
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["module", "main"],
  entryPoints: { index: WORKER_ENTRY },
  outdir: "dist/worker",
  external: ["hono", "hono/*", "cloudflare:*", "node:*"],
});

await emitTypes();
if (!quiet) console.log("package build: dist/npm, dist/node, dist/worker, dist/supernode, dist/types");

/** Hand-written ambient declarations of a source folder. */
function ambient(dir) {
  return readdirSync(dir).filter((f) => f.endsWith(".d.ts")).map((f) => `${dir}/${f}`);
}

/** Declarations of every entry, each checked under `strict` with only its runtime's types. */
async function emitTypes() {
  const ts = (await import("typescript")).default;
  const outDir = "dist/types";
  rmSync(outDir, { recursive: true, force: true });
  const base = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true, declaration: true, emitDeclarationOnly: true, stripInternal: true, rootDir: ".", outDir,
    skipLibCheck: true, isolatedModules: true, verbatimModuleSyntax: true,
  };
  const dom = ["lib.es2022.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"];
  const programs = [
    { roots: ["client/index.ts", "client/players/hls.ts", "client/players/shaka.ts"], options: { ...base, lib: dom, types: [] } },
    { roots: ["supernode/index.ts"], options: { ...base, lib: dom, types: ["node"] } },
    // The Worker's own compile setting (tsconfig.json): Workers types, the generated Env and the
    // ambient Env additions (functions/*.d.ts, durable/*.d.ts).
    { roots: [WORKER_ENTRY, "worker-configuration.d.ts", ...ambient("functions"), ...ambient("durable")], options: { ...base, lib: [...dom, "lib.webworker.d.ts"], types: ["@cloudflare/workers-types", "node"] } },
  ];
  // Relative specifiers get ".js": consumers on `moduleResolution: node16/nodenext` require explicit
  // extensions in ESM (TS2834); "./swarm.js" resolves to swarm.d.ts under every resolution mode.
  const withExt = (text) => text.replace(/((?:from|import)\s*\(?\s*")(\.{1,2}\/[^"]+?)(?<!\.js)(")/g, "$1$2.js$3");
  // The Worker's embedded scripts (functions/generated/, the SDK and dashboard as strings) would be
  // declared as their literal types — every script a second time, ~160 KB of .d.ts. `string` is the
  // type a consumer needs.
  const plainStrings = (file, text) => (file.includes("/functions/generated/") ? text.replace(/^(export declare const \w+) = "(?:[^"\\\n]|\\.)*";$/gm, "$1: string;") : text);
  const write = (file, text) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, withExt(plainStrings(file, text)));
  };
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => "\n" };
  for (const { roots, options } of programs) {
    const program = ts.createProgram(roots, options);
    const diags = [...ts.getPreEmitDiagnostics(program), ...program.emit(undefined, write).diagnostics];
    if (diags.length) {
      console.error(ts.formatDiagnostics(diags, host));
      process.exit(1);
    }
  }
  // The library's declarations name the repository's global `Env` (wrangler types), which a host
  // Worker does not have: declare it for them as "any bindings", merged into the host's own Env.
  writeFileSync(join(outDir, "worker-env.d.ts"), "// edgeswarm/worker: the bindings its declarations mention (the host Worker's Env merges in).\ninterface Env {\n  [binding: string]: unknown;\n}\n");
  const entry = join(outDir, "functions/worker.d.ts");
  writeFileSync(entry, `/// <reference path="../worker-env.d.ts" />\n${readFileSync(entry, "utf8")}`);
  // The service worker has no exports: its module is imported for its side effects (`import
  // "edgeswarm/sw"`). Its source references lib "webworker", which must not leak into a page's types.
  writeFileSync(join(outDir, "sw.d.ts"), "// edgeswarm/sw: the service worker (side effects only; see README \"Add to your site\").\nexport {};\n");
}
