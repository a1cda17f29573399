/**
 * Issue 11 item 8 (fill part): a total fill deadline besides the idle timeout. A real origin that
 * drips one byte every 500 ms never trips the idle timeout (2 s here); ORIGIN_FILL_DEADLINE_MS cuts
 * it, and what it sent is neither stored nor certified.
 */
import { describe, expect, it } from "vitest";
import { callFault, faultHits } from "./fault-client";

const DEADLINE = { ORIGIN_FILL_DEADLINE_MS: "1500", ORIGIN_TIMEOUT_MS: "2000" };

describe("fill deadline", () => {
  it("cuts an origin that drips bytes slower than the deadline allows, and stores nothing", async () => {
    const path = `/drip/${crypto.randomUUID()}.bin`;
    const first = await callFault(`/c/fault${path}`, undefined, DEADLINE);
    expect(first.res.status).toBe(200);
    expect(first.error).not.toBeNull();
    expect(first.bytes.byteLength).toBeGreaterThan(0); // it did drip: the idle timeout alone never fired
    expect(first.bytes.byteLength).toBeLessThan(1_000_000);
    const again = await callFault(`/c/fault${path}`, { method: "HEAD" }, DEADLINE);
    expect(again.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(await faultHits(path)).toBe(2);
  });

  it("rejects a deadline outside its bounds as bad-config", async () => {
    const r = await callFault(`/c/fault/ok/${crypto.randomUUID()}.bin`, undefined, { ORIGIN_FILL_DEADLINE_MS: "5" });
    expect(r.res.status).toBe(500);
    expect(JSON.parse(new TextDecoder().decode(r.bytes)).error.code).toBe("bad-config");
  });
});
