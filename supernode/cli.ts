/**
 * `edgeswarm-seed`: runs a supernode from the command line (see {@link USAGE}). Exits 0 after
 * SIGINT/SIGTERM once every swarm was left (`bye`) and every link closed, 2 on bad arguments,
 * 1 on a start failure. A second signal exits at once.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PEER_KEY, randomPeerKey } from "../protocol/peer-id";
import { PEER_ID } from "../protocol/swarm-protocol";
import { parseCliArgs, USAGE, type SeedOptions } from "./cli-args";
import { createNodeSwarm, shutdownNodeRuntime } from "./node-runtime";
import { SeederNode } from "./seeder-node";
import { formatBytes } from "./size-units";

export const VERSION = "0.1.0";

/** Where the CLI writes, and the process hooks it uses (injected in tests). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Registers a handler for SIGINT/SIGTERM; returns its remover. */
  onSignal(handler: (signal: string) => void): () => void;
  readList(file: string): string;
}

const stamp = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");

export const processIo: CliIo = {
  out: (l) => process.stdout.write(`${stamp()} ${l}\n`),
  err: (l) => process.stderr.write(`${stamp()} ${l}\n`),
  onSignal(handler) {
    const h = (sig: NodeJS.Signals) => handler(sig);
    process.on("SIGINT", h);
    process.on("SIGTERM", h);
    return () => {
      process.off("SIGINT", h);
      process.off("SIGTERM", h);
    };
  },
  readList: (file) => readFileSync(file, "utf8"),
};

/**
 * A stable peer key per store folder (`<dir>/peer-key`, mode 0600: whoever reads it can take this
 * node's place in swarms), so a restarted supernode comes back as the same peer (`pk_…`, derived
 * from the key by the edge and by the SDK alike); `undefined` without a folder (the SDK draws a
 * random key per process). A legacy `<dir>/peer-id` (a chosen id, sent as `?peer=` and open to
 * takeover) is not used any more: the node switches to a key once, and `migratedFrom` names the old
 * id so the start line can say so.
 */
export async function storePeerKey(dir: string | undefined): Promise<{ key: string; migratedFrom?: string } | undefined> {
  if (!dir) return undefined;
  const file = join(dir, "peer-key");
  const existing = (await readFile(file, "utf8").catch(() => "")).trim();
  if (PEER_KEY.test(existing)) {
    await chmod(file, 0o600).catch(() => {});
    return { key: existing };
  }
  const key = randomPeerKey();
  await mkdir(dir, { recursive: true });
  await writeFile(file, key + "\n", { mode: 0o600 });
  await chmod(file, 0o600); // an existing (invalid) file keeps its mode through writeFile
  const old = (await readFile(join(dir, "peer-id"), "utf8").catch(() => "")).trim();
  return PEER_ID.test(old) ? { key, migratedFrom: old } : { key };
}

/**
 * Starts a supernode with parsed options; resolves with the running seeder.
 *
 * @example
 * const seeder = await startSupernode({ ...options }, processIo);
 */
export async function startSupernode(o: SeedOptions, io: CliIo): Promise<SeederNode> {
  // --peer-id (legacy, `?peer=`) or $EDGESWARM_PEER_KEY; else the stored key; else a random key per process.
  const stored = o.peerId || o.peerKey ? undefined : await storePeerKey(o.storeDir);
  const peerKey = o.peerKey ?? stored?.key;
  const node = await createNodeSwarm({
    edge: o.edge,
    ...(o.peerId ? { peerId: o.peerId } : peerKey ? { peerKey } : {}),
    storeDir: o.storeDir,
    quotaBytes: o.quotaBytes,
    maxUploadBytesPerSec: o.maxUploadBytesPerSec,
    uploadSlots: o.uploadSlots,
    maxPeers: o.maxPeers,
    // Everything the store holds is re-joined on start (the SDK's default is 3 recent items).
    rejoinRecent: 1_000,
  });
  const seeder = new SeederNode({
    node,
    edge: o.edge,
    pins: o.pins,
    follow: o.follow,
    statsIntervalMs: o.statsIntervalMs,
    refreshMs: o.refreshMs,
    log: o.quiet ? undefined : (l) => io.out(l),
    stats: (l) => io.out(l),
  });
  if (stored?.migratedFrom)
    io.out(`peer id ${stored.migratedFrom} (${o.storeDir}/peer-id, claimable by anyone) replaced by ${node.swarm.peerId}, derived from ${o.storeDir}/peer-key`);
  if (!o.quiet) {
    const held = node.store.recent(1_000);
    io.out(
      `edgeswarm-seed ${VERSION}: peer ${node.swarm.peerId}, edge ${o.edge}, ${o.pins.length} pin(s), ${o.follow.length} followed, ` +
        `store ${o.storeDir ?? "(memory)"} ${formatBytes(node.store.usedBytes)}/${formatBytes(node.store.quota)} in ${held.length} item(s), ` +
        `upload ${o.maxUploadBytesPerSec ? `${formatBytes(o.maxUploadBytesPerSec)}/s` : "unlimited"} x ${o.uploadSlots} slots`,
    );
  }
  seeder.start();
  return seeder;
}

/**
 * The CLI: parse, start, run until a signal. Resolves with the exit code.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const parsed = parseCliArgs(argv, io.readList, process.env);
  if (parsed.kind === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.kind === "version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (parsed.kind === "error") {
    io.err(`edgeswarm-seed: ${parsed.message}`);
    process.stderr.write(`\n${USAGE}`);
    return 2;
  }
  let seeder: SeederNode;
  try {
    seeder = await startSupernode(parsed.options, io);
  } catch (e) {
    io.err(`edgeswarm-seed: cannot start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  let remove = (): void => {};
  await new Promise<void>((resolve) => {
    let stopping = false;
    remove = io.onSignal((sig) => {
      if (stopping) {
        io.err(`${sig} again: exiting now`);
        process.exit(130);
      }
      stopping = true;
      io.out(`${sig}: leaving swarms…`);
      void seeder.stop().then(resolve, resolve);
    });
  });
  // `bye` frames and channel closes are asynchronous; give them a moment before native teardown.
  await new Promise((r) => setTimeout(r, 300));
  io.out(`stopped: ${seeder.statsLine()}`);
  shutdownNodeRuntime();
  remove();
  return 0;
}
