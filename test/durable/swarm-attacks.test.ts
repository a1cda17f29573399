/**
 * Issue 11: attacks on the coordinator by a holder of valid join tokens, from real WebSocket clients
 * through the Worker (or straight at one object, as the Worker's last spill hop connects). Each case
 * failed on the coordinator before the fix it names.
 */
import { PROTOCOL_VERSION } from "../../protocol/swarm-protocol";
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SwarmCoordinator } from "../../durable/swarm-coordinator";
import { SwarmStore } from "../../durable/swarm-store";
import { encodeBitfield, encodeMessage } from "../../protocol/swarm-protocol";
import { verifyJoinToken, SUPERNODE_KEY_HEADER } from "../../functions/join-token";
import type { ManifestResponse } from "../../protocol/manifest";
import { asset, bytes, callManifest, stubOrigin, uniquePath } from "../functions/origin-stub";
import { join, open, openObject, randomPeerId, randomRoot, swarmStub, tokenFor, upgrade } from "./helpers";
import { COLLECTION_GRANT_BYTES, COLLECTION_ITEM_CHUNKS } from "../../protocol/collection";

const COLLECTION_GRANT = { chunks: COLLECTION_ITEM_CHUNKS, size: COLLECTION_GRANT_BYTES };

const limitsOf = (root: string, patch: Partial<SwarmCoordinator["limits"]>) =>
  runInDurableObject(swarmStub(root), (inst: SwarmCoordinator) => {
    inst.limits = { ...inst.limits, ...patch };
  });

afterEach(() => vi.restoreAllMocks());

describe("claims bounded by the item (issue 11 item 2)", () => {
  it("a hello claiming all 65,536 chunks holds only the item's real chunks", async () => {
    const root = randomRoot();
    const liar = await open(root, { grant: { chunks: 10, size: 10 * 262_144 } });
    liar.send(encodeMessage({ type: "hello", version: PROTOCOL_VERSION, peerId: liar.peerId, kind: "browser", have: encodeBitfield(Array.from({ length: 65_536 }, (_, i) => i), 65_536), uploadSlots: 4 }));
    await liar.take("welcome");
    const s = await swarmStub(root).stats();
    expect(s.chunksHeld).toBe(10);
    expect(s.chunkCopies).toBe(10);
    // What others are told it holds: chunks 0..9 only (2 bytes of bitfield, padding bits clear).
    const asker = await join(root, { grant: { chunks: 10, size: 10 * 262_144 } });
    const [entry] = await asker.want();
    expect(entry!.peerId).toBe(liar.peerId);
    expect([...atob(entry!.have)].map((c) => c.charCodeAt(0))).toEqual([0xff, 0xc0]);
  });

  it("have and want indices at or past the item's chunk count are bad-message", async () => {
    const root = randomRoot();
    const p = await join(root, { grant: { chunks: 10, size: 10 * 262_144 } });
    p.send({ type: "have", chunks: [9, 10] });
    expect((await p.error("bad-message")).message).toMatch(/< 10/);
    p.send({ type: "want", chunks: [10] });
    expect((await p.error("bad-message")).ref).toBe("want");
    expect((await swarmStub(root).stats()).chunkCopies).toBe(0);
  });

  it("kind supernode needs a token issued to a supernode: otherwise not-supernode and close 1008", async () => {
    const root = randomRoot();
    const fake = await open(root); // an ordinary browser token
    fake.send(encodeMessage({ type: "hello", version: PROTOCOL_VERSION, peerId: fake.peerId, kind: "supernode", have: encodeBitfield([0, 1], 64), uploadSlots: 4 }));
    expect((await fake.error("not-supernode")).ref).toBe("hello");
    expect((await fake.waitClosed()).code).toBe(1008);
    const real = await join(root, { kind: "supernode", have: [0, 1] }); // token with the supernode grant
    expect(real.welcome?.peers).toBe(1);
    expect(await swarmStub(root).stats()).toMatchObject({ supernodes: 1, browsers: 0 });
  });

  it("/m/ mints the supernode grant only for a request showing SUPERNODE_KEY, and carries the item's size", async () => {
    stubOrigin(() => asset(bytes(3 * 262_144 + 5, 7)));
    const path = `/m/assets/${uniquePath()}?peer=peer-sn-1`;
    const claimsOf = async (headers: Record<string, string>) => {
      const { res, body } = await callManifest(path, { headers });
      expect(res.status).toBe(200);
      const j = JSON.parse(new TextDecoder().decode(body)) as ManifestResponse;
      const v = await verifyJoinToken(env.TOKEN_SECRET, j.join.token, j.manifest.root, Date.now());
      return v.ok ? v.claims : null;
    };
    expect(await claimsOf({})).toMatchObject({ chunks: 4, size: 3 * 262_144 + 5 });
    expect((await claimsOf({}))?.supernode).toBeUndefined();
    expect((await claimsOf({ [SUPERNODE_KEY_HEADER]: "a-guess" }))?.supernode).toBeUndefined();
    expect((await claimsOf({ [SUPERNODE_KEY_HEADER]: env.SUPERNODE_KEY! }))?.supernode).toBe(true);
  });
});

