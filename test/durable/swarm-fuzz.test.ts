/**
 * Fuzz: at least 1,000 random and malformed frames, processed by one swarm object, from sockets the
 * object may close (reopened as needed); then well-behaved peers must still be served correctly and
 * their state must be untouched. Frames come from fast-check with a fixed seed (reproducible).
 */
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SwarmCoordinator } from "../../durable/swarm-coordinator";
import { decodeBitfield } from "../../protocol/swarm-protocol";
import { join, randomPeerId, randomRoot, swarmStub, type TestPeer } from "./helpers";

const TARGET_FRAMES = 1000;
const BATCH = 8;

function frameArb(knownPeers: string[]): fc.Arbitrary<string | ArrayBuffer> {
  const peerId = fc.oneof(fc.constantFrom(...knownPeers, "nobody-00000000"), fc.string({ maxLength: 70 }));
  const chunk = fc.oneof(fc.integer({ min: -3, max: 70_000 }), fc.integer({ min: 0, max: 63 }), fc.double(), fc.string({ maxLength: 4 }), fc.constant(null));
  const loose = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: a }, { weight: 1, arbitrary: fc.anything() });
  const typed = fc.oneof(
    fc.record({ type: fc.constant("hello"), version: loose(fc.constant(1)), peerId, kind: loose(fc.constantFrom("browser", "supernode")), have: loose(fc.base64String({ maxLength: 40 })), uploadSlots: loose(fc.integer({ min: -1, max: 70 })) }, { requiredKeys: ["type"] }),
    fc.record({ type: fc.constant("have"), chunks: loose(fc.array(chunk, { maxLength: 40 })), uploadSlots: loose(fc.integer({ min: -1, max: 70 })) }, { requiredKeys: ["type"] }),
    fc.record({ type: fc.constant("want"), chunks: loose(fc.array(chunk, { maxLength: 40 })), max: loose(fc.integer({ min: -1, max: 40 })) }, { requiredKeys: ["type"] }),
    fc.record({
      type: fc.constant("signal"), to: peerId,
      data: loose(fc.record({
        description: loose(fc.record({ type: loose(fc.constantFrom("offer", "answer", "pranswer", "rollback")), sdp: loose(fc.string({ maxLength: 300 })) })),
        candidate: loose(fc.option(fc.record({ candidate: loose(fc.string({ maxLength: 100 })), sdpMid: loose(fc.option(fc.string({ maxLength: 3 }))), sdpMLineIndex: loose(fc.option(fc.nat(3))) }))),
      }, { requiredKeys: [] })),
    }, { requiredKeys: ["type"] }),
    fc.record({ type: fc.constant("stats"), fromPeers: loose(fc.nat()), fromEdge: loose(fc.nat()), uploaded: loose(fc.oneof(fc.nat(), fc.double())) }, { requiredKeys: ["type"] }),
    fc.record({ type: fc.oneof(fc.constant("bye"), fc.string({ maxLength: 12 }), fc.anything()) }),
  );
  return fc.oneof(
    { weight: 6, arbitrary: typed.map((v) => JSON.stringify(v) ?? "undefined") },
    { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 100 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => a.slice().buffer as ArrayBuffer) },
    { weight: 1, arbitrary: fc.integer({ min: 11_000, max: 20_000 }).map((n) => JSON.stringify({ type: fc.sample(fc.constantFrom("signal", "have", "want"), 1)[0], pad: "x".repeat(n) })) },
  );
}

