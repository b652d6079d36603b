/**
 * Timing knobs of the client. Defaults suit production; tests shorten them by writing JSON to
 * localStorage["liveboard:tuning"] before the page loads.
 */
const DEFAULTS = {
  /** First reconnect window; doubles per failed attempt (full jitter). */
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  /** How long after falling back the client tries the better transport again (doubles). */
  probeMs: 30_000,
  probeMaxMs: 5 * 60_000,
  shortPollMs: 1000,
  /** No byte from SSE (heartbeats every 15 s) or WebSocket for this long: the link is dead. */
  watchdogMs: 45_000,
  wsPingMs: 20_000,
  /** Long poll: give up on a request this long after the server's hold time should have ended. */
  longPollSlackMs: 40_000,
  typingThrottleMs: 1500,
  cursorThrottleMs: 80,
  cursorIdleMs: 4000,
  typingExpiryMs: 6000,
  /** Events per page of the activity panel ("Load older" fetches the next page). */
  historyPageSize: 50,
  /** The seen cursor goes to the server at most this often while the board is visible. */
  seenDebounceMs: 5000,
  /** How long the "Card deleted · Undo" toast stays. */
  undoToastMs: 10_000,
  /** 1: leave performance marks of board display, events and renders (the browser bench). */
  performanceMarks: 0,
};

/** @type {typeof DEFAULTS} */
export const tuning = { ...DEFAULTS };
try {
  Object.assign(tuning, JSON.parse(localStorage.getItem("liveboard:tuning") ?? "{}"));
} catch {
  // Malformed overrides are ignored.
}
