/**
 * The one typed error of the application. Routes, the store and the socket handler throw
 * `AppError`; the HTTP error handler turns it into `{"error":{"code","message"}}` with its status,
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

export const badRequest = (code: string, message: string) => new AppError(400, code, message);
export const unauthorized = (message = "Sign in first") =>
  new AppError(401, "unauthorized", message);
export const forbidden = (message: string) => new AppError(403, "forbidden", message);
export const notFound = (what: string, id: string) =>
  new AppError(404, "not_found", `${what} "${id}" does not exist`);
export const conflict = (code: string, message: string, extra?: Record<string, unknown>) =>
  new AppError(409, code, message, extra);