describe("fuzz", () => {
  it(`survives ≥ ${TARGET_FRAMES} random/malformed frames; well-behaved peers keep working`, async () => {
    const root = randomRoot();
    const holder = await join(root, { have: [2, 3, 5], location: { asn: 1 } });
    const leecher = await join(root, { location: { asn: 1 } });
    // Rate limiting has its own test; lift it so every fuzz frame reaches the parser and handlers.
    await runInDurableObject(swarmStub(root), (inst: SwarmCoordinator) => {
      inst.limits = { ...inst.limits, ratePerSecond: 1e6, rateBurst: 1e6 };
    });

    const frames = fc.sample(frameArb([holder.peerId, leecher.peerId]), { numRuns: 4000, seed: 20260501 });
    const fuzzers: TestPeer[] = [];
    let fuzzer: TestPeer | null = null;
    let processed = 0, sent = 0, reopened = 0, batchesClosed = 0;

    while (processed < TARGET_FRAMES && sent < frames.length) {
      if (!fuzzer || fuzzer.closed) {
        // Fresh identity, or (sometimes) the same one again: exercises duplicate-peer takeover too.
        const again = fuzzer && reopened % 5 === 4 ? fuzzer.peerId : randomPeerId("fuzz");
        fuzzer = await join(root, { peerId: again, have: [1] });
        fuzzers.push(fuzzer);
        reopened++;
      }
      const batch = frames.slice(sent, sent + BATCH);
      for (const f of batch) fuzzer.send(f);
      sent += batch.length;
      // Barrier: an answer to a valid want proves every frame before it was handled (in-order per socket).
      // A socket the fuzz closed (bye, strikes, peer-mismatch) or left answers nothing: wait for the close.
      fuzzer.send({ type: "want", chunks: [2] });
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && !fuzzer.closed && !fuzzer.inbox.some((m) => m.type === "peers" && m.peers.some((p) => p.peerId === holder.peerId))) {
        await new Promise((r) => setTimeout(r, 2));
      }
      if (fuzzer.inbox.some((m) => m.type === "peers" && m.peers.some((p) => p.peerId === holder.peerId))) processed += batch.length;
      else {
        batchesClosed++;
        if (!fuzzer.closed) fuzzer.close(); // left (e.g. bye) but not yet closed: drop it and reopen
        await fuzzer.waitClosed();
      }
      fuzzer.inbox.splice(0, fuzzer.inbox.length, ...fuzzer.inbox.filter((m) => m.type === "error" && m.code === "internal"));
    }
    expect(processed).toBeGreaterThanOrEqual(TARGET_FRAMES);
    console.log(`fuzz: ${sent} frames sent, ≥ ${processed} confirmed processed, ${reopened} sockets, ${batchesClosed} batches ended by a close`);

    // No frame ever produced an internal error or a frame the client parser refuses (both mapped to "internal").
    for (const f of fuzzers) expect(f.inbox.filter((m) => m.type === "error" && m.code === "internal")).toEqual([]);
    if (fuzzer && !fuzzer.closed) {
      fuzzer.close();
      await fuzzer.waitClosed();
    }

    // The well-behaved peers: state intact, served, relayed. (Fuzz signals may have reached them: valid relays.)
    leecher.inbox.length = 0;
    const peers = await leecher.want([2, 3, 5]);
    expect(peers.map((p) => p.peerId)).toEqual([holder.peerId]);
    expect(decodeBitfield(peers[0]!.have, 64)).toEqual([2, 3, 5]);
    holder.send({ type: "signal", to: leecher.peerId, data: { candidate: null } });
    expect(await leecher.take("signal", (m) => m.from === holder.peerId)).toMatchObject({ from: holder.peerId });
    leecher.send({ type: "have", chunks: [9] });
    await leecher.want([2]); // barrier: frames of two sockets have no order between them
    expect((await holder.want([9])).map((p) => p.peerId)).toEqual([leecher.peerId]);
    // Membership settles to exactly the two well-behaved peers once every fuzz socket is gone.
    const deadline = Date.now() + 5000;
    let stats = await swarmStub(root).stats();
    while (stats.peersOnline !== 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      stats = await swarmStub(root).stats();
    }
    expect(stats).toMatchObject({ peersOnline: 2, browsers: 2, supernodes: 0, chunksHeld: 4, chunkCopies: 4 });
    expect(stats.offload).toBeGreaterThanOrEqual(0);
    expect(stats.offload).toBeLessThanOrEqual(1);
    holder.close();
    leecher.close();
  }, 120_000);
});
