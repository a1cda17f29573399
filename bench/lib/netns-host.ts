/**
 * A bench process on its own access link: a Node child forked into a network namespace of its own,
 * joined to the bench's namespace by one veth pair, with each direction of that pair shaped by a
 * kernel token bucket (`tc … tbf`). Everything the child sends or receives — edge, coordinator and
 * every peer's data channel — has to cross that one link: the child has no other interface (its
 * loopback reaches only itself). So a downloader's whole downlink is one shaped link, and a seeder's
 * uplink cap is a token bucket whose burst is its stated depth, not a userspace pacer's.
 *
 * Why tbf and not netem: the bench runs as root in a user namespace (scripts/netns.sh), where the
 * kernel here offers tbf, htb and the fifos but not netem (no module loading in a user namespace).
 * So the link's delay is added elsewhere (the edge's delay relay); the rate is the kernel's.
 *
 * Addressing: host n gets 10.98.n.2/24 on its `eth0`, the bench side 10.98.n.1 on `bh<n>`, with a
 * default route via it; the bench namespace forwards between hosts (ip_forward=1 there), so
 * namespaced peers reach each other through their shaped links and reach servers bound to the bench
 * namespace's 10.99.0.1 (scripts/netns.sh) or 10.98.n.1.
 *
 * `shaped()` reads the token buckets' own byte counters (`tc -s`), which is how a run proves its
 * bytes crossed the shaper (see checkShaped in bench/sections/peer-path.ts).
 */
import { execFileSync } from "node:child_process";
import { readlinkSync } from "node:fs";
import type { ChildProcess, ForkOptions } from "node:child_process";
import { forkChild } from "./procs";

/** One direction of a link: a token bucket. */
export interface Bucket {
  /** Rate, bits per second. */
  rateBps: number;
  /** Bucket depth, bytes: the most that can leave back to back above the rate. */
  burstBytes: number;
  /** Queue in front of the bucket, ms of traffic at the rate (a router's buffer; tail drop beyond). */
  queueMs: number;
}

/** A host's access link; an omitted direction is not shaped. */
export interface AccessLink {
  /** Toward the host (its downlink). */
  down?: Bucket;
  /** From the host (its uplink). */
  up?: Bucket;
}

/** A forked child on its own link. */
export interface NetnsHost {
  cp: ChildProcess;
  /** The child's address (10.98.n.2). */
  address: string;
  /** The bench side's address of the link (10.98.n.1): servers listening on it are reachable. */
  gateway: string;
  /** The bench side's end of the veth pair (`bh<n>`): its egress is the child's downlink. */
  device: string;
  link: AccessLink;
  /** Bytes that have crossed each direction's token bucket so far (NaN where unshaped or gone). */
  shaped(): { down: number; up: number };
  /** Packets each direction's bucket has dropped so far (its queue full: the sender retransmits them). */
  dropped(): { down: number; up: number };
  /** The buckets as the kernel reports them now (`tc qdisc show`), one line per direction. */
  describe(): { down: string; up: string };
}

let nextIndex = 1;
let forwarding = false;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const netnsOf = (pid: number | "self") => {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return "";
  }
};
/** Runs `cmd` inside the child's namespace. */
const inNs = (pid: number, cmd: string[]) => sh("nsenter", [`--net=/proc/${pid}/ns/net`, ...cmd]);

const tbf = (b: Bucket) => ["tbf", "rate", `${Math.round(b.rateBps)}bit`, "burst", String(Math.round(b.burstBytes)), "latency", `${b.queueMs}ms`];
const sentBytes = (tcOut: string) => {
  const m = /Sent (\d+) bytes/.exec(tcOut);
  return m ? Number(m[1]) : NaN;
};
const droppedPackets = (tcOut: string) => {
  const m = /dropped (\d+)/.exec(tcOut);
  return m ? Number(m[1]) : NaN;
};

