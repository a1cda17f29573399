/**
 * The dashboard's edge numbers for every answer that carries item bytes, as the SDK asks for them
 * today: a cold `/m/?inline=1` (the item itself), a hot `/m/?lead=n` (the manifest, then the first
 * chunks), a whole `/c/` GET of a chunked object (no Content-Length in its headers), a `/c/` range.
 * Edge bytes must equal the bytes the client received, origin bytes the one fill, and a lead answer
 * must register its manifest (the bound on peer claims) like a JSON one.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../functions/index";
import type { DashboardData, SiteTotals } from "../../durable/site-stats-model";
import { MANIFEST_LEAD_HEADER, MANIFEST_PENDING_HEADER, parseManifestLead } from "../../protocol/manifest";
import { ORIGIN, asset, bytes, stubOrigin, uniquePath } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const CHUNK = 256 * 1024;
const MiB = 1024 * 1024;
// Objects from 1 MiB on are stored in chunks (functions/chunked-storage.ts), as large media are.
const ENV = { ...env, CHUNKED_STORAGE_MIN_BYTES: String(MiB) } as Env;

async function call(path: string, init?: RequestInit): Promise<{ res: Response; body: Uint8Array }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://edge.test${path}`, init), ENV, ctx);
  const body = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, body };
}

async function totals(): Promise<SiteTotals> {
  const { res, body } = await call("/dashboard/data?site=/assets/", { headers: { authorization: `Bearer ${env.DASHBOARD_TOKEN}` } });
  expect(res.status).toBe(200);
  return (JSON.parse(new TextDecoder().decode(body)) as DashboardData).sites[0]!.totals;
}

const grown = (a: SiteTotals, b: SiteTotals) => ({
  edgeBytes: b.edgeBytes - a.edgeBytes, originBytes: b.originBytes - a.originBytes, fetches: b.fetches - a.fetches,
  hits: b.hits - a.hits, misses: b.misses - a.misses,
});

describe("edge bytes of every answer that carries item bytes", () => {
  it("cold /m/?inline=1, hot /m/?lead=2, a whole /c/ GET of a chunked object and a /c/ range: edge bytes = bytes received, origin bytes = one fill", async () => {
    const size = 2 * MiB + 4096;
    const data = bytes(size, 11);
    const origin = stubOrigin(() => asset(data));
    const p = uniquePath();
    const t0 = await totals();

    // The first visitor: the cold item itself, inline in the /m/ answer (a miss that fills from the origin).
    const inline = await call(`/m/assets/${p}?peer=dash-0001&inline=1`);
    expect(inline.res.status).toBe(200);
    expect(inline.res.headers.get(MANIFEST_PENDING_HEADER)).not.toBeNull();
    expect(inline.body.byteLength).toBe(size);
    const t1 = await totals();
    expect(grown(t0, t1)).toEqual({ edgeBytes: size, originBytes: size, fetches: 0, hits: 0, misses: 1 });

    // Once hashed: a manifest with its first two chunks after the JSON.
    let lead: { res: Response; body: Uint8Array } | null = null;
    await vi.waitFor(async () => {
      lead = await call(`/m/assets/${p}?peer=dash-0002&lead=2`);
      expect(lead.res.status).toBe(200);
    }, { timeout: 10_000, interval: 100 });
    const parts = parseManifestLead(lead!.res.headers.get(MANIFEST_LEAD_HEADER));
    expect(parts).toMatchObject({ lead: 2 * CHUNK });
    const t2 = await totals();
    // Earlier 202 answers of the waitFor (if any) are "other" and carry no bytes.
    expect(grown(t1, t2)).toMatchObject({ edgeBytes: 2 * CHUNK, originBytes: 0, fetches: 1 });

    // A whole GET of the stored (chunked) object, then a range of it.
    const whole = await call(`/c/assets/${p}`);
    expect(whole.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(whole.body.byteLength).toBe(size);
    const range = await call(`/c/assets/${p}`, { headers: { range: `bytes=${CHUNK}-${2 * CHUNK - 1}` } });
    expect(range.res.status).toBe(206);
    const t3 = await totals();
    expect(grown(t2, t3)).toEqual({ edgeBytes: size + CHUNK, originBytes: 0, fetches: 0, hits: 2, misses: 0 });
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });
});
