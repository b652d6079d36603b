/**
 * Request input: the JSON body reader (415 for a non-JSON type, 413 past the size limit, 408 for
 * a body that does not arrive in time, 400 for malformed JSON) and parsers for query parameters,
 * each failing with a precise 400.
 */
import { AppError, badRequest } from "../errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads and parses a JSON body of at most `maxBytes`, which must arrive within `timeoutMs` (a
 * client sending its body a byte at a time held the request open for good: slowloris).
 */
export async function readJson(
  request: Request,
  maxBytes: number,
  timeoutMs = 10_000,
): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new AppError(
      "unsupported_media_type",
      `Send the body as application/json (got ${type ? `"${type}"` : "no Content-Type"})`,
    );
  }
  const tooLarge = () =>
    new AppError("body_too_large", `The body must be at most ${maxBytes} bytes`);
  const declared = request.headers.get("content-length");
  if (Number(declared ?? 0) > maxBytes) throw tooLarge();
  // With a Content-Length the HTTP server delivers exactly that many bytes, so the body is
  // already bounded and one arrayBuffer() is cheaper than reading it chunk by chunk. (The second
  // check is for in-process requests, whose header nothing enforces.)
  let bytes: Uint8Array;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      request.body?.cancel().catch(() => {});
      reject(new AppError("body_timeout", `The body must arrive within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    bytes = await Promise.race([
      declared !== null || !request.body
        ? request.arrayBuffer().then((buffer) => new Uint8Array(buffer))
        : readBounded(request.body, maxBytes, tooLarge),
      late,
    ]);
  } catch (error) {
    if (error instanceof AppError) throw error;
    // The client went away (or broke the framing) in the middle of its body.
    throw badRequest("incomplete_body", "The request body ended before it was complete");
  } finally {
    clearTimeout(timer);
  }
  if (bytes.byteLength > maxBytes) throw tooLarge();
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw badRequest("invalid_json", "The body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest("invalid_json", `The body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Reads a body of unknown length (chunked), failing as soon as it passes `maxBytes`. */
async function readBounded(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooLarge: () => AppError,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** A non-negative integer cursor from a query parameter or header, or null when absent. */
export function parseCursor(name: string, value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === "") return null;
  if (!/^\d{1,15}$/.test(value.trim())) {
    throw badRequest(
      "invalid_cursor",
      `Invalid ${name} "${value}": expected an event id (0 or more)`,
    );
  }
  return Number(value.trim());
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

/**
 * `since` for short polling: an event cursor, an ISO-8601 time, or absent. A time without a
 * zone is read as UTC (not the server's local time), like every time the server stores.
 */
export function parseSince(value: string | undefined): { cursor: number } | { time: Date } | null {
  if (value === undefined || value === "") return null;
  if (/^\d{1,15}$/.test(value)) return { cursor: Number(value) };
  const match = ISO_TIME.exec(value);
  const zoned = match && (match[1] === undefined || match[4] !== undefined);
  const time = match ? new Date(zoned ? value : `${value}Z`) : new Date(NaN);
  if (Number.isNaN(time.getTime())) {
    throw badRequest(
      "invalid_since",
      `Invalid since "${value}": expected an event cursor or an ISO-8601 time`,
    );
  }
  // A Date takes years PostgreSQL's timestamps refuse ("0000-01-01" was a 500 there); any time
  // before 1970 asks for every task and any after 9999 for none, so the range is clamped.
  return { time: new Date(Math.min(LATEST_SINCE, Math.max(EARLIEST_SINCE, time.getTime()))) };
}

const EARLIEST_SINCE = Date.UTC(1970, 0, 1);
const LATEST_SINCE = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A comma-separated list of board ids: 1 to `max`, each a plain id. */
export function parseBoardList(value: string | undefined, max: number): string[] {
  const ids = [...new Set((value ?? "").split(",").map((s) => s.trim()).filter(Boolean))];
  if (ids.length === 0) {
    throw badRequest("invalid_boards", "Name the boards: ?boards=board-1,board-2");
  }
  if (ids.length > max) throw badRequest("invalid_boards", `At most ${max} boards per stream`);
  for (const id of ids) {
    if (!/^[\w-]{1,100}$/.test(id)) throw badRequest("invalid_boards", `Invalid board id "${id}"`);
  }
  return ids;
}
