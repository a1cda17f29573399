/**
 * The peer path's limits against real remote peers (two or three `PeerMesh`es, or a bare
 * `PeerLink` speaking raw frames, over the in-process RTC fake): a flood of run requests, runs
 * naming chunks the seeder does not hold, runs longer than the format allows, and peers of another
 * peer-frame version.
 */
import { describe, expect, it } from "vitest";
import { PeerMesh } from "../../client/peer-mesh";
import { PeerLink, type RTCPeerConnectionCtor } from "../../client/peer-link";
import { PeerRequestError } from "../../client/chunk-sources";
import { Seeder } from "../../client/seeder";
import { UploadLimiter } from "../../client/upload-limiter";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { encodeFrame, MAX_REQUEST_CHUNKS, PEER_FRAMES_VERSION, type Frame } from "../../protocol/peer-frames";
import type { SignalData } from "../../protocol/swarm-protocol";
import { FakeRTCPeerConnection } from "./fakes/fake-rtc";
import { bytesOf } from "./helpers";

const RTC = FakeRTCPeerConnection as unknown as RTCPeerConnectionCtor;
const ROOT = "cd".repeat(32);
const CS = 16 * 1024;
const COUNT = 40;
const info = { root: ROOT, url: "/c/x", size: COUNT * CS, chunkSize: CS, type: "x/y" };
const B = "peer-bbbbbbbb";

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  for (let t = 0; t < ms && !cond(); t += 5) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error("condition not reached");
}

/** Peer B: a real mesh + seeder holding chunks 0..COUNT-1, uploads capped at `bytesPerSec`. */
async function seederNet(ids: string[], bytesPerSec: number) {
  const store = await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 1e8 });
  for (let i = 0; i < COUNT; i++) await store.put(info, i, bytesOf(CS, i));
  const seeder = new Seeder({ store, limiter: new UploadLimiter({ bytesPerSec, slots: 2 }), enabled: () => true });
  const bits = new Uint8Array(Math.ceil(COUNT / 8)).fill(0xff);
  const m: Record<string, PeerMesh> = {};
  /** Bare links (tests' raw peers) that B's signals go to. */
  const raw: Record<string, PeerLink> = {};
  const closed: string[] = [];
  for (const me of [B, ...ids]) {
    m[me] = new PeerMesh({
      localId: me, RTCPeerConnection: RTC, maxPeers: 8,
      signal: (root, to, data) => (setImmediate(() => (m[to] ? m[to].handleSignal(root, me, data) : raw[to]?.handleSignal(data))), true),
      onRequest: (p, f, link) => (me === B ? seeder.handle(p, f, link) : undefined),
      onCancel: (p, reqId, keep) => (me === B ? seeder.cancel(p, reqId, keep) : undefined),
      localHave: () => (me === B ? { count: COUNT, bits } : undefined),
      onChange: () => {},
      onLinkClosed: (p, r) => closed.push(`${me}->${p}:${r}`),
    });
  }
  for (const id of ids) m[id]!.connect(B, ROOT);
  await until(() => ids.every((id) => m[id]!.peersFor(ROOT).length === 1));
  return { m, seeder, closed, raw };
}

/** Asks B for `indices`; resolves with the chunks received or the error code. */
function ask(mesh: PeerMesh, indices: number[]) {
  const got = new Map<number, Uint8Array>();
  const req = mesh.request(B, ROOT, indices.map((index) => ({ index, length: CS })), (i, bytes) => got.set(i, bytes));
  return { req, got, outcome: req.done.then(() => "done", (e: PeerRequestError) => e.code) };
}

/** A bare link to mesh `m` (as `id`): it speaks whatever frames the test sends, nothing else. */
function rawPeer(mesh: () => PeerMesh, id: string, meshId: string) {
  const frames: Frame[] = [];
  const closed: string[] = [];
  const link = new PeerLink({
    localId: id, remoteId: meshId, RTCPeerConnection: RTC,
    signal: (d: SignalData) => setImmediate(() => mesh().handleSignal(ROOT, id, d)),
    onOpen: () => {},
    onFrame: (f) => frames.push(f),
    onClose: (r) => closed.push(r),
  });
  return { link, frames, closed };
}

