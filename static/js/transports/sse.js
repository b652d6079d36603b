/**
 * Server-Sent Events over `fetch` rather than `EventSource`: the same wire format, but the
 * client sees the HTTP status (401 must stop retrying, 503 means "switched off here") and
 * decides itself when and from which cursor to reconnect, instead of EventSource's silent
 * auto-reconnect.
 */
import { finalAction } from "../protocol.js";
import { tuning } from "../tuning.js";
import { BaseTransport } from "./transport.js";

export class SseTransport extends BaseTransport {
  /** @override */
  name = "sse";
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  watchdog = undefined;

  /** @override */
  release() {
    clearTimeout(this.watchdog);
  }

  #feedWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => this.end({ kind: "retry", message: "The event stream went silent" }),
      tuning.watchdogMs,
    );
  }

  /** @override */
  async run() {
    const response = await this.request(`events?lastEventId=${this.cursor()}`, {
      headers: { accept: "text/event-stream" },
    });
    if (!response) return;
    if (!response.ok || !response.body) return this.refused(response);
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
          else if (frame.event === undefined && data.type === "connected") this.live();
          else if (frame.event) this.on.event(data);
        }
      }
    } catch (error) {
      return this.end({ kind: "retry", message: String(error) });
    }
    const final = disconnect && !disconnect.reconnect
      ? finalAction(disconnect.reason) ?? "stop"
      : "retry";
    this.end({ kind: final, message: disconnect?.reason ?? "The event stream ended" });
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
