/**
 * RFC 9111 / 5861 behaviour of `/c/`, rule by rule (docs/edge.md "HTTP caching"): origin statuses
 * passed through, strict parsing of Age / Expires / Cache-Control, Age kept and added to, 304s
 * updating stored fields, the rules for serving stale, stale-while-revalidate, the request's
 * Cache-Control (storing statuses other than 200: status-cache.test.ts). Each test counts origin
 * hits and checks statuses, headers and bytes.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ORIGIN, asset, bytes, call, open, stubOrigin, uniquePath } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const cacheOf = (r: { res: Response }) => r.res.headers.get("x-edgeswarm-cache");

describe("origin statuses pass through (the edge's JSON errors are for its own failures only)", () => {
  it("an origin 503 reaches the client with its status, body and headers", async () => {
    const origin = stubOrigin(() => new Response("origin is down for maintenance", { status: 503, headers: { "retry-after": "120", "content-type": "text/plain" } }));
    const p = uniquePath();
    const r = await call(`/c/assets/${p}`);
    expect(r.res.status).toBe(503);
    expect(text(r.body)).toBe("origin is down for maintenance");
    expect(r.res.headers.get("retry-after")).toBe("120");
    expect(cacheOf(r)).toBe("BYPASS");
    expect(r.res.headers.get("access-control-allow-origin")).toBe("*");
    await call(`/c/assets/${p}`);
    expect(origin.hits(ORIGIN + p)).toBe(2); // not stored
  });

  it("an unreachable origin is the edge's own failure: 502 origin-error JSON", async () => {
    stubOrigin(() => Promise.reject(new TypeError("connection refused")));
    const r = await call(`/c/assets/${uniquePath()}`);
    expect(r.res.status).toBe(502);
    expect(JSON.parse(text(r.body)).error.code).toBe("origin-error");
  });
});

describe("strict parsing", () => {
  it.each([
    ["Age: 7200, 0 (first member counts) with max-age=3600", { age: "7200, 0", "cache-control": "public, max-age=3600" }],
    ["Expires without the comma of an HTTP-date", { "cache-control": "public", expires: "Thu 01 Dec 2099 16:00:00 GMT" }],
    ["Expires: 0", { "cache-control": "public", expires: "0" }],
    ["conflicting max-age directives", { "cache-control": "public, max-age=3600, max-age=0" }],
    ["a fractional max-age", { "cache-control": "public, max-age=3600.5" }],
    ["a negative s-maxage", { "cache-control": "public, s-maxage=-1, max-age=3600" }],
    ['a qualified no-cache="set-cookie" (read as no-cache, RFC 9111 §5.2.2.4)', { "cache-control": 'public, no-cache="set-cookie", max-age=3600' }],
  ])("%s is stale at once: the next request revalidates", async (_name, headers) => {
    const origin = stubOrigin(() => asset("abc", { ...headers }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const second = await call(`/c/assets/${p}`);
    expect(text(second.body)).toBe("abc");
    expect(origin.hits(ORIGIN + p)).toBe(2);
    expect(origin.calls[1]!.headers.get("if-none-match")).toBe('"v1"');
  });

  it.each([
    ['a quoted max-age="3600"', { "cache-control": 'public, max-age="3600"' }],
    ["an IMF-fixdate Expires", { "cache-control": "public", expires: "Thu, 01 Dec 2099 16:00:00 GMT" }],
    ["an extension directive with a quoted list next to max-age", { "cache-control": 'public, x-ext="set-cookie, x-a", max-age=3600' }],
    ["an RFC 850 Expires (obsolete HTTP-date form)", { "cache-control": "public", expires: "Thursday, 01-Dec-50 16:00:00 GMT" }],
    ["an asctime Expires (obsolete HTTP-date form)", { "cache-control": "public", expires: "Thu Dec  1 16:00:00 2050" }],
    ["Age: 1.5e9 (not an integer: ignored)", { age: "1.5e9", "cache-control": "public, max-age=3600" }],
    ["Age: -99999 (not a non-negative integer: ignored)", { age: "-99999", "cache-control": "public, max-age=3600" }],
    ["Age: soon (ignored)", { age: "soon", "cache-control": "public, max-age=3600" }],
  ])("%s is fresh: the next request is a HIT", async (_name, headers) => {
    const origin = stubOrigin(() => asset("abc", { ...headers }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    expect(cacheOf(await call(`/c/assets/${p}`))).toBe("HIT");
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });
});

describe("qualified no-cache / private (RFC 9111 §5.2.2.4, §5.2.2.7): read as the unqualified forms", () => {
  // no-cache="set-cookie" revalidates every time: a case of the "stale at once" table above.

  it('private="x-user" is neither stored nor shared', async () => {
    const origin = stubOrigin(() => asset("abc", { "cache-control": 'private="x-user", max-age=3600' }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const second = await call(`/c/assets/${p}`);
    expect([cacheOf(second), second.res.headers.get("x-edgeswarm-eligible")]).toEqual(["BYPASS", "0"]);
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });
});

describe("Age (RFC 9111 §4.2.3, §5.1)", () => {
  it("keeps the origin's Age and adds the time stored; the origin's Age shortens freshness", async () => {
    const origin = stubOrigin(() => asset("abc", { age: "100", "cache-control": "public, max-age=3600" }));
    const p = uniquePath();
    const first = await call(`/c/assets/${p}`);
    expect(Number(first.res.headers.get("age"))).toBeGreaterThanOrEqual(100);
    const hit = await call(`/c/assets/${p}`);
    expect(cacheOf(hit)).toBe("HIT");
    expect(Number(hit.res.headers.get("age"))).toBeGreaterThanOrEqual(100);
    expect(Number(hit.res.headers.get("age"))).toBeLessThan(200);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("adds the time the copy has been stored, and counts an old Date as age (apparent age)", async () => {
    // Date 50 s ago, Age 20: the corrected initial age is max(20, 50) = 50.
    const date = new Date(Date.now() - 50_000).toUTCString();
    const origin = stubOrigin(() => asset("abc", { age: "20", date, "cache-control": "public, max-age=3600" }));
    const p = uniquePath();
    const first = await call(`/c/assets/${p}`);
    expect(Number(first.res.headers.get("age"))).toBeGreaterThanOrEqual(50);
    await new Promise((r) => setTimeout(r, 2100));
    const hit = await call(`/c/assets/${p}`);
    expect(cacheOf(hit)).toBe("HIT");
    // At least 2 s resident on top of the stored 50 (whole seconds, RFC 9111 §5.1).
    expect(Number(hit.res.headers.get("age"))).toBeGreaterThanOrEqual(52);
    expect(Number(hit.res.headers.get("age"))).toBeLessThan(3600);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("an Age beyond max-age makes the response stale at once", async () => {
    const origin = stubOrigin(() => asset("abc", { age: "4000", "cache-control": "public, max-age=3600" }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    await call(`/c/assets/${p}`);
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });
});

describe("304 updates the stored fields (RFC 9111 §3.2, §4.3.4)", () => {
  it("every field of the 304 replaces the stored one; the body and its length stay", async () => {
    let round = 0;
    const data = bytes(1000, 5);
    const origin = stubOrigin((req) => {
      round++;
      if (req.headers.get("if-none-match") === '"v1"')
        return new Response(null, { status: 304, headers: { etag: '"v1"', "cache-control": "public, max-age=3600", "x-build": "2", "content-type": "application/x-new", "content-length": "5" } });
      return asset(data, { "cache-control": "public, max-age=0", "x-build": "1" });
    });
    const p = uniquePath();
    expect((await call(`/c/assets/${p}`)).res.headers.get("x-build")).toBe("1");
    const revalidated = await call(`/c/assets/${p}`);
    expect(revalidated.res.headers.get("x-build")).toBe("2");
    expect(revalidated.body).toEqual(data);
    const hit = await call(`/c/assets/${p}`);
    expect(cacheOf(hit)).toBe("HIT");
    expect(hit.res.headers.get("x-build")).toBe("2");
    expect(hit.res.headers.get("content-type")).toBe("application/x-new");
    expect(hit.res.headers.get("content-length")).toBe("1000");
    expect(hit.body).toEqual(data);
    expect(round).toBe(2);
  });
});

describe("serving stale when the origin fails", () => {
  /** Stores a response with `cc`, then fails the origin; returns the second answer. */
  async function staleThenDown(cc: string, failure: "unreachable" | "503") {
    let down = false;
    const origin = stubOrigin(() => {
      if (!down) return asset("stored bytes", { "cache-control": cc });
      return failure === "503" ? new Response("maintenance", { status: 503 }) : Promise.reject(new TypeError("refused"));
    });
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    down = true;
    const r = await call(`/c/assets/${p}`);
    expect(origin.hits(ORIGIN + p)).toBe(2);
    return r;
  }

  it.each(["unreachable", "503"] as const)("a plain max-age=0 response is served stale (origin %s)", async (failure) => {
    const r = await staleThenDown("public, max-age=0", failure);
    expect(r.res.status).toBe(200);
    expect(cacheOf(r)).toBe("STALE");
    expect(text(r.body)).toBe("stored bytes");
  });

  it.each([
    ["must-revalidate", "public, max-age=0, must-revalidate"],
    ["proxy-revalidate", "public, max-age=0, proxy-revalidate"],
    ["s-maxage (implies proxy-revalidate for a shared cache)", "public, s-maxage=0"],
    ["no-cache", "public, no-cache"],
  ])("%s forbids it: the origin's 503 passes through", async (_n, cc) => {
    const r = await staleThenDown(cc, "503");
    expect(r.res.status).toBe(503);
    expect(text(r.body)).toBe("maintenance");
  });

  it("stale-if-error=N allows it within N seconds even with must-revalidate (RFC 5861 §4)", async () => {
    const r = await staleThenDown("public, max-age=0, must-revalidate, stale-if-error=600", "unreachable");
    expect(cacheOf(r)).toBe("STALE");
    expect(text(r.body)).toBe("stored bytes");
  });
});

