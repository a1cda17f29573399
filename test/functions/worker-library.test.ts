/**
 * The edge as a library: `edgeswarm()` mounted under `/cdn/` of another Hono app, with its own
 * settings object, running content + manifest + swarm through the prefix; and the one config parse
 * (bad values are a typed `bad-config` error, never a silent default).
 */
import { PROTOCOL_VERSION } from "../../protocol/swarm-protocol";
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { edgeswarm } from "../../functions/worker";
import worker from "../../functions/index";
import type { ManifestResponse } from "../../protocol/manifest";
import { encodeBitfield, encodeMessage } from "../../protocol/swarm-protocol";
import { TestPeer } from "../durable/helpers";
import { asset, bytes, stubOrigin, uniquePath } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

type HostEnv = { Bindings: { TOKEN_SECRET: string; OTHER_VAR?: string } };

function hostApp(settings?: Parameters<typeof edgeswarm>[0]) {
  const host = new Hono<HostEnv>();
  host.get("/", (c) => c.text("the host's own page"));
  host.route(
    "/cdn",
    edgeswarm(settings ?? {
      settings: (e) => ({ ROUTES: { "/img/": "https://img-origin.test/pics/" }, TOKEN_SECRET: String(e.TOKEN_SECRET), PEER_KEY_REQUIRED: false }),
    }),
  );
  host.notFound((c) => c.text("host 404", 404));
  return host;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Hono app, whatever its env type
async function send(app: { fetch: (r: Request, e: any, c: ExecutionContext) => Response | Promise<Response> }, path: string, init?: RequestInit, e: object = env) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://www.example.test${path}`, init), e, ctx);
  const body = res.webSocket ? new Uint8Array() : new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, body, json: () => JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown> };
}

