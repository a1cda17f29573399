/**
 * Calling the Worker against the real fault origin (./fault-origin/server.ts): the `/fault/` route
 * is added to the Worker's env per call, pointing at the port the globalSetup opened.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { inject } from "vitest";
import worker from "../../functions/index";

/** Base URL of the real fault origin. */
export const FAULT_ORIGIN = inject("faultOrigin");

/** The Worker's env with `/fault/` routed to the fault origin, plus any overrides. */
export function faultEnv(extra: Record<string, string> = {}): Env {
  const routes = JSON.parse(env.ROUTES) as Record<string, string>;
  return { ...env, ROUTES: JSON.stringify({ ...routes, "/fault/": FAULT_ORIGIN }), ...extra } as Env;
}

/** What reading a whole response body came to: the bytes, and whether it ended cleanly. */
export interface BodyOutcome {
  bytes: Uint8Array;
  error: unknown;
}

/** Reads a body to its end or its error. */
export async function drain(body: ReadableStream<Uint8Array> | null): Promise<BodyOutcome> {
  const parts: Uint8Array[] = [];
  let error: unknown = null;
  if (body) {
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
      }
    } catch (e) {
      error = e ?? new Error("stream errored");
    }
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) bytes.set(p, (off += p.byteLength) - p.byteLength);
  return { bytes, error };
}

/** Calls the Worker, reads the body to its end or error, then waits for its waitUntil work. */
export async function callFault(path: string, init?: RequestInit, extra: Record<string, string> = {}): Promise<{ res: Response } & BodyOutcome> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://edge.test${path}`, init), faultEnv(extra), ctx);
  const out = await drain(res.body);
  await waitOnExecutionContext(ctx);
  return { res, ...out };
}

/** Calls the Worker and returns the response unread, plus a function to await its waitUntil work. */
export async function openFault(path: string, init?: RequestInit, extra: Record<string, string> = {}): Promise<{ res: Response; settled: () => Promise<void> }> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://edge.test${path}`, init), faultEnv(extra), ctx);
  return { res, settled: () => waitOnExecutionContext(ctx) };
}

/** How many times the fault origin was asked for `path` (e.g. `/reset/abc.bin`). */
export async function faultHits(path: string): Promise<number> {
  const res = await fetch(`${FAULT_ORIGIN}__hits${path}`);
  return Number(await res.text());
}
