/**
 * Short polling, the last resort: `GET /boards/:id/updates?since=N` every `shortPollMs`, each
 * answering at once with the events after the cursor.
 */
import { tuning } from "../tuning.js";
import { endFromResponse } from "./transport.js";

/** @typedef {import("./transport.js").Transport} Transport */

/** @implements {Transport} */
export class ShortPollTransport {
  name = "poll";

  /**
   * @param {string} boardId
   * @param {import("./transport.js").TransportHandlers} on
   * @param {() => number} cursor
   */
  constructor(boardId, on, cursor) {
    this.boardId = boardId;
    this.on = on;
    this.cursor = cursor;
    this.request = new AbortController();
    this.stopped = false;
    this.established = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
  }

  start() {
    this.#poll().catch((error) => this.#end({ kind: "retry", message: String(error) }));
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.request.abort();
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

  async #poll() {
    /** @type {Response} */
    let response;
    try {
      const url = `/boards/${encodeURIComponent(this.boardId)}/updates?since=${this.cursor()}`;
      response = await fetch(url, { signal: this.request.signal, cache: "no-store" });
    } catch (error) {
      return this.#end({ kind: "retry", message: String(error) });
    }
    if (this.stopped) return;
    if (!response.ok) return this.#end(await endFromResponse(response, this.established));
    const answer = await response.json();
    if (this.stopped) return;
    if (!this.established) {
      this.established = true;
      this.on.open();
    }
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
