/**
 * Query strings (part of the cache key and forwarded by default; per-route `ignore` or allow-list)
 * and file names with every RFC 3986 path character a file name may hold.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../functions/index";
import { encodeSegment } from "../../functions/safe-path";
import type { ManifestResponse } from "../../protocol/manifest";
import { ORIGIN, asset, bytes, call, stubOrigin, uniquePath, callManifest } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const ROUTES = JSON.stringify({
  "/assets/": "https://origin.test/assets/",
  "/plain/": { origin: "https://origin.test/plain/", query: "ignore" },
  "/img/": { origin: "https://origin.test/img/", query: ["w", "v"] },
});

async function get(path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://edge.test${path}`, init), { ...env, ROUTES }, ctx);
  const body = new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, body };
}

/** An origin whose body depends on the query it saw. */
function versionedOrigin() {
  return stubOrigin((req) => asset(`body for ${new URL(req.url).search || "(none)"}`, { etag: `"${new URL(req.url).search}"` }));
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("query strings", () => {
  it("are part of the cache key and forwarded by default: ?v=1 and ?v=2 are distinct entries", async () => {
    const origin = versionedOrigin();
    const p = uniquePath();
    const a = await call(`/c/assets/${p}?v=1`);
    const b = await call(`/c/assets/${p}?v=2`);
    const a2 = await call(`/c/assets/${p}?v=1`);
    const none = await call(`/c/assets/${p}`);
    expect(text(a.body)).toBe("body for ?v=1");
    expect(text(b.body)).toBe("body for ?v=2");
    expect(b.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(text(a2.body)).toBe("body for ?v=1");
    expect(a2.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(text(none.body)).toBe("body for (none)");
    expect(origin.hits(`${ORIGIN}${p}?v=1`)).toBe(1);
    expect(origin.hits(`${ORIGIN}${p}?v=2`)).toBe(1);
    expect(origin.hits(`${ORIGIN}${p}`)).toBe(1);
  });

  it("give /m/ manifests of their own, whose URL keeps the query; the swarm is the content root", async () => {
    const data = bytes(40_000, 9);
    stubOrigin(() => asset(data));
    const p = uniquePath();
    const m1 = JSON.parse(text((await callManifest(`/m/assets/${p}?v=1&peer=q-peer-1`)).body)) as ManifestResponse;
    const m2 = JSON.parse(text((await callManifest(`/m/assets/${p}?v=2&peer=q-peer-1`)).body)) as ManifestResponse;
    expect(m1.manifest.url).toBe(`/c/assets/${p}?v=1`);
    expect(m2.manifest.url).toBe(`/c/assets/${p}?v=2`);
    // Same bytes under two URLs: one swarm.
    expect(m1.manifest.root).toBe(m2.manifest.root);
    expect(m1.join.url).toBe(`/swarm/${m1.manifest.root}`);
  });

  it("`ignore`: dropped from the key and the origin request", async () => {
    const origin = versionedOrigin();
    const p = uniquePath();
    const a = await get(`/c/plain/${p}?v=1`);
    const b = await get(`/c/plain/${p}?v=2`);
    expect(text(a.body)).toBe("body for (none)");
    expect(text(b.body)).toBe("body for (none)");
    expect(b.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(origin.calls.map((c) => c.url)).toEqual([`https://origin.test/plain/${p}`]);
  });

  it("allow-list: only the listed parameters count and reach the origin", async () => {
    const origin = versionedOrigin();
    const p = uniquePath();
    const a = await get(`/c/img/${p}?utm_source=x&w=100&v=3`);
    const b = await get(`/c/img/${p}?w=100&fbclid=y&v=3`);
    const c = await get(`/c/img/${p}?w=200`);
    const d = await get(`/c/img/${p}?v=3&w=100`);
    expect(text(a.body)).toBe("body for ?w=100&v=3");
    expect(b.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(text(c.body)).toBe("body for ?w=200");
    // The request's parameter order is kept (as Cloudflare's cache key keeps it): another entry.
    expect(text(d.body)).toBe("body for ?v=3&w=100");
    expect(origin.calls.map((x) => x.url)).toEqual([
      `https://origin.test/img/${p}?w=100&v=3`, `https://origin.test/img/${p}?w=200`, `https://origin.test/img/${p}?v=3&w=100`,
    ]);
  });

  it("refuses a malformed query policy as bad-config", async () => {
    stubOrigin(() => asset("x"));
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request("https://edge.test/c/assets/a.bin"), { ...env, ROUTES: JSON.stringify({ "/a/": { origin: "https://o.test/", query: "some" } }) }, ctx);
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad-config");
  });
});

describe("file names: every RFC 3986 path character a file name may hold", () => {
  // unreserved, sub-delims, ":" and "@" raw; gen-delims and others percent-encoded.
  const NAMES = ["logo@2x.png", "a:b.png", "it's (1).txt", "a+b=c;d,e!f$g&h*i.bin", "100% done.txt", "café ünï.bin", "a[1]{2}^|`.bin", "q?uestion#hash.bin", "~tilde_-.bin", "日本語.txt"];
  it.each(NAMES)("%s is served from the origin under the route and cached under one key", async (name) => {
    const origin = stubOrigin(() => asset(`file ${name}`));
    const dir = crypto.randomUUID();
    const encoded = name.split("").map((ch) => (/[A-Za-z0-9\-._~!$&'()*+,;=:@]/.test(ch) ? ch : encodeURIComponent(ch))).join("");
    const first = await call(`/c/assets/${dir}/${encoded}`);
    expect(first.res.status).toBe(200);
    expect(text(first.body)).toBe(`file ${name}`);
    // An equivalent spelling (every character escaped) is the same entry.
    const allEscaped = [...new TextEncoder().encode(name)].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
    const second = await call(`/c/assets/${dir}/${allEscaped}`);
    expect(second.res.status).toBe(200);
    expect(second.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(origin.calls.map((c) => c.url)).toEqual([`${ORIGIN}${dir}/${encodeSegment(name)}`]);
    expect(decodeURIComponent(new URL(origin.calls[0]!.url).pathname)).toBe(`/assets/${dir}/${name}`);
  });

  it.each(["logo@2x.png", "a:b.png"])("%s gets a manifest on /m/ whose url names it, from the copy /c/ stored", async (name) => {
    const data = bytes(30_000, 4);
    const origin = stubOrigin(() => asset(data));
    const dir = crypto.randomUUID();
    expect((await call(`/c/assets/${dir}/${name}`)).res.status).toBe(200);
    const m = await callManifest(`/m/assets/${dir}/${name}?peer=names-peer-1`);
    expect(m.res.status).toBe(200);
    const json = JSON.parse(text(m.body)) as ManifestResponse;
    expect(json.manifest.url).toBe(`/c/assets/${dir}/${name}`);
    expect(json.manifest.size).toBe(data.byteLength);
    expect(origin.calls.map((c) => c.url)).toEqual([`${ORIGIN}${dir}/${name}`]);
  });
});
