import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardOf } from "../../functions/swarm-route";
import { join, randomPeerId, randomRoot, tokenFor, upgrade } from "./helpers";

async function errorOf(res: Response): Promise<{ status: number; code: string; upgraded: boolean }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(typeof body.error.message).toBe("string");
  return { status: res.status, code: body.error.code, upgraded: res.webSocket !== null };
}

describe("GET /swarm/:root", () => {
  it("refuses a request without Upgrade: websocket with 426", async () => {
    const root = randomRoot();
    const res = await exports.default.fetch(`https://edge.test/swarm/${root}?token=${await tokenFor(root, randomPeerId())}`);
    expect(await errorOf(res)).toEqual({ status: 426, code: "upgrade-required", upgraded: false });
  });

  it("refuses a missing token with 401 bad-token", async () => {
    expect(await errorOf(await upgrade(`/swarm/${randomRoot()}`))).toEqual({ status: 401, code: "bad-token", upgraded: false });
  });

  it("refuses a forged token with 401 bad-token", async () => {
    const root = randomRoot();
    const good = await tokenFor(root, randomPeerId());
    const forged = good.slice(0, -4) + (good.endsWith("AAAA") ? "BBBB" : "AAAA");
    expect(await errorOf(await upgrade(`/swarm/${root}?token=${forged}`))).toEqual({ status: 401, code: "bad-token", upgraded: false });
  });

  it("refuses an expired token with 403 expired", async () => {
    const root = randomRoot();
    const t = await tokenFor(root, randomPeerId(), Date.now() - 1000);
    expect(await errorOf(await upgrade(`/swarm/${root}?token=${t}`))).toEqual({ status: 403, code: "expired", upgraded: false });
  });

  it("refuses a token for another root with 403 wrong-root", async () => {
    const t = await tokenFor(randomRoot(), randomPeerId());
    expect(await errorOf(await upgrade(`/swarm/${randomRoot()}?token=${t}`))).toEqual({ status: 403, code: "wrong-root", upgraded: false });
  });

  it("refuses a root that is not a SHA-256 with 400 bad-root", async () => {
    expect(await errorOf(await upgrade(`/swarm/not-a-root?token=x`))).toEqual({ status: 400, code: "bad-root", upgraded: false });
  });

  it("upgrades with a valid token, with or without cf data", async () => {
    const root = randomRoot();
    const a = await join(root); // no cf at all (local dev)
    const b = await join(root, { location: { continent: "XX" } }); // same shard "XX"
    expect((await b.want()).map((p) => p.peerId)).toEqual([]); // nobody holds anything yet
    a.close();
    b.close();
  });
});

describe("sharding", () => {
  it("derives the shard from continent (default), colo, or none", () => {
    expect(shardOf({ continent: "EU", colo: "FRA" }, "continent")).toBe("EU");
    expect(shardOf({ continent: "EU", colo: "FRA" }, undefined)).toBe("EU");
    expect(shardOf({ continent: "EU", colo: "FRA" }, "colo")).toBe("FRA");
    expect(shardOf({ continent: "EU" }, "none")).toBe("all");
    expect(shardOf(undefined, "continent")).toBe("XX");
    expect(shardOf({ continent: "../x" }, "continent")).toBe("XX");
  });

  it("puts peers of different continents into different objects", async () => {
    const root = randomRoot();
    const eu = await join(root, { location: { continent: "EU" }, have: [0] });
    const na = await join(root, { location: { continent: "NA" } });
    const eu2 = await join(root, { location: { continent: "EU" } });
    expect((await na.want([0])).length).toBe(0);
    expect((await eu2.want([0])).map((p) => p.peerId)).toEqual([eu.peerId]);
    const statsEu = (await (await exports.default.fetch(`https://edge.test/swarm/${root}/stats?shard=EU`)).json()) as { peersOnline: number; shard: string };
    expect(statsEu).toMatchObject({ peersOnline: 2, shard: "EU" });
    const statsNa = (await (await exports.default.fetch(`https://edge.test/swarm/${root}/stats?shard=NA`)).json()) as { peersOnline: number };
    expect(statsNa.peersOnline).toBe(1);
    for (const p of [eu, na, eu2]) p.close();
  });
});
