/** Unit tests that run in Node: client SDK logic (with injected transports and time), simulator. */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/client/**/*.test.ts", "test/protocol/**/*.test.ts", "test/sim/**/*.test.ts", "test/supernode/**/*.test.ts"],
    environment: "node",
    testTimeout: 30_000,
  },
});
