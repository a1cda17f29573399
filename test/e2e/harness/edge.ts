/**
 * The edge under test: the real Worker bundle (wrangler's own bundler, as `wrangler deploy` would
 * upload it) with its Durable Object, in Miniflare 4 started from Node. A second tiny worker serves
 * the test pages under `/__e2e/` on the same origin, because a service worker can only be registered
 * same-origin (and 127.0.0.1 is a secure context; the namespace's 10.99.0.1 would not be).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Miniflare, Response as MfResponse, type Request as MfRequest } from "miniflare";

/** Repository root (this file lives in test/e2e/harness/). */
export const REPO = resolve(import.meta.dirname, "../../..");
const PAGES_DIR = resolve(import.meta.dirname, "../pages");

/** The route prefix tests use: `/c/e2e/<path>` → `<origin><path>`. */
export const ROUTE = "/e2e/";

/**
 * The e2e edge's `SUPERNODE_KEY`. Set in this process's environment, so in-process Node supernodes
 * and spawned `edgeswarm-seed` processes (which inherit it) show it to `/m/` and may join as supernodes.
 */
export const E2E_SUPERNODE_KEY = "e2e-supernode-key-0123456789abcdef";
process.env.EDGESWARM_SUPERNODE_KEY ??= E2E_SUPERNODE_KEY;

/**
 * One fixed request.cf for every request (Miniflare's `cf` option applies a fixed object; all peers
 * of a test thus land in one shard, which is what the scenarios want).
 */
export const TEST_CF = {
  colo: "FRA",
  country: "DE",
  continent: "EU",
  city: "Frankfurt am Main",
  region: "Hesse",
  regionCode: "HE",
  postalCode: "60313",
  latitude: "50.11090",
  longitude: "8.68213",
  timezone: "Europe/Berlin",
  asn: 64500,
  asOrganization: "edgeswarm e2e",
  httpProtocol: "HTTP/1.1",
  clientTcpRtt: 1,
};

/** The dashboard token of the edge under test (`GET /dashboard?token=…`). */
export const E2E_DASHBOARD_TOKEN = "e2e-dashboard-token-0123456789abcdef";

/** Options of the edge under test (Worker vars; all strings, as in wrangler.toml). */
export interface EdgeOptions {
  originUrl: string;
  /** More ROUTES beside `/e2e/` → originUrl, e.g. `{ "/demo/": demoOrigin.url }` (the demo page). */
  extraRoutes?: Record<string, string>;
  /**
   * The `/e2e/` route's swarm scope (protocol/collection.ts): "item" unless given — most scenarios
   * test one item's swarm and read its `/swarm/<root>/stats`; "by-type" = the edge's default per
   * content type (images per route, media segments per stream), as the demo routes get.
   */
  scope?: "item" | "stream" | "route" | "by-type";
  vars?: Partial<Record<"CHUNK_SIZE" | "ICE_SERVERS" | "SHARD_BY" | "MAX_PEERS_PER_SHARD" | "TOKEN_TTL" | "ORIGIN_TIMEOUT_MS" | "PEER_KEY_REQUIRED" | "TURN_URLS" | "TURN_SECRET", string>>;
  /**
   * Keep the edge's Cache API contents on disk (a temporary folder, removed on close) so they
   * survive {@link TestEdge.restart}. Durable Object state is never persisted: a restart gives a
   * fresh coordinator, and peers must re-announce what they hold (the harder case for them).
   */
  persistCache?: boolean;
}

