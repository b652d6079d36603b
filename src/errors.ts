/**
 * The one typed error of the application. Routes and the socket handler throw `AppError`; the
 * store and the actions throw its `DomainError` kind. Either names a code of the protocol's one
 * table (static/js/protocol.js, which the client follows too) and takes its status from there;
 * the HTTP error handler turns it into `{"error":{"code","message"}}` with that status, and the
 * WebSocket handler into an `error` message with the same code.
 */
import { ERROR_CODES } from "../static/js/protocol.js";

export type ErrorCode = keyof typeof ERROR_CODES;

export class AppError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra top-level fields for the JSON body (e.g. the current task on a 409). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.status = ERROR_CODES[code].status;
  }

  toJSON(): Record<string, unknown> {
    return { error: { code: this.code, message: this.message }, ...this.extra };
  }
}

/** The codes the data layer and the actions raise (the store names a code, never a status). */
export type DomainCode =
  | "not_found"
  | "forbidden"
  | "user_not_found"
  | "version_conflict"
  | "already_member"
  | "email_taken"
  | "invalid_assignee"
  | "invalid_list"
  | "owner_cannot_leave"
  /** An idempotency key already used by this user for a different request. */
  | "idempotency_key_reused"
  /** A board or user already holds as many cards, lists or boards as the store allows. */
  | "limit_reached"
  /** A card restored into a list that is gone. */
  | "restore_conflict"
  /** An event that no inverse can undo (board and member events, format 1). */
  | "not_revertible"
  /** The store could not be reached or written, or a lock or statement timed out: retry later. */
  | "store_unavailable";

/** An error of the board's rules, raised by the store or the actions. */
export class DomainError extends AppError {
  constructor(code: DomainCode, message: string, extra?: Record<string, unknown>) {
    super(code, message, extra);
  }
}

/**
 * A mutation's idempotency key was recorded meanwhile (a retry raced the original): it wrote
 * nothing, and the caller answers with the recorded result instead. Never reaches a client.
 */
export class IdempotencyReplay extends Error {
  constructor(key: string) {
    super(`Key "${key}" was used meanwhile`);
  }
}

export const badRequest = (code: ErrorCode, message: string) => new AppError(code, message);
export const unauthorized = (message = "Sign in first") => new AppError("unauthorized", message);
export const forbidden = (message: string) => new DomainError("forbidden", message);
export const notFound = (what: string, id: string) =>
  new DomainError("not_found", `${what} "${id}" does not exist`);
