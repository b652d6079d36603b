/**
 * Long polling: `GET /boards/:id/poll?cursor=N`, held by the server until an event arrives or
 * its hold time passes, then asked again from the new cursor. A held request cannot say "I am
 * connected", so the link counts as live once a request has stood for a second without failing
 * (refusals and unreachable servers answer at once).
 */
import { tuning } from "../tuning.js";
import { endFromResponse } from "./transport.js";

const STANDING_MS = 1000;

/** @typedef {import("./transport.js").Transport} Transport */

/** @implements {Transport} */
export class LongPollTransport {
  name = "longpoll";

  /**
   * @param {string} boardId
   * @param {import("./transport.js").TransportHandlers} on
   * @param {() => number} cursor
   */
  constructor(boardId, on, cursor) {
    this.boardId = boardId;
    this.on = on;
    this.cursor = cursor;
    /** @type {AbortController | null} */
    this.request = null;
    this.stopped = false;
    this.established = false;
  }

  start() {
    this.#run().catch((error) => this.#end({ kind: "retry", message: String(error) }));
  }

  stop() {
    this.stopped = true;
    this.request?.abort();
  }

  send() {
    return false;
  }

  /** @param {{kind: import("./transport.js").EndKind, message?: string}} end */
  #end(end) {
    if (this.stopped) return;
    this.stop();
    this.on.end({ ...end, established: this.established });
  }

  #live() {
    if (this.established || this.stopped) return;
    this.established = true;
    this.on.open();
  }

  async #run() {
    while (!this.stopped) {
      const request = this.request = new AbortController();
      const standing = setTimeout(() => this.#live(), STANDING_MS);
      const giveUp = setTimeout(() => request.abort(), tuning.longPollSlackMs);
      /** @type {Response} */
      let response;
      try {
        const url = `/boards/${encodeURIComponent(this.boardId)}/poll?cursor=${this.cursor()}`;
        response = await fetch(url, { signal: request.signal, cache: "no-store" });
      } catch (error) {
        return this.#end({ kind: "retry", message: String(error) });
      } finally {
        clearTimeout(standing);
        clearTimeout(giveUp);
      }
      if (this.stopped) return;
      if (!response.ok) return this.#end(await endFromResponse(response, this.established));
      const answer = await response.json();
      if (this.stopped) return;
      this.#live();
      if (answer.resync) {
        await this.on.resync();
        continue;
      }
      for (const event of answer.data) this.on.event(event);
      this.on.advance(answer.cursor);
    }
  }
}
