/**
 * `Vary` as a secondary cache key (RFC 9111 §4.1, functions/vary-key.ts): each variant is stored
 * and served for the requests whose forwarded values match it, fetched on its own otherwise; only
 * single-variant responses are shared by peers (`/m/` 409 for the rest); `Vary: *` is never stored.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../functions/index";
import { selectingValue, varyFields } from "../../functions/vary-key";
import { ORIGIN, asset, bytes, call, callManifest, sameBytes, stubOrigin, uniquePath } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const errorCode = (body: Uint8Array) => (JSON.parse(text(body)) as { error: { code: string } }).error.code;
const cacheOf = (r: { res: Response }) => r.res.headers.get("x-edgeswarm-cache");

/** An origin whose bytes depend on `Foo` (distinct, deterministic bytes per value). */
function fooOrigin(vary = "Foo") {
  const seen: (string | null)[] = [];
  const bodyFor = (foo: string | null) => bytes(3000, 1 + [...(foo ?? "-")].reduce((a, c) => a * 31 + c.charCodeAt(0), 7));
  const origin = stubOrigin((req) => {
    seen.push(req.headers.get("foo"));
    return asset(bodyFor(req.headers.get("foo")), { vary });
  });
  return { origin, seen, bodyFor };
}

describe("Vary as a secondary key", () => {
  it("a Vary: Foo response is a HIT for the same Foo, a MISS with its own origin fetch for another, each with the origin's bytes", async () => {
    const { origin, seen, bodyFor } = fooOrigin();
    const p = uniquePath();
    const url = ORIGIN + p;

    // First request ever: the edge does not know the URL varies on Foo, so Foo is not forwarded; the
    // origin's answer says Vary: Foo, so the edge asks once more with Foo (this client's variant).
    const a1 = await call(`/c/assets/${p}`, { headers: { foo: "a" } });
    expect([a1.res.status, cacheOf(a1)]).toEqual([200, "MISS"]);
    expect(sameBytes(a1.body, bodyFor("a"))).toBe(true);
    expect(seen).toEqual([null, "a"]);
    expect(origin.hits(url)).toBe(2);

    const a2 = await call(`/c/assets/${p}`, { headers: { foo: "a" } });
    expect(cacheOf(a2)).toBe("HIT");
    expect(sameBytes(a2.body, bodyFor("a"))).toBe(true);
    expect(a2.res.headers.get("vary")).toBe("Foo");
    expect(origin.hits(url)).toBe(2);

    const b1 = await call(`/c/assets/${p}`, { headers: { foo: "b" } });
    expect(cacheOf(b1)).toBe("MISS");
    expect(sameBytes(b1.body, bodyFor("b"))).toBe(true); // not a's copy
    expect(origin.hits(url)).toBe(3);
    expect(seen.at(-1)).toBe("b"); // the Vary record made the edge forward Foo at once: no second ask

    const b2 = await call(`/c/assets/${p}`, { headers: { foo: "b" } });
    const a3 = await call(`/c/assets/${p}`, { headers: { foo: "a" } });
    expect([cacheOf(b2), cacheOf(a3)]).toEqual(["HIT", "HIT"]);
    expect(sameBytes(b2.body, bodyFor("b")) && sameBytes(a3.body, bodyFor("a"))).toBe(true);
    expect(origin.hits(url)).toBe(3);

    // An absent Foo only matches an absent Foo (RFC 9111 §4.1).
    const none1 = await call(`/c/assets/${p}`);
    const none2 = await call(`/c/assets/${p}`);
    expect([cacheOf(none1), cacheOf(none2)]).toEqual(["MISS", "HIT"]);
    expect(sameBytes(none2.body, bodyFor(null))).toBe(true);
    expect(origin.hits(url)).toBe(4);
    // Cacheable and public, but not shareable by peers.
    expect(none2.res.headers.get("x-edgeswarm-eligible")).toBe("0");
    expect(none2.res.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("selecting values are normalised: combined field lines and list whitespace match (RFC 9111 §4.1)", async () => {
    const { origin, bodyFor } = fooOrigin();
    const p = uniquePath();
    await call(`/c/assets/${p}`, { headers: { foo: "x,y" } });
    const hits = origin.hits(ORIGIN + p);
    const lines = new Headers();
    lines.append("foo", "x");
    lines.append("foo", "y"); // two field lines: "x, y"
    const again = await call(`/c/assets/${p}`, { headers: lines });
    const spaced = await call(`/c/assets/${p}`, { headers: { foo: "x ,   y" } });
    expect([cacheOf(again), cacheOf(spaced)]).toEqual(["HIT", "HIT"]);
    expect(sameBytes(spaced.body, bodyFor("x,y"))).toBe(true);
    expect(origin.hits(ORIGIN + p)).toBe(hits);
    expect(cacheOf(await call(`/c/assets/${p}`, { headers: { foo: "y,x" } }))).toBe("MISS"); // order is meaning
  });

  it("a Range (206) or a conditional request (304) on a stored variant is answered from that variant", async () => {
    const { origin, bodyFor } = fooOrigin();
    const p = uniquePath();
    await call(`/c/assets/${p}`, { headers: { foo: "a" } });
    await call(`/c/assets/${p}`, { headers: { foo: "b" } });
    const r = await call(`/c/assets/${p}`, { headers: { foo: "b", range: "bytes=100-199" } });
    expect([r.res.status, cacheOf(r), r.res.headers.get("content-range")]).toEqual([206, "HIT", "bytes 100-199/3000"]);
    expect(sameBytes(r.body, bodyFor("b").slice(100, 200))).toBe(true);
    const conditional = await call(`/c/assets/${p}`, { headers: { foo: "a", "if-none-match": '"v1"' } });
    expect([conditional.res.status, cacheOf(conditional), conditional.body.byteLength]).toEqual([304, "HIT", 0]);
    expect(origin.hits(ORIGIN + p)).toBe(3);
  });

  it("Accept-Language variants (a header forwarded by default) are each stored once", async () => {
    const origin = stubOrigin((req) => asset(`for ${req.headers.get("accept-language") ?? "-"}`, { vary: "Accept-Language" }));
    const p = uniquePath();
    const results = [];
    for (const lang of ["fr", "de", "fr", "de"]) results.push(await call(`/c/assets/${p}`, { headers: { "accept-language": lang } }));
    expect(results.map((r) => text(r.body))).toEqual(["for fr", "for de", "for fr", "for de"]);
    expect(results.map(cacheOf)).toEqual(["MISS", "MISS", "HIT", "HIT"]);
    expect(origin.hits(ORIGIN + p)).toBe(2); // Accept-Language was forwarded on the first fill already
  });

  it("a stale variant is revalidated with its own fields and stays that variant after a 304", async () => {
    const { bodyFor } = fooOrigin(); // only for its bytes
    const origin = stubOrigin((req) => {
      if (req.headers.get("if-none-match") === '"v1"') return new Response(null, { status: 304, headers: { etag: '"v1"', "cache-control": "public, max-age=3600", vary: "Foo" } });
      return asset(bodyFor(req.headers.get("foo")), { vary: "Foo", "cache-control": "public, max-age=0" });
    });
    const p = uniquePath();
    await call(`/c/assets/${p}`, { headers: { foo: "a" } });
    await call(`/c/assets/${p}`, { headers: { foo: "b" } });
    const revalidated = await call(`/c/assets/${p}`, { headers: { foo: "b" } });
    expect(origin.calls.at(-1)!.headers.get("foo")).toBe("b");
    expect([revalidated.res.status, cacheOf(revalidated), sameBytes(revalidated.body, bodyFor("b"))]).toEqual([200, "HIT", true]);
    const hits = origin.hits(ORIGIN + p);
    const fresh = await call(`/c/assets/${p}`, { headers: { foo: "b" } }); // the 304 gave it max-age=3600
    expect([cacheOf(fresh), sameBytes(fresh.body, bodyFor("b"))]).toEqual(["HIT", true]);
    expect(origin.hits(ORIGIN + p)).toBe(hits);
  });

  it("Vary: * (or a list the edge will not key by) is never stored", async () => {
    for (const vary of ["*", "Foo, *", Array.from({ length: 17 }, (_, i) => `h${i}`).join(", ")]) {
      const origin = stubOrigin(() => asset("x", { vary }));
      const p = uniquePath();
      const one = await call(`/c/assets/${p}`);
      const two = await call(`/c/assets/${p}`);
      expect([cacheOf(one), cacheOf(two)]).toEqual(["BYPASS", "BYPASS"]);
      expect(origin.hits(ORIGIN + p)).toBe(2);
      vi.restoreAllMocks();
    }
  });

  it("the origin dropping Vary replaces the record: the URL has one entry again", async () => {
    let vary: string | null = "Foo";
    const origin = stubOrigin((req) => asset(`v${vary ? "1" : "2"} ${req.headers.get("foo") ?? "-"}`, { ...(vary ? { vary } : {}), "cache-control": "public, max-age=0" }));
    const p = uniquePath();
    await call(`/c/assets/${p}`, { headers: { foo: "a" } });
    vary = null;
    const refetched = await call(`/c/assets/${p}`, { headers: { foo: "a" } }); // stale → revalidated → a 200 without Vary
    expect(text(refetched.body)).toBe("v2 a");
    expect(refetched.res.headers.get("x-edgeswarm-eligible")).toBe("1");
    const hits = origin.hits(ORIGIN + p);
    // Now one representation for everyone (max-age=0 → each request revalidates; the 200 is what counts).
    expect(text((await call(`/c/assets/${p}`, { headers: { foo: "b" } })).body)).toBe("v2 -");
    expect(origin.hits(ORIGIN + p)).toBe(hits + 1);
  });
});

describe("Vary with the fill lock and purge", () => {
  it("concurrent first misses with different Foo values each get their own variant's bytes", async () => {
    // The origin holds its bodies until every request has reached the edge: the misses overlap.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const bodyFor = (foo: string | null) => bytes(64_000, 100 + (foo ?? "-").charCodeAt(0));
    const origin = stubOrigin((req) => {
      const data = bodyFor(req.headers.get("foo"));
      const body = new ReadableStream<Uint8Array>({ async start(c) { c.enqueue(data.slice(0, 1000)); await gate; c.enqueue(data.slice(1000)); c.close(); } });
      return new Response(body, { headers: { ...Object.fromEntries(asset("").headers), "content-length": String(data.byteLength), vary: "Foo" } });
    });
    const p = uniquePath();
    const foos = ["a", "b", "a", "b", "c"];
    const pending = Promise.all(foos.map((foo) => call(`/c/assets/${p}`, { headers: { foo } })));
    setTimeout(open, 200); // only lets the requests overlap; nothing below depends on it
    const results = await pending;
    foos.forEach((foo, i) => expect(sameBytes(results[i]!.body, bodyFor(foo)), `foo=${foo}`).toBe(true));
    expect(origin.hits(ORIGIN + p)).toBeLessThanOrEqual(2 * foos.length); // each at most fetched + re-asked once
    // Concurrent first fills may each start a Vary record; one wins and a variant stored under
    // another is refetched once at most. After that every variant is a HIT with its own bytes.
    for (const foo of ["a", "b", "c"]) await call(`/c/assets/${p}`, { headers: { foo } });
    const hits = origin.hits(ORIGIN + p);
    for (const foo of ["a", "b", "c"]) {
      const r = await call(`/c/assets/${p}`, { headers: { foo } });
      expect([cacheOf(r), sameBytes(r.body, bodyFor(foo))]).toEqual(["HIT", true]);
    }
    expect(origin.hits(ORIGIN + p)).toBe(hits);
  });

  it("purging the URL drops every variant (their Vary record's generation is gone)", async () => {
    let version = 1;
    const origin = stubOrigin((req) => asset(`v${version} ${req.headers.get("foo")}`, { vary: "Foo" }));
    const p = uniquePath();
    const ENV = { ...env, PURGE_TOKEN: "vary-purge" };
    const send = async (path: string, init?: RequestInit) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`https://edge.test${path}`, init), ENV as typeof env, ctx);
      const body = new Uint8Array(await res.arrayBuffer());
      await waitOnExecutionContext(ctx);
      return { res, body };
    };
    await send(`/c/assets/${p}`, { headers: { foo: "a" } });
    await send(`/c/assets/${p}`, { headers: { foo: "b" } });
    expect(cacheOf(await send(`/c/assets/${p}`, { headers: { foo: "b" } }))).toBe("HIT");
    version = 2;
    const purged = await send("/purge", { method: "POST", headers: { authorization: "Bearer vary-purge" }, body: JSON.stringify({ urls: [`/c/assets/${p}`] }) });
    expect(purged.res.status).toBe(200);
    const hits = origin.hits(ORIGIN + p);
    const b = await send(`/c/assets/${p}`, { headers: { foo: "b" } });
    expect([text(b.body), cacheOf(b)]).toEqual(["v2 b", "MISS"]);
    const a = await send(`/c/assets/${p}`, { headers: { foo: "a" } });
    expect([text(a.body), cacheOf(a)]).toEqual(["v2 a", "MISS"]);
    expect(origin.hits(ORIGIN + p)).toBeGreaterThan(hits + 1);
  });
});

