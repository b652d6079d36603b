/**
 * Test helpers: a real server on 127.0.0.1:0 on a fresh database (`startTestServer`) — a SQLite
 * file, or a PostgreSQL schema when `LIVEBOARD_TEST_STORE=postgres` (CI's second pass) — a fetch
 * wrapper with JSON and sessions, an SSE reader that parses frames, `waitFor` with a deadline,
 * read-only SQL on either store, and skip rules for tests that need Chromium or a service.
 */
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import postgres from "postgres";
import { type Config, configWith, storeKind } from "../src/config.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import type { BoardEvent } from "../src/store/events.ts";

/** In CI (`LIVEBOARD_REQUIRE_ALL=1`) nothing may be skipped: a missing tool fails the test. */
export const REQUIRE_ALL = Deno.env.get("LIVEBOARD_REQUIRE_ALL") === "1";

/** `ignore` value for a test that needs `what`: skips with a one-line reason unless in CI. */
export function skipUnless(available: boolean, what: string): boolean {
  if (available || REQUIRE_ALL) return false;
  console.log(`skipped: ${what} is not available on this machine`);
  return true;
}

/** The store every test server uses: `LIVEBOARD_TEST_STORE=postgres` runs the suite on PostgreSQL. */
export const TEST_STORE: "sqlite" | "postgres" = Deno.env.get("LIVEBOARD_TEST_STORE") === "postgres"
  ? "postgres"
  : "sqlite";

/** The PostgreSQL server tests use (a schema each). */
export const TEST_POSTGRES_URL = Deno.env.get("LIVEBOARD_TEST_POSTGRES_URL") ??
  "postgres://postgres@127.0.0.1:5432/test";

/** Whether PostgreSQL answers at TEST_POSTGRES_URL. */
export const postgresAvailable: boolean = await (async () => {
  const sql = postgres(TEST_POSTGRES_URL, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
})();

/** The Redis server tests use (a key prefix each; never restarted by a test). */
export const TEST_REDIS_URL = Deno.env.get("LIVEBOARD_TEST_REDIS_URL") ?? "redis://127.0.0.1:6379";

/** Whether Redis answers at TEST_REDIS_URL (a bare PING over TCP). */
export const redisAvailable: boolean = await (async () => {
  const url = new URL(TEST_REDIS_URL);
  try {
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port || 6379) });
    try {
      await conn.write(new TextEncoder().encode("PING\r\n"));
      const buffer = new Uint8Array(16);
      const n = await conn.read(buffer);
      return new TextDecoder().decode(buffer.subarray(0, n ?? 0)).startsWith("+PONG");
    } finally {
      conn.close();
    }
  } catch {
    return false;
  }
})();

/** A Redis key and channel prefix of its own for one test. */
export const testRedisPrefix = () => `lbt:${crypto.randomUUID().slice(0, 8)}:`;

/** A fresh, empty database for one test, and how to remove it afterwards. */
export interface TestDatabase {
  databaseUrl: string;
  databaseSchema: string;
  drop(): Promise<void>;
}

