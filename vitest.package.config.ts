/**
 * The `package` suite: packs the npm tarball and uses it as a consumer would (install, bundle,
 * type-check, run the CLI, build the examples). Node; needs the npm registry for the examples'
 * frameworks (React, Vite, Next.js), nothing else from the network.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/package/**/*.test.ts"],
    environment: "node",
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // One tarball, one scratch folder: the files share them through test/package/packed.ts.
    fileParallelism: false,
  },
});
