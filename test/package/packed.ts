/**
 * The packed tarball and a scratch consumer project, made once per run: `npm pack` (which runs
 * `prepack`, scripts/build-package.mjs) into a temporary folder, then `npm install <tarball>
 * --offline` into an empty project — nothing but the tarball may be needed to install it.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** Repository root. */
export const REPO = resolve(import.meta.dirname, "../..");

/** Runs a command; throws with its output unless it exits 0 (or `allowFail`). */
export function run(cmd: string, args: string[], cwd: string, opts: { allowFail?: boolean; env?: Record<string, string> } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", NEXT_TELEMETRY_DISABLED: "1", ...opts.env },
  });
  if (!opts.allowFail && r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

export interface Packed {
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Paths inside the package (no "package/" prefix). */
  files: string[];
  size: number;
  unpackedSize: number;
  /** A fresh project with only the tarball installed. */
  consumer: string;
  scratch: string;
}

let packed: Packed | undefined;

/** Packs and installs once per process. */
export function packOnce(): Packed {
  if (packed) return packed;
  const scratch = mkdtempSync(join(tmpdir(), "edgeswarm-package-"));
  const r = run("npm", ["pack", "--json", "--pack-destination", scratch], REPO);
  const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf("["))) as { filename: string; files: { path: string }[]; size: number; unpackedSize: number }[];
  const tarball = join(scratch, info!.filename);
  if (!existsSync(tarball)) throw new Error(`npm pack wrote no ${tarball}`);
  const consumer = join(scratch, "consumer");
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], consumer);
  packed = { tarball, files: info!.files.map((f) => f.path), size: info!.size, unpackedSize: info!.unpackedSize, consumer, scratch };
  return packed;
}
