/**
 * The seeding policy with injected navigator / document / storage state, and its two hook points in
 * the SDK: consent before any peer connection, the visitor's switch before every upload.
 */
import { afterEach, describe, expect, it } from "vitest";
import { SEEDING_STORAGE_PREFIX, SeedingPolicy, type BatteryLike, type SeedingEnvironment } from "../../client/seeding-policy";
import { createSwarm, type Swarm, type SwarmOptions } from "../../client/swarm";
import { ChunkStore, MemoryChunkBackend } from "../../client/chunk-store";
import type { RTCPeerConnectionCtor } from "../../client/peer-link";
import type { WebSocketCtor } from "../../client/swarm-client";
import { digestOf } from "./helpers";
import { FakeRTCPeerConnection } from "./fakes/fake-rtc";
import { FakeHub } from "./fakes/fake-coordinator";
import { fakeEdgeServer } from "./fakes/fake-edge";

/** A Storage double (Map-backed), optionally throwing like Safari's private mode or a blocked frame. */
function storage(init: Record<string, string> = {}, throws = false): Pick<Storage, "getItem" | "setItem"> & { map: Map<string, string> } {
  const map = new Map(Object.entries(init));
  return {
    map,
    getItem: (k) => {
      if (throws) throw new DOMException("blocked", "SecurityError");
      return map.get(k) ?? null;
    },
    setItem: (k, v) => {
      if (throws) throw new DOMException("quota", "QuotaExceededError");
      map.set(k, v);
    },
  };
}

/** A policy whose consent has been answered (no hook: granted) — blockers then reflect only `env`. */
async function policy(env: SeedingEnvironment, o: ConstructorParameters<typeof SeedingPolicy>[0] = {}): Promise<SeedingPolicy> {
  const p = new SeedingPolicy({ site: "https://cdn.test", env, ...o });
  await p.consented();
  await new Promise((r) => setImmediate(r)); // getBattery() resolves
  return p;
}

const DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const ANDROID_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36";

describe("SeedingPolicy: the visitor's switch", () => {
  it("is on by default with nothing in the way", async () => {
    const p = await policy({ localStorage: storage() });
    expect(p.enabled).toBe(true);
    expect(p.blockers()).toEqual([]);
    expect(p.canUpload()).toBe(true);
  });

  it("persists the choice per site: a new page on the same site starts with it, another site does not", async () => {
    const ls = storage();
    const p = await policy({ localStorage: ls });
    p.enabled = false;
    expect(ls.map.get(`${SEEDING_STORAGE_PREFIX}https://cdn.test`)).toBe("0");
    expect(p.blockers()).toEqual(["switched-off"]);
    expect((await policy({ localStorage: ls })).enabled).toBe(false);
    expect((await policy({ localStorage: ls }, { site: "https://other.test" })).enabled).toBe(true);
    p.enabled = true;
    expect(ls.map.get(`${SEEDING_STORAGE_PREFIX}https://cdn.test`)).toBe("1");
    expect((await policy({ localStorage: ls })).canUpload()).toBe(true);
  });

  it("`seed: false` is only the default: a visitor who chose seeding keeps it", async () => {
    expect((await policy({ localStorage: storage() }, { seed: false })).blockers()).toEqual(["switched-off"]);
    const chose = storage({ [`${SEEDING_STORAGE_PREFIX}https://cdn.test`]: "1" });
    expect((await policy({ localStorage: chose }, { seed: false })).enabled).toBe(true);
    const junk = storage({ [`${SEEDING_STORAGE_PREFIX}https://cdn.test`]: "maybe" });
    expect((await policy({ localStorage: junk }, { seed: false })).enabled).toBe(false);
  });

  it("keeps the choice in memory when storage throws (privacy mode, blocked frame) or is absent", async () => {
    for (const localStorage of [storage({}, true), null]) {
      const p = await policy({ localStorage });
      expect(p.enabled).toBe(true);
      p.enabled = false;
      expect(p.enabled).toBe(false);
      expect(p.canUpload()).toBe(false);
    }
  });
});