describe("peer path limits (real peers)", () => {
  it("a peer flooding run requests gets busy past the per-peer bound, and another peer is still served", async () => {
    // 64 KiB/s: the first accepted run takes seconds to send, so the flood meets a full queue.
    const { m, seeder, closed } = await seederNet(["peer-flooder1", "peer-honest01"], 64 * 1024);
    const full = Array.from({ length: MAX_REQUEST_CHUNKS }, (_, k) => k);
    const flood = Array.from({ length: 100 }, () => ask(m["peer-flooder1"]!, full));
    const outcomes = await Promise.all(flood.slice(2).map((f) => f.outcome));
    // 32 chunks accepted (two runs of 16): every later run is refused busy, no byte read for it.
    expect(outcomes.every((o) => o === "busy")).toBe(true);
    expect(seeder.activeUploads).toBe(2);
    // The honest peer takes the second upload slot and gets its chunk, byte for byte.
    const honest = ask(m["peer-honest01"]!, [7]);
    expect(await honest.outcome).toBe("done");
    expect(Buffer.from(honest.got.get(7)!).equals(Buffer.from(bytesOf(CS, 7)))).toBe(true);
    // Busy is not misbehaviour: no link closed, nobody banned.
    expect(closed).toEqual([]);
    expect(m[B]!.banned.size).toBe(0);
    for (const f of flood.slice(0, 2)) f.req.cancel();
    await until(() => seeder.activeUploads === 0);
    for (const mesh of Object.values(m)) mesh.close();
  });

  it("a partial CANCEL: the seeder drops the run's queued chunks unsent, the request ends after the kept ones", async () => {
    // 64 KiB/s past a 64 KiB burst: chunks 4.. take ~250 ms each to leave, so the cancel meets a queue.
    const { m, seeder, closed } = await seederNet(["peer-aaaaaaaa"], 64 * 1024);
    const a = m["peer-aaaaaaaa"]!;
    const run = ask(a, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await until(() => run.got.size >= 5);
    run.req.trim(6);
    expect(await run.outcome).toBe("done");
    expect([...run.got.keys()]).toEqual([0, 1, 2, 3, 4, 5]);
    for (const i of run.got.keys()) expect(Buffer.from(run.got.get(i)!).equals(Buffer.from(bytesOf(CS, i)))).toBe(true);
    await until(() => seeder.activeUploads === 0);
    // At most the chunk being sent when the cancel arrived went out beyond the kept six.
    expect(seeder.uploaded).toBeLessThanOrEqual(7 * CS);
    // The link and the upload slot are free for the next run.
    const next = ask(a, [9]);
    expect(await next.outcome).toBe("done");
    expect(Buffer.from(next.got.get(9)!).equals(Buffer.from(bytesOf(CS, 9)))).toBe(true);
    expect(closed).toEqual([]);
    for (const mesh of Object.values(m)) mesh.close();
  });

  it("refuses a run naming a chunk it does not hold, whole: not-found, no DATA, link kept", async () => {
    const { m, seeder, closed } = await seederNet(["peer-aaaaaaaa"], 0);
    const a = m["peer-aaaaaaaa"]!;
    const bad = ask(a, [0, 1, COUNT + 5]);
    expect(await bad.outcome).toBe("not-found");
    expect(bad.got.size).toBe(0);
    expect(seeder.uploaded).toBe(0);
    const good = ask(a, [2, 3, 30]);
    expect(await good.outcome).toBe("done");
    for (const i of [2, 3, 30]) expect(Buffer.from(good.got.get(i)!).equals(Buffer.from(bytesOf(CS, i)))).toBe(true);
    expect(closed).toEqual([]);
    for (const mesh of Object.values(m)) mesh.close();
  });

  it("a run longer than the format allows, or not increasing, is a protocol violation: link closed, peer banned", async () => {
    for (const body of [
      Uint8Array.of(1, 0, 0, 0, 1, ...new Uint8Array(32), MAX_REQUEST_CHUNKS + 1, ...new Uint8Array(4 * (MAX_REQUEST_CHUNKS + 1))),
      Uint8Array.of(1, 0, 0, 0, 1, ...new Uint8Array(32), 2, 0, 0, 0, 3, 0, 0, 0, 3),
    ]) {
      const { m, seeder, closed, raw: routes } = await seederNet([], 0);
      const raw = rawPeer(() => m[B]!, "peer-rawrawra", B);
      routes["peer-rawrawra"] = raw.link;
      raw.link.connect();
      await until(() => raw.link.state === "open");
      raw.link.sendNow(body);
      await until(() => closed.includes(`${B}->peer-rawrawra:protocol`));
      expect([...m[B]!.banned]).toEqual(["peer-rawrawra"]);
      expect(seeder.activeUploads).toBe(0);
      m[B]!.close();
    }
  });

  it("a version-1 peer: never asked for chunks, and its one-chunk request is refused with ERROR bad-request", async () => {
    const asker = new PeerMesh({
      localId: "peer-asker001", RTCPeerConnection: RTC, maxPeers: 4,
      signal: (_root, _to, data) => (setImmediate(() => old.link.handleSignal(data)), true),
      onRequest: () => {}, onCancel: () => {}, localHave: () => undefined, onChange: () => {},
    });
    // The old peer holds chunks (HAVE is unchanged) but sends no HELLO: it is not a source.
    const old = rawPeer(() => asker, "peer-oldv1old", "peer-asker001");
    asker.connect("peer-oldv1old", ROOT);
    await until(() => old.link.state === "open" && old.frames.some((f) => f.type === "hello"));
    expect(old.frames[0]).toEqual({ type: "hello", version: PEER_FRAMES_VERSION });
    old.link.sendNow(encodeFrame({ type: "have", root: ROOT, count: 8, bits: new Uint8Array([0xff]) }));
    await new Promise((r) => setTimeout(r, 20));
    expect(asker.peersFor(ROOT)).toEqual([]);
    expect(asker.connecting(ROOT)).toBe(true); // open, its HELLO still due: not yet judged
    // Its version-1 request (41 bytes: 01 | reqId | index | root) gets the refusal it understands.
    old.link.sendNow(encodeFrame({ type: "outdated", reqId: 5 }));
    await until(() => old.frames.some((f) => f.type === "error"));
    expect(old.frames.filter((f) => f.type === "error")).toEqual([{ type: "error", reqId: 5, code: "bad-request" }]);
    expect(old.closed).toEqual([]);
    asker.close();
  });

  it("a peer announcing another version is disconnected with reason 'version', not banned", async () => {
    const closed: string[] = [];
    const mesh = new PeerMesh({
      localId: "peer-meshmesh", RTCPeerConnection: RTC, maxPeers: 4,
      signal: (_root, _to, data) => (setImmediate(() => other.link.handleSignal(data)), true),
      onRequest: () => {}, onCancel: () => {}, localHave: () => undefined, onChange: () => {},
      onLinkClosed: (p, r) => closed.push(`${p}:${r}`),
    });
    const other = rawPeer(() => mesh, "peer-future03", "peer-meshmesh");
    mesh.connect("peer-future03", ROOT);
    await until(() => other.link.state === "open");
    other.link.sendNow(encodeFrame({ type: "hello", version: PEER_FRAMES_VERSION + 1 }));
    await until(() => closed.length > 0);
    expect(closed).toEqual(["peer-future03:version"]);
    expect(mesh.banned.size).toBe(0);
    mesh.close();
  });
});