describe("edgeswarm() mounted under /cdn/", () => {
  it("runs content, manifest and a swarm join through the prefix, with its own routes", async () => {
    const data = bytes(300_000, 7);
    const origin = stubOrigin(() => asset(data));
    const host = hostApp();
    const p = uniquePath();

    const page = await send(host, "/");
    expect(new TextDecoder().decode(page.body)).toBe("the host's own page");

    const c1 = await send(host, `/cdn/c/img/${p}`);
    expect(c1.res.status).toBe(200);
    expect(c1.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(c1.body).toEqual(data);
    const c2 = await send(host, `/cdn/c/img/${p}`, { headers: { range: "bytes=100-199" } });
    expect(c2.res.status).toBe(206);
    expect(c2.res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(c2.body).toEqual(data.slice(100, 200));
    expect(origin.hits(`https://img-origin.test/pics/${p}`)).toBe(1);
    expect(origin.hosts()).toEqual(["img-origin.test"]);

    const m = await send(host, `/cdn/m/img/${p}?peer=lib-peer-1`);
    expect(m.res.status).toBe(200);
    const mj = m.json() as unknown as ManifestResponse;
    expect(mj.manifest.url).toBe(`/cdn/c/img/${p}`);
    expect(mj.manifest.size).toBe(data.byteLength);
    expect(mj.join.url).toBe(`/cdn/swarm/${mj.manifest.root}`);
    expect(origin.hits(`https://img-origin.test/pics/${p}`)).toBe(1);

    const up = await send(host, `${mj.join.url}?token=${encodeURIComponent(mj.join.token)}`, { headers: { Upgrade: "websocket" } });
    expect(up.res.status).toBe(101);
    const ws = up.res.webSocket!;
    ws.accept();
    const peer = new TestPeer(ws, mj.join.peerId, mj.manifest.root);
    peer.send(encodeMessage({ type: "hello", version: PROTOCOL_VERSION, peerId: peer.peerId, kind: "browser", have: encodeBitfield([0], mj.manifest.chunks.length), uploadSlots: 4 }));
    const welcome = await peer.take("welcome");
    expect(welcome.type).toBe("welcome");
    const stats = await send(host, `/cdn/swarm/${mj.manifest.root}/stats`);
    expect(stats.res.status).toBe(200);
    peer.close();
  });

  it("answers unknown paths under the prefix with its JSON 404, and leaves the rest to the host", async () => {
    stubOrigin(() => new Response("never"));
    const host = hostApp();
    const inside = await send(host, "/cdn/nope");
    expect(inside.res.status).toBe(404);
    expect(inside.json()).toEqual({ error: { code: "not-found", message: "no such endpoint" } });
    const outside = await send(host, "/elsewhere");
    expect(outside.res.status).toBe(404);
    expect(new TextDecoder().decode(outside.body)).toBe("host 404");
    const noRoute = await send(host, `/cdn/c/assets/${uniquePath()}`);
    expect(noRoute.res.status).toBe(404);
    expect((noRoute.json().error as { code: string }).code).toBe("no-route");
    expect(noRoute.res.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("refuses an unknown key of a settings object at construction", () => {
    expect(() => edgeswarm({ settings: { ROUTS: "{}" } as never })).toThrow(/unknown setting ROUTS/);
  });

  it("refuses an unknown key returned by a settings function on the request, as bad-config JSON", async () => {
    const origin = stubOrigin(() => new Response("never"));
    const host = hostApp({ settings: () => ({ ROUTES: "{}", SHARDBY: "colo" }) as never });
    const r = await send(host, "/cdn/health");
    expect(r.res.status).toBe(500);
    expect((r.json().error as { code: string; message: string }).code).toBe("bad-config");
    expect((r.json().error as { message: string }).message).toMatch(/SHARDBY/);
    expect(origin.calls.length).toBe(0);
  });

  it("README's host Worker: edgeswarm() reading its settings from the env, with only the SWARM binding (no SITE_STATS, no FILL_LOCK)", async () => {
    const data = bytes(70_000, 9);
    const origin = stubOrigin(() => asset(data));
    // The README's "An existing Worker" code and wrangler.toml: ROUTES in [vars], TOKEN_SECRET a
    // secret, one Durable Object binding.
    const app = new Hono();
    app.route("/cdn", edgeswarm());
    const hostEnv = { SWARM: env.SWARM, ROUTES: '{"/media/": "https://media-origin.test/media/"}', TOKEN_SECRET: "host-secret" };
    const p = uniquePath();
    const c = await send(app, `/cdn/c/media/${p}`, undefined, hostEnv);
    expect(c.res.status).toBe(200);
    expect(c.body).toEqual(data);
    const m = await send(app, `/cdn/m/media/${p}?key=${"k".repeat(43)}`, undefined, hostEnv);
    expect(m.res.status).toBe(200);
    const mj = m.json() as unknown as ManifestResponse;
    expect(mj.join.url).toBe(`/cdn/swarm/${mj.manifest.root}`);
    const up = await send(app, `${mj.join.url}?token=${encodeURIComponent(mj.join.token)}`, { headers: { Upgrade: "websocket" } }, hostEnv);
    expect(up.res.status).toBe(101);
    up.res.webSocket!.accept();
    up.res.webSocket!.close();
    expect(origin.hits(`https://media-origin.test/media/${p}`)).toBe(1);
    // The SDK under the prefix too (its split chunks are imported relative to it).
    const sdk = await send(app, "/cdn/sdk/edgeswarm.js", undefined, hostEnv);
    expect(sdk.res.status).toBe(200);
    expect(sdk.res.headers.get("content-type")).toMatch(/javascript/);
    expect(new TextDecoder().decode(sdk.body)).toMatch(/from"\.\/edgeswarm-chunk-[A-Z0-9]+\.js"/);
  });

  it("names a missing coordinator binding", async () => {
    const host = hostApp({ binding: "NOPE", settings: { ROUTES: "{}", TOKEN_SECRET: "x" } });
    const r = await send(host, "/cdn/health");
    expect(r.res.status).toBe(500);
    expect((r.json().error as { message: string }).message).toMatch(/NOPE/);
  });
});

describe("one config parse for the repository's Worker", () => {
  it.each([
    ["SHARD_BY", "contient"],
    ["PEER_KEY_REQUIRED", "yes"],
    ["MAX_SUBSHARDS", "0"],
    ["MAX_PEERS_PER_SHARD", "many"],
    ["STATS_REQUIRE_TOKEN", "2"],
    ["STALE_KEEP_SECONDS", "-1"],
  ])("%s=%s is a bad-config error naming the setting on every route, not a silent default", async (k, v) => {
    const origin = stubOrigin(() => new Response("never"));
    for (const path of ["/health", `/c/assets/${uniquePath()}`, `/swarm/${"a".repeat(64)}/stats`]) {
      const r = await send(worker, path, undefined, { ...env, [k]: v });
      expect(r.res.status).toBe(500);
      const err = r.json().error as { code: string; message: string };
      expect(err.code).toBe("bad-config");
      expect(err.message).toContain(k);
    }
    expect(origin.calls.length).toBe(0);
  });

  it("swarm-route errors have the one error shape", async () => {
    const r = await send(worker, `/swarm/${"a".repeat(64)}`, { headers: { Upgrade: "websocket" } });
    expect(r.res.status).toBe(401);
    expect(r.json()).toEqual({ error: { code: "bad-token", message: "missing or invalid join token" } });
    expect(r.res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.res.headers.get("cache-control")).toBe("no-store");
  });
});
