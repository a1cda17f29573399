/**
 * ICE servers in the manifest's join answer (functions/ice-servers.ts): the public STUN default,
 * per-peer TURN REST credentials derived from TURN_SECRET that expire, and Cloudflare Realtime
 * TURN's credential API behind a stubbed `fetch`.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { createHmac } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../functions/index";
import { CLOUDFLARE_TURN_API, DEFAULT_ICE_SERVERS, verifyRestCredential } from "../../functions/ice-servers";
import type { ManifestResponse } from "../../protocol/manifest";
import { asset, bytes, stubOrigin, uniquePath } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

type Vars = Record<string, string | undefined>;
type Answer = ManifestResponse & { error?: { code: string; message: string } };

async function joinAnswer(path: string, peer: string, vars: Vars = {}): Promise<{ status: number; json: Answer }> {
  const first = await joinAnswerOnce(path, peer, vars);
  // A cold item answers 202 pending (its fill ran in the first call's waitUntil): ask again, as the SDK does.
  return first.status === 202 ? joinAnswerOnce(path, peer, vars) : first;
}

async function joinAnswerOnce(path: string, peer: string, vars: Vars): Promise<{ status: number; json: Answer }> {
  const ctx = createExecutionContext();
  const merged: Record<string, unknown> = { ...env, ...vars };
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete merged[k];
  const res = await worker.fetch(new Request(`https://edge.test/m/assets/${path}?peer=${peer}`), merged as unknown as Env, ctx);
  const json = (await res.json()) as Answer;
  await waitOnExecutionContext(ctx);
  return { status: res.status, json };
}

const SECRET = "turn-shared-secret-for-tests";
const TURN = { TURN_URLS: '["turn:turn.test:3478?transport=udp","turns:turn.test:5349"]', TURN_SECRET: SECRET, TURN_TTL: "600" };

describe("join answer iceServers", () => {
  it("defaults to Cloudflare's public STUN when ICE_SERVERS is unset; '[]' turns it off; a configured list is used as is", async () => {
    stubOrigin(() => asset(bytes(1000, 3)));
    const p = uniquePath();
    expect((await joinAnswer(p, "peer-default-1", { ICE_SERVERS: undefined })).json.iceServers).toEqual([{ urls: "stun:stun.cloudflare.com:3478" }]);
    expect(DEFAULT_ICE_SERVERS).toEqual([{ urls: "stun:stun.cloudflare.com:3478" }]);
    expect((await joinAnswer(p, "peer-default-2", { ICE_SERVERS: "[]" })).json.iceServers).toEqual([]);
    const own = [{ urls: ["stun:stun.example.org:3478"] }];
    expect((await joinAnswer(p, "peer-default-3", { ICE_SERVERS: JSON.stringify(own) })).json.iceServers).toEqual(own);
  });

  it("TURN REST: per-peer credentials HMAC-SHA1(secret, 'expiry:peer') valid for TURN_TTL, rejected once expired", async () => {
    stubOrigin(() => asset(bytes(1000, 4)));
    const p = uniquePath();
    const before = Math.floor(Date.now() / 1000);
    const a = await joinAnswer(p, "peer-turn-aaaa", { ...TURN, ICE_SERVERS: "[]" });
    const b = await joinAnswer(p, "peer-turn-bbbb", { ...TURN, ICE_SERVERS: "[]" });
    const after = Math.floor(Date.now() / 1000);
    expect([a.status, b.status]).toEqual([200, 200]);
    const [ta] = a.json.iceServers, [tb] = b.json.iceServers;
    expect(a.json.iceServers).toHaveLength(1);
    expect(ta!.urls).toEqual(["turn:turn.test:3478?transport=udp", "turns:turn.test:5349"]);
    // username: "<expiry unix seconds>:<peer id>", the expiry TURN_TTL from now.
    const [expiry, user] = ta!.username!.split(":");
    expect(user).toBe("peer-turn-aaaa");
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + 600);
    expect(Number(expiry)).toBeLessThanOrEqual(after + 600);
    // An independent implementation (Node's crypto, as coturn computes it) gives the same credential.
    expect(ta!.credential).toBe(createHmac("sha1", SECRET).update(ta!.username!).digest("base64"));
    expect(tb!.username!.endsWith(":peer-turn-bbbb")).toBe(true);
    expect(tb!.credential).not.toBe(ta!.credential);
    // What the TURN server checks: valid now, not after the expiry, not under another secret, and
    // one peer's credential does not authenticate another peer's username.
    const exp = Number(expiry) * 1000;
    expect(await verifyRestCredential(SECRET, ta!.username!, ta!.credential!, Date.now())).toBe(true);
    expect(await verifyRestCredential(SECRET, ta!.username!, ta!.credential!, exp - 1000)).toBe(true);
    expect(await verifyRestCredential(SECRET, ta!.username!, ta!.credential!, exp)).toBe(false);
    expect(await verifyRestCredential("another-secret", ta!.username!, ta!.credential!, Date.now())).toBe(false);
    expect(await verifyRestCredential(SECRET, tb!.username!, ta!.credential!, Date.now())).toBe(false);
    // The long-term secret itself is nowhere in the answer.
    expect(JSON.stringify(a.json)).not.toContain(SECRET);
  });

  it("Cloudflare Realtime TURN: asks the credential API with the key, keeps its TURN URLs (not port 53) after STUN", async () => {
    const calls: { url: string; auth: string | null; body: string }[] = [];
    stubOrigin(() => asset(bytes(1000, 5)));
    const spy = vi.mocked(globalThis.fetch);
    const originImpl = spy.getMockImplementation()!;
    spy.mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input as RequestInfo, init);
      if (!req.url.startsWith(CLOUDFLARE_TURN_API)) return originImpl(input, init);
      calls.push({ url: req.url, auth: req.headers.get("authorization"), body: await req.text() });
      return Response.json(
        {
          iceServers: [
            { urls: ["stun:stun.cloudflare.com:3478", "stun:stun.cloudflare.com:53"] },
            { urls: ["turn:turn.cloudflare.com:3478?transport=udp", "turn:turn.cloudflare.com:53?transport=udp", "turns:turn.cloudflare.com:443?transport=tcp"], username: "cf-user", credential: "cf-cred" },
          ],
        },
        { status: 201 },
      );
    });
    const r = await joinAnswer(uniquePath(), "peer-cf-turn-1", { TURN_KEY_ID: "key123", TURN_KEY_API_TOKEN: "tok-abc", TURN_TTL: "900", ICE_SERVERS: undefined });
    expect(r.status).toBe(200);
    expect(calls).toEqual([{ url: `${CLOUDFLARE_TURN_API}/key123/credentials/generate-ice-servers`, auth: "Bearer tok-abc", body: '{"ttl":900}' }]);
    expect(r.json.iceServers).toEqual([
      { urls: "stun:stun.cloudflare.com:3478" },
      { urls: ["turn:turn.cloudflare.com:3478?transport=udp", "turns:turn.cloudflare.com:443?transport=tcp"], username: "cf-user", credential: "cf-cred" },
    ]);
    expect(JSON.stringify(r.json)).not.toContain("tok-abc");
  });

  it("a failing TURN API costs the relay, not the manifest; half a TURN configuration is a 500 bad-config", async () => {
    stubOrigin((req) => (req.url.startsWith(CLOUDFLARE_TURN_API) ? new Response("down", { status: 503 }) : asset(bytes(1000, 6))));
    const p = uniquePath();
    const down = await joinAnswer(p, "peer-cf-down-1", { TURN_KEY_ID: "k", TURN_KEY_API_TOKEN: "t", ICE_SERVERS: undefined });
    expect(down.status).toBe(200);
    expect(down.json.iceServers).toEqual([{ urls: "stun:stun.cloudflare.com:3478" }]);
    const half = await joinAnswer(p, "peer-half-1", { TURN_URLS: '["turn:turn.test:3478"]' });
    expect(half.status).toBe(500);
    expect(half.json.error?.code).toBe("bad-config");
    const badTtl = await joinAnswer(p, "peer-badttl-1", { ...TURN, TURN_TTL: "5" });
    expect(badTtl.status).toBe(500);
    const badUrl = await joinAnswer(p, "peer-badurl-1", { TURN_URLS: '["http://turn.test"]', TURN_SECRET: SECRET });
    expect(badUrl.status).toBe(500);
  });
});
