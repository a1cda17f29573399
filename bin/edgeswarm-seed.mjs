#!/usr/bin/env node
// `edgeswarm-seed` launcher: builds dist/supernode/cli.mjs when it is missing or older than the
// sources (Node 20 cannot run the TypeScript directly), then runs it. See docs/supernode.md.
import { existsSync, readdirSync, statSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bundle = join(root, "dist/supernode/cli.mjs");

/** Newest mtime of the .ts sources the bundle is made from. */
function newestSource() {
  let newest = 0;
  for (const dir of ["supernode", "client", "protocol"]) {
    const d = join(root, dir);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (f.endsWith(".ts")) newest = Math.max(newest, statSync(join(d, f)).mtimeMs);
  }
  return newest;
}

if (!existsSync(bundle) || statSync(bundle).mtimeMs < newestSource()) {
  const r = spawnSync(process.execPath, [join(root, "scripts/build-supernode.mjs"), "--quiet"], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
await import(pathToFileURL(bundle).href);
