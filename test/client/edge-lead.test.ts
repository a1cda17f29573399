/**
 * Issue 18 item 3: the item's first chunks come with its manifest (`/m/?lead=<n>`, client/edge-lead.ts)
 * instead of one round trip after it. Unit tests of the lead's byte stream, then `swarm.fetch` against
 * a real HTTP edge (node:http on loopback) that sends leads — dropping the socket mid-lead, or
 * sending wrong lead bytes, as real faults.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { leadChunks, leadEdgeFetch, splitHead } from "../../client/edge-lead";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { createSwarm, type Swarm } from "../../client/swarm";
import { MANIFEST_LEAD_HEADER, formatManifestLead, type Manifest, type ManifestResponse } from "../../protocol/manifest";
import { bytesOf, content, digestOf, fakeEdge } from "./helpers";

/** A stream of `bytes` in `piece`-byte reads; `failAt`: errors once that many bytes were sent. */
function streamOf(bytes: Uint8Array, piece = 1000, failAt = Infinity) {
  let pos = 0;
  const seen = { cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pos >= failAt) return c.error(new Error("connection reset"));
      if (pos >= bytes.length) return c.close();
      const n = Math.min(piece, bytes.length - pos, failAt - pos);
      c.enqueue(bytes.slice(pos, pos + n));
      pos += n;
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { body, seen };
}

async function read(s: ReadableStream<Uint8Array>, stopAfter = Infinity): Promise<Uint8Array> {
  const r = s.getReader();
  const parts: number[] = [];
  while (parts.length < stopAfter) {
    const { done, value } = await r.read();
    if (done) break;
    parts.push(...value);
  }
  if (parts.length >= stopAfter) await r.cancel();
  return new Uint8Array(parts);
}

const never = new AbortController().signal;

describe("leadEdgeFetch", () => {
  const item = bytesOf(50_000, 3);

  it("serves requests that follow each other from the lead, the part past it by Range — no byte twice", async () => {
    const edge = fakeEdge(item);
    const f = leadEdgeFetch({ bytes: 20_000, body: streamOf(item.subarray(0, 20_000), 3000).body }, edge.fetch);
    const a = read(await f(0, 5000, never));
    const b = f(5000, 30_000, never).then(read); // asked before the first is read: queued behind it
    expect([...(await a)]).toEqual([...item.subarray(0, 5000)]);
    expect([...(await b)]).toEqual([...item.subarray(5000, 30_000)]);
    expect(edge.requests).toEqual([[20_000, 30_000]]);
  });

  it("a request elsewhere goes to the edge; the lead still serves the one that follows it", async () => {
    const edge = fakeEdge(item);
    const f = leadEdgeFetch({ bytes: 20_000, body: streamOf(item.subarray(0, 20_000)).body }, edge.fetch);
    expect([...(await read(await f(40_000, 50_000, never)))]).toEqual([...item.subarray(40_000)]);
    expect([...(await read(await f(0, 20_000, never)))]).toEqual([...item.subarray(0, 20_000)]);
    expect(edge.requests).toEqual([[40_000, 50_000]]);
  });

  it("a request cut short: the next one skips its unread lead bytes; with none after it the lead is cancelled", async () => {
    const edge = fakeEdge(item);
    const lead = streamOf(item.subarray(0, 20_000), 500);
    const f = leadEdgeFetch({ bytes: 20_000, body: lead.body }, edge.fetch);
    const a = await f(0, 8000, never);
    const b = f(8000, 12_000, never); // its stream opens once the first request is done with the lead
    expect((await read(a, 1000)).length).toBeGreaterThanOrEqual(1000); // cancelled after ~1000 bytes
    expect([...(await read(await b))]).toEqual([...item.subarray(8000, 12_000)]);
    expect(lead.seen.cancelled).toBe(false);
    await read(await f(12_000, 16_000, never), 100); // cut short, nothing after it
    expect(lead.seen.cancelled).toBe(true);
    expect([...(await read(await f(16_000, 20_000, never)))]).toEqual([...item.subarray(16_000, 20_000)]);
    expect(edge.requests).toEqual([[16_000, 20_000]]);
  });

  it("a lead that fails mid-request: the rest of that request by Range from the byte reached", async () => {
    const edge = fakeEdge(item);
    const f = leadEdgeFetch({ bytes: 30_000, body: streamOf(item.subarray(0, 30_000), 1000, 7500).body }, edge.fetch);
    expect([...(await read(await f(0, 30_000, never)))]).toEqual([...item.subarray(0, 30_000)]);
    expect(edge.requests).toEqual([[7500, 30_000]]);
    expect([...(await read(await f(30_000, 40_000, never)))]).toEqual([...item.subarray(30_000, 40_000)]);
  });

  it("cancel() ends the lead: its source is cancelled and later requests go to the edge", async () => {
    const edge = fakeEdge(item);
    const lead = streamOf(item.subarray(0, 20_000));
    const f = leadEdgeFetch({ bytes: 20_000, body: lead.body }, edge.fetch);
    f.cancel();
    expect(lead.seen.cancelled).toBe(true);
    expect([...(await read(await f(0, 10_000, never)))]).toEqual([...item.subarray(0, 10_000)]);
    expect(edge.requests).toEqual([[0, 10_000]]);
  });

  it("splitHead returns the head and the rest across read boundaries", async () => {
    const all = bytesOf(10_000, 9);
    const { head, rest } = await splitHead(streamOf(all, 777).body, 2500);
    expect([...head]).toEqual([...all.subarray(0, 2500)]);
    expect([...(await read(rest))]).toEqual([...all.subarray(2500)]);
    await expect(splitHead(streamOf(all.subarray(0, 100)).body, 2500)).rejects.toThrow(/ended/);
  });

  it("leadChunks: the fast-start chunk plus the window; none with peers linked or the item stored", () => {
    expect(leadChunks(undefined, false, false)).toBe(33);
    expect(leadChunks({ window: 8 }, false, undefined)).toBe(9);
    expect(leadChunks({ window: 500 }, false, false)).toBe(64);
    expect(leadChunks(undefined, true, false)).toBe(0);
    expect(leadChunks(undefined, false, true)).toBe(0);
  });
});

