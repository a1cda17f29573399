/**
 * Issue 13 item 1, edge side: `GET /m/<path>?inline=1` on a cold item answers with the item itself
 * (`/c/`'s 200, marked `X-Edgeswarm-Manifest-Pending: <retryAfter>`) instead of a `202` the client
 * must follow with a `GET /c/` — the first visitor's bytes start one round trip sooner, and the
 * fill reads the origin once. Once hashed, the same request answers the manifest as before.
 */
import { describe, expect, it } from "vitest";
import { MANIFEST_PENDING_HEADER, parseManifest, type ManifestResponse } from "../../protocol/manifest";
import { faultBytes } from "./fault-origin/server";
import { callFault, faultHits } from "./fault-client";

const json = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as unknown;
const hex = async (b: Uint8Array) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", b.slice()))].map((x) => x.toString(16).padStart(2, "0")).join("");

describe("/m/?inline=1 on a cold item", () => {
  it("answers the item's bytes with the pending mark; the fill still stores the manifest — one origin fetch", async () => {
    const path = `/ok/${crypto.randomUUID()}.bin`;
    const first = await callFault(`/m/fault${path}?peer=inline-1&inline=1`);
    expect(first.res.status).toBe(200);
    expect(first.error).toBeNull();
    expect(Number(first.res.headers.get(MANIFEST_PENDING_HEADER))).toBeGreaterThanOrEqual(1);
    expect(first.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(first.res.headers.get("content-length")).toBe("1000000");
    expect(first.res.headers.get("content-type")).toBe("application/octet-stream");
    expect(first.res.headers.get("cache-control")).toBe("no-store");
    expect(first.res.headers.get("access-control-allow-origin")).toBe("*");
    expect(first.res.headers.get("access-control-expose-headers")?.toLowerCase()).toContain(MANIFEST_PENDING_HEADER);
    const want = faultBytes(1_000_000);
    expect(first.bytes.length).toBe(want.length);
    expect(await hex(first.bytes)).toBe(await hex(want));
    // The fill ended in the first request's waitUntil: the manifest is there, inline or not.
    for (const q of ["&inline=1", ""]) {
      const again = await callFault(`/m/fault${path}?peer=inline-1${q}`);
      expect(again.res.status).toBe(200);
      expect(again.res.headers.get(MANIFEST_PENDING_HEADER)).toBeNull();
      const m = json(again.bytes) as ManifestResponse;
      expect(parseManifest(m.manifest).ok).toBe(true);
      expect(m.manifest.chunks[0]).toBe(await hex(want.subarray(0, m.manifest.chunkSize)));
    }
    // `/c/` is now a HIT of the same fill: the origin was read once for the item and its manifest.
    const c = await callFault(`/c/fault${path}`);
    expect(c.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(await faultHits(path)).toBe(1);
  });

  it("an origin that drops mid-body errors the inline body (never a clean short item) and certifies nothing", async () => {
    const path = `/reset/${crypto.randomUUID()}.bin`;
    const first = await callFault(`/m/fault${path}?peer=inline-2&inline=1`);
    expect(first.res.status).toBe(200);
    expect(first.error).not.toBeNull();
    expect(first.bytes.length).toBeLessThan(1_000_000);
    const again = await callFault(`/m/fault${path}?peer=inline-2`);
    expect(again.res.status).not.toBe(200); // 202 (a new fill) or an error: no manifest of a cut body
  });

  it("an origin 404 is still the edge's JSON 404 (nothing to stream as the item)", async () => {
    const path = `/missing/${crypto.randomUUID()}.bin`;
    const r = await callFault(`/m/fault${path}?peer=inline-3&inline=1`);
    expect(r.res.status).toBe(404);
    expect(r.res.headers.get(MANIFEST_PENDING_HEADER)).toBeNull();
    expect(json(r.bytes)).toMatchObject({ error: { code: "origin-not-found" } });
  });
});
