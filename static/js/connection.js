/**
 * The live link to one board: the fallback chain WebSocket → SSE → long polling → short
 * polling over the transports the server has switched on (GET /healthz). A transport that
 * cannot be established while the server is reachable is replaced by the next one at once;
 * a link that drops, or a server that is unreachable, is retried with exponential backoff and
 * full jitter. While on a fallback, the better transports are probed now and then and take
 * over as soon as one opens. Every transport starts from the board's cursor, so a switch
 * neither loses nor repeats events. The status (for the badge) is published on every change.
 */
import { health } from "./api.js";
import { Backoff } from "./backoff.js";
import { LongPollTransport } from "./transports/long_poll.js";
import { ShortPollTransport } from "./transports/short_poll.js";
import { SseTransport } from "./transports/sse.js";
import { WebSocketTransport } from "./transports/websocket.js";
import { tuning } from "./tuning.js";

/**
 * @typedef {import("./transports/transport.js").Transport} Transport
 * @typedef {import("./transports/transport.js").TransportHandlers} TransportHandlers
 * @typedef {import("./transports/transport.js").End} End
 * @typedef {"connecting" | "live" | "reconnecting" | "offline" | "stopped"} State
 * @typedef {{state: State, transport: string | null, note: string, retryInMs?: number}} Status
 */

export const ORDER = ["websocket", "sse", "longpoll", "poll"];
export const LABELS = /** @type {Record<string, string>} */ ({
  websocket: "WebSocket",
  sse: "SSE",
  longpoll: "Long polling",
  poll: "Short polling",
});
const CLASSES = /** @type {Record<string, any>} */ ({
  websocket: WebSocketTransport,
  sse: SseTransport,
  longpoll: LongPollTransport,
  poll: ShortPollTransport,
});

export class Connection {
  /**
   * @param {string} boardId
   * @param {Omit<TransportHandlers, "open" | "end"> & {
   *   status(status: Status): void, open(): void, auth(): void, stopped(message: string): void,
   * }} on
   * @param {() => number} cursor
   */
  constructor(boardId, on, cursor) {
    this.boardId = boardId;
    this.on = on;
    this.cursor = cursor;
    /** @type {string[]} enabled transports, best first */
    this.chain = [...ORDER];
    /** @type {string[]} transports the server has switched off */
    this.off = [];
    /** @type {string[]} transports that failed to open here (blocked on the way?) */
    this.failed = [];
    this.index = 0;
    /** @type {Transport | null} */
    this.current = null;
    /** @type {Transport | null} */
    this.probe = null;
    this.backoff = new Backoff(tuning.backoffBaseMs, tuning.backoffMaxMs);
    this.probeDelay = tuning.probeMs;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.probeTimer = undefined;
    this.stopped = false;
    /** @type {Status} */
    this.status = { state: "connecting", transport: null, note: "" };
    this.onOffline = () => this.#goOffline();
    this.onOnline = () => {
      if (this.status.state === "offline") this.#restart();
    };
    addEventListener("offline", this.onOffline);
    addEventListener("online", this.onOnline);
  }

  async start() {
    if (!navigator.onLine) return this.#goOffline();
    await this.#refreshChain();
    if (!this.stopped) this.#connect(0, false);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.probeTimer);
    this.current?.stop();
    this.probe?.stop();
    removeEventListener("offline", this.onOffline);
    removeEventListener("online", this.onOnline);
  }

  /**
   * Sends an ephemeral message (typing, cursor) when the live transport can.
   * @param {object} message
   */
  send(message) {
    return this.current?.send(message) ?? false;
  }

  /** Whether the live transport carries presence (only the WebSocket does). */
  get hasPresence() {
    return this.status.state === "live" && this.current?.name === "websocket";
  }

