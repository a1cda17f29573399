/**
 * Typed wrappers around the helpers of test/e2e/pages/peer.js, so scenario tests read as steps:
 * create a swarm in a page, fetch through it, read its stats. Bytes are hashed inside the page —
 * the assertion is on exactly what page code received.
 */
import { evaluateIn, waitInPage, type AnyPeer } from "./browser";
import type { TestEdge } from "./edge";
import { MANIFEST_PENDING_STATUS } from "../../../protocol/manifest";
import type { ContentStats as SdkContentStats, PeerStats } from "../../../client/peer-stats";
import type { SwarmDiagnosis } from "../../../client/peer-diagnostics";
import type { SwarmOptions as SdkSwarmOptions } from "../../../client/swarm-options";
import type { SwarmStats } from "../../../durable/swarm-stats";

/**
 * SDK options a test may pass to createSwarm: the SDK's own `SwarmOptions` that survive the trip
 * into the page as JSON (no functions, constructors or stores). `edge` defaults to the page's origin.
 */
export type SwarmOptions = Partial<Omit<SdkSwarmOptions, "consent" | "fetch" | "WebSocket" | "RTCPeerConnection" | "store">>;

/** What a page saw of one response. */
export interface FetchResult {
  status: number;
  headers: Record<string, string>;
  size: number;
  sha256: string;
  ms: number;
}

/** Per-content stats (the SDK's own type, `client/peer-stats.ts`). */
export type ContentStats = SdkContentStats;

/** `swarm.stats()` (the SDK's own type). */
export type SdkStats = PeerStats;

/** The Worker's `GET /swarm/<root>/stats` (the coordinator's own type, `durable/swarm-stats.ts`). */
export type SwarmShardStats = SwarmStats;

const EVAL_TIMEOUT_MS = 60_000;

