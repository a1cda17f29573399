/**
 * `GET /swarm/<root>/stats?shard=` names a Durable Object, so the edge accepts only the shard names
 * its own `shardOf()` can produce under the configured `SHARD_BY` (plus a `~k` sub-shard below
 * `MAX_SUBSHARDS`); anything else is 400 bad-shard before any object is addressed.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, listDurableObjectIds, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../functions/index";
import { signJoinToken } from "../../functions/join-token";
import { isShardName, shardOf } from "../../functions/swarm-route";

const randomRoot = () => [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("");

type Vars = Partial<Env> & { STATS_REQUIRE_TOKEN?: string };

async function stats(root: string, shard: string, vars: Vars = {}, token?: string): Promise<{ status: number; body: { error?: { code: string }; shard?: string } }> {
  const ctx = createExecutionContext();
  const q = `shard=${encodeURIComponent(shard)}${token === undefined ? "" : `&token=${encodeURIComponent(token)}`}`;
  const res = await worker.fetch(new Request(`https://edge.test/swarm/${root}/stats?${q}`), { ...env, ...vars }, ctx);
  const body = (await res.json()) as { error?: { code: string }; shard?: string };
  await waitOnExecutionContext(ctx);
  return { status: res.status, body };
}

describe("shard names", () => {
  it("shardOf() only produces names of the configured mode, else XX", () => {
    expect(shardOf({ continent: "EU" }, "continent")).toBe("EU");
    expect(shardOf({ continent: "ZZ" }, "continent")).toBe("XX");
    expect(shardOf({ continent: "eu" }, undefined)).toBe("XX");
    expect(shardOf({ colo: "FRA" }, "colo")).toBe("FRA");
    expect(shardOf({ colo: "fra" }, "colo")).toBe("XX");
    expect(shardOf({ colo: "FRAX" }, "colo")).toBe("XX");
    expect(shardOf({ colo: 42 }, "colo")).toBe("XX");
    expect(shardOf({ continent: "EU" }, "none")).toBe("all");
  });

  it("isShardName() accepts exactly what shardOf() can produce", () => {
    for (const c of ["AF", "AN", "AS", "EU", "NA", "OC", "SA", "XX"]) expect([c, isShardName(c, "continent")]).toEqual([c, true]);
    for (const bad of ["FRA", "ZZ", "eu", "all", "", "E", "EUR"]) expect([bad, isShardName(bad, "continent")]).toEqual([bad, false]);
    for (const c of ["FRA", "SJC", "XX"]) expect(isShardName(c, "colo")).toBe(true);
    for (const bad of ["EU", "fra", "FRAX", "F-A", "all"]) expect([bad, isShardName(bad, "colo")]).toEqual([bad, false]);
    expect(isShardName("all", "none")).toBe(true);
    for (const bad of ["XX", "EU", "ALL"]) expect([bad, isShardName(bad, "none")]).toEqual([bad, false]);
  });
});

describe("GET /swarm/<root>/stats?shard=", () => {
  it.each([
    ["continent", ["EU", "XX", "AF~3", "SA~15"], ["FRA", "ZZ", "eu", "all", "a-b", "EU~16", "XX~0", "EU~01", "EU~1~2", ""]],
    ["colo", ["FRA", "SJC~2", "XX"], ["EU", "fra", "FRAX", "all", "FR1", "FRA~16"]],
    ["none", ["all", "all~1"], ["XX", "EU", "ALL", "all~0"]],
  ] as const)("SHARD_BY=%s: accepts its own names, refuses every other name with 400 bad-shard", async (mode, good, bad) => {
    const root = randomRoot();
    for (const shard of good) {
      const r = await stats(root, shard, { SHARD_BY: mode });
      expect([shard, r.status, r.body.shard]).toEqual([shard, 200, shard]);
    }
    for (const shard of bad) {
      const r = await stats(root, shard, { SHARD_BY: mode });
      expect([shard, r.status, r.body.error?.code]).toEqual([shard, 400, "bad-shard"]);
    }
  });

  it("refuses sub-shards at or past MAX_SUBSHARDS", async () => {
    const root = randomRoot();
    expect((await stats(root, "EU~3", { MAX_SUBSHARDS: "4" })).status).toBe(200);
    expect((await stats(root, "EU~4", { MAX_SUBSHARDS: "4" })).body.error?.code).toBe("bad-shard");
    expect((await stats(root, "EU~1", { MAX_SUBSHARDS: "1" })).body.error?.code).toBe("bad-shard");
  });

  it("addresses no Durable Object for a refused name", async () => {
    const root = randomRoot();
    const names = ["FRA", "ZZ", "evil-name-0001", "x~1"];
    for (const shard of names) expect((await stats(root, shard)).status).toBe(400);
    const ids = new Set((await listDurableObjectIds(env.SWARM)).map((id) => id.toString()));
    for (const shard of names) expect(ids.has(env.SWARM.idFromName(`swarm:${root}:${shard}`).toString())).toBe(false);
  });
});

describe("GET /swarm/<root>/stats with a join token", () => {
  const token = (root: string, expires = Date.now() + 60_000) => signJoinToken(env.TOKEN_SECRET, { root, peerId: "peer-stats-1", expires, chunks: 4, size: 1_000_000 });

  it("STATS_REQUIRE_TOKEN=1: only a valid join token for this root gets figures", async () => {
    const root = randomRoot();
    const req = { STATS_REQUIRE_TOKEN: "1" };
    expect(await stats(root, "EU", req)).toMatchObject({ status: 401, body: { error: { code: "bad-token" } } });
    expect(await stats(root, "EU", req, "x.y")).toMatchObject({ status: 401, body: { error: { code: "bad-token" } } });
    expect(await stats(root, "EU", req, await token(randomRoot()))).toMatchObject({ status: 403, body: { error: { code: "wrong-root" } } });
    expect(await stats(root, "EU", req, await token(root, Date.now() - 1))).toMatchObject({ status: 403, body: { error: { code: "expired" } } });
    expect(await stats(root, "EU", req, await token(root))).toMatchObject({ status: 200, body: { shard: "EU" } });
  });

  it("by default a token is optional, but one that is given must be valid", async () => {
    const root = randomRoot();
    expect((await stats(root, "EU")).status).toBe(200);
    expect((await stats(root, "EU", {}, await token(root))).status).toBe(200);
    expect(await stats(root, "EU", {}, "forged")).toMatchObject({ status: 401, body: { error: { code: "bad-token" } } });
  });
});
