/**
 * The ICE servers the manifest's join answer hands one peer: the configured list (or a public STUN
 * default), plus — when a TURN provider is configured — short-lived TURN credentials issued to that
 * peer alone, so a visitor behind a symmetric NAT or a UDP-blocking firewall still reaches others.
 *
 * Two providers:
 * - any TURN server with the standard time-limited REST credentials (draft-uberti-behave-turn-rest:
 *   username `<expiry unix s>:<peer id>`, credential base64(HMAC-SHA1(secret, username)); coturn's
 *   `use-auth-secret` + `static-auth-secret`): TURN_URLS + TURN_SECRET;
 * - Cloudflare Realtime TURN: TURN_KEY_ID + TURN_KEY_API_TOKEN; the edge asks its credential API for
 *   each join (`POST /v1/turn/keys/<id>/credentials/generate-ice-servers`).
 * The long-term secret never leaves the edge; what a peer receives expires after TURN_TTL seconds.
 */
import type { ManifestResponse } from "../protocol/manifest";
import { HttpError } from "./http-error";

/** One RTCIceServer as the manifest carries it. */
export type IceServer = ManifestResponse["iceServers"][number];

/** Used when ICE_SERVERS is not configured at all (`'[]'` turns it off): Cloudflare's public STUN. */
export const DEFAULT_ICE_SERVERS: readonly IceServer[] = [{ urls: "stun:stun.cloudflare.com:3478" }];

/** Default lifetime of issued TURN credentials, seconds. */
export const DEFAULT_TURN_TTL = 3600;

/** Cloudflare Realtime TURN's credential API. */
export const CLOUDFLARE_TURN_API = "https://rtc.live.cloudflare.com/v1/turn/keys";

/** The settings this module reads (raw strings, as edge-config.ts hands them over). */
export interface IceEnv {
  /** JSON array (or one string) of `turn:`/`turns:` URLs of a TURN server using REST credentials. */
  TURN_URLS?: string;
  /** Shared secret of that TURN server (a secret: `wrangler secret put TURN_SECRET`). */
  TURN_SECRET?: string;
  /** Cloudflare Realtime TURN key id. */
  TURN_KEY_ID?: string;
  /** Cloudflare Realtime TURN key API token (a secret). */
  TURN_KEY_API_TOKEN?: string;
  /** Credential lifetime, seconds (60 … 86400; default 3600). */
  TURN_TTL?: string;
}

/** The TURN settings' names (edge-config.ts SETTING_NAMES includes them). */
export const TURN_SETTING_NAMES = ["TURN_URLS", "TURN_SECRET", "TURN_KEY_ID", "TURN_KEY_API_TOKEN", "TURN_TTL"] as const;

/** The TURN provider the configuration names, parsed and validated once (functions/edge-config.ts). */
export type TurnConfig =
  | { provider: "rest"; urls: string[]; secret: string; ttlSeconds: number }
  | { provider: "cloudflare"; keyId: string; apiToken: string; ttlSeconds: number };

/** Issues TURN ICE servers for one peer. */
export interface TurnProvider {
  iceServers(peerId: string, ttlSeconds: number): Promise<IceServer[]>;
}

const b64 = (bytes: ArrayBuffer): string => btoa(String.fromCharCode(...new Uint8Array(bytes)));

async function hmacSha1(secret: string, message: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
  return b64(await crypto.subtle.sign("HMAC", key, enc.encode(message)));
}

/**
 * Standard time-limited TURN REST credentials for `peerId`, valid until now + ttl.
 * @example
 * const p = restTurnProvider({ urls: ["turn:turn.example.com:3478"], secret, now: Date.now });
 * await p.iceServers("pk_abc", 3600); // [{ urls, username: "1767225600:pk_abc", credential: "…" }]
 */
export function restTurnProvider(o: { urls: string[]; secret: string; now: () => number }): TurnProvider {
  return {
    async iceServers(peerId, ttl) {
      const username = `${Math.floor(o.now() / 1000) + ttl}:${peerId}`;
      return [{ urls: o.urls, username, credential: await hmacSha1(o.secret, username) }];
    },
  };
}

/**
 * What a TURN server with `use-auth-secret` checks (coturn): the credential is the HMAC of the
 * username and the expiry in it has not passed. Exported for tests and for operators' tooling.
 */
export async function verifyRestCredential(secret: string, username: string, credential: string, nowMs: number): Promise<boolean> {
  const expiry = Number(username.split(":")[0]);
  if (!Number.isSafeInteger(expiry) || expiry * 1000 <= nowMs) return false;
  return (await hmacSha1(secret, username)) === credential;
}

/**
 * Cloudflare Realtime TURN: one credential API call per join.
 * @example
 * const p = cloudflareTurnProvider({ keyId, apiToken, fetch });
 */
