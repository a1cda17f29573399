/**
 * The edge Worker as deploy would upload it: `wrangler deploy --dry-run --outdir <dir>` (wrangler's
 * own bundler), cached under node_modules/.cache/edgeswarm-bench/ by a hash of the sources so
 * repeated bench runs do not rebundle.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

function hashTree(h: ReturnType<typeof createHash>, dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) hashTree(h, p);
    else h.update(p).update(readFileSync(p));
  }
}

/**
 * Builds (or reuses) the Worker bundle; returns the path of its entry module.
 * @example
 * const scriptPath = bundleWorker(process.cwd());
 */
export function bundleWorker(root: string): string {
  const h = createHash("sha256");
  for (const d of ["functions", "durable", "protocol"]) hashTree(h, join(root, d));
  h.update(readFileSync(join(root, "wrangler.toml")));
  const out = join(root, "node_modules/.cache/edgeswarm-bench/worker", h.digest("hex").slice(0, 16));
  const script = join(out, "index.js");
  if (existsSync(script)) return script;
  mkdirSync(out, { recursive: true });
  const r = spawnSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", out], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  if (r.status !== 0 || !existsSync(script)) throw new Error(`wrangler deploy --dry-run failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return script;
}