describe("SeedingPolicy: the device's conditions", () => {
  it("no uploads while the browser asks to save data", async () => {
    expect((await policy({ navigator: { connection: { saveData: true } } })).blockers()).toEqual(["save-data"]);
    expect((await policy({ navigator: { connection: { saveData: false } } })).canUpload()).toBe(true);
  });

  it("no uploads on cellular or metered links unless allowed", async () => {
    expect((await policy({ navigator: { connection: { type: "cellular" } } })).blockers()).toEqual(["metered"]);
    expect((await policy({ navigator: { connection: { metered: true } } })).blockers()).toEqual(["metered"]);
    expect((await policy({ navigator: { connection: { type: "wifi" } } })).canUpload()).toBe(true);
    expect((await policy({ navigator: { connection: { type: "ethernet" } } })).canUpload()).toBe(true);
    expect((await policy({ navigator: { connection: { type: "cellular" } } }, { allowMetered: true })).canUpload()).toBe(true);
  });

  it("no uploads on 2g/3g-class links unless allowed", async () => {
    for (const effectiveType of ["slow-2g", "2g", "3g"]) {
      expect((await policy({ navigator: { connection: { effectiveType } } })).blockers()).toEqual(["slow-link"]);
    }
    expect((await policy({ navigator: { connection: { effectiveType: "4g" } } })).canUpload()).toBe(true);
    expect((await policy({ navigator: { connection: { effectiveType: "3g" } } }, { allowSlowLink: true })).canUpload()).toBe(true);
  });

  it("reports every blocker at once", async () => {
    const p = await policy({ navigator: { connection: { saveData: true, type: "cellular", effectiveType: "2g" } }, localStorage: storage() });
    p.enabled = false;
    expect(p.blockers().sort()).toEqual(["metered", "save-data", "slow-link", "switched-off"]);
  });

  it("low battery that is not charging stops uploads; the battery's live fields are followed", async () => {
    const battery: BatteryLike = { charging: false, level: 0.15 };
    const p = await policy({ navigator: { getBattery: async () => battery } });
    expect(p.blockers()).toEqual(["low-battery"]);
    battery.charging = true; // plugged in
    expect(p.canUpload()).toBe(true);
    battery.charging = false;
    battery.level = 0.6;
    expect(p.canUpload()).toBe(true);
    battery.level = 0.19;
    expect(p.blockers()).toEqual(["low-battery"]);
    const custom = await policy({ navigator: { getBattery: async () => ({ charging: false, level: 0.15 }) } }, { lowBattery: 0.1 });
    expect(custom.canUpload()).toBe(true);
    const off = await policy({ navigator: { getBattery: async () => ({ charging: false, level: 0.01 }) } }, { lowBattery: 0 });
    expect(off.canUpload()).toBe(true);
  });

  it("no Battery API, or one that rejects or throws (Permissions-Policy), blocks nothing", async () => {
    expect((await policy({ navigator: {} })).canUpload()).toBe(true);
    expect((await policy({ navigator: { getBattery: () => Promise.reject(new DOMException("denied", "NotAllowedError")) } })).canUpload()).toBe(true);
    expect((await policy({ navigator: { getBattery: () => { throw new TypeError("blocked"); } } })).canUpload()).toBe(true);
  });

  it("pauses uploads while the tab is hidden on mobile, and only then", async () => {
    const doc = { visibilityState: "hidden" };
    const mobile = await policy({ navigator: { userAgentData: { mobile: true }, userAgent: DESKTOP_UA }, document: doc });
    expect(mobile.blockers()).toEqual(["hidden-on-mobile"]);
    doc.visibilityState = "visible";
    expect(mobile.canUpload()).toBe(true);
    doc.visibilityState = "hidden";
    // Without User-Agent Client Hints (Firefox, Safari) the UA string decides.
    expect((await policy({ navigator: { userAgent: ANDROID_UA }, document: doc })).blockers()).toEqual(["hidden-on-mobile"]);
    expect((await policy({ navigator: { userAgent: DESKTOP_UA }, document: doc })).canUpload()).toBe(true);
    expect((await policy({ navigator: { userAgentData: { mobile: false }, userAgent: ANDROID_UA }, document: doc })).canUpload()).toBe(true);
    expect((await policy({ navigator: { userAgent: ANDROID_UA }, document: doc }, { pauseHiddenOnMobile: false })).canUpload()).toBe(true);
  });
});

describe("SeedingPolicy: consent", () => {
  it("without a hook consent is granted", async () => {
    const p = new SeedingPolicy({ env: {} });
    expect(await p.consented()).toBe(true);
    expect(p.consentAnswered).toBe(true);
  });

  it("awaits the hook; until it answers nothing uploads", async () => {
    let answer!: (v: boolean) => void;
    const p = new SeedingPolicy({ env: {}, consent: () => new Promise<boolean>((r) => (answer = r)) });
    await new Promise((r) => setImmediate(r));
    expect(p.consentAnswered).toBe(false);
    expect(p.blockers()).toEqual(["no-consent"]);
    answer(true);
    expect(await p.consented()).toBe(true);
    expect(p.canUpload()).toBe(true);
  });

  it("false, a throw, a rejection or a non-boolean answer is no consent; the hook is asked once", async () => {
    let calls = 0;
    const hooks: (() => boolean | Promise<boolean>)[] = [
      () => (calls++, false),
      () => { throw new Error("banner crashed"); },
      () => Promise.reject(new Error("dismissed")),
      () => "yes" as unknown as boolean,
    ];
    for (const consent of hooks) {
      const p = new SeedingPolicy({ env: {}, consent });
      expect(await p.consented()).toBe(false);
      expect(await p.consented()).toBe(false);
      expect(p.blockers()).toEqual(["no-consent"]);
    }
    expect(calls).toBe(1);
  });
});

