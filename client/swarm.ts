/**
 * `createSwarm()`: the SDK object pages use. Wires the chunk store, the peer side
 * ({@link P2PRuntime}: links, seeder, one swarm per content, loaded with `import()`) and one
 * `Download` (download.ts, loaded beside the first manifest request) per fetch. Its options live in
 * swarm-options.ts.
 *
 * Failure policy: the page must never see an error it would not have seen without the SDK. Content
 * that is not ours, not a GET, ineligible (409 from `/m/`), or any failure before the response
 * starts → a plain `fetch` of the edge `/c/` URL. A failure mid-stream → the rest of the bytes
 * from a plain edge `Range` request.
 */
import { sha256Hex, type Manifest } from "../protocol/manifest";
import { contentRange, parseByteSpan } from "./byte-span";
import type { ChunkStore } from "./chunk-store";
import type { ContentSwarm } from "./content-swarm";
import { DEFAULTS } from "./defaults";
import { contentUrl, edgeRangeFetch, fetchManifest, type FetchFn, type ManifestAnswer, type PeerIdentity } from "./edge-client";
import { leadChunks, leadEdgeFetch, type EdgeLead } from "./edge-lead";
import type { P2PRuntime } from "./p2p-runtime";
import type { RTCPeerConnectionCtor } from "./peer-link";
import type { PeerStats } from "./peer-stats";
import type { SwarmDiagnosis } from "./peer-diagnostics";
import { openChunkStore } from "./default-store";
import { resolveIdentity } from "./peer-identity";
import { SeedingPolicy, type SeedingBlocker } from "./seeding-policy";
import { SwarmEmitter } from "./swarm-emitter";
import { markInternal } from "./sw-messages";
import type { WebSocketCtor } from "./swarm-client";
import { withIcePolicy, type SwarmOptions, type SwarmRequestInit } from "./swarm-options";
import type { DownloadEventMap, SwarmEventMap, TypedEventTargetCtor } from "./swarm-events";

export type { ContentStats, PeerStats } from "./peer-stats";
export type { CandidatePairInfo, LinkEndReason, PeerDiagnosis, SwarmDiagnosis } from "./peer-diagnostics";
export type { ChunkDetail, ProgressDetail, SwarmEventMap } from "./swarm-events";
export type { SwarmOptions, SwarmRequestInit } from "./swarm-options";


/** Request headers that make a request conditional (RFC 9110 §13.1): served by the edge, not the swarm. */
const CONDITIONAL = ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range"];

/**
 * The SDK instance. Dispatches the events of {@link SwarmEventMap} (`progress`, `chunk`,
 * `hash-failure`, `deadline-miss`, `lane-open`, `peer-up`, `peer-down`, `upload`), typed:
 * `swarm.addEventListener("progress", (e) => e.detail.received)` type-checks.
 */
