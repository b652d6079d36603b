/**
 * The protocol's vocabulary, in one place that the server (src/) and the browser client both
 * follow: every error code with the HTTP status it answers with, and every reason a server ends
 * a live connection with its WebSocket close code. REST errors are `{"error":{"code","message"}}`;
 * WebSocket `error` messages carry the same codes (a code that only a socket can get still names
 * the status a REST answer would have). The README's Errors and Close codes tables list exactly
 * these entries (tests/protocol_test.ts holds them to it).
 */

/** @typedef {{ status: number, when: string }} ErrorCodeInfo */

export const ERROR_CODES = /** @type {const} */ ({
  // 400: the request itself is wrong; sending it again changes nothing.
  invalid_json: { status: 400, when: "a body or frame that is not JSON (or not UTF-8)" },
  validation_failed: {
    status: 400,
    when: "a field that fails validation or an unknown field (the message names it)",
  },
  incomplete_body: { status: 400, when: "a body that ended before its Content-Length" },
  invalid_cursor: { status: 400, when: "a `cursor` / `Last-Event-ID` that is not a seq" },
  invalid_since: { status: 400, when: "a short poll's `since` that is not a seq" },
  invalid_boards: { status: 400, when: "a stream's `boards` list that is missing or too long" },
  invalid_list: { status: 400, when: "a move to a list of another board" },
  invalid_assignee: { status: 400, when: "an assignee who is not a member of the board" },
  owner_cannot_leave: { status: 400, when: "removing the board's owner" },
  invalid_idempotency_key: { status: 400, when: "an `Idempotency-Key` that is malformed" },
  bad_upgrade: { status: 400, when: "a WebSocket upgrade the runtime refused" },
  invalid_message: { status: 400, when: "a frame that is not an object with a `type`" },
  unknown_type: { status: 400, when: "a frame whose `type` is not in the protocol" },
  binary_unsupported: { status: 400, when: "a binary WebSocket frame" },
  not_joined: { status: 400, when: "typing, cursor or leave for a room not joined" },
  // 401 / 403 / 404: who you are and what you may see.
  unauthorized: {
    status: 401,
    when: "no session (normal mode), an expired or invalid token, a wrong email or password",
  },
  forbidden: {
    status: 403,
    when: "a member doing an owner's action, a non-admin on /admin; on a socket: removed " +
      "from a joined board",
  },
  signup_disabled: { status: 403, when: "sign-up is switched off" },
  email_reserved: { status: 403, when: "signing up with an `ADMIN_EMAILS` address" },
  forbidden_origin: {
    status: 403,
    when: "a change or WebSocket made with the session cookie from another origin",
  },
  account_deactivated: { status: 403, when: "signing in to a deactivated account" },
  not_found: {
    status: 404,
    when: "no such route, board, list or task, or not a member of its board",
  },
  user_not_found: { status: 404, when: "no account with that email or id" },
  // 408 / 409 / 410 / 413 / 415 / 426: the request clashes with the state or the rules of HTTP.
  body_timeout: { status: 408, when: "a body that did not arrive within `BODY_TIMEOUT_MS`" },
  version_conflict: {
    status: 409,
    when: "a stale `version` (the answer carries the current `task`)",
  },
  email_taken: { status: 409, when: "signing up with an email that has an account" },
  already_member: { status: 409, when: "adding a member twice" },
  already_joined: { status: 409, when: "joining a room the socket is already in" },
  idempotency_key_reused: {
    status: 409,
    when: "an idempotency key used before for another request",
  },
  limit_reached: {
    status: 409,
    when: "one card, list or board more than a board or user may hold (`limit`, `max` say which)",
  },
  not_revertible: {
    status: 409,
    when: "reverting an event that cannot be undone (board and member events, format 1)",
  },
  restore_conflict: {
    status: 409,
    when: "restoring a card whose list is gone (restore the list first)",
  },
  board_deleted: { status: 410, when: "on a socket: a joined board was deleted" },
  body_too_large: { status: 413, when: "a body over `MAX_BODY_BYTES`" },
  unsupported_media_type: { status: 415, when: "a body that is not `application/json`" },
  upgrade_required: { status: 426, when: "a plain GET on /ws" },
  // 429: too much at once; `Retry-After` (REST) or the message says when to try again.
  too_many_polls: { status: 429, when: "more parked long polls than `LONGPOLL_MAX_PER_USER`" },
  too_many_streams: {
    status: 429,
    when: "more open SSE streams than `SSE_MAX_STREAMS_PER_USER`",
  },
  too_many_logins: { status: 429, when: "too many wrong passwords (see Limits)" },
  too_many_signups: { status: 429, when: "too many accounts created from one address" },
  too_many_connections: { status: 429, when: "more sockets than `WS_MAX_PER_USER`" },
  too_many_rooms: { status: 429, when: "a socket joining more rooms than it may" },
  too_many_requests: { status: 429, when: "too many socket mutations in flight" },
  rate_limited: { status: 429, when: "typing and cursor messages over the rate (dropped)" },
  // 5xx: the server's side; retry later.
  internal: { status: 500, when: "a bug (logged with its stack)" },
  transport_disabled: { status: 503, when: "a transport switched off by `TRANSPORTS`" },
  store_unavailable: {
    status: 503,
    when: "the database cannot be reached or written, or a lock or statement timed out",
  },
});

/** @typedef {keyof typeof ERROR_CODES} ErrorCode */

/**
 * Why a server ends a live connection: the WebSocket close code, whether the client should
 * reconnect (and resume from its cursor) or stop, and the text it is told. SSE streams carry the
 * same `name` in a final `disconnect` event.
 * @typedef {{ name: string, code: number, reconnect: boolean, message: string }} CloseReason
 */

export const CLOSE_REASONS = /** @type {const} */ ({
  answered: { name: "answered", code: 1000, reconnect: true, message: "Long poll answered" },
  clientGone: { name: "client_gone", code: 1000, reconnect: false, message: "Client went away" },
  shutdown: { name: "shutdown", code: 1001, reconnect: true, message: "Server is shutting down" },
  tooBig: { name: "message_too_big", code: 1009, reconnect: true, message: "Message too big" },
  internalError: {
    name: "internal_error",
    code: 1011,
    reconnect: true,
    message: "Internal error; reconnect and resume",
  },
  unauthorized: { name: "unauthorized", code: 4001, reconnect: false, message: "Sign in first" },
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
});

/**
 * The close reason a WebSocket close code stands for, if it is one of the table's.
 * @param {number} code
 * @returns {CloseReason | undefined}
 */
export function closeReasonOf(code) {
  return Object.values(CLOSE_REASONS).find((reason) => reason.code === code && code !== 1000);
}

/**
 * What a client does after a connection ended for a reason it may not retry: sign in again
 * ("auth") or stop following the board ("stop"). Every other reason means reconnect and resume.
 * @param {string} name a close reason's `name`
 * @returns {"auth" | "stop" | null}
 */
export function finalAction(name) {
  if (name === CLOSE_REASONS.unauthorized.name) return "auth";
  if (name === CLOSE_REASONS.forbidden.name || name === CLOSE_REASONS.boardDeleted.name) {
    return "stop";
  }
  return null;
}
