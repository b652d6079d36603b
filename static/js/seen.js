/**
 * How far the user has seen a board's log: sent to the server (`PUT /boards/:id/seen`) at most
 * every few seconds while the board is visible, when the tab is hidden and when the user leaves
 * the board, so "while you were away" and the unread badges follow them to other devices.
 * Events that arrive while the tab is hidden are not seen until it shows again.
 */
import { tuning } from "./tuning.js";

export class SeenMarker {
  /**
   * @param {string} boardId
   * @param {() => number} cursor the newest event on screen
   */
  constructor(boardId, cursor) {
    this.boardId = boardId;
    this.cursor = cursor;
    /** What the server has (or is being sent); -1 until `start`. */
    this.sent = -1;
    this.lastSentAt = 0;
    this.stopped = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.onVisibility = () => {
      if (document.visibilityState === "hidden") this.#send();
      else this.poke();
    };
  }

  /**
   * Begins marking, from the cursor the server had (read before, for the away summary).
   * @param {number} seenCursor
   */
  start(seenCursor) {
    if (this.stopped || this.sent !== -1) return;
    this.sent = seenCursor;
    document.addEventListener("visibilitychange", this.onVisibility);
    this.poke();
  }

  /** Something new may be on screen: send it, now or when the interval allows. */
  poke() {
    if (this.stopped || this.sent === -1 || this.timer !== undefined) return;
    if (document.visibilityState !== "visible" || this.cursor() <= this.sent) return;
    const wait = Math.max(0, this.lastSentAt + tuning.seenDebounceMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (document.visibilityState === "visible") this.#send();
    }, wait);
  }

  /** The user leaves the board: what they saw is sent at once (the request outlives the page). */
  stop() {
    if (this.stopped) return;
    if (document.visibilityState === "visible") this.#send();
    this.stopped = true;
    clearTimeout(this.timer);
    document.removeEventListener("visibilitychange", this.onVisibility);
  }

  /** Stops without sending: the board is gone, or no longer the user's to see. */
  drop() {
    this.sent = Infinity;
    this.stop();
  }

  async #send() {
    const cursor = this.cursor();
    if (this.stopped || this.sent === -1 || cursor <= this.sent) return;
    const before = this.sent;
    this.sent = cursor;
    this.lastSentAt = Date.now();
    clearTimeout(this.timer);
    this.timer = undefined;
    try {
      // Not api(): `keepalive` lets the request finish after the user has left the page.
      const response = await fetch(`/boards/${encodeURIComponent(this.boardId)}/seen`, {
        method: "PUT",
        credentials: "same-origin",
        keepalive: true,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ cursor }),
      });
      if (!response.ok) throw new Error(`status ${response.status}`);
    } catch {
      // Not stored: the next change on screen (or leaving) tries again.
      if (this.sent === cursor) this.sent = before;
    }
  }
}
