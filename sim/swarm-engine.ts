/**
 * The flow-level swarm simulator: browsers (and optional supernodes) join and leave, request items
 * of a Zipf catalogue (or one viral item), and fetch pieces from ranked peers and the edge. Peer
 * choice is the coordinator's real `rankPeers`, piece choice the client's picker (see
 * `policy-adapters.ts`); bandwidth is the fluid model of `flow-network.ts`.
 *
 * Coordinator traffic is counted as inbound frames per Durable Object (`swarm:<item>:<shard>[~k]`,
 * `coordinator-traffic.ts`), using the message costs of `coordinator-costs.ts`; a full object spills
 * joins over to sub-shards as the Worker does (`swarm-objects.ts`). A peer without a socket sends
 * no frames. The run's parameters are `swarm-params.ts`.
 */
import { EventQueue } from "./event-queue";
import { EDGE, FlowNetwork } from "./flow-network";
import type { Policies, PickerPeer } from "./policy-adapters";
import { Rng } from "./prng";
import { type ObjectLoad, SwarmMetrics } from "./swarm-metrics";
import { CONTINENTS, makePopulation, SUPERNODE, type Population } from "./world";
import { ZipfSampler } from "./zipf";
import type { RankCandidate } from "../durable/peer-ranking";
import { HAVE_INTERVAL_S, MSG, retryDelayS } from "./coordinator-costs";
import { CoordinatorTraffic } from "./coordinator-traffic";
import { PeerCaches } from "./peer-caches";
import type { StreamWorkload, SwarmParams } from "./swarm-params";

export { MAX_PEERS_PER_SHARD, MSG } from "./coordinator-costs";
export type { StreamWorkload, SwarmParams } from "./swarm-params";

/** The SDK reports a collection's byte counters at most this often (client/collection-socket.ts `reportStats`). */
const STATS_INTERVAL_S = 5;

interface Download {
  /** `key`: the coordinator object it joined (-1 while refused). */
  id: number; peer: number; item: number; key: number; pieces: number; size: number;
  have: Uint8Array; inflight: Uint8Array; haveCount: number; started: number;
  cands: number[]; lastWant: number; perPeer: Map<number, number>; connected: Set<number>;
  peerInflight: number; edgeInflight: boolean; late: Set<number>; done: boolean;
  /** When the pending `have` batch flushes (chunks stored before then join it). */
  haveFlushAt: number;
  /** In the swarm (false while refused by a full shard: edge only, retrying). */
  joined: boolean;
  attempts: number;
}

/** A run's metrics; `objects`: coordinator objects ever asked, `maxObjectsPerShard`: most of them in one shard. */
export interface SwarmRun { metrics: SwarmMetrics; pop: Population; events: number; alsoCounted: Map<string, ObjectLoad>; objects: number; maxObjectsPerShard: number }

const K_ON = 1, K_OFF = 2, K_REQ = 3, K_DONE = 4, K_DEADLINE = 5, K_SAMPLE = 6, K_RETRY = 7;

