/**
 * Worker and Durable Object tests, run inside workerd by @cloudflare/vitest-pool-workers.
 * The origin is stubbed in-isolate per test (`vi.spyOn(globalThis, "fetch")`), so ROUTES points
 * at a name that never resolves: a test that forgets its stub fails instead of reaching a network.
 */
import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";

export default defineConfig({
  plugins: [
    cloudflareTest({
      main: "./functions/index.ts",
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          TOKEN_SECRET: "test-secret-not-for-production",
          // The credential of configured supernodes (test/durable/swarm-attacks.test.ts).
          SUPERNODE_KEY: "test-supernode-key-not-for-production",
          ROUTES: JSON.stringify({
            "/assets/": "https://origin.test/assets/",
            "/other/": "https://other-origin.test/files/",
          }),
          ORIGIN_TIMEOUT_MS: "2000",
          // Most tests name fixed peer ids (?peer=) for determinism; test/functions/peer-key.test.ts
          // covers the production default (wrangler.toml: "1").
          PEER_KEY_REQUIRED: "0",
          DASHBOARD_TOKEN: "test-dashboard-token-0123456789",
          DASHBOARD_TOKENS: JSON.stringify({ "/other/": "test-token-for-other-route-only" }),
        },
      },
    }),
  ],
  test: {
    include: ["test/functions/**/*.test.ts", "test/durable/**/*.test.ts"],
    // A real Node HTTP origin that drops sockets mid-body (test/functions/truncated-origin.test.ts).
    globalSetup: ["./test/functions/fault-origin/global-setup.ts"],
    testTimeout: 30_000,
  },
});
