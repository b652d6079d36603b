/**
 * Long polling: `GET /boards/:id/poll?cursor=N`, held by the server until an event arrives or
 * its hold time passes, then asked again from the new cursor. A held request cannot say "I am
 * connected", so the link counts as live once a request has stood for a second without failing
 * (refusals and unreachable servers answer at once).
 */
import { tuning } from "../tuning.js";
import { BaseTransport } from "./transport.js";

const STANDING_MS = 1000;

export class LongPollTransport extends BaseTransport {
  /** @override */
  name = "longpoll";

  /** @override */
  async run() {
    while (!this.stopped) {
      const giveUp = new AbortController();
      const standing = setTimeout(() => this.live(), STANDING_MS);
      const giveUpTimer = setTimeout(() => giveUp.abort(), tuning.longPollSlackMs);
      /** @type {Response | null} */
      let response;
      try {
        response = await this.request(`poll?cursor=${this.cursor()}`, { signal: giveUp.signal });
      } finally {
        clearTimeout(standing);
        clearTimeout(giveUpTimer);
      }
      if (!response) return;
      if (!response.ok) return this.refused(response);
      const answer = await response.json();
      if (this.stopped) return;
      this.live();
      if (answer.resync) {
        await this.on.resync();
        continue;
      }
      for (const event of answer.data) this.on.event(event);
      this.on.advance(answer.cursor);
    }
  }
}
