/**
 * Short polling, the last resort: `GET /boards/:id/updates?since=N` every `shortPollMs`, each
 * answering at once with the events after the cursor.
 */
import { tuning } from "../tuning.js";
import { BaseTransport } from "./transport.js";

export class ShortPollTransport extends BaseTransport {
  /** @override */
  name = "poll";
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  timer = undefined;

  /** @override */
  release() {
    clearTimeout(this.timer);
  }

  /** @override */
  async run() {
    const response = await this.request(`updates?since=${this.cursor()}`);
    if (!response) return;
    if (!response.ok) return this.refused(response);
    const answer = await response.json();
    if (this.stopped) return;
    this.live();
    if (answer.resync) await this.on.resync();
    else {
      for (const event of answer.data ?? []) this.on.event(event);
      this.on.advance(answer.cursor);
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => this.start(), tuning.shortPollMs);
    }
  }
}
