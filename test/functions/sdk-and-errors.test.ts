/** SDK bundle routes and the JSON error contract, through the Worker's real entrypoint. */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PLAYERS, SDK_JS, SDK_SPLIT, SW_JS } from "../../functions/generated/sdk-bundle";

describe("SDK routes", () => {
  it("serves the SDK as JavaScript with a validator and short caching", async () => {
    const res = await exports.default.fetch("https://edge.test/sdk/edgeswarm.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(res.headers.get("cache-control")).toContain("max-age=300");
    const entry = await res.text();
    expect(entry).toBe(SDK_SPLIT["edgeswarm.js"]);
    const etag = res.headers.get("etag")!;
    const again = await exports.default.fetch("https://edge.test/sdk/edgeswarm.js", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    const standalone = await exports.default.fetch("https://edge.test/sdk/edgeswarm-standalone.js");
    expect(await standalone.text()).toBe(SDK_JS);
  });

  it("serves every chunk the split entry imports, immutable, and 404s unknown chunk names", async () => {
    const imported = new Set<string>();
    for (const body of Object.values(SDK_SPLIT)) for (const m of body.matchAll(/["']\.\/(edgeswarm-[A-Za-z0-9_-]+\.js)["']/g)) imported.add(m[1]!);
    expect(imported.size).toBeGreaterThan(0);
    for (const file of imported) {
      const res = await exports.default.fetch(`https://edge.test/sdk/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toContain("immutable");
      expect(await res.text()).toBe(SDK_SPLIT[file]);
    }
    const gone = await exports.default.fetch("https://edge.test/sdk/edgeswarm-chunk-NOPE.js");
    expect(gone.status).toBe(404);
  });

  it("serves the hls.js and Shaka integrations as scripts of their own, with short caching", async () => {
    for (const [file, name] of [["edgeswarm-hls.js", "edgeswarmHls"], ["edgeswarm-shaka.js", "edgeswarmShaka"]] as const) {
      const res = await exports.default.fetch(`https://edge.test/sdk/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toContain("max-age=300");
      const body = await res.text();
      expect(body).toBe(PLAYERS[file]);
      expect(body).toMatch(new RegExp(`as ${name}\\b`)); // the module exports the integration by name
      expect(body).not.toBe(SDK_SPLIT["edgeswarm.js"]);
    }
  });

  it("serves the service worker with Service-Worker-Allowed: / and no-cache", async () => {
    const res = await exports.default.fetch("https://edge.test/edgeswarm-sw.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(res.headers.get("service-worker-allowed")).toBe("/");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(await res.text()).toBe(SW_JS);
  });
});

describe("errors", () => {
  it("answers unknown endpoints with a JSON 404", async () => {
    const res = await exports.default.fetch("https://edge.test/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not-found", message: expect.any(String) } });
  });

  it("keeps errors on /c/ and /m/ readable cross-origin", async () => {
    const res = await exports.default.fetch("https://edge.test/c/unrouted/x");
    expect(res.status).toBe(404);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("no-route");
  });
});
