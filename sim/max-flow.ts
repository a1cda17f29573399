/**
 * Maximum flow on a directed graph with real-valued capacities (Dinic's algorithm: BFS level graph,
 * DFS blocking flows with per-node edge pointers). Used by `promise-bound.ts`, whose graphs are a
 * few hundred thousand edges; Dinic's O(V²E) worst case is far from reached on such layered
 * (source → holder-slot → request → sink) graphs.
 */

/** Residual capacity at or below this counts as saturated (capacities here are bytes). */
const EPS = 1e-6;

/**
 * A flow network built edge by edge, then solved once.
 * @example
 * const g = new MaxFlow();
 * const s = g.node(), a = g.node(), t = g.node();
 * g.edge(s, a, 5); g.edge(a, t, 3);
 * g.solve(s, t); // 3
 * g.flowOn(1);   // 3 (the second edge added)
 */
export class MaxFlow {
  /** Per edge (forward at even index, its residual twin at the next): head node, capacity left. */
  private readonly to: number[] = [];
  private readonly cap: number[] = [];
  private readonly capacity: number[] = [];
  private readonly adj: number[][] = [];

  /** Adds a node; returns its id. */
  node(): number {
    this.adj.push([]);
    return this.adj.length - 1;
  }

  /** Adds an edge `from → to` of capacity `c` (≥ 0); returns its id for {@link flowOn}. */
  edge(from: number, to: number, c: number): number {
    if (!(c >= 0)) throw new RangeError(`capacity must be ≥ 0, got ${c}`);
    const id = this.to.length / 2;
    this.to.push(to, from);
    this.cap.push(c, 0);
    this.capacity.push(c);
    this.adj[from]!.push(2 * id);
    this.adj[to]!.push(2 * id + 1);
    return id;
  }

  /** The flow an edge carries after {@link solve}. */
  flowOn(id: number): number {
    return this.capacity[id]! - this.cap[2 * id]!;
  }

  /** Pushes the maximum flow from `s` to `t`; returns its value. */
  solve(s: number, t: number): number {
    const n = this.adj.length;
    const level = new Int32Array(n);
    const next = new Int32Array(n);
    let total = 0;
    for (;;) {
      level.fill(-1);
      level[s] = 0;
      const queue = [s];
      for (let h = 0; h < queue.length; h++) {
        const u = queue[h]!;
        for (const e of this.adj[u]!) {
          const v = this.to[e]!;
          if (level[v]! < 0 && this.cap[e]! > EPS) {
            level[v] = level[u]! + 1;
            queue.push(v);
          }
        }
      }
      if (level[t]! < 0) return total;
      next.fill(0);
      for (let f = this.push(s, t, Infinity, level, next); f > EPS; f = this.push(s, t, Infinity, level, next)) total += f;
    }
  }

  /** One augmenting path of the level graph (iterative DFS: paths here are short, graphs wide). */
  private push(s: number, t: number, limit: number, level: Int32Array, next: Int32Array): number {
    const path: number[] = [];
    let u = s;
    for (;;) {
      if (u === t) {
        let f = limit;
        for (const e of path) f = Math.min(f, this.cap[e]!);
        for (const e of path) {
          this.cap[e]! -= f;
          this.cap[e ^ 1]! += f;
        }
        return f;
      }
      const edges = this.adj[u]!;
      let advanced = false;
      while (next[u]! < edges.length) {
        const e = edges[next[u]!]!;
        const v = this.to[e]!;
        if (this.cap[e]! > EPS && level[v] === level[u]! + 1) {
          path.push(e);
          u = v;
          advanced = true;
          break;
        }
        next[u]!++;
      }
      if (advanced) continue;
      // Dead end: drop this node from the level graph and step back.
      level[u] = -1;
      const back = path.pop();
      if (back === undefined) return 0;
      u = this.to[back ^ 1]!;
      next[u]!++;
    }
  }
}
