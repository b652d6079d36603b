/**
 * The fuzz suite's harness (tests/fuzz_test.ts): its settings (`FUZZ_SEED`, `FUZZ_RUNS`), the
 * server under test as a child process (`main.ts` on port 0, normal mode, seeded, on a fresh
 * SQLite file or PostgreSQL schema), a read-only view of its database to prove that refused
 * inputs wrote nothing (and to find what a restore, an unarchive or a revert can name), a
 * WebSocket client that waits on its own messages, the documented vocabulary
 * (static/js/protocol.js) every answer is held to, and the building blocks of the generated
 * inputs: references to live ids (`Ref`, resolved when the input is sent, so one seed replays
 * the same inputs) and strings chosen to break things.
 */
import fc from "fast-check";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { CLOSE_REASONS, ERROR_CODES } from "../static/js/protocol.js";
import {
  type ServerProcess,
  spawnServer,
  TEST_POSTGRES_URL,
  TEST_STORE,
  type TestDatabase,
  testDatabase,
} from "./helpers.ts";

// ---- settings ------------------------------------------------------------------------------

function integerSetting(name: string, fallback: number, min: number): number {
  const raw = Deno.env.get(name);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name} must be a whole number of at least ${min} (got "${raw}")`);
  }
  return value;
}

/** The seed of every generator (`FUZZ_SEED`; fixed by default, so CI runs the same inputs). */
export const FUZZ_SEED = integerSetting("FUZZ_SEED", 42, -(2 ** 31));
/**
 * How many batches each fuzz test runs (`FUZZ_RUNS`). The default keeps the file well under
 * 90 s per store on a small CI machine; a local soak raises it (`FUZZ_RUNS=1000`).
 */
export const FUZZ_RUNS = integerSetting("FUZZ_RUNS", 0, 1);

/** The runs of one test: `FUZZ_RUNS` when set, else the test's own default. */
export const runsOr = (fallback: number) => FUZZ_RUNS || fallback;

/** fast-check settings for a stateful fuzz: seeded, and no shrinking (the server keeps state). */
export const fcParameters = (numRuns: number) => ({
  seed: FUZZ_SEED,
  numRuns,
  endOnFailure: true,
});

/** Whether to print what the inputs got, per route and code (`FUZZ_VERBOSE=1`). */
export const FUZZ_VERBOSE = Deno.env.get("FUZZ_VERBOSE") === "1";

/** Prints a tally, biggest first (with FUZZ_VERBOSE=1). */
export function printTally(tally: Map<string, number>, examples?: Map<string, string>): void {
  if (!FUZZ_VERBOSE) return;
  for (const [what, n] of [...tally].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${n}\t${what}`);
    const example = examples?.get(what);
    if (example) console.log(`    \te.g. ${example.slice(0, 400)}`);
  }
}

/** "fuzz REST: 4,000 inputs, seed 42, 0 ≥ 500 (12.3 s, sqlite)". */
export function report(
  what: string,
  inputs: number,
  extra: string,
  started: number,
): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `fuzz ${what}: ${inputs.toLocaleString("en-US")} inputs, seed ${FUZZ_SEED}, ${extra} ` +
      `(${seconds} s, ${TEST_STORE})`,
  );
}

// ---- the documented vocabulary -------------------------------------------------------------

/** Every documented error code, with the HTTP status it answers with. */
export const ERROR_STATUS: ReadonlyMap<string, number> = new Map(
  Object.entries(ERROR_CODES).map(([code, { status }]) => [code, status]),
);
/** Every documented WebSocket close code. */
export const CLOSE_CODES: ReadonlySet<number> = new Set(
  Object.values(CLOSE_REASONS).map((reason) => reason.code),
);

/**
 * Problems found while fuzzing, one per kind of failure (the first input that showed it is its
 * reproduction), so that one bug does not hide the others and the report stays short.
 */
export class Findings {
  readonly #seen = new Map<string, string>();
  count = 0;

