/**
 * The site aggregator: one Durable Object per site (route prefix), named `site:<prefix>`. It takes
 * batched numbers from two producers and never per-chunk traffic:
 * - the edge Worker's `/c/` and `/m/` paths (`functions/dashboard-edge-counters.ts`): cache hits,
 *   misses, edge and origin bytes, manifests issued per root — one call per site per isolate per
 *   few seconds;
 * - the swarm coordinators (`site-stats-report.ts`, called from the coordinator's stats-flush and
 *   maintenance alarm): each object's cumulative byte totals and members online — at most one call
 *   per object per `REPORT_INTERVAL_MS`.
 * Peer byte claims are bounded by what the edge witnessed (`site-stats-bounds.ts`). The series,
 * top lists and ledger live in SQLite (`site-stats-store.ts`); an alarm rolls minutes into hours
 * and applies retention. When an Analytics Engine dataset is bound as `DASHBOARD_ANALYTICS`, every
 * batch, report and accepted increment is also written there (`writeDataPoint`, layout in
 * `site-stats-analytics.ts`): the dashboard can read its series from there (`?source=analytics`).
 */
import { DurableObject } from "cloudflare:workers";
import {
  type EdgeBatch, type SiteSnapshot, type SiteStatsLimits, type SwarmReport,
  DEFAULT_SITE_LIMITS, counter, hourOf,
} from "./site-stats-model";
import { type AnalyticsKind, MAX_POINTS_PER_CALL, analyticsPoint } from "./site-stats-analytics";
import { SiteStatsStore } from "./site-stats-store";

/** Roll-up and retention run this often while the object holds data. */
export const MAINTENANCE_INTERVAL_MS = 3_600_000;

/** The object name of a site's aggregator. */
export const siteObjectName = (site: string): string => `site:${site}`;

/**
 * Site aggregator Durable Object (class `SiteStats`, binding `SITE_STATS`).
 * @example
 * const stub = env.SITE_STATS.get(env.SITE_STATS.idFromName(siteObjectName("/demo/")));
 * await stub.ingestEdge("/demo/", batch);
 * const snap = await stub.snapshot("/demo/", Date.now() - 3_600_000);
 */
export class SiteStats extends DurableObject<Env> {
  /** Tunables (tests override them on a live instance). */
  limits: SiteStatsLimits = { ...DEFAULT_SITE_LIMITS };
  /** Injected clock (tests: retention and roll-ups without waiting). */
  now: () => number = () => Date.now();
  readonly #store: SiteStatsStore;
  /** Whether an alarm is known to be set (null: unknown since the wake). */
  #armed: boolean | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new SiteStatsStore(ctx.storage.sql, () => this.limits);
  }

  /** Edge-measured counters of one site (deltas since the producer's last batch). */
  async ingestEdge(site: string, batch: EdgeBatch): Promise<void> {
    const now = this.now();
    const fetches = this.#store.addEdge(batch, now);
    this.#sink(site, "edge", "", [...[batch.edgeBytes, batch.originBytes, batch.hits, batch.misses, batch.other].map(counter), fetches]);
    this.#drainAccepted(site);
    await this.#ensureAlarm(now);
  }

  /** One coordinator object's cumulative report. */
  async ingestSwarm(site: string, report: SwarmReport): Promise<void> {
    const now = this.now();
    const added = this.#store.addSwarm(report, now);
    if (added) {
      const h = added.health;
      this.#sink(site, "health", "", [h.hashFailures, h.bannedPeers, h.edgeLaneBytes, h.deadlineFallbackBytes]);
      this.#sink(site, "gauges", "", [added.peersOnline, added.swarmsActive], true);
    }
    this.#drainAccepted(site);
    await this.#ensureAlarm(now);
  }

  /** Whether the edge registered this root under this site (a coordinator asks once, to find its site). */
  async knows(root: string): Promise<boolean> {
    return this.#store.knows(root);
  }

  /** The site's numbers; the series from `since` on (Unix ms). */
  async snapshot(site: string, since: number): Promise<SiteSnapshot> {
    const now = this.now();
    const top = this.#store.top(now);
    return {
      site, now,
      totals: this.#store.totals(0),
      last24h: this.#store.totals(now - 24 * 3_600_000),
      ...this.#store.gauges(now),
      series: this.#store.series(since),
      topByBytes: top.byBytes,
      topByPeers: top.byPeers,
    };
  }

  /** Roll-up and retention; re-armed while data is kept. */
  override async alarm(): Promise<void> {
    try {
      const now = this.now();
      this.#armed = false;
      if (this.#store.maintain(now)) await this.#arm(now);
    } catch (err) {
      console.error("SiteStats:alarm", err);
    }
  }

  async #ensureAlarm(now: number): Promise<void> {
    if (this.#armed === true) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.#arm(now);
    this.#armed = true;
  }

  async #arm(now: number): Promise<void> {
    // Just past the next full hour: the roll-up works on whole hours.
    await this.ctx.storage.setAlarm(Math.max(now + 60_000, hourOf(now) + MAINTENANCE_INTERVAL_MS + 5_000));
    this.#armed = true;
  }

  #drainAccepted(site: string): void {
    const accepted = this.#store.accepted.splice(0);
    for (const a of accepted.slice(0, MAX_POINTS_PER_CALL)) this.#sink(site, "peers", a.path, [a.peerBytes, a.uploaded]);
    const rest = accepted.slice(MAX_POINTS_PER_CALL);
    if (rest.length > 0) this.#sink(site, "peers", "*", [rest.reduce((n, a) => n + a.peerBytes, 0), rest.reduce((n, a) => n + a.uploaded, 0)]);
  }

  /**
   * Analytics Engine, when bound: one data point (`site-stats-analytics.ts` layout) per batch, per
   * report's health growth and gauges, per accepted increment. All-zero counters are not written;
   * gauges are (`always`: a site going quiet must read 0, not its last non-zero value).
   */
  #sink(site: string, kind: AnalyticsKind, path: string, doubles: number[], always = false): void {
    const ae = this.env.DASHBOARD_ANALYTICS;
    if (!ae || (!always && doubles.every((d) => !d))) return;
    try {
      ae.writeDataPoint(analyticsPoint(site, kind, path, doubles));
    } catch (err) {
      console.warn("SiteStats:analytics", err); // a production sink must never break the counters
    }
  }
}
