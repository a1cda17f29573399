/**
 * The coordinator's side of the site numbers: one call from its stats-flush / maintenance alarm
 * sends the object's cumulative totals and members online to its site's aggregator
 * (`site-stats.ts`). Nothing per chunk or per frame: the coordinator already batches `stats` frames
 * into that alarm, and this sends at most one report per object per {@link REPORT_INTERVAL_MS}
 * (memory only; after an eviction the next alarm simply reports again — reports are cumulative).
 *
 * The object knows its root, not its site: with one route the site is that route; with several,
 * the site whose aggregator the edge registered the root with (`knows`), asked once per root.
 */
import type { SwarmReport } from "./site-stats-model";
import { siteObjectName } from "./site-stats";

/** Shortest time between two reports of one coordinator object. */
export const REPORT_INTERVAL_MS = 10_000;
/** Bound of the in-memory maps below (one isolate may host many objects). */
const MAX_REMEMBERED = 10_000;

const lastReport = new Map<string, number>();
const siteOfRoot = new Map<string, string>();
let routesCache: { raw: string; sites: string[] } | null = null;

/**
 * Route prefixes from `ROUTES` (a JSON string, or an object as wrangler.toml may give it), longest
 * first (keys only; the Worker validates the rest).
 */
export function sitesOf(routes: unknown): string[] {
  const raw = typeof routes === "string" ? routes : JSON.stringify(routes ?? null);
  if (routesCache !== null && routesCache.raw === raw) return routesCache.sites;
  let sites: string[] = [];
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) sites = Object.keys(v).sort((a, b) => b.length - a.length);
  } catch {
    sites = [];
  }
  routesCache = { raw, sites };
  return sites;
}

function remember<V>(m: Map<string, V>, k: string, v: V): void {
  m.delete(k);
  m.set(k, v);
  if (m.size > MAX_REMEMBERED) m.delete(m.keys().next().value!);
}

type ReportEnv = Pick<Env, "ROUTES"> & { SITE_STATS?: Env["SITE_STATS"] };

async function siteFor(env: ReportEnv & { SITE_STATS: Env["SITE_STATS"] }, root: string): Promise<string | null> {
  const sites = sitesOf(env.ROUTES);
  if (sites.length <= 1) return sites[0] ?? null;
  const known = siteOfRoot.get(root);
  if (known) return known;
  for (const site of sites) {
    if (await env.SITE_STATS.get(env.SITE_STATS.idFromName(siteObjectName(site))).knows(root)) {
      remember(siteOfRoot, root, site);
      return site;
    }
  }
  return null; // not registered (yet): the next report asks again
}

/**
 * Sends the object's report to its site's aggregator, unless it reported less than
 * {@link REPORT_INTERVAL_MS} ago or no `SITE_STATS` binding exists. Never throws (an aggregator
 * outage must not disturb the swarm); returns whether a report was sent.
 * @example
 * // in the coordinator's alarm, after buffered stats reach SQLite:
 * await reportToSite(this.env, { root, shard, bytes: store.totals(), peersOnline: dir.peers.size }, now);
 */
export async function reportToSite(env: ReportEnv, report: SwarmReport, now: number): Promise<boolean> {
  try {
    const ns = env.SITE_STATS;
    if (!ns || report.root === "") return false;
    const key = `${report.root}:${report.shard}`;
    const last = lastReport.get(key);
    if (last !== undefined && now - last < REPORT_INTERVAL_MS && now >= last) return false;
    const site = await siteFor({ ...env, SITE_STATS: ns }, report.root);
    if (site === null) return false;
    remember(lastReport, key, now);
    await ns.get(ns.idFromName(siteObjectName(site))).ingestSwarm(site, report);
    return true;
  } catch (err) {
    console.warn("Swarm:siteReport", err);
    return false;
  }
}
