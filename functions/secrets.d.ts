// Secrets are not in wrangler.toml, so `wrangler types` cannot see them: declared here.
declare namespace Cloudflare {
  interface Env {
    /** HMAC key for swarm join tokens. `wrangler secret put TOKEN_SECRET`; `.dev.vars` in development. */
    TOKEN_SECRET: string;
    /** Optional var, absent from wrangler.toml [vars] by default: "1" = `/swarm/<root>/stats` needs a join token. */
    STATS_REQUIRE_TOKEN?: string;
    /**
     * Optional secret: the credential of configured supernodes (`wrangler secret put SUPERNODE_KEY`).
     * `/m/` mints a join token that may say `kind: "supernode"` only for a request showing it in
     * `X-Edgeswarm-Supernode-Key`. Unset: nobody joins as a supernode.
     */
    SUPERNODE_KEY?: string;
  }
}
