// The demo page's live panel: turns swarm.stats() into the numbers, the source bar, the per-peer
// table and the one-line explanation of what is happening.

/** Colour of edge-delivered chunks (Cloudflare orange). */
export const EDGE_COLOR = "#f38020";

/** A stable colour per peer id (hue from a string hash; never orange, which means "edge"). */
export function peerColor(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${80 + (h % 240)}, 65%, 58%)`;
}

const $ = (id) => document.getElementById(id);

/** "12.3 MB" style, decimal units as a browser's download UI shows them. */
export function fmtBytes(n) {
  if (n < 1e3) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(0)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

/** Sums the SDK's per-content stats over the demo's URLs. */
export function aggregate(stats, urls) {
  const a = { fromPeers: 0, fromEdge: 0, received: 0, byPeer: {} };
  for (const [url, c] of Object.entries(stats.contents ?? {})) {
    if (!urls.has(url)) continue;
    a.fromPeers += c.fromPeers;
    a.fromEdge += c.fromEdge;
    a.received += c.received;
    for (const [p, n] of Object.entries(c.byPeer)) a.byPeer[p] = (a.byPeer[p] ?? 0) + n;
  }
  return a;
}

function explain({ a, st, total, finished, loadMs }) {
  const pct = a.fromPeers + a.fromEdge ? Math.round((100 * a.fromPeers) / (a.fromPeers + a.fromEdge)) : 0;
  const peers = Object.keys(a.byPeer).length;
  const up = st.uploaded ? ` Since then this tab has uploaded ${fmtBytes(st.uploaded)} to other visitors.` : "";
  if (!finished) {
    if (a.fromPeers > 0) return `Loading — ${pct} % so far from ${peers} other visitor${peers === 1 ? "" : "s"} over WebRTC, the rest from the edge…`;
    return st.peersConnected > 0
      ? `Loading — connected to ${st.peersConnected} peer${st.peersConnected === 1 ? "" : "s"}, asking them for chunks…`
      : "Loading from the edge — no other open tab has these images yet…";
  }
  const secs = `${(loadMs / 1000).toFixed(1)} s`;
  if (a.fromPeers === 0)
    return `Loaded ${fmtBytes(total)} in ${secs}, all from the edge: this tab was the first visitor. ` +
      `Now open this same URL in a second tab or another browser — it will load from this one (watch "uploaded to others").${up}`;
  const who = peers === 1 ? "another visitor's browser" : `${peers} other visitors' browsers`;
  return `Loaded ${fmtBytes(total)} in ${secs}: ${pct} % came from ${who} ` +
    `over WebRTC, only ${fmtBytes(a.fromEdge)} from the edge. Every chunk matched the edge's SHA-256 manifest. ` +
    `Keep this tab open: it now serves the next visitor too.${up}`;
}

/**
 * Renders the panel from the live SDK stats.
 * @param {{ swarm: any, urls: Set<string>, total: number, done: { n: number }, t0: number, loadMs: number | null, verified: number }} o
 */
export function renderStats(o) {
  const st = o.swarm.stats();
  const a = aggregate(st, o.urls);
  const moved = a.fromPeers + a.fromEdge;
  const finished = o.loadMs !== null;
  $("offload").textContent = moved ? `${Math.round((100 * a.fromPeers) / moved)} %` : "–";
  $("from-peers").textContent = fmtBytes(a.fromPeers);
  $("from-edge").textContent = fmtBytes(a.fromEdge);
  $("uploaded").textContent = fmtBytes(st.uploaded);
  $("peers").textContent = String(st.peersConnected);
  $("elapsed").textContent = `${(((finished ? o.loadMs : performance.now() - o.t0)) / 1000).toFixed(1)} s`;
  $("verified").textContent = `${o.verified} / ${o.urls.size}`;
  $("explain").textContent = explain({ a, st, total: o.total, finished, loadMs: o.loadMs });

  // Source bar: edge first, then each peer, as shares of the whole set.
  const segs = [["edge", EDGE_COLOR, a.fromEdge], ...Object.entries(a.byPeer).map(([p, n]) => [p, peerColor(p), n])];
  const bar = $("bar");
  while (bar.children.length < segs.length) bar.append(document.createElement("div"));
  segs.forEach(([name, color, n], i) => {
    const d = bar.children[i];
    d.style.width = `${(100 * n) / o.total}%`;
    d.style.background = color;
    d.title = `${name}: ${fmtBytes(n)}`;
  });

  const rows = segs
    .filter(([, , n]) => n > 0)
    .map(([name, color, n]) => {
      const tr = document.createElement("tr");
      tr.innerHTML = `<td><span class="swatch"></span></td><td></td><td></td>`;
      tr.querySelector(".swatch").style.background = color;
      tr.children[1].textContent = name === "edge" ? "edge (Cloudflare cache → origin)" : `peer ${name}`;
      tr.children[2].textContent = `${fmtBytes(n)} (${Math.round((100 * n) / Math.max(1, moved))} %)`;
      return tr;
    });
  $("by-peer").tBodies[0].replaceChildren(...rows);
}