describe("stale-while-revalidate (RFC 5861 §3)", () => {
  it("answers with the stale copy at once and revalidates in the background, one origin request", async () => {
    let version = 1;
    const origin = stubOrigin(() =>
      asset(`version ${version}`, { etag: `"v${version}"`, "cache-control": version === 1 ? "public, max-age=0, stale-while-revalidate=600" : "public, max-age=3600" }),
    );
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    version = 2;
    const stale = await call(`/c/assets/${p}`);
    expect(cacheOf(stale)).toBe("STALE");
    expect(text(stale.body)).toBe("version 1");
    expect(origin.hits(ORIGIN + p)).toBe(2); // the background revalidation, finished with the request
    const fresh = await call(`/c/assets/${p}`);
    expect(cacheOf(fresh)).toBe("HIT");
    expect(text(fresh.body)).toBe("version 2");
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });

  it("concurrent stale requests inside the window share one background revalidation", async () => {
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const origin = stubOrigin(async (req) => {
      if (req.headers.get("if-none-match") === '"v1"') {
        await gate; // the revalidation is still running while the other requests arrive
        return new Response(null, { status: 304, headers: { etag: '"v1"', "cache-control": "public, max-age=3600" } });
      }
      return asset("version 1", { etag: '"v1"', "cache-control": "public, max-age=0, stale-while-revalidate=600" });
    });
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    const opened = [];
    for (let i = 0; i < 5; i++) {
      const o = await open(`/c/assets/${p}`);
      expect([o.res.headers.get("x-edgeswarm-cache"), await o.res.text()]).toEqual(["STALE", "version 1"]);
      opened.push(o);
    }
    release();
    await Promise.all(opened.map((o) => o.settled()));
    expect(origin.hits(ORIGIN + p)).toBe(2);
    const fresh = await call(`/c/assets/${p}`);
    expect(cacheOf(fresh)).toBe("HIT");
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });

  it("works with s-maxage (the common `s-maxage=N, stale-while-revalidate=M` idiom): the extension is the origin's explicit leave", async () => {
    let version = 1;
    const origin = stubOrigin(() => asset(`version ${version}`, { etag: `"v${version}"`, "cache-control": "public, s-maxage=0, stale-while-revalidate=600" }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    version = 2;
    const stale = await call(`/c/assets/${p}`);
    expect([cacheOf(stale), text(stale.body)]).toEqual(["STALE", "version 1"]);
    expect(origin.hits(ORIGIN + p)).toBe(2);
    expect(origin.calls[1]!.headers.get("if-none-match")).toBe('"v1"');
  });

  it("past the window the request waits for the origin", async () => {
    let version = 1;
    const origin = stubOrigin(() => asset(`version ${version}`, { etag: `"v${version}"`, "cache-control": "public, max-age=0, stale-while-revalidate=0" }));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    version = 2;
    await new Promise((r) => setTimeout(r, 1100));
    const r = await call(`/c/assets/${p}`);
    expect(text(r.body)).toBe("version 2");
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });
});

describe("the request's Cache-Control (RFC 9111 §5.2.1)", () => {
  async function stored(cc: string) {
    const origin = stubOrigin((req) => (req.headers.get("if-none-match") === '"v1"' ? new Response(null, { status: 304, headers: { etag: '"v1"', "cache-control": cc } }) : asset("abc", { "cache-control": cc })));
    const p = uniquePath();
    await call(`/c/assets/${p}`);
    return { origin, p };
  }

  it.each([
    ["no-cache", "no-cache"],
    ["max-age=0", "max-age=0"],
    ["min-fresh beyond the remaining freshness", "min-fresh=7200"],
  ])("%s makes a fresh copy revalidate (conditional, one origin request)", async (_n, reqCc) => {
    const { origin, p } = await stored("public, max-age=3600");
    const r = await call(`/c/assets/${p}`, { headers: { "cache-control": reqCc } });
    expect([r.res.status, text(r.body)]).toEqual([200, "abc"]);
    expect(origin.hits(ORIGIN + p)).toBe(2);
    expect(origin.calls[1]!.headers.get("if-none-match")).toBe('"v1"');
  });

  it("max-age above the copy's age and min-fresh within its freshness use the copy", async () => {
    const { origin, p } = await stored("public, max-age=3600");
    expect(cacheOf(await call(`/c/assets/${p}`, { headers: { "cache-control": "max-age=600, min-fresh=60" } }))).toBe("HIT");
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("max-stale accepts a stale copy without asking the origin", async () => {
    const { origin, p } = await stored("public, max-age=0");
    const r = await call(`/c/assets/${p}`, { headers: { "cache-control": "max-stale=600" } });
    expect([cacheOf(r), text(r.body)]).toEqual(["STALE", "abc"]);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("only-if-cached answers 504 not-cached instead of asking the origin, and uses a stored copy", async () => {
    const origin = stubOrigin(() => asset("abc"));
    const p = uniquePath();
    const miss = await call(`/c/assets/${p}`, { headers: { "cache-control": "only-if-cached" } });
    expect([miss.res.status, JSON.parse(text(miss.body)).error.code]).toEqual([504, "not-cached"]);
    expect(origin.calls).toEqual([]);
    await call(`/c/assets/${p}`);
    const hit = await call(`/c/assets/${p}`, { headers: { "cache-control": "only-if-cached" } });
    expect([hit.res.status, cacheOf(hit)]).toEqual([200, "HIT"]);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });
});
