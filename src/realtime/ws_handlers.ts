/**
 * What a WebSocket connection does with each client message: size check (1009), parse, then
 * join (membership check, event feed with exact-once replay, room), leave, typing and cursor
 * (rate-limited, relayed by the room), ping, and task mutations through `Actions` (the same
 * validation, authorization, transaction and event path as REST) answered by `ack` or `error`.
 */
import type { Actions } from "../actions.ts";
import type { Caller } from "../auth.ts";
import { AppError } from "../errors.ts";
import { log } from "../log.ts";
import { removedUserId } from "../store/events.ts";
import type { PublishedEvent } from "./bus.ts";
import { CLOSE_REASONS } from "./close_reasons.ts";
import { EventFeed } from "./feed.ts";
import type { Membership, WsConnection } from "./ws.ts";
import {
  mutationInput,
  type MutationMessage,
  parseClientMessage,
  ProtocolError,
  utf8Length,
} from "./ws_protocol.ts";

/** Rooms one socket may be in at once. */
export const MAX_ROOMS_PER_SOCKET = 20;
/** Mutations one socket may have in flight; more are refused with `too_many_requests`. */
export const MAX_PENDING_MUTATIONS = 32;

export function handleMessage(connection: WsConnection, data: unknown): void {
  const max = connection.ws.options.maxMessageBytes;
  if (typeof data !== "string") {
    const size = data instanceof ArrayBuffer
      ? data.byteLength
      : data instanceof Blob
      ? data.size
      : 0;
    if (size > max) return connection.close(CLOSE_REASONS.tooBig);
    return connection.sendError(
      "binary_unsupported",
      "Send JSON text frames; binary frames are not part of the protocol",
    );
  }
  // A UTF-8 character takes at most 3 bytes per UTF-16 unit, so short texts need no count.
  if (data.length * 3 > max && (data.length > max || utf8Length(data) > max)) {
    return connection.close(CLOSE_REASONS.tooBig);
  }
  let message;
  try {
    message = parseClientMessage(data);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    const extra = error.requestId === undefined ? {} : { requestId: error.requestId };
    return connection.sendError(error.code, error.message, extra);
  }
  switch (message.type) {
    case "ping":
      return connection.reply({ type: "pong" });
    case "join":
      return background(connection, join(connection, message.boardId, message.cursor ?? null));
    case "leave":
      if (!connection.memberships.has(message.boardId)) return notJoined(connection, message);
      return background(connection, connection.leaveBoard(message.boardId));
    case "typing":
    case "stop_typing": {
      if (!inRoom(connection, message)) return;
      const typing = message.type === "typing";
      // Stopping is never limited: it only shrinks state.
      if (typing && !allowEphemeral(connection)) return;
      const taskId = message.taskId ?? null;
      return connection.ws.rooms.typing(message.boardId, connection, taskId, typing);
    }
    case "cursor":
      if (!inRoom(connection, message) || !allowEphemeral(connection)) return;
      return connection.ws.rooms.cursor(message.boardId, connection, message.x, message.y);
    default:
      return background(connection, mutate(connection, message));
  }
}

/** Runs an async handler; an unexpected failure is logged and reported, never thrown. */
function background(connection: WsConnection, work: Promise<void>): void {
  work.catch((error) => {
    log.warn(`websocket ${connection.id} failed: ${error?.stack ?? error}`);
    connection.sendError("internal", "Internal server error");
  });
}

function notJoined(connection: WsConnection, message: { type: string; boardId: string }): void {
  const { type, boardId } = message;
  connection.sendError("not_joined", `Join board "${boardId}" before sending ${type}`, { boardId });
}

function inRoom(connection: WsConnection, message: { type: string; boardId: string }): boolean {
  if (connection.ws.rooms.isIn(message.boardId, connection)) return true;
  notJoined(connection, message);
  return false;
}

/** Takes a typing/cursor token; the first message dropped in a flood is reported once. */
function allowEphemeral(connection: WsConnection): boolean {
  if (connection.ephemeralBucket.take()) {
    connection.rateLimited = false;
    return true;
  }
  if (!connection.rateLimited) {
    connection.rateLimited = true;
    const rate = connection.ws.options.ephemeralRate;
    connection.sendError(
      "rate_limited",
      `Too many typing and cursor messages: at most ${rate} per second (bursts of ${
        2 * rate
      }); the excess is dropped`,
    );
  }
  return false;
}

