/**
 * A 64 MiB object through the edge with bounded memory: the stub origin generates bytes lazily
 * (a pull-based stream with no read-ahead), so the test can see exactly how far the Worker has read
 * the origin compared to how far the client has read the response — a Worker buffering the object
 * would pull the origin far ahead of a paused client.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { computeRoot, type ManifestResponse } from "../../protocol/manifest";
import { ORIGIN, call, open, prng, uniquePath, callManifest, generatingOrigin } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const CHUNK = 256 * 1024;

/** The chunk hashes of the same bytes, computed independently of the Worker. */
async function expectedChunks(size: number, seed: number): Promise<string[]> {
  const gen = prng(seed);
  const out: string[] = [];
  const buf = new Uint8Array(CHUNK);
  for (let off = 0; off < size; off += CHUNK) {
    const piece = buf.subarray(0, Math.min(CHUNK, size - off));
    gen(piece);
    out.push([...new Uint8Array(await crypto.subtle.digest("SHA-256", piece))].map((b) => b.toString(16).padStart(2, "0")).join(""));
  }
  return out;
}

// 64 MiB through hashing, a pending-key put and its promotion (a second cache write) on a shared
// 2-core machine: more than the suite's default 30 s when other suites run alongside.
describe("64 MiB object", { timeout: 120_000 }, () => {
  it("computes the manifest while streaming, reading the origin exactly once", async () => {
    const { origin, stats } = generatingOrigin(SIZE, 64);
    const p = uniquePath();
    const t0 = Date.now();
    const { res, body } = await callManifest(`/m/assets/${p}?peer=big-peer-1`);
    const ms = Date.now() - t0;
    expect(res.status).toBe(200);
    const json = JSON.parse(new TextDecoder().decode(body)) as ManifestResponse;
    const expected = await expectedChunks(SIZE, 64);
    expect(json.manifest.size).toBe(SIZE);
    expect(json.manifest.chunks).toHaveLength(256);
    expect(json.manifest.chunks).toEqual(expected);
    expect(json.manifest.root).toBe(await computeRoot(expected));
    expect(stats.bodies).toBe(1);
    expect(stats.produced).toBe(SIZE);
    // Second request: from the stored manifest, no origin read at all.
    const again = await callManifest(`/m/assets/${p}?peer=big-peer-2`);
    expect(JSON.parse(new TextDecoder().decode(again.body)).manifest.root).toBe(json.manifest.root);
    expect(origin.hits(ORIGIN + p)).toBe(1);
    expect(stats.produced).toBe(SIZE);
    console.log(`64 MiB manifest (202 pending, fill: origin → hash + cache.put + promote, then 200): ${ms} ms`);
  });

  it("never reads the origin more than a few MiB ahead of a paused client, and still stores it all", async () => {
    const { origin, stats } = generatingOrigin(SIZE, 65);
    const p = uniquePath();
    const { res, settled } = await open(`/c/assets/${p}`);
    expect(res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(res.headers.get("content-length")).toBe(String(SIZE));
    const reader = res.body!.getReader();
    const gen = prng(65);
    let consumed = 0;
    let maxLead = 0;
    let equal = true;
    let paused = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const want = new Uint8Array(value.byteLength);
      gen(want); // value lengths are multiples of 4 here (64 KiB origin pieces), keeping the PRNG aligned
      for (let i = 0; i < value.byteLength && equal; i += 4099) equal = value[i] === want[i];
      consumed += value.byteLength;
      maxLead = Math.max(maxLead, stats.produced - consumed);
      if (!paused && consumed >= 8 * MiB) {
        // A slow client: give the cache branch every chance to race ahead (no timing assertion —
        // the bound below must hold however long this pause is).
        paused = true;
        for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 10));
        maxLead = Math.max(maxLead, stats.produced - consumed);
      }
    }
    await settled();
    expect(equal).toBe(true);
    expect(consumed).toBe(SIZE);
    expect(stats.produced).toBe(SIZE);
    // Per-branch queue 1 MiB plus what streams hold in flight; a buffering tee would reach ~56 MiB.
    expect(maxLead).toBeLessThan(4 * MiB);
    console.log(`64 MiB /c/ miss: max origin lead over the client ${(maxLead / MiB).toFixed(2)} MiB`);
    // Stored in full while it streamed, and its manifest with it.
    expect((await call(`/c/assets/${p}`, { method: "HEAD" })).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    const m = await callManifest(`/m/assets/${p}`);
    expect(JSON.parse(new TextDecoder().decode(m.body)).manifest.chunks).toEqual(await expectedChunks(SIZE, 65));
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });
});
