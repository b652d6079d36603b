/**
 * The one typed error of the application. Routes and the socket handler throw `AppError`; the
 * store and the actions throw its `DomainError` kind, which names a code and takes its status
 * from one table; the HTTP error handler turns it into `{"error":{"code","message"}}` with its status,
 * and the WebSocket handler into an `error` message.
 */

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra top-level fields for the JSON body (e.g. the current task on a 409). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }

  toJSON(): Record<string, unknown> {
    return { error: { code: this.code, message: this.message }, ...this.extra };
  }
}

/**
 * The codes the data layer and the actions raise, with the HTTP status each answers with. The
 * store names a code, never a status; REST and WebSocket errors carry the same code.
 */
export const DOMAIN_ERRORS = {
  not_found: 404,
  forbidden: 403,
  user_not_found: 404,
  version_conflict: 409,
  already_member: 409,
  email_taken: 409,
  invalid_assignee: 400,
  invalid_list: 400,
  owner_cannot_leave: 400,
  /** An idempotency key already used by this user for a different request. */
  idempotency_key_reused: 409,
  /**
   * The mutation's idempotency key was recorded meanwhile (a retry raced the original): it wrote
   * nothing, and the caller answers with the recorded result instead.
   */
  idempotency_replay: 409,
  /** The store could not be reached, or a lock or statement timed out: retry later. */
  store_unavailable: 503,
} as const;

export type DomainCode = keyof typeof DOMAIN_ERRORS;

/** An error of the board's rules: a code from `DOMAIN_ERRORS`, so its status follows. */
export class DomainError extends AppError {
  constructor(code: DomainCode, message: string, extra?: Record<string, unknown>) {
    super(DOMAIN_ERRORS[code], code, message, extra);
  }
}

export const badRequest = (code: string, message: string) => new AppError(400, code, message);
export const unauthorized = (message = "Sign in first") =>
  new AppError(401, "unauthorized", message);
export const forbidden = (message: string) => new DomainError("forbidden", message);
export const notFound = (what: string, id: string) =>
  new DomainError("not_found", `${what} "${id}" does not exist`);
