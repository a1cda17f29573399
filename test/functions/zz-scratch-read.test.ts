import { it } from "vitest";
import { FAULT_ORIGIN } from "./fault-client";

async function run(name: string, f: (b: ReadableStream<Uint8Array>) => Promise<{ reads: number; bytes: number; sizes: number[] }>, path = "ok/8388608/x") {
  const res = await fetch(`${FAULT_ORIGIN}${path}?${Math.random()}`);
  const t0 = performance.now();
  const r = await f(res.body!);
  const hist = new Map<number, number>();
  for (const s of r.sizes) { const k = 2 ** Math.ceil(Math.log2(s)); hist.set(k, (hist.get(k) ?? 0) + 1); }
  console.log(name, r.reads, "reads", r.bytes, "B", "first sizes", r.sizes.slice(0, 8).join(","), "hist", JSON.stringify([...hist].sort((a, b) => a[0] - b[0])));
}
const dflt = async (b: ReadableStream<Uint8Array>) => { const rd = b.getReader(); let reads = 0, bytes = 0; const sizes: number[] = []; for (;;) { const { done, value } = await rd.read(); if (done) break; reads++; bytes += value.byteLength; sizes.push(value.byteLength); } return { reads, bytes, sizes }; };
const byob = (size: number, min: number) => async (b: ReadableStream<Uint8Array>) => {
  const rd = (b as any).getReader({ mode: "byob" }); let reads = 0, bytes = 0; const sizes: number[] = [];
  for (;;) { const v = new Uint8Array(size); const { done, value } = min > 1 ? await rd.readAtLeast(min, v) : await rd.read(v); if (value?.byteLength) { reads++; bytes += value.byteLength; sizes.push(value.byteLength); } if (done) break; }
  return { reads, bytes, sizes };
};
it("scratch read sizes", async () => {
  for (let i = 0; i < 2; i++) {
    await run("default", dflt);
    await run("byob read 64K", byob(65536, 1));
    await run("byob read 256K", byob(262144, 1));
    await run("byob readAtLeast 4K/256K", byob(262144, 4096));
    await run("byob readAtLeast 64K", byob(65536, 65536));
  }
  const t0 = Date.now();
  const res = await fetch(`${FAULT_ORIGIN}drip/1000/x?every=300`);
  const rd = (res.body as any).getReader({ mode: "byob" });
  for (let i = 0; i < 3; i++) { const { value } = await rd.read(new Uint8Array(65536)); console.log("drip read", value.byteLength, Date.now() - t0, "ms"); }
  rd.cancel();
}, 60000);
