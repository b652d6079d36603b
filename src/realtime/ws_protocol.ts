/**
 * The WebSocket protocol: JSON text frames with a `type` on every message. This module owns the
 * client → server message schemas, the one `parseClientMessage` that turns a frame into a typed
 * message or a precise error, and the server → client message shapes with their encoder. Task
 * mutation fields are not checked here: they go to `Actions`, which validates them exactly as
 * for REST (one implementation, two doors).
 */
import { z } from "zod";
import { AppError, type ErrorCode } from "../errors.ts";
import { parseInput } from "../schemas.ts";
import type { PresenceUser } from "./presence.ts";

const boardId = z.string().min(1, "must not be empty").max(100, "must be at most 100 characters");
const id = z.string().min(1, "must not be empty").max(100, "must be at most 100 characters");
const coordinate = z.number().min(-1_000_000).max(1_000_000);
/** A client's label for a mutation, echoed in its `ack` or `error`. */
const requestId = z.union([id, z.number().int()], "must be a string or a whole number");
/** The client's name for a mutation, so that sending it again does not do it twice. */
const idempotencyKey = z.string().regex(
  /^[\w.:-]{1,200}$/,
  "must be 1 to 200 letters, digits or _-.: characters",
).optional();

const CLIENT_SCHEMAS = {
  join: z.strictObject({
    type: z.literal("join"),
    boardId,
    cursor: z.number().int("must be a whole number").min(0, "must be 0 or more").nullable()
      .optional(),
  }),
  leave: z.strictObject({ type: z.literal("leave"), boardId }),
  typing: z.strictObject({ type: z.literal("typing"), boardId, taskId: id.nullable().optional() }),
  stop_typing: z.strictObject({
    type: z.literal("stop_typing"),
    boardId,
    taskId: id.nullable().optional(),
  }),
  cursor: z.strictObject({ type: z.literal("cursor"), boardId, x: coordinate, y: coordinate }),
  ping: z.strictObject({ type: z.literal("ping") }),
  // Mutations: only the envelope is checked here; the other fields are the REST body.
  create_task: z.looseObject({ type: z.literal("create_task"), requestId, idempotencyKey }),
  update_task: z.looseObject({
    type: z.literal("update_task"),
    requestId,
    idempotencyKey,
    taskId: id,
  }),
  move_task: z.looseObject({ type: z.literal("move_task"), requestId, idempotencyKey, taskId: id }),
  delete_task: z.strictObject({
    type: z.literal("delete_task"),
    requestId,
    idempotencyKey,
    taskId: id,
  }),
  restore_task: z.strictObject({
    type: z.literal("restore_task"),
    requestId,
    idempotencyKey,
    taskId: id,
  }),
  restore_list: z.strictObject({
    type: z.literal("restore_list"),
    requestId,
    idempotencyKey,
    listId: id,
  }),
  archive_task: z.strictObject({
    type: z.literal("archive_task"),
    requestId,
    idempotencyKey,
    taskId: id,
  }),
  unarchive_task: z.strictObject({
    type: z.literal("unarchive_task"),
    requestId,
    idempotencyKey,
    taskId: id,
  }),
  archive_list: z.strictObject({
    type: z.literal("archive_list"),
    requestId,
    idempotencyKey,
    listId: id,
  }),
  unarchive_list: z.strictObject({
    type: z.literal("unarchive_list"),
    requestId,
    idempotencyKey,
    listId: id,
  }),
  record_conflict: z.looseObject({
    type: z.literal("record_conflict"),
    requestId,
    idempotencyKey,
    taskId: id,
  }),
  resolve_conflict: z.strictObject({
    type: z.literal("resolve_conflict"),
    requestId,
    idempotencyKey,
    conflictId: id,
  }),
  revert: z.strictObject({
    type: z.literal("revert"),
    requestId,
    idempotencyKey,
    boardId,
    seq: z.number().int("must be a whole number").min(1, "must be 1 or more").max(
      Number.MAX_SAFE_INTEGER,
    ),
  }),
};

