/**
 * What each compared operation is, on each side of its row — printed at the head of docs/bench.md,
 * so that a ratio is read against the work actually done on both sides. The coordinator's op
 * definitions are its section's own notes (bench/sections/coordinator.ts).
 */

/** One compared operation: the name of the row family, what edgeswarm does, what the baseline does. */
export interface OpDefinition {
  row: string;
  edgeswarm: string;
  baseline: string;
}

/** The definitions, in section order. */
export const OP_DEFINITIONS: readonly OpDefinition[] = [
  {
    row: "§1 offload ÷ trace limit",
    edgeswarm: "bytes the SDK peers got from other peers ÷ all bytes they got (peers + edge), summed over the completed requests of one seeded workload run, as the SDKs count them",
    baseline: "the same ratio for the best any scheduler could do on the recorded trace (sim/offload-limit.ts: a request needs the edge only if no online peer holds the item when it starts); one ratio per seed, median (min–max) over ≥ 5 seeds per mode",
  },
  {
    row: "§2 peer path, links up",
    edgeswarm: "swarm.fetch() of an item k SDK seeders hold, over links already up, to the last body byte (manifest, join, requests, framing, SHA-256 of every chunk)",
    baseline: "the same bytes sent again over the same bare node-datachannel channels (equal ranges per seeder, same message size and backpressure marks), no protocol, no hashing",
  },
  {
    row: "§5 edge race",
    edgeswarm: "swarm.fetch() by a fresh visitor (new peer id, empty store) of an item k seeders hold, to the last body byte; edge and peer bytes share the visitor's one shaped downlink",
    baseline: "a plain HTTP GET of the same item (edge cache HIT, new connection) from the same process over the same link, alternated with the SDK runs",
  },
  {
    row: "§6 cold item",
    edgeswarm: "swarm.fetch() of an item nobody requested before (edge MISS; no peers), first and last body byte",
    baseline: "a plain HTTP GET of /c/<item> of another never-requested item of the same size, same process, same link",
  },
  {
    row: "§4 SDK size",
    edgeswarm: "bytes a page downloads for the SDK (esbuild output, gzip -9 per file)",
    baseline: "the budget (12 KB gz)",
  },
];

/** The definitions as markdown (a table), for docs/bench.md. */
export function opDefinitionsMarkdown(): string {
  return [
    "How each compared operation is defined on each side (the coordinator's: §3's notes):",
    "",
    "| row | edgeswarm side | baseline side |",
    "|---|---|---|",
    ...OP_DEFINITIONS.map((d) => `| ${d.row} | ${d.edgeswarm} | ${d.baseline} |`),
    "",
  ].join("\n");
}
