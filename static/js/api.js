/**
 * The REST client: JSON in and out, the session cookie sent automatically. A refusal becomes an
 * `ApiError` carrying the status, the server's error code and message and the whole body (a 409
 * carries the current task); a request that never reached the server becomes a `NetworkError`.
 */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {any} body
   */
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** The request did not reach the server (offline, connection refused, aborted). */
export class NetworkError extends Error {}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {AbortSignal} [signal]
 * @param {string} [idempotencyKey] names the change, so the server does it once however often
 *   it is sent (the outbox sends one with every change, and the same one when it retries)
 * @returns {Promise<any>}
 */
export async function api(method, path, body, signal, idempotencyKey) {
  /** @type {Record<string, string>} */
  const headers = body === undefined ? {} : { "content-type": "application/json" };
  if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
  /** @type {Response} */
  let response;
  try {
    response = await fetch(path, {
      method,
      signal,
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new NetworkError(`Could not reach the server (${/** @type {Error} */ (error).message})`);
  }
  const text = await response.text().catch(() => "");
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // A proxy's HTML error page, for example: reported below with the status.
  }
  if (!response.ok) {
    const code = json?.error?.code ?? `http_${response.status}`;
    const message = json?.error?.message ?? `The server answered ${response.status}`;
    throw new ApiError(response.status, code, message, json);
  }
  return json;
}

/** The server's status: `{status, cursor, transports}`; throws NetworkError when unreachable. */
export function health() {
  return api("GET", "/healthz");
}
