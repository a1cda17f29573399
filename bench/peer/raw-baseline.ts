/**
 * The raw data-channel baseline of bench section 2a (sections/peer-path.ts): k plain WebRTC peer
 * processes (raw-peer-process.ts) send the bytes to a raw downloader; the parent relays signals
 * and samples the processes' CPU time around the links-up transfer.
 */
import type { ChildProcess } from "node:child_process";
import { childScript, forkChild, nextMessage, stopChild } from "../lib/procs";
import { isRaw, type RawCommand, type RawReport } from "./raw-protocol";


/** What {@link rawBaseline} measured. */
export interface RawRun {
  setupMs: number[];
  /** First transfer, on the fresh connections. */
  transferMs: number[];
  /** The same bytes again over the same channels (links up). */
  warmTransferMs: number[];
  /** CPU time during each links-up transfer, ms: the downloader process and the seeder processes (summed). */
  downloaderCpuMs: number[];
  seederCpuMs: number[];
  /** Attempts abandoned because a channel never opened (retried on fresh connections). */
  failedAttempts: number;
}

/** One links-up transfer of the raw peers: its time and the processes' CPU time during it. */
export interface RawWarm {
  ms: number;
  downloaderCpuMs: number;
  seederCpuMs: number;
}

/**
 * k raw seeders → 1 raw downloader, `reps` fresh connections: each a transfer on the new
 * connections, then the same bytes again over them (links up). The last connections stay up:
 * `again()` transfers the bytes once more over them (the section interleaves it with the SDK's
 * links-up downloads, so both see the same host load); `stop()` ends the processes.
 *
 * @example
 * const raw = await rawBaseline(3, 32 * 2 ** 20, 5); median(raw.run.warmTransferMs);
 * const w = await raw.again(); await raw.stop();
 */
export async function rawBaseline(k: number, bytes: number, reps: number): Promise<{ run: RawRun; again(): Promise<RawWarm>; stop(): Promise<void> }> {
  const procs = new Map<string, ChildProcess>();
  const all: ChildProcess[] = [];
  const stop = () => Promise.all(all.map((cp) => stopChild(cp, 1000))).then(() => {});
  try {
    const ids = ["dl", ...Array.from({ length: k }, (_, i) => `seed${i}`)];
    for (const id of ids) {
      const cp = forkChild(childScript("peer/raw-peer-process.mjs"));
      procs.set(id, cp);
      all.push(cp);
      // Relay signals between processes (the parent is the signalling server).
      cp.on("message", (m: RawReport) => {
        if (m.type === "signal") procs.get(m.to)?.send({ cmd: "signal", from: m.from, data: m.data } satisfies RawCommand);
        if (m.type === "fatal") console.error(`raw peer ${id}: ${m.message}`);
      });
      const ready = nextMessage(cp, isRaw("ready"), 10_000, "raw peer init");
      cp.send({ cmd: "init", id, role: id === "dl" ? "downloader" : "seeder" } satisfies RawCommand);
      await ready;
    }
    const out: RawRun = { setupMs: [], transferMs: [], warmTransferMs: [], downloaderCpuMs: [], seederCpuMs: [], failedAttempts: 0 };
    const seederCpu = async () => (await Promise.all(ids.slice(1).map((id) => {
      const cp = procs.get(id)!;
      const p = nextMessage(cp, isRaw("cpu"), 10_000, "raw cpu");
      cp.send({ cmd: "cpu" } satisfies RawCommand);
      return p.then((m) => m.ms);
    }))).reduce((a, b) => a + b, 0);
    const dl = procs.get("dl")!;
    const resetAll = () => Promise.all(all.map((cp) => {
      const p = nextMessage(cp, isRaw("reset-done"), 10_000, "raw reset");
      cp.send({ cmd: "reset" } satisfies RawCommand);
      return p;
    }));
    /** The same bytes again over the channels of the last transfer; null when it failed. */
    const again = async (): Promise<RawWarm | null> => {
      const c0 = await seederCpu();
      const done = nextMessage(dl, isRaw("fetched"), 15_000, "raw transfer (links up)");
      dl.send({ cmd: "again" } satisfies RawCommand);
      const w = await done.catch(() => null);
      const seedCpu = (await seederCpu()) - c0;
      return w && w.bytes >= bytes ? { ms: w.transferMs, downloaderCpuMs: w.cpuMs, seederCpuMs: seedCpu } : null;
    };
    for (let r = 0; r < reps; r++) {
      // libdatachannel occasionally never opens a channel here (no ICE pair succeeds): such an
      // attempt is abandoned after 15 s, counted, and retried on fresh connections.
      for (let attempt = 0; ; attempt++) {
        const done = nextMessage(dl, isRaw("fetched"), 15_000, "raw transfer");
        dl.send({ cmd: "fetch", seeders: ids.slice(1), bytes } satisfies RawCommand);
        const f = await done.catch(() => null);
        // The same bytes again over the same channels: links up, as the SDK's second download.
        const w = f && f.bytes >= bytes ? await again() : null;
        const last = r === reps - 1 && !!w;
        // The last connections stay up for `again()`.
        if (!last) await resetAll();
        if (f && w) {
          out.setupMs.push(f.setupMs);
          out.transferMs.push(f.transferMs);
          out.warmTransferMs.push(w.ms);
          out.downloaderCpuMs.push(w.downloaderCpuMs);
          out.seederCpuMs.push(w.seederCpuMs);
          break;
        }
        out.failedAttempts++;
        if (attempt >= 2) throw new Error(`raw transfer failed ${attempt + 1} times in a row`);
      }
    }
    return {
      run: out,
      again: async () => {
        const w = await again();
        if (!w) throw new Error("raw links-up transfer failed");
        return w;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
