/**
 * Why a server ends a live connection, with the WebSocket close code for each and whether the
 * client should reconnect (and resume from its cursor) or stop. SSE streams carry the same
 * reason in a final `disconnect` event. The README's protocol reference mirrors this table.
 */

export interface CloseReason {
  name: string;
  /** WebSocket close code. */
  code: number;
  reconnect: boolean;
  message: string;
}

export const CLOSE_REASONS = {
  answered: { name: "answered", code: 1000, reconnect: true, message: "Long poll answered" },
  clientGone: { name: "client_gone", code: 1000, reconnect: false, message: "Client went away" },
  shutdown: { name: "shutdown", code: 1001, reconnect: true, message: "Server is shutting down" },
  internalError: {
    name: "internal_error",
    code: 1011,
    reconnect: true,
    message: "Internal error; reconnect and resume",
  },
  tooBig: { name: "message_too_big", code: 1009, reconnect: true, message: "Message too big" },
  unauthorized: {
    name: "unauthorized",
    code: 4001,
    reconnect: false,
    message: "Sign in first",
  },
  forbidden: {
    name: "forbidden",
    code: 4003,
    reconnect: false,
    message: "No longer a member of this board",
  },
  boardDeleted: {
    name: "board_deleted",
    code: 4004,
    reconnect: false,
    message: "The board was deleted",
  },
  slow: {
    name: "slow",
    code: 4008,
    reconnect: true,
    message: "Client is not reading fast enough; reconnect and resume",
  },
  heartbeatTimeout: {
    name: "heartbeat_timeout",
    code: 4009,
    reconnect: true,
    message: "No answer to heartbeat",
  },
  relayGap: {
    name: "resume",
    code: 4010,
    reconnect: true,
    message: "This instance missed events that were pruned; reconnect and resume",
  },
  tooManyConnections: {
    name: "too_many_connections",
    code: 4029,
    reconnect: false,
    message: "Too many connections for this user",
  },
} as const satisfies Record<string, CloseReason>;
