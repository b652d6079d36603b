/**
 * Reconnection delays: exponential backoff with full jitter (a random delay between 0 and
 * min(max, base·2^attempt)), so clients that lost the server together do not return together.
 * See https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export class Backoff {
  /**
   * @param {number} baseMs
   * @param {number} maxMs
   */
  constructor(baseMs, maxMs) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.attempt = 0;
  }

  /** The next delay in ms; each call widens the window. */
  next() {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(Math.random() * ceiling);
  }

  reset() {
    this.attempt = 0;
  }
}