/** A real HTTP edge on loopback: `/m/` (with leads) and `/c/` (ranges), and what it served. */
async function httpEdge(item: { bytes: Uint8Array; manifest: Manifest }, fault: { dropLeadAfter?: number; flipLeadByte?: number; ineligible?: boolean } = {}) {
  const log = { manifests: [] as string[], ranges: [] as string[], plain: 0, cBytes: 0, leadBytes: 0 };
  const server: Server = createServer((req, res: ServerResponse) => {
    const u = new URL(req.url!, "http://x");
    if (u.pathname.startsWith("/m/")) {
      log.manifests.push(u.search);
      if (fault.ineligible) return res.writeHead(409, { "content-type": "application/json" }).end('{"error":{"code":"ineligible","message":"private"}}');
      const peerId = u.searchParams.get("peer")!;
      const answer: ManifestResponse = { manifest: item.manifest, join: { peerId, token: "t", expires: Date.now() + 60_000, url: "/swarm/x", swarm: item.manifest.root }, iceServers: [] };
      const json = Buffer.from(JSON.stringify(answer));
      const n = Number(u.searchParams.get("lead") ?? 0);
      if (!n) return res.writeHead(200, { "content-type": "application/json" }).end(json);
      const lead = Buffer.from(item.bytes.subarray(0, Math.min(item.bytes.length, n * item.manifest.chunkSize)));
      if (fault.flipLeadByte !== undefined) lead[fault.flipLeadByte]! ^= 0xff;
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": json.length + lead.length, [MANIFEST_LEAD_HEADER]: formatManifestLead(json.length, lead.length) });
      const sent = Math.min(lead.length, fault.dropLeadAfter ?? Infinity);
      log.leadBytes += sent;
      res.write(json);
      if (sent < lead.length) return res.write(lead.subarray(0, sent), () => res.socket?.destroy());
      return res.end(lead);
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
    if (!range) {
      log.plain++;
      log.cBytes += item.bytes.length;
      return res.writeHead(200, { "content-length": item.bytes.length }).end(Buffer.from(item.bytes));
    }
    const [s, e] = [Number(range[1]), Math.min(Number(range[2]) + 1, item.bytes.length)];
    log.ranges.push(req.headers.range!);
    log.cBytes += e - s;
    res.writeHead(206, { "content-range": `bytes ${s}-${e - 1}/${item.bytes.length}`, "content-length": e - s }).end(Buffer.from(item.bytes.subarray(s, e)));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return { origin, log };
}

const servers: Server[] = [];
const swarms: Swarm[] = [];
afterEach(async () => {
  for (const s of swarms.splice(0)) s.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => (s.closeAllConnections(), s.close(r)))));
});

async function visitor(origin: string) {
  const s = createSwarm({
    edge: origin, peerId: "lead-visitor", RTCPeerConnection: null, WebSocket: null,
    store: await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 64 << 20 }),
  });
  swarms.push(s);
  return s;
}

