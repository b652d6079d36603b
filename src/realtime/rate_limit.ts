/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`; each message takes
 * one. WebSocket connections use one for typing and cursor messages, whose excess is dropped
 * (they are superseded by the next one anyway).
 */
const clock = () => performance.now();

export class TokenBucket {
  #tokens: number;
  #updated: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    readonly now: () => number = clock,
  ) {
    this.#tokens = burst;
    this.#updated = now();
  }

  /** Takes a token; false when none is left (the caller drops the message). */
  take(): boolean {
    const now = this.now();
    const refill = ((now - this.#updated) / 1000) * this.ratePerSecond;
    this.#tokens = Math.min(this.burst, this.#tokens + refill);
    this.#updated = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
