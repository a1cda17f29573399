/** Shared defaults of the flow-level presets (throughput, availability, hot content). */
import type { SwarmParams } from "../swarm-engine";
import type { PopulationParams } from "../world";

const MB = 1e6;
/** Chunk size of the real protocol (wrangler.toml CHUNK_SIZE): messages are counted per chunk. */
export const CHUNK_BYTES = 256 * 1024;

/** Browsers: 80% desktop (500 MB store), 20% mobile (50 MB, no uploads on metered links). */
export const POPULATION: PopulationParams = {
  mobileShare: 0.2, desktopQuotaBytes: 500 * MB, mobileQuotaBytes: 50 * MB,
  downMedian: 50e6 / 8, downSigma: 0.8, upDownRatio: 0.2, mobileSpeedFactor: 0.5, mobileUploads: false,
  uploadSlots: 4, supernodesPerContinent: 0, supernodeUp: 200e6 / 8, supernodeSlots: 32,
};

/** A catalogue of 250 large assets (median 20 MB), sessions of 3 min 47 s, 25% of users online. */
export function catalogueParams(seed: number, browsers: number): SwarmParams {
  return {
    seed, browsers, population: POPULATION,
    workload: { kind: "catalogue", items: 250, zipfS: 0.8, sizeMedian: 20 * MB, sizeSigma: 0.7, populationFactor: 4, sessionMeanS: 227, thinkMeanS: 45 },
    shardBy: "continent", pieceBytes: 1 << 20, window: 8, perPeerInflight: 2, maxParallel: 6, maxPeers: 16, sampleSize: 32,
    wantIntervalS: 5, deadlineS: 8, edgeRate: 100e6 / 8, edgeMaxRun: 8, supernodePinTop: 0,
    horizonS: 1200, warmupS: 300, binS: 60, messageChunkBytes: CHUNK_BYTES,
  };
}