describe("swarm.fetch with a lead", () => {
  const CS = 16 * 1024;

  it("the first chunks come with the manifest: no Range for them, no byte fetched twice, bytes equal", async () => {
    const item = await content(40 * CS + 123, CS, 5);
    const { origin, log } = await httpEdge(item);
    const s = await visitor(origin);
    const res = await s.fetch("/c/demo/a.bin");
    expect(digestOf(new Uint8Array(await res.arrayBuffer()))).toEqual(digestOf(item.bytes));
    expect(log.manifests).toHaveLength(1);
    expect(new URLSearchParams(log.manifests[0]).get("lead")).toBe("33");
    expect(log.ranges).toEqual([`bytes=${33 * CS}-${item.bytes.length - 1}`]);
    expect(log.leadBytes + log.cBytes).toBe(item.bytes.length);
    expect(s.stats().fromEdge).toBe(item.bytes.length);
  });

  it("an item within the lead: one request in all", async () => {
    const item = await content(5 * CS + 7, CS, 6);
    const { origin, log } = await httpEdge(item);
    const s = await visitor(origin);
    expect(digestOf(new Uint8Array(await (await s.fetch("/c/demo/a.bin")).arrayBuffer()))).toEqual(digestOf(item.bytes));
    expect(log.ranges).toEqual([]);
    expect(log.cBytes).toBe(0);
  });

  it("the edge drops the socket mid-lead: the rest comes by Range from where the lead stopped; bytes equal", async () => {
    const item = await content(40 * CS + 123, CS, 7);
    const { origin, log } = await httpEdge(item, { dropLeadAfter: 5 * CS + 100 });
    const s = await visitor(origin);
    const res = await s.fetch("/c/demo/a.bin");
    expect(digestOf(new Uint8Array(await res.arrayBuffer()))).toEqual(digestOf(item.bytes));
    const starts = log.ranges.map((r) => Number(/^bytes=(\d+)-/.exec(r)![1]));
    // The lead's part again from the first byte not received, never from the item's start.
    expect(starts.some((x) => x > 0 && x <= 5 * CS + 100)).toBe(true);
    expect(log.plain).toBe(0);
  });

  it("wrong lead bytes fail their chunk's hash: the item still ends byte-exact, from the edge's true bytes", async () => {
    const item = await content(40 * CS + 123, CS, 8);
    const { origin, log } = await httpEdge(item, { flipLeadByte: 3 * CS + 5 });
    const s = await visitor(origin);
    const res = await s.fetch("/c/demo/a.bin");
    expect(digestOf(new Uint8Array(await res.arrayBuffer()))).toEqual(digestOf(item.bytes));
    // Chunks before the bad one were used; the rest was fetched again from chunk 3 on.
    expect(log.ranges.some((r) => r.startsWith(`bytes=${3 * CS}-`))).toBe(true);
  });

  it("a caller's Range asks for no lead; an ineligible item is a plain GET", async () => {
    const item = await content(40 * CS + 123, CS, 9);
    const a = await httpEdge(item);
    const s = await visitor(a.origin);
    const part = await s.fetch("/c/demo/a.bin", { headers: { range: "bytes=100-199" } });
    expect([...new Uint8Array(await part.arrayBuffer())]).toEqual([...item.bytes.subarray(100, 200)]);
    expect(new URLSearchParams(a.log.manifests[0]).has("lead")).toBe(false);

    const b = await httpEdge(item, { ineligible: true });
    const t = await visitor(b.origin);
    expect(digestOf(new Uint8Array(await (await t.fetch("/c/demo/a.bin")).arrayBuffer()))).toEqual(digestOf(item.bytes));
    expect(b.log.plain).toBe(1);
    expect(b.log.ranges).toEqual([]);
  });

  it("a Range fetch sharing a whole fetch's manifest answer leaves the lead to it: no byte twice", async () => {
    const item = await content(40 * CS + 123, CS, 11);
    const { origin, log } = await httpEdge(item);
    const s = await visitor(origin);
    const [whole, part] = await Promise.all([s.fetch("/c/demo/a.bin"), s.fetch("/c/demo/a.bin", { headers: { range: "bytes=1000-1999" } })]);
    expect([...new Uint8Array(await part.arrayBuffer())]).toEqual([...item.bytes.subarray(1000, 2000)]);
    expect(digestOf(new Uint8Array(await whole.arrayBuffer()))).toEqual(digestOf(item.bytes));
    expect(log.manifests).toHaveLength(1);
    expect(log.ranges).toContain(`bytes=${33 * CS}-${item.bytes.length - 1}`);
    // The whole item once (lead + the rest) and the Range fetch's one chunk.
    expect(log.leadBytes + log.cBytes).toBe(item.bytes.length + CS);
  });

  it("two fetches of one URL at once: one takes the lead, the other asks the edge; both byte-exact", async () => {
    const item = await content(40 * CS + 123, CS, 10);
    const { origin, log } = await httpEdge(item);
    const s = await visitor(origin);
    const [x, y] = await Promise.all([s.fetch("/c/demo/a.bin"), s.fetch("/c/demo/a.bin")]);
    const [bx, by] = await Promise.all([x.arrayBuffer(), y.arrayBuffer()]);
    expect(digestOf(new Uint8Array(bx))).toEqual(digestOf(item.bytes));
    expect(digestOf(new Uint8Array(by))).toEqual(digestOf(item.bytes));
    expect(log.manifests).toHaveLength(1);
    expect(log.leadBytes + log.cBytes).toBe(2 * item.bytes.length);
  });
});
