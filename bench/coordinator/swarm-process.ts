/**
 * Our coordinator under test: the real Worker bundle (`wrangler deploy --dry-run` output) with the
 * Swarm Durable Object, in Miniflare 4, hosted by this process. Miniflare spawns one workerd child;
 * the parent measures that workerd process (RSS, CPU), not this host. Listens on 127.0.0.1.
 *
 * argv: <scriptPath> <bindings JSON> <persist dir>
 *
 * Durable Object storage (SQLite) goes to <persist dir>, which the parent puts on tmpfs when it can:
 * the tracker keeps its state in RAM, so the object's storage should not pay for a disk either, and
 * the parent can read how many bytes of SQLite the swarm wrote per peer.
 */
import { dirname } from "node:path";
import { Miniflare } from "miniflare";
import type { ServerCommand, ServerReport } from "./load-protocol";

const send = (r: ServerReport) => process.send!(r);
const [scriptPath, bindingsJson, persistDir] = process.argv.slice(2);

// One fixed request.cf for every connection (all peers in one shard, same place: the ranking
// still computes proximity for every candidate).
const CF = { colo: "FRA", country: "DE", continent: "EU", latitude: "50.11090", longitude: "8.68213", asn: 64500, asOrganization: "bench" };

const mf = new Miniflare({
  host: "127.0.0.1",
  port: 0,
  cf: CF,
  durableObjectsPersist: persistDir!,
  workers: [
    {
      name: "edgeswarm",
      modules: true,
      scriptPath: scriptPath!,
      modulesRoot: dirname(scriptPath!),
      compatibilityDate: "2026-04-20",
      compatibilityFlags: ["nodejs_compat"],
      bindings: JSON.parse(bindingsJson!) as Record<string, string>,
      durableObjects: { SWARM: { className: "Swarm", useSQLite: true } },
    },
  ],
});
mf.ready.then(
  (url) => send({ type: "listening", port: Number(url.port) }),
  (e: unknown) => send({ type: "fatal", message: e instanceof Error ? e.message : String(e) }),
);
const stop = () => mf.dispose().finally(() => process.exit(0));
process.on("message", (m: ServerCommand) => {
  if (m.cmd === "stop") void stop();
});
process.on("disconnect", () => void stop());
