/**
 * One shared interval for many members (heartbeats, deadline sweeps) instead of a timer per
 * connection. It runs only while it has members, so an idle server holds no timers.
 */
import { log } from "../log.ts";

export class Ticker<T> {
  #members = new Set<T>();
  #timer?: ReturnType<typeof setInterval>;

  constructor(readonly intervalMs: number, readonly tick: (member: T) => void) {}

  add(member: T): void {
    this.#members.add(member);
    this.#timer ??= setInterval(() => {
      for (const m of [...this.#members]) {
        // One failing member must not stop the tick for the others (nor, uncaught in a timer,
        // end the process).
        try {
          this.tick(m);
        } catch (error) {
          log.warn(`tick failed: ${error}`);
        }
      }
    }, this.intervalMs);
  }

  delete(member: T): void {
    this.#members.delete(member);
    if (this.#members.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
