/**
 * Seeding that respects the visitor: whether this page may upload to other peers right now, and
 * whether it may connect to peers at all.
 *
 * - **The visitor's switch** (`swarm.seeding = false`): persisted per site in `localStorage`, so a
 *   visitor who turned seeding off stays off on the next visit. The `seed` option is only the
 *   default for visitors who never chose.
 * - **The device's conditions**, read live before every upload: the browser asks to save data
 *   (`navigator.connection.saveData`), a cellular or metered link (`connection.type`, the draft's
 *   `connection.metered`), a slow link (`connection.effectiveType` 2g/3g: an upload would compete
 *   with the visitor's own traffic), a low battery that is not charging (Battery Status API, where
 *   it exists — Chromium only), and a hidden tab on a mobile device (the OS may freeze it; the
 *   radio and the battery are the visitor's).
 * - **Consent**: an optional hook awaited before the first peer connection. Without consent the SDK
 *   never opens a peer connection or a coordinator socket (no IP address is revealed to anyone but
 *   the edge); content still loads from the edge.
 *
 * All platform state is injected ({@link SeedingEnvironment}), so the policy is tested with fake
 * navigators; every read is defensive, because each of these APIs is missing in some engine.
 */

/** Why uploading is off right now (see {@link SeedingPolicy.blockers}). */
export type SeedingBlocker = "switched-off" | "save-data" | "metered" | "slow-link" | "low-battery" | "hidden-on-mobile" | "no-consent";

/** The parts of `navigator.connection` (Network Information API, WICG draft) the policy reads. */
export interface ConnectionLike {
  saveData?: boolean;
  /** `"cellular"`, `"wifi"`, `"ethernet"`, … (exposed on Android Chromium only). */
  type?: string;
  /** `"slow-2g" | "2g" | "3g" | "4g"` (Chromium). */
  effectiveType?: string;
  /** From an earlier draft; still set by some embedders. */
  metered?: boolean;
}

/** The parts of `BatteryManager` (Battery Status API) the policy reads. */
export interface BatteryLike {
  charging: boolean;
  /** 0 – 1. */
  level: number;
}

/** Platform state the policy reads; defaults to the page's globals. */
export interface SeedingEnvironment {
  navigator?: {
    connection?: ConnectionLike;
    getBattery?: () => Promise<BatteryLike>;
    userAgent?: string;
    userAgentData?: { mobile?: boolean };
  };
  document?: { visibilityState?: string };
  localStorage?: Pick<Storage, "getItem" | "setItem"> | null;
}

/** Options of {@link SeedingPolicy} (the `seedingPolicy` option of `createSwarm`). */
export interface SeedingPolicyOptions {
  /** Key of the persisted switch: one per site and edge (default: the edge origin). */
  site?: string;
  /** Seeding for a visitor who never chose (default true). */
  seed?: boolean;
  /**
   * Awaited before any peer connection. `false`, a rejection or a throw: no peer connections
   * (edge only). Default: no hook, consent assumed (the site's own consent banner decides whether
   * to call `createSwarm` at all).
   */
  consent?: () => boolean | Promise<boolean>;
  /** Upload on cellular / metered links anyway (default false). */
  allowMetered?: boolean;
  /** Upload on 2g/3g-class links anyway (default false). */
  allowSlowLink?: boolean;
  /** Below this battery level, when not charging, no uploads (default 0.2; 0 turns the check off). */
  lowBattery?: number;
  /** Pause uploads while the tab is hidden on a mobile device (default true). */
  pauseHiddenOnMobile?: boolean;
  /** Injected platform state (tests; default the globals). */
  env?: SeedingEnvironment;
}

/** Prefix of the `localStorage` key of the visitor's switch: `edgeswarm:seeding:<site>` → "1" | "0". */
export const SEEDING_STORAGE_PREFIX = "edgeswarm:seeding:";
/** Defaults of {@link SeedingPolicyOptions}, in one place (docs/client.md and README quote them). */
export const SEEDING_DEFAULTS = { seed: true, allowMetered: false, allowSlowLink: false, lowBattery: 0.2, pauseHiddenOnMobile: true } as const;

const SLOW_LINKS = new Set(["slow-2g", "2g", "3g"]);
const METERED_TYPES = new Set(["cellular"]);
/** Mobile user agents, when `userAgentData.mobile` is not there (Firefox, Safari). */
const MOBILE_UA = /Mobi|Android|iPhone|iPad|iPod/i;

