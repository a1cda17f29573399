/** Types of demo/origin.mjs, for TypeScript callers (the e2e demo-page test). */
import type { Server } from "node:http";

/** A running demo origin. */
export interface DemoOrigin {
  /** Base URL with trailing slash, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  port: number;
  server: Server;
  /** Content requests per path since start (or the last `POST /__reset`). */
  hits(): Record<string, number>;
  close(): Promise<void>;
}

/** Named assets: path → seed, size and (optional) Cache-Control. */
export const ASSETS: Record<string, { seed: number; size: number; cacheControl?: string }>;
/** Resolves a request path to an asset description, or null. */
export function assetFor(path: string): { seed: number; size: number; cacheControl: string } | null;
/** Starts the demo origin. */
export function startOrigin(opts?: {
  port?: number;
  host?: string;
  /** Demo streams served under `/stream/<name>/`: name → folder (demo/stream-media.mjs). */
  streams?: Record<string, string>;
}): Promise<DemoOrigin>;
