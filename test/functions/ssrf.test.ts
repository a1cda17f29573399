/**
 * Nothing in a request can make the Worker fetch anything but `route base + rest`: every trick is
 * refused before any fetch, and the origin stub proves no other host was ever contacted.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseRouteTable, resolveRoute } from "../../functions/route-table";
import { checkRelativePath } from "../../functions/safe-path";
import { HttpError } from "../../functions/http-error";
import { asset, call, stubOrigin } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const table = parseRouteTable(JSON.stringify({ "/assets/": "https://origin.test/assets/", "/other/": "https://other-origin.test/files/" }));

/** Paths as they arrive in `request.url` (some would be normalised by a URL parser first; see below). */
const ATTACKS = [
  "/assets/..%2f..%2fetc/passwd",
  "/assets/%2e%2e/%2e%2e/secret",
  "/assets/%2E%2E/secret",
  "/assets/%252e%252e/secret",
  "/assets/%25252e%25252e/secret",
  "/assets/a/%2e/b",
  "/assets/a%2fb",
  "/assets/a%2Fb",
  "/assets/a%5cb",
  "/assets/a%255cb",
  "/assets/a%252fb",
  "/assets/a\\b",
  "/assets//evil.test/x",
  "/assets/https://evil.test/x",
  "/assets/a%00b",
  "/assets/a%0d%0aHost:%20evil.test",
  "/assets/a%7fb",
  "/assets/%",
  "/assets/%zz",
  "/assets/",
  "/https://evil.test/",
  "//evil.test/assets/x",
  "/evil.test/x",
];

describe("path validation (pure, on raw paths)", () => {
  it.each(ATTACKS)("refuses %s", (path) => {
    let err: unknown;
    try {
      resolveRoute(table, path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpError);
    expect(["bad-path", "no-route"]).toContain((err as HttpError).code);
  });

  it("refuses raw dot segments that a URL parser would otherwise resolve", () => {
    expect(() => checkRelativePath("../other/x")).toThrow(HttpError);
    expect(() => checkRelativePath("a/./b")).toThrow(HttpError);
    expect(() => checkRelativePath("a/..")).toThrow(HttpError);
  });

  it("accepts ordinary paths, including encoded spaces and unicode", () => {
    expect(resolveRoute(table, "/assets/video/intro%20final.mp4").originUrl.href).toBe("https://origin.test/assets/video/intro%20final.mp4");
    expect(resolveRoute(table, "/assets/caf%C3%A9.bin").originUrl.host).toBe("origin.test");
    expect(resolveRoute(table, "/other/a.b..c").originUrl.href).toBe("https://other-origin.test/files/a.b..c");
  });

  it("bounds the path length", () => {
    expect(() => checkRelativePath("a".repeat(5000))).toThrow(expect.objectContaining({ status: 414 }));
  });

  it("validates the route table itself", () => {
    for (const bad of ['{"/a/": "ftp://x/"}', '{"/a/": "https://u:p@x/"}', '{"a": "https://x/"}', '{"/a/": "https://x/b"}', '{"/a/": "https://x/?q=1"}', "[]", "nope"])
      expect(() => parseRouteTable(bad), bad).toThrow(HttpError);
  });
});

/**
 * Tricks that used to be refused by banning characters, now legal file names: safety comes by
 * construction (base + canonical path, origin and path re-checked), so they reach exactly one URL
 * under the route's base and never another host.
 */
const LEGAL_LOOKALIKES: [string, string][] = [
  ["/assets/@evil.test/x", "https://origin.test/assets/@evil.test/x"],
  ["/assets/a%40evil.test", "https://origin.test/assets/a@evil.test"],
  ["/assets/http:evil.test", "https://origin.test/assets/http:evil.test"],
  ["/assets/https:%2F%2Fevil.test", ""],
  ["/assets/evil.test:443@x", "https://origin.test/assets/evil.test:443@x"],
  ["/assets/a?@evil.test/", "https://origin.test/assets/a?@evil.test/"],
];

describe("look-alike paths that are legal file names", () => {
  it.each(LEGAL_LOOKALIKES)("%s reaches only %s", async (path, expected) => {
    const origin = stubOrigin(() => asset("x"));
    const { res } = await call(`/c${path}`);
    if (expected === "") {
      expect(res.status).toBe(400);
      expect(origin.calls).toEqual([]);
    } else {
      expect(res.status).toBe(200);
      expect(origin.calls.map((c) => c.url)).toEqual([expected]);
    }
    expect(origin.hosts().every((h) => h === "origin.test")).toBe(true);
  });
});

describe("SSRF through the Worker", () => {
  it.each(ATTACKS.filter((p) => p !== "/assets/"))("GET /c%s is refused or stays inside its route", async (path) => {
    const origin = stubOrigin(() => asset("x"));
    for (const prefix of ["/c", "/m"]) {
      const url = new URL(`https://edge.test${prefix}${path}`);
      const { res, body } = await call(prefix + path);
      if (url.pathname === prefix + path) {
        // Reached the Worker as sent: refused before any fetch.
        expect([400, 404]).toContain(res.status);
        expect(["bad-path", "no-route", "not-found"]).toContain(JSON.parse(new TextDecoder().decode(body)).error.code);
      }
      // The URL parser rewrote it (`/./`, `\\` → `/`) into an ordinary path: whatever happens, the
      // only fetch allowed is under the route's base.
    }
    for (const c of origin.calls) expect(c.url.startsWith("https://origin.test/assets/")).toBe(true);
    if (new URL(`https://edge.test/c${path}`).pathname === `/c${path}`) expect(origin.calls).toEqual([]);
  });

  it("never uses the Host header or the request's host to pick an origin", async () => {
    const origin = stubOrigin(() => asset("x"));
    await call("/c/assets/a.bin", { headers: { host: "evil.test", "x-forwarded-host": "evil.test" } });
    expect(origin.hosts()).toEqual(["origin.test"]);
    expect(origin.calls[0]!.url).toBe("https://origin.test/assets/a.bin");
  });

  it("does not follow origin redirects to other hosts", async () => {
    const origin = stubOrigin(() => new Response(null, { status: 302, headers: { location: "https://evil.test/x" } }));
    const { res } = await call("/c/assets/redirect.bin");
    expect(res.status).toBe(302);
    expect(res.headers.get("x-edgeswarm-cache")).toBe("BYPASS");
    expect(origin.hosts()).toEqual(["origin.test"]);
  });

  it("answers unknown prefixes with 404 no-route JSON", async () => {
    const origin = stubOrigin(() => asset("x"));
    const { res, body } = await call("/c/nope/a.bin");
    expect(res.status).toBe(404);
    expect(JSON.parse(new TextDecoder().decode(body))).toEqual({ error: { code: "no-route", message: expect.any(String) } });
    expect(origin.calls).toEqual([]);
  });

  it("refuses oversized paths (414) and headers (431) with JSON errors", async () => {
    const origin = stubOrigin(() => asset("x"));
    const long = await call(`/c/assets/${"a".repeat(3000)}`);
    expect(long.res.status).toBe(414);
    expect(JSON.parse(new TextDecoder().decode(long.body)).error.code).toBe("uri-too-long");
    const big = await call("/c/assets/a.bin", { headers: { "x-big": "b".repeat(9000) } });
    expect(big.res.status).toBe(431);
    const many = await call("/c/assets/a.bin", { headers: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-h${i}`, "v".repeat(500)])) });
    expect(many.res.status).toBe(431);
    expect(JSON.parse(new TextDecoder().decode(many.body)).error.code).toBe("headers-too-large");
    expect(origin.calls).toEqual([]);
  });
});
