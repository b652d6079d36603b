/**
 * What every transport shares: the handler contract, and `BaseTransport`, the lifecycle each one
 * builds on (started, stopped once, ended once with a kind that says whether to retry).
 * A transport delivers board events in order from the cursor it was started with; the board
 * drops any it already has (by event id), so overlapping transports never duplicate anything.
 *
 * @typedef {import("../board_model.js").BoardEvent} BoardEvent
 * @typedef {"retry" | "auth" | "stop" | "disabled"} EndKind
 *   retry: try again (after backoff) or fall back; auth: signed out, never retry;
 *   stop: a permanent refusal (board gone, no longer a member); disabled: switched off on the server.
 * @typedef {{kind: EndKind, established: boolean, message?: string}} End
 * @typedef {{
 *   open(): void,
 *   event(event: BoardEvent): void,
 *   advance(cursor: number): void,
 *   resync(): Promise<void>,
 *   message(message: any): void,
 *   end(end: End): void,
 * }} TransportHandlers
 * @typedef {{
 *   name: string, start(): void, stop(): void, send(message: object): boolean,
 * }} Transport
 */

/**
 * A transport's lifecycle. Subclasses implement `run` (or override `start`), free their timers
 * and sockets in `release`, and funnel every way of failing into `end`.
 * @implements {Transport}
 */
export class BaseTransport {
  name = "";
  stopped = false;
  /** True once the server has accepted the link; reported with the end, to decide on fallback. */
  established = false;
  /** Aborted by `stop`, so no request outlives the transport. */
  #lifetime = new AbortController();

  /**
   * @param {string} boardId
   * @param {TransportHandlers} on
   * @param {() => number} cursor
   */
  constructor(boardId, on, cursor) {
    this.boardId = boardId;
    this.on = on;
    this.cursor = cursor;
  }

  start() {
    this.run().catch((error) => this.end({ kind: "retry", message: String(error) }));
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.#lifetime.abort();
    this.release();
  }

  /**
   * Only the WebSocket transport can send; the others refuse.
   * @param {object} _message
   * @returns {boolean}
   */
  send(_message) {
    return false;
  }

  /**
   * The transport's work, from the first request until it ends.
   * @protected
   * @returns {Promise<void>}
   */
  run() {
    return Promise.resolve();
  }

  /**
   * Frees what the transport holds besides its requests; called once, by `stop`.
   * @protected
   */
  release() {}

  /**
   * Stops the transport and reports why, once; later calls (and calls after `stop`) do nothing.
   * @protected
   * @param {{kind: EndKind, message?: string}} end
   */
  end(end) {
    if (this.stopped) return;
    this.stop();
    this.on.end({ ...end, established: this.established });
  }

  /**
   * Marks the link established, once, and tells the handlers.
   * @protected
   */
  live() {
    if (this.established || this.stopped) return;
    this.established = true;
    this.on.open();
  }

  /**
   * `fetch` of a path under the board, aborted by `stop` (and by `init.signal`, if given).
   * A network failure ends the transport; resolves to null then, or when it was stopped meanwhile.
   * @protected
   * @param {string} path relative to `/boards/:id/`
   * @param {RequestInit} [init]
   * @returns {Promise<Response | null>}
   */
  async request(path, init = {}) {
    const signal = init.signal
      ? AbortSignal.any([this.#lifetime.signal, init.signal])
      : this.#lifetime.signal;
    let response;
    try {
      response = await fetch(`/boards/${encodeURIComponent(this.boardId)}/${path}`, {
        ...init,
        signal,
        cache: "no-store",
      });
    } catch (error) {
      this.end({ kind: "retry", message: String(error) });
      return null;
    }
    return this.stopped ? null : response;
  }

  /**
   * Ends the transport as a non-2xx answer says.
   * @protected
   * @param {Response} response
   */
  async refused(response) {
    this.end(await endFromResponse(response));
  }
}

/**
 * How a non-2xx answer to a transport request ends the connection.
 * @param {Response} response
 * @returns {Promise<{kind: EndKind, message: string}>}
 */
async function endFromResponse(response) {
  let code = "";
  let message = `The server answered ${response.status}`;
  try {
    const body = await response.json();
    code = body?.error?.code ?? "";
    message = body?.error?.message ?? message;
  } catch {
    // Not JSON (a proxy's page): the status alone decides.
  }
  if (response.status === 401) return { kind: "auth", message };
  if (response.status === 503 && code === "transport_disabled") {
    return { kind: "disabled", message };
  }
  if (response.status === 403 || response.status === 404) return { kind: "stop", message };
  return { kind: "retry", message };
}
