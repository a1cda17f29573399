/**
 * The `edgeswarm-seed` command line, parsed into validated options (pure: no I/O, so every rule is
 * unit-tested). Parsing uses `node:util` `parseArgs` (strict: unknown flags are errors).
 */
import { parseArgs } from "node:util";
import { PEER_ID } from "../protocol/swarm-protocol";
import { PEER_KEY } from "../protocol/peer-id";
import { parseDuration, parseRate, parseSize } from "./size-units";

/** Validated options of one supernode run. */
export interface SeedOptions {
  /** Edge origin, e.g. `https://cdn.example` (no path). */
  edge: string;
  /** Content to hold and seed: edge URLs or paths (`/c/demo/a.bin` or `/demo/a.bin`). */
  pins: string[];
  /** Candidates seeded only while their swarm reports them rare (follow-rare mode). */
  follow: string[];
  /** Upload cap, bytes/s; 0 = unlimited. */
  maxUploadBytesPerSec: number;
  uploadSlots: number;
  maxPeers: number;
  /** Chunk store folder; undefined = in memory (nothing survives a restart). */
  storeDir: string | undefined;
  quotaBytes: number;
  statsIntervalMs: number;
  /** How often pins are re-checked (new versions, evicted chunks). */
  refreshMs: number;
  peerId: string | undefined;
  /** From `EDGESWARM_PEER_KEY` (an environment variable, not an argument: argv is public in `ps`). */
  peerKey: string | undefined;
  quiet: boolean;
}

/** What {@link parseCliArgs} returns. */
export type CliParse =
  | { kind: "run"; options: SeedOptions }
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "error"; message: string };

/** Usage text (also the `--help` output). */
export const USAGE = `Usage: edgeswarm-seed --edge <url> [options]

An always-on edgeswarm peer: fetches pinned content through the edge (every chunk verified against
its manifest), keeps it on disk and seeds it to visitors over WebRTC.

  --edge <url>              edge origin, e.g. https://cdn.example (required)
  --pin <url|path>          content to hold and seed; repeatable. An edge URL (https://cdn.example/c/demo/a.bin)
                            or a path (/c/demo/a.bin, /demo/a.bin), or @file with one per line
  --follow <url|path>       follow-rare mode: seed this content only while its swarm has visitors
                            and few copies; repeatable, @file accepted
  --max-upload <rate>       upload cap, e.g. 20MiB/s, 100Mbit/s; 0 = unlimited (default 0)
  --upload-slots <n>        concurrent chunk uploads (default 16)
  --max-peers <n>           peer links (default 64)
  --store <dir>             chunk store folder (default: in memory, lost on exit)
  --quota <size>            store size limit, e.g. 20GiB (default 10GiB; 1GiB in memory)
  --stats-interval <dur>    one stats line per interval, e.g. 30s (default 30s; 0 = off)
  --refresh <dur>           re-check pins (new versions, evictions) this often (default 10m)
  --peer-id <id>            legacy fixed peer id (8-64 of A-Z a-z 0-9 _ -), sent as ?peer=;
                            default: id derived from the key in $EDGESWARM_PEER_KEY, else
                            in <store>/peer-key (created, 0600), else random per process
  --quiet                   only errors and stats lines
  -h, --help                this text
  --version                 print the version
`;

const int = (v: string | undefined, name: string, min: number, max: number, dflt: number): number | string => {
  if (v === undefined) return dflt;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : `--${name} must be an integer in ${min}..${max} (got ${JSON.stringify(v)})`;
};

/** Normalises an edge origin; `null` unless http(s) with no path, query or credentials. */
export function parseEdge(text: string): string | null {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return null;
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.username || u.password || u.search || u.hash) return null;
  if (u.pathname !== "/" && u.pathname !== "") return null;
  return u.origin;
}

/**
 * Parses argv (without `node` and the script). `readList` reads `@file` arguments (one entry per
 * line, `#` comments); it is injected so parsing stays pure in tests.
 *
 * @example
 * parseCliArgs(["--edge", "https://cdn.example", "--pin", "/c/demo/a.bin", "--store", "/var/lib/es", "--quota", "20GiB"]);
 */
