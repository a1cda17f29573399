import { describe, expect, it } from "vitest";
import { Seeder, saveDataRequested } from "../../client/seeder";
import { UploadLimiter } from "../../client/upload-limiter";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { decodeFrame, MAX_DATA_PAYLOAD, MAX_MESSAGE_BYTES, MAX_REQUEST_CHUNKS, type Frame } from "../../protocol/peer-frames";
import { MAX_QUEUED_CHUNKS_PER_PEER } from "../../client/seeder";
import { SEND_HIGH_WATER } from "../../client/peer-link";
import { bytesOf, settle } from "./helpers";

const root = "cd".repeat(32);
const info = { root, url: "/c/x", size: 40_000, chunkSize: 40_000, type: "x/y" };

async function setup(o: { slots?: number; enabled?: boolean } = {}) {
  const store = await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 1e6 });
  const chunk = bytesOf(40_000, 3);
  await store.put(info, 0, chunk);
  await store.put(info, 1, bytesOf(40_000, 4));
  const seeder = new Seeder({ store, limiter: new UploadLimiter({ bytesPerSec: 0, slots: o.slots ?? 2 }), enabled: () => o.enabled ?? true });
  const out: Frame[] = [];
  let gate: Promise<void> = Promise.resolve();
  let full = false;
  // Like RTCDataChannel.send, the channel copies the bytes: the seeder reuses its frame buffer.
  // While held, the channel reports a full buffer (above the high-water mark), as a congested link.
  const ch = {
    send: async (b: Uint8Array) => { await gate; expect(b.length).toBeLessThanOrEqual(MAX_MESSAGE_BYTES); out.push(decodeFrame(b.slice()) as Frame); },
    sendNow: (b: Uint8Array) => (out.push(decodeFrame(b.slice()) as Frame), true),
    get buffered() { return full ? SEND_HIGH_WATER + 1 : 0; },
  };
  const hold = (p: Promise<void>) => {
    full = true;
    gate = p.then(() => void (full = false));
  };
  return { seeder, store, chunk, out, ch, hold };
}

const req = (reqId: number, ...indices: number[]): Frame & { type: "request" } => ({ type: "request", reqId, indices: indices.length ? indices : [0], root });

