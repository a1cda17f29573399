/**
 * Issue 18 item 3, edge side: `GET /m/<path>?lead=<n>` on a hot item answers the manifest JSON
 * followed by the item's first `n` chunks (`X-Edgeswarm-Manifest-Lead: <json> <lead>`), so the
 * download's first edge bytes leave with the manifest instead of one round trip later. Cold items,
 * ineligible content and bad values keep their answers; whole-object, Cache-API-range and chunked
 * objects all send exactly the asked bytes.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../functions/index";
import { MANIFEST_LEAD_HEADER, MANIFEST_PENDING_HEADER, parseManifest, parseManifestLead, type ManifestResponse } from "../../protocol/manifest";
import { ORIGIN, asset, bytes, call, callManifest, sameBytes, stubOrigin, uniquePath } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const CHUNK = 256 * 1024;
const MiB = 1024 * 1024;

/** Splits a lead answer into its manifest response and its lead bytes. */
function split(res: Response, body: Uint8Array): { json: ManifestResponse; lead: Uint8Array } {
  const h = parseManifestLead(res.headers.get(MANIFEST_LEAD_HEADER));
  expect(h).not.toBeNull();
  expect(body.byteLength).toBe(h!.json + h!.lead);
  return { json: JSON.parse(new TextDecoder().decode(body.subarray(0, h!.json))) as ManifestResponse, lead: body.subarray(h!.json) };
}

describe("/m/?lead=<n>", () => {
  it("a hot item: the manifest, then exactly its first n chunks (Cache API range); no extra origin fetch", async () => {
    const data = bytes(5 * CHUNK + 999, 7);
    const origin = stubOrigin(() => asset(data));
    const p = uniquePath();
    await callManifest(`/m/assets/${p}?peer=lead-0001`); // cold: fills and hashes
    const { res, body } = await call(`/m/assets/${p}?peer=lead-0001&inline=1&lead=2`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("access-control-expose-headers")?.toLowerCase()).toContain(MANIFEST_LEAD_HEADER);
    const { json, lead } = split(res, body);
    expect(parseManifest(json.manifest).ok).toBe(true);
    expect(json.join.peerId).toBe("lead-0001");
    expect(lead.byteLength).toBe(2 * CHUNK);
    expect(sameBytes(lead, data.subarray(0, 2 * CHUNK))).toBe(true);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("an item smaller than the lead: the whole item after the JSON", async () => {
    const data = bytes(CHUNK + 5, 8);
    stubOrigin(() => asset(data));
    const p = uniquePath();
    await callManifest(`/m/assets/${p}?peer=lead-0002`);
    const { res, body } = await call(`/m/assets/${p}?peer=lead-0002&lead=64`);
    const { json, lead } = split(res, body);
    expect(json.manifest.size).toBe(data.byteLength);
    expect(sameBytes(lead, data)).toBe(true);
  });

  it("a cold item keeps its inline answer (no lead header); without ?lead the answer stays JSON", async () => {
    const data = bytes(3 * CHUNK, 9);
    stubOrigin(() => asset(data));
    const p = uniquePath();
    const cold = await call(`/m/assets/${p}?peer=lead-0003&inline=1&lead=4`);
    expect(cold.res.headers.get(MANIFEST_PENDING_HEADER)).not.toBeNull();
    expect(cold.res.headers.get(MANIFEST_LEAD_HEADER)).toBeNull();
    expect(sameBytes(cold.body, data)).toBe(true);
    const plain = await call(`/m/assets/${p}?peer=lead-0003`);
    expect(plain.res.headers.get(MANIFEST_LEAD_HEADER)).toBeNull();
    expect(plain.res.headers.get("content-type")).toContain("application/json");
    expect(parseManifest((JSON.parse(new TextDecoder().decode(plain.body)) as ManifestResponse).manifest).ok).toBe(true);
  });

  it("private content is still 409 ineligible, with no bytes", async () => {
    stubOrigin(() => asset(bytes(CHUNK, 1), { "cache-control": "private, max-age=60" }));
    const { res, body } = await call(`/m/assets/${uniquePath()}?peer=lead-0004&lead=4`);
    expect(res.status).toBe(409);
    expect(res.headers.get(MANIFEST_LEAD_HEADER)).toBeNull();
    expect(JSON.parse(new TextDecoder().decode(body))).toMatchObject({ error: { code: "ineligible" } });
  });

  it.each(["0", "65", "-1", "two", "1e1", ""])("lead=%s is a 400 bad-request", async (v) => {
    const origin = stubOrigin(() => asset(bytes(CHUNK, 1)));
    const { res, body } = await call(`/m/assets/${uniquePath()}?peer=lead-0005&lead=${v}`);
    expect(res.status).toBe(400);
    expect(JSON.parse(new TextDecoder().decode(body))).toMatchObject({ error: { code: "bad-request" } });
    expect(origin.calls).toHaveLength(0);
  });

  it("a chunked object: the lead reads only its first chunks, bytes exact", async () => {
    const ENV = { ...env, CHUNKED_STORAGE_MIN_BYTES: String(MiB), PEER_KEY_REQUIRED: "0" } as Env;
    const data = bytes(3 * MiB + 17, 11);
    stubOrigin(() => asset(data));
    const p = uniquePath();
    const get = async (q: string) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`https://edge.test/m/assets/${p}?peer=lead-0006${q}`), ENV, ctx);
      const body = new Uint8Array(await res.arrayBuffer());
      await waitOnExecutionContext(ctx);
      return { res, body };
    };
    expect((await get("")).res.status).toBe(202);
    let hot = await get("&lead=3");
    if (hot.res.status === 202) hot = await get("&lead=3"); // the hash may land one answer later
    const { json, lead } = split(hot.res, hot.body);
    expect(json.manifest.size).toBe(data.byteLength);
    expect(sameBytes(lead, data.subarray(0, 3 * CHUNK))).toBe(true);
  });
});