export function parseCliArgs(argv: string[], readList: (file: string) => string = () => "", env: Record<string, string | undefined> = {}): CliParse {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        edge: { type: "string" },
        pin: { type: "string", multiple: true },
        follow: { type: "string", multiple: true },
        "max-upload": { type: "string" },
        "upload-slots": { type: "string" },
        "max-peers": { type: "string" },
        store: { type: "string" },
        quota: { type: "string" },
        "stats-interval": { type: "string" },
        refresh: { type: "string" },
        "peer-id": { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    }));
  } catch (e) {
    return { kind: "error", message: e instanceof Error ? e.message : String(e) };
  }
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const err = (message: string): CliParse => ({ kind: "error", message });

  if (!values.edge) return err("--edge is required");
  const edge = parseEdge(values.edge);
  if (!edge) return err(`--edge must be an http(s) origin without a path (got ${JSON.stringify(values.edge)})`);

  const expand = (list: string[] | undefined, flag: string): string[] | string => {
    const out: string[] = [];
    for (const item of list ?? []) {
      if (item.startsWith("@")) {
        let text: string;
        try {
          text = readList(item.slice(1));
        } catch (e) {
          return `${flag} ${item}: ${e instanceof Error ? e.message : String(e)}`;
        }
        for (const line of text.split(/\r?\n/)) {
          const t = line.replace(/#.*$/, "").trim();
          if (t) out.push(t);
        }
      } else out.push(item);
    }
    for (const p of out) {
      let u: URL;
      try {
        u = new URL(p, edge);
      } catch {
        return `${flag} ${JSON.stringify(p)} is not a URL or path`;
      }
      if (u.origin !== edge) return `${flag} ${JSON.stringify(p)} is not on the edge ${edge}`;
      if (u.pathname === "/" || /^\/(m|swarm|sdk)\//.test(u.pathname)) return `${flag} ${JSON.stringify(p)} is not a content path`;
    }
    return [...new Set(out)];
  };
  const pins = expand(values.pin, "--pin");
  if (typeof pins === "string") return err(pins);
  const follow = expand(values.follow, "--follow");
  if (typeof follow === "string") return err(follow);
  if (pins.length === 0 && follow.length === 0 && !values.store) return err("nothing to seed: give --pin, --follow, or a --store that already holds content");

  const maxUpload = values["max-upload"] === undefined ? 0 : parseRate(values["max-upload"]);
  if (maxUpload === null) return err(`--max-upload: not a rate: ${JSON.stringify(values["max-upload"])} (e.g. 20MiB/s, 100Mbit/s, 0)`);
  const uploadSlots = int(values["upload-slots"], "upload-slots", 1, 1024, 16);
  if (typeof uploadSlots === "string") return err(uploadSlots);
  const maxPeers = int(values["max-peers"], "max-peers", 1, 1024, 64);
  if (typeof maxPeers === "string") return err(maxPeers);
  // Without a folder the chunks live in this process's memory: a smaller default budget.
  const quota = values.quota === undefined ? (values.store ? 10 * 1024 ** 3 : 1024 ** 3) : parseSize(values.quota);
  if (quota === null || quota < 1024 * 1024) return err(`--quota: need a size of at least 1MiB (got ${JSON.stringify(values.quota)})`);
  const statsInterval = values["stats-interval"] === undefined ? 30_000 : parseDuration(values["stats-interval"]);
  if (statsInterval === null) return err(`--stats-interval: not a duration: ${JSON.stringify(values["stats-interval"])}`);
  const refresh = values.refresh === undefined ? 600_000 : parseDuration(values.refresh);
  if (refresh === null || refresh < 1000) return err(`--refresh: need a duration of at least 1s (got ${JSON.stringify(values.refresh)})`);
  const peerId = values["peer-id"];
  if (peerId !== undefined && !PEER_ID.test(peerId)) return err("--peer-id: 8-64 of A-Z a-z 0-9 _ -");
  const peerKey = env.EDGESWARM_PEER_KEY || undefined;
  if (peerKey !== undefined && !PEER_KEY.test(peerKey)) return err("EDGESWARM_PEER_KEY: 22-128 of A-Z a-z 0-9 _ -");
  if (peerKey !== undefined && peerId !== undefined) return err("--peer-id and EDGESWARM_PEER_KEY: give one");

  return {
    kind: "run",
    options: {
      edge,
      pins,
      follow,
      maxUploadBytesPerSec: maxUpload,
      uploadSlots,
      maxPeers,
      storeDir: values.store,
      quotaBytes: quota,
      statsIntervalMs: statsInterval,
      refreshMs: refresh,
      peerId,
      peerKey,
      quiet: !!values.quiet,
    },
  };
}
