/**
 * Figures of one item of a collection swarm: `GET /swarm/<collection>/stats?item=<root>` answers
 * the collection object's members and chunks of that item, so a supernode's follow-rare policy
 * (supernode/rare-policy.ts) sees the holders and the demand of a stream segment or a route asset —
 * the item's own swarm object is empty (its peers meet in the collection's).
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { COLLECTION_GRANT_BYTES, COLLECTION_ITEM_CHUNKS } from "../../protocol/collection";
import type { SwarmStats } from "../../durable/swarm-stats";
import { parseSwarmStats, rareVerdict, swarmStatsUrl } from "../../supernode/rare-policy";
import { join, randomPeerId, randomRoot, tokenFor, type TestPeer } from "./helpers";

const grant = { chunks: COLLECTION_ITEM_CHUNKS, size: COLLECTION_GRANT_BYTES };
const member = (collection: string, kind: "browser" | "supernode" = "browser") => join(collection, { grant, kind, location: { asn: 3215, country: "FR" } });

async function wantItem(p: TestPeer, item: string) {
  p.send({ type: "want", item });
  return p.take("peers", (m) => m.item === item);
}

async function statsOf(url: string | URL): Promise<{ status: number; body: SwarmStats & { item?: string; subshards?: number; error?: { code: string } } }> {
  const res = await exports.default.fetch(String(url));
  return { status: res.status, body: (await res.json()) as never };
}

describe("stats of an item of a collection swarm", () => {
  it("counts the item's holders and wanters and its chunks, not the collection's other items", async () => {
    const col = randomRoot();
    const [x, y] = [randomRoot(), randomRoot()];
    const a = await member(col);
    const b = await member(col);
    const c = await member(col);
    const s = await member(col, "supernode");
    a.send({ type: "have", item: x, chunks: [0, 1] });
    a.send({ type: "have", item: y, chunks: [2] });
    c.send({ type: "have", item: x, chunks: [1] });
    s.send({ type: "have", item: y, chunks: [0, 1, 2] });
    for (const p of [a, c, s]) await wantItem(p, randomRoot()); // their haves are in
    expect((await wantItem(b, x)).peers.length).toBe(2); // b: demand for x, holding nothing

    const forX = await statsOf(`https://edge.test/swarm/${col}/stats?item=${x}`);
    expect(forX.status).toBe(200);
    expect(forX.body).toMatchObject({ root: col, item: x, shard: "XX", subshards: 1, peersOnline: 3, browsers: 3, supernodes: 0, chunksHeld: 2, chunkCopies: 3 });
    const forY = await statsOf(`https://edge.test/swarm/${col}/stats?item=${y}&shard=XX`);
    expect(forY.body).toMatchObject({ item: y, peersOnline: 2, browsers: 1, supernodes: 1, chunksHeld: 3, chunkCopies: 4 });
    // One sub-shard asked directly filters the same way.
    expect((await statsOf(`https://edge.test/swarm/${col}/stats?item=${x}&shard=XX~1`)).body).toMatchObject({ item: x, peersOnline: 0 });
    // The collection as a whole: its members, and no item-scope chunks.
    expect((await statsOf(`https://edge.test/swarm/${col}/stats`)).body).toMatchObject({ peersOnline: 4, chunksHeld: 0 });
    expect((await statsOf(`https://edge.test/swarm/${col}/stats`)).body.item).toBeUndefined();
    // An item nobody held or asked for: empty.
    expect((await statsOf(`https://edge.test/swarm/${col}/stats?item=${randomRoot()}`)).body).toMatchObject({ peersOnline: 0, chunksHeld: 0, chunkCopies: 0 });

    // A holder that leaves is out of the item's figures.
    c.send({ type: "bye" });
    await b.take("peer-left");
    expect((await statsOf(`https://edge.test/swarm/${col}/stats?item=${x}`)).body).toMatchObject({ peersOnline: 2, chunksHeld: 2, chunkCopies: 2 });
    [a, b, s].forEach((p) => p.close());
  });

  it("gives the supernode's follow-rare policy the item's holders (the item's own swarm is empty)", async () => {
    const col = randomRoot();
    const seg = randomRoot();
    const holder = await member(col);
    const viewer = await member(col);
    holder.send({ type: "have", item: seg, chunks: [0, 1, 2, 3] });
    await wantItem(holder, randomRoot());
    await wantItem(viewer, seg);
    // What /m/ hands the supernode for a segment of a stream: a token for the collection, join.swarm = its id.
    const join = { token: await tokenFor(col, randomPeerId("sn"), undefined, grant), swarm: col };
    const url = swarmStatsUrl("https://edge.test", seg, join);
    expect(url.pathname).toBe(`/swarm/${col}/stats`);
    expect(url.searchParams.get("item")).toBe(seg);
    const { status, body } = await statsOf(url);
    expect(status).toBe(200); // the collection's token authorises the collection's stats
    const view = parseSwarmStats(body);
    expect(view).toEqual({ browsers: 2, supernodes: 0, chunksHeld: 4, chunkCopies: 4 });
    expect(rareVerdict(view, 4, false)).toEqual({ follow: true, reason: "few-copies" }); // one copy each: seed it
    expect(rareVerdict(view, 6, false)).toEqual({ follow: true, reason: "missing-chunks" });
    // Asked the old way (the item's own swarm), nobody is there: the policy would see no demand.
    expect(rareVerdict(parseSwarmStats((await statsOf(`https://edge.test/swarm/${seg}/stats`)).body), 4, false).reason).toBe("no-demand");
    // …and with the collection's token it is refused outright (the token names the collection).
    expect((await statsOf(`https://edge.test/swarm/${seg}/stats?token=${encodeURIComponent(join.token)}`)).status).toBe(403);
    holder.close();
    viewer.close();
  });

  it("refuses an item that is not a manifest root with 400 bad-root, before any object is asked", async () => {
    const { status, body } = await statsOf(`https://edge.test/swarm/${randomRoot()}/stats?item=../etc`);
    expect(status).toBe(400);
    expect(body.error?.code).toBe("bad-root");
    expect((await statsOf(`https://edge.test/swarm/${randomRoot()}/stats?item=${"A".repeat(64)}`)).status).toBe(400);
  });
});
