/**
 * What every transport shares: the handler contract and how an HTTP refusal ends a connection.
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
 * How a non-2xx answer to a transport request ends the connection.
 * @param {Response} response
 * @param {boolean} established
 * @returns {Promise<End>}
 */
export async function endFromResponse(response, established) {
  let code = "";
  let message = `The server answered ${response.status}`;
  try {
    const body = await response.json();
    code = body?.error?.code ?? "";
    message = body?.error?.message ?? message;
  } catch {
    // Not JSON (a proxy's page): the status alone decides.
  }
  if (response.status === 401) return { kind: "auth", established, message };
  if (response.status === 503 && code === "transport_disabled") {
    return { kind: "disabled", established, message };
  }
  if (response.status === 403 || response.status === 404) {
    return { kind: "stop", established, message };
  }
  return { kind: "retry", established, message };
}

/** Close codes / disconnect reasons after which reconnecting is pointless. */
export const FINAL_REASONS = {
  unauthorized: "auth",
  forbidden: "stop",
  board_deleted: "stop",
};
