/**
 * End-to-end tests: real Chromium, real WebRTC, the Worker and Durable Object in Miniflare, a real
 * origin. Run only inside the private network namespace made by scripts/netns.sh (see test/e2e/).
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
