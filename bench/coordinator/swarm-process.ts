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
import { writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { Miniflare } from "miniflare";
import WebSocket from "ws";
import type { ServerCommand, ServerReport } from "./load-protocol";

const send = (r: ServerReport): void => void process.send!(r);
const [scriptPath, bindingsJson, persistDir] = process.argv.slice(2);

// One fixed request.cf for every connection (all peers in one shard, same place: the ranking
// still computes proximity for every candidate).
const CF = { colo: "FRA", country: "DE", continent: "EU", latitude: "50.11090", longitude: "8.68213", asn: 64500, asOrganization: "bench" };

// Diagnostics: BENCH_CPU_PROFILE=<file.cpuprofile> records a V8 CPU profile of the Worker's isolate
// (the Durable Object runs in it) from start to stop, through workerd's inspector (DevTools
// protocol); bench/coordinator/profile-summary.ts reads it. Off by default: the inspector costs CPU.
const profilePath = process.env.BENCH_CPU_PROFILE;

const mf = new Miniflare({
  host: "127.0.0.1",
  ...(profilePath ? { inspectorPort: 0 } : {}),
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
      durableObjects: { SWARM: { className: "SwarmCoordinator", useSQLite: true } },
      ...(profilePath ? { unsafeInspectorProxy: true } : {}),
    },
  ],
});
/** A minimal DevTools-protocol client: `call(method, params)` → result. */
async function devtools(url: string): Promise<{ call(method: string, params?: object): Promise<unknown> }> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
  let next = 1;
  const waiting = new Map<number, (v: unknown) => void>();
  ws.on("message", (d) => {
    const m = JSON.parse(d.toString()) as { id?: number; result?: unknown };
    if (m.id !== undefined) waiting.get(m.id)?.(m.result), waiting.delete(m.id);
  });
  return {
    call: (method, params = {}) => new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    }),
  };
}

mf.ready.then(
  (url) => send({ type: "listening", port: Number(url.port) }),
  (e: unknown) => send({ type: "fatal", message: e instanceof Error ? e.message : String(e) }),
);

/** `profile` commands: start recording, or stop and write the file (answered with `profiled`). */
let profiler: Awaited<ReturnType<typeof devtools>> | null = null;
async function profile(on: boolean): Promise<void> {
  if (!profilePath) return send({ type: "profiled", path: null });
  if (on) {
    const inspector = await mf.getInspectorURL();
    profiler ??= await devtools(`ws://${inspector.host}/edgeswarm`);
    await profiler.call("Profiler.enable");
    await profiler.call("Profiler.setSamplingInterval", { interval: 200 });
    await profiler.call("Profiler.start");
    return send({ type: "profiled", path: null });
  }
  const r = (await profiler!.call("Profiler.stop")) as { profile: unknown };
  writeFileSync(profilePath, JSON.stringify(r.profile));
  send({ type: "profiled", path: profilePath });
}

const stop = () => mf.dispose().finally(() => process.exit(0));
process.on("message", (m: ServerCommand) => {
  if (m.cmd === "stop") void stop();
  if (m.cmd === "profile") profile(m.on).catch((e: unknown) => send({ type: "fatal", message: `profile: ${String(e)}` }));
});
process.on("disconnect", () => void stop());
