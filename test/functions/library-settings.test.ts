/**
 * TURN (functions/ice-servers.ts) and dashboard tokens (functions/dashboard-auth.ts) are part of the
 * one config parse: in library mode they are configured through `edgeswarm({ settings })` (the
 * host's env holds none of them), typed values work, and a bad value is `bad-config`.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { verifyRestCredential } from "../../functions/ice-servers";
import { verifyJoinToken } from "../../functions/join-token";
import { SUPERNODE_KEY_HEADER } from "../../protocol/swarm-protocol";
import { edgeswarm } from "../../functions/worker";
import type { ManifestResponse } from "../../protocol/manifest";
import { asset, bytes, stubOrigin, uniquePath } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const SECRET = "library-turn-secret";
const DASH = "library-dashboard-token";
/** A host env with none of the settings under test (the library must not read them from c.env). */
const HOST_ENV = (() => {
  const e: Record<string, unknown> = { ...env };
  for (const k of ["TURN_URLS", "TURN_SECRET", "TURN_KEY_ID", "TURN_KEY_API_TOKEN", "TURN_TTL", "DASHBOARD_TOKEN", "DASHBOARD_TOKENS", "SUPERNODE_KEY"]) delete e[k];
  return e;
})();

function app(extra: Record<string, unknown>) {
  const host = new Hono();
  host.route("/cdn", edgeswarm({ settings: { ROUTES: { "/lib/": "https://lib-origin.test/x/" }, TOKEN_SECRET: "library-token-secret", PEER_KEY_REQUIRED: false, ...extra } }));
  return async (path: string, init?: RequestInit) => {
    const ctx = createExecutionContext();
    const res = await host.fetch(new Request(`https://www.example.test${path}`, init), HOST_ENV, ctx);
    const text = await res.text();
    await waitOnExecutionContext(ctx);
    return { res, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
}

async function joinAnswer(send: ReturnType<typeof app>, peer: string): Promise<ManifestResponse> {
  const p = `/cdn/m/lib/${uniquePath()}?peer=${peer}`;
  let r = await send(p);
  if (r.res.status === 202) r = await send(p);
  expect(r.res.status).toBe(200);
  return r.json() as unknown as ManifestResponse;
}

describe("TURN and dashboard settings in library mode", () => {
  it("TURN_URLS (an array in code) + TURN_SECRET + TURN_TTL from settings give per-peer credentials", async () => {
    stubOrigin(() => asset(bytes(2000, 5)));
    const send = app({ TURN_URLS: ["turn:turn.lib.test:3478"], TURN_SECRET: SECRET, TURN_TTL: 120, ICE_SERVERS: [] });
    const before = Date.now();
    const answer = await joinAnswer(send, "library-peer-1");
    expect(answer.iceServers).toHaveLength(1);
    const [turn] = answer.iceServers as { urls: string[]; username: string; credential: string }[];
    expect(turn!.urls).toEqual(["turn:turn.lib.test:3478"]);
    const [expiry, peer] = turn!.username.split(":");
    expect(peer).toBe("library-peer-1");
    expect(Number(expiry) - Math.floor(before / 1000)).toBeGreaterThanOrEqual(120);
    expect(Number(expiry) - Math.floor(before / 1000)).toBeLessThanOrEqual(121 + 60);
    expect(await verifyRestCredential(SECRET, turn!.username, turn!.credential, Date.now())).toBe(true);
    expect(await verifyRestCredential("another-secret", turn!.username, turn!.credential, Date.now())).toBe(false);
  });

  it("without TURN settings the answer has the STUN default only", async () => {
    stubOrigin(() => asset(bytes(2000, 5)));
    expect((await joinAnswer(app({}), "library-peer-2")).iceServers).toEqual([{ urls: "stun:stun.cloudflare.com:3478" }]);
  });

  it("DASHBOARD_TOKEN and DASHBOARD_TOKENS (an object in code) from settings guard /dashboard", async () => {
    const send = app({ DASHBOARD_TOKEN: DASH, DASHBOARD_TOKENS: { "/lib/": "lib-scoped-token" } });
    expect((await send("/cdn/dashboard/data")).res.status).toBe(401);
    expect((await send("/cdn/dashboard/data", { headers: { authorization: "Bearer wrong" } })).res.status).toBe(401);
    expect((await send("/cdn/dashboard/data", { headers: { authorization: `Bearer ${DASH}` } })).res.status).toBe(200);
    expect((await send("/cdn/dashboard/data?site=/lib/", { headers: { authorization: "Bearer lib-scoped-token" } })).res.status).toBe(200);
    // No token in settings: nothing configured, whatever the host's env holds.
    const none = await app({})("/cdn/dashboard/data", { headers: { authorization: `Bearer ${String(env.DASHBOARD_TOKEN)}` } });
    expect(none.res.status).toBe(401);
  });

  it("SUPERNODE_KEY from settings: only a /m/ request showing it gets the supernode grant", async () => {
    stubOrigin(() => asset(bytes(2000, 5)));
    const send = app({ SUPERNODE_KEY: "library-supernode-key" });
    const p = `/cdn/m/lib/${uniquePath()}?peer=library-peer-sn`;
    const claims = async (headers: Record<string, string>) => {
      let r = await send(p, { headers });
      if (r.res.status === 202) r = await send(p, { headers });
      expect(r.res.status).toBe(200);
      const answer = r.json() as unknown as ManifestResponse;
      const v = await verifyJoinToken("library-token-secret", answer.join.token, answer.join.swarm ?? answer.manifest.root, Date.now());
      expect(v.ok).toBe(true);
      return v.ok ? v.claims : null;
    };
    expect((await claims({ [SUPERNODE_KEY_HEADER]: "library-supernode-key" }))?.supernode).toBe(true);
    expect((await claims({ [SUPERNODE_KEY_HEADER]: "a-guess" }))?.supernode).toBeUndefined();
    expect((await claims({}))?.supernode).toBeUndefined();
  });

  it.each([
    ["TURN_URLS without TURN_SECRET", { TURN_URLS: "turn:t.test:3478" }],
    ["TURN_URLS not turn:", { TURN_URLS: ["https://t.test/"], TURN_SECRET: SECRET }],
    ["TURN_TTL out of range", { TURN_URLS: "turn:t.test:3478", TURN_SECRET: SECRET, TURN_TTL: 5 }],
    ["TURN_TTL not an integer", { TURN_URLS: "turn:t.test:3478", TURN_SECRET: SECRET, TURN_TTL: "60.5" }],
    ["TURN_KEY_ID without its token", { TURN_KEY_ID: "k" }],
    ["DASHBOARD_TOKENS not JSON", { DASHBOARD_TOKENS: "{nope" }],
    ["DASHBOARD_TOKENS an array", { DASHBOARD_TOKENS: ["a"] }],
    ["DASHBOARD_TOKENS an empty token", { DASHBOARD_TOKENS: { "/lib/": "" } }],
  ])("%s → 500 bad-config on every route", async (_name, extra) => {
    const send = app(extra);
    for (const path of ["/cdn/c/lib/a.bin", "/cdn/dashboard/data"]) {
      const r = await send(path);
      expect(r.res.status).toBe(500);
      expect((r.json().error as { code: string }).code).toBe("bad-config");
    }
  });
});
