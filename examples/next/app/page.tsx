import { SwarmDownload } from "./swarm-download";

/** Server component: the SDK runs only in the browser, inside the client component. */
export default function Page() {
  return (
    <main>
      <h1>edgeswarm + Next.js</h1>
      <SwarmDownload edge={process.env.NEXT_PUBLIC_EDGESWARM_EDGE ?? "http://127.0.0.1:8787"} path="/c/demo/assets/large.bin" />
    </main>
  );
}
