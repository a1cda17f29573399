/**
 * The edge's own numbers for the dashboard, counted in the Worker isolate and sent to each site's
 * aggregator in batches (no Durable Object call per request): `/c/` cache hits and misses, bytes the
 * edge sent, bytes it fetched from the origin, and, from `/m/`, the manifests it issued per root (the
 * bound on what peers may claim, `durable/site-stats-bounds.ts`) and the item bytes some `/m/`
 * answers carry (a cold item inline, a hot manifest's lead chunks).
 *
 * A batch is sent when it is {@link FLUSH_MS} old at the end of a request, at once when it holds a
 * root this isolate never registered (a coordinator asks its site's aggregator about it), and before
 * the dashboard reads. There are no timers: a Worker cannot run code after its last request, so the
 * tail of a quiet isolate waits for its next request (and is lost if the isolate is evicted first —
 * the dashboard under-counts, never over-counts).
 */
import type { MiddlewareHandler } from "hono";
import { type EdgeBatch, MAX_BATCH_FETCHES, MAX_BATCH_PATHS, counter, emptyEdgeBatch } from "../durable/site-stats-model";
import { siteObjectName } from "../durable/site-stats";
import { MANIFEST_LEAD_HEADER, MANIFEST_PENDING_HEADER, parseManifestLead } from "../protocol/manifest";
import { type EdgeContext, type EdgeEnv, localPath } from "./edge-context";

/** Largest age of a batch at the end of a request before it is sent. */
export const FLUSH_MS = 5000;
/** Largest manifest body parsed for its root and size (larger ones are counted without them). */
const MAX_MANIFEST_PARSE = 8 * 1024 * 1024;
const MAX_KNOWN_ROOTS = 50_000;

type Ns = Env["SITE_STATS"];

/**
 * Batches per site, for one isolate.
 * @example
 * const counters = new EdgeCounters(() => Date.now());
 * counters.count("/demo/", { kind: "hit", edgeBytes: 1024 });
 * await counters.flush(env.SITE_STATS);
 */
export class EdgeCounters {
  #batches = new Map<string, EdgeBatch>();
  #since = 0;
  #urgent = false;
  readonly #registered = new Set<string>();

  constructor(readonly now: () => number = () => Date.now()) {}

  /** Counts one `/c/` response. */
  count(site: string, r: { outcome: "hit" | "miss" | "other"; path: string; edgeBytes: number; originBytes: number }): void {
    const b = this.#batch(site);
    b[r.outcome === "hit" ? "hits" : r.outcome === "miss" ? "misses" : "other"]++;
    b.edgeBytes += counter(r.edgeBytes);
    b.originBytes += counter(r.originBytes);
    if (r.edgeBytes > 0 && (r.path in b.paths || Object.keys(b.paths).length < MAX_BATCH_PATHS)) b.paths[r.path] = (b.paths[r.path] ?? 0) + counter(r.edgeBytes);
  }

