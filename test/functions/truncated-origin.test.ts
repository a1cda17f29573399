/**
 * Issue 11 item 1: a truncated origin body is never stored as complete nor certified by a manifest.
 * Every fault comes from a real Node origin over a real socket (./fault-origin/server.ts): a reset,
 * a close, a stall past ORIGIN_TIMEOUT_MS, a body 1,000 bytes short of its Content-Length, a
 * chunked body cut without its last chunk, a gzip stream cut mid-way.
 */
import { describe, expect, it } from "vitest";
import { contentKey, storedHeaders } from "../../functions/edge-cache";
import { FAULT_ORIGIN, callFault, faultHits } from "./fault-client";
import { faultBytes } from "./fault-origin/server";

const SIZE = 1_000_000;
const FAULTS = ["reset", "close", "stall", "short", "chunked", "gzip"] as const;

const id = () => crypto.randomUUID();
// tsconfig's DOM lib shadows workers-types' `CacheStorage`, which is where `default` lives.
const cache = () => (caches as unknown as { default: Cache }).default;
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);

describe("truncated origin bodies (real socket faults)", () => {
  for (const fault of FAULTS) {
    it(`${fault}: the first client sees an error, nothing is stored, /m/ gives no manifest`, async () => {
      const path = `/${fault}/${id()}.bin`;
      // A short idle timeout for the stall (the others fail at once whatever it is).
      const call = (p: string, init?: RequestInit) => callFault(p, init, { ORIGIN_TIMEOUT_MS: "1000" });
      const first = await call(`/c/fault${path}`);
      // Either an error status before any byte, or a body that errors: never a clean short end.
      if (first.res.status === 200) {
        expect(first.error).not.toBeNull();
        expect(first.bytes.byteLength).toBeLessThan(SIZE);
      } else expect(first.res.status).toBeGreaterThanOrEqual(500);
      // Not stored: the next request goes to the origin again (and meets the same fault).
      const second = await call(`/c/fault${path}`);
      expect(second.res.headers.get("x-edgeswarm-cache")).not.toBe("HIT");
      if (second.res.status === 200) expect(second.error).not.toBeNull();
      expect(await faultHits(path)).toBe(2);
      // No manifest certifies a prefix.
      const m = await call(`/m/fault${path}?peer=trunc-${fault}`);
      expect(m.res.status).not.toBe(200);
      const head = await call(`/c/fault${path}`, { method: "HEAD" });
      expect(head.res.headers.get("x-edgeswarm-cache")).not.toBe("HIT");
    });
  }

  it("a healthy origin through the same path is stored and certified (control)", async () => {
    const path = `/ok/${id()}.bin`;
    const first = await callFault(`/c/fault${path}`);
    expect(first.error).toBeNull();
    expect(sameBytes(first.bytes, faultBytes(SIZE))).toBe(true);
    const hit = await callFault(`/c/fault${path}`);
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(sameBytes(hit.bytes, faultBytes(SIZE))).toBe(true);
    expect(await faultHits(path)).toBe(1);
  });
});

describe("a short copy already in the cache (stored before this fix, or by a failed copy step)", () => {
  /** Puts the first half of `/ok/<id>` under its cache key with the full length announced, as `cache.put` does when a socket drops. */
  async function plantShortCopy(path: string, storedAt = Date.now()): Promise<void> {
    const key = contentKey(new URL(`${FAULT_ORIGIN}${path.slice(1)}`));
    const headers = storedHeaders(new Headers({ "content-type": "application/octet-stream", "cache-control": "public, max-age=3600", etag: '"fault-v1"', "content-length": String(SIZE) }), storedAt, 3600, crypto.randomUUID());
    const fixed = new FixedLengthStream(SIZE);
    const writer = fixed.writable.getWriter();
    const planted = cache().put(key, new Response(fixed.readable, { headers }));
    await writer.write(faultBytes(SIZE).subarray(0, SIZE / 2));
    await writer.abort(new Error("socket dropped")).catch(() => {});
    await planted.catch(() => {});
    const held = await cache().match(key);
    expect(held).toBeDefined(); // the platform quirk this guards against: the prefix was kept
    await held!.body?.cancel();
  }

  it("/c/ errors instead of ending cleanly, deletes it, and the next request refetches the whole object", async () => {
    const path = `/ok/${id()}.bin`;
    await plantShortCopy(path);
    const hit = await callFault(`/c/fault${path}`);
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(hit.error).not.toBeNull();
    expect(hit.bytes.byteLength).toBeLessThan(SIZE);
    const healed = await callFault(`/c/fault${path}`);
    expect(healed.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(healed.error).toBeNull();
    expect(sameBytes(healed.bytes, faultBytes(SIZE))).toBe(true);
    expect(await faultHits(path)).toBe(1);
  });

  it("a stale short copy the origin revalidates (304): the refresh does not store it again — the next request refetches", async () => {
    const path = `/ok/${id()}.bin`;
    await plantShortCopy(path, Date.now() - 2 * 3600_000); // an hour past its max-age
    const first = await callFault(`/c/fault${path}`); // If-None-Match → 304 → the stored bytes
    expect(first.error).not.toBeNull();
    expect(await faultHits(path)).toBe(1);
    const healed = await callFault(`/c/fault${path}`);
    expect(healed.error).toBeNull();
    expect(healed.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(sameBytes(healed.bytes, faultBytes(SIZE))).toBe(true);
    expect(await faultHits(path)).toBe(2);
  });

  it("a copy already served whole does not vouch for a short one stored later under the same URL", async () => {
    const path = `/ok/${id()}.bin`;
    expect((await callFault(`/c/fault${path}`)).error).toBeNull(); // MISS: stored
    for (let i = 0; i < 2; i++) {
      const hit = await callFault(`/c/fault${path}`); // read whole: later hits of it skip the guard
      expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
      expect(sameBytes(hit.bytes, faultBytes(SIZE))).toBe(true);
    }
    await plantShortCopy(path); // another object version (its own id), short
    const hit = await callFault(`/c/fault${path}`);
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(hit.error).not.toBeNull();
    const healed = await callFault(`/c/fault${path}`);
    expect(healed.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(sameBytes(healed.bytes, faultBytes(SIZE))).toBe(true);
    expect(await faultHits(path)).toBe(2);
  });

  it("/m/ checks the bytes it reads against the stored length: no manifest, and the copy is deleted", async () => {
    const path = `/ok/${id()}.bin`;
    await plantShortCopy(path);
    // Cached, no manifest: /m/ answers "pending" at once and hashes in the background, where the
    // short body is caught and the copy deleted.
    const m = await callFault(`/m/fault${path}?peer=short-copy`);
    expect(m.res.status).toBe(202);
    expect(await faultHits(path)).toBe(0);
    const healed = await callFault(`/c/fault${path}`);
    expect(healed.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(sameBytes(healed.bytes, faultBytes(SIZE))).toBe(true);
  });
});