async function join(connection: WsConnection, boardId: string, cursor: number | null) {
  if (connection.memberships.has(boardId)) {
    const message = `Already in the room of board "${boardId}"; send leave first`;
    return connection.sendError("already_joined", message, { boardId });
  }
  if (connection.memberships.size >= MAX_ROOMS_PER_SOCKET) {
    const message = `A socket may be in at most ${MAX_ROOMS_PER_SOCKET} rooms; leave one first`;
    return connection.sendError("too_many_rooms", message, { boardId });
  }
  const { ws } = connection;
  const membership: Membership = { inRoom: false };
  connection.memberships.set(boardId, membership);
  // Every await may see the socket close or the client leave: then this join just stops.
  const current = () => !connection.closed && connection.memberships.get(boardId) === membership;
  /** Removals up to this seq happened before the membership check below, which they did not stop. */
  let checkedAt = Infinity;
  const feed = membership.feed = new EventFeed(
    ws.store,
    ws.bus,
    [boardId],
    {
      deliver: (published) => onEvent(connection, boardId, published, checkedAt),
      // Losing access acts at once, even while a slow client is still catching up, so a removed
      // member hears no more of the room (presence, typing, cursors) from that moment.
      arrived: (published) => checkAccess(connection, boardId, published, checkedAt),
      resync: (now) => connection.reply({ type: "resync", boardId, cursor: now }),
      drained: () => connection.drained(),
      // Live events piling up while a slow reader catches up: drop it as slow (it resumes), so
      // server memory stays bounded.
      overflow: () => connection.close(CLOSE_REASONS.slow),
    },
    ws.options.bufferBytes,
    connection.userId,
  );
  // Subscribe first, then check membership: a removal committed after the check reaches the
  // feed, and one between the route of this join and the subscription is caught by the check.
  const now = await feed.subscribe();
  if (!current()) return feed.stop();
  try {
    await ws.actions.requireMember(connection.caller, boardId);
  } catch (error) {
    feed.stop();
    if (!(error instanceof AppError)) throw error;
    if (current()) connection.memberships.delete(boardId);
    return connection.sendError(error.code, error.message, { boardId });
  }
  checkedAt = now;
  if (!current()) return;
  membership.inRoom = true;
  await ws.rooms.join(boardId, connection);
  if (!current()) return;
  await feed.resume(cursor, now);
}

/** Delivers a board event, then applies what it means for this socket's access. */
function onEvent(
  connection: WsConnection,
  boardId: string,
  published: PublishedEvent,
  checkedAt: number,
): void {
  connection.sendEvent(published);
  connection.ws.registry.delivered.websocket++;
  checkAccess(connection, boardId, published, checkedAt);
}

/**
 * Losing access to the board (removed, deleted) leaves its room, once. A removal replayed from
 * before the join's membership check was undone since (the user is a member again), so only
 * later ones count.
 */
function checkAccess(
  connection: WsConnection,
  boardId: string,
  published: PublishedEvent,
  checkedAt: number,
): void {
  const { type, id } = published.event;
  const removed = removedUserId(published.event) === connection.userId && id > checkedAt;
  if (type !== "board_deleted" && !removed) return;
  if (!connection.memberships.has(boardId)) return; // already left
  void connection.leaveBoard(boardId);
  const reason = removed ? "forbidden" : "board_deleted";
  const message = removed
    ? `You are no longer a member of board "${boardId}"; you left its room`
    : `Board "${boardId}" was deleted; you left its room`;
  connection.sendError(reason, message, { boardId });
}

type Result = Record<string, unknown>;

function runMutation(actions: Actions, caller: Caller, message: MutationMessage): Promise<Result> {
  const input = mutationInput(message);
  const key = message.idempotencyKey;
  switch (message.type) {
    case "create_task":
      return actions.createTask(caller, input, key).then((task) => ({ task }));
    case "update_task":
      return actions.updateTask(caller, message.taskId, input, key).then((task) => ({ task }));
    case "move_task":
      return actions.moveTask(caller, message.taskId, input, key).then((task) => ({ task }));
    case "delete_task":
      return actions.deleteTask(caller, message.taskId, key);
    case "restore_task":
      return actions.restoreTask(caller, message.taskId, key).then((task) => ({ task }));
    case "restore_list":
      return actions.restoreList(caller, message.listId, key);
    case "archive_task":
      return actions.archiveTask(caller, message.taskId, key).then((task) => ({ task }));
    case "unarchive_task":
      return actions.unarchiveTask(caller, message.taskId, key).then((task) => ({ task }));
    case "archive_list":
      return actions.archiveList(caller, message.listId, key).then((list) => ({ list }));
    case "unarchive_list":
      return actions.unarchiveList(caller, message.listId, key);
    case "record_conflict":
      return actions.recordConflict(caller, message.taskId, input, key).then((conflict) => ({
        conflict,
      }));
    case "resolve_conflict":
      return actions.resolveConflict(caller, message.conflictId, key).then((conflict) => ({
        conflict,
      }));
    case "revert":
      return actions.revert(caller, message.boardId, message.seq, key);
  }
}

async function mutate(connection: WsConnection, message: MutationMessage): Promise<void> {
  const { requestId } = message;
  if (connection.pendingMutations >= MAX_PENDING_MUTATIONS) {
    const text = `At most ${MAX_PENDING_MUTATIONS} mutations may be in flight per socket`;
    return connection.sendError("too_many_requests", text, { requestId });
  }
  connection.pendingMutations++;
  try {
    const result = await runMutation(connection.ws.actions, connection.caller, message);
    connection.reply({ type: "ack", requestId, ...result });
  } catch (error) {
    if (error instanceof AppError) {
      connection.sendError(error.code, error.message, { requestId, ...error.extra });
    } else {
      log.warn(`websocket ${connection.id} ${message.type} failed: ${error}`);
      connection.sendError("internal", "Internal server error", { requestId });
    }
  } finally {
    connection.pendingMutations--;
  }
}