/** A temp SQLite file, or a new PostgreSQL schema (dropped by `drop`). */
export async function testDatabase(kind = TEST_STORE): Promise<TestDatabase> {
  if (kind === "postgres") {
    const schema = `lbt_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
    return {
      databaseUrl: TEST_POSTGRES_URL,
      databaseSchema: schema,
      drop: async () => {
        await withPostgres((sql) => sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
      },
    };
  }
  const dir = await Deno.makeTempDir({ prefix: "liveboard-test-" });
  return {
    databaseUrl: `${dir}/test.db`,
    databaseSchema: "public",
    drop: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}

/** Runs `fn` with a short-lived PostgreSQL client (optionally in `schema`). */
export async function withPostgres<T>(
  fn: (sql: postgres.Sql) => Promise<T>,
  schema?: string,
): Promise<T> {
  const sql = postgres(TEST_POSTGRES_URL, {
    max: 1,
    onnotice: () => {},
    types: { bigint: { to: 20, from: [20], serialize: String, parse: Number } },
    ...(schema ? { connection: { search_path: schema } } : {}),
  });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export interface TestServer extends RunningServer {
  /** The test's own database (dropped at shutdown), unless the test passed one. */
  database?: TestDatabase;
  config: Config;
  /** fetch relative to the server, JSON in and out. */
  request(path: string, init?: RequestInit & { json?: unknown; token?: string }): Promise<Response>;
  /** Signs in as a seeded user (password `liveboard`) and returns the session token. */
  login(email: string): Promise<string>;
}

/** Starts a server on a fresh database; demo mode and fast hashing unless overridden. */
export async function startTestServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  const database = overrides.databaseUrl ? undefined : await testDatabase();
  const config = configWith({
    port: 0,
    host: "127.0.0.1",
    ...(database && {
      databaseUrl: database.databaseUrl,
      databaseSchema: database.databaseSchema,
    }),
    demo: true,
    pbkdf2Iterations: 1000,
    logLevel: "silent",
    ...overrides,
  });
  let server: RunningServer;
  try {
    server = await startServer(config);
  } catch (error) {
    await database?.drop();
    throw error;
  }
  const request = (
    path: string,
    init: RequestInit & { json?: unknown; token?: string } = {},
  ) => {
    const headers = new Headers(init.headers);
    if (init.json !== undefined) headers.set("content-type", "application/json");
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
    return fetch(server.url + path, { ...init, headers, body });
  };
  const login = async (email: string) => {
    const response = await request("/login", {
      method: "POST",
      json: { email, password: "liveboard" },
    });
    if (response.status !== 200) throw new Error(`login ${email}: ${await response.text()}`);
    return (await response.json()).token as string;
  };
  const shutdown = async () => {
    await server.shutdown();
    await database?.drop();
  };
  return {
    ...server,
    database,
    config,
    request,
    login,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}

/** A server process started by a test: its URL once it listens, and everything it printed. */
export interface ServerProcess {
  child: Deno.ChildProcess;
  url: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Settles once both output streams are read to the end (after the process exits). */
  drained: Promise<unknown>;
}

/**
 * Spawns `command args` and waits for "Liveboard listening on <url>" followed by the
 * configuration line (start-up complete); rejects, with the output, when the process exits
 * first or does not listen within 30 s (then it is killed).
 */
export async function spawnServer(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; name?: string },
): Promise<ServerProcess> {
  const name = options.name ?? command;
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const { promise: listening, resolve, reject } = Promise.withResolvers<string>();
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      output += text;
      // The two start-up lines, as text or as JSON (LOG_FORMAT=json).
      const match = output.match(
        /Liveboard listening on (http:\/\/[^\s"]+)[^\n]*\n[^\n]*config[^\n]*\n/,
      );
      if (match) resolve(match[1]);
    }
  };
  const drained = Promise.all([collect(child.stdout), collect(child.stderr)]);
  child.status.then(() => reject(new Error(`${name} exited before listening:\n${output}`)));
  const timer = setTimeout(() => {
    reject(new Error(`${name} did not listen within 30 s:\n${output}`));
    child.kill("SIGKILL");
  }, 30_000);
  try {
    const url = await listening;
    return { child, url, output: () => output, drained };
  } catch (error) {
    await Promise.all([child.status, drained]);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 3000, intervalMs = 10, what = "condition" } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comments: string[];
}

/** Reads an SSE response frame by frame. Close it (or cancel the body) when done. */
export class SseReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #decoder = new TextDecoder();
  #buffer = "";
  /** The raw text received so far (for golden-byte checks). */
  raw = "";

  constructor(readonly response: Response) {
    this.#reader = response.body!.getReader();
  }

  /** The next complete frame, or null at the end of the stream. */
  async next(timeoutMs = 3000): Promise<SseFrame | null> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const end = this.#buffer.indexOf("\n\n");
      if (end !== -1) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        return parseFrame(block);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error("Timed out waiting for an SSE frame");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), remaining);
      });
      const result = await Promise.race([this.#reader.read(), timeout]);
      clearTimeout(timer);
      if (result === "timeout") throw new Error("Timed out waiting for an SSE frame");
      if (result.done) return null;
      const text = this.#decoder.decode(result.value, { stream: true });
      this.#buffer += text;
      this.raw += text;
    }
  }

  /** The next frame that carries data (skips heartbeats and retry-only frames). */
  async nextData(timeoutMs = 3000): Promise<SseFrame & { json: Record<string, unknown> }> {
    while (true) {
      const frame = await this.next(timeoutMs);
      if (!frame) throw new Error("SSE stream ended");
      if (frame.data !== undefined) return { ...frame, json: JSON.parse(frame.data) };
    }
  }

  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

function parseFrame(block: string): SseFrame {
  const frame: SseFrame = { comments: [] };
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) frame.comments.push(line.slice(1).trim());
    else if (line.startsWith("id: ")) frame.id = line.slice(4);
    else if (line.startsWith("event: ")) frame.event = line.slice(7);
    else if (line.startsWith("retry: ")) frame.retry = Number(line.slice(7));
    else if (line.startsWith("data: ")) {
      frame.data = frame.data === undefined ? line.slice(6) : `${frame.data}\n${line.slice(6)}`;
    }
  }
  return frame;
}

/** Opens an SSE stream and returns its reader (status must be 200). */
export async function openSse(
  server: TestServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<SseReader> {
  const response = await fetch(server.url + path, { headers });
  if (response.status !== 200) {
    throw new Error(`SSE ${path}: ${response.status} ${await response.text()}`);
  }
  return new SseReader(response);
}

/** Reads a JSON response, failing with its body when the status is not `status`. */
// deno-lint-ignore no-explicit-any
export async function expectStatus(response: Response, status: number): Promise<any> {
  const text = await response.text();
  if (response.status !== status) {
    throw new Error(`Expected ${status}, got ${response.status}: ${text}`);
  }
  return text ? JSON.parse(text) : null;
}

/** Reads an error response: asserts the status and `{"error":{"code","message"}}`; returns the body. */
export async function expectError(
  response: Response,
  status: number,
  code: string,
): Promise<{ error: { code: string; message: string } } & Record<string, unknown>> {
  const body = await expectStatus(response, status);
  if (body?.error?.code !== code || typeof body.error.message !== "string") {
    throw new Error(`Expected error code "${code}", got ${JSON.stringify(body)}`);
  }
  return body;
}

/** GET /admin/connections (open in demo mode; pass an admin token otherwise). */
export async function connectionCounts(
  server: TestServer,
  token?: string,
): Promise<
  {
    total: number;
    byTransport: Record<string, number>;
    byBoard: Record<string, Record<string, number>>;
    busSubscribers: number;
  }
> {
  return expectStatus(await server.request("/admin/connections", { token }), 200);
}

/** Waits until the server has exactly `total` live connections (and, at 0, no bus subscribers). */
export function waitForConnections(server: TestServer, total: number, token?: string) {
  return waitFor(async () => {
    const counts = await connectionCounts(server, token);
    return counts.total === total && (total > 0 || counts.busSubscribers === 0);
  }, { what: `${total} live connections` });
}

/** Opens a raw TCP connection and sends `GET path` (or `method`); the caller owns the socket. */
export async function rawGet(
  server: TestServer,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${server.port}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
  return conn;
}

/** Reads a socket until the peer closes it (or resets it); returns the number of bytes read. */
export async function readToEnd(conn: Deno.Conn): Promise<number> {
  const buffer = new Uint8Array(1 << 16);
  let total = 0;
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) return total;
      total += n;
    }
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionReset) return total;
    throw error;
  }
}

/**
 * Runs read-only SQL against the server's database, SQLite or PostgreSQL (to check what is
 * stored). Write it in the SQL both understand, with `?` for parameters.
 */
export async function queryDb(
  server: { config: Config },
  sql: string,
  ...params: SQLInputValue[]
): Promise<Record<string, unknown>[]> {
  const { databaseUrl, databaseSchema } = server.config;
  if (storeKind(databaseUrl) === "postgres") {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    return await withPostgres(
      // deno-lint-ignore no-explicit-any
      async (pg) => [...await pg.unsafe(text, params as any[])],
      databaseSchema,
    );
  }
  const db = new DatabaseSync(databaseUrl, { readOnly: true });
  try {
    return db.prepare(sql).all(...params) as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** Runs a writing statement on the server's database (SQLite or PostgreSQL), `?` parameters. */
export async function execDb(
  server: { config: Config },
  sql: string,
  ...params: SQLInputValue[]
): Promise<void> {
  const { databaseUrl, databaseSchema } = server.config;
  if (storeKind(databaseUrl) === "postgres") {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    // deno-lint-ignore no-explicit-any
    await withPostgres((pg) => pg.unsafe(text, params as any[]), databaseSchema);
    return;
  }
  const db = new DatabaseSync(databaseUrl);
  try {
    db.prepare(sql).run(...params);
  } finally {
    db.close();
  }
}

/** A board event as tests read it: any field, by name. */
export type WireEvent = BoardEvent & Record<string, unknown>;

/** Runs `action` and returns its result with the events it appended to the log, oldest first. */
export async function withEvents<T>(
  server: TestServer,
  action: () => Promise<T>,
): Promise<{ result: T; events: WireEvent[] }> {
  const { store } = server.services;
  const before = await store.cursor();
  const result = await action();
  const { events } = await store.eventsAfter(null, before, 10_000);
  return { result, events: events as WireEvent[] };
}
