/** `/m/`: manifests computed while streaming, cached per object version, with a signed join token. */
import { collectionId, collectionKey } from "../../protocol/collection";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { computeRoot, parseManifest, type ManifestResponse } from "../../protocol/manifest";
import { verifyJoinToken } from "../../functions/join-token";
import { ORIGIN, asset, bytes, call, sha256, stubOrigin, uniquePath, callManifest } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const CHUNK = 256 * 1024;

async function independentChunks(data: Uint8Array<ArrayBuffer>): Promise<string[]> {
  const out: string[] = [];
  for (let off = 0; off < data.byteLength; off += CHUNK) out.push(await sha256(data.slice(off, off + CHUNK)));
  return out;
}

async function manifestOf(path: string, init?: RequestInit): Promise<{ res: Response; json: ManifestResponse }> {
  const { res, body } = await callManifest(path, init);
  return { res, json: JSON.parse(new TextDecoder().decode(body)) as ManifestResponse };
}

describe("/m/ manifests", () => {
  it("hashes 256 KiB chunks exactly as an independent computation does", async () => {
    const data = bytes(3 * CHUNK + 12_345, 42);
    const origin = stubOrigin(() => asset(data, { "content-type": "video/mp4" }));
    const p = uniquePath("mp4");
    const { res, json } = await manifestOf(`/m/assets/${p}?peer=peer-0001`);
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const expected = await independentChunks(data);
    expect(json.manifest).toEqual({
      url: `/c/assets/${p}`, version: '"v1"', size: data.byteLength, type: "video/mp4", chunkSize: CHUNK,
      chunks: expected, root: await computeRoot(expected),
    });
    expect(parseManifest(json.manifest).ok).toBe(true);
    // A small video defaults to the `stream` scope: its swarm is its directory's collection (protocol/collection.ts).
    expect(json.join.swarm).toBe(await collectionId(collectionKey("stream", "/assets/", `/assets/${p}`)!));
    expect(json.join.url).toBe(`/swarm/${json.join.swarm}`);
    expect(json.iceServers).toEqual([{ urls: "stun:stun.cloudflare.com:3478" }]); // wrangler.toml default
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("serves a second manifest request without touching the origin", async () => {
    const data = bytes(CHUNK + 1, 2);
    const origin = stubOrigin(() => asset(data));
    const p = uniquePath();
    const a = await manifestOf(`/m/assets/${p}?peer=peer-aaaa`);
    const b = await manifestOf(`/m/assets/${p}?peer=peer-bbbb`);
    expect(b.json.manifest).toEqual(a.json.manifest);
    expect(b.json.join.peerId).toBe("peer-bbbb");
    expect(b.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(origin.hits(ORIGIN + p)).toBe(1);
    // The content itself was stored on the way: /c/ is a hit too.
    expect((await call(`/c/assets/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("gets the manifest computed by a /c/ download, without a second origin fetch or rehash", async () => {
    const data = bytes(2 * CHUNK, 9);
    const origin = stubOrigin(() => asset(data));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const digest = vi.spyOn(crypto.subtle, "digest");
    const { json } = await manifestOf(`/m/assets/${p}`);
    // Only the join token's HMAC may run now: no chunk was rehashed, nothing refetched.
    expect(digest).not.toHaveBeenCalled();
    expect(json.manifest.chunks).toEqual(await independentChunks(data));
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("hashes from the cache when content is cached but its manifest is not", async () => {
    const data = bytes(CHUNK + 100, 3);
    const origin = stubOrigin(() => asset(data));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const cache = (caches as unknown as { default: Cache }).default;
    // Drop every stored manifest key this object could have: simulate an evicted manifest.
    const keys = await Promise.all([cache.match(`https://edgeswarm.internal/c/${encodeURIComponent("https://origin.test")}/assets/${p}`)]);
    const objectId = keys[0]!.headers.get("x-edgeswarm-object")!;
    await keys[0]!.body?.cancel();
    expect(await cache.delete(`https://edgeswarm.internal/m/${CHUNK}/${objectId}`)).toBe(true);
    const { json } = await manifestOf(`/m/assets/${p}`);
    expect(json.manifest.chunks).toEqual(await independentChunks(data));
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("gives a new version a new root", async () => {
    let v = 1;
    // Always stale; conditionals for the current version get 304, so each version's second /m/ answers.
    stubOrigin((req) => (req.headers.get("if-none-match") === `"v${v}"` ? new Response(null, { status: 304, headers: { etag: `"v${v}"` } }) : asset(`content ${v}`, { etag: `"v${v}"`, "cache-control": "public, max-age=0" })));
    const p = uniquePath();
    const a = await manifestOf(`/m/assets/${p}`);
    v = 2;
    const b = await manifestOf(`/m/assets/${p}`);
    expect(b.json.manifest.version).toBe('"v2"');
    expect(b.json.manifest.root).not.toBe(a.json.manifest.root);
  });

  it("handles an empty object (zero chunks)", async () => {
    stubOrigin(() => asset(""));
    const { json } = await manifestOf(`/m/assets/${uniquePath()}`);
    expect(json.manifest.size).toBe(0);
    expect(json.manifest.chunks).toEqual([]);
    expect(parseManifest(json.manifest).ok).toBe(true);
  });

  it("signs a join token for the root and the peer id that verifies, and refuses altered or expired ones", async () => {
    stubOrigin(() => asset("token test"));
    const before = Date.now();
    const { json } = await manifestOf(`/m/assets/${uniquePath()}?peer=peer-token-1`);
    const { root } = json.manifest;
    const { token, expires, peerId } = json.join;
    expect(peerId).toBe("peer-token-1");
    expect(expires).toBeGreaterThanOrEqual(before + Number(env.TOKEN_TTL) * 1000);
    const ok = await verifyJoinToken(env.TOKEN_SECRET, token, root, Date.now());
    expect(ok).toEqual({ ok: true, claims: { root, peerId: "peer-token-1", expires, chunks: json.manifest.chunks.length, size: json.manifest.size } });
    expect(await verifyJoinToken(env.TOKEN_SECRET, token, root, expires + 1)).toEqual({ ok: false, error: "expired" });
    expect(await verifyJoinToken(env.TOKEN_SECRET, token, "0".repeat(64), Date.now())).toEqual({ ok: false, error: "wrong-root" });
    const [payload, sig] = token.split(".") as [string, string];
    const flipped = sig.slice(0, -2) + (sig.at(-2) === "A" ? "B" : "A") + sig.at(-1);
    expect((await verifyJoinToken(env.TOKEN_SECRET, `${payload}.${flipped}`, root, Date.now())).ok).toBe(false);
    expect((await verifyJoinToken("another-secret", token, root, Date.now())).ok).toBe(false);
  });

  it("generates a peer id when none is sent, and refuses malformed ones", async () => {
    stubOrigin(() => asset("peer ids"));
    const p = uniquePath();
    const { json } = await manifestOf(`/m/assets/${p}`);
    expect(json.join.peerId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    for (const bad of ["short", "has space!", "x".repeat(65), "a/b/c/d/e"]) {
      const { res, body } = await callManifest(`/m/assets/${p}?peer=${encodeURIComponent(bad)}`);
      expect(res.status).toBe(400);
      expect(JSON.parse(new TextDecoder().decode(body)).error.code).toBe("bad-peer-id");
    }
  });
});