  /** Counts one manifest issued (`/m/` 200); `originBytes` when the edge filled it from the origin. */
  fetched(site: string, m: { root: string; path: string; size: number; originBytes: number }): void {
    const b = this.#batch(site);
    b.originBytes += counter(m.originBytes);
    const f = b.fetches[m.root];
    if (f) f.count++;
    else if (Object.keys(b.fetches).length < MAX_BATCH_FETCHES) b.fetches[m.root] = { path: m.path, size: counter(m.size), count: 1 };
    else this.#urgent = true;
    if (!this.#registered.has(m.root)) {
      this.#urgent = true;
      if (this.#registered.size >= MAX_KNOWN_ROOTS) this.#registered.clear();
      this.#registered.add(m.root);
    }
  }

  /** Whether a batch should be sent now. */
  due(): boolean {
    return this.#batches.size > 0 && (this.#urgent || this.now() - this.#since >= FLUSH_MS);
  }

  /** Sends every pending batch (one call per site). A failed send is dropped and logged. */
  async flush(ns: Ns | undefined): Promise<void> {
    const batches = this.#batches;
    this.#batches = new Map();
    this.#urgent = false;
    if (!ns) return;
    await Promise.all([...batches].map(([site, b]) =>
      ns.get(ns.idFromName(siteObjectName(site))).ingestEdge(site, b).catch((err: unknown) => console.warn("dashboard:flush", err))));
  }

  #batch(site: string): EdgeBatch {
    let b = this.#batches.get(site);
    if (!b) {
      if (this.#batches.size === 0) this.#since = this.now();
      this.#batches.set(site, (b = emptyEdgeBatch()));
    }
    return b;
  }
}

/** This isolate's counters (the dashboard routes flush them before reading). */
export const edgeCounters = new EdgeCounters();

/** The site of a public path (`/demo/a.bin`): its route prefix (the table is sorted longest first). */
const siteOfPath = (c: EdgeContext, path: string): string | undefined => c.var.config.routes.find((r) => path.startsWith(r.prefix))?.prefix;

const lengthOf = (h: Headers): number => counter(Number(h.get("content-length") ?? 0));
/** The full size of a 206 (`Content-Range: bytes a-b/N`), else the body length. */
const fullSizeOf = (status: number, h: Headers): number => {
  const m = status === 206 ? /\/(\d+)$/.exec(h.get("content-range") ?? "") : null;
  return m ? counter(Number(m[1])) : lengthOf(h);
};

const outcomeOf = (cache: string | null): "hit" | "miss" | "other" => (cache === "HIT" ? "hit" : cache === "MISS" ? "miss" : "other");

/** The first `limit` bytes of a body (the rest is cancelled, never buffered: a lead answer carries item bytes after its JSON). */
async function readHead(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let got = 0;
  try {
    while (got < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      got += value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
  const out = new Uint8Array(Math.min(got, limit));
  let at = 0;
  for (const p of parts) {
    out.set(p.subarray(0, out.byteLength - at), at);
    at += Math.min(p.byteLength, out.byteLength - at);
    if (at >= out.byteLength) break;
  }
  return out;
}

function parseJson(b: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(b));
  } catch {
    return null;
  }
}

/** Counts one finished `/c/` or `/m/` response. */
async function observe(c: EdgeContext, local: string, counters: EdgeCounters): Promise<void> {
  const kind = local.slice(0, 3);
  const path = local.slice(2);
  const site = siteOfPath(c, path);
  if (!site) return;
  const res = c.res;
  const cache = res.headers.get("x-edgeswarm-cache");
  if (kind === "/c/") {
    if (res.status >= 400 && cache === null) return; // refused before the cache (bad path, method)
    const ok = res.status === 200 || res.status === 206;
    const edgeBytes = ok && c.req.method === "GET" ? lengthOf(res.headers) : 0;
    // A miss fills the whole object from the origin (unless it joined another's fill or resumed a
    // cut one: the route says how much it fetched); a pass-through body is the origin's.
    const known = c.get("originBytes");
    const originBytes = cache === "MISS" ? known ?? fullSizeOf(res.status, res.headers) : cache === "BYPASS" ? edgeBytes : 0;
    counters.count(site, { outcome: outcomeOf(cache), path, edgeBytes, originBytes });
    return;
  }
  if (res.status === 202 && cache === "MISS") {
    // A cold /m/ answers "pending" (202) and fills the object from the origin in the background.
    // (The route says how much this request fetched: 0 when it joined another's fill.)
    const pending = (await res.clone().json().catch(() => null)) as { size?: unknown } | null;
    counters.count(site, { outcome: "miss", path, edgeBytes: 0, originBytes: c.get("originBytes") ?? counter(pending?.size) });
    return;
  }
  if (res.status !== 200) return;
  if (res.headers.has(MANIFEST_PENDING_HEADER)) {
    // `?inline=1` on a cold item: the item itself, as /c/ would send it (a miss fills it from the origin).
    const edgeBytes = lengthOf(res.headers);
    counters.count(site, { outcome: outcomeOf(cache), path, edgeBytes, originBytes: cache === "MISS" ? c.get("originBytes") ?? edgeBytes : 0 });
    return;
  }
  // `?lead=n` on a hot item: the manifest JSON, then the item's first chunks (edge bytes).
  const lead = parseManifestLead(res.headers.get(MANIFEST_LEAD_HEADER));
  if (lead) counters.count(site, { outcome: outcomeOf(cache), path, edgeBytes: lead.lead, originBytes: 0 });
  const jsonBytes = lead ? lead.json : lengthOf(res.headers) || MAX_MANIFEST_PARSE;
  if (jsonBytes > MAX_MANIFEST_PARSE || res.body === null) return;
  const body = parseJson(await readHead(res.clone().body!, jsonBytes)) as { manifest?: { root?: unknown; size?: unknown }; join?: { swarm?: unknown } } | null;
  const root = body?.manifest?.root;
  if (typeof root !== "string" || !/^[0-9a-f]{64}$/.test(root)) return;
  const size = counter(body?.manifest?.size);
  counters.fetched(site, { root, path, size, originBytes: cache === "MISS" ? size : 0 });
  // An item of a collection swarm (a stream's segments, a route's images): its peers report to the
  // collection's coordinator, under the collection's id. Registering that id too lets the site's
  // aggregator accept those reports, bounded by the fetches of the collection's items (functions/
  // swarm-scope.ts; durable/site-stats-store.ts accepts claims only for roots the edge issued).
  const swarm = body?.join?.swarm;
  if (typeof swarm === "string" && swarm !== root && /^[0-9a-f]{64}$/.test(swarm)) {
    counters.fetched(site, { root: swarm, path: `${path.slice(0, path.lastIndexOf("/") + 1)}*`, size, originBytes: 0 });
  }
}

/**
 * Middleware for `/c/*` and `/m/*`: counts each response after the route answered, and sends due
 * batches with `waitUntil` (never delaying the response).
 * @example
 * app.use("*", dashboardCounters());
 */
export const dashboardCounters = (counters: EdgeCounters = edgeCounters): MiddlewareHandler<EdgeEnv> =>
  async function dashboardCounters(c, next) {
    await next();
    // Unset when the configuration itself failed (nothing was served).
    if (c.var.config === undefined || c.var.mount === undefined) return;
    const local = localPath(c);
    if (!local.startsWith("/c/") && !local.startsWith("/m/")) return;
    c.executionCtx.waitUntil(
      observe(c, local, counters)
        .then(() => (counters.due() ? counters.flush(c.env.SITE_STATS) : undefined))
        .catch((err: unknown) => console.warn("dashboard:count", err)),
    );
  };