/** page.evaluate with a bound: a hung SDK promise fails the test with a name, not a timeout. */
async function inPage<T>(peer: AnyPeer, what: string, fn: string, arg?: unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${peer.name}: ${what} did not settle in ${EVAL_TIMEOUT_MS} ms`)), EVAL_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      evaluateIn(
        peer,
        ([name, a]) => (window as any).e2e[name as string](...(a as unknown[])),
        [fn, arg === undefined ? [] : (arg as unknown[])] as const,
      ) as Promise<T>,
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `createSwarm({ edge: location.origin, ...opts })` in the page; the swarm becomes `window.swarm`.
 * Resolves with its peer id (`pk_…` from the SDK's random key unless `opts` name one).
 */
export async function createSwarm(peer: AnyPeer, opts: SwarmOptions = {}): Promise<string> {
  await inPage(peer, "createSwarm", "createSwarm", [withE2eLaneSlack({ peerWaitMs: E2E_PEER_WAIT_MS, ...opts })]);
  return (await inPage<{ peerId: string }>(peer, "stats", "stats")).peerId;
}

/**
 * Lane slack the scenarios give a peer unless they set their own (`scheduler.laneSlackMs`). The e2e
 * edge is Miniflare on loopback (hundreds of MB/s) while a data channel between two Chromium
 * contexts on this 2-core host carries 1.5–6 MB/s: held to the edge alone's schedule with no slack
 * (the SDK's default, client/edge-lane.ts), the lane rightly takes every chunk from such an edge and
 * a scenario about peer delivery would test nothing. No real visitor's edge link is loopback; bench
 * §5 measures the lane itself on a shaped 50 Mbit/s + 40 ms link.
 */
export const E2E_LANE_SLACK_MS = 60_000;

/**
 * How long a scenario's download waits for its peer links (`peerWaitMs`) unless it sets its own. With
 * a lane slack, the SDK's 1.5 s bounds the wait for links still connecting, after which the loopback
 * edge takes every chunk in milliseconds; a DTLS handshake between two browser processes on a loaded
 * 2-core CI host can take longer than that, which is a race with the host, not the scenario's
 * subject. A swarm that has answered and has no link connecting ends the wait at once, so scenarios
 * without peers do not wait for it.
 */
export const E2E_PEER_WAIT_MS = 10_000;

/** `opts` with {@link E2E_LANE_SLACK_MS} unless it sets its own lane slack. */
export function withE2eLaneSlack<T extends SwarmOptions>(opts: T): T {
  return { ...opts, scheduler: { laneSlackMs: E2E_LANE_SLACK_MS, ...opts.scheduler } };
}

/** A fresh peer key (16 random bytes, base64url), for a page that keeps its identity across reloads. */
export const peerKey = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");

/** `swarm.fetch(url, init)` in the page, body read fully and hashed there. */
export function swarmFetch(peer: AnyPeer, url: string, init?: { headers?: Record<string, string> }): Promise<FetchResult> {
  return inPage(peer, `swarm.fetch(${url})`, "swarmFetch", init ? [url, init] : [url]);
}

/** Starts `swarm.fetch` in the page without waiting; finish with {@link awaitSwarmFetch}. */
export async function startSwarmFetch(peer: AnyPeer, key: string, url: string): Promise<void> {
  await inPage(peer, "startSwarmFetch", "startSwarmFetch", [key, url]);
}

/** Waits for a fetch started by {@link startSwarmFetch}; throws with the page's error if it failed. */
export async function awaitSwarmFetch(peer: AnyPeer, key: string): Promise<FetchResult> {
  const r = await inPage<{ ok: boolean; value?: FetchResult; error?: string }>(peer, `fetch ${key}`, "awaitFetch", [key]);
  if (!r.ok) throw new Error(`${peer.name}: swarm.fetch failed in the page: ${r.error}`);
  return r.value!;
}

/** Plain `fetch()` from page code (no SDK call; a service worker may intercept it). */
export function plainFetch(peer: AnyPeer, url: string, init?: { headers?: Record<string, string> }): Promise<FetchResult> {
  return inPage(peer, `fetch(${url})`, "plainFetch", init ? [url, init] : [url]);
}

/** What {@link setSeeding} reports: the switch, why uploads are off, and the persisted entries. */
export interface SeedingState {
  seeding: boolean | null;
  blockers: string[] | null;
  stored: Record<string, string>;
}

/** The visitor's switch: `swarm.seeding = on` in the page. */
export function setSeeding(peer: AnyPeer, on: boolean): Promise<SeedingState> {
  return inPage(peer, `swarm.seeding = ${on}`, "setSeeding", [on]);
}

/** The switch as the page's swarm has it (null before createSwarm), and the persisted entries. */
export function seedingState(peer: AnyPeer): Promise<SeedingState> {
  return inPage(peer, "seedingState", "seedingState");
}

/** What the engine offers the SDK (`typeof RTCPeerConnection`, secure context, WebCrypto, SW). */
export function pageEnv(peer: AnyPeer): Promise<{ rtc: string; secure: boolean; subtle: boolean; serviceWorker: boolean; userAgent: string }> {
  return inPage(peer, "env", "env");
}

/** `swarm.fetch` an image and show it from a blob: URL (a gallery); its hash and decoded size. */
export function showImage(peer: AnyPeer, url: string): Promise<FetchResult & { width: number; height: number }> {
  return inPage(peer, `showImage(${url})`, "showImage", [url]);
}

/** `swarm.fetch` a video and play it muted until its clock moves; its hash and decoded size. */
export function playVideo(peer: AnyPeer, url: string): Promise<FetchResult & { videoWidth: number; videoHeight: number; duration: number; played: boolean }> {
  return inPage(peer, `playVideo(${url})`, "playVideo", [url]);
}

/** Errors the page recorded itself (uncaught, unhandled rejections, console.error). */
export function pageErrors(peer: AnyPeer): Promise<{ type: string; text: string }[]> {
  return evaluateIn(peer, () => (window as any).e2e?.pageErrors ?? [], undefined);
}

/** Chunk counts by source since createSwarm: `peer`, `store`, `edge:<why>` (start, deadline, lane…). */
export function chunkSources(peer: AnyPeer): Promise<Record<string, number>> {
  return inPage(peer, "chunkSources", "chunkSources");
}

/** `swarm.stats()` in the page. */
export function sdkStats(peer: AnyPeer): Promise<SdkStats> {
  return inPage(peer, "swarm.stats()", "stats");
}

/** `swarm.diagnose()` in the page, as JSON. */
export function diagnose(peer: AnyPeer): Promise<SwarmDiagnosis> {
  return inPage(peer, "swarm.diagnose()", "diagnose");
}

/**
 * The stats entry of one content URL. The contract keys `contents` by URL; accept the absolute URL
 * or its path, whichever the SDK chose, and fail with the keys it has otherwise.
 */
export function contentStats(stats: SdkStats, url: string): ContentStats {
  const path = new URL(url).pathname;
  const key = Object.keys(stats.contents ?? {}).find((k) => k === url || k === path || new URL(k, url).pathname === path);
  if (!key) throw new Error(`stats.contents has no entry for ${url}; keys: ${JSON.stringify(Object.keys(stats.contents ?? {}))}`);
  return stats.contents[key]!;
}

/** Bounded polling: resolves with the first truthy value of `fn`, throws `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * The content root (swarm name) of an origin path, from the edge's manifest. A cold item's `/m/`
 * answers 202 pending (protocol/manifest.ts) while the edge fills and hashes it: asked again after
 * its Retry-After, as the SDK does, for at most `timeoutMs`.
 */
export async function contentRoot(edge: TestEdge, originPath: string, timeoutMs = 30_000): Promise<{ root: string; chunks: number; swarm: string }> {
  const end = Date.now() + timeoutMs;
  let m = await edge.manifest(originPath);
  while (m.status === MANIFEST_PENDING_STATUS && Date.now() < end) {
    await new Promise((r) => setTimeout(r, Math.min(5, Number(m.body?.retryAfter) || 1) * 1000));
    m = await edge.manifest(originPath);
  }
  if (m.status !== 200) throw new Error(`GET /m/ for ${originPath} → ${m.status}: ${JSON.stringify(m.body)}`);
  const root: string = m.body.manifest.root;
  // `swarm`: the swarm the item's peers meet in — its root, or its collection's id (stream, route).
  return { root, chunks: m.body.manifest.chunks.length, swarm: m.body.join?.swarm ?? root };
}

/**
 * Waits until the coordinator knows `n` full copies of the content (seeders have announced every
 * chunk), so a following leecher finds them. A bounded wait, not a timing assertion.
 */
export async function waitForSeeders(edge: TestEdge, originPath: string, n: number, timeoutMs = 15_000): Promise<SwarmShardStats> {
  const { root, chunks, swarm } = await contentRoot(edge, originPath);
  return waitFor(`${n} seeder(s) of ${originPath} announced to the swarm`, async () => {
    // An item of a collection swarm: that swarm's stats, narrowed to the item (`?item=`).
    const s = (await edge.swarmStats(swarm, swarm === root ? undefined : root)) as SwarmShardStats;
    return s.chunkCopies >= n * chunks && s.peersOnline >= n ? s : undefined;
  }, timeoutMs);
}

/** The SDK's `registerServiceWorker({ swarm, patterns })` in the page; resolves when the SW is active. */
export async function registerServiceWorker(peer: AnyPeer, patterns: unknown[]): Promise<void> {
  await inPage(peer, "registerServiceWorker", "registerSW", [patterns]);
}

/** Whether a service worker controls the page (waits up to 3 s for `controllerchange`). */
export function isControlled(peer: AnyPeer): Promise<boolean> {
  return inPage(peer, "controlled", "controlled");
}

/** Adds an `<img src=url>` to the page and waits for it to decode. */
export function loadImage(peer: AnyPeer, url: string): Promise<{ width: number; height: number }> {
  return inPage(peer, `<img src=${url}>`, "loadImage", [url]);
}

/** Reloads the page and waits until its helper script ran again (the swarm is gone until re-created). */
export async function reloadPeer(peer: AnyPeer): Promise<void> {
  if (peer.engine === "webkit") throw new Error("reloadPeer: not implemented for WebKit peers");
  await peer.page.reload();
  await waitInPage(peer, () => (window as any).e2e?.ready === true);
}
