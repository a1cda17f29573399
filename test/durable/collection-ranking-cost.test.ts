/**
 * Issue 11 item 2 on the collection path: a `want {item}` is ranked over the item's holders with
 * per-item holder counts, so a silent member claiming every chunk of an item beside a supernode
 * cannot make each honest `want {item}` cost O(chunks × holders) — the scan issue 11 removed from
 * item swarms, which collection swarms (added later) had brought back.
 */
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChunkBits } from "../../durable/chunk-bits";
import { CollectionHandlers, type CollectionHost } from "../../durable/collection-handlers";
import { CollectionItems } from "../../durable/collection-items";
import type { LivePeer } from "../../durable/peer-directory";
import { DEFAULT_LIMITS } from "../../durable/swarm-limits";
import type { SocketState } from "../../durable/socket-state";
import { COLLECTION_ITEM_CHUNKS } from "../../protocol/collection";
import type { PeerKind } from "../../protocol/swarm-protocol";
import { randomRoot, swarmStub } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const N = COLLECTION_ITEM_CHUNKS;
const sent: string[] = [];
const fakeWs = { send: (f: string) => void sent.push(f) } as unknown as WebSocket;

function member(peerId: string, kind: PeerKind = "browser", uploadSlots = 4): LivePeer {
  return { peerId, kind, location: { asn: 2 }, chunks: new ChunkBits(), uploadSlots, lastWantAt: 0, ws: fakeWs };
}

/** A CollectionItems over a fresh object's SQLite, and the members map it reads. */
async function withItems<T>(f: (items: CollectionItems, members: Map<string, LivePeer>) => T): Promise<T> {
  return runInDurableObject(swarmStub(randomRoot()), (_inst: unknown, state: DurableObjectState) => {
    const members = new Map<string, LivePeer>();
    return f(new CollectionItems(state.storage.sql, () => members), members);
  });
}

describe("collection want ranking cost (issue 11 item 2)", () => {
  it("a supernode and a silent member claiming all 4,096 chunks: an honest want {item} reads no browser's chunks", async () => {
    const reads = await withItems((items, members) => {
      const item = randomRoot();
      const add = (p: LivePeer, chunks: number[]) => (members.set(p.peerId, p), items.have(p, item, chunks));
      for (let i = 0; i < 50; i++) add(member(`honest-${i}`), [0]);
      add(member("supernode", "supernode"), Array.from({ length: N }, (_, i) => i));
      add(member("liar"), Array.from({ length: N }, (_, i) => i)); // last: a scan meets it last
      const asker = member("asker");
      members.set(asker.peerId, asker);
      const host: CollectionHost = {
        items, dir: undefined as never, audience: { tellAll() {} } as never,
        limits: () => DEFAULT_LIMITS, now: () => 1, random: () => 0.5,
        strike: () => { throw new Error("no strike expected"); }, send: () => true, armFlush() {}, changeSlots: () => true,
      };
      const handlers = new CollectionHandlers(host);
      const state = { peerId: asker.peerId, location: asker.location } as SocketState;
      const has = vi.spyOn(ChunkBits.prototype, "has");
      handlers.want(fakeWs, state, asker, item, undefined, 8, 1);
      return has.mock.calls.length;
    });
    expect(JSON.parse(sent.at(-1)!)).toMatchObject({ type: "peers" });
    // The supernode's own chunks once each (is any of them sole-sourced?), nothing per browser: the
    // scan read every browser per chunk until a holder (≥ 50 × 4,095 here).
    expect(reads).toBeLessThanOrEqual(N);
  });

  it("per-item holder counts equal a scan of the holders, through haves, slot changes, departures and evictions", async () => {
    type Op = { kind: "have"; peer: number; item: number; chunks: number[] } | { kind: "slots"; peer: number; slots: number } | { kind: "leave"; peer: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant("have" as const), peer: fc.nat(5), item: fc.nat(70), chunks: fc.uniqueArray(fc.nat(15), { maxLength: 5 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("slots" as const), peer: fc.nat(5), slots: fc.nat(2) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("leave" as const), peer: fc.nat(5) }) },
    );
    await withItems((items, members) => {
      // 71 items: a member's 65th item evicts its least recent one (MAX_ITEMS_PER_MEMBER).
      const roots = Array.from({ length: 71 }, () => randomRoot());
      fc.assert(
        fc.property(fc.array(op, { maxLength: 120 }), fc.nat(5), (ops, asker) => {
          for (const id of [...members.keys()]) items.leave(id);
          members.clear();
          const peerOf = (i: number) => {
            const id = `m${i}`;
            let p = members.get(id);
            if (!p) members.set(id, (p = member(id, i === 0 ? "supernode" : "browser")));
            return p;
          };
          for (const o of ops) {
            if (o.kind === "have") items.have(peerOf(o.peer), roots[o.item]!, o.chunks);
            else if (o.kind === "slots") (peerOf(o.peer).uploadSlots = o.slots, items.setSlots(`m${o.peer}`, o.slots));
            else if (members.delete(`m${o.peer}`)) items.leave(`m${o.peer}`);
          }
          const me = peerOf(asker);
          for (const root of new Set(ops.flatMap((o) => (o.kind === "have" ? [roots[o.item]!] : [])))) {
            const holders = [...items.want(me, root, 1)].filter((h) => h.peerId !== me.peerId && h.uploadSlots > 0);
            const counts = items.holderCounts(root, me);
            for (let i = 0; i < 16; i++) {
              expect(counts.all(i)).toBe(holders.filter((h) => h.chunks.has(i)).length);
              expect(counts.browsers(i)).toBe(holders.filter((h) => h.kind === "browser" && h.chunks.has(i)).length);
            }
          }
        }),
        { numRuns: 150 },
      );
    });
  });
});
