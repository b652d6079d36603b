/**
 * Server-Sent Events over `fetch` rather than `EventSource`: the same wire format, but the
 * client sees the HTTP status (401 must stop retrying, 503 means "switched off here") and
 * decides itself when and from which cursor to reconnect, instead of EventSource's silent
 * auto-reconnect.
 */
import { tuning } from "../tuning.js";
import { endFromResponse, FINAL_REASONS } from "./transport.js";

/** @typedef {import("./transport.js").Transport} Transport */

/** @implements {Transport} */
export class SseTransport {
  name = "sse";

  /**
   * @param {string} boardId
   * @param {import("./transport.js").TransportHandlers} on
   * @param {() => number} cursor
   */
  constructor(boardId, on, cursor) {
    this.boardId = boardId;
    this.on = on;
    this.cursor = cursor;
    this.abort = new AbortController();
    this.stopped = false;
    this.established = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.watchdog = undefined;
  }

  start() {
    this.#run().catch((error) => this.#end({ kind: "retry", message: String(error) }));
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.watchdog);
    this.abort.abort();
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

  #feedWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => this.#end({ kind: "retry", message: "The event stream went silent" }),
      tuning.watchdogMs,
    );
  }

  async #run() {
    const url = `/boards/${encodeURIComponent(this.boardId)}/events?lastEventId=${this.cursor()}`;
    /** @type {Response} */
    let response;
    try {
      response = await fetch(url, {
        signal: this.abort.signal,
        cache: "no-store",
        headers: { accept: "text/event-stream" },
      });
    } catch (error) {
      return this.#end({ kind: "retry", message: String(error) });
    }
    if (!response.ok || !response.body) {
      return this.#end(await endFromResponse(response, false));
    }
    this.#feedWatchdog();
    /** @type {{reason: string, reconnect: boolean} | null} */
    let disconnect = null;
    let buffer = "";
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      while (!this.stopped) {
        const { value, done } = await reader.read();
        if (done) break;
        this.#feedWatchdog();
        buffer += value.replaceAll("\r\n", "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const frame = parseFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (frame.data === undefined) continue;
          const data = JSON.parse(frame.data);
          if (frame.event === "disconnect") disconnect = data;
          else if (frame.event === "resync") await this.on.resync();
          else if (frame.event === undefined && data.type === "connected") {
            this.established = true;
            this.on.open();
          } else if (frame.event) this.on.event(data);
        }
      }
    } catch (error) {
      return this.#end({ kind: "retry", message: String(error) });
    }
    const final = disconnect && !disconnect.reconnect
      ? /** @type {Record<string, any>} */ (FINAL_REASONS)[disconnect.reason] ?? "stop"
      : "retry";
    this.#end({ kind: final, message: disconnect?.reason ?? "The event stream ended" });
  }
}

/**
 * @param {string} block
 * @returns {{event?: string, data?: string}}
 */
function parseFrame(block) {
  /** @type {{event?: string, data?: string}} */
  const frame = {};
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") frame.event = value;
    else if (field === "data") {
      frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
    }
  }
  return frame;
}
