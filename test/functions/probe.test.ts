import { it } from "vitest";
import { callFault, faultHits } from "./fault-client";
it("before/after", { timeout: 300_000 }, async () => {
  const size = 8 * 1024 * 1024;
  for (const [label, extra] of [["no lock", { FILL_LOCK: undefined, ORIGIN_TIMEOUT_MS: "15000" }], ["lock", { ORIGIN_TIMEOUT_MS: "15000" }]] as const) {
    const path = `/slow/${size}/${crypto.randomUUID()}.bin`;
    await Promise.all(Array.from({ length: 20 }, () => callFault(`/c/fault${path}`, undefined, extra as any)));
    console.log("MEASURE", label, "origin fetches", await faultHits(path));
  }
});
