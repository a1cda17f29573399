/**
 * One SDK peer process (bench/peer/sdk-peer-process.ts) driven over IPC: in the bench's own network
 * namespace (the peer path's overhead rows) or on an access link of its own (bench/lib/netns-host.ts:
 * the edge race and the cold-item rows), where its plain GETs — the edge-only yardstick — cross the
 * same link as its SDK downloads.
 */
import type { ChildProcess } from "node:child_process";
import { childScript, forkChild, nextMessage, stopChild } from "../lib/procs";
import { forkInNetns, type AccessLink, type NetnsHost } from "../lib/netns-host";
import { isSdk, type PlainGetResult, type SdkCommand, type SdkFetchResult, type SdkPeerOptions } from "./sdk-protocol";

/**
 * BENCH_PEER_PROF=<dir>: SDK peer processes write V8 CPU profiles there (profiling the overhead);
 * BENCH_PEER_NODE_ARGS="--trace-gc …": more Node flags for them (e.g. to see what the collector does).
 */
const profArgs = () => {
  const e = process.env;
  const execArgv = [
    ...(e.BENCH_PEER_PROF ? ["--cpu-prof", `--cpu-prof-dir=${e.BENCH_PEER_PROF}`] : []),
    ...(e.BENCH_PEER_NODE_ARGS ? e.BENCH_PEER_NODE_ARGS.split(/\s+/).filter(Boolean) : []),
  ];
  return execArgv.length ? { execArgv } : {};
};
const SCRIPT = () => childScript("peer/sdk-peer-process.mjs");

/** An SDK peer process. */
export class SdkPeer {
  /** The process's own link, when it has one. */
  readonly host: NetnsHost | null;
  readonly cp: ChildProcess;

  private constructor(cp: ChildProcess, host: NetnsHost | null) {
    this.cp = cp;
    this.host = host;
  }

  /** A peer in the bench's namespace (unshaped, loopback-fast). */
  static local(): SdkPeer {
    return new SdkPeer(forkChild(SCRIPT(), [], profArgs()), null);
  }

  /** A peer behind its own shaped access link. */
  static async onLink(link: AccessLink): Promise<SdkPeer> {
    const host = await forkInNetns(SCRIPT(), [], profArgs(), link);
    return new SdkPeer(host.cp, host);
  }

  async open(edge: string, peerId: string, options: SdkPeerOptions): Promise<void> {
    const p = nextMessage(this.cp, isSdk("opened"), 15_000, "sdk open");
    this.cp.send({ cmd: "open", edge, peerId, options } satisfies SdkCommand);
    await p;
  }
  async fetch(url: string, expectSha256: string, timeoutMs = 120_000): Promise<SdkFetchResult> {
    const p = nextMessage(this.cp, isSdk("fetched"), timeoutMs, "sdk fetch");
    this.cp.send({ cmd: "fetch", url, expectSha256 } satisfies SdkCommand);
    return p;
  }
  /** A plain GET from this process (no SDK), on a new connection. */
  async plain(url: string, expectSha256?: string, timeoutMs = 180_000): Promise<PlainGetResult> {
    const p = nextMessage(this.cp, isSdk("plained"), timeoutMs, "plain get");
    this.cp.send({ cmd: "plain", url, ...(expectSha256 ? { expectSha256 } : {}) } satisfies SdkCommand);
    return p;
  }
  /** CPU time of the process so far (all threads), ms. */
  async cpu(): Promise<number> {
    const p = nextMessage(this.cp, isSdk("cpu"), 10_000, "sdk cpu");
    this.cp.send({ cmd: "cpu" } satisfies SdkCommand);
    return (await p).ms;
  }
  async close(): Promise<void> {
    const p = nextMessage(this.cp, isSdk("closed"), 10_000, "sdk close");
    this.cp.send({ cmd: "close" } satisfies SdkCommand);
    await p;
  }
  stop(): Promise<void> {
    return stopChild(this.cp, 1000);
  }
}
