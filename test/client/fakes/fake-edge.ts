/** A fake edge Worker: `/m/` manifests (with join info whose token is the peer id), `/c/` ranges. */
import type { ManifestResponse } from "../../../protocol/manifest";
import { peerIdFromKey } from "../../../protocol/peer-id";
import { content } from "../helpers";

export interface FakeEdgeItem { bytes: Uint8Array; response: Omit<ManifestResponse, "join"> & { join?: never }; ineligible?: boolean }

export async function fakeEdgeServer(edge: string, files: Record<string, { size: number; chunkSize?: number; seed?: number; ineligible?: boolean; type?: string; /** Collection swarm id (default: the item's own swarm). */ swarm?: string }>) {
  const items = new Map<string, { bytes: Uint8Array; manifest: ManifestResponse["manifest"]; ineligible: boolean; swarm?: string }>();
  for (const [path, f] of Object.entries(files)) {
    const c = await content(f.size, f.chunkSize ?? 16 * 1024, f.seed ?? 1);
    items.set(path, { bytes: c.bytes, manifest: { ...c.manifest, url: `/c${path}`, type: f.type ?? "video/mp4" }, ineligible: !!f.ineligible, ...(f.swarm ? { swarm: f.swarm } : {}) });
  }
  const hits = { manifest: 0, content: 0, bytes: 0, ranges: [] as string[] };
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const u = new URL(typeof input === "object" && "url" in input ? input.url : String(input));
    if (u.origin !== edge) return new Response("not here", { status: 404 });
    // Like fetch(): an aborted signal rejects at once.
    if (init?.signal?.aborted) throw init.signal.reason ?? new DOMException("aborted", "AbortError");
    const headers = new Headers(init?.headers);
    if (u.pathname.startsWith("/m/")) {
      hits.manifest++;
      const it = items.get(u.pathname.slice(2));
      if (!it) return Response.json({ error: { code: "not-found", message: "no" } }, { status: 404 });
      if (it.ineligible) return Response.json({ error: { code: "ineligible", message: "private" } }, { status: 409 });
      // Like the edge: `?key=` names the peer by its derived id (functions/join-token.ts), `?peer=` as given.
      const key = u.searchParams.get("key");
      const peerId = key ? await peerIdFromKey(key) : u.searchParams.get("peer") ?? "peer-fresh000";
      const swarm = it.swarm ?? it.manifest.root;
      const body: ManifestResponse = { manifest: it.manifest, join: { peerId, token: peerId, expires: Date.now() + 600_000, url: `/swarm/${swarm}`, swarm }, iceServers: [] };
      return Response.json(body);
    }
    if (u.pathname.startsWith("/c/")) {
      hits.content++;
      const it = items.get(u.pathname.slice(2));
      if (!it) return new Response("no", { status: 404 });
      const range = headers.get("range");
      const m = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
      if (range) hits.ranges.push(range);
      if (!m) {
        hits.bytes += it.bytes.length;
        return new Response(it.bytes.slice(), { headers: { "content-type": it.manifest.type, "content-length": String(it.bytes.length) } });
      }
      const start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]) + 1, it.bytes.length) : it.bytes.length;
      hits.bytes += end - start;
      return new Response(it.bytes.slice(start, end), {
        status: 206, headers: { "content-type": it.manifest.type, "content-range": `bytes ${start}-${end - 1}/${it.bytes.length}` },
      });
    }
    return new Response("no", { status: 404 });
  };
  return { fetch, hits, items };
}
