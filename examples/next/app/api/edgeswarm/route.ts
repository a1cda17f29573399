import { VERSION } from "edgeswarm";

/**
 * A route handler next to the page: which SDK version the site ships and which edge it talks to
 * (the page's client component reads the same variable).
 */
export function GET(): Response {
  return Response.json({ sdk: VERSION, edge: process.env.NEXT_PUBLIC_EDGESWARM_EDGE ?? "http://127.0.0.1:8787" });
}
