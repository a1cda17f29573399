/**
 * The `/m/` "ineligible" memo: looked up only on a cache miss (a manifest hit costs exactly the
 * content and manifest lookups), written only for a verdict about the content (private, no-store,
 * Set-Cookie, Vary: *), never for an origin error — a fixed origin is seen on the next request.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ORIGIN, asset, bytes, call, stubOrigin, uniquePath, callManifest } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

/** Records every Cache API lookup (on the prototype: `caches.default` may hand out fresh wrappers). */
function spyMatch(): { keys: () => string[] } {
  const proto = Object.getPrototypeOf((caches as unknown as { default: Cache }).default) as Cache;
  const spy = vi.spyOn(proto, "match");
  return { keys: () => spy.mock.calls.map(([k]) => (typeof k === "string" ? k : (k as Request).url)) };
}
const isMemoKey = (k: string) => k.startsWith("https://edgeswarm.internal/x/");
const errorCode = (body: Uint8Array) => (JSON.parse(new TextDecoder().decode(body)) as { error: { code: string } }).error.code;

describe("/m/ ineligible memo: only on the miss path", () => {
  it("a manifest hit makes two cache lookups (content, manifest) and none of the memo", async () => {
    stubOrigin(() => asset(bytes(1000, 3)));
    const p = uniquePath();
    expect((await callManifest(`/m/assets/${p}`)).res.status).toBe(200);
    const lookups = spyMatch();
    const hit = await callManifest(`/m/assets/${p}`);
    expect(hit.res.status).toBe(200);
    expect(hit.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(lookups.keys().filter(isMemoKey)).toEqual([]);
    // The purge log (functions/purge.ts) is read at most once per isolate and second: not counted.
    expect(lookups.keys().filter((k) => !k.startsWith("https://edgeswarm.internal/purge/"))).toHaveLength(2);
  });

  it("a miss looks the memo up once before asking the origin", async () => {
    const origin = stubOrigin(() => asset(bytes(1000, 4)));
    const p = uniquePath();
    const lookups = spyMatch();
    expect((await callManifest(`/m/assets/${p}`)).res.status).toBe(200);
    expect(lookups.keys().filter(isMemoKey)).toHaveLength(1);
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("a stale copy is revalidated without a memo lookup", async () => {
    // Always stale, and the origin answers conditionals with 304 (as a real one does): the first
    // /m/ fills (202 pending), the second revalidates (304) and answers the manifest.
    const origin = stubOrigin((req) => (req.headers.get("if-none-match") === '"v1"' ? new Response(null, { status: 304, headers: { etag: '"v1"' } }) : asset(bytes(1000, 5), { "cache-control": "public, max-age=0" })));
    const p = uniquePath();
    expect((await callManifest(`/m/assets/${p}`)).res.status).toBe(200);
    const lookups = spyMatch();
    expect((await call(`/m/assets/${p}`)).res.status).toBe(200);
    expect(origin.hits(ORIGIN + p)).toBe(3);
    expect(lookups.keys().filter(isMemoKey)).toEqual([]);
  });
});

describe("/m/ ineligible memo: only real verdicts", () => {
  it.each([
    [404, 404, "origin-not-found"],
    [410, 404, "origin-not-found"],
    [403, 502, "origin-status"],
    [301, 502, "origin-status"],
    [429, 502, "origin-status"],
    [500, 502, "origin-error"],
    [503, 502, "origin-error"],
  ])("origin %i → %i %s, and a fixed origin is seen on the next request", async (originStatus, status, code) => {
    let broken = true;
    const origin = stubOrigin(() =>
      broken ? new Response("err", { status: originStatus, headers: originStatus === 301 ? { location: "https://origin.test/assets/elsewhere" } : {} }) : asset(bytes(5000, 6)),
    );
    const p = uniquePath();
    const first = await callManifest(`/m/assets/${p}`);
    expect([first.res.status, errorCode(first.body)]).toEqual([status, code]);
    expect(first.res.headers.get("access-control-allow-origin")).toBe("*");
    broken = false;
    const second = await callManifest(`/m/assets/${p}`);
    expect(second.res.status).toBe(200);
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });

  it.each([
    ["private", { "cache-control": "private, max-age=60" }],
    ["no-store", { "cache-control": "no-store" }],
    ["set-cookie", { "set-cookie": "s=1" }],
    ["vary-star", { vary: "*" }],
  ])("remembers %s: the next /m/ is 409 without asking the origin", async (_reason, headers) => {
    const origin = stubOrigin(() => asset("x", headers));
    const p = uniquePath();
    for (let i = 0; i < 2; i++) {
      const m = await callManifest(`/m/assets/${p}`);
      expect([m.res.status, errorCode(m.body)]).toEqual([409, "ineligible"]);
    }
    expect(origin.hits(ORIGIN + p)).toBe(1);
  });

  it("a memo does not hide content that /c/ has since cached as public", async () => {
    let priv = true;
    const origin = stubOrigin(() => asset(bytes(3000, 7), priv ? { "cache-control": "private" } : {}));
    const p = uniquePath();
    expect((await callManifest(`/m/assets/${p}`)).res.status).toBe(409);
    priv = false;
    expect((await call(`/c/assets/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    const m = await callManifest(`/m/assets/${p}`);
    expect(m.res.status).toBe(200);
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });
});