// The child waits for the bench to hand it its end of the veth pair (named eth0), addresses it and
// only then becomes Node: the first thing the bench script does can already use the network.
const WRAPPER = [
  'exec unshare -n sh -c \'',
  "ip link set lo up; i=0;",
  "while ! ip link show eth0 >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 500 ] && exit 70; sleep 0.02; done;",
  'ip addr add "$BENCH_NS_ADDR/24" dev eth0 && ip link set eth0 up && ip route add default via "$BENCH_NS_GW" || exit 71;',
  'exec "$@"\' sh "$@"',
].join(" ");

/**
 * Forks `script` (a bundled bench child) into a new network namespace behind its own shaped link.
 * @example
 * const dl = await forkInNetns(childScript("peer/sdk-peer-process.mjs"), [], {}, { down: { rateBps: 50e6, burstBytes: 32768, queueMs: 100 } });
 */
export async function forkInNetns(script: string, args: string[], opts: ForkOptions, link: AccessLink): Promise<NetnsHost> {
  if (process.env.EDGESWARM_NETNS !== "1") throw new Error("forkInNetns: run inside scripts/netns.sh (npm run bench does)");
  if (!forwarding) {
    // Namespaced hosts reach each other through the bench namespace.
    sh("sh", ["-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
    forwarding = true;
  }
  const n = nextIndex++;
  if (n > 250) throw new Error("forkInNetns: out of 10.98.n.0/24 subnets");
  const address = `10.98.${n}.2`;
  const gateway = `10.98.${n}.1`;
  const dev = `bh${n}`;
  const cp = forkChild(script, args, {
    ...opts,
    execPath: "/bin/sh",
    execArgv: ["-c", WRAPPER, "sh", process.execPath, ...(opts.execArgv ?? [])],
    env: { ...process.env, ...opts.env, BENCH_NS_ADDR: address, BENCH_NS_GW: gateway },
  });
  const pid = cp.pid!;
  // `unshare` replaces the shell in the same pid: wait until that pid's namespace is no longer ours.
  const mine = netnsOf("self");
  const t0 = performance.now();
  for (;;) {
    const ns = netnsOf(pid);
    if (ns && ns !== mine) break;
    if (!ns || cp.exitCode !== null) throw new Error(`forkInNetns: child ${pid} exited before entering its namespace`);
    if (performance.now() - t0 > 10_000) throw new Error("forkInNetns: child did not enter its namespace within 10 s");
    await new Promise((r) => setTimeout(r, 10));
  }
  sh("ip", ["link", "add", dev, "type", "veth", "peer", "name", "eth0", "netns", String(pid)]);
  sh("ip", ["addr", "add", `${gateway}/24`, "dev", dev]);
  sh("ip", ["link", "set", dev, "up"]);
  // Egress of the bench side = the child's downlink; egress of the child's eth0 = its uplink.
  if (link.down) sh("tc", ["qdisc", "add", "dev", dev, "root", ...tbf(link.down)]);
  if (link.up) inNs(pid, ["tc", "qdisc", "add", "dev", "eth0", "root", ...tbf(link.up)]);
  const read = (dir: "down" | "up") => {
    try {
      return dir === "down" ? sh("tc", ["-s", "qdisc", "show", "dev", dev]) : inNs(pid, ["tc", "-s", "qdisc", "show", "dev", "eth0"]);
    } catch {
      return "";
    }
  };
  return {
    cp, address, gateway, device: dev, link,
    shaped: () => ({
      down: link.down ? sentBytes(read("down")) : NaN,
      up: link.up ? sentBytes(read("up")) : NaN,
    }),
    dropped: () => ({
      down: link.down ? droppedPackets(read("down")) : NaN,
      up: link.up ? droppedPackets(read("up")) : NaN,
    }),
    describe: () => ({ down: read("down").split("\n")[0] ?? "", up: read("up").split("\n")[0] ?? "" }),
  };
}

/** Whether a process lives in a network namespace other than the bench's. */
export function ownNamespace(pid: number): boolean {
  const ns = netnsOf(pid);
  return ns !== "" && ns !== netnsOf("self");
}
