"use client";
import { useEffect, useState } from "react";
import type { ProgressDetail } from "edgeswarm";

/** Fetches one item through the swarm and shows where its bytes came from. */
export function SwarmDownload({ edge, path }: { edge: string; path: string }) {
  const [text, setText] = useState("loading…");
  useEffect(() => {
    let close = () => {};
    // A dynamic import: the SDK (and its peer side, a further chunk) stays out of the server bundle
    // and out of the page's first script.
    void import("edgeswarm").then(async ({ createSwarm }) => {
      const swarm = createSwarm({ edge });
      close = () => swarm.close();
      swarm.addEventListener("progress", (e: Event) => {
        const d = (e as CustomEvent<ProgressDetail>).detail;
        setText(`${d.received} of ${d.size} bytes, last piece from ${d.source}`);
      });
      const res = await swarm.fetch(path);
      const bytes = (await res.arrayBuffer()).byteLength;
      const s = swarm.stats();
      setText(`${bytes} bytes: ${s.fromPeers} from peers, ${s.fromEdge} from the edge`);
    });
    return () => close();
  }, [edge, path]);
  return <p>{text}</p>;
}