/** Runs one simulation and returns its metrics. */
export function runSwarm(p: SwarmParams, policies: Policies): SwarmRun {
  const rng = new Rng(p.seed);
  const pop = makePopulation(rng.fork(1), p.browsers, p.population);
  const wl = p.workload;
  const q = new EventQueue();
  const net = new FlowNetwork(q, K_DONE, pop.down, pop.up, p.edgeRate);
  const m = new SwarmMetrics(p.binS, p.warmupS);
  const nItems = wl.kind === "catalogue" ? wl.items : wl.kind === "stream" ? wl.segments : 1;
  /** One swarm for all items (a collection): one membership per peer, links kept across items. */
  const collection = wl.kind === "stream";
  const linked: Set<number>[] = [];
  const statsAt = new Float64Array(pop.size).fill(-Infinity);
  const nextSegment = new Int32Array(pop.size);
  const arrivedAt = new Float64Array(pop.size);
  const sizeRng = rng.fork(2);
  const itemSize = Array.from({ length: nItems }, () =>
    wl.kind === "catalogue" ? Math.max(p.pieceBytes, Math.round(sizeRng.logNormal(wl.sizeMedian, wl.sizeSigma))) : wl.kind === "stream" ? wl.segmentBytes : wl.itemBytes);
  const zipf = wl.kind === "catalogue" ? new ZipfSampler(wl.items, wl.zipfS) : null;
  const online = new Uint8Array(pop.size);
  const caches = new PeerCaches(pop.quota, itemSize);
  const { held, used } = caches;
  const current: (Download | undefined)[] = [];
  const reqEvent = new Float64Array(pop.size).fill(-1);
  const downloads: Download[] = [];
  const traffic = new CoordinatorTraffic(p, pop, q, m, nItems);
  const { objs, alsoCounted } = traffic;
  const swarms = objs.objects;
  const originSeen = new Set<number>();
  const fullSets = new Map<number, RankCandidate["chunks"]>();
  const deadline: number[] = []; // transfer id → its deadline event handle
  const startedAt: number[] = []; // transfer id → start time (chunk arrival times for `have` batching)
  let onlineCount = 0;

  const fullSet = (n: number) => {
    let f = fullSets.get(n);
    if (!f) {
      const all = Array.from({ length: n }, (_, i) => i);
      fullSets.set(n, (f = { has: (i: number) => i >= 0 && i < n, size: n, [Symbol.iterator]: () => all[Symbol.iterator]() }));
    }
    return f;
  };
  const chunksOf = (peer: number, item: number, pieces: number): RankCandidate["chunks"] | null => {
    if (caches.has(peer, item)) return fullSet(pieces);
    const d = current[peer];
    if (!d || d.item !== item || d.haveCount === 0) return null;
    const have = d.have;
    return { has: (i) => have[i] === 1, size: d.haveCount, *[Symbol.iterator]() { for (let i = 0; i < have.length; i++) if (have[i]) yield i; } };
  };

  function startDownload(peer: number, item: number): void {
    const size = itemSize[item] as number;
    const pieces = Math.ceil(size / p.pieceBytes);
    const d: Download = {
      id: downloads.length, peer, item, key: -1, pieces, size, have: new Uint8Array(pieces), inflight: new Uint8Array(pieces),
      haveCount: 0, started: q.now, cands: [], lastWant: -Infinity, perPeer: new Map(), connected: new Set(), peerInflight: 0,
      edgeInflight: false, late: new Set(), done: false, haveFlushAt: -Infinity, joined: false, attempts: 0,
    };
    downloads.push(d);
    current[peer] = d;
    m.totals.downloads++;
    d.key = traffic.join(item, peer);
    d.joined = d.key >= 0;
    if (!d.joined) q.push(q.now + retryDelayS(d.attempts++, rng.next()), K_RETRY, d.id, 0);
    schedule(d);
  }

  function refreshCandidates(d: Download): void {
    d.lastWant = q.now;
    if (!d.joined) return; // no socket: no `want`, no candidates
    traffic.msg(d.key, d.peer, MSG.want, "want");
    const s = swarms.get(d.key);
    const members = s?.members ?? [];
    const pool: (RankCandidate & { idx: number })[] = [];
    const seen = new Set<number>();
    const n = members.length;
    const tries = Math.min(n, p.sampleSize);
    for (let k = 0; k < tries; k++) {
      const peer = n <= p.sampleSize ? (members[k] as number) : (members[rng.int(n)] as number);
      if (peer === d.peer || seen.has(peer)) continue;
      seen.add(peer);
      const chunks = chunksOf(peer, d.item, d.pieces);
      if (!chunks) continue;
      pool.push({ idx: peer, peerId: pop.peerId(peer), kind: pop.kind[peer] === SUPERNODE ? "supernode" : "browser", location: pop.location(peer), chunks, uploadSlots: Math.max(0, (pop.slots[peer] as number) - net.uploadCount(peer)) });
    }
    const wanted: number[] = [];
    for (let i = 0; i < d.pieces; i++) if (!d.have[i]) wanted.push(i);
    const ranked = policies.rankPeers({ requester: { peerId: pop.peerId(d.peer), location: pop.location(d.peer) }, candidates: pool, wanted, max: p.maxPeers, random: rng.random });
    d.cands = ranked.map((r) => r.candidate.idx);
  }

  function schedule(d: Download): void {
    if (d.done) return;
    if (q.now - d.lastWant >= p.wantIntervalS || (d.cands.length === 0 && q.now - d.lastWant >= 1)) refreshCandidates(d);
    let from = 0;
    while (from < d.pieces && (d.have[from] || d.inflight[from])) from++;
    if (from >= d.pieces) return;
    const to = Math.min(d.pieces, from + p.window);
    const needed = (i: number) => d.have[i] === 0 && d.inflight[i] === 0;
    const peers: (PickerPeer & { idx: number })[] = [];
    // Which window pieces some candidate holds: computed once (the edge rule needs it per piece).
    // Hot path (hot content: millions of calls): no per-candidate objects for non-holders. A peer
    // with nothing in the window is left out of the picker's input, which cannot change its picks.
    const held = new Uint8Array(to - from);
    const s = swarms.get(d.key);
    const late = d.late;
    for (const peer of d.cands) {
      if (!online[peer] || !s?.pos.has(peer)) continue;
      let arr: Uint8Array | null = null; // null: a complete copy
      if (!caches.has(peer, d.item)) {
        const o = current[peer];
        if (!o || o.item !== d.item || o.haveCount === 0) continue;
        arr = o.have;
      }
      let any = false;
      for (let i = from; i < to; i++) if ((arr === null || arr[i] === 1) && (late.size === 0 || !late.has(i))) { held[i - from] = 1; any = true; }
      if (!any) continue;
      const free = Math.min(p.perPeerInflight - (d.perPeer.get(peer) ?? 0), (pop.slots[peer] as number) - net.uploadCount(peer));
      const a = arr;
      const has = a === null ? (i: number) => !late.has(i) : (i: number) => a[i] === 1 && !late.has(i);
      if (free > 0) peers.push({ idx: peer, id: pop.peerId(peer), has, free, kind: pop.kind[peer] === SUPERNODE ? "supernode" : "browser" });
    }
    if (peers.length && d.peerInflight < p.maxParallel) {
      for (const pick of policies.pickChunks({ from, to, needed, peers })) {
        if (d.peerInflight >= p.maxParallel) break;
        const peer = peers.find((x) => x.id === pick.peerId)?.idx;
        if (peer === undefined || !needed(pick.index)) continue;
        const links = collection ? (linked[d.peer] ??= new Set()) : d.connected;
        if (!links.has(peer)) { links.add(peer); traffic.msg(d.key, d.peer, MSG.connect, "connect"); }
        d.inflight[pick.index] = 1;
        d.perPeer.set(peer, (d.perPeer.get(peer) ?? 0) + 1);
        d.peerInflight++;
        const bytes = pieceSize(d, pick.index);
        const t = net.start(peer, d.peer, bytes, d.id, pick.index, pick.index + 1);
        startedAt[t] = q.now;
        deadline[t] = q.push(q.now + p.deadlineS * (bytes / p.pieceBytes), K_DEADLINE, t, d.id);
      }
    }
    if (!d.edgeInflight) {
      // Edge rule (the client's deadline/fallback, simplified): a piece goes to the edge when it
      // missed its deadline from a peer, when no candidate holds it, or when no peer is serving
      // this download at all (waiting would only add latency).
      const edgeable = (i: number) => d.late.has(i) || d.peerInflight === 0 || i >= to || held[i - from] === 0;
      const run = policies.pickEdgeRun({ from, startBy: to, to: d.pieces, needed, edgeable, maxRun: p.edgeMaxRun });
      if (run) {
        let bytes = 0;
        for (let i = run[0]; i < run[1]; i++) { d.inflight[i] = 1; bytes += pieceSize(d, i); }
        d.edgeInflight = true;
        const ck = d.item * CONTINENTS.length + (pop.continent[d.peer] as number);
        if (!originSeen.has(ck)) { originSeen.add(ck); m.origin(q.now, d.size); }
        startedAt[net.start(EDGE, d.peer, bytes, d.id, run[0], run[1])] = q.now;
      }
    }
  }

  const pieceSize = (d: Download, i: number) => Math.min(p.pieceBytes, d.size - i * p.pieceBytes);

  function finishTransfer(t: number, completed: boolean): void {
    const d = downloads[net.tag[t] as number] as Download;
    const from = net.from[t] as number;
    const moved = completed ? (net.bytes[t] as number) : net.moved(t);
    net.end(t);
    if (from === EDGE) d.edgeInflight = false;
    else { q.cancel(deadline[t] as number); d.peerInflight--; d.perPeer.set(from, (d.perPeer.get(from) ?? 1) - 1); }
    if (!completed) {
      m.totals.wastedBytes += moved;
      for (let i = net.p0[t] as number; i < (net.p1[t] as number); i++) d.inflight[i] = 0;
      return;
    }
    m.bytes(q.now, from === EDGE ? 0 : moved, from === EDGE ? moved : 0);
    // Chunks of the transfer arrive evenly over its duration; replay the client's 50 ms batch timer.
    const p0 = net.p0[t] as number, p1 = net.p1[t] as number;
    let chunks = 0;
    for (let i = p0; i < p1; i++) chunks += Math.ceil(pieceSize(d, i) / p.messageChunkBytes);
    const t0 = startedAt[t] as number, step = (q.now - t0) / chunks;
    for (let k = 1; k <= chunks; k++) {
      const at = t0 + k * step;
      // The first batch, then one `have` per second at most (HAVE_BATCH_S is the first batch's delay).
      if (at >= d.haveFlushAt) { d.haveFlushAt = at + HAVE_INTERVAL_S; if (d.joined) traffic.msg(d.key, d.peer, MSG.have, "have"); }
    }
    for (let i = p0; i < p1; i++) {
      d.inflight[i] = 0;
      if (!d.have[i]) { d.have[i] = 1; d.haveCount++; }
    }
    if (d.haveCount === d.pieces && !d.done) {
      d.done = true;
      // The `have` completing the item goes at once (unless the last batch just carried it).
      if (d.joined && d.haveFlushAt < q.now + HAVE_INTERVAL_S - 1e-9) traffic.msg(d.key, d.peer, MSG.have, "have");
      current[d.peer] = undefined;
      if (d.joined && (!collection || q.now - (statsAt[d.peer] as number) >= STATS_INTERVAL_S)) { statsAt[d.peer] = q.now; traffic.msg(d.key, d.peer, MSG.stats, "stats"); }
      // Edge-only baseline: the same bytes over one edge connection (capped like the engine's edge).
      m.completed(q.now, d.started, d.size / Math.min(pop.down[d.peer] as number, p.edgeRate));
      caches.store(d.peer, d.item, (old) => { if (!collection) traffic.leave(old, d.peer); });
      if (!collection && !caches.has(d.peer, d.item)) traffic.leave(d.item, d.peer);
      afterDownload(d.peer);
    }
  }

  function afterDownload(peer: number): void {
    if (wl.kind === "catalogue") reqEvent[peer] = q.push(q.now + rng.exp(wl.thinkMeanS), K_REQ, peer, 0);
    else if (wl.kind === "stream") nextStreamRequest(peer, wl);
    else q.push(q.now + rng.exp(wl.seedMeanS), K_OFF, peer, 0);
  }

  /** When a viewer asks for its next segment (or leaves after the last one). */
  function nextStreamRequest(peer: number, w: StreamWorkload): void {
    const i = nextSegment[peer] as number;
    if (i >= w.segments) { q.push(q.now + rng.exp(w.seedMeanS), K_OFF, peer, 0); return; }
    // Live: when the segment appears plus a playlist refresh; VOD: when it enters the forward buffer
    // (playback starts with the viewer's first segment, one segment per segmentS after it).
    const at = w.live ? (i + 1) * w.segmentS + rng.next() : arrivedAt[peer]! + (i + 1) * w.segmentS - w.forwardBufferS;
    q.push(Math.max(q.now, at), K_REQ, peer, 0);
  }

  function goOnline(peer: number): void {
    online[peer] = 1;
    onlineCount++;
    for (const item of held[peer] as number[]) traffic.join(item, peer);
    if (wl.kind === "catalogue") {
      q.push(q.now + rng.exp(wl.sessionMeanS), K_OFF, peer, 0);
      reqEvent[peer] = q.push(q.now + rng.exp(wl.thinkMeanS), K_REQ, peer, 0);
    }
  }

  function goOffline(peer: number): void {
    if (!online[peer]) return;
    online[peer] = 0;
    onlineCount--;
    if ((reqEvent[peer] as number) >= 0) q.cancel(reqEvent[peer] as number);
    const d = current[peer];
    // Leave swarms first so re-scheduled downloaders no longer see this peer.
    if (collection) traffic.leave(0, peer);
    else for (const item of held[peer] as number[]) traffic.leave(item, peer);
    if (d && !collection) traffic.leave(d.item, peer);
    for (const t of [...net.uploadsOf(peer)]) {
      const dd = downloads[net.tag[t] as number] as Download;
      finishTransfer(t, false);
      schedule(dd);
    }
    if (d) {
      d.done = true;
      current[peer] = undefined;
      m.totals.abandoned++;
      for (const t of [...net.downloadsOf(peer)]) finishTransfer(t, false);
    }
    if (wl.kind === "catalogue") q.push(q.now + rng.exp(wl.sessionMeanS * (wl.populationFactor - 1)), K_ON, peer, 0);
  }

  // Supernodes: always online, pinning the most popular items (their fill is edge egress too).
  for (let s = p.browsers; s < pop.size; s++) {
    online[s] = 1;
    for (let item = 0; item < Math.min(p.supernodePinTop, nItems); item++) {
      caches.pin(s, item);
      traffic.join(item, s);
      m.totals.pinBytes += itemSize[item] as number;
    }
  }
  if (wl.kind === "catalogue") {
    for (let b = 0; b < p.browsers; b++) {
      if (rng.next() < 1 / wl.populationFactor) goOnline(b);
      else q.push(rng.exp(wl.sessionMeanS * (wl.populationFactor - 1)), K_ON, b, 0);
    }
  } else if (wl.kind === "stream") {
    for (let b = 0; b < p.browsers; b++) {
      const t = rng.next() * wl.arrivalS;
      arrivedAt[b] = t;
      nextSegment[b] = wl.live ? Math.max(0, Math.floor(t / wl.segmentS) - wl.liveSyncSegments) : 0;
      q.push(t, K_REQ, b, 1);
    }
  } else {
    for (let b = 0; b < p.browsers; b++) q.push(rng.next() * wl.rampS, K_REQ, b, 0);
  }
  q.push(0, K_SAMPLE, 0, 0);

  let events = 0;
  while (q.pop()) {
    if (q.now > p.horizonS) break;
    events++;
    const a = q.a;
    switch (q.kind) {
      case K_ON: goOnline(a); break;
      case K_OFF: goOffline(a); break;
      case K_REQ: {
        reqEvent[a] = -1;
        if (wl.kind === "flash") { online[a] = 1; onlineCount++; startDownload(a, 0); break; }
        if (wl.kind === "stream") {
          if (q.b === 1) { online[a] = 1; onlineCount++; }
          if (!online[a]) break;
          const seg = nextSegment[a]!++;
          m.totals.segments++;
          if (caches.has(a, seg)) { m.totals.localHits++; afterDownload(a); }
          else startDownload(a, seg);
          break;
        }
        if (!online[a]) break;
        const item = (zipf as ZipfSampler).sample(rng.random);
        if (caches.has(a, item)) { m.totals.localHits++; afterDownload(a); }
        else startDownload(a, item);
        break;
      }
      case K_DONE: {
        const d = downloads[net.tag[a] as number] as Download;
        finishTransfer(a, true);
        schedule(d);
        break;
      }
      case K_DEADLINE: {
        if (!net.alive[a] || net.from[a] === EDGE) break; // (a finished transfer cancels its deadline)
        const d = downloads[q.b] as Download;
        m.totals.deadlineMisses++;
        for (let i = net.p0[a] as number; i < (net.p1[a] as number); i++) d.late.add(i);
        finishTransfer(a, false);
        schedule(d);
        break;
      }
      case K_RETRY: {
        const d = downloads[a] as Download;
        // Retries go on after the download while the peer holds the item (it would seed).
        if (!online[d.peer] || (d.done && !caches.has(d.peer, d.item))) break;
        d.key = traffic.join(d.item, d.peer);
        d.joined = d.key >= 0;
        if (!d.joined) q.push(q.now + retryDelayS(d.attempts++, rng.next()), K_RETRY, d.id, 0);
        else { d.lastWant = -Infinity; schedule(d); }
        break;
      }
      case K_SAMPLE: {
        let maxSwarm = 0, u = 0, qsum = 0;
        for (const s of swarms.values()) if (s.members.length > maxSwarm) maxSwarm = s.members.length;
        for (let b = 0; b < p.browsers; b++) if (online[b]) { u += used[b] as number; qsum += pop.quota[b] as number; }
        m.sample(q.now, maxSwarm, onlineCount, qsum ? u / qsum : 0);
        q.push(q.now + Math.min(p.binS, 10), K_SAMPLE, 0, 0);
        break;
      }
    }
  }
  m.rollover(Math.floor(p.horizonS) + 1);
  for (const load of alsoCounted.values()) load.rollover(Math.floor(p.horizonS) + 1);
  const perShard = new Map<number, number>();
  for (const o of swarms.keys()) perShard.set(objs.shardKeyOf(o), (perShard.get(objs.shardKeyOf(o)) ?? 0) + 1);
  return { metrics: m, pop, events, alsoCounted, objects: swarms.size, maxObjectsPerShard: Math.max(0, ...perShard.values()) };
}
