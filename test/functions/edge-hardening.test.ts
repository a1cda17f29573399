/**
 * Shared-cache rules a CDN edge must keep beyond the basics: no sharing of representations chosen
 * by a forwarded request header (Vary: stored per variant, functions/vary-key.ts), no origin control over the edge's internal fields or
 * hop-by-hop fields, and no stale-if-error against `must-revalidate`/`proxy-revalidate`.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { eligibility } from "../../functions/eligibility";
import { ORIGIN, asset, bytes, call, sameBytes, stubOrigin, uniquePath, callManifest } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const errorCode = (body: Uint8Array) => (JSON.parse(new TextDecoder().decode(body)) as { error: { code: string } }).error.code;

describe("Vary", () => {
  it.each([
    ["Accept", "accept"],
    ["accept-language", "accept-language"],
    ["Origin, User-Agent", "user-agent"],
  ])("a response varying on a forwarded header (%s) is stored per variant and never shared", async (vary, field) => {
    const origin = stubOrigin((req) => asset(`for ${req.headers.get(field) ?? "-"}`, { vary }));
    const p = uniquePath();
    const fr = await call(`/c/assets/${p}`, { headers: { [field]: "fr" } });
    const de = await call(`/c/assets/${p}`, { headers: { [field]: "de" } });
    expect(new TextDecoder().decode(fr.body)).toBe("for fr");
    expect(new TextDecoder().decode(de.body)).toBe("for de"); // not the French copy
    expect([fr.res.headers.get("x-edgeswarm-cache"), de.res.headers.get("x-edgeswarm-cache"), de.res.headers.get("x-edgeswarm-eligible")]).toEqual(["MISS", "MISS", "0"]);
    expect(new TextDecoder().decode((await call(`/c/assets/${p}`, { headers: { [field]: "fr" } })).body)).toBe("for fr");
    expect(origin.hits(ORIGIN + p)).toBe(2);
    const m = await callManifest(`/m/assets/${p}`);
    expect([m.res.status, errorCode(m.body)]).toEqual([409, "ineligible"]);
  });

  it.each(["Accept-Encoding", "Origin", "origin, accept-encoding"])("a response varying only on headers the edge never forwards (%s) is cached and shared", async (vary) => {
    const data = bytes(4000, 11);
    const origin = stubOrigin(() => asset(data, { vary }));
    const p = uniquePath();
    expect((await call(`/c/assets/${p}`, { headers: { origin: "https://a.example" } })).res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    const hit = await call(`/c/assets/${p}`, { headers: { origin: "https://b.example" } });
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(sameBytes(hit.body, data)).toBe(true);
    expect((await callManifest(`/m/assets/${p}`)).res.status).toBe(200);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("the pure rule names the reason", () => {
    expect(eligibility("GET", new Headers(), 200, new Headers({ vary: "Accept-Encoding, User-Agent" }))).toEqual({ eligible: false, reason: "vary" });
    expect(eligibility("GET", new Headers(), 200, new Headers({ vary: "accept-encoding,origin" }))).toEqual({ eligible: true });
  });
});

describe("origin headers the edge does not store", () => {
  it("an origin cannot set the edge's internal fields (freshness, the Cache-Control shown to clients)", async () => {
    const origin = stubOrigin(() => {
      const h = new Headers(asset("x").headers);
      h.delete("cache-control"); // no freshness information but Last-Modified: heuristic
      h.set("last-modified", new Date().toUTCString()); // → heuristic lifetime 0: stale at once
      h.set("x-edgeswarm-origin-cache-control", "public, max-age=31536000, immutable");
      h.set("x-edgeswarm-fresh-until", String(Date.now() + 86_400_000));
      h.set("x-edgeswarm-object", "attacker-chosen");
      return new Response("x", { headers: h });
    });
    const p = uniquePath();
    const first = await call(`/c/assets/${p}`);
    expect(first.res.headers.get("cache-control")).toBeNull();
    for (const k of ["x-edgeswarm-origin-cache-control", "x-edgeswarm-fresh-until", "x-edgeswarm-object"]) expect(first.res.headers.get(k)).toBeNull();
    await call(`/c/assets/${p}`);
    expect(origin.hits(ORIGIN + p)).toBe(2); // revalidated: the injected fresh-until was not believed
  });

  it("drops fields the origin's Connection header names as hop-by-hop (RFC 9110 §7.6.1)", async () => {
    stubOrigin(() => asset("x", { connection: "x-hop, keep-alive", "x-hop": "1", "x-kept": "1" }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const hit = await call(`/c/assets/${p}`);
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(hit.res.headers.get("x-hop")).toBeNull();
    expect(hit.res.headers.get("x-kept")).toBe("1");
  });
});

describe("stale-if-error and must-revalidate", () => {
  it.each(["must-revalidate", "proxy-revalidate"])("does not serve a stale copy whose origin said %s: the origin's 503 instead", async (directive) => {
    let down = false;
    const origin = stubOrigin(() => (down ? new Response("down", { status: 503 }) : asset(bytes(1000, 12), { "cache-control": `public, max-age=0, ${directive}` })));
    const p = uniquePath();
    expect((await call(`/c/assets/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    down = true;
    const r = await call(`/c/assets/${p}`);
    expect([r.res.status, new TextDecoder().decode(r.body)]).toEqual([503, "down"]);
    const m = await callManifest(`/m/assets/${p}`);
    expect(m.res.status).toBe(502);
    down = false;
    expect((await call(`/c/assets/${p}`)).res.status).toBe(200); // the copy was kept for revalidation
    expect(origin.hits(ORIGIN + p)).toBe(4);
  });

  it("still serves a stale copy without those directives", async () => {
    let down = false;
    stubOrigin(() => (down ? new Response("down", { status: 503 }) : asset(bytes(1000, 13), { "cache-control": "public, max-age=0" })));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    down = true;
    expect((await call(`/c/assets/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("STALE");
  });
});

describe("revalidation that makes a stored object private", () => {
  it("a 304 carrying Cache-Control: private ends sharing: bytes to this requester only, copy deleted, /m/ 409", async () => {
    const data = bytes(2000, 14);
    let phase = 1;
    const origin = stubOrigin((req) => {
      if (phase === 1) return asset(data, { "cache-control": "public, max-age=0" });
      if (req.headers.get("if-none-match") === '"v1"') return new Response(null, { status: 304, headers: { etag: '"v1"', "cache-control": "private, max-age=60" } });
      return asset(data, { "cache-control": "private, max-age=60" });
    });
    const p = uniquePath();
    expect((await call(`/c/assets/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    phase = 2;
    const r = await call(`/c/assets/${p}`);
    expect(r.res.status).toBe(200);
    expect(sameBytes(r.body, data)).toBe(true);
    expect([r.res.headers.get("x-edgeswarm-cache"), r.res.headers.get("x-edgeswarm-eligible")]).toEqual(["BYPASS", "0"]);
    expect(r.res.headers.get("cache-control")).toBe("private, max-age=60");
    expect(r.res.headers.get("access-control-allow-origin")).toBeNull();
    expect(origin.calls[1]!.headers.get("if-none-match")).toBe('"v1"');
    await call(`/c/assets/${p}`);
    expect(origin.hits(ORIGIN + p)).toBe(3);
    expect(origin.calls[2]!.headers.get("if-none-match")).toBeNull(); // no stored copy left to validate
    const m = await callManifest(`/m/assets/${p}`);
    expect([m.res.status, errorCode(m.body)]).toEqual([409, "ineligible"]);
  });
});

describe("origin redirects", () => {
  it.each([
    ["an absolute URL under the same route", "https://origin.test/assets/new/b.bin?v=2", "/c/assets/new/b.bin?v=2"],
    ["a path relative to the origin URL", "b.bin", "/c/assets/dir/b.bin"],
    ["a path-absolute URL", "/assets/c.bin", "/c/assets/c.bin"],
    ["a URL under another route", "https://other-origin.test/files/z.bin", "/c/other/z.bin"],
    ["another host", "https://elsewhere.test/x", "https://elsewhere.test/x"],
    ["the origin host outside every route", "https://origin.test/private/x", "https://origin.test/private/x"],
    ["a file name with @ (legal, safe by construction)", "https://origin.test/assets/a@b", "/c/assets/a@b"],
    ["a path the edge would refuse", "https://origin.test/assets/a%2fb", "https://origin.test/assets/a%2fb"],
  ])("points %s at the edge when it can (%s)", async (_name, location, expected) => {
    stubOrigin(() => new Response(null, { status: 301, headers: { location } }));
    const { res } = await call(`/c/assets/dir/${uniquePath()}`);
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe(expected);
    expect(res.headers.get("x-edgeswarm-cache")).toBe("BYPASS");
  });

  it("rewrites redirects on the credentialed pass-through too", async () => {
    stubOrigin(() => new Response(null, { status: 302, headers: { location: "https://origin.test/assets/login.html" } }));
    const { res } = await call(`/c/assets/${uniquePath()}`, { headers: { cookie: "s=1" } });
    expect([res.status, res.headers.get("location")]).toEqual([302, "/c/assets/login.html"]);
  });

  it("points a stored 200's Content-Location at the edge, on the miss and on hits", async () => {
    const origin = stubOrigin(() => asset("x", { "content-location": "/assets/canonical.bin" }));
    const p = uniquePath();
    const miss = await call(`/c/assets/${p}`);
    expect(miss.res.headers.get("content-location")).toBe("/c/assets/canonical.bin");
    const hit = await call(`/c/assets/${p}`);
    expect([hit.res.headers.get("x-edgeswarm-cache"), hit.res.headers.get("content-location")]).toEqual(["HIT", "/c/assets/canonical.bin"]);
    expect(origin.hits(`https://origin.test/assets/${p}`)).toBe(1);
  });
});

describe("origins that encode despite Accept-Encoding: identity", () => {
  // What workerd's fetch() hands the Worker for such an origin (measured with miniflare against a
  // real HTTP server): the body already decoded, `Content-Encoding` and the encoded length kept.
  const decodedByRuntime = (data: Uint8Array<ArrayBuffer>, coding: string, encodedLength: number) =>
    asset(data, { "content-encoding": coding, "content-length": String(encodedLength) });

  it.each(["gzip", "br"])("%s (decoded by the runtime): cached, served and hashed as the identity bytes", async (coding) => {
    const data = bytes(300_000, 15);
    const origin = stubOrigin(() => decodedByRuntime(data, coding, 1234));
    const p = uniquePath();
    const miss = await call(`/c/assets/${p}`);
    expect(miss.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(sameBytes(miss.body, data)).toBe(true);
    expect(miss.res.headers.get("content-encoding")).toBeNull();
    const hit = await call(`/c/assets/${p}`, { headers: { range: "bytes=299990-" } });
    expect([hit.res.status, hit.res.headers.get("x-edgeswarm-cache")]).toEqual([206, "HIT"]);
    expect(sameBytes(hit.body, data.slice(299_990))).toBe(true);
    const m = await callManifest(`/m/assets/${p}`);
    expect(m.res.status).toBe(200);
    expect((JSON.parse(new TextDecoder().decode(m.body)) as { manifest: { size: number } }).manifest.size).toBe(data.byteLength);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it.each(["deflate", "x-gzip", "zstd", "gzip, identity"])("%s (left encoded by the runtime): passed through, not cached, not shared", async (coding) => {
    const raw = bytes(1000, 16);
    const origin = stubOrigin(() => asset(raw, { "content-encoding": coding }));
    const p = uniquePath();
    const r = await call(`/c/assets/${p}`);
    expect([r.res.headers.get("x-edgeswarm-cache"), r.res.headers.get("content-encoding")]).toEqual(["BYPASS", coding]);
    expect(sameBytes(r.body, raw)).toBe(true);
    const m = await callManifest(`/m/assets/${p}`);
    expect([m.res.status, errorCode(m.body)]).toEqual([409, "ineligible"]);
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });
});

describe("origins that send no Content-Length (chunked)", () => {
  it("hits carry the length learnt on the way in, so they answer ranges", async () => {
    const data = bytes(600_000, 17);
    const origin = stubOrigin(() => {
      const h = new Headers(asset("x").headers);
      h.delete("content-length");
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent >= data.byteLength) return c.close();
          c.enqueue(data.slice(sent, sent + 100_000));
          sent += 100_000;
        },
      });
      return new Response(body, { headers: h });
    });
    const p = uniquePath();
    const miss = await call(`/c/assets/${p}`);
    expect(miss.res.headers.get("content-length")).toBeNull();
    expect(sameBytes(miss.body, data)).toBe(true);
    const head = await call(`/c/assets/${p}`, { method: "HEAD" });
    expect([head.res.headers.get("x-edgeswarm-cache"), head.res.headers.get("content-length")]).toEqual(["HIT", String(data.byteLength)]);
    const r = await call(`/c/assets/${p}`, { headers: { range: "bytes=123456-123555" } });
    expect([r.res.status, r.res.headers.get("content-range")]).toEqual([206, `bytes 123456-123555/${data.byteLength}`]);
    expect(sameBytes(r.body, data.slice(123_456, 123_556))).toBe(true);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });
});

describe("equivalent URLs share one cache entry (RFC 3986 §6.2.2)", () => {
  it("percent-encoded unreserved characters and lowercase hex do not make new cache keys", async () => {
    const data = bytes(50_000, 18);
    const origin = stubOrigin(() => asset(data));
    const id = crypto.randomUUID();
    const variants = [`${id}/abc-%c3%a9.bin`, `${id}/a%62c-%C3%A9.bin`, `${id}/%61%62%63%2D%c3%A9.bin`, `${id}/abc-%C3%a9.bin`];
    const seen: (string | null)[] = [];
    for (const v of variants) {
      const r = await call(`/c/assets/${v}`);
      expect(sameBytes(r.body, data)).toBe(true);
      seen.push(r.res.headers.get("x-edgeswarm-cache"));
    }
    expect(seen).toEqual(["MISS", "HIT", "HIT", "HIT"]);
    expect(origin.calls.map((c) => c.url)).toEqual([`${ORIGIN}${id}/abc-%C3%A9.bin`]);
    const m = await callManifest(`/m/assets/${id}/%61bc-%c3%a9.bin`);
    expect((JSON.parse(new TextDecoder().decode(m.body)) as { manifest: { url: string } }).manifest.url).toBe(`/c/assets/${id}/abc-%C3%A9.bin`);
  });

  it("still refuses what decodes to a dot segment or separator", async () => {
    stubOrigin(() => asset("x"));
    // (single-encoded `%2e%2e` segments never get here: the WHATWG URL parser resolves them first)
    for (const bad of ["a/%252E%252E/b.bin", "a/%252e/b.bin", "a%2Fb.bin", "a%252fb.bin"]) expect([bad, (await call(`/c/assets/${bad}`)).res.status]).toEqual([bad, 400]);
  });
});

describe("CDN-Cache-Control (RFC 9213)", () => {
  it.each([
    ["CDN-Cache-Control: no-store", { "cdn-cache-control": "no-store" }],
    ["CDN-Cache-Control: private", { "cdn-cache-control": "private" }],
    ["Cloudflare-CDN-Cache-Control: no-store", { "cloudflare-cdn-cache-control": "no-store", "cdn-cache-control": "max-age=60" }],
  ])("%s keeps a Cache-Control: public response off the cache and the swarm", async (_name, headers) => {
    const origin = stubOrigin(() => asset("x", { "cache-control": "public, max-age=3600", ...headers }));
    const p = uniquePath();
    expect((await call(`/c/assets/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("BYPASS");
    expect((await call(`/c/assets/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("BYPASS");
    expect((await callManifest(`/m/assets/${p}`)).res.status).toBe(409);
    expect(origin.hits(ORIGIN + p)).toBe(3);
  });

  it("takes the edge's freshness from it, and hides it from clients", async () => {
    const longer = stubOrigin(() => asset("x", { "cache-control": "public, max-age=0", "cdn-cache-control": "max-age=3600" }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const hit = await call(`/c/assets/${p}`);
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(hit.res.headers.get("cache-control")).toBe("public, max-age=0"); // the browser's own rule
    expect(hit.res.headers.get("cdn-cache-control")).toBeNull();
    expect(longer.hits(ORIGIN + p)).toBe(1);
    vi.restoreAllMocks();
    const shorter = stubOrigin(() => asset("y", { "cache-control": "public, max-age=3600", "cloudflare-cdn-cache-control": "max-age=0" }));
    const q = uniquePath();
    await call(`/c/assets/${q}`);
    await call(`/c/assets/${q}`);
    expect(shorter.hits(ORIGIN + q)).toBe(2); // stale for the edge at once: revalidated
  });

  it("must-revalidate in it forbids stale-if-error", async () => {
    let down = false;
    stubOrigin(() => (down ? new Response("down", { status: 503 }) : asset("z", { "cache-control": "public, max-age=60", "cdn-cache-control": "max-age=0, must-revalidate" })));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    down = true;
    expect((await call(`/c/assets/${p}`)).res.status).toBe(503);
  });

  it("a 304 that adds CDN-Cache-Control: no-store ends sharing", async () => {
    let phase = 1;
    const origin = stubOrigin((req) =>
      phase === 2 && req.headers.get("if-none-match") ? new Response(null, { status: 304, headers: { etag: '"v1"', "cdn-cache-control": "no-store" } }) : asset("w", { "cache-control": "public, max-age=0" }),
    );
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    phase = 2;
    expect((await call(`/c/assets/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("BYPASS");
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });
});