describe("sockets per token (issue 11 item 3)", () => {
  it("one pending socket per peer id: a second unjoined socket replaces the first", async () => {
    const root = randomRoot();
    const peerId = randomPeerId();
    const a = await open(root, { peerId });
    const b = await open(root, { peerId });
    expect((await a.error("duplicate-peer")).code).toBe("duplicate-peer");
    expect((await a.waitClosed()).code).toBe(1008);
    b.send(encodeMessage({ type: "hello", version: PROTOCOL_VERSION, peerId, kind: "browser", have: "", uploadSlots: 1 }));
    expect((await b.take("welcome")).peers).toBe(1);
  });

  it("one token cannot fill the object: its sockets count, and honest visitors still get in", async () => {
    const root = randomRoot();
    await limitsOf(root, { maxPeers: 3, connectBurst: 1000 });
    const attacker = randomPeerId("attacker");
    const held: Awaited<ReturnType<typeof openObject>>[] = [];
    for (let i = 0; i < 12; i++) held.push(await openObject(root, "XX", attacker));
    // Every older pending socket of that id was closed: at most one stays.
    await Promise.all(held.slice(0, -1).map((p) => p.waitClosed()));
    for (const name of ["honest-1", "honest-2"]) {
      const p = await openObject(root, "XX", randomPeerId(name));
      p.send(encodeMessage({ type: "hello", version: PROTOCOL_VERSION, peerId: p.peerId, kind: "browser", have: "", uploadSlots: 1 }));
      await p.take("welcome");
    }
    // Full now (2 members + the attacker's one pending socket): a third visitor is refused.
    const late = await openObject(root, "XX", randomPeerId("late"));
    await late.error("swarm-full");
  });

  it("a socket that never says hello is closed at the hello deadline, not at the next maintenance", async () => {
    const root = randomRoot();
    await join(root); // the object exists: set its limits
    await limitsOf(root, { helloTimeoutMs: 300 });
    const silent = await open(root);
    expect(await silent.waitClosed(10_000)).toEqual({ code: 1008, reason: "no hello" });
  });

  it("connects per peer id are limited: past the burst, 429 rate-limited and no socket", async () => {
    const root = randomRoot();
    const peerId = randomPeerId();
    const token = await tokenFor(root, peerId);
    const statuses: number[] = [];
    let body: unknown = null;
    for (let i = 0; i < 12; i++) {
      const res = await upgrade(`/swarm/${root}?token=${encodeURIComponent(token)}`);
      statuses.push(res.status);
      if (res.webSocket) {
        res.webSocket.accept();
        res.webSocket.close(1000);
      } else body = await res.json();
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(101));
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect(body).toMatchObject({ error: { code: "rate-limited" } });
    // Another peer is unaffected.
    expect((await join(root)).welcome?.peers).toBeGreaterThanOrEqual(1);
  });
});

describe("stats (issue 11 item 4)", () => {
  it("a peer's counters are clamped to what it could have moved: no offload poisoning", async () => {
    const root = randomRoot();
    const item = { chunks: 4, size: 1_000_000 };
    const honest = await join(root, { grant: item });
    const liar = await join(root, { grant: item });
    honest.send({ type: "stats", fromPeers: 500_000, fromEdge: 1_500_000, uploaded: 0 });
    liar.send({ type: "stats", fromPeers: Number.MAX_SAFE_INTEGER, fromEdge: 0, uploaded: Number.MAX_SAFE_INTEGER });
    await honest.want(); // both frames were handled before this answer (in order per socket)
    await liar.want();
    const s = await swarmStub(root).stats();
    // fromPeers ≤ 2 copies of the item; uploaded ≤ 1 copy + 1 Gbit/s since connect (well under 2^53).
    expect(s.bytes.fromPeers).toBe(2_500_000);
    expect(s.offload).toBeCloseTo(2.5 / 4, 10); // before the clamp: 0.99999999
    expect(s.bytes.fromEdge).toBe(1_500_000);
    expect(s.bytes.uploaded).toBeLessThan(1_000_000 + 125_000_000 * 60);
  });

  it("sums that pass 2^63 do not overflow: stats() and GET /swarm/<root>/stats answer", async () => {
    const root = randomRoot();
    await join(root);
    await runInDurableObject(swarmStub(root), (_i: SwarmCoordinator, state) => {
      const store = new SwarmStore(state.storage.sql);
      for (let i = 0; i < 1100; i++) store.recordStats(`p${i}`, { fromPeers: Number.MAX_SAFE_INTEGER, fromEdge: 1, uploaded: 0 }, 0);
      store.rollUpStats(1, new Set()); // fold half of them...
      for (let i = 0; i < 1100; i++) store.recordStats(`q${i}`, { fromPeers: Number.MAX_SAFE_INTEGER, fromEdge: 1, uploaded: 0 }, 5);
    });
    const s = await swarmStub(root).stats();
    expect(s.bytes.fromPeers).toBeGreaterThan(2 ** 63);
    const res = await exports.default.fetch(`https://edge.test/swarm/${root}/stats`);
    expect(res.status).toBe(200);
  });
});