export type ClientMessageType = keyof typeof CLIENT_SCHEMAS;
export type ClientMessage = { [K in ClientMessageType]: z.infer<typeof CLIENT_SCHEMAS[K]> }[
  ClientMessageType
];
export type MutationMessage = Extract<ClientMessage, { requestId: unknown }>;
export type MutationType = MutationMessage["type"];
export type RequestId = string | number;

export const CLIENT_MESSAGE_TYPES = Object.keys(CLIENT_SCHEMAS) as ClientMessageType[];

/** Why a frame was refused; becomes an `error` message (with `requestId` when one was readable). */
export class ProtocolError extends AppError {
  constructor(code: ErrorCode, message: string, readonly requestId?: RequestId) {
    super(code, message);
  }
}

/** Parses one text frame. Throws `ProtocolError` naming what is wrong. */
export function parseClientMessage(text: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError("invalid_json", `Invalid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("invalid_message", 'A message must be a JSON object with a "type"');
  }
  // Zod's loose schemas drop an own "__proto__" key from what they return, so the strict check
  // of the mutation's fields would never see it; REST refuses it as an unknown field, and so here.
  if (Object.hasOwn(value, "__proto__")) {
    throw new ProtocolError("validation_failed", 'Unknown field "__proto__"');
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string") {
    throw new ProtocolError("invalid_message", 'A message needs a "type" string');
  }
  if (!Object.hasOwn(CLIENT_SCHEMAS, type)) {
    throw new ProtocolError(
      "unknown_type",
      `Unknown message type "${type.slice(0, 50)}"; expected one of ${
        CLIENT_MESSAGE_TYPES.join(", ")
      }`,
    );
  }
  const schema = CLIENT_SCHEMAS[type as ClientMessageType];
  const readable = requestId.safeParse((value as { requestId?: unknown }).requestId);
  try {
    return parseInput(schema as z.ZodType<ClientMessage>, value);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    throw new ProtocolError(
      error.code,
      error.message,
      readable.success ? readable.data : undefined,
    );
  }
}

/** The fields of a mutation message that form its REST body (everything but the envelope). */
export function mutationInput(message: MutationMessage): Record<string, unknown> {
  const {
    type: _type,
    requestId: _requestId,
    taskId: _taskId,
    idempotencyKey: _idempotencyKey,
    ...input
  } = message as
    & MutationMessage
    & { taskId?: string };
  return input;
}

// ---- server → client ------------------------------------------------------------------------

export type ServerMessage =
  | { type: "connected"; userId: string; name: string; connectionId: string }
  | { type: "presence"; boardId: string; users: PresenceUser[] }
  | { type: "user_joined" | "user_left"; boardId: string; userId: string; name: string }
  | {
    type: "user_typing";
    boardId: string;
    userId: string;
    name: string;
    taskId: string | null;
    typing: boolean;
  }
  | { type: "cursor_moved"; boardId: string; userId: string; name: string; x: number; y: number }
  | { type: "resync"; boardId: string; cursor: number }
  | { type: "pong" }
  | { type: "ack"; requestId: RequestId; [field: string]: unknown }
  | {
    type: "error";
    code: string;
    message: string;
    error: string;
    requestId?: RequestId;
    boardId?: string;
    [field: string]: unknown;
  };

/** A message encoded once, with its UTF-8 size (what `bufferedAmount` counts). */
export interface Frame {
  readonly text: string;
  readonly bytes: number;
}

const encoder = new TextEncoder();

/** UTF-8 length of a string without allocating for pure-ASCII text. */
export function utf8Length(text: string): number {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).length;
}

export function frameOf(text: string): Frame {
  return { text, bytes: utf8Length(text) };
}

export function encode(message: ServerMessage): Frame {
  return frameOf(JSON.stringify(message));
}

/**
 * The `error` message for a refusal. `error` repeats a short summary for clients written for the
 * reference system (`"Invalid JSON"`); `code` and `message` are the precise fields.
 */
export function errorMessage(
  code: ErrorCode,
  message: string,
  extra: { requestId?: RequestId; boardId?: string; [field: string]: unknown } = {},
): ServerMessage {
  const summary = code === "invalid_json" ? "Invalid JSON" : message;
  return { type: "error", error: summary, code, message, ...extra };
}
