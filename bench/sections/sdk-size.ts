/**
 * Section 4 — SDK size: minified + gzipped bytes of the browser SDK (dist/sdk/edgeswarm.js) and of the
 * service worker (dist/sdk/sw.js), as built by scripts/build-client.mjs (esbuild, minified, ES2022),
 * against the budget. Also brotli, since the edge serves `br` to browsers that accept it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { Row } from "../lib/report";
import type { Section } from "../lib/section";

/** Budget for the SDK, gzip level 9 bytes (issue 7: ≤ 12 KB gz). */
export const SDK_BUDGET_GZ = 12 * 1024;
/** Soft budget for the service worker (not in the issue; set so that growth shows up). */
export const SW_BUDGET_GZ = 3 * 1024;

const kb = (n: number) => `${(n / 1024).toFixed(2)} KB`;

function measure(path: string) {
  const buf = readFileSync(path);
  return {
    min: buf.length,
    gz: gzipSync(buf, { level: 9 }).length,
    br: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

export const sdkSizeSection: Section = {
  id: "sdk-size",
  number: 4,
  title: "SDK size",
  budgetS: { quick: 30, full: 30 },
  async run(ctx) {
    // Rebuild so the figure is of the current sources even when bench/index.mjs is run directly
    // (npm run bench's prebench builds too; a second esbuild run costs ~100 ms).
    const b = spawnSync(process.execPath, ["scripts/build-client.mjs", "--quiet"], { stdio: "inherit", timeout: 20_000 });
    if (b.status !== 0) throw new Error(`scripts/build-client.mjs failed (${b.status})`);
    const sdk = measure("dist/sdk/edgeswarm.js");
    const sw = measure("dist/sdk/sw.js");
    ctx.log(`sdk ${sdk.gz} B gz, sw ${sw.gz} B gz`);
    const row = (metric: string, m: typeof sdk, budget: number, target: string): Row => ({
      metric,
      value: `${kb(m.gz)} gz (${kb(m.min)} min, ${kb(m.br)} br)`,
      baseline: `budget ${kb(budget)} gz`,
      ratio: `${(m.gz / budget).toFixed(2)}× budget`,
      target,
      status: m.gz <= budget ? "pass" : "fail",
    });
    const tiny = sdk.min < 1024;
    return {
      rows: [
        { ...row("browser SDK (dist/sdk/edgeswarm.js)", sdk, SDK_BUDGET_GZ, "≤ 12 KB gz"), ...(tiny ? { status: "pending" as const } : {}) },
        { ...row("service worker (dist/sdk/sw.js)", sw, SW_BUDGET_GZ, "≤ 3 KB gz (soft)"), ...(sw.min < 200 ? { status: "pending" as const } : {}) },
      ],
      notes: [
        "Sizes of the files scripts/build-client.mjs writes (esbuild bundle, minified, ES2022); gzip level 9, brotli quality 11. The baseline is the budget.",
        ...(tiny ? ["The SDK bundle is under 1 KB: client/ is still a placeholder, so this figure says nothing yet."] : []),
      ],
      data: { sdk, sw, budgets: { sdkGz: SDK_BUDGET_GZ, swGz: SW_BUDGET_GZ } },
    };
  },
};
