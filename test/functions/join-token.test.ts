/** Join tokens: HMAC-SHA-256 over (root, peer id, expiry). */
import { describe, expect, it } from "vitest";
import { signJoinToken, verifyJoinToken } from "../../functions/join-token";

const root = "ab".repeat(32);
const secret = "unit-test-secret";

describe("join tokens", () => {
  it("verify for the right root before expiry", async () => {
    const t = await signJoinToken(secret, { root, peerId: "peer-12345", expires: 2_000 });
    expect(await verifyJoinToken(secret, t, root, 1_999)).toEqual({ ok: true, claims: { root, peerId: "peer-12345", expires: 2_000 } });
  });
  it("are refused when expired, for another root, with another secret, or altered", async () => {
    const t = await signJoinToken(secret, { root, peerId: "peer-12345", expires: 2_000 });
    expect(await verifyJoinToken(secret, t, root, 2_000)).toEqual({ ok: false, error: "expired" });
    expect(await verifyJoinToken(secret, t, "cd".repeat(32), 1_000)).toEqual({ ok: false, error: "wrong-root" });
    expect(await verifyJoinToken("other", t, root, 1_000)).toEqual({ ok: false, error: "bad-token" });
    // Re-sign a payload with a later expiry under a guessed key: the signature no longer matches.
    const forged = await signJoinToken("guess", { root, peerId: "peer-12345", expires: 9e15 });
    const [payload] = forged.split(".");
    const [, sig] = t.split(".");
    expect(await verifyJoinToken(secret, `${payload}.${sig}`, root, 1_000)).toEqual({ ok: false, error: "bad-token" });
    for (const junk of ["", "a.b.c", "!!.!!", "x".repeat(2000), t + "x"])
      expect((await verifyJoinToken(secret, junk, root, 1_000)).ok).toBe(false);
  });
  it("refuse to sign without a secret", async () => {
    await expect(signJoinToken("", { root, peerId: "peer-12345", expires: 1 })).rejects.toThrow(/TOKEN_SECRET/);
  });
});
