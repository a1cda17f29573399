import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("edge worker", () => {
  it("answers /health", async () => {
    const res = await exports.default.fetch("https://edge.test/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});
