/**
 * Swarm scopes at the edge (functions/swarm-scope.ts): `/m/` issues the join token for the item's
 * collection — a route's images share one swarm, a directory's media segments another, other
 * content keeps its own — and two peers holding different items of one collection meet in it.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { COLLECTION_ITEM_CHUNKS, collectionId, collectionKey, defaultScope } from "../../protocol/collection";
import { encodeMessage, PROTOCOL_VERSION, type ServerMessage } from "../../protocol/swarm-protocol";
import type { ManifestResponse } from "../../protocol/manifest";
import { env } from "cloudflare:workers";
import { verifyJoinToken } from "../../functions/join-token";
import { parseRouteTable } from "../../functions/route-table";
import { HttpError } from "../../functions/http-error";
import { asset, bytes, callManifest, stubOrigin, uniquePath } from "./origin-stub";
import { TestPeer, upgrade } from "../durable/helpers";

afterEach(() => vi.restoreAllMocks());

async function manifest(path: string, peer: string): Promise<ManifestResponse> {
  const { res, body } = await callManifest(`/m${path}?peer=${peer}`);
  expect(res.status).toBe(200);
  return JSON.parse(new TextDecoder().decode(body)) as ManifestResponse;
}

describe("swarm scope", () => {
  it("defaults by content type: images → route, small media → stream, other content → item", () => {
    expect(defaultScope("image/webp", "/g/a.webp", 90_000)).toBe("route");
    expect(defaultScope("video/iso.segment", "/v/seg-1.m4s", 500_000)).toBe("stream");
    expect(defaultScope("application/octet-stream", "/v/seg-1.m4s", 500_000)).toBe("stream"); // by file name
    expect(defaultScope("video/mp4", "/v/film.mp4", 2e9)).toBe("item");
    expect(defaultScope("application/zip", "/d/a.zip", 1000)).toBe("item");
  });

  it("ROUTES accepts scope item|stream|route and refuses anything else", () => {
    const t = parseRouteTable(JSON.stringify({ "/img/": { origin: "https://o.test/img/", scope: "item" } }));
    expect(t[0]!.scope).toBe("item");
    try {
      parseRouteTable(JSON.stringify({ "/img/": { origin: "https://o.test/img/", scope: "site" } }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(HttpError);
      expect((e as HttpError).status).toBe(500);
      expect((e as HttpError).message).toMatch(/scope/);
    }
  });

  it("two images of a route share one swarm; the token is for the collection and grants per-item claims", async () => {
    let seed = 1;
    stubOrigin(() => asset(bytes(5000, seed++), { "content-type": "image/png" }));
    const [p1, p2] = [uniquePath("png"), uniquePath("png")];
    const a = await manifest(`/assets/${p1}`, "peer-scope-a1");
    const b = await manifest(`/assets/${p2}`, "peer-scope-b1");
    const id = await collectionId(collectionKey("route", "/assets/", `/assets/${p1}`)!);
    expect(a.join.swarm).toBe(id);
    expect(b.join.swarm).toBe(id);
    expect(a.manifest.root).not.toBe(b.manifest.root);
    const v = await verifyJoinToken(env.TOKEN_SECRET, a.join.token, id, Date.now());
    expect(v.ok && v.claims.chunks).toBe(COLLECTION_ITEM_CHUNKS);
    // The item's own root is not what the token grants.
    expect((await verifyJoinToken(env.TOKEN_SECRET, a.join.token, a.manifest.root, Date.now())).ok).toBe(false);
  });

  it("other content keeps its own swarm (scope item)", async () => {
    stubOrigin(() => asset(bytes(5000, 3), { "content-type": "application/zip" }));
    const m = await manifest(`/assets/${uniquePath("zip")}`, "peer-scope-c1");
    expect(m.join.swarm).toBe(m.manifest.root);
    expect(m.join.url).toBe(`/swarm/${m.manifest.root}`);
  });

  it("peers of two different segments of a stream meet in its swarm and find each other's items", async () => {
    let seed = 7;
    stubOrigin(() => asset(bytes(300_000, seed++), { "content-type": "video/iso.segment" }));
    const dir = crypto.randomUUID();
    const s1 = await manifest(`/assets/${dir}/seg-001.m4s`, "peer-scope-d1");
    const s2 = await manifest(`/assets/${dir}/seg-002.m4s`, "peer-scope-e1");
    expect(s1.join.swarm).toBe(s2.join.swarm);
    const connect = async (mr: ManifestResponse) => {
      const res = await upgrade(`${mr.join.url}?token=${encodeURIComponent(mr.join.token)}`);
      expect(res.status).toBe(101);
      res.webSocket!.accept();
      const p = new TestPeer(res.webSocket!, mr.join.peerId, mr.join.swarm!);
      p.send(encodeMessage({ type: "hello", version: PROTOCOL_VERSION, peerId: mr.join.peerId, kind: "browser", have: "", uploadSlots: 2 }));
      await p.take("welcome");
      return p;
    };
    const d = await connect(s1);
    const e = await connect(s2);
    d.send({ type: "have", item: s1.manifest.root, chunks: [0, 1] });
    e.send({ type: "want", item: s1.manifest.root });
    // d's have may land after e's want: then e hears of it by peer-have instead.
    const named = (m: ServerMessage) => (m.type === "peers" && m.item === s1.manifest.root ? m.peers[0]?.peerId : m.type === "peer-have" && m.item === s1.manifest.root ? m.peerId : undefined);
    for (let t = 0; t < 5000 && !e.inbox.some(named); t += 20) await new Promise((r) => setTimeout(r, 20));
    expect(e.inbox.map(named).filter(Boolean)[0]).toBe(d.peerId);
    d.close();
    e.close();
  });
});
