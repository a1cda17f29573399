/**
 * The bench's one-access-link-per-visitor harness (bench/lib/netns-host.ts, bench/peer/visitor-link.ts)
 * proves what the edge race and cold-item rows rely on: a visitor process on its own link reaches
 * the bench only through its token bucket (not the bench's loopback), the bucket's counter covers
 * every byte it received, and a run whose bytes skipped the bucket is refused — here by removing
 * the bucket for real mid-test.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forkInNetns, ownNamespace, type NetnsHost } from "../../bench/lib/netns-host";
import { nextMessage, stopChild } from "../../bench/lib/procs";
import { markShaped, startEdgeRelays, verifyShaped, visitorLink, type EdgeRelays } from "../../bench/peer/visitor-link";

const BODY = 3 * 1024 * 1024;

// A child that GETs a URL on command and answers with the body length (or the error code).
const CHILD = `
import { get } from "node:http";
process.on("message", (m) => {
  const req = get(m.url, { agent: false }, (res) => {
    let n = 0;
    res.on("data", (d) => (n += d.length));
    res.on("end", () => process.send({ bytes: n, status: res.statusCode }));
    res.on("close", () => { if (!res.complete) process.send({ error: "truncated", bytes: n }); });
  });
  req.on("error", (e) => process.send({ error: e.code ?? e.message }));
  req.setTimeout(20000, () => req.destroy(new Error("timeout")));
});
process.on("disconnect", () => process.exit(0));
`;

type Answer = { bytes?: number; status?: number; error?: string };
const isAnswer = (m: unknown): m is Answer => typeof m === "object" && m !== null;

describe("bench access link (one token bucket per visitor)", () => {
  let dir: string;
  let server: Server;
  let port = 0;
  let relays: EdgeRelays;
  let host: NetnsHost;
  const ask = (url: string) => {
    const p = nextMessage(host.cp, isAnswer, 30_000, "child GET");
    host.cp.send({ url });
    return p;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bench-link-"));
    writeFileSync(join(dir, "child.mjs"), CHILD);
    const body = Buffer.alloc(BODY, 7);
    server = createServer((_, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
    relays = await startEdgeRelays(port, 10);
    host = await forkInNetns(join(dir, "child.mjs"), [], {}, visitorLink(20e6));
  });

  afterAll(async () => {
    if (host) await stopChild(host.cp, 1000);
    await relays?.close();
    await new Promise<void>((r) => server?.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("lives in its own namespace and cannot reach the bench's loopback", async () => {
    expect(ownNamespace(host.cp.pid!)).toBe(true);
    expect(host.address).toMatch(/^10\.98\.\d+\.2$/);
    const direct = await ask(`http://127.0.0.1:${port}/`);
    expect(direct.bytes).toBeUndefined();
    expect(direct.error).toBe("ECONNREFUSED");
  });

  it("counts every byte it receives through the bucket, and accepts the run", async () => {
    const visitor = { host, cp: host.cp };
    const before = markShaped(visitor, [], relays);
    const got = await ask(relays.visitorEdge + "/");
    expect(got.status).toBe(200);
    expect(got.bytes).toBe(BODY);
    expect(host.shaped().down - before.visitorDown).toBeGreaterThanOrEqual(BODY);
    expect(verifyShaped({ visitor, seeders: [], relays, before }, { fromEdge: BODY, fromPeers: 0 })).toBeNull();
    // Peer bytes that never crossed the visitor's bucket (more than it passed): refused.
    expect(verifyShaped({ visitor, seeders: [], relays, before }, { fromEdge: BODY, fromPeers: 2 * BODY })).toMatch(/bucket passed/);
  });

  it("refuses a run whose downlink had no token bucket", async () => {
    const visitor = { host, cp: host.cp };
    execFileSync("tc", ["qdisc", "del", "dev", host.device, "root"]);
    const before = markShaped(visitor, [], relays);
    const got = await ask(relays.visitorEdge + "/");
    expect(got.bytes).toBe(BODY);
    expect(verifyShaped({ visitor, seeders: [], relays, before }, { fromEdge: BODY, fromPeers: 0 })).toMatch(/no token bucket/);
  });
});