  /** @param {Partial<Status>} status */
  #publish(status) {
    this.status = { ...this.status, retryInMs: undefined, ...status };
    this.on.status(this.status);
  }

  /** Learns which transports the server allows; false when it is unreachable. */
  async #refreshChain() {
    try {
      const { transports } = await health();
      const enabled = ORDER.filter((t) => transports.includes(t));
      if (enabled.length > 0) {
        this.off = ORDER.filter((t) => !enabled.includes(t));
        this.chain = enabled;
      }
      return true;
    } catch {
      return false;
    }
  }

  #note() {
    const best = this.chain[0];
    const parts = [];
    if (this.off.length > 0) {
      parts.push(`${this.off.map((t) => LABELS[t]).join(", ")} switched off on this server`);
    }
    const failed = this.failed.filter((t) =>
      ORDER.indexOf(t) < ORDER.indexOf(this.current?.name ?? "")
    );
    if (failed.length > 0 && this.current?.name !== best) {
      // The main line of the badge names the transport in use; this says why it is not better.
      parts.push(`${failed.map((t) => LABELS[t]).join(", ")} unavailable from here`);
    }
    return parts.join(". ");
  }

  /**
   * @param {string} name
   * @param {Partial<TransportHandlers>} overrides
   * @returns {Transport}
   */
  #create(name, overrides) {
    /** @type {TransportHandlers} */
    const handlers = {
      open: () => {},
      end: () => {},
      event: (e) => this.on.event(e),
      advance: (c) => this.on.advance(c),
      resync: () => this.on.resync(),
      message: (m) => this.on.message(m),
      ...overrides,
    };
    return new CLASSES[name](this.boardId, handlers, this.cursor);
  }

  /**
   * @param {number} index
   * @param {boolean} again
   */
  #connect(index, again) {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.index = Math.min(index, this.chain.length - 1);
    const name = this.chain[this.index];
    /** @type {Transport} */
    const transport = this.#create(name, {
      open: () => this.#opened(transport),
      end: (end) => this.#ended(transport, end),
    });
    this.current?.stop();
    this.current = transport;
    this.#publish({ state: again ? "reconnecting" : "connecting", transport: name });
    transport.start();
  }

  /** @param {Transport} transport */
  #opened(transport) {
    if (transport !== this.current) return;
    this.backoff.reset();
    this.failed = this.failed.filter((t) => t !== transport.name);
    this.#publish({ state: "live", transport: transport.name, note: this.#note() });
    this.on.open();
    clearTimeout(this.probeTimer);
    if (this.index > 0) {
      this.probeTimer = setTimeout(() => this.#probeBetter(0), this.probeDelay);
    } else this.probeDelay = tuning.probeMs;
  }

  /**
   * @param {Transport} transport
   * @param {End} end
   */
  async #ended(transport, end) {
    if (transport !== this.current || this.stopped) return;
    this.current = null;
    clearTimeout(this.probeTimer);
    this.probe?.stop();
    if (end.kind === "auth") {
      this.#publish({ state: "stopped", transport: null, note: "Signed out" });
      this.stop();
      return this.on.auth();
    }
    if (end.kind === "stop") {
      this.#publish({ state: "stopped", transport: null, note: end.message ?? "" });
      this.stop();
      return this.on.stopped(end.message ?? "The board is no longer available");
    }
    if (!navigator.onLine) return this.#goOffline();
    this.#publish({ state: "reconnecting", transport: transport.name });
    const reachable = await this.#refreshChain();
    if (this.stopped || this.status.state === "offline") return;
    const position = this.chain.indexOf(transport.name);
    if (reachable && end.kind !== "retry" || (reachable && !end.established)) {
      // The server answers but this transport does not work here: take the next one now.
      if (!this.failed.includes(transport.name) && end.kind !== "disabled") {
        this.failed.push(transport.name);
      }
      const next = position === -1 ? this.index : position + 1;
      if (next < this.chain.length) return this.#connect(next, true);
    }
    // Dropped after working, or the server is unreachable: the same transport, after a while.
    const delay = this.backoff.next();
    this.#publish({ state: "reconnecting", transport: transport.name, retryInMs: delay });
    this.retryTimer = setTimeout(
      () => this.#connect(position === -1 ? this.index : position, true),
      delay,
    );
  }

  /**
   * Tries the transports better than the current one, best first; the first that opens
   * takes over. When none does, tries again later (doubling the wait).
   * @param {number} index
   */
  #probeBetter(index) {
    if (this.stopped || !this.current || index >= this.index) {
      this.probeDelay = Math.min(this.probeDelay * 2, tuning.probeMaxMs);
      if (!this.stopped && this.current && this.index > 0) {
        this.probeTimer = setTimeout(() => this.#probeBetter(0), this.probeDelay);
      }
      return;
    }
    const name = this.chain[index];
    let promoted = false;
    /** @type {Transport} */
    const probe = this.#create(name, {
      open: () => {
        if (this.probe !== probe) return;
        this.probe = null;
        promoted = true;
        const old = this.current;
        this.current = probe;
        this.index = index;
        old?.stop();
        this.#opened(probe);
      },
      end: (end) => {
        if (promoted) return this.#ended(probe, end);
        if (this.probe !== probe) return;
        this.probe = null;
        this.#probeBetter(index + 1);
      },
    });
    this.probe = probe;
    probe.start();
  }

  #goOffline() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    clearTimeout(this.probeTimer);
    this.probe?.stop();
    this.probe = null;
    this.current?.stop();
    this.current = null;
    this.#publish({ state: "offline", transport: null });
  }

  #restart() {
    this.backoff.reset();
    this.failed = [];
    this.start();
  }
}