function defaultEnv(): SeedingEnvironment {
  const g = globalThis as { navigator?: SeedingEnvironment["navigator"]; document?: SeedingEnvironment["document"]; localStorage?: Storage };
  let localStorage: Storage | null = null;
  try {
    localStorage = g.localStorage ?? null; // throws in sandboxed frames and with storage blocked
  } catch {
    localStorage = null;
  }
  return { ...(g.navigator ? { navigator: g.navigator } : {}), ...(g.document ? { document: g.document } : {}), localStorage };
}

/**
 * @example
 * const policy = new SeedingPolicy({ site: "https://cdn.example", consent: () => askVisitor() });
 * if (await policy.consented()) startPeers();
 * seeder.enabled = () => policy.canUpload();
 */
export class SeedingPolicy {
  private readonly env: SeedingEnvironment;
  private readonly key: string;
  private choice: boolean | undefined;
  private battery: BatteryLike | undefined;
  private consent: "pending" | "granted" | "denied" = "pending";
  private readonly consentAnswer: Promise<boolean>;

  constructor(private readonly o: SeedingPolicyOptions = {}) {
    this.env = o.env ?? defaultEnv();
    this.key = SEEDING_STORAGE_PREFIX + (o.site ?? "");
    this.choice = this.readChoice();
    this.watchBattery();
    this.consentAnswer = this.askConsent();
  }

  /** The visitor's switch (persisted choice, else the `seed` default). Blockers are separate. */
  get enabled(): boolean {
    return this.choice ?? this.o.seed ?? SEEDING_DEFAULTS.seed;
  }

  /** Sets and persists the visitor's switch for this site (kept in memory if storage is blocked). */
  set enabled(on: boolean) {
    this.choice = !!on;
    try {
      this.env.localStorage?.setItem(this.key, on ? "1" : "0");
    } catch {
      // Quota or privacy mode: the choice still holds for this page's lifetime.
    }
  }

  /** Whether an upload may start now: the switch, consent and no blocker. Cheap; call per request. */
  canUpload(): boolean {
    return this.blockers().length === 0;
  }

  /** Everything that keeps this page from uploading right now (empty: it may upload). */
  blockers(): SeedingBlocker[] {
    const out: SeedingBlocker[] = [];
    if (!this.enabled) out.push("switched-off");
    if (this.consent !== "granted") out.push("no-consent");
    const nav = this.env.navigator;
    const c = nav?.connection;
    if (c?.saveData) out.push("save-data");
    if (!this.o.allowMetered && (c?.metered === true || (c?.type !== undefined && METERED_TYPES.has(c.type)))) out.push("metered");
    if (!this.o.allowSlowLink && c?.effectiveType !== undefined && SLOW_LINKS.has(c.effectiveType)) out.push("slow-link");
    const low = this.o.lowBattery ?? SEEDING_DEFAULTS.lowBattery;
    if (this.battery && !this.battery.charging && this.battery.level < low) out.push("low-battery");
    if ((this.o.pauseHiddenOnMobile ?? SEEDING_DEFAULTS.pauseHiddenOnMobile) && this.env.document?.visibilityState === "hidden" && this.isMobile()) {
      out.push("hidden-on-mobile");
    }
    return out;
  }

  /** Whether the consent hook has answered (either way). */
  get consentAnswered(): boolean {
    return this.consent !== "pending";
  }

  /**
   * Resolves with the consent hook's answer (true without a hook). Awaited before any peer
   * connection or coordinator socket. Asked once per instance; never rejects.
   */
  consented(): Promise<boolean> {
    return this.consentAnswer;
  }

  private async askConsent(): Promise<boolean> {
    let ok = true;
    if (this.o.consent) {
      try {
        ok = (await this.o.consent()) === true; // only a real `true` is consent
      } catch {
        ok = false;
      }
    }
    this.consent = ok ? "granted" : "denied";
    return ok;
  }

  private readChoice(): boolean | undefined {
    try {
      const v = this.env.localStorage?.getItem(this.key);
      return v === "1" ? true : v === "0" ? false : undefined;
    } catch {
      return undefined;
    }
  }

  private isMobile(): boolean {
    const nav = this.env.navigator;
    if (typeof nav?.userAgentData?.mobile === "boolean") return nav.userAgentData.mobile;
    return MOBILE_UA.test(nav?.userAgent ?? "");
  }

  /** Keeps the BatteryManager (its fields are live); `getBattery` is async, and absent in Firefox and Safari. */
  private watchBattery(): void {
    const get = this.env.navigator?.getBattery;
    if (typeof get !== "function") return;
    let p: Promise<BatteryLike>;
    try {
      p = get.call(this.env.navigator);
    } catch {
      return; // e.g. blocked by Permissions-Policy: battery
    }
    void Promise.resolve(p).then(
      (b) => {
        this.battery = b;
      },
      () => undefined,
    );
  }
}
