/**
 * The built SDK (run `npm run build:client` first; `npm test` does): the single file has no lazy
 * import left, and the split build — core plus lazily imported peer side — works end to end over the
 * fake coordinator and fake RTC, and its initial download stays within the 12 KB gzip budget.
 */
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type * as Sdk from "../../client/index";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import { digestOf } from "./helpers";
import { FakeRTCPeerConnection } from "./fakes/fake-rtc";
import { FakeHub } from "./fakes/fake-coordinator";
import { fakeEdgeServer } from "./fakes/fake-edge";

const DIST = resolve(__dirname, "../../dist/sdk");
const EDGE = "https://edge.test";
const CS = 16 * 1024;
const gz = (file: string) => gzipSync(readFileSync(file), { level: 9 }).length;

describe("built SDK", () => {
  it("single file: the peer side is bundled statically (no lazy import, no second request)", () => {
    const text = readFileSync(`${DIST}/edgeswarm.js`, "utf8");
    expect(text).not.toMatch(/\bimport\(/);
    expect(text).toContain("createSwarm");
  });

  it("split: the core imports the peer side lazily; the initial download is ≤ 12 KB gzip", () => {
    const files = readdirSync(`${DIST}/split`);
    const entry = readFileSync(`${DIST}/split/edgeswarm.js`, "utf8");
    const lazy = /import\("\.\/([^"]+)"\)/.exec(entry)?.[1];
    expect(lazy).toMatch(/^edgeswarm-p2p-runtime-.+\.js$/);
    expect(files).toContain(lazy);
    const eager = ["edgeswarm.js", ...[...entry.matchAll(/from"\.\/([^"]+)"/g)].map((m) => m[1]!)];
    const initial = eager.reduce((n, f) => n + gz(`${DIST}/split/${f}`), 0);
    expect(initial).toBeLessThanOrEqual(12 * 1024);
  });

  it("split: two peers exchange an item through the lazily loaded peer side", async () => {
    const sdk = (await import(pathToFileURL(`${DIST}/split/edgeswarm.js`).href)) as typeof Sdk;
    const edge = await fakeEdgeServer(EDGE, { "/demo/a.bin": { size: 20 * CS + 5 } });
    const hub = new FakeHub();
    const peer = async () =>
      sdk.createSwarm({
        edge: EDGE, fetch: edge.fetch, WebSocket: hub.socketClass() as never, RTCPeerConnection: FakeRTCPeerConnection as never,
        store: (await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 64 << 20 })) as never, peerWaitMs: 3000,
        // The fake edge answers at once: a peer-path test, not a race (edge lane slack).
        scheduler: { laneSlackMs: 60_000 },
      });
    const a = await peer();
    const b = await peer();
    try {
      const bytes = edge.items.get("/demo/a.bin")!.bytes;
      expect(digestOf(new Uint8Array(await (await a.fetch("/c/demo/a.bin")).arrayBuffer()))).toEqual(digestOf(bytes));
      for (let t = 0; t < 5000 && !hub.log.some((l) => l.peerId === a.peerId && l.type === "have" && l.raw.includes("20")); t += 10) await new Promise((r) => setTimeout(r, 10));
      expect(digestOf(new Uint8Array(await (await b.fetch("/c/demo/a.bin")).arrayBuffer()))).toEqual(digestOf(bytes));
      expect(b.stats().fromPeers).toBeGreaterThan(0);
      expect(b.stats().peersConnected).toBe(1);
    } finally {
      a.close();
      b.close();
    }
  });
});
