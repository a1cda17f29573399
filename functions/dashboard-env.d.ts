// The dashboard's bindings and secrets (wrangler.toml declares SITE_STATS; the rest are optional and
// not in [vars], so `wrangler types` cannot see them): declared here.
declare namespace Cloudflare {
  interface Env {
    /** Per-site aggregators (durable/site-stats.ts), one object per route prefix. */
    SITE_STATS: DurableObjectNamespace<import("../durable/site-stats").SiteStats>;
    /** Secret: a token that reads every site's dashboard. `npm start` writes a development value to `.dev.vars`. */
    DASHBOARD_TOKEN?: string;
    /** Optional secret: JSON `{"<route prefix>": "<token>"}`, tokens that read one route each. */
    DASHBOARD_TOKENS?: string;
    /** Optional Workers Analytics Engine dataset: accepted increments are also written there. */
    DASHBOARD_ANALYTICS?: AnalyticsEngineDataset;
  }
}
