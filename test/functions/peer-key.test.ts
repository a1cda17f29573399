/**
 * Peer ids derived from a client-held key (`/m/…?key=`): the swarm object lets the newer connection
 * of a peer id win, so a peer id anyone may claim with `?peer=` can be taken over by any swarm
 * member that saw it. A key-derived id can only be obtained with the key.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../functions/index";
import { verifyJoinToken } from "../../functions/join-token";
import { DERIVED_PEER_ID, peerIdFromKey, randomPeerKey } from "../../protocol/peer-id";
import type { ManifestResponse } from "../../protocol/manifest";
import { PEER_ID } from "../../protocol/swarm-protocol";
import { asset, bytes, stubOrigin, uniquePath } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

type Vars = Partial<Env> & { PEER_KEY_REQUIRED?: string };

async function manifest(path: string, query: string, vars: Vars = {}): Promise<{ status: number; json: ManifestResponse & { error?: { code: string } } }> {
  const first = await manifestOnce(path, query, vars);
  // A cold item answers 202 pending (its fill ran in the first call's waitUntil): ask again, as the SDK does.
  return first.status === 202 ? manifestOnce(path, query, vars) : first;
}

async function manifestOnce(path: string, query: string, vars: Vars): Promise<{ status: number; json: ManifestResponse & { error?: { code: string } } }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://edge.test/m/assets/${path}?${query}`), { ...env, ...vars }, ctx);
  const json = (await res.json()) as ManifestResponse & { error?: { code: string } };
  await waitOnExecutionContext(ctx);
  return { status: res.status, json };
}

const KEY_A = "A".repeat(21) + "a";
const KEY_B = "b".repeat(43);

describe("/m/?key= (key-derived peer ids)", () => {
  it("derives the same id for the same key on every manifest, a different one per key, and signs the token for it", async () => {
    stubOrigin(() => asset(bytes(1000, 21)));
    const [p, q] = [uniquePath(), uniquePath()];
    const a1 = await manifest(p, `key=${KEY_A}`);
    const a2 = await manifest(q, `key=${KEY_A}`);
    const b = await manifest(p, `key=${KEY_B}`);
    expect([a1.status, a2.status, b.status]).toEqual([200, 200, 200]);
    const id = a1.json.join.peerId;
    expect(id).toBe(await peerIdFromKey(KEY_A));
    expect(a2.json.join.peerId).toBe(id);
    expect(b.json.join.peerId).not.toBe(id);
    expect(PEER_ID.test(id) && DERIVED_PEER_ID.test(id)).toBe(true);
    expect(id).not.toContain(KEY_A);
    const v = await verifyJoinToken(env.TOKEN_SECRET, a1.json.join.token, a1.json.manifest.root, Date.now());
    expect(v).toMatchObject({ ok: true, claims: { peerId: id } });
  });

  it("id = pk_ + 29 chars of base64url(SHA-256(key)): the edge's answer, protocol/peer-id.ts and a fixed vector agree", async () => {
    stubOrigin(() => asset(bytes(1000, 24)));
    // Vectors from Node: "pk_" + createHash("sha256").update(key).digest("base64url").slice(0, 29).
    expect(await peerIdFromKey(KEY_A)).toBe("pk_KwCPz16lZhznvfkce_Xzx4oKNrRjZ");
    expect(await peerIdFromKey(KEY_B)).toBe("pk_8BtXImJhrjdWuTk24cTmuEn5pbCTP");
    for (const key of [KEY_A, KEY_B, randomPeerKey(), randomPeerKey()]) {
      const client = await peerIdFromKey(key);
      expect(DERIVED_PEER_ID.test(client)).toBe(true);
      expect((await manifest(uniquePath(), `key=${key}`)).json.join.peerId).toBe(client);
    }
    expect(randomPeerKey()).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("the id does not depend on TOKEN_SECRET (it survives a secret rotation)", async () => {
    stubOrigin(() => asset(bytes(1000, 25)));
    const p = uniquePath();
    const a = await manifest(p, `key=${KEY_A}`);
    const b = await manifest(p, `key=${KEY_A}`, { TOKEN_SECRET: "another-secret-after-rotation" });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.json.join.peerId).toBe(a.json.join.peerId);
    // The token itself is bound to the secret that signed it.
    expect((await verifyJoinToken("another-secret-after-rotation", b.json.join.token, b.json.manifest.root, Date.now())).ok).toBe(true);
    expect((await verifyJoinToken(env.TOKEN_SECRET, b.json.join.token, b.json.manifest.root, Date.now())).ok).toBe(false);
  });

  it("a token for a derived id cannot be obtained without its key", async () => {
    stubOrigin(() => asset(bytes(1000, 26)));
    const p = uniquePath();
    const victim = (await manifest(p, `key=${KEY_A}`)).json.join.peerId;
    // The id itself (or a near miss) as a key derives another id; other keys, none, and ?peer= fail too.
    const attempts = [`key=${victim.slice(3)}`, `key=${victim}`, `key=${KEY_A}x`, `key=${KEY_B}`, "", `key=${victim.slice(3).toLowerCase()}`];
    for (const q of attempts) {
      const r = await manifest(p, q);
      expect(r.status).toBe(200);
      expect(r.json.join.peerId).not.toBe(victim);
      const v = await verifyJoinToken(env.TOKEN_SECRET, r.json.join.token, r.json.manifest.root, Date.now());
      expect(v.ok && v.claims.peerId).not.toBe(victim);
    }
    for (const q of [`peer=${victim}`, `peer=${encodeURIComponent(victim)}&key=`, `key=${KEY_B}&peer=${victim}`]) {
      const r = await manifest(p, q);
      expect(r.status).toBe(400);
      expect(JSON.stringify(r.json)).not.toContain('"token"');
    }
  });

  it("nobody can claim a derived id with ?peer=", async () => {
    stubOrigin(() => asset(bytes(1000, 22)));
    const p = uniquePath();
    const id = (await manifest(p, `key=${KEY_A}`)).json.join.peerId;
    const r = await manifest(p, `peer=${id}`);
    expect([r.status, r.json.error?.code]).toEqual([400, "bad-peer-id"]);
  });

  it.each([
    ["a short key", `key=${"x".repeat(21)}`],
    ["a key with other characters", `key=${"x".repeat(21)}%2B`],
    ["key and peer together", `key=${KEY_A}&peer=peer-0001`],
  ])("refuses %s with 400 bad-peer-key", async (_name, query) => {
    const origin = stubOrigin(() => asset("x"));
    const r = await manifest(uniquePath(), query);
    expect([r.status, r.json.error?.code]).toEqual([400, "bad-peer-key"]);
    expect(origin.calls).toHaveLength(0);
  });

  it("PEER_KEY_REQUIRED=1: ?peer= is refused; ?key= and no id at all still work", async () => {
    stubOrigin(() => asset(bytes(1000, 23)));
    const p = uniquePath();
    const vars = { PEER_KEY_REQUIRED: "1" };
    const r = await manifest(p, "peer=peer-0001", vars);
    expect([r.status, r.json.error?.code]).toEqual([400, "bad-peer-id"]);
    expect((await manifest(p, `key=${KEY_A}`, vars)).status).toBe(200);
    const anon = await manifest(p, "", vars);
    expect(anon.status).toBe(200);
    expect(PEER_ID.test(anon.json.join.peerId)).toBe(true);
    expect((await manifest(p, "peer=peer-0001")).status).toBe(200); // default: still accepted
  });
});
