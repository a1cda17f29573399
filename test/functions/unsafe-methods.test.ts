/**
 * Unsafe methods on `/c/` (RFC 9111 §4.4): refused by default; on a route with
 * `"unsafeMethods": "forward"` sent to the origin with their body, answered as the origin answered,
 * and on a non-error answer the stored target, Location and Content-Location are invalidated.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../functions/index";
import { asset, call, stubOrigin } from "./origin-stub";

afterEach(() => vi.restoreAllMocks());

const ROUTES = JSON.stringify({
  "/assets/": "https://origin.test/assets/",
  "/api/": { origin: "https://origin.test/api/", unsafeMethods: "forward" },
  "/other/": "https://other-origin.test/files/",
});
const API = "https://origin.test/api/";

async function send(path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://edge.test${path}`, init), { ...env, ROUTES }, ctx);
  const body = new TextDecoder().decode(await res.arrayBuffer());
  await waitOnExecutionContext(ctx);
  return { res, body };
}

/** An API origin: GET serves the current text of a path; POST/PUT/DELETE change it. */
function apiOrigin(answer: (req: Request, body: string) => Response = () => new Response("ok", { status: 200 })) {
  const posted: { method: string; url: string; body: string; type: string | null }[] = [];
  const origin = stubOrigin(async (req) => {
    if (req.method === "GET") return asset(`state of ${new URL(req.url).pathname} after ${posted.length} writes`);
    const body = await req.text();
    posted.push({ method: req.method, url: req.url, body, type: req.headers.get("content-type") });
    return answer(req, body);
  });
  return { origin, posted };
}

describe("unsafe methods", () => {
  it("are refused with 405 on a route that does not forward them, before any origin request", async () => {
    const origin = stubOrigin(() => asset("x"));
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      const r = await call("/c/assets/a.bin", { method, body: method === "DELETE" ? undefined : "x" });
      expect(r.res.status).toBe(405);
      expect(JSON.parse(new TextDecoder().decode(r.body)).error.code).toBe("method-not-allowed");
      expect(r.res.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
    }
    expect(origin.calls).toEqual([]);
  });

  it("reach the origin with their body, and the origin's answer reaches the client", async () => {
    const { posted } = apiOrigin(() => new Response('{"id":7}', { status: 201, headers: { "content-type": "application/json", location: "/api/items/7" } }));
    const p = crypto.randomUUID();
    const r = await send(`/c/api/${p}/items?x=1`, { method: "POST", body: '{"name":"a"}', headers: { "content-type": "application/json", cookie: "s=1" } });
    expect(r.res.status).toBe(201);
    expect(r.body).toBe('{"id":7}');
    // The origin's relative Location names a URL under the route: the client gets its edge path
    // (resolved against the edge, "/api/items/7" would name nothing).
    expect(r.res.headers.get("location")).toBe("/c/api/items/7");
    expect(r.res.headers.get("x-edgeswarm-cache")).toBe("BYPASS");
    expect(posted).toEqual([{ method: "POST", url: `${API}${p}/items?x=1`, body: '{"name":"a"}', type: "application/json" }]);
  });

  it("invalidate the stored target, Location and Content-Location on a non-error answer", async () => {
    const p = crypto.randomUUID();
    const { origin } = apiOrigin(() => new Response(null, { status: 204, headers: { location: `${API}${p}/moved`, "content-location": `/api/${p}/other` } }));
    const paths = [`${p}/doc`, `${p}/moved`, `${p}/other`, `${p}/untouched`];
    for (const x of paths) {
      await send(`/c/api/${x}`);
      expect((await send(`/c/api/${x}`)).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    }
    const put = await send(`/c/api/${p}/doc`, { method: "PUT", body: "new" });
    expect(put.res.status).toBe(204);
    for (const x of paths.slice(0, 3)) {
      const again = await send(`/c/api/${x}`);
      expect(again.res.headers.get("x-edgeswarm-cache"), x).toBe("MISS");
      expect(again.body).toBe(`state of /api/${x} after 1 writes`);
    }
    expect((await send(`/c/api/${p}/untouched`)).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(origin.hits(`${API}${p}/doc`)).toBe(3); // GET, PUT, GET
  });

  it("do not invalidate on an error answer, and pass the error through", async () => {
    const p = crypto.randomUUID();
    const { origin } = apiOrigin(() => new Response("conflict", { status: 409 }));
    await send(`/c/api/${p}`);
    const del = await send(`/c/api/${p}`, { method: "DELETE" });
    expect([del.res.status, del.body]).toEqual([409, "conflict"]);
    expect((await send(`/c/api/${p}`)).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    expect(origin.calls.filter((c) => c.method === "GET")).toHaveLength(1);
  });

  it("never invalidate or reach another host named by Location", async () => {
    const p = crypto.randomUUID();
    const { origin } = apiOrigin(() => new Response(null, { status: 201, headers: { location: "https://evil.test/api/x" } }));
    const r = await send(`/c/api/${p}`, { method: "POST", body: "x" });
    expect(r.res.status).toBe(201);
    expect(origin.hosts()).toEqual(["origin.test"]);
  });

  it("send a See Other (POST-redirect-GET) to the edge path, not the origin host", async () => {
    const p = crypto.randomUUID();
    apiOrigin(() => new Response(null, { status: 303, headers: { location: `${API}${p}/items/7?tab=1`, "content-location": `${API}${p}/items` } }));
    const r = await send(`/c/api/${p}/items`, { method: "POST", body: "x" });
    expect(r.res.status).toBe(303);
    expect(r.res.headers.get("location")).toBe(`/c/api/${p}/items/7?tab=1`);
    expect(r.res.headers.get("content-location")).toBe(`/c/api/${p}/items`);
  });

  it("never invalidate another host's entries, even under a configured route (RFC 9111 §4.4: same origin only)", async () => {
    const p = crypto.randomUUID();
    const { origin } = apiOrigin(() => new Response(null, { status: 201, headers: { location: `https://other-origin.test/files/${p}/x`, "content-location": `https://other-origin.test/files/${p}/y` } }));
    for (const x of ["x", "y"]) {
      await send(`/c/other/${p}/${x}`);
      expect((await send(`/c/other/${p}/${x}`)).res.headers.get("x-edgeswarm-cache")).toBe("HIT");
    }
    const r = await send(`/c/api/${p}`, { method: "POST", body: "x" });
    expect(r.res.status).toBe(201);
    for (const x of ["x", "y"]) expect((await send(`/c/other/${p}/${x}`)).res.headers.get("x-edgeswarm-cache"), x).toBe("HIT");
    expect(origin.hits(`https://other-origin.test/files/${p}/x`)).toBe(1);
  });
});