describe("/m/ and Vary: peers share only single-variant responses", () => {
  it.each([
    ["Accept-Encoding", 200], // always `identity` at the origin: one variant
    ["Origin", 200], // never forwarded (the edge answers CORS itself): one variant
    ["origin, accept-encoding", 200],
    ["Foo", 409],
    ["Accept-Language", 409],
    ["Accept-Encoding, User-Agent", 409],
  ] as const)("Vary: %s → %i", async (vary, status) => {
    const data = bytes(5000, 3);
    const origin = stubOrigin(() => asset(data, { vary }));
    const p = uniquePath();
    const m = await callManifest(`/m/assets/${p}`, { headers: { foo: "a", "accept-language": "fr" } });
    expect(m.res.status).toBe(status);
    if (status === 409) expect(errorCode(m.body)).toBe("ineligible");
    // Either way /c/ serves it from the cache now.
    const c = await call(`/c/assets/${p}`, { headers: { foo: "a", "accept-language": "fr" } });
    expect([cacheOf(c), sameBytes(c.body, data)]).toEqual(["HIT", true]);
    expect(c.res.headers.get("x-edgeswarm-eligible")).toBe(status === 200 ? "1" : "0");
    expect(origin.hits(ORIGIN + p)).toBeLessThanOrEqual(2);
  });
});

describe("pure parts", () => {
  it("varyFields normalises the list; selectingValue the values", () => {
    expect(varyFields(new Headers({ vary: " Foo ,accept-encoding, FOO" }))).toEqual(["accept-encoding", "foo"]);
    expect(varyFields(new Headers())).toEqual([]);
    expect(varyFields(new Headers({ vary: "a b" }))).toBe("*");
    expect(selectingValue(new Headers({ foo: "x ,\t y  z" }), "foo")).toBe("x,y z");
    expect(selectingValue(new Headers(), "foo")).toBeNull();
  });
});
