/**
 * Who the simulated peers are: continents (the default swarm shard), metros with coordinates,
 * ASNs, device kinds, link capacities and storage quotas — all in typed arrays (one slot per peer).
 */
import type { PeerLocation } from "../protocol/swarm-protocol";
import type { Rng } from "./prng";

/** A metro: where peers live. Coordinates are city-level, like `request.cf`. */
interface Metro { continent: number; country: string; colo: string; lat: number; lon: number }

/** Continents in shard order, with their share of visitors. */
export const CONTINENTS = ["NA", "EU", "AS", "SA", "OC", "AF"] as const;
export const CONTINENT_SHARE = [0.3, 0.28, 0.28, 0.07, 0.04, 0.03] as const;

const METROS: Metro[] = [
  { continent: 0, country: "US", colo: "IAD", lat: 38.9, lon: -77.0 }, { continent: 0, country: "US", colo: "SJC", lat: 37.3, lon: -121.9 },
  { continent: 0, country: "US", colo: "ORD", lat: 41.9, lon: -87.6 }, { continent: 0, country: "CA", colo: "YYZ", lat: 43.7, lon: -79.4 },
  { continent: 1, country: "DE", colo: "FRA", lat: 50.1, lon: 8.7 }, { continent: 1, country: "GB", colo: "LHR", lat: 51.5, lon: -0.1 },
  { continent: 1, country: "FR", colo: "CDG", lat: 48.9, lon: 2.35 }, { continent: 1, country: "PL", colo: "WAW", lat: 52.2, lon: 21.0 },
  { continent: 2, country: "JP", colo: "NRT", lat: 35.7, lon: 139.7 }, { continent: 2, country: "IN", colo: "BOM", lat: 19.1, lon: 72.9 },
  { continent: 2, country: "SG", colo: "SIN", lat: 1.35, lon: 103.8 }, { continent: 2, country: "KR", colo: "ICN", lat: 37.6, lon: 127.0 },
  { continent: 3, country: "BR", colo: "GRU", lat: -23.5, lon: -46.6 }, { continent: 3, country: "AR", colo: "EZE", lat: -34.6, lon: -58.4 },
  { continent: 4, country: "AU", colo: "SYD", lat: -33.9, lon: 151.2 }, { continent: 4, country: "NZ", colo: "AKL", lat: -36.8, lon: 174.8 },
  { continent: 5, country: "ZA", colo: "JNB", lat: -26.2, lon: 28.0 }, { continent: 5, country: "NG", colo: "LOS", lat: 6.5, lon: 3.4 },
];
const ASNS_PER_METRO = 6;

/** Device classes. */
export const DESKTOP = 0, MOBILE = 1, SUPERNODE = 2;

/** Population parameters (capacities in bytes per second; distributions log-normal). */
export interface PopulationParams {
  mobileShare: number;
  desktopQuotaBytes: number;
  mobileQuotaBytes: number;
  /** Median downlink, bytes/s, and log-normal sigma. */
  downMedian: number;
  downSigma: number;
  /** Uplink = downlink × this ratio (the throughput preset sweeps it). */
  upDownRatio: number;
  /** Mobile links are slower by this factor, and upload only if `mobileUploads`. */
  mobileSpeedFactor: number;
  mobileUploads: boolean;
  uploadSlots: number;
  supernodesPerContinent: number;
  supernodeUp: number;
  supernodeSlots: number;
}

/** The population: browsers first, then supernodes (always online). */
export interface Population {
  size: number;
  browsers: number;
  continent: Uint8Array;
  metro: Uint8Array;
  asn: Int32Array;
  kind: Uint8Array;
  down: Float64Array;
  up: Float64Array;
  slots: Int32Array;
  quota: Float64Array;
  /** Location as the coordinator sees it (built once per peer: `rankPeers` wants objects). */
  location(peer: number): PeerLocation;
  peerId(peer: number): string;
}

/**
 * Draws a population of `browsers` peers plus the supernodes.
 * @example
 * const pop = makePopulation(rng, 10_000, params); pop.continent[0]; // 0..5
 */
export function makePopulation(rng: Rng, browsers: number, p: PopulationParams): Population {
  const supers = p.supernodesPerContinent * CONTINENTS.length;
  const n = browsers + supers;
  const continent = new Uint8Array(n), metro = new Uint8Array(n), kind = new Uint8Array(n);
  const asn = new Int32Array(n), slots = new Int32Array(n);
  const down = new Float64Array(n), up = new Float64Array(n), quota = new Float64Array(n);
  const byContinent = CONTINENTS.map((_, c) => METROS.map((m, i) => (m.continent === c ? i : -1)).filter((i) => i >= 0));
  for (let i = 0; i < n; i++) {
    const sup = i >= browsers;
    const c = sup ? Math.floor((i - browsers) / p.supernodesPerContinent) : rng.pick(CONTINENT_SHARE as unknown as number[]);
    const ms = byContinent[c] as number[];
    const m = ms[rng.int(ms.length)] as number;
    continent[i] = c;
    metro[i] = m;
    asn[i] = 64_512 + m * ASNS_PER_METRO + rng.int(ASNS_PER_METRO);
    if (sup) {
      kind[i] = SUPERNODE;
      down[i] = p.supernodeUp;
      up[i] = p.supernodeUp;
      slots[i] = p.supernodeSlots;
      quota[i] = Infinity;
      continue;
    }
    const mobile = rng.next() < p.mobileShare;
    kind[i] = mobile ? MOBILE : DESKTOP;
    const d = rng.logNormal(p.downMedian, p.downSigma) * (mobile ? p.mobileSpeedFactor : 1);
    down[i] = d;
    up[i] = d * p.upDownRatio;
    slots[i] = mobile && !p.mobileUploads ? 0 : p.uploadSlots;
    quota[i] = mobile ? p.mobileQuotaBytes : p.desktopQuotaBytes;
  }
  const locs: (PeerLocation | undefined)[] = [];
  const ids: (string | undefined)[] = [];
  return {
    size: n, browsers, continent, metro, asn, kind, down, up, slots, quota,
    location(peer) {
      let l = locs[peer];
      if (!l) {
        const m = METROS[metro[peer] as number] as Metro;
        l = { asn: asn[peer] as number, colo: m.colo, country: m.country, continent: CONTINENTS[m.continent], latitude: m.lat, longitude: m.lon };
        locs[peer] = l;
      }
      return l;
    },
    peerId(peer) {
      return (ids[peer] ??= `peer-${peer.toString(36).padStart(6, "0")}`);
    },
  };
}
