import { useEffect, useState } from "react";
import { createSwarm, type ProgressDetail, type Swarm } from "edgeswarm";

const EDGE = "http://127.0.0.1:8787";

/** One swarm for the page's lifetime (closing it leaves the swarms it joined). */
function useSwarm(edge: string): Swarm | null {
  const [swarm, setSwarm] = useState<Swarm | null>(null);
  useEffect(() => {
    const s = createSwarm({ edge });
    setSwarm(s);
    return () => s.close();
  }, [edge]);
  return swarm;
}

export function App() {
  const swarm = useSwarm(EDGE);
  const [src, setSrc] = useState<string>();
  const [progress, setProgress] = useState<ProgressDetail>();
  useEffect(() => {
    if (!swarm) return;
    const onProgress = (e: Event) => setProgress((e as CustomEvent<ProgressDetail>).detail);
    swarm.addEventListener("progress", onProgress);
    let url: string | undefined;
    void swarm
      .fetch("/c/demo/assets/large.bin")
      .then((res) => res.blob())
      .then((blob) => setSrc((url = URL.createObjectURL(blob))));
    return () => {
      swarm.removeEventListener("progress", onProgress);
      if (url) URL.revokeObjectURL(url);
    };
  }, [swarm]);
  return (
    <main>
      <h1>edgeswarm + React</h1>
      <p>{progress ? `${progress.received} bytes, last piece from ${progress.source}` : "loading…"}</p>
      {src && <a href={src} download="large.bin">downloaded: save it</a>}
    </main>
  );
}
