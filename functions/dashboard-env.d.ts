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
    /** Optional Workers Analytics Engine dataset: batches, reports and accepted increments are also written there. */
    DASHBOARD_ANALYTICS?: AnalyticsEngineDataset;
    /** Optional: reading that dataset back (`/dashboard/data?source=analytics`, functions/dashboard-analytics.ts). */
    DASHBOARD_ANALYTICS_ACCOUNT_ID?: string;
    /** Optional secret: an API token with Account Analytics: Read. */
    DASHBOARD_ANALYTICS_API_TOKEN?: string;
    /** Optional: the dataset's name (as bound in wrangler.toml). */
    DASHBOARD_ANALYTICS_DATASET?: string;
    /** Optional: another SQL API endpoint (default: api.cloudflare.com's for the account). */
    DASHBOARD_ANALYTICS_SQL_URL?: string;
  }
}
