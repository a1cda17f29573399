/**
 * Issue 13 item 2: one origin fetch per object per fill. Concurrent misses join the fill in
 * progress through the per-object fill lock and stream from it (from the first byte, as the
 * leader reads the origin), against a real Node origin that counts its requests.
 */
import { describe, expect, it } from "vitest";
import { callFault, faultHits, openFault } from "./fault-client";
import { faultBytes } from "./fault-origin/server";

const MiB = 1024 * 1024;
const digest = async (b: Uint8Array) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>))].join(",");

describe("fill lock", () => {
  it("20 concurrent misses for an 8 MiB object: exactly 1 origin fetch, 20 identical bodies", { timeout: 120_000 }, async () => {
    // The `slow` fault writes 64 KiB pieces with a pause, so all 20 arrive while the fill runs.
    const size = 8 * MiB;
    const path = `/slow/${size}/${crypto.randomUUID()}.bin`;
    const want = await digest(faultBytes(size));
    // The production idle timeout: 20 bodies pumped by one isolate on a loaded 2-core machine can
    // delay a read past the suite's 2 s (that is CPU starvation, not an idle origin).
    const results = await Promise.all(Array.from({ length: 20 }, () => callFault(`/c/fault${path}`, undefined, { ORIGIN_TIMEOUT_MS: "15000" })));
    expect(await faultHits(path)).toBe(1);
    for (const r of results) {
      expect(r.res.status).toBe(200);
      expect(r.error).toBeNull();
      expect(r.bytes.byteLength).toBe(size);
      expect(await digest(r.bytes)).toBe(want);
    }
    // And it is stored: the next request is a hit.
    const hit = await callFault(`/c/fault${path}`, { method: "HEAD" });
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(await faultHits(path)).toBe(1);
  });

  it("concurrent /c/ misses and /m/ manifest requests (pending and inline) of one cold object share 1 origin fetch", { timeout: 120_000 }, async () => {
    const size = 2 * MiB;
    const path = `/slow/${size}/${crypto.randomUUID()}.bin`;
    const want = await digest(faultBytes(size));
    const vars = { ORIGIN_TIMEOUT_MS: "15000" };
    const content = Array.from({ length: 8 }, () => callFault(`/c/fault${path}`, undefined, vars));
    const pending = Array.from({ length: 6 }, (_, i) => callFault(`/m/fault${path}?peer=mixed-pending-${i}`, undefined, vars));
    const inline = Array.from({ length: 6 }, (_, i) => callFault(`/m/fault${path}?peer=mixed-inline-${i}&inline=1`, undefined, vars));
    const [c, m, n] = await Promise.all([Promise.all(content), Promise.all(pending), Promise.all(inline)]);
    expect(await faultHits(path)).toBe(1);
    for (const r of [...c, ...n]) {
      expect(r.res.status).toBe(200);
      expect(r.error).toBeNull();
      expect(await digest(r.bytes)).toBe(want);
    }
    for (const r of m) expect(r.res.status).toBe(202);
    // The fill certified the object: the manifest now, still without a second origin fetch.
    const done = await callFault(`/m/fault${path}?peer=mixed-after`, undefined, vars);
    expect(done.res.status).toBe(200);
    expect(await faultHits(path)).toBe(1);
  });

  it("a second GET right after the first body ended (its copy still being committed): a HIT, 1 origin fetch", { timeout: 60_000 }, async () => {
    // The first response's waitUntil work (pending put → promote) is deliberately not awaited:
    // the second request arrives while the commit runs, as a browser's next fetch does.
    const size = 2 * MiB;
    const path = `/ok/${size}/${crypto.randomUUID()}.bin`;
    const want = await digest(faultBytes(size));
    const first = await openFault(`/c/fault${path}`);
    expect(first.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(await digest(new Uint8Array(await first.res.arrayBuffer()))).toBe(want);
    const second = await openFault(`/c/fault${path}`);
    expect(second.res.status).toBe(200);
    expect(second.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(await digest(new Uint8Array(await second.res.arrayBuffer()))).toBe(want);
    await Promise.all([first.settled(), second.settled()]);
    expect(await faultHits(path)).toBe(1);
  });

  for (const fault of ["reset", "chunked"] as const) {
    it(`a leader whose origin ${fault === "reset" ? "resets" : "cuts a chunked body"}: every joiner sees an error, never a clean short end`, async () => {
      const path = `/${fault}/${crypto.randomUUID()}.bin`;
      const results = await Promise.all(Array.from({ length: 5 }, () => callFault(`/c/fault${path}`)));
      for (const r of results) {
        if (r.res.status === 200) expect(r.error).not.toBeNull();
        else expect(r.res.status).toBeGreaterThanOrEqual(500);
        expect(r.bytes.byteLength).toBeLessThan(1_000_000);
      }
      // Coalesced (at most a late arrival fetched again), and nothing stored.
      const hits = await faultHits(path);
      expect(hits).toBeLessThan(5);
      const head = await callFault(`/c/fault${path}`, { method: "HEAD" });
      expect(head.res.headers.get("x-edgeswarm-cache")).not.toBe("HIT");
    });
  }

  it("misses of a non-shareable answer (origin 404) each get the origin's answer", async () => {
    const path = `/nonesuch/${crypto.randomUUID()}.bin`;
    const results = await Promise.all(Array.from({ length: 4 }, () => callFault(`/c/fault${path}`)));
    for (const r of results) expect(r.res.status).toBe(404);
  });
});