describe("seeder", () => {
  it("uploads a held chunk as ordered DATA frames ≤ 16 KiB", async () => {
    const { seeder, chunk, out, ch } = await setup();
    seeder.handle("p", req(1), ch);
    await settle(10);
    expect(out.length).toBe(Math.ceil(40_000 / MAX_DATA_PAYLOAD));
    const joined = new Uint8Array(40_000);
    let expectOffset = 0;
    for (const f of out) {
      if (f.type !== "data") throw new Error(f.type);
      expect(f.offset).toBe(expectOffset);
      joined.set(f.bytes, f.offset);
      expectOffset += f.bytes.length;
    }
    expect(Buffer.from(joined).equals(Buffer.from(chunk))).toBe(true);
    expect(seeder.uploaded).toBe(40_000);
  });

  it("answers not-found, unavailable (opted out) and busy (no slot)", async () => {
    const a = await setup();
    a.seeder.handle("p", req(1, 5), a.ch);
    expect(a.out).toEqual([{ type: "error", reqId: 1, code: "not-found" }]);
    const b = await setup({ enabled: false });
    b.seeder.handle("p", req(2), b.ch);
    expect(b.out).toEqual([{ type: "error", reqId: 2, code: "unavailable" }]);
    const c = await setup({ slots: 1 });
    let open!: () => void;
    c.hold(new Promise<void>((r) => (open = r)));
    c.seeder.handle("p", req(3), c.ch);
    c.seeder.handle("q", req(4), c.ch);
    expect(c.out).toEqual([{ type: "busy", reqId: 4 }]);
    open();
  });

  it("stops an upload on cancel and frees the slot", async () => {
    const { seeder, out, ch, hold } = await setup({ slots: 1 });
    let open!: () => void;
    hold(new Promise<void>((r) => (open = r)));
    seeder.handle("p", req(1), ch);
    await settle();
    seeder.cancel("p", 1);
    open();
    await settle(10);
    expect(out.filter((f) => f.type === "data").length).toBeLessThanOrEqual(1);
    expect(seeder.activeUploads).toBe(0);
    seeder.handle("p", req(2), ch);
    expect(out.some((f) => f.type === "busy")).toBe(false);
  });

  it("serves one peer's requests one after the other, in order, on one slot", async () => {
    const { seeder, out, ch } = await setup({ slots: 1 });
    seeder.handle("p", req(1, 0), ch);
    seeder.handle("p", req(2, 1), ch);
    seeder.handle("p", req(3, 0), ch);
    expect(out.some((f) => f.type === "busy")).toBe(false); // queued behind the first, not refused
    expect(seeder.activeUploads).toBe(3);
    await settle(20);
    const order = out.map((f) => (f.type === "data" ? f.reqId : -1));
    const per = Math.ceil(40_000 / MAX_DATA_PAYLOAD);
    expect(order).toEqual([...Array(per).fill(1), ...Array(per).fill(2), ...Array(per).fill(3)]);
    const second = out.filter((f): f is Frame & { type: "data" } => f.type === "data" && f.reqId === 2);
    const joined = Buffer.concat(second.map((f) => f.bytes));
    expect(joined.equals(Buffer.from(bytesOf(40_000, 4)))).toBe(true);
    expect(seeder.activeUploads).toBe(0);
    seeder.handle("q", req(4), ch); // the slot was given back
    expect(out.some((f) => f.type === "busy")).toBe(false);
  });

  it("a partial cancel sends the kept chunks only, and finishes a chunk already being sent", async () => {
    const { seeder, out, ch, hold } = await setup({ slots: 1 });
    let open!: () => void;
    hold(new Promise<void>((r) => (open = r)));
    seeder.handle("p", req(1, 0, 1), ch);
    await settle();
    seeder.cancel("p", 1, 1);
    open();
    await settle(20);
    const data = out.filter((f): f is Frame & { type: "data" } => f.type === "data");
    expect(new Set(data.map((f) => f.index))).toEqual(new Set([0]));
    expect(Buffer.concat(data.map((f) => f.bytes)).equals(Buffer.from(bytesOf(40_000, 3)))).toBe(true);
    expect(seeder.activeUploads).toBe(0);
    // keep past what it already started never takes back a chunk being sent
    seeder.handle("p", req(2, 0, 1), ch);
    seeder.cancel("p", 2, 5);
    await settle(20);
    expect(out.filter((f) => f.type === "data" && f.reqId === 2).length).toBe(2 * Math.ceil(40_000 / MAX_DATA_PAYLOAD));
  });

  it("skips a queued request the peer cancelled", async () => {
    const { seeder, out, ch } = await setup({ slots: 1 });
    seeder.handle("p", req(1, 0), ch);
    seeder.handle("p", req(2, 1), ch);
    seeder.cancel("p", 2);
    await settle(20);
    expect(out.every((f) => f.type === "data" && f.reqId === 1)).toBe(true);
    expect(seeder.activeUploads).toBe(0);
  });

  it(`answers busy past ${MAX_QUEUED_CHUNKS_PER_PEER} queued chunks of one peer`, async () => {
    const { seeder, out, ch, hold } = await setup({ slots: 1 });
    let open!: () => void;
    hold(new Promise<void>((r) => (open = r)));
    for (let i = 1; i <= MAX_QUEUED_CHUNKS_PER_PEER + 1; i++) seeder.handle("p", req(i), ch);
    expect(out).toEqual([{ type: "busy", reqId: MAX_QUEUED_CHUNKS_PER_PEER + 1 }]);
    open();
  });

  it("serves a run of chunks under one request id, in the order named", async () => {
    const { seeder, out, ch } = await setup();
    seeder.handle("p", req(7, 0, 1), ch);
    await settle(20);
    const data = out.filter((f): f is Frame & { type: "data" } => f.type === "data");
    expect(data.every((f) => f.reqId === 7)).toBe(true);
    expect(Buffer.concat(data.filter((f) => f.index === 0).map((f) => f.bytes)).equals(Buffer.from(bytesOf(40_000, 3)))).toBe(true);
    expect(Buffer.concat(data.filter((f) => f.index === 1).map((f) => f.bytes)).equals(Buffer.from(bytesOf(40_000, 4)))).toBe(true);
    expect(data.map((f) => f.index)).toEqual([...data.map((f) => f.index)].sort());
    expect(seeder.uploaded).toBe(80_000);
  });

  it("refuses a run naming a chunk it does not hold, whole, before sending a byte or taking a slot", async () => {
    const { seeder, out, ch } = await setup({ slots: 1 });
    seeder.handle("p", req(1, 0, 1, 9), ch);
    expect(out).toEqual([{ type: "error", reqId: 1, code: "not-found" }]);
    expect(seeder.activeUploads).toBe(0);
    seeder.handle("q", req(2, 1), ch); // the slot is still free
    await settle(20);
    expect(out.filter((f) => f.type === "data" && f.reqId === 2).length).toBe(Math.ceil(40_000 / MAX_DATA_PAYLOAD));
  });

  it("counts queued runs in chunks: a flood of full runs is refused busy once the bound is reached", async () => {
    const { seeder, out, ch, hold } = await setup({ slots: 1 });
    let open!: () => void;
    hold(new Promise<void>((r) => (open = r)));
    const full = Array.from({ length: MAX_REQUEST_CHUNKS }, (_, k) => k % 2); // not valid on the wire (repeats), fine for the seeder's bound
    const runs = MAX_QUEUED_CHUNKS_PER_PEER / MAX_REQUEST_CHUNKS;
    for (let i = 1; i <= runs + 3; i++) seeder.handle("p", { type: "request", reqId: i, root, indices: full }, ch);
    expect(out).toEqual([1, 2, 3].map((k) => ({ type: "busy", reqId: runs + k })));
    expect(seeder.activeUploads).toBe(runs);
    // A single chunk more is refused too; cancelling a queued run makes room again.
    seeder.handle("p", req(99), ch);
    expect(out.at(-1)).toEqual({ type: "busy", reqId: 99 });
    seeder.cancel("p", runs);
    seeder.handle("p", req(100), ch);
    expect(out.at(-1)).toEqual({ type: "busy", reqId: 99 });
    open();
  });

  it("stops a run whose next chunk was evicted meanwhile with not-found, after the chunks it sent", async () => {
    const { seeder, store, out, ch } = await setup({ slots: 1 });
    seeder.handle("p", req(5, 0, 1), ch);
    store.forget(root, 1); // accepted (held then), gone before it is read
    await settle(20);
    expect(out.filter((f) => f.type === "data").every((f) => f.type === "data" && f.index === 0)).toBe(true);
    expect(out.filter((f) => f.type === "data").length).toBe(Math.ceil(40_000 / MAX_DATA_PAYLOAD));
    expect(out.at(-1)).toEqual({ type: "error", reqId: 5, code: "not-found" });
    expect(seeder.activeUploads).toBe(0);
  });

  it("gives a peer that reconnected a new queue; the old link's uploads stop", async () => {
    const a = await setup({ slots: 2 });
    let open!: () => void;
    a.hold(new Promise<void>((r) => (open = r)));
    a.seeder.handle("p", req(1), a.ch);
    a.seeder.dropPeer("p");
    const fresh: Frame[] = [];
    const ch2 = { send: async (b: Uint8Array) => void fresh.push(decodeFrame(b.slice()) as Frame), sendNow: (b: Uint8Array) => (fresh.push(decodeFrame(b.slice()) as Frame), true), buffered: 0 };
    a.seeder.handle("p", req(2), ch2);
    await settle(20);
    expect(fresh.filter((f) => f.type === "data").length).toBe(Math.ceil(40_000 / MAX_DATA_PAYLOAD));
    open();
    await settle(20);
    expect(a.out.filter((f) => f.type === "data").length).toBeLessThanOrEqual(1);
    expect(a.seeder.activeUploads).toBe(0);
  });

  it("reads navigator.connection.saveData", () => {
    expect(saveDataRequested({ connection: { saveData: true } })).toBe(true);
    expect(saveDataRequested({})).toBe(false);
    expect(saveDataRequested(undefined)).toBe(false);
  });
});
