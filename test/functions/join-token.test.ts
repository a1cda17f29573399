/** Join tokens: HMAC-SHA-256 over (root, peer id, expiry). */
import { describe, expect, it } from "vitest";
import { isSupernodeKey, signJoinToken, verifyJoinToken } from "../../functions/join-token";

const root = "ab".repeat(32);
const secret = "unit-test-secret";

describe("join tokens", () => {
  it("verify for the right root before expiry", async () => {
    const t = await signJoinToken(secret, { root, peerId: "peer-12345", expires: 2_000, chunks: 4, size: 1_000_000 });
    expect(await verifyJoinToken(secret, t, root, 1_999)).toEqual({ ok: true, claims: { root, peerId: "peer-12345", expires: 2_000, chunks: 4, size: 1_000_000 } });
  });
  it("are refused when expired, for another root, with another secret, or altered", async () => {
    const t = await signJoinToken(secret, { root, peerId: "peer-12345", expires: 2_000, chunks: 4, size: 1_000_000 });
    expect(await verifyJoinToken(secret, t, root, 2_000)).toEqual({ ok: false, error: "expired" });
    expect(await verifyJoinToken(secret, t, "cd".repeat(32), 1_000)).toEqual({ ok: false, error: "wrong-root" });
    expect(await verifyJoinToken("other", t, root, 1_000)).toEqual({ ok: false, error: "bad-token" });
    // Re-sign a payload with a later expiry under a guessed key: the signature no longer matches.
    const forged = await signJoinToken("guess", { root, peerId: "peer-12345", expires: 9e15, chunks: 4, size: 1_000_000 });
    const [payload] = forged.split(".");
    const [, sig] = t.split(".");
    expect(await verifyJoinToken(secret, `${payload}.${sig}`, root, 1_000)).toEqual({ ok: false, error: "bad-token" });
    for (const junk of ["", "a.b.c", "!!.!!", "x".repeat(2000), t + "x"])
      expect((await verifyJoinToken(secret, junk, root, 1_000)).ok).toBe(false);
  });
  it("carry the item's chunk count and size, and the supernode grant only when given", async () => {
    const sn = await signJoinToken(secret, { root, peerId: "peer-12345", expires: 2_000, chunks: 7, size: 1_800_000, supernode: true });
    expect(await verifyJoinToken(secret, sn, root, 1_000)).toEqual({ ok: true, claims: { root, peerId: "peer-12345", expires: 2_000, chunks: 7, size: 1_800_000, supernode: true } });
  });
  it("say which key is the supernode key, and nobody's when none is configured", async () => {
    expect(await isSupernodeKey("s3cret-supernode-key", "s3cret-supernode-key")).toBe(true);
    expect(await isSupernodeKey("s3cret-supernode-key", "s3cret-supernode-kez")).toBe(false);
    expect(await isSupernodeKey("s3cret-supernode-key", "")).toBe(false);
    expect(await isSupernodeKey("s3cret-supernode-key", null)).toBe(false);
    expect(await isSupernodeKey(undefined, "anything")).toBe(false);
    expect(await isSupernodeKey("", "")).toBe(false);
  });
  it("refuse to sign without a secret", async () => {
    await expect(signJoinToken("", { root, peerId: "peer-12345", expires: 1, chunks: 4, size: 1_000_000 })).rejects.toThrow(/TOKEN_SECRET/);
  });
});
