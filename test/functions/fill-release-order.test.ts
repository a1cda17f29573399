/**
 * The fill lock's messages from a leader arrive in any order: its `abandon` (sent when the origin
 * body failed) and its `release` (sent once the cache commit gave up) are separate requests, and
 * under load the release can reach the lock first. Here the transport to the lock is wrapped so
 * that it always does (an `abandon` is held until its lease was released), against the real fault
 * origin that drops the socket mid-body: every joiner must still see an error, at once — never a
 * clean short end, never a wait for a signal that no longer comes.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../functions/index";
import { drain, faultEnv, faultHits } from "./fault-client";

/** The FILL_LOCK namespace with each lease's `/abandon` delivered only after its `/release` was answered. */
function releaseBeforeAbandon(ns: NonNullable<Env["FILL_LOCK"]>): { namespace: Env["FILL_LOCK"]; held: () => number } {
  const gates = new Map<string, { open: () => void; opened: Promise<void> }>();
  const gate = (lease: string) => {
    let g = gates.get(lease);
    if (!g) {
      let open!: () => void;
      const opened = new Promise<void>((r) => (open = r));
      gates.set(lease, (g = { open, opened }));
    }
    return g;
  };
  let held = 0;
  const namespace = {
    idFromName: (name: string) => ns.idFromName(name),
    get(id: DurableObjectId) {
      const stub = ns.get(id);
      return {
        async fetch(input: string, init?: RequestInit): Promise<Response> {
          const url = new URL(input);
          const lease = url.searchParams.get("lease");
          if (url.pathname === "/abandon" && lease) {
            held++;
            await gate(lease).opened;
          }
          const res = await stub.fetch(input, init);
          if (url.pathname === "/release" && lease) gate(lease).open();
          return res;
        },
      };
    },
  };
  return { namespace: namespace as unknown as Env["FILL_LOCK"], held: () => held };
}

describe("fill lock: a leader's release arriving before its abandon", () => {
  for (const fault of ["chunked", "reset"] as const) {
    it(`origin ${fault === "chunked" ? "cuts a chunked body" : "resets"}: every joiner errors, nothing stored`, async () => {
      const path = `/${fault}/${crypto.randomUUID()}.bin`;
      const lock = releaseBeforeAbandon(env.FILL_LOCK!);
      const e: Env = { ...faultEnv(), FILL_LOCK: lock.namespace };
      const call = async () => {
        const ctx = createExecutionContext();
        const res = await worker.fetch(new Request(`https://edge.test/c/fault${path}`), e, ctx);
        const out = await drain(res.body);
        await waitOnExecutionContext(ctx);
        return { res, ...out };
      };
      const results = await Promise.all(Array.from({ length: 5 }, call));
      for (const r of results) {
        if (r.res.status === 200) expect(r.error).not.toBeNull();
        else expect(r.res.status).toBeGreaterThanOrEqual(500);
        expect(r.bytes.byteLength).toBeLessThan(1_000_000);
      }
      // The order was really forced (the leader did abandon), and the misses were coalesced.
      expect(lock.held()).toBeGreaterThanOrEqual(1);
      expect(await faultHits(path)).toBeLessThan(5);
      const ctx = createExecutionContext();
      const head = await worker.fetch(new Request(`https://edge.test/c/fault${path}`, { method: "HEAD" }), faultEnv(), ctx);
      await waitOnExecutionContext(ctx);
      expect(head.headers.get("x-edgeswarm-cache")).not.toBe("HIT");
    });
  }
});
