/**
 * `POST /purge` (PURGE_TOKEN): by URL and by prefix; afterwards `/c/` refetches, `/m/` gives the new
 * root, and join tokens for the old root are refused, so its swarm gets no new members.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../functions/index";
import type { ManifestResponse } from "../../protocol/manifest";
import { ORIGIN, asset, bytes, stubOrigin } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const TOKEN = "purge-token-for-tests";
const ENV = { ...env, PURGE_TOKEN: TOKEN };

async function send(path: string, init?: RequestInit, e: object = ENV) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://edge.test${path}`, init), e as typeof env, ctx);
  const body = res.webSocket ? new Uint8Array() : new Uint8Array(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, body, json: <T = Record<string, unknown>>() => JSON.parse(new TextDecoder().decode(body)) as T };
}

const purge = (body: unknown, token = TOKEN) =>
  send("/purge", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });

async function manifest(path: string, peer: string) {
  const r = await send(`/m${path}${path.includes("?") ? "&" : "?"}peer=${peer}`);
  expect(r.res.status).toBe(200);
  return r.json<ManifestResponse>();
}

async function join(m: ManifestResponse) {
  const r = await send(`${m.join.url}?token=${encodeURIComponent(m.join.token)}`, { headers: { Upgrade: "websocket" } });
  if (r.res.webSocket) {
    r.res.webSocket.accept();
    r.res.webSocket.close(1000, "done");
  }
  return r;
}

/** An origin whose bytes for every path depend on a version the test bumps. */
function versionedOrigin() {
  const state = { version: 1 };
  const origin = stubOrigin((req) => asset(bytes(50_000, state.version * 1000 + new URL(req.url).pathname.length), { etag: `"v${state.version}"` }));
  return { state, origin };
}

describe("POST /purge", () => {
  it("is disabled without PURGE_TOKEN and refuses a wrong token", async () => {
    const off = await send("/purge", { method: "POST", body: "{}" }, env);
    expect(off.res.status).toBe(404);
    expect(off.json<{ error: { code: string } }>().error.code).toBe("purge-disabled");
    const wrong = await purge({ urls: ["/c/assets/a.bin"] }, "not-the-token");
    expect(wrong.res.status).toBe(401);
    expect(wrong.json<{ error: { code: string } }>().error.code).toBe("unauthorized");
    const none = await send("/purge", { method: "POST", body: JSON.stringify({ urls: ["/c/assets/a.bin"] }) });
    expect(none.res.status).toBe(401);
  });

  it.each([
    ["not JSON", "{"],
    ["nothing to purge", "{}"],
    ["too many URLs", JSON.stringify({ urls: Array.from({ length: 101 }, (_, i) => `/c/assets/${i}.bin`) })],
    ["a non-string", JSON.stringify({ prefixes: [1] })],
  ])("refuses %s with 400 bad-request", async (_n, body) => {
    const r = await send("/purge", { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, body });
    expect(r.res.status).toBe(400);
    expect(r.json<{ error: { code: string } }>().error.code).toBe("bad-request");
  });

  it("by URL: /c/ refetches, /m/ gives the new root, tokens for the old root are refused", async () => {
    const { state, origin } = versionedOrigin();
    const p = `${crypto.randomUUID()}.bin`;
    expect((await send(`/c/assets/${p}?v=1`)).res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect((await send(`/c/assets/${p}?v=1`)).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    const old = await manifest(`/assets/${p}?v=1`, "purge-peer-1");
    expect((await join(old)).res.status).toBe(101);

    state.version = 2;
    const r = await purge({ urls: [`/c/assets/${p}?v=1`] });
    expect(r.res.status).toBe(200);
    expect(r.json<{ purged: { urls: string[] } }>().purged.urls).toEqual([`/c/assets/${p}?v=1`]);

    const after = await send(`/c/assets/${p}?v=1`);
    expect(after.res.headers.get("x-edgeswarm-cache")).toBe("MISS");
    expect(after.body).toEqual(bytes(50_000, 2000 + `/assets/${p}`.length));
    expect(origin.hits(`${ORIGIN}${p}?v=1`)).toBe(2);
    const fresh = await manifest(`/assets/${p}?v=1`, "purge-peer-2");
    expect(fresh.manifest.root).not.toBe(old.manifest.root);
    expect(origin.hits(`${ORIGIN}${p}?v=1`)).toBe(2);

    const refused = await join(old);
    expect(refused.res.status).toBe(403);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe("purged");
    expect((await join(fresh)).res.status).toBe(101);
  });

  it("by prefix: everything under it refetches, nothing else does; the old roots' tokens are refused", async () => {
    const { state, origin } = versionedOrigin();
    const dir = crypto.randomUUID();
    const inside = [`/assets/${dir}/a.bin`, `/assets/${dir}/sub/b.bin?x=1`];
    const outside = `/assets/${dir}-other/c.bin`;
    for (const p of [...inside, outside]) await send(`/c${p}`);
    const oldInside = await manifest(inside[0]!, "purge-peer-3");
    state.version = 2;

    const r = await purge({ prefixes: [`/c/assets/${dir}/`] });
    expect(r.res.status).toBe(200);
    expect(r.json<{ purged: { prefixes: string[] } }>().purged.prefixes).toEqual([`/c/assets/${dir}/`]);

    for (const p of inside) {
      const again = await send(`/c${p}`);
      expect(again.res.headers.get("x-edgeswarm-cache"), p).toBe("MISS");
      expect(again.body).toEqual(bytes(50_000, 2000 + p.split("?")[0]!.length));
      expect((await send(`/c${p}`)).res.headers.get("x-edgeswarm-cache"), p).toBe("HIT");
    }
    expect((await send(`/c${outside}`)).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(origin.hits(`${ORIGIN}${dir}/a.bin`)).toBe(2);
    expect(origin.hits(`${ORIGIN}${dir}-other/c.bin`)).toBe(1);

    const fresh = await manifest(inside[0]!, "purge-peer-4");
    expect(fresh.manifest.root).not.toBe(oldInside.manifest.root);
    const refused = await join(oldInside);
    expect(refused.res.status).toBe(403);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe("purged");
    expect((await join(fresh)).res.status).toBe(101);
  });

  it("refuses a prefix outside every route", async () => {
    const r = await purge({ prefixes: ["/nope/"] });
    expect(r.res.status).toBe(404);
    expect(r.json<{ error: { code: string } }>().error.code).toBe("no-route");
  });
});