describe("the SDK's hook points", () => {
  const EDGE = "https://edge.test";
  const CS = 16 * 1024;
  const live: Swarm[] = [];
  afterEach(() => {
    for (const s of live.splice(0)) s.close();
  });

  async function world() {
    const edge = await fakeEdgeServer(EDGE, { "/demo/a.bin": { size: 20 * CS + 7 } });
    const hub = new FakeHub();
    const sockets: string[] = [];
    const Hub = hub.socketClass();
    const WS = class extends Hub {
      constructor(url: string) {
        super(url);
        sockets.push(url);
      }
    };
    const peer = async (opts: Partial<SwarmOptions> = {}) => {
      const s = createSwarm({
        edge: EDGE, fetch: edge.fetch, WebSocket: WS as unknown as WebSocketCtor,
        RTCPeerConnection: FakeRTCPeerConnection as unknown as RTCPeerConnectionCtor,
        store: await ChunkStore.open(new MemoryChunkBackend(), { quotaBytes: 64 << 20 }),
        peerWaitMs: 500, chunkDeadlineMs: 500, ...opts,
      });
      live.push(s);
      return s;
    };
    return { edge, hub, sockets, peer, item: edge.items.get("/demo/a.bin")! };
  }
  async function until(cond: () => boolean, ms = 5000): Promise<void> {
    for (let t = 0; t < ms && !cond(); t += 10) await new Promise((r) => setTimeout(r, 10));
    if (!cond()) throw new Error("condition not reached");
  }
  const bytes = async (s: Swarm) => new Uint8Array(await (await s.fetch("/c/demo/a.bin")).arrayBuffer());

  it("consent denied: content loads from the edge, no coordinator socket and no peer connection is ever opened", async () => {
    const { sockets, peer, item } = await world();
    const pcsBefore = FakeRTCPeerConnection.all.length;
    const s = await peer({ consent: () => false });
    expect(digestOf(await bytes(s))).toEqual(digestOf(item.bytes));
    expect(s.stats().fromEdge).toBe(item.bytes.length);
    expect(sockets).toEqual([]);
    expect(FakeRTCPeerConnection.all.length).toBe(pcsBefore);
    expect(s.seedingBlockers()).toContain("no-consent");
  });

  it("consent still pending: the download does not wait for it (edge), and peers join once it is given", async () => {
    const { sockets, peer, item } = await world();
    let grant!: (v: boolean) => void;
    const s = await peer({ consent: () => new Promise<boolean>((r) => (grant = r)) });
    expect(digestOf(await bytes(s))).toEqual(digestOf(item.bytes));
    expect(sockets).toEqual([]);
    grant(true);
    expect(digestOf(await bytes(s))).toEqual(digestOf(item.bytes));
    expect(sockets.length).toBe(1);
  });

  it("`swarm.seeding = false` stops uploads at once; `true` resumes them", async () => {
    const { peer, item, hub } = await world();
    const a = await peer();
    await bytes(a);
    await until(() => hub.announced(a.peerId) === 21);
    expect(a.seeding).toBe(true);
    a.seeding = false;
    expect(a.seedingBlockers()).toEqual(["switched-off"]);
    const b = await peer();
    expect(digestOf(await bytes(b))).toEqual(digestOf(item.bytes));
    expect(b.stats().fromPeers).toBe(0);
    expect(a.stats().uploaded).toBe(0);
    a.seeding = true;
    b.close(); // b now holds the item too: leave a as the only seeder
    // An instant fake edge: the lane slack keeps the peer path measurable (as in swarm.test.ts).
    const c = await peer({ chunkDeadlineMs: 4000, peerWaitMs: 3000, scheduler: { laneSlackMs: 60_000 } });
    expect(digestOf(await bytes(c))).toEqual(digestOf(item.bytes));
    expect(c.stats().contents[`${EDGE}/c/demo/a.bin`]!.byPeer[a.peerId] ?? 0).toBeGreaterThan(0);
    expect(a.stats().uploaded).toBeGreaterThan(0);
  });
});