export class Swarm extends (EventTarget as TypedEventTargetCtor<SwarmEventMap>) {
  /**
   * Resolves with this peer's id once it is known (a key-derived id is computed with WebCrypto,
   * which is asynchronous). Never rejects.
   */
  readonly ready: Promise<string>;
  /**
   * How this instance names itself to `/m/`: its key and the derived id, or a legacy id. For Node
   * tools that fetch manifests for the same peer (supernode/seeder-node.ts); the key is a secret.
   * @internal
   */
  readonly identity: Promise<PeerIdentity>;
  #id = "";
  /** The edge origin this instance fetches from. */
  readonly edgeOrigin: string;
  readonly #o: SwarmOptions;
  /** Chunk verification: the injected `sha256` (Node hosts), else WebCrypto. */
  readonly #verify = async (bytes: Uint8Array, sha256: string): Promise<boolean> =>
    (await (this.#o.sha256 ?? sha256Hex)(bytes)) === sha256;
  /** Whether this page may upload now and may connect to peers at all (`seeding-policy.ts`). */
  readonly #policy: SeedingPolicy;
  readonly #fetchFn: FetchFn;
  readonly #rawFetch: FetchFn;
  readonly #storeReady: Promise<ChunkStore>;
  #store: ChunkStore | undefined;
  /** The peer side, loaded by `import()` (see `p2p-runtime.ts`); undefined without WebRTC or WebSocket. */
  readonly #p2p: Promise<P2PRuntime | undefined>;
  #runtime: P2PRuntime | undefined;
  readonly #manifests = new Map<string, { at: number; value: Promise<ManifestAnswer> }>();
  /** Events, counted (the one place bytes are counted) then dispatched. */
  readonly #events = new SwarmEmitter((e) => this.dispatchEvent(e));
  #closed = false;
  /** Whether this runtime has WebRTC and WebSocket at all (diagnose()). */
  #p2pCapable = false;
  /** Edge throughput the last download measured, bytes/ms: the next one's first estimate. */
  #edgeRate = 0;
  /** The fastest peer pace earlier downloads saw (the edge lane's prior; whether peers share the edge's link). */
  #peerRate = 0;
  /** An earlier download saw its sources together outrun the edge alone: peers do not share its link. */
  #unshared = false;

  constructor(opts: SwarmOptions) {
    super();
    this.#o = opts;
    this.identity = resolveIdentity(opts.peerId, opts.peerKey);
    this.ready = this.identity.then((who) => (this.#id = who.peerId));
    this.edgeOrigin = new URL(opts.edge).origin;
    this.#policy = new SeedingPolicy({
      site: this.edgeOrigin,
      ...opts.seedingPolicy,
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.consent ? { consent: opts.consent } : {}),
    });
    const raw = (this.#rawFetch = opts.fetch ?? globalThis.fetch.bind(globalThis));
    // Our own requests carry a marker so our service worker lets them through instead of looping
    // them back to us — also when the edge is another origin (sw-messages.ts: markInternal).
    this.#fetchFn = (input, init) => raw(input, markInternal(init, (globalThis as { location?: { origin: string } }).location?.origin, this.edgeOrigin));
    this.#storeReady = openChunkStore(opts).then((s) => (this.#store = s));
    const anyRTC = opts.RTCPeerConnection === null ? undefined : opts.RTCPeerConnection ?? (globalThis as { RTCPeerConnection?: RTCPeerConnectionCtor }).RTCPeerConnection;
    const RTC = anyRTC && opts.iceTransportPolicy ? withIcePolicy(anyRTC, opts.iceTransportPolicy) : anyRTC;
    const WS = this.#wsCtor();
    this.#p2pCapable = !!(RTC && WS);
    // No peer connection and no coordinator socket before the visitor's consent (docs/privacy.md).
    this.#p2p = RTC && WS ? this.#policy.consented().then((ok) => (ok ? this.#loadP2P(RTC, WS) : undefined)) : Promise.resolve(undefined);
    void this.#storeReady.then(() => this.#rejoinRecent());
  }

  async #loadP2P(RTC: RTCPeerConnectionCtor, WS: WebSocketCtor): Promise<P2PRuntime | undefined> {
    let mod: typeof import("./p2p-runtime");
    try {
      mod = await import("./p2p-runtime");
    } catch {
      return undefined; // the peer script did not load: edge and store only
    }
    const who = await this.identity;
    if (this.#closed) return undefined;
    const o = this.#o;
    return (this.#runtime = new mod.P2PRuntime({
      peerId: who.peerId,
      edge: o.edge,
      kind: o.kind ?? "browser",
      maxPeers: o.maxPeers ?? DEFAULTS.maxPeers,
      maxSockets: o.maxCoordinatorSockets ?? DEFAULTS.maxCoordinatorSockets,
      uploadSlots: o.uploadSlots ?? DEFAULTS.uploadSlots,
      maxUploadBytesPerSec: o.maxUploadBytesPerSec ?? DEFAULTS.maxUploadBytesPerSec,
      RTCPeerConnection: RTC,
      WebSocket: WS,
      store: {
        has: (r, i) => this.#store?.has(r, i) ?? false,
        held: (r) => this.#store?.held(r) ?? [],
        get: async (r, i) => (await this.#storeReady).get(r, i),
        // The seeder's copy-free read (`ChunkStore.view`): its frames copy each piece anyway.
        view: async (r, i) => (await this.#storeReady).view(r, i),
      },
      seeding: () => this.#uploadAllowed(),
      rejoin: async (target) => {
        this.#manifests.delete(target.href);
        const fresh = await this.#manifest(target);
        if (!fresh || fresh === "ineligible" || "pending" in fresh) throw new Error("cannot rejoin");
        return fresh.join;
      },
      emit: (type, detail) => this.#events.emit(type, detail),
      counters: (root) => this.#events.root(root),
    }));
  }

  #wsCtor(): WebSocketCtor | undefined {
    return this.#o.WebSocket === null ? undefined : this.#o.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  }

  /** Checked before every upload: the visitor's switch, consent and the device's conditions. */
  #uploadAllowed(): boolean {
    return this.#policy.canUpload() && !this.#closed;
  }

  /**
   * The visitor's seeding switch, persisted per site (`localStorage`). Off: no uploads (downloads
   * from peers continue). Read it to show a toggle; {@link seedingBlockers} says why uploads are off.
   *
   * @example
   * toggle.checked = swarm.seeding; toggle.onchange = () => (swarm.seeding = toggle.checked);
   */
  get seeding(): boolean {
    return this.#policy.enabled;
  }

  set seeding(on: boolean) {
    this.#policy.enabled = on;
  }

  /** Why this page does not upload right now (`[]`: it does). */
  seedingBlockers(): SeedingBlocker[] {
    return this.#policy.blockers();
  }

  /** Re-joins the swarms of recently held items, so a returning visitor seeds them. */
  async #rejoinRecent(): Promise<void> {
    const rt = await this.#p2p;
    for (const rec of this.#store!.recent(this.#o.rejoinRecent ?? DEFAULTS.rejoinRecent)) {
      // Re-joining only serves seeding: with the visitor's switch off, stay out of those swarms.
      if (this.#closed || !rt || !this.#policy.enabled) return;
      const target = contentUrl(rec.url, this.#o.edge);
      if (!target) continue;
      const mr = await this.#manifest(target);
      if (this.#closed) return;
      if (mr && mr !== "ineligible" && !("pending" in mr) && mr.manifest.root === rec.root) rt.join(mr, target);
      else if (mr === "ineligible" || (mr && !("pending" in mr))) void this.#store!.remove(rec.root); // a new version (or now ineligible): drop the old bytes
    }
  }

  /** `inline`: a cold item may come back as the item itself, `lead`: a manifest with its first chunks (`ManifestAnswer`). */
  #manifest(target: URL, inline?: boolean, lead = 0): Promise<ManifestAnswer> {
    const hit = this.#manifests.get(target.href);
    if (hit && Date.now() - hit.at < DEFAULTS.manifestTtlMs) return hit.value;
    // The edge must issue the token for the id we derived (else `null`: the plain edge path).
    const value = this.identity.then((who) => fetchManifest(this.#fetchFn, target, who, undefined, inline, lead));
    this.#manifests.set(target.href, { at: Date.now(), value });
    // Nothing usable, or not ready yet: ask again next time.
    void value.then((v) => (v === null || (typeof v === "object" && "pending" in v)) && this.#manifests.delete(target.href));
    return value;
  }

  /**
   * Fetches like `fetch()`, through the swarm when the URL is edge content.
   *
   * @example
   * const res = await swarm.fetch("/c/demo/video.mp4", { headers: { Range: "bytes=0-1048575" } });
   */
  async fetch(input: RequestInfo | URL, init?: SwarmRequestInit): Promise<Response> {
    const req = typeof input === "object" && "url" in input ? input : undefined;
    const url = req ? req.url : String(input);
    const method = (init?.method ?? req?.method ?? "GET").toUpperCase();
    const headers = new Headers(init?.headers ?? req?.headers);
    const base = (globalThis as { location?: { href: string } }).location?.href;
    const target = contentUrl(url, this.#o.edge, base);
    if (!target) return this.#rawFetch(input, init);
    const signal = init?.signal ?? req?.signal;
    const { deadline, ...reqInit } = init ?? {};
    const plain = () => this.#fetchFn(target.href, { ...reqInit, method, headers, ...(signal ? { signal } : {}) });
    // Only a plain GET can be served from verified chunks. Conditional requests need the origin's
    // validators (RFC 9110 §13), which chunks do not carry; without WebCrypto (an insecure context)
    // nothing can be verified; an aborted signal must reject exactly as fetch() does.
    if (method !== "GET" || this.#closed || signal?.aborted || !globalThis.crypto?.subtle || CONDITIONAL.some((h) => headers.has(h))) return plain();
    try {
      return (await this.#viaSwarm(target, headers, signal, deadline, plain)) ?? (await plain());
    } catch {
      return plain();
    }
  }

  async #viaSwarm(target: URL, headers: Headers, signal: AbortSignal | null | undefined, deadline: number | undefined, plain: () => Promise<Response>): Promise<Response | null> {
    // A whole item may come back inline when cold: no `/c/` round trip after the 202; a hot one with
    // its first chunks after the manifest: no round trip before the first edge bytes (edge-lead.ts).
    const whole = !headers.has("range");
    const linked = !!this.#runtime?.mesh.openPeers().length;
    const mf = this.#manifest(target, whole, whole ? leadChunks(this.#o.scheduler, linked, this.#store?.recent(Infinity).some((r) => r.url === target.pathname), deadline) : 0);
    // The download engine (download.ts and its scheduler) loads beside the manifest request, hidden
    // behind its round trip: the first load carries only the API shell (12 KB gz budget, sdk-build
    // test), and a page whose content is cold or ineligible never loads the engine at all.
    const engine = import("./download");
    engine.catch(() => {}); // not needed on every path; a failed load surfaces at `await engine` only
    // The consent hook may wait on the visitor: never hold content for it (unanswered → edge only).
    const p2p = Promise.race([this.#p2p, mf.then(() => (this.#policy.consentAnswered ? this.#p2p : undefined))]);
    // A cold item waits for neither the store nor the peer side before its first byte.
    const first = await mf;
    // The inline item and the lead have one reader (concurrent fetches of the URL share the answer): this one.
    const taken = (first || {}) as { item?: Response; lead?: EdgeLead };
    const { item } = taken;
    const lead = whole ? taken.lead : undefined;
    if (item || lead) Object.assign(taken, { item: undefined, ...(lead ? { lead: undefined } : {}) });
    if (item && (this.#closed || signal?.aborted)) void item.body?.cancel().catch(() => {});
    if (first && first !== "ineligible" && "pending" in first && !this.#closed) {
      signal?.throwIfAborted(); // aborted while we waited: reject as fetch() would (via the plain path)
      return this.#cold(target, headers, first.pending.retryAfter, item ? async () => item : plain, signal);
    }
    try {
      return await this.#download(target, headers, signal, deadline, lead, Promise.all([this.#storeReady, mf, p2p]), engine);
    } catch (e) {
      void lead?.body.cancel().catch(() => {}); // not taken by a download (one that took it ends it)
      throw e;
    }
  }

  async #download(target: URL, headers: Headers, signal: AbortSignal | null | undefined, deadline: number | undefined, lead: EdgeLead | undefined,
    ready: Promise<[ChunkStore, ManifestAnswer, P2PRuntime | undefined]>, engine: Promise<typeof import("./download")>): Promise<Response> {
    const [store, mr, rt] = await ready;
    if (!mr || mr === "ineligible" || "pending" in mr || this.#closed) throw new Error("no manifest");
    signal?.throwIfAborted(); // aborted while we waited: reject as fetch() would (via the plain path)
    const m = mr.manifest;
    const range = parseByteSpan(headers.get("range"), m.size);
    if (range === "unsatisfiable") return new Response(null, { status: 416, headers: { "content-range": contentRange(null, m.size) } });
    const cs = rt?.join(mr, target);
    const endDownload = cs?.startDownload();
    const url = target.href;
    this.#track(url, m);
    const o = this.#o;
    const { Download } = await engine; // a failed load throws: fetch() falls back to the plain edge
    // The lead feeds the first edge runs, and the fast-start chunk goes to the edge at once (it is on its way).
    const led = lead && leadEdgeFetch(lead, edgeRangeFetch(this.#fetchFn, target.href));
    const edge = led || edgeRangeFetch(this.#fetchFn, target.href);
    const d = new Download({
      manifest: m,
      ...(range ? { range } : {}),
      edge,
      ...(cs ? { peers: cs, lane: cs.lane } : {}),
      store,
      ...(o.chunkDeadlineMs !== undefined ? { chunkDeadlineMs: o.chunkDeadlineMs } : {}),
      ...(o.peerWaitMs !== undefined ? { peerWaitMs: o.peerWaitMs } : {}),
      ...o.scheduler,
      ...(deadline !== undefined ? { itemDeadlineMs: deadline } : {}),
      ...(led ? { startGraceMs: 0 } : {}),
      edgeRate: this.#edgeRate,
      peerRate: this.#peerRate,
      unshared: this.#unshared,
      ...(lead ? { ledBytes: lead.bytes } : {}),
      fallback: (s, e) => edge(s, e, new AbortController().signal),
      verify: this.#verify,
      emit: (type, detail) => (type === "end" && led?.cancel(), this.#onDownload(url, cs, endDownload, type, detail)),
    });
    signal?.addEventListener("abort", () => d.abort(signal.reason));
    const h = new Headers({
      "content-type": m.type || "application/octet-stream",
      "content-length": String(range ? range.end - range.start : m.size),
      "accept-ranges": "bytes",
      "x-edgeswarm": "p2p",
    });
    if (range) h.set("content-range", contentRange(range, m.size));
    return new Response(d.stream, { status: range ? 206 : 200, headers: h });
  }

  /** Starts counting an item URL; the cached manifests are bounded like the tallies. */
  #track(url: string, m: Manifest): void {
    this.#events.track(url, m);
    while (this.#manifests.size > DEFAULTS.trackedItems) this.#manifests.delete(this.#manifests.keys().next().value!);
  }

  /** One download event → the SDK's typed events (`swarm-emitter.ts`) and the download's bookkeeping. */
  #onDownload<K extends keyof DownloadEventMap>(url: string, cs: ContentSwarm | undefined, end: (() => void) | undefined, type: K, detail: DownloadEventMap[K]): void {
    if (type === "stored") return cs?.announce((detail as DownloadEventMap["stored"]).index);
    if (type !== "end") return this.#events.fromDownload(url, type as "chunk", detail as DownloadEventMap["chunk"]);
    this.#edgeRate = (detail as DownloadEventMap["end"]).edgeRate || this.#edgeRate;
    this.#peerRate = (detail as DownloadEventMap["end"]).peerRate || this.#peerRate;
    this.#unshared ||= !!(detail as DownloadEventMap["end"]).unshared;
    end?.();
  }

  /** A cold item (`/m/` answered 202 pending): `cold-item.ts`, loaded on that path only. */
  async #cold(target: URL, headers: Headers, retryAfter: number, plain: () => Promise<Response>, signal?: AbortSignal | null): Promise<Response> {
    const url = target.href;
    return (await import("./cold-item")).serveCold({
      plain, retryAfter, signal, hasRange: headers.has("range"), maxCopyBytes: DEFAULTS.coldCopyMaxBytes,
      closed: () => this.#closed,
      manifest: () => (this.#manifests.delete(target.href), this.#manifest(target)),
      store: this.#storeReady,
      verify: this.#verify,
      // Announced once stored: the peer side may have re-joined this recent item mid-store.
      join: async (mr) => {
        const cs = (await this.#p2p)?.join(mr, target);
        for (const i of (await this.#storeReady).held(mr.manifest.root)) cs?.announce(i);
      },
      // The whole item streamed (size known): counted per URL in stats().contents as well.
      begin: (size) => this.#events.begin(url, size),
      counted: (index, bytes) => this.#events.emit("chunk", { url, index, bytes, source: "edge", why: "cold" }),
    });
  }

  /** This peer's id (`pk_…` when derived from a key); `""` until {@link Swarm.ready} resolved. */
  get peerId(): string {
    return this.#id;
  }

  /** Byte counters, peers and per-content progress (a snapshot of the tallies). */
  stats(): PeerStats {
    return {
      peerId: this.peerId,
      ...this.#events.snapshot(),
      peersConnected: this.#runtime?.mesh.openPeers().length ?? 0,
      bannedPeers: [...(this.#runtime?.mesh.banned ?? [])],
    };
  }

  /**
   * Why peers did or did not connect: every link tried (state, who offered, ICE state, the selected
   * candidate pair's types, bytes and RTT), the last 64 ended ones with the reason, and the ICE
   * servers (URLs only) and transport policy in use. JSON-serialisable; computed on the peer side.
   *
   * @example
   * const d = await swarm.diagnose();
   * for (const p of d.peers) console.log(p.peerId, p.state, p.reason ?? p.pair?.local.type);
   */
  async diagnose(): Promise<SwarmDiagnosis> {
    const rt = this.#runtime;
    const mesh = rt ? await rt.mesh.diagnose() : { iceServers: [], peers: [] };
    const p2p = rt ? "on" : !this.#p2pCapable ? "unsupported" : this.#policy.blockers().includes("no-consent") ? "no-consent" : "starting";
    return { peerId: await this.ready, p2p, iceTransportPolicy: this.#o.iceTransportPolicy ?? "all", ...mesh };
  }

  /** Leaves every swarm (`bye`), closes every link; later fetches go straight to the edge. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#runtime?.close();
  }
}

/**
 * Creates the SDK instance.
 *
 * @example
 * import { createSwarm } from "https://cdn.example/sdk/edgeswarm.js";
 * const swarm = createSwarm({ edge: "https://cdn.example" });
 * const res = await swarm.fetch("/c/demo/video.mp4");
 * swarm.addEventListener("progress", (e) => console.log(e.detail));
 */
export function createSwarm(options: SwarmOptions): Swarm {
  return new Swarm(options);
}
