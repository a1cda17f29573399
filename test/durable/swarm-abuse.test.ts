import { PROTOCOL_VERSION } from "../../protocol/swarm-protocol";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SwarmCoordinator } from "../../durable/swarm-coordinator";
import { join, open, openObject, randomPeerId, randomRoot, swarmStub } from "./helpers";

const hello = (peerId: string) => ({ type: "hello", version: PROTOCOL_VERSION, peerId, kind: "browser", have: "", uploadSlots: 2 });

describe("bad input", () => {
  it("answers every class of bad frame with its error code, and other peers keep working", async () => {
    const root = randomRoot();
    const holder = await join(root, { have: [4] });
    const bystander = await join(root);
    // 24 bad frames follow: lift the strike limit so this test sees every code (the next test covers 1008).
    await runInDurableObject(swarmStub(root), (inst: SwarmCoordinator) => {
      inst.limits = { ...inst.limits, maxBadFrames: 1000 };
    });
    const bad = await open(root);

    // Before hello.
    bad.send({ type: "want", chunks: [4] });
    expect(await bad.error("not-joined")).toMatchObject({ ref: "want" });
    bad.send({ ...hello(bad.peerId), version: 99 });
    expect(await bad.error("bad-message")).toMatchObject({ ref: "hello" });
    bad.send(hello(bad.peerId));
    await bad.take("welcome");

    const cases: [unknown, string][] = [
      ["{not json", "bad-json"],
      ["", "bad-json"],
      ["42", "bad-message"],
      ["[1,2]", "bad-message"],
      [{ kind: "hello" }, "bad-message"],
      [{ type: "teleport" }, "unknown-type"],
      [{ type: 7 }, "bad-message"],
      [{ type: "have", chunks: "all" }, "bad-message"],
      [{ type: "have", chunks: [-1] }, "bad-message"],
      [{ type: "have", chunks: [1.5] }, "bad-message"],
      [{ type: "have", chunks: [70_000] }, "bad-message"], // valid for the protocol, beyond what a manifest can have
      [{ type: "want", max: 0 }, "bad-message"],
      [{ type: "want", chunks: [1], max: 1000 }, "bad-message"],
      [{ type: "signal", to: "x", data: { candidate: null } }, "bad-message"],
      [{ type: "signal", to: holder.peerId, data: {} }, "bad-message"],
      [{ type: "signal", to: bad.peerId, data: { candidate: null } }, "bad-message"], // to self
      [{ type: "stats", fromPeers: -5, fromEdge: 0, uploaded: 0 }, "bad-message"],
      [{ type: "stats", fromPeers: "1", fromEdge: 0, uploaded: 0 }, "bad-message"],
      [hello(bad.peerId), "already-joined"],
      [{ type: "have", chunks: Array.from({ length: 4000 }, (_, i) => i) }, "too-large"], // > 12 KiB, not a signal
      [{ type: "signal", to: holder.peerId, data: { description: { type: "offer", sdp: "x".repeat(17 * 1024) } } }, "too-large"],
    ];
    for (const [frame, code] of cases) {
      bad.send(frame);
      const err = await bad.error(code);
      expect(err.code, JSON.stringify(frame).slice(0, 80)).toBe(code);
    }
    bad.send(new Uint8Array([1, 2, 3]).buffer);
    expect((await bad.error("bad-message")).message).toMatch(/binary/);
    expect(bad.closed).toBeNull();
    // The well-behaved peers are unaffected.
    expect((await bystander.want([4])).map((p) => p.peerId)).toEqual([holder.peerId]);
    holder.send({ type: "signal", to: bystander.peerId, data: { candidate: null } });
    expect((await bystander.take("signal")).from).toBe(holder.peerId);
    // The strikes were counted in the socket's attachment.
    const strikes = await runInDurableObject(swarmStub(root), (_inst: SwarmCoordinator, state) =>
      (state.getWebSockets(`peer:${bad.peerId}`)[0]!.deserializeAttachment() as { badFrames: number }).badFrames);
    expect(strikes).toBe(2 + cases.length + 1);
  }, 20_000);

  it("closes a peer with 1008 after repeated bad frames; the others keep working", async () => {
    const root = randomRoot();
    const holder = await join(root, { have: [0] });
    const other = await join(root);
    const abuser = await join(root, { have: [1] });
    expect((await other.want([1])).map((p) => p.peerId)).toEqual([abuser.peerId]); // told of it
    for (let i = 0; i < 19; i++) abuser.send("garbage");
    for (let i = 0; i < 19; i++) await abuser.error("bad-json");
    expect(abuser.closed).toBeNull();
    abuser.send("garbage #20");
    await abuser.error("bad-json");
    expect((await abuser.waitClosed()).code).toBe(1008);
    // The abuser left the swarm: others are told and it is no longer answered.
    expect((await other.take("peer-left")).peerId).toBe(abuser.peerId);
    expect((await other.want([0])).map((p) => p.peerId)).toEqual([holder.peerId]);
    expect((await swarmStub(root).stats()).peersOnline).toBe(2);
  });

  it("peer-mismatch: a hello for another peer id is refused and the socket closed 1008", async () => {
    const root = randomRoot();
    const p = await open(root);
    p.send(hello(randomPeerId()));
    await p.error("peer-mismatch");
    expect((await p.waitClosed()).code).toBe(1008);
    expect((await swarmStub(root).stats()).peersOnline).toBe(0);
  });

  it("rate-limits a flooding socket: frames past the burst are dropped with one rate-limited error", async () => {
    const root = randomRoot();
    const first = await join(root, { have: [1] });
    await runInDurableObject(swarmStub(root), (inst: SwarmCoordinator) => {
      inst.limits = { ...inst.limits, ratePerSecond: 0.01, rateBurst: 5 };
    });
    const flooder = await join(root); // hello takes 1 token: 4 left
    for (let i = 0; i < 30; i++) flooder.send({ type: "want", chunks: [1] });
    await flooder.error("rate-limited");
    // Frames are processed in order per socket: every answer to an admitted frame precedes the error.
    expect(flooder.inbox.filter((m) => m.type === "peers").length).toBe(4);
    flooder.inbox.length = 0;
    // Lift the limit; the next answer proves every flood frame before it was handled (in order per socket).
    await runInDurableObject(swarmStub(root), (inst: SwarmCoordinator) => {
      inst.limits = { ...inst.limits, ratePerSecond: 1e6, rateBurst: 100 };
    });
    expect((await flooder.want([1])).map((p) => p.peerId)).toEqual([first.peerId]);
    // One notice for the whole burst of drops (at most one per second), no answers to dropped frames.
    expect(flooder.inbox.filter((m) => m.type === "error" || m.type === "peers")).toEqual([]);
    expect(flooder.closed).toBeNull();
    expect((await first.want([1])).length).toBe(0);
  });

  it("refuses peers past MAX_PEERS_PER_SHARD with swarm-full and close 1013", async () => {
    const root = randomRoot();
    const a = await join(root);
    await runInDurableObject(swarmStub(root), (inst: SwarmCoordinator) => {
      inst.limits = { ...inst.limits, maxPeers: 2 };
    });
    const b = await join(root);
    const c = await openObject(root); // the object itself (the route would spill to XX~1)
    await c.error("swarm-full");
    expect((await c.waitClosed()).code).toBe(1013);
    // A reconnect of a member's own id is not counted against it (it replaces the old socket).
    const b2 = await join(root, { peerId: b.peerId });
    expect((await b.waitClosed()).code).toBe(1008);
    expect((await swarmStub(root).stats()).peersOnline).toBe(2);
    expect(await a.want()).toEqual([]);
    a.close();
    b2.close();
  });
});