describe("cost-proportional charge (issue 11 item 5)", () => {
  it("a want naming 2,000 chunks costs 1 + 31 tokens: the second in a burst of 40 is dropped", async () => {
    const root = randomRoot();
    await join(root, { have: [1] });
    await limitsOf(root, { ratePerSecond: 0.01, rateBurst: 40 });
    const asker = await join(root); // hello: 1 token
    const all = Array.from({ length: 2000 }, (_, i) => i); // ~9 KiB: within the 12 KiB frame limit
    asker.send({ type: "want", chunks: all });
    await asker.take("peers");
    asker.send({ type: "want", chunks: all });
    expect((await asker.error("rate-limited")).message).toMatch(/many chunks cost more/);
    // Small wants still pass while tokens last (40 − 1 − 32 = 7).
    expect((await asker.want([1])).length).toBe(1);
  });
});

describe("slot changes in a collection swarm (issue 11 item 5)", () => {
  it("starting or stopping to serve is charged for the collection chunks it recounts: toggling slots is rate-limited", async () => {
    const col = randomRoot();
    await join(col, { grant: COLLECTION_GRANT });
    await limitsOf(col, { ratePerSecond: 0.01, rateBurst: 600 });
    const m = await join(col, { grant: COLLECTION_GRANT }); // hello: 1 token
    // 8 items × 4,000 chunks, in frames of 2,000 indices (~9 KiB: within the 12 KiB frame limit):
    // 16 × (1 + 31) = 512 tokens.
    const items = Array.from({ length: 8 }, () => randomRoot());
    for (const item of items)
      for (const from of [0, 2000]) m.send({ type: "have", item, chunks: Array.from({ length: 2000 }, (_, i) => from + i) });
    // Each toggle (0 ↔ 4 slots) recounts 32,000 held chunks: 1 + 31 tokens; 87 are left, so the
    // third is refused. Charged 1 token each, twenty toggles would all pass.
    for (let k = 0; k < 20; k++) m.send({ type: "have", item: items[0]!, chunks: [0], uploadSlots: k % 2 === 0 ? 0 : 4 });
    expect((await m.error("rate-limited")).message).toMatch(/many chunks cost more/);
  });
});

describe("signals (issue 11 item 6)", () => {
  it("a per-target budget: five senders cannot flood one peer; they get target-busy", async () => {
    const root = randomRoot();
    const victim = await join(root);
    await limitsOf(root, { signalUnitsPerSecond: 0.001, signalUnitsBurst: 40 });
    const senders = await Promise.all(Array.from({ length: 5 }, () => join(root)));
    const sdp = "x".repeat(9 * 1024); // ~9 KiB: 10 units per frame
    for (const s of senders) for (let i = 0; i < 4; i++) s.send({ type: "signal", to: victim.peerId, data: { description: { type: "offer", sdp } } });
    // Every frame is answered one way or the other: relayed to the victim or refused to its sender.
    // The object may interleave one socket's frames around an await, so a later `want`'s answer is no
    // proof the earlier refusals were sent: wait (bounded) for all 20 outcomes instead.
    const refused = () => senders.reduce((n, s) => n + s.inbox.filter((m) => m.type === "error" && m.code === "target-busy").length, 0);
    const relayed = () => victim.inbox.filter((m) => m.type === "signal").length;
    for (const until = Date.now() + 10_000; refused() + relayed() < 20 && Date.now() < until; ) await Promise.all([victim.want(), ...senders.map((s) => s.want())]);
    const got = relayed();
    const busy = [refused()];
    expect(got).toBe(4); // 40 units / 10 per frame
    const codes = senders.flatMap((s) => s.inbox.filter((m) => m.type === "error").map((m) => (m as { code: string }).code));
    expect({ busy: busy.reduce((a, b) => a + b, 0), codes: codes.filter((c) => c !== "target-busy") }).toEqual({ busy: 20 - 4, codes: [] });
    // Another member is still reachable.
    senders[0]!.send({ type: "signal", to: senders[1]!.peerId, data: { candidate: null } });
    expect((await senders[1]!.take("signal")).from).toBe(senders[0]!.peerId);
  });
});

