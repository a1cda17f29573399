/** Only publicly cacheable responses are cached and peer-eligible; the rest passes through untouched. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { eligibility, parseCacheControl, requestEligibility } from "../../functions/eligibility";
import { ORIGIN, asset, call, stubOrigin, uniquePath, callManifest } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const H = (h: Record<string, string> = {}) => new Headers(h);

describe("eligibility rule (pure)", () => {
  it("accepts a public GET 200", () => {
    expect(eligibility("GET", H(), 200, H({ "cache-control": "public, max-age=60" }))).toEqual({ eligible: true });
    expect(eligibility("HEAD", H(), 200, H())).toEqual({ eligible: true });
  });
  it.each([
    ["method", "POST", {}, 200, {}],
    ["status", "GET", {}, 206, {}],
    ["status", "GET", {}, 404, {}],
    ["private", "GET", {}, 200, { "cache-control": "public, Private" }],
    ["private", "GET", {}, 200, { "cache-control": 'private="set-cookie", max-age=5' }],
    ["no-store", "GET", {}, 200, { "cache-control": "max-age=60, no-store" }],
    ["set-cookie", "GET", {}, 200, { "set-cookie": "a=b" }],
    ["vary-star", "GET", {}, 200, { vary: "Accept, *" }],
    ["authorization", "GET", { authorization: "Bearer x" }, 200, {}],
    ["cookie", "GET", { cookie: "a=b" }, 200, {}],
  ] as const)("refuses (%s)", (reason, method, req, status, res) => {
    expect(eligibility(method, H(req), status, H(res))).toEqual({ eligible: false, reason });
  });
  it("parses Cache-Control directives case-insensitively with values", () => {
    const cc = parseCacheControl('Public, MAX-AGE=60, s-maxage="120"');
    expect(cc.get("public")).toBe("");
    expect(cc.get("max-age")).toBe("60");
    expect(cc.get("s-maxage")).toBe("120");
    expect(requestEligibility("GET", H()).eligible).toBe(true);
  });
});

describe("/c/ pass-through of ineligible responses", () => {
  it.each([
    ["Cache-Control: private", { "cache-control": "private, max-age=60" }],
    ["Cache-Control: no-store", { "cache-control": "no-store" }],
    ["Set-Cookie", { "set-cookie": "session=1" }],
    ["Vary: *", { vary: "*" }],
  ])("does not cache a response with %s, and marks it", async (_name, headers) => {
    const origin = stubOrigin(() => asset("secret", headers));
    const p = uniquePath();
    for (let i = 1; i <= 2; i++) {
      const { res, body } = await call(`/c/assets/${p}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-edgeswarm-cache")).toBe("BYPASS");
      expect(res.headers.get("x-edgeswarm-eligible")).toBe("0");
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      for (const [k, v] of Object.entries(headers)) expect(res.headers.get(k)).toBe(v);
      expect(new TextDecoder().decode(body)).toBe("secret");
      expect(origin.hits(ORIGIN + p)).toBe(i);
    }
    const m = await callManifest(`/m/assets/${p}`);
    expect(m.res.status).toBe(409);
    expect(JSON.parse(new TextDecoder().decode(m.body)).error.code).toBe("ineligible");
  });

  it("remembers an ineligible verdict, so /m/ asks the origin once per page burst, not per page", async () => {
    const origin = stubOrigin(() => asset("per-user", { "cache-control": "private, max-age=60" }));
    const p = uniquePath();
    for (let i = 0; i < 3; i++) {
      const m = await callManifest(`/m/assets/${p}`);
      expect(m.res.status).toBe(409);
      expect(JSON.parse(new TextDecoder().decode(m.body)).error.code).toBe("ineligible");
    }
    expect(origin.hits(ORIGIN + p)).toBe(1);
    // The memo holds no content: /c/ still goes to the origin, untouched.
    const { res, body } = await call(`/c/assets/${p}`);
    expect(new TextDecoder().decode(body)).toBe("per-user");
    expect(res.headers.get("x-edgeswarm-eligible")).toBe("0");
    expect(origin.hits(ORIGIN + p)).toBe(2);
  });

  it.each([["Authorization", { authorization: "Bearer t" }], ["Cookie", { cookie: "s=1" }]])(
    "sends requests with %s to the origin (credentials passed), never to or from the cache",
    async (name, reqHeaders) => {
      const origin = stubOrigin(() => asset("public bytes"));
      const p = uniquePath();
      await call(`/c/assets/${p}`); // a public copy is cached...
      const { res } = await call(`/c/assets/${p}`, { headers: reqHeaders });
      expect(res.headers.get("x-edgeswarm-cache")).toBe("BYPASS"); // ...but not used for this request
      expect(res.headers.get("x-edgeswarm-eligible")).toBe("0");
      expect(origin.hits(ORIGIN + p)).toBe(2);
      expect(origin.calls[1]!.headers.get(name)).toBe(Object.values(reqHeaders)[0]);
      const m = await callManifest(`/m/assets/${p}`, { headers: reqHeaders });
      expect(m.res.status).toBe(409);
    },
  );

  it("passes non-200 origin answers through with their status", async () => {
    stubOrigin(() => new Response("nope", { status: 404, headers: { "x-origin": "1" } }));
    const { res, body } = await call(`/c/assets/${uniquePath()}`);
    expect(res.status).toBe(404);
    expect(res.headers.get("x-origin")).toBe("1");
    expect(res.headers.get("x-edgeswarm-cache")).toBe("BYPASS");
    expect(new TextDecoder().decode(body)).toBe("nope");
  });
});