  add(signature: string, repro: string): void {
    this.count++;
    if (!this.#seen.has(signature)) this.#seen.set(signature, repro);
  }

  get size(): number {
    return this.#seen.size;
  }

  /** Empty when all went well; otherwise one paragraph per kind of failure. */
  text(): string {
    return [...this.#seen].map(([signature, repro]) => `- ${signature}\n    ${repro}`).join("\n");
  }
}

/** Text for a report: at most `max` characters, control characters escaped. */
export function preview(value: unknown, max = 300): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else {
    try {
      text = JSON.stringify(value, (_key, v) => v instanceof Ref ? v.toString() : v) ?? "undefined";
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}

// ---- the server under test -------------------------------------------------------------------

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RUN_FLAGS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];

export const METRICS_TOKEN = "fuzz-metrics-token";
/** The body and frame limits the server under test runs with (the defaults). */
export const MAX_BODY_BYTES = 65_536;
export const WS_MAX_MESSAGE_BYTES = 16_384;
export const ADMIN_EMAIL = "carol@example.com";

/**
 * `main.ts` as a child process on a database of its own: normal mode with the demo data seeded
 * (Alice owns board-1; Bob and Carol are members; Carol owns board-2 and is the admin), short
 * long polls and body timeout so that fuzzed requests never hold the run up.
 */
export class FuzzServer {
  #exited = false;
  readonly exited: Promise<Deno.CommandStatus>;

  private constructor(
    readonly process: ServerProcess,
    readonly database: TestDatabase,
  ) {
    this.exited = process.child.status.then((status) => {
      this.#exited = true;
      return status;
    });
  }

  static async start(env: Record<string, string> = {}): Promise<FuzzServer> {
    const database = await testDatabase();
    try {
      const process = await spawnServer(Deno.execPath(), ["run", ...RUN_FLAGS, "main.ts"], {
        cwd: ROOT,
        name: "liveboard (fuzz)",
        env: {
          NO_COLOR: "1",
          PORT: "0",
          HOST: "127.0.0.1",
          DATABASE_URL: database.databaseUrl,
          DATABASE_SCHEMA: database.databaseSchema,
          REDIS_URL: "none",
          DEMO: "false",
          SEED: "true",
          SIGNUP: "true",
          PBKDF2_ITERATIONS: "1000",
          LOG_LEVEL: "warn",
          LOG_FORMAT: "text",
          ADMIN_EMAILS: ADMIN_EMAIL,
          METRICS_TOKEN,
          MAX_BODY_BYTES: String(MAX_BODY_BYTES),
          WS_MAX_MESSAGE_BYTES: String(WS_MAX_MESSAGE_BYTES),
          LONGPOLL_TIMEOUT_MS: "50",
          BODY_TIMEOUT_MS: "400",
          TRANSPORTS: "websocket,sse,longpoll,poll",
          LIVEBOARD_TEST_FAULTS: "",
          ...env,
        },
      });
      return new FuzzServer(process, database);
    } catch (error) {
      await database.drop();
      throw error;
    }
  }

  get url(): string {
    return this.process.url;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  get wsUrl(): string {
    return this.url.replace(/^http/, "ws") + "/ws";
  }

  /** True while the process runs. */
  get alive(): boolean {
    return !this.#exited;
  }

  /** Everything the process printed so far. */
  output(): string {
    return this.process.output();
  }

  /** Lines the server logged as failures (a 500, a socket handler that threw…). */
  failureLines(): string[] {
    return this.output().split("\n").filter((line) => /\b(WARN|ERROR)\b/.test(line));
  }

  /** fetch relative to the server, JSON in and out. */
  request(path: string, init: RequestInit & { json?: unknown; token?: string } = {}) {
    const headers = new Headers(init.headers);
    if (init.json !== undefined) headers.set("content-type", "application/json");
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
    return fetch(this.url + path, { ...init, headers, body });
  }

  /** Signs in; returns the session token and the user. */
  async login(email: string, password = "liveboard"): Promise<{ token: string; id: string }> {
    const response = await this.request("/login", { method: "POST", json: { email, password } });
    const body = await response.json();
    if (response.status !== 200) throw new Error(`login ${email}: ${JSON.stringify(body)}`);
    return { token: body.token, id: body.user.id };
  }

  /** Signs up a new account (password `liveboard`); returns its token and id. */
  async signup(email: string, name: string): Promise<{ token: string; id: string }> {
    const response = await this.request("/signup", {
      method: "POST",
      json: { email, name, password: "liveboard" },
    });
    const body = await response.json();
    if (response.status !== 201) throw new Error(`signup ${email}: ${JSON.stringify(body)}`);
    return { token: body.token, id: body.user.id };
  }

  /**
   * Ends the process with SIGTERM (a graceful shutdown) and removes its database; returns the
   * exit code (0 when the shutdown went well). SIGKILL after 15 s.
   */
  async stop(): Promise<number> {
    if (this.alive) {
      try {
        this.process.child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
    const killer = setTimeout(() => {
      try {
        this.process.child.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 15_000);
    const { code } = await this.exited;
    clearTimeout(killer);
    await this.process.drained;
    await this.database.drop();
    return code;
  }
}

// ---- the database, read-only -----------------------------------------------------------------

/** The tables whose every row a refused input must leave alone (events: count and head). */
const DUMPED_TABLES: [string, string][] = [
  ["users", "id"],
  ["sessions", "token_hash"],
  ["boards", "id"],
  ["board_members", "board_id, user_id"],
  ["lists", "id"],
  ["tasks", "id"],
  ["idempotency_keys", "user_id, key"],
  ["trash", "item_id"],
  ["board_seen", "board_id, user_id"],
  ["task_conflicts", "id"],
];

/** Reads the server's database directly (never writes): row dumps and event counts. */
export class DbReader {
  #sqlite?: DatabaseSync;
  #pg?: postgres.Sql;

  constructor(database: TestDatabase) {
    if (TEST_STORE === "postgres") {
      this.#pg = postgres(TEST_POSTGRES_URL, {
        max: 1,
        onnotice: () => {},
        types: { bigint: { to: 20, from: [20], serialize: String, parse: Number } },
        connection: { search_path: database.databaseSchema },
      });
    } else {
      this.#sqlite = new DatabaseSync(database.databaseUrl, { readOnly: true });
    }
  }

  async query(sql: string, ...params: (string | number)[]): Promise<Record<string, unknown>[]> {
    if (this.#pg) {
      let n = 0;
      return [...await this.#pg.unsafe(sql.replace(/\?/g, () => `$${++n}`), params)];
    }
    return this.#sqlite!.prepare(sql).all(...params) as Record<string, unknown>[];
  }

  /** Events in the log (on one board, when named). */
  async eventCount(boardId?: string): Promise<number> {
    const rows = boardId === undefined
      ? await this.query("SELECT count(*) AS n FROM events")
      : await this.query("SELECT count(*) AS n FROM events WHERE board_id = ?", boardId);
    return Number(rows[0].n);
  }

  /** The newest event's seq (0 when none). */
  async head(): Promise<number> {
    const rows = await this.query("SELECT coalesce(max(seq), 0) AS n FROM events");
    return Number(rows[0].n);
  }

  /**
   * The trash and archive rows of these boards, newest first (at most `limit`): what a restore,
   * an unarchive or a restore conflict can name.
   */
  async shelf(
    boardIds: string[],
    limit = 60,
  ): Promise<{ id: string; kind: string; archived: boolean }[]> {
    const rows = await this.query(
      `SELECT item_id, kind, archived FROM trash WHERE board_id IN (${
        boardIds.map(() => "?").join(", ")
      }) ORDER BY deleted_at DESC, item_id LIMIT ${limit}`,
      ...boardIds,
    );
    return rows.map((row) => ({
      id: String(row.item_id),
      kind: String(row.kind),
      archived: Boolean(Number(row.archived)),
    }));
  }

  /** The ids of these boards' open conflicts, newest first (at most `limit`). */
  async conflicts(boardIds: string[], limit = 20): Promise<string[]> {
    const rows = await this.query(
      `SELECT id FROM task_conflicts WHERE board_id IN (${
        boardIds.map(() => "?").join(", ")
      }) ORDER BY created_at DESC, id LIMIT ${limit}`,
      ...boardIds,
    );
    return rows.map((row) => String(row.id));
  }

  /**
   * The newest events of these boards (at most `limit`; of these types only, when named),
   * newest first: what a revert names.
   */
  async recentEvents(
    boardIds: string[],
    limit = 40,
    types: string[] = [],
  ): Promise<{ seq: number; boardId: string; actorId: string | null; type: string }[]> {
    const marks = (values: string[]) => values.map(() => "?").join(", ");
    const rows = await this.query(
      `SELECT seq, board_id, actor_id, type FROM events WHERE board_id IN (${marks(boardIds)})${
        types.length ? ` AND type IN (${marks(types)})` : ""
      } ORDER BY seq DESC LIMIT ${limit}`,
      ...boardIds,
      ...types,
    );
    return rows.map((row) => ({
      seq: Number(row.seq),
      boardId: String(row.board_id),
      actorId: row.actor_id === null ? null : String(row.actor_id),
      type: String(row.type),
    }));
  }

  /** Every row of every table (events: how many and the newest), as one comparable value. */
  async dump(): Promise<Record<string, unknown>> {
    const dump: Record<string, unknown> = {};
    for (const [table, order] of DUMPED_TABLES) {
      dump[table] = await this.query(`SELECT * FROM ${table} ORDER BY ${order}`);
    }
    dump.events = { count: await this.eventCount(), head: await this.head() };
    return JSON.parse(JSON.stringify(dump));
  }

  async close(): Promise<void> {
    this.#sqlite?.close();
    await this.#pg?.end({ timeout: 1 });
  }
}

// ---- a WebSocket client that can wait on its own messages ------------------------------------

// deno-lint-ignore no-explicit-any
export type Message = { type: string; [field: string]: any };

export class FuzzSocket {
  readonly socket: WebSocket;
  /** Every message received, in order. */
  readonly received: Message[] = [];
  /** Text frames that were not JSON objects (the server should never send one). */
  readonly garbage: string[] = [];
  readonly closed: Promise<CloseEvent>;
  closeEvent?: CloseEvent;
  #wake?: () => void;

  private constructor(url: string, headers: Record<string, string>) {
    this.socket = new WebSocket(url, { headers });
    this.socket.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) => {
      this.socket.addEventListener("close", (event) => {
        this.closeEvent = event;
        resolve(event);
        this.#wake?.();
      });
    });
    this.socket.addEventListener("message", (event) => {
      let message: unknown;
      try {
        message = typeof event.data === "string" ? JSON.parse(event.data) : undefined;
      } catch {
        message = undefined;
      }
      if (message && typeof message === "object" && typeof (message as Message).type === "string") {
        this.received.push(message as Message);
      } else {
        this.garbage.push(typeof event.data === "string" ? event.data : "<binary>");
      }
      this.#wake?.();
    });
  }

  /** Opens a socket with a Bearer token and waits for `connected`. */
  static async open(url: string, token: string): Promise<FuzzSocket> {
    const client = new FuzzSocket(url, { authorization: `Bearer ${token}` });
    await client.until(() => client.received.some((m) => m.type === "connected"), "connected");
    return client;
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(data: string | Uint8Array): void {
    this.socket.send(data);
  }

  /**
   * Waits until `check` holds (re-checked on every message and on close); throws after
   * `timeoutMs` naming `what`.
   */
  async until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.closeEvent) {
        throw new Error(
          `Socket closed (${this.closeEvent.code} ${this.closeEvent.reason}) while waiting for ${what}`,
        );
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`Timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** A barrier: sends a ping and waits for its pong (the server answers frames in order). */
  async barrier(): Promise<void> {
    const pongs = this.received.filter((m) => m.type === "pong").length;
    this.send(JSON.stringify({ type: "ping" }));
    await this.until(
      () => this.received.filter((m) => m.type === "pong").length > pongs,
      "the barrier's pong",
    );
  }

  async close(): Promise<void> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    await this.closed;
  }
}

/** A board event as every transport sends it: a numeric `id` (its seq) and a `boardId`. */
export const isBoardEvent = (message: Message): boolean =>
  typeof message.id === "number" && typeof message.boardId === "string" &&
  typeof message.actorId !== "undefined";

// ---- generated inputs: references and nasty values -----------------------------------------

/** What a `Ref` names: an id of the live world, looked up when the input is sent. */
export type RefKind =
  /** the fuzzing user's home board / her other board */
  | "home"
  | "side"
  /** a board the fuzzing user can see (or could once: deleted ones stay in the pool) */
  | "board"
  /** a list / task of those boards */
  | "list"
  | "task"
  /** a list / task of the home board as it is now */
  | "homeList"
  | "homeTask"
  /** a board, list or task of a board the fuzzing user is not a member of */
  | "foreignBoard"
  | "foreignList"
  | "foreignTask"
  /** a list of the user's other board (a move there is `invalid_list`) */
  | "sideList"
  /** any account's id */
  | "user"
  /** an account that is not a member of the home board */
  | "outsider"
  /** the account admin operations may act on (never one the fuzz signs in with) */
  | "victim"
  /** an idempotency key never used before */
  | "freshKey"
  /** an email address no account has */
  | "freshEmail"
  /** an idempotency key from a small set, so that some are reused */
  | "reusedKey"
  /** a WebSocket requestId never used before */
  | "requestId"
  /** an event cursor near the log's head (sometimes past it, sometimes negative) */
  | "cursor"
  /** a card / list of the fuzzing user's boards in the trash (restorable, mostly) */
  | "trashTask"
  | "trashList"
  /** a card / list of the fuzzing user's boards in the archive */
  | "archivedTask"
  | "archivedList"
  /** a card in the trash whose list is gone too (its restore is 409 restore_conflict) */
  | "orphanTask"
  /** the seq of a recent event of the home board (a number: what a revert names) */
  | "seq"
  /** the seq of an event the fuzzing user made on the home board */
  | "homeSeq"
  /** the seq of an event that cannot be reverted (board_created, member_added…) */
  | "unrevertible"
  /** an open conflict of the fuzzing user's boards / of a board she is not a member of */
  | "conflict"
  | "foreignConflict";

/** A reference to a live id, resolved when the input is sent (so generation stays pure). */
export class Ref {
  constructor(readonly kind: RefKind, readonly n: number) {}

  toString(): string {
    return `<${this.kind}#${this.n}>`;
  }

  [fc.toStringMethod](): string {
    return this.toString();
  }
}

export const ref = (kind: RefKind) => fc.nat().map((n) => new Ref(kind, n));

/** Characters that break text handling: zero-width, bidi, controls, surrogates, fillers. */
export const SPECIAL_CHARS = [
  "\u0000",
  "\u0001",
  "\u0007",
  "\t",
  "\n",
  "\r",
  "\u000b",
  "\u001f",
  "\u007f",
  "\u0085",
  "\u009f",
  "\u00a0",
  "\u00ad",
  "\u034f",
  "\u061c",
  "\u115f",
  "\u180e",
  "\u200b",
  "\u200c",
  "\u200d",
  "\u200e",
  "\u200f",
  "\u2028",
  "\u2029",
  "\u202a",
  "\u202b",
  "\u202c",
  "\u202d",
  "\u202e",
  "\u2060",
  "\u2066",
  "\u2069",
  "\u3164",
  "\ufe0f",
  "\ufeff",
  "\uffa0",
  "\ufffd",
  "\uffff",
  "\ud800",
  "\udbff",
  "\udc00",
  "\udfff",
  "😀",
  "👩‍👩‍👧",
  "ﷺ",
  "é",
  "e\u0301",
  "İ",
  "ß",
  "𝕏",
  "\\",
  '"',
  "'",
  "`",
  "%",
  "%00",
  "%2e%2e%2f",
  "/",
  "..",
  "?",
  "#",
  "&",
  "=",
  ",",
  ";",
  "<",
  ">",
  "{",
  "}",
  "[",
  "]",
  "$",
  "*",
  "+",
  " ",
];

/** Whole strings that break things: injection, traversal, names of prototypes, numbers. */
export const NASTY_STRINGS = [
  "",
  " ",
  "   ",
  "\u200b",
  "\u200b\u200c\u200d",
  "\u3164\u3164",
  "\u202eevil",
  "a\u202eb",
  "\u2066isolated\u2069",
  "a\u0000b",
  "\u0000",
  "line\nbreak",
  "tab\there",
  "\ud800",
  "lone\udfffsurrogate",
  "😀",
  "😀".repeat(101),
  "x".repeat(100),
  "x".repeat(101),
  "x".repeat(200),
  "x".repeat(201),
  "é".repeat(201),
  "x".repeat(1025),
  "x".repeat(10_001),
  "../../../etc/passwd",
  "..",
  ".",
  "%2e%2e",
  "%00",
  "%ZZ",
  "a/b",
  "a?b=c",
  "a#b",
  "<script>alert(1)</script>",
  "' OR '1'='1",
  "'; DROP TABLE tasks; --",
  "${7*7}",
  "{{7*7}}",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "null",
  "undefined",
  "true",
  "NaN",
  "Infinity",
  "-1",
  "0",
  "1e309",
  "0x10",
  "９",
  "ﬀ",
  "İstanbul",
];

/** Any UTF-16 code unit, lone surrogates and control characters included. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** Strings of every kind, short ones mostly. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: anyCodeUnit, maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.array(fc.constantFrom(...SPECIAL_CHARS), { minLength: 1, maxLength: 6 })
      .map((chars) => chars.join("")),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...SPECIAL_CHARS))
      .map(([text, char]) => `${text}${char}${text}`),
  },
  { weight: 1, arbitrary: fc.integer({ min: 95, max: 260 }).map((n) => "ab".repeat(n / 2 | 0)) },
);

/** Numbers at and past every edge (JSON cannot carry NaN or Infinity: raw text can). */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    -1,
    -0,
    0.5,
    1.5,
    -1_000_000,
    1_000_000,
    1_000_001,
    2 ** 31,
    2 ** 53,
    2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    1e21,
    1e308,
    -1e308,
    5e-324,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Values of any JSON type (for "a field of the wrong type"). */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(null, true, false, [], {}, [null], { a: 1 }, "", 0) },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Key names for unknown fields (a strict schema refuses them). */
export const nastyKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "type", "id", "boardId", "x", "", " "),
  fc.string({ maxLength: 10 }),
);

/** JSON text that does not parse (or parses to something odd). */
export const malformedJson: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "{",
    "}",
    "[",
    "{'title':'x'}",
    '{"title":',
    '{"title":"x"',
    '{"title":"x",}',
    '{"title" "x"}',
    "{title:1}",
    "nul",
    "undefined",
    "NaN",
    "Infinity",
    "-",
    "01",
    "1e999",
    "-1e999",
    "\u0000",
    "\ufeff{}",
    '{"a":1}{"b":2}',
    '{"a":"\\ud800"}',
    '{"a":"\\x41"}',
    '{"a":"\u0001"}',
    "[".repeat(2000),
    "[".repeat(20_000) + "]".repeat(20_000),
    '{"a":'.repeat(3000) + "1" + "}".repeat(3000),
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
  ),
  fc.string({ maxLength: 40 }),
  fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value).slice(0, -1)),
);

/** Picks from a pool by a generated number (`undefined` when the pool is empty). */
export function pick<T>(pool: readonly T[], n: number): T | undefined {
  return pool.length === 0 ? undefined : pool[n % pool.length];
}

/** encodeURIComponent that also takes lone surrogates (made well-formed first). */
export function encodeSegment(text: string): string {
  return encodeURIComponent(text.toWellFormed());
}

/** A header value fetch accepts: Latin-1 without CR, LF or NUL (others become "?"). */
export function headerSafe(text: string): string {
  return text.replace(/[^\t\x20-\x7e\x80-\xff]/g, "?").trim();
}