/** A running edge. */
export interface TestEdge {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  /** Edge URL of an origin path: `/gen/a/1.bin` → `http://127.0.0.1:<port>/c/e2e/gen/a/1.bin`. */
  contentUrl(originPath: string): string;
  /** `GET /swarm/<root>/stats` (the coordinator's stats RPC). */
  swarmStats(root: string, item?: string): Promise<unknown>;
  /**
   * `GET /m/e2e/<path>?<query>` from Node (default: this harness's own peer key, as the SDK sends
   * it): the manifest response, or the error body with its status.
   */
  manifest(originPath: string, query?: string): Promise<{ status: number; body: any }>;
  /** The Miniflare instance now running (a new one after {@link TestEdge.restart}). */
  readonly mf: Miniflare;
  /**
   * Stops workerd (every coordinator socket drops, as when an edge is redeployed or restarts) and
   * starts a new one on the same port. `downMs` keeps the port closed that long in between, so
   * clients see refused connections and must back off. Resolves when the new edge answers.
   */
  restart(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

function hashTree(h: ReturnType<typeof createHash>, dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) hashTree(h, p);
    else h.update(p).update(readFileSync(p));
  }
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, {
    cwd: REPO,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  });
  if (r.status !== 0) throw new Error(`e2e: ${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
}

/**
 * Builds the SDK bundle and the Worker bundle exactly as deploy does (`wrangler deploy --dry-run`),
 * cached by a hash of the sources so the eight test files bundle once. Returns the script path.
 */
export function bundleWorker(): string {
  run(process.execPath, ["scripts/build-client.mjs", "--quiet"], "scripts/build-client.mjs");
  const h = createHash("sha256");
  for (const d of ["functions", "durable", "protocol", "client"]) hashTree(h, join(REPO, d));
  h.update(readFileSync(join(REPO, "wrangler.toml")));
  const out = join(tmpdir(), "edgeswarm-e2e-bundle", h.digest("hex").slice(0, 16));
  const script = join(out, "index.js");
  if (!existsSync(script)) {
    mkdirSync(out, { recursive: true });
    run("npx", ["wrangler", "deploy", "--dry-run", "--outdir", out], "wrangler deploy --dry-run");
  }
  return script;
}

/** The tiny page worker: everything under /__e2e/ goes to Node (which reads test/e2e/pages/). */
const PAGES_WORKER = `export default { fetch(request, env) { return env.PAGES.fetch(request); } };`;

// Miniflare hands Node-function service bindings its own undici Request and wants its Response.
function servePage(request: MfRequest): MfResponse {
  const name = new URL(request.url).pathname.replace(/^\/__e2e\//, "");
  if (!/^[\w-]+\.(html|js)$/.test(name)) return new MfResponse("bad page name", { status: 400 });
  const file = join(PAGES_DIR, name);
  if (!existsSync(file)) return new MfResponse("no such page", { status: 404 });
  const type = name.endsWith(".html") ? "text/html; charset=utf-8" : "text/javascript; charset=utf-8";
  return new MfResponse(readFileSync(file), { headers: { "content-type": type, "cache-control": "no-store" } });
}

/**
 * Starts the Worker + Durable Object in Miniflare on 127.0.0.1, with ROUTES `/e2e/` → the origin.
 *
 * @example
 * const edge = await startTestEdge({ originUrl: origin.url });
 * await fetch(edge.contentUrl("/gen/a/1024.bin"));
 */
export async function startTestEdge(opts: EdgeOptions): Promise<TestEdge> {
  const scriptPath = bundleWorker();
  const vars = {
    CHUNK_SIZE: "262144",
    ICE_SERVERS: "[]",
    SHARD_BY: "continent",
    MAX_PEERS_PER_SHARD: "2000",
    TOKEN_TTL: "600",
    ORIGIN_TIMEOUT_MS: "5000",
    // Every in-repo client the suite runs (SDK default identity, supernode CLI, Node peers, demo
    // page, this harness) sends ?key=: the suite proves none of them needs ?peer=.
    PEER_KEY_REQUIRED: "1",
    ...opts.vars,
  };
  const cacheDir = opts.persistCache ? mkdtempSync(join(tmpdir(), "edgeswarm-e2e-cache-")) : undefined;
  const make = (port: number): Miniflare => new Miniflare({
    host: "127.0.0.1",
    port,
    ...(cacheDir ? { cachePersist: cacheDir } : {}),
    cf: TEST_CF,
    workers: [
      {
        name: "edgeswarm",
        modules: true,
        scriptPath,
        // Module names are paths relative to modulesRoot; the bundle lives in tmpdir, outside cwd.
        modulesRoot: dirname(scriptPath),
        compatibilityDate: "2026-04-20",
        compatibilityFlags: ["nodejs_compat"],
        bindings: {
          ...vars,
          ROUTES: JSON.stringify({
            [ROUTE]: opts.scope === "by-type" ? opts.originUrl : { origin: opts.originUrl, scope: opts.scope ?? "item" },
            ...opts.extraRoutes,
          }),
          TOKEN_SECRET: "e2e-token-secret-0123456789abcdef0123456789abcdef",
          // Supernodes of the e2e runs show it (supernode/node-runtime.ts reads $EDGESWARM_SUPERNODE_KEY).
          SUPERNODE_KEY: E2E_SUPERNODE_KEY,
          DASHBOARD_TOKEN: E2E_DASHBOARD_TOKEN,
        },
        durableObjects: { SWARM: { className: "SwarmCoordinator", useSQLite: true }, SITE_STATS: { className: "SiteStats", useSQLite: true }, FILL_LOCK: { className: "FillLock", useSQLite: true } },
      },
      {
        name: "e2e-pages",
        modules: true,
        script: PAGES_WORKER,
        compatibilityDate: "2026-04-20",
        routes: ["*/__e2e/*"],
        serviceBindings: { PAGES: async (req) => servePage(req) },
      },
    ],
  });
  let mf = make(0);
  const ready = await mf.ready;
  const url = ready.origin;
  const port = Number(ready.port);
  return {
    url,
    get mf() {
      return mf;
    },
    contentUrl: (p) => `${url}/c${ROUTE}${p.replace(/^\//, "")}`,
    async swarmStats(root, item) {
      const r = await fetch(`${url}/swarm/${root}/stats${item ? `?item=${item}` : ""}`);
      const text = await r.text();
      if (!r.ok) throw new Error(`GET /swarm/${root}/stats → ${r.status}: ${text}`);
      return JSON.parse(text);
    },
    async manifest(p, query = "key=e2e-harness-node-key-0001") {
      const r = await fetch(`${url}/m${ROUTE}${p.replace(/^\//, "")}?${query}`);
      const text = await r.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON: keep the text for the assertion message */
      }
      return { status: r.status, body };
    },
    async restart(downMs = 0) {
      await mf.dispose();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      mf = make(port);
      await mf.ready;
    },
    async close() {
      await mf.dispose();
      if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
    },
  };
}
