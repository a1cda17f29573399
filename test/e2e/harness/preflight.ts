/**
 * Preconditions of the end-to-end suite, checked before anything starts. A missing precondition is
 * a loud failure with the fix in its message — never a silent pass or a skip.
 */
import { existsSync, readFileSync } from "node:fs";

/** Where the harness expects Debian's Chromium. */
export const CHROMIUM_PATH = process.env.EDGESWARM_CHROMIUM ?? "/usr/bin/chromium";

/** Interfaces the private namespace made by scripts/netns.sh has (lo + the veth pair). */
const NAMESPACE_INTERFACES = new Set(["lo", "v0", "v1"]);

/**
 * Throws unless we run inside the private network namespace of scripts/netns.sh with Chromium
 * installed. WebRTC gathers candidates on every non-loopback interface, so outside the namespace
 * peer traffic could reach the machine's real network: refuse rather than risk it.
 *
 * @example
 * beforeAll(() => assertPreconditions());
 */
export function assertPreconditions(): void {
  if (process.env.EDGESWARM_NETNS !== "1") {
    throw new Error(
      "e2e: not inside the private network namespace. Run `node scripts/test.mjs e2e` " +
        "(it wraps vitest in scripts/netns.sh); WebRTC must never touch the real interfaces.",
    );
  }
  // /proc/net/dev is per network namespace (/sys/class/net is not: sysfs stays the host's).
  const ifaces = readFileSync("/proc/net/dev", "utf8")
    .split("\n")
    .slice(2)
    .map((l) => l.split(":")[0]!.trim())
    .filter(Boolean)
    .sort();
  const foreign = ifaces.filter((i) => !NAMESPACE_INTERFACES.has(i));
  if (foreign.length > 0 || !ifaces.includes("v0")) {
    throw new Error(
      `e2e: EDGESWARM_NETNS=1 but interfaces are [${ifaces.join(", ")}]; expected only lo, v0, v1. ` +
        "Run through scripts/netns.sh, which creates a fresh namespace.",
    );
  }
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `e2e: Chromium not found at ${CHROMIUM_PATH}. Install it: \`apt-get install -y chromium\` ` +
        "(or set EDGESWARM_CHROMIUM to its path).",
    );
  }
}
