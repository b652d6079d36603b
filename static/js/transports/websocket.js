/**
 * The WebSocket transport (protocol: README, "WebSocket protocol"): joins the board's room with
 * the cursor, so the server replays what was missed, then receives board events (they carry a
 * numeric `id`), presence, typing and cursor messages. The only transport that can send:
 * typing, stop_typing and cursor positions. Pings keep proxies from idling the socket out.
 */
import { closeReasonOf, finalAction } from "../protocol.js";
import { tuning } from "../tuning.js";
import { BaseTransport } from "./transport.js";
const EPHEMERAL = new Set([
  "presence",
  "user_joined",
  "user_left",
  "user_typing",
  "cursor_moved",
]);

export class WebSocketTransport extends BaseTransport {
  /** @override */
  name = "websocket";
  /** @type {WebSocket | null} */
  socket = null;
  lastHeard = Date.now();
  /** @type {ReturnType<typeof setInterval> | undefined} */
  pinger = undefined;

  /** @override */
  start() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = this.socket = new WebSocket(`${scheme}//${location.host}/ws`);
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "join", boardId: this.boardId, cursor: this.cursor() }));
      this.pinger = setInterval(() => this.#ping(), tuning.wsPingMs);
    };
    socket.onmessage = (message) => {
      this.lastHeard = Date.now();
      let data;
      try {
        data = JSON.parse(String(message.data));
      } catch {
        return;
      }
      this.#receive(data);
    };
    socket.onclose = (close) => {
      const reason = closeReasonOf(close.code);
      const final = reason ? finalAction(reason.name) : null;
      this.end({
        kind: final ?? "retry",
        message: close.reason || `The socket closed (${close.code})`,
      });
    };
  }

  /** @override */
  release() {
    clearInterval(this.pinger);
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) this.socket.close(1000, "leaving");
  }

  /**
   * @override
   * @param {object} message
   */
  send(message) {
    if (this.stopped || !this.established || this.socket?.readyState !== WebSocket.OPEN) {
      return false;
    }
    this.socket.send(JSON.stringify(message));
    return true;
  }

  #ping() {
    if (Date.now() - this.lastHeard > tuning.watchdogMs) {
      this.end({ kind: "retry", message: "The socket went silent" });
      return;
    }
    this.socket?.send(JSON.stringify({ type: "ping" }));
  }

  /** @param {any} data */
  #receive(data) {
    if (this.stopped || typeof data?.type !== "string") return;
    if (data.boardId !== undefined && data.boardId !== this.boardId) return;
    if (data.type === "presence") this.live();
    if (EPHEMERAL.has(data.type)) this.on.message(data);
    else if (data.type === "resync") this.on.resync();
    else if (data.type === "error") {
      if (!this.established && ["not_found", "forbidden"].includes(data.code)) {
        this.end({ kind: "stop", message: data.message });
      } else if (data.code === "unauthorized") this.end({ kind: "auth", message: data.message });
      else this.on.message(data);
    } else if (typeof data.id === "number") this.on.event(data);
  }
}