export function cloudflareTurnProvider(o: { keyId: string; apiToken: string; fetch: typeof fetch }): TurnProvider {
  return {
    async iceServers(_peerId, ttl) {
      const r = await o.fetch(`${CLOUDFLARE_TURN_API}/${encodeURIComponent(o.keyId)}/credentials/generate-ice-servers`, {
        method: "POST",
        headers: { authorization: `Bearer ${o.apiToken}`, "content-type": "application/json" },
        body: JSON.stringify({ ttl }),
      });
      if (!r.ok) throw new Error(`TURN credential API answered ${r.status}`);
      const body = (await r.json().catch(() => null)) as { iceServers?: unknown } | null;
      const list = Array.isArray(body?.iceServers) ? body.iceServers : body?.iceServers ? [body.iceServers] : [];
      const out: IceServer[] = [];
      for (const s of list as { urls?: unknown; username?: unknown; credential?: unknown }[]) {
        const urls = (Array.isArray(s?.urls) ? s.urls : [s?.urls])
          .filter((u): u is string => typeof u === "string")
          // Port 53 URLs time out in browsers (Cloudflare's docs advise dropping them); STUN comes
          // from ICE_SERVERS, so keep the TURN entries only.
          .filter((u) => /^turns?:/.test(u) && !/:53(\?|$)/.test(u));
        if (!urls.length || typeof s.username !== "string" || typeof s.credential !== "string") continue;
        out.push({ urls, username: s.username, credential: s.credential });
      }
      if (!out.length) throw new Error("TURN credential API gave no TURN servers");
      return out;
    },
  };
}

function parseUrls(raw: string): string[] {
  let v: unknown = raw;
  if (raw.trim().startsWith("[")) {
    try {
      v = JSON.parse(raw);
    } catch {
      throw new HttpError(500, "bad-config", "TURN_URLS is not JSON");
    }
  }
  const urls = Array.isArray(v) ? v : [v];
  if (!urls.length || !urls.every((u) => typeof u === "string" && /^turns?:/.test(u)))
    throw new HttpError(500, "bad-config", "TURN_URLS must be turn: or turns: URLs");
  return urls as string[];
}

/**
 * Parses the TURN settings: null when no provider is configured; `bad-config` for half a provider
 * (a key id without its token, URLs without the secret), bad URLs or a TTL out of range.
 * @example
 * turnConfig({ TURN_URLS: "turn:turn.example.com:3478", TURN_SECRET: "s" }); // { provider: "rest", … }
 */
export function turnConfig(env: IceEnv): TurnConfig | null {
  const ttlSeconds = turnTtl(env);
  if (env.TURN_KEY_ID || env.TURN_KEY_API_TOKEN) {
    if (!env.TURN_KEY_ID || !env.TURN_KEY_API_TOKEN) throw new HttpError(500, "bad-config", "TURN_KEY_ID and TURN_KEY_API_TOKEN go together");
    return { provider: "cloudflare", keyId: env.TURN_KEY_ID, apiToken: env.TURN_KEY_API_TOKEN, ttlSeconds };
  }
  if (env.TURN_URLS || env.TURN_SECRET) {
    if (!env.TURN_URLS || !env.TURN_SECRET) throw new HttpError(500, "bad-config", "TURN_URLS and TURN_SECRET go together");
    return { provider: "rest", urls: parseUrls(env.TURN_URLS), secret: env.TURN_SECRET, ttlSeconds };
  }
  return null;
}

/** The provider a parsed {@link TurnConfig} names. */
export function turnProvider(turn: TurnConfig, deps: { now: () => number; fetch: typeof fetch }): TurnProvider {
  return turn.provider === "cloudflare"
    ? cloudflareTurnProvider({ keyId: turn.keyId, apiToken: turn.apiToken, fetch: deps.fetch })
    : restTurnProvider({ urls: turn.urls, secret: turn.secret, now: deps.now });
}

/** TURN_TTL, seconds. */
function turnTtl(env: IceEnv): number {
  if (env.TURN_TTL === undefined || env.TURN_TTL === "") return DEFAULT_TURN_TTL;
  const n = Number(env.TURN_TTL);
  if (!/^\d+$/.test(env.TURN_TTL.trim()) || !Number.isSafeInteger(n) || n < 60 || n > 86_400) throw new HttpError(500, "bad-config", "TURN_TTL must be an integer in [60, 86400]");
  return n;
}

/**
 * The iceServers of one join answer: `cfg.iceServers` (ICE_SERVERS; the STUN default when it is
 * absent) followed by TURN credentials issued to `peerId`. A failing TURN provider costs the peer
 * its relay, not its manifest: the answer still carries STUN.
 *
 * @example
 * iceServers: await iceServersFor(c.var.config, peerId, { now: Date.now, fetch }),
 */
export async function iceServersFor(
  cfg: { iceServers: readonly IceServer[]; turn: TurnConfig | null },
  peerId: string,
  deps: { now: () => number; fetch: typeof fetch },
): Promise<IceServer[]> {
  const base = [...cfg.iceServers];
  if (!cfg.turn) return base;
  try {
    return [...base, ...(await turnProvider(cfg.turn, deps).iceServers(peerId, cfg.turn.ttlSeconds))];
  } catch {
    return base;
  }
}
