/**
 * Issue 13 item 1, edge side: `/m/` never waits for a whole-object hash. A cold item answers
 * `202` + `Retry-After` with a `ManifestPending` body (protocol/manifest.ts) while the fill goes on
 * in the background and stores the manifest when it ends cleanly.
 */
import { describe, expect, it } from "vitest";
import { MANIFEST_PENDING_STATUS, isManifestPending, parseManifest, type ManifestResponse } from "../../protocol/manifest";
import { callFault, faultHits, openFault } from "./fault-client";

const json = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as unknown;

describe("/m/ on a cold item", () => {
  it("answers 202 pending at once, then the manifest once the fill has ended — one origin fetch", async () => {
    const path = `/ok/${crypto.randomUUID()}.bin`;
    const first = await callFault(`/m/fault${path}?peer=pending-1`);
    expect(first.res.status).toBe(MANIFEST_PENDING_STATUS);
    expect(first.res.headers.get("cache-control")).toBe("no-store");
    expect(first.res.headers.get("access-control-allow-origin")).toBe("*");
    const body = json(first.bytes);
    expect(isManifestPending(body)).toBe(true);
    expect(body).toMatchObject({ status: "pending", url: `/c/fault${path}`, size: 1_000_000 });
    expect(Number(first.res.headers.get("retry-after"))).toBe((body as { retryAfter: number }).retryAfter);
    // The fill ran to its end in the first request's waitUntil; now the manifest is there.
    const second = await callFault(`/m/fault${path}?peer=pending-1`);
    expect(second.res.status).toBe(200);
    const m = json(second.bytes) as ManifestResponse;
    expect(parseManifest(m.manifest).ok).toBe(true);
    expect(m.manifest.size).toBe(1_000_000);
    expect(await faultHits(path)).toBe(1);
  });

  it("does not wait for the body: an origin that never finishes in time still gets an immediate 202", async () => {
    // One byte every 500 ms: a whole-object hash would take days. The fill deadline ends the
    // background fill; the answer must not depend on it.
    const vars = { ORIGIN_FILL_DEADLINE_MS: "3000", ORIGIN_TIMEOUT_MS: "2000" };
    const path = `/drip/${crypto.randomUUID()}.bin`;
    const [a, b] = await Promise.all([openFault(`/m/fault${path}?peer=drip-peer-a`, undefined, vars), openFault(`/m/fault${path}?peer=drip-peer-b`, undefined, vars)]);
    expect(a.res.status).toBe(202);
    expect(b.res.status).toBe(202);
    expect(isManifestPending(await a.res.json())).toBe(true);
    expect(isManifestPending(await b.res.json())).toBe(true);
    // Both requests shared one fill (the second joined the first through the fill lock).
    expect(await faultHits(path)).toBe(1);
    await Promise.all([a.settled(), b.settled()]);
    // The cut fill certified nothing.
    const again = await callFault(`/c/fault${path}`, { method: "HEAD" }, vars);
    expect(again.res.headers.get("x-edgeswarm-cache")).not.toBe("HIT");
  });
});
