/**
 * Counts a page's coordinator WebSockets (URLs under `/swarm/`): an init script that wraps
 * `window.WebSocket` before any page script runs and keeps `window.__sockets` — opened so far, open
 * now, most open at once. The stream and gallery scenarios assert ≤ 2 per tab with it.
 */

/** What `window.__sockets` holds. */
export interface SocketCount {
  opened: number;
  open: number;
  maxOpen: number;
}

/** The init script (`context.addInitScript(COUNT_SOCKETS)`). */
export const COUNT_SOCKETS = `(() => {
  const Native = window.WebSocket;
  const s = (window.__sockets = { opened: 0, open: 0, maxOpen: 0 });
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).includes("/swarm/")) return;
      s.opened++; s.open++; s.maxOpen = Math.max(s.maxOpen, s.open);
      this.addEventListener("close", () => { s.open--; });
    }
  };
})();`;
