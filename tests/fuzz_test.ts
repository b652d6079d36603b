/**
 * Fuzzing, as a test suite (the hardening issue): fast-check inputs, seeded (`FUZZ_SEED`,
 * default 42) and sized (`FUZZ_RUNS` batches per test; the default fits CI), against `main.ts`
 * running as a child process. Every REST route and query, every WebSocket message type, malformed
 * bodies and frames, and bytes that are not HTTP at all. Held to: no status ≥ 500 and no crash
 * (the process still answers /healthz, logged no failure and exits 0 on SIGTERM); every refusal
 * is `{"error":{"code","message"}}` (Deno's own empty 400 for non-HTTP excepted) with a code of
 * the protocol's table (static/js/protocol.js) and that code's status; every WebSocket answer is
 * a message of the protocol or an `error` with a documented code, or a documented close, and the
 * socket stays usable; refused inputs change nothing (no row, no event, nothing reaches a
 * watcher) and accepted mutations commit exactly one event each (a restore, an archive, an
 * unarchive, a revert and a conflict too; marking a board seen none). A test reads the board
 * router and the protocol's message types, so a new route or message no input reaches fails.
 * Each test prints one line: the inputs tried, the seed and the findings. A failure names the
 * first input of each kind of problem, so it can be replayed (same seed) and reduced by hand.
 * `FUZZ_VERBOSE=1` also prints what the inputs got, per route and code (a socket's answers per
 * message type), with an example of each.
 *
 *   FUZZ_SEED=7 FUZZ_RUNS=500 deno test -A tests/fuzz_test.ts      # a local soak
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Services } from "../src/http/context.ts";
import { boardRoutes } from "../src/http/routes_boards.ts";
import {
  CLIENT_MESSAGE_TYPES,
  parseClientMessage,
  ProtocolError,
} from "../src/realtime/ws_protocol.ts";
import {
  ADMIN_EMAIL,
  anyJson,
  CLOSE_CODES,
  DbReader,
  encodeSegment,
  ERROR_STATUS,
  fcParameters,
  Findings,
  FUZZ_SEED,
  FUZZ_VERBOSE,
  FuzzServer,
  FuzzSocket,
  headerSafe,
  isBoardEvent,
  malformedJson,
  MAX_BODY_BYTES,
  type Message,
  METRICS_TOKEN,
  nastyKey,
  nastyNumber,
  nastyString,
  pick,
  preview,
  printTally,
  Ref,
  ref,
  type RefKind,
  report,
  runsOr,
  WS_MAX_MESSAGE_BYTES,
} from "./fuzz_helpers.ts";
import { SseReader } from "./helpers.ts";

// ---- the world the inputs act on ------------------------------------------------------------

type Account = "alice" | "bob" | "carol" | "dave" | "eve";
type Json = Record<string, unknown>;

/** Events whose revert is 409 `not_revertible` (README, History, trash and undo). */
const UNREVERTIBLE_TYPES = ["board_created", "member_added", "member_removed"];

/**
 * The accounts, the ids the inputs may name and what the fuzz has done so far. Alice is the
 * fuzzing user: she owns a home board (board-1: Bob and Carol are members) and a side board.
 * Carol is the admin and owns board-2 (foreign to Alice). Dave is the account that logouts and
 * admin operations act on; Eve is never a member of anything.
 */
class World {
  readonly pools = new Map<RefKind, string[]>();
  readonly accounts = {} as Record<Account, { id: string; token: string; email: string }>;
  home = "board-1";
  side = "";
  head = 0;
  /** `user:key` of every idempotency key that a mutation was accepted with. */
  readonly acceptedKeys = new Set<string>();
  /** An idempotency key Alice used once (for a list on the side board). */
  readonly usedKey = "fuzz-used-key";
  #counter = 0;

  private constructor(readonly server: FuzzServer, readonly db: DbReader) {}

  static async create(server: FuzzServer, db: DbReader): Promise<World> {
    const world = new World(server, db);
    for (const account of ["alice", "bob", "carol"] as const) {
      const email = `${account}@example.com`;
      world.accounts[account] = { ...await server.login(email), email };
    }
    for (const account of ["dave", "eve"] as const) {
      const email = `${account}@example.com`;
      const name = account[0].toUpperCase() + account.slice(1);
      world.accounts[account] = { ...await server.signup(email, name), email };
    }
    for (const id of Object.values(world.accounts).map((a) => a.id)) world.add("user", id);
    world.add("user", "user-guest");
    world.add("outsider", world.accounts.dave.id);
    world.add("outsider", world.accounts.eve.id);
    world.add("victim", world.accounts.dave.id);
    world.add("foreignBoard", "board-2");
    world.add("foreignList", "list-b2-ideas");
    world.add("foreignList", "list-b2-doing");
    world.add("foreignTask", "task-5");
    await world.refresh();
    const used = await server.request(`/boards/${world.side}/lists`, {
      method: "POST",
      token: world.accounts.alice.token,
      json: { title: "Used key" },
      headers: { "idempotency-key": world.usedKey },
    });
    assert.equal(used.status, 201, await used.text());
    world.acceptedKeys.add(`alice:${world.usedKey}`);
    await world.#stock();
    await world.refresh();
    return world;
  }

  /**
   * What the history routes act on from the start: on the side board a card and a list in the
   * trash, a card and a list in the archive, a card in the trash whose list is gone too (its
   * restore is 409 `restore_conflict`), a conflict, and events that cannot be reverted; a
   * conflict on Carol's board-2; on the home board, one change of Alice's (Bob may not revert
   * it).
   */
  async #stock(): Promise<void> {
    const alice = this.accounts.alice.token;
    const ok = async (path: string, init: RequestInit & { json?: unknown }, status = 200) => {
      const { status: got, body } = await this.#json(path, { token: alice, ...init });
      assert.equal(got, status, `${init.method ?? "GET"} ${path}: ${JSON.stringify(body)}`);
      return body;
    };
    const list = async (title: string): Promise<string> =>
      (await ok(`/boards/${this.side}/lists`, { method: "POST", json: { title } }, 201)).id;
    const card = async (listId: string, title: string): Promise<string> =>
      (await ok("/tasks", { method: "POST", json: { listId, title } }, 201)).id;
    const sideList = this.pool("sideList")[0];
    await ok(`/tasks/${await card(sideList, "Trashed card")}`, { method: "DELETE" });
    await ok(`/tasks/${await card(sideList, "Archived card")}/archive`, { method: "POST" });
    await ok(`/lists/${await list("Trashed list")}`, { method: "DELETE" });
    await ok(`/lists/${await list("Archived list")}/archive`, { method: "POST" });
    const gone = await list("Gone list");
    const orphan = await card(gone, "Orphan card");
    await ok(`/tasks/${orphan}`, { method: "DELETE" });
    await ok(`/lists/${gone}`, { method: "DELETE" });
    this.add("orphanTask", orphan);
    const conflict = { field: "title", value: "Lost text", baseVersion: 1 };
    await ok(`/tasks/${await card(sideList, "Conflicted card")}/conflicts`, {
      method: "POST",
      json: conflict,
    }, 201);
    const carol = this.accounts.carol.token;
    const foreign = await this.#json("/tasks/task-5/conflicts", {
      method: "POST",
      token: carol,
      json: conflict,
    });
    assert.equal(foreign.status, 201, JSON.stringify(foreign.body));
    this.add("foreignConflict", foreign.body.id);
    // Events that cannot be reverted (board_created may be missing: the seed's boards have none).
    const dave = this.accounts.dave;
    await ok(`/boards/${this.side}/members`, { method: "POST", json: { email: dave.email } }, 201);
    await ok(`/boards/${this.side}/members/${dave.id}`, { method: "DELETE" });
    const { board } = await ok(`/boards/${this.home}`, {});
    await ok(`/boards/${this.home}`, { method: "PATCH", json: { title: board.title } });
  }

  pool(kind: RefKind): string[] {
    let pool = this.pools.get(kind);
    if (!pool) this.pools.set(kind, pool = []);
    return pool;
  }

  add(kind: RefKind, id: string): void {
    const pool = this.pool(kind);
    if (!pool.includes(id)) pool.push(id);
  }

  /** A fresh number (idempotency keys, request ids). */
  next(): number {
    return ++this.#counter;
  }

  /** The live value a reference names. */
  resolve(value: Ref): string | number {
    const { kind, n } = value;
    switch (kind) {
      case "home":
        return this.home;
      case "side":
        return this.side;
      case "freshKey":
        return `fuzz-key-${this.next()}`;
      case "freshEmail":
        return `fuzz-${this.next()}@example.com`;
      case "reusedKey":
        return `fuzz-reused-${n % 4}`;
      case "requestId":
        return n % 2 ? `req-${this.next()}` : this.next();
      case "cursor":
        return this.head + (n % 9) - 6;
      case "seq":
      case "homeSeq":
      case "unrevertible": {
        // None yet: a seq past the log (404).
        const seq = pick(this.pool(kind), n);
        return seq === undefined ? this.head + 1000 : Number(seq);
      }
      default:
        return pick(this.pool(kind), n) ?? `missing-${kind}`;
    }
  }

  /** Records the ids an answer names (boards, lists, tasks, users), so later inputs use them. */
  harvest(value: unknown, depth = 0): void {
    if (depth > 4 || value === null || typeof value !== "object") return;
    if (Array.isArray(value)) {
      for (const item of value.slice(0, 2000)) this.harvest(item, depth + 1);
      return;
    }
    const object = value as Json;
    if (typeof object.id === "string") {
      if ("ownerId" in object) this.add("board", object.id);
      else if ("listId" in object && "version" in object) this.add("task", object.id);
      else if ("boardId" in object && "position" in object) this.add("list", object.id);
      else if ("email" in object && "name" in object) this.add("user", object.id);
    }
    for (const child of Object.values(object)) this.harvest(child, depth + 1);
  }

  async #json(path: string, init: RequestInit & { json?: unknown; token?: string } = {}) {
    const response = await this.server.request(path, init);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  /**
   * Before each batch: Alice owns two boards with a list each (made again when the fuzz deleted
   * them), the pools know their lists and tasks, `head` is the log's, and Dave can sign in.
   */
  async refresh(): Promise<void> {
    const alice = this.accounts.alice.token;
    // The pools hold what is live now, and a few ids of things deleted since.
    for (const kind of ["board", "list", "task"] as const) {
      this.pools.set(kind, this.pool(kind).slice(-3));
    }
    const { body: boards } = await this.#json("/boards", { token: alice });
    this.harvest(boards);
    const owned = (boards as { id: string; role: string }[])
      .filter((board) => board.role === "owner")
      .map((board) => board.id);
    while (owned.length < 2) {
      const { status, body } = await this.#json("/boards", {
        method: "POST",
        token: alice,
        json: { title: `Fuzz board ${this.next()}` },
      });
      assert.equal(status, 201, JSON.stringify(body));
      this.harvest(body);
      owned.push(body.board.id);
    }
    this.home = owned.includes("board-1") ? "board-1" : owned[0];
    this.side = owned.find((id) => id !== this.home)!;
    for (const board of [this.home, this.side]) {
      let { body: snapshot } = await this.#json(`/boards/${board}`, { token: alice });
      if (snapshot.lists.length === 0) {
        await this.#json(`/boards/${board}/lists`, {
          method: "POST",
          token: alice,
          json: { title: "Fuzz list" },
        });
        snapshot = (await this.#json(`/boards/${board}`, { token: alice })).body;
      }
      this.harvest(snapshot);
      if (board === this.home) {
        this.pools.set("homeList", snapshot.lists.map((list: { id: string }) => list.id));
        this.pools.set("homeTask", snapshot.tasks.map((task: { id: string }) => task.id));
      }
      if (board === this.side) {
        this.pools.set("sideList", snapshot.lists.map((list: { id: string }) => list.id));
      }
    }
    this.head = await this.db.head();
    await this.#shelfAndLog();
    await this.#reviveDave();
  }

  /**
   * The trash, archive and conflicts of Alice's two boards and the home board's newest events,
   * read from the database (one query each, cheaper than the routes), with one id of each kind
   * that is gone since (a restore of it is 404).
   */
  async #shelfAndLog(): Promise<void> {
    const boards = [this.home, this.side];
    const shelf = await this.db.shelf(boards);
    const shelved = (kind: string, archived: boolean) =>
      shelf.filter((item) => item.kind === kind && item.archived === archived).map((i) => i.id);
    this.#renew("trashTask", shelved("task", false));
    this.#renew("trashList", shelved("list", false));
    this.#renew("archivedTask", shelved("task", true));
    this.#renew("archivedList", shelved("list", true));
    const events = await this.db.recentEvents([this.home], 40);
    this.#renew("seq", events.map((event) => String(event.seq)));
    this.#renew(
      "homeSeq",
      events.filter((event) => event.actorId === this.accounts.alice.id)
        .map((event) => String(event.seq)),
    );
    const unrevertible = await this.db.recentEvents(boards, 5, UNREVERTIBLE_TYPES);
    this.#renew("unrevertible", unrevertible.map((event) => String(event.seq)));
    this.#renew("conflict", await this.db.conflicts(boards));
  }

  /** A pool made of these ids and the newest one of before that is not among them. */
  #renew(kind: RefKind, fresh: string[]): void {
    const stale = this.pool(kind).filter((id) => !fresh.includes(id)).slice(0, 1);
    this.pools.set(kind, [...fresh, ...stale]);
  }

  /** Dave may have been logged out, deactivated or given another password: undo that. */
  async #reviveDave(): Promise<void> {
    const dave = this.accounts.dave;
    if ((await this.#json("/me", { token: dave.token })).status === 200) return;
    const carol = this.accounts.carol.token;
    await this.#json(`/admin/users/${dave.id}/activate`, { method: "POST", token: carol });
    await this.#json(`/admin/users/${dave.id}/password`, {
      method: "POST",
      token: carol,
      json: { password: "liveboard" },
    });
    const { status, body } = await this.#json("/login", {
      method: "POST",
      json: { email: dave.email, password: "liveboard" },
    });
    if (status === 200) dave.token = body.token;
  }
}

/** Replaces every `Ref` in a generated value by the live id it names. */
function resolveDeep(world: World, value: unknown): unknown {
  if (value instanceof Ref) return world.resolve(value);
  if (Array.isArray(value)) return value.map((item) => resolveDeep(world, item));
  if (value !== null && typeof value === "object") {
    const out: Json = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty keeps a "__proto__" key an own property, as JSON.parse makes it.
      Object.defineProperty(out, key, {
        value: resolveDeep(world, item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

// ---- REST inputs ----------------------------------------------------------------------------

type Auth = Account | "metrics" | "none" | "bad" | "raw" | "cookieAlice" | "cookieDave";

interface Segment {
  value: string | Ref;
  /** `uri`: percent-encoded; `raw`: as is (may add segments or a query); `double`: twice. */
  encoding: "uri" | "raw" | "double";
}

type Body =
  | { kind: "json"; value: unknown }
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: number[] }
  | { kind: "huge"; size: number; chunked: boolean }
  | { kind: "chunked"; value: unknown; pieces: number };

interface HttpInput {
  route: string;
  method: string;
  path: (string | Segment)[];
  query: [string, unknown][];
  auth: Auth;
  /** For `raw`: an Authorization or Cookie header that is not a valid credential. */
  rawAuth: [string, string];
  /** `same`: the server's own origin. */
  origin?: string;
  headers: [string, string][];
  key?: string | Ref;
  body?: Body;
  /** undefined: application/json when there is a body; null: no Content-Type at all. */
  contentType?: string | null;
}

/** `arbitrary` once in `oneIn` times, else undefined. */
function sometimes<T>(arbitrary: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> {
  return fc.oneof(
    { weight: oneIn - 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary },
  );
}

function weighted<T>(...choices: [number, T][]): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([weight, value]) => ({ weight, arbitrary: fc.constant(value) })));
}

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "patch"];

const segment = (kinds: RefKind[]): fc.Arbitrary<Segment> =>
  fc.record({
    value: fc.oneof(
      { weight: 8, arbitrary: ref(kinds[0]) },
      { weight: 1, arbitrary: fc.constantFrom(...kinds).chain(ref) },
      { weight: 2, arbitrary: nastyString },
    ),
    encoding: weighted<Segment["encoding"]>([12, "uri"], [1, "raw"], [1, "double"]),
  });

const PARAMS: Record<string, RefKind[]> = {
  ":board": ["board", "foreignBoard"],
  ":homeBoard": ["home", "side", "board", "foreignBoard"],
  ":list": ["list", "foreignList", "sideList"],
  ":task": ["task", "foreignTask"],
  ":user": ["user", "outsider"],
  ":victim": ["victim", "user"],
  // What a restore or an unarchive names: mostly right, else the other shelf, a card whose list
  // is gone, a live one or another board's.
  ":trashTask": ["trashTask", "archivedTask", "orphanTask", "task", "foreignTask"],
  ":trashList": ["trashList", "archivedList", "list", "foreignList"],
  ":archivedTask": ["archivedTask", "trashTask", "task", "foreignTask"],
  ":archivedList": ["archivedList", "trashList", "list", "foreignList"],
  ":conflict": ["conflict", "foreignConflict", "task"],
};

/** Seqs as text: the edges of the `^\d{1,15}$` a seq must match, and past them. */
const SEQ_TEXTS = [
  "0",
  "-1",
  "-0",
  "1.5",
  " 3 ",
  "abc",
  "",
  "9".repeat(15),
  "9".repeat(16),
  "9".repeat(400),
  "１",
  "0x10",
  "1e3",
  "+1",
  "00012",
  "NaN",
  "Infinity",
  String(2 ** 53),
  "18446744073709551616",
];
/** A seq: of a recent event of the home board mostly, near the head, not revertible, or not one. */
const seqText = fc.oneof(
  { weight: 10, arbitrary: ref("seq") },
  { weight: 2, arbitrary: ref("cursor") },
  { weight: 1, arbitrary: ref("unrevertible") },
  { weight: 2, arbitrary: fc.constantFrom(...SEQ_TEXTS) },
  { weight: 1, arbitrary: nastyString },
);
/** Path parameters that are not ids. */
const SEGMENTS: Record<string, fc.Arbitrary<Segment>> = {
  ":seq": fc.record({
    value: seqText,
    encoding: weighted<Segment["encoding"]>([12, "uri"], [1, "raw"], [1, "double"]),
  }),
};

/** The path of a route template, its parameters generated. */
function pathOf(template: string): fc.Arbitrary<(string | Segment)[]> {
  const parts = template.split("/").slice(1).map((part) =>
    SEGMENTS[part] ?? (PARAMS[part] ? segment(PARAMS[part]) : fc.constant(part))
  );
  return fc.tuple(...parts);
}

// Field values: valid ones mostly, and everything else.
const validTitle = fc.tuple(
  fc.constantFrom("Fix", "Ship", "Δelta", "任务", "😀 party", "Ünïcödé", "x", "  padded  "),
  fc.string({ maxLength: 30 }),
).map(([head, tail]) => `${head} ${tail}`);
const title = fc.oneof(
  { weight: 12, arbitrary: validTitle },
  { weight: 3, arbitrary: nastyString },
  { weight: 1, arbitrary: anyJson },
);
const description = fc.oneof(
  { weight: 10, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 2, arbitrary: fc.constantFrom("line 1\nline 2\ttab\r\n", "x".repeat(10_000)) },
  { weight: 3, arbitrary: nastyString },
  { weight: 1, arbitrary: anyJson },
);
const position = fc.oneof(
  { weight: 12, arbitrary: fc.nat(8) },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 1, arbitrary: anyJson },
);
const version = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 4 }) },
  // Valid, however far from any task's version: the edges of the store's integers.
  { weight: 1, arbitrary: fc.constantFrom(2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1) },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 1, arbitrary: anyJson },
);
const idField = (kinds: RefKind[]) =>
  fc.oneof(
    { weight: 14, arbitrary: ref(kinds[0]) },
    { weight: 2, arbitrary: fc.constantFrom(...kinds).chain(ref) },
    { weight: 2, arbitrary: nastyString },
    { weight: 1, arbitrary: anyJson },
  );
const listId = idField(["list", "foreignList", "sideList"]);
const assigneeId = fc.oneof(
  { weight: 5, arbitrary: idField(["user", "outsider"]) },
  { weight: 2, arbitrary: fc.constant(null) },
);
const EMAILS = [
  "alice@example.com",
  "bob@example.com",
  "BOB@EXAMPLE.COM",
  "carol@example.com",
  "dave@example.com",
  "guest@example.com",
  "nobody@example.com",
];
const email = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...EMAILS) },
  { weight: 2, arbitrary: fc.emailAddress() },
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: anyJson },
);
const password = fc.oneof(
  { weight: 2, arbitrary: fc.constant("liveboard") },
  { weight: 3, arbitrary: fc.string({ minLength: 8, maxLength: 30 }) },
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: anyJson },
);

/** An object of these fields (the required ones present mostly) and now and then an extra one. */
function objectOf(
  fields: Record<string, fc.Arbitrary<unknown>>,
  required: string[],
): fc.Arbitrary<Json> {
  return fc.tuple(
    fc.oneof(
      { weight: 12, arbitrary: fc.record(fields, { requiredKeys: required }) },
      { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
    ),
    sometimes(fc.tuple(nastyKey, anyJson), 12),
  ).map(([object, extra]) => {
    const out: Json = { ...object };
    if (extra) {
      Object.defineProperty(out, extra[0], {
        value: extra[1],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  });
}

const BAD_UTF8 = [
  [0xff],
  [0xc3, 0x28],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xef, 0xbb, 0xbf, 0x7b, 0x7d],
  [0x7b, 0x22, 0x74, 0x69, 0x74, 0x6c, 0x65, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d],
];

/** A body: mostly the route's JSON object, else anything a client could send. */
function bodyOf(object: fc.Arbitrary<unknown>): fc.Arbitrary<Body> {
  return fc.oneof(
    { weight: 36, arbitrary: object.map((value): Body => ({ kind: "json", value })) },
    { weight: 1, arbitrary: anyJson.map((value): Body => ({ kind: "json", value })) },
    { weight: 2, arbitrary: malformedJson.map((text): Body => ({ kind: "text", text })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...BAD_UTF8).map((bytes): Body => ({ kind: "bytes", bytes })),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("huge" as const),
        size: fc.constantFrom(MAX_BODY_BYTES + 1, 70_000, 250_000),
        chunked: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("chunked" as const),
        value: object,
        pieces: fc.integer({ min: 1, max: 5 }),
      }),
    },
  );
}

const contentType = fc.oneof(
  { weight: 50, arbitrary: fc.constant(undefined) },
  {
    weight: 6,
    arbitrary: fc.constantFrom<string | null>(
      null,
      "",
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "application/merge-patch+json",
      "application/vnd.api+json;v=2",
      "application/json;",
      "text/plain",
      "text/json",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonx",
      "application/json garbage",
      "application/+json",
      "json",
    ),
  },
  { weight: 1, arbitrary: nastyString.map(headerSafe) },
);

const authOf = (...choices: [number, Auth][]) => weighted<Auth>(...choices);
/** Mostly Alice; sometimes a member, a non-member, the admin, nobody or a broken credential. */
const anyAuth = authOf(
  [24, "alice"],
  [2, "bob"],
  [2, "eve"],
  [1, "carol"],
  [1, "dave"],
  [1, "none"],
  [1, "bad"],
  [1, "raw"],
  [2, "cookieAlice"],
);
const adminAuth = authOf([5, "carol"], [1, "alice"], [1, "none"], [1, "bad"], [1, "raw"]);
const metricsAuth = authOf([3, "metrics"], [1, "carol"], [1, "alice"], [1, "none"], [1, "raw"]);
const anonAuth = authOf([5, "none"], [1, "alice"], [1, "bad"]);
const logoutAuth = authOf([3, "dave"], [1, "cookieDave"], [1, "none"], [1, "bad"], [1, "raw"]);

const rawAuth: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(
    fc.constant("authorization"),
    fc.constantFrom(
      "Basic Zm9vOmJhcg==",
      "Bearer",
      "Bearer ",
      "Bearer a b",
      "Token abc",
      "",
      "bearer",
      "Bearer " + "x".repeat(5000),
      "Bearer \u00e9t\u00e9",
      "Bearer %00",
    ),
  ),
  fc.tuple(
    fc.constant("cookie"),
    fc.constantFrom(
      "session=",
      "session=%E0%A4%A",
      "session=bad",
      "session=a; session=b",
      "other=1",
      "session",
      "session=" + "x".repeat(5000),
      "; ; session==",
    ),
  ),
  fc.tuple(fc.constantFrom("authorization", "cookie"), nastyString.map(headerSafe)),
);

const origin = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "same",
      "http://evil.example",
      "null",
      "http://127.0.0.1:1",
      "http://localhost",
      "file://",
    ),
  },
  { weight: 1, arbitrary: nastyString.map(headerSafe) },
);

const headerValue = fc.oneof(
  fc.constantFrom("", "1", "a, b", "x".repeat(4000), "-1", "gzip, br", "bytes=0-1"),
  nastyString.map(headerSafe),
);
const extraHeaders = fc.array(
  fc.tuple(
    fc.constantFrom(
      "x-request-id",
      "accept",
      "x-forwarded-for",
      "last-event-id",
      "if-none-match",
      "range",
      "accept-encoding",
      "x-http-method-override",
      "forwarded",
      "content-encoding",
    ),
    headerValue,
  ),
  { maxLength: 2 },
);

const idempotencyKey = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: ref("freshKey") },
  { weight: 2, arbitrary: ref("reusedKey") },
  {
    weight: 1,
    arbitrary: fc.constantFrom("", "a b", "x".repeat(201), "é", "a/b", "k;1", "fuzz-used-key"),
  },
);

const cursorText = fc.oneof(
  { weight: 4, arbitrary: ref("cursor") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "0",
      "-1",
      "1.5",
      " 3 ",
      "abc",
      "",
      "9".repeat(15),
      "9".repeat(16),
      "１",
      "0x10",
      "1e3",
      "+1",
      "00012",
    ),
  },
  { weight: 1, arbitrary: nastyString },
);
const MIN_DATE = new Date("0000-01-01T00:00:00.000Z");
const MAX_DATE = new Date("9999-12-31T23:59:59.999Z");
const isoText = fc.oneof(
  fc.tuple(
    fc.date({ min: MIN_DATE, max: MAX_DATE, noInvalidDate: true }),
    fc.constantFrom("full", "date", "zoneless", "offset", "lower", "nanos"),
  ).map(([date, form]) => {
    const iso = date.toISOString();
    if (form === "date") return iso.slice(0, 10);
    if (form === "zoneless") return iso.slice(0, 19);
    if (form === "offset") return iso.replace("Z", "+05:30");
    if (form === "lower") return iso.toLowerCase();
    if (form === "nanos") return iso.replace("Z", "123456Z");
    return iso;
  }),
  fc.constantFrom(
    // The edges of what the ISO form can name.
    "0000-01-01",
    "0000-12-31T23:59:59Z",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999Z",
    "9999-12-31T23:59:59.999999999Z",
    "9999-12-31T23:59:59-23:59",
    "2026-13-45T99:99",
    "2026-02-30",
    "2026-01-01T00:00:00+25:00",
    "2026-1-1",
    "-000001-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z",
    "1970-01-01T00:00:00-23:59",
  ),
);
const query = (name: string, value: fc.Arbitrary<unknown>) =>
  fc.option(value, { freq: 6, nil: undefined }).map((v): [string, unknown][] =>
    v === undefined ? [] : [[name, v]]
  );
const boardList = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.array(
      fc.oneof(
        { weight: 8, arbitrary: ref("board") },
        { weight: 1, arbitrary: ref("foreignBoard") },
        { weight: 1, arbitrary: nastyString },
      ),
      { minLength: 1, maxLength: 22 },
    ),
  },
  { weight: 1, arbitrary: nastyString },
);
const extraQuery = fc.array(
  fc.tuple(
    fc.constantFrom("x", "since", "cursor", "boards", "token", "lastEventId", ""),
    nastyString,
  ),
  { maxLength: 2 },
);

// The history routes' queries and the seen body (README, History, trash and undo).
const limitText = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 200 }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "0",
      "1",
      "200",
      "201",
      "-1",
      "1.5",
      "abc",
      "",
      "9999",
      "10000",
      "0050",
      " 5",
      "1e2",
      "+5",
      "５",
    ),
  },
  { weight: 1, arbitrary: nastyString },
);
/** An id in a query: of these kinds mostly, else empty, at and past the limit, or any string. */
const idText = (kinds: RefKind[]) =>
  fc.oneof(
    { weight: 6, arbitrary: ref(kinds[0]) },
    { weight: 2, arbitrary: fc.constantFrom(...kinds).chain(ref) },
    { weight: 2, arbitrary: nastyString },
    {
      weight: 1,
      arbitrary: fc.constantFrom("", "x".repeat(100), "x".repeat(101), "x".repeat(20_000)),
    },
  );
/** A query key no route knows (the history's and archive's queries are strict). */
const noiseKey = fc.oneof(
  fc.constantFrom(
    "x",
    "cursor",
    "q",
    "Limit",
    "before[]",
    "taskid",
    "__proto__",
    "constructor",
    "toString",
    "",
  ),
  nastyKey,
);
const pair = (name: fc.Arbitrary<string>, value: fc.Arbitrary<unknown>) =>
  fc.tuple(name, value).map((entry): [string, unknown] => entry);
/** History queries: any of its keys, repeated now and then, and unknown ones. */
const historyQuery = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: pair(fc.constant("before"), seqText) },
    { weight: 2, arbitrary: pair(fc.constant("after"), seqText) },
    { weight: 3, arbitrary: pair(fc.constant("limit"), limitText) },
    {
      weight: 2,
      arbitrary: pair(
        fc.constant("taskId"),
        idText(["task", "trashTask", "archivedTask", "foreignTask"]),
      ),
    },
    {
      weight: 2,
      arbitrary: pair(fc.constant("listId"), idText(["list", "trashList", "foreignList"])),
    },
    { weight: 2, arbitrary: pair(fc.constant("actorId"), idText(["user", "outsider"])) },
    { weight: 1, arbitrary: pair(noiseKey, nastyString) },
  ),
  { maxLength: 4 },
);
/** What an archive search looks for: the stocked titles in every letter case, Unicode that folds. */
const needle = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "card",
      "CARD",
      "Archived",
      "list",
      "ΔELTA",
      "δ",
      "İ",
      "i\u0307",
      "ß",
      "SS",
      "ǅ",
      "😀",
      "",
      " ",
      "x".repeat(200),
      "x".repeat(201),
      "%",
      "_",
      ".*",
      "\\",
    ),
  },
  { weight: 2, arbitrary: validTitle },
  { weight: 2, arbitrary: nastyString },
);
const archiveQuery = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: pair(fc.constant("q"), needle) },
    { weight: 1, arbitrary: pair(noiseKey, nastyString) },
  ),
  { maxLength: 3 },
);
/** A conflict's field: title or description, else anything. */
const conflictField = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom("title", "description") },
  { weight: 1, arbitrary: fc.constantFrom("assigneeId", "version", "Title", "", "__proto__") },
  { weight: 1, arbitrary: anyJson },
);
const conflictBody = objectOf(
  { field: conflictField, value: description, baseVersion: version },
  ["field", "value", "baseVersion"],
);
const cleanConflict = {
  field: fc.constantFrom("title", "description"),
  value: fc.string({ maxLength: 40 }),
  baseVersion: fc.integer({ min: 1, max: 4 }),
};
const seenCursor = fc.oneof(
  { weight: 8, arbitrary: ref("cursor") },
  { weight: 2, arbitrary: fc.constantFrom(0, 2 ** 31, Number.MAX_SAFE_INTEGER, 2 ** 53) },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 1, arbitrary: anyJson },
);

interface RouteSpec {
  method: string;
  path: string;
  body?: fc.Arbitrary<unknown>;
  /** A body with only valid fields (sent as often as the fuzzed one), so changes happen. */
  clean?: fc.Arbitrary<Json>;
  query?: fc.Arbitrary<[string, unknown][]>;
  auth?: fc.Arbitrary<Auth>;
}

/** A request to a route: mostly its method and shape, its parameters and every header fuzzed. */
function requestTo(
  spec: RouteSpec,
  path: fc.Arbitrary<(string | Segment)[]> = pathOf(spec.path),
): fc.Arbitrary<HttpInput> {
  const route = `${spec.method} ${spec.path}`;
  return fc.record({
    method: fc.oneof(
      { weight: 16, arbitrary: fc.constant(spec.method) },
      { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
    ),
    path,
    query: fc.tuple(
      spec.query ?? fc.constant<[string, unknown][]>([]),
      sometimes(extraQuery, 6),
    ).map(([own, extra = []]) => [...own, ...extra]),
    auth: spec.auth ?? anyAuth,
    rawAuth,
    origin,
    headers: extraHeaders,
    key: idempotencyKey,
    body: spec.clean
      ? fc.oneof(bodyOf(spec.body!), spec.clean.map((value): Body => ({ kind: "json", value })))
      : spec.body
      ? bodyOf(spec.body)
      : sometimes(bodyOf(anyJson), 8),
    contentType,
  }).map((input) => ({ route, ...input }));
}

const titleBody = objectOf({ title }, ["title"]);
const ROUTES: [number, RouteSpec][] = [
  [1, { method: "GET", path: "/healthz" }],
  [1, { method: "GET", path: "/metrics", auth: metricsAuth }],
  [1, { method: "GET", path: "/admin/connections", auth: adminAuth }],
  [
    1,
    {
      method: "POST",
      path: "/admin/users/:victim/password",
      body: objectOf({ password }, ["password"]),
      auth: adminAuth,
    },
  ],
  [1, { method: "POST", path: "/admin/users/:victim/deactivate", auth: adminAuth }],
  [1, { method: "POST", path: "/admin/users/:victim/activate", auth: adminAuth }],
  [
    2,
    {
      method: "POST",
      path: "/signup",
      body: objectOf({ email, name: title, password }, ["email", "name", "password"]),
      auth: anonAuth,
    },
  ],
  [
    2,
    {
      method: "POST",
      path: "/login",
      body: objectOf({ email, password }, ["email", "password"]),
      auth: anonAuth,
    },
  ],
  [1, { method: "POST", path: "/logout", auth: logoutAuth }],
  [1, { method: "GET", path: "/me" }],
  [1, { method: "GET", path: "/boards" }],
  [2, { method: "POST", path: "/boards", body: titleBody }],
  [2, { method: "GET", path: "/boards/:board" }],
  [2, { method: "PATCH", path: "/boards/:board", body: titleBody }],
  [1, { method: "DELETE", path: "/boards/:board" }],
  [1, { method: "GET", path: "/boards/:board/members" }],
  [2, { method: "POST", path: "/boards/:board/members", body: objectOf({ email }, ["email"]) }],
  [2, { method: "DELETE", path: "/boards/:board/members/:user" }],
  [
    2,
    {
      method: "POST",
      path: "/boards/:board/lists",
      body: objectOf({ title, position }, ["title"]),
    },
  ],
  [2, { method: "PATCH", path: "/lists/:list", body: objectOf({ title, position }, []) }],
  [1, { method: "DELETE", path: "/lists/:list" }],
  [1, { method: "GET", path: "/boards/:board/tasks" }],
  [
    6,
    {
      method: "POST",
      path: "/tasks",
      body: objectOf({ listId, title, description, assigneeId, position }, ["listId", "title"]),
      clean: fc.record({
        listId: ref("list"),
        title: validTitle,
        description: fc.string({ maxLength: 40 }),
        position: fc.nat(6),
      }, { requiredKeys: ["listId", "title"] }),
    },
  ],
  [2, { method: "GET", path: "/tasks/:task" }],
  [
    4,
    {
      method: "PATCH",
      path: "/tasks/:task",
      body: objectOf({ title, description, assigneeId, version }, ["title"]),
      clean: fc.record({ title: validTitle, description: fc.string({ maxLength: 40 }) }, {
        requiredKeys: ["title"],
      }),
    },
  ],
  [
    4,
    {
      method: "PATCH",
      path: "/tasks/:task/move",
      body: objectOf({ listId, position, version }, ["listId", "position"]),
      clean: fc.record({ listId: ref("list"), position: fc.nat(6) }),
    },
  ],
  [2, { method: "DELETE", path: "/tasks/:task" }],
  [
    2,
    {
      method: "GET",
      path: "/boards/:board/events",
      query: query("lastEventId", cursorText),
    },
  ],
  [
    2,
    {
      method: "GET",
      path: "/events",
      query: fc.tuple(query("boards", boardList), query("lastEventId", cursorText))
        .map(([a, b]) => [...a, ...b]),
    },
  ],
  [
    2,
    {
      method: "GET",
      path: "/boards/:board/updates",
      query: query("since", fc.oneof(cursorText, isoText)),
    },
  ],
  [2, { method: "GET", path: "/boards/:board/poll", query: query("cursor", cursorText) }],
  [1, { method: "GET", path: "/ws", query: query("token", nastyString) }],
  [1, { method: "GET", path: "/" }],
  // History, trash and undo.
  [3, { method: "GET", path: "/boards/:board/history", query: historyQuery }],
  [1, { method: "GET", path: "/boards/:board/trash" }],
  [2, { method: "GET", path: "/boards/:board/archive", query: archiveQuery }],
  [2, { method: "POST", path: "/tasks/:trashTask/restore" }],
  [1, { method: "POST", path: "/lists/:trashList/restore" }],
  [2, { method: "POST", path: "/tasks/:task/archive" }],
  [2, { method: "POST", path: "/tasks/:archivedTask/unarchive" }],
  [1, { method: "POST", path: "/lists/:list/archive" }],
  [1, { method: "POST", path: "/lists/:archivedList/unarchive" }],
  [3, { method: "POST", path: "/boards/:homeBoard/events/:seq/revert" }],
  [
    2,
    {
      method: "POST",
      path: "/tasks/:task/conflicts",
      body: conflictBody,
      clean: fc.record(cleanConflict),
    },
  ],
  [1, { method: "DELETE", path: "/conflicts/:conflict" }],
  [
    2,
    {
      method: "PUT",
      path: "/boards/:board/seen",
      body: objectOf({ cursor: seenCursor }, ["cursor"]),
      clean: fc.record({ cursor: ref("cursor") }),
    },
  ],
];

const STATIC_PATHS = [
  "/index.html",
  "/app.css",
  "/favicon.svg",
  "/js/main.js",
  "/js/protocol.js",
  "/screenshot.png",
  "/../deno.json",
  "/js/../../deno.json",
  "/%2e%2e/deno.json",
  "/%2e%2e%2fdeno.json",
  "/..%2f..%2fetc%2fpasswd",
  "/.env",
  "/.git/config",
  "/static/index.html",
  "/index.html%00.js",
  "/INDEX.HTML",
  "/js/",
  "/js",
  "/" + "a".repeat(65) + ".js",
  "/" + "a/".repeat(80) + "b.js",
  "/" + "a".repeat(300) + ".js",
  "/favicon.ico",
  "/x.webmanifest",
  "//etc/passwd",
  "/\\..\\deno.json",
  "/js/main.js/",
];
const staticPath = fc.oneof(
  fc.constantFrom(...STATIC_PATHS),
  nastyString.map((name) => `/${encodeSegment(name)}.js`),
).map((path) => [path.slice(1)]);
const randomPath = fc.array(nastyString, { minLength: 1, maxLength: 4 })
  .map((parts) => parts.map(encodeSegment));

/** Any request to any route (or none), valid or not. */
const mixedRequest: fc.Arbitrary<HttpInput> = fc.oneof(
  ...ROUTES.map(([weight, spec]) => ({ weight, arbitrary: requestTo(spec) })),
  { weight: 2, arbitrary: requestTo({ method: "GET", path: "/<static>" }, staticPath) },
  {
    weight: 2,
    arbitrary: requestTo(
      { method: "GET", path: "/<random>" },
      randomPath.map((parts): string[] => parts),
    ),
  },
);

// ---- REST inputs that must be refused --------------------------------------------------------

const INVALID_TITLES: unknown[] = [
  "",
  "   ",
  "\u200b",
  "\u200b\u200c\u200d\ufeff",
  "\u3164",
  "\u115f\u1160",
  "\u202eabc",
  "a\u202db",
  "a\u0000b",
  "a\nb",
  "a\u2028b",
  "a\u0085b",
  "a\u007fb",
  "\ud800abc",
  "abc\udfff",
  "x".repeat(201),
  "😀".repeat(101),
  null,
  5,
  true,
  [],
  {},
  ["x"],
];
const INVALID_DESCRIPTIONS: unknown[] = [
  "x".repeat(10_001),
  "a\u0000",
  "\u000b",
  "\u001b[31m",
  "\ud800",
  5,
  null,
  [],
];
const INVALID_POSITIONS: unknown[] = [-1, 1.5, 1_000_001, 1e308, -0.5, "1", null, true, [], {}];
const INVALID_VERSIONS: unknown[] = [0, -1, 1.5, "1", null, true, [], 2 ** 53 + 2];
const INVALID_IDS: unknown[] = ["", "x".repeat(101), 5, null, [], {}, true];
const INVALID_EMAILS: unknown[] = [
  "",
  "not-an-email",
  "a@",
  "@example.com",
  "a b@example.com",
  "x".repeat(250) + "@example.com",
  5,
  null,
  [],
];
const INVALID_PASSWORDS: unknown[] = ["", "short", "x".repeat(1025), 5, null, []];

/** What makes a body invalid: one field set to a bad value, one dropped, or one added. */
type Defect =
  | { set: string; value: unknown }
  | { drop: string[] }
  | { add: string; value: unknown };

function applyDefect(base: Json, defect: Defect): Json {
  const out: Json = { ...base };
  if ("set" in defect) out[defect.set] = defect.value;
  else if ("drop" in defect) { for (const field of defect.drop) delete out[field]; }
  else {
    Object.defineProperty(out, defect.add, {
      value: defect.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** An unknown field (never one of the route's). */
const unknownField = (known: string[]) =>
  fc.record({
    add: nastyKey.filter((key) => !known.includes(key)),
    value: anyJson,
  }).map((defect): Defect => defect);

const setTo = (field: string, values: unknown[]) =>
  fc.constantFrom(...values).map((value): Defect => ({ set: field, value }));

interface BodyRoute {
  method: string;
  path: string;
  auth: Auth;
  /** A body the route would accept (ids are references). */
  base: Json;
  /** Defects that make it invalid. */
  defects: fc.Arbitrary<Defect>[];
}

const BODY_ROUTES: BodyRoute[] = [
  {
    method: "POST",
    path: "/boards",
    auth: "alice",
    base: { title: "Refused board" },
    defects: [
      setTo("title", INVALID_TITLES),
      fc.constant({ drop: ["title"] }),
      unknownField(["title"]),
    ],
  },
  {
    method: "PATCH",
    path: "/boards/:home",
    auth: "alice",
    base: { title: "Renamed" },
    defects: [
      setTo("title", INVALID_TITLES),
      fc.constant({ drop: ["title"] }),
      unknownField(["title"]),
    ],
  },
  {
    method: "POST",
    path: "/boards/:home/members",
    auth: "alice",
    base: { email: "dave@example.com" },
    defects: [
      setTo("email", INVALID_EMAILS),
      // An existing member, or nobody at all.
      setTo("email", [
        "bob@example.com",
        "CAROL@example.com",
        "alice@example.com",
        "guest@example.com",
      ]),
      setTo("email", ["nobody@example.com", "dave@example.org"]),
      fc.constant({ drop: ["email"] }),
      unknownField(["email"]),
    ],
  },
  {
    method: "POST",
    path: "/boards/:home/lists",
    auth: "alice",
    base: { title: "Refused list", position: 0 },
    defects: [
      setTo("title", INVALID_TITLES),
      setTo("position", INVALID_POSITIONS),
      fc.constant({ drop: ["title"] }),
      unknownField(["title", "position"]),
    ],
  },
  {
    method: "PATCH",
    path: "/lists/:homeList",
    auth: "alice",
    base: { title: "Renamed list" },
    defects: [
      setTo("title", INVALID_TITLES),
      setTo("position", INVALID_POSITIONS),
      fc.constant({ drop: ["title"] }),
      unknownField(["title", "position"]),
    ],
  },
  {
    method: "POST",
    path: "/tasks",
    auth: "alice",
    base: { listId: new Ref("homeList", 0), title: "Refused task" },
    defects: [
      setTo("title", INVALID_TITLES),
      setTo("description", INVALID_DESCRIPTIONS),
      setTo("position", INVALID_POSITIONS),
      setTo("listId", [...INVALID_IDS, "no-such-list", "list-b2-ideas"]),
      setTo("assigneeId", [...INVALID_IDS.filter((id) => id !== null), "no-such-user"]),
      ref("outsider").map((value): Defect => ({ set: "assigneeId", value })),
      fc.constantFrom<Defect>({ drop: ["title"] }, { drop: ["listId"] }),
      unknownField(["listId", "title", "description", "assigneeId", "position"]),
    ],
  },
  {
    method: "PATCH",
    path: "/tasks/:homeTask",
    auth: "alice",
    base: { title: "Renamed task" },
    defects: [
      setTo("title", INVALID_TITLES),
      setTo("description", INVALID_DESCRIPTIONS),
      setTo("version", INVALID_VERSIONS),
      setTo("version", [1_000_000, 999_999_999]),
      setTo("assigneeId", [...INVALID_IDS.filter((id) => id !== null), "no-such-user"]),
      ref("outsider").map((value): Defect => ({ set: "assigneeId", value })),
      fc.constant({ drop: ["title"] }),
      unknownField(["title", "description", "assigneeId", "version"]),
    ],
  },
  {
    method: "PATCH",
    path: "/tasks/:homeTask/move",
    auth: "alice",
    base: { listId: new Ref("homeList", 0), position: 0 },
    defects: [
      setTo("position", INVALID_POSITIONS),
      setTo("version", INVALID_VERSIONS),
      setTo("version", [1_000_000]),
      setTo("listId", [...INVALID_IDS, "no-such-list", "list-b2-doing"]),
      ref("sideList").map((value): Defect => ({ set: "listId", value })),
      fc.constantFrom<Defect>({ drop: ["listId"] }, { drop: ["position"] }),
      unknownField(["listId", "position", "version"]),
    ],
  },
  {
    method: "POST",
    path: "/signup",
    auth: "none",
    base: { email: new Ref("freshEmail", 0), name: "Newcomer", password: "long enough" },
    defects: [
      setTo("email", [...INVALID_EMAILS, "alice@example.com", "Bob@Example.com", ADMIN_EMAIL]),
      setTo("name", [...INVALID_TITLES, "x".repeat(101)]),
      setTo("password", INVALID_PASSWORDS),
      fc.constantFrom<Defect>({ drop: ["email"] }, { drop: ["name"] }, { drop: ["password"] }),
      unknownField(["email", "name", "password"]),
    ],
  },
  {
    method: "POST",
    path: "/login",
    auth: "none",
    base: { email: "alice@example.com", password: "wrong password" },
    defects: [
      setTo("email", ["", "   ", "x".repeat(255), 5, null, "nobody@example.com", "\u0000"]),
      setTo("password", ["", "x".repeat(1025), 5, null, "not it", "liveboard "]),
      fc.constantFrom<Defect>({ drop: ["email"] }, { drop: ["password"] }),
      unknownField(["email", "password"]),
    ],
  },
  {
    method: "POST",
    path: "/admin/users/:victim/password",
    auth: "carol",
    base: { password: "a new password" },
    defects: [
      setTo("password", INVALID_PASSWORDS),
      fc.constant({ drop: ["password"] }),
      unknownField(["password"]),
    ],
  },
  {
    method: "POST",
    path: "/tasks/:homeTask/conflicts",
    auth: "alice",
    base: { field: "description", value: "Lost text", baseVersion: 1 },
    defects: [
      setTo("field", ["assigneeId", "version", "Title", "", null, 5, ["title"]]),
      setTo("value", INVALID_DESCRIPTIONS),
      setTo("baseVersion", INVALID_VERSIONS),
      fc.constantFrom<Defect>({ drop: ["field"] }, { drop: ["value"] }, { drop: ["baseVersion"] }),
      unknownField(["field", "value", "baseVersion"]),
    ],
  },
  {
    method: "PUT",
    path: "/boards/:home/seen",
    auth: "alice",
    base: { cursor: 0 },
    defects: [
      setTo("cursor", [
        -1,
        -0.5,
        1.5,
        "1",
        "0",
        null,
        true,
        [],
        {},
        [1],
        2 ** 53,
        Number.MAX_SAFE_INTEGER + 2,
        1e308,
        -1e308,
      ]),
      fc.constant({ drop: ["cursor"] }),
      unknownField(["cursor"]),
    ],
  },
];

/** The body route of that method and path. */
function bodyRoute(method: string, path: string): BodyRoute {
  const route = BODY_ROUTES.find((route) => route.method === method && route.path === path);
  if (!route) throw new Error(`no body route ${method} ${path}`);
  return route;
}

/** A body route with a defect, or with a body that is not a JSON object at all. */
const badBodyRequest: fc.Arbitrary<HttpInput> = fc.constantFrom(...BODY_ROUTES).chain((route) =>
  fc.record({
    body: fc.oneof(
      {
        weight: 6,
        arbitrary: fc.oneof(...route.defects).map((defect): Body => ({
          kind: "json",
          value: applyDefect(route.base, defect),
        })),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom(null, [], [route.base], "x", 5, true).map((value): Body => ({
          kind: "json",
          value,
        })),
      },
      { weight: 1, arbitrary: malformedJson.map((text): Body => ({ kind: "text", text })) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(...BAD_UTF8.slice(0, 4)).map((bytes): Body => ({
          kind: "bytes",
          bytes,
        })),
      },
      {
        weight: 1,
        arbitrary: fc.boolean().map((chunked): Body => ({
          kind: "huge",
          size: MAX_BODY_BYTES + 1,
          chunked,
        })),
      },
    ),
    contentType: fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom(null, "text/plain", "application/jsonx", "") },
    ),
  }).map(({ body, contentType }) =>
    refusedInput(route.method, route.path, route.auth, {
      body,
      contentType,
      // A valid body sent as another type is refused for its type.
    })
  )
);

/** Builds a refused-test input (paths use `:home`, `:side` and `:kind` references). */
function refusedInput(
  method: string,
  path: string,
  auth: Auth,
  extra: Partial<HttpInput> = {},
): HttpInput {
  const parts = path.split("/").slice(1).map((part): string | Segment =>
    part.startsWith(":") ? { value: new Ref(part.slice(1) as RefKind, 0), encoding: "uri" } : part
  );
  return {
    route: `${method} ${path}`,
    method,
    path: parts,
    query: [],
    auth,
    rawAuth: ["authorization", "Bearer"],
    headers: [],
    ...extra,
  };
}

/** The history's and the archive's query keys (any other is refused). */
const KNOWN_QUERY_KEYS = ["before", "after", "limit", "taskId", "listId", "actorId", "q"];

/** A segment naming something that does not exist or is not Alice's to see. */
const absentId = fc.oneof(
  fc.constantFrom("no-such-id", "board-2", "task-5", "list-b2-ideas", "x".repeat(300), "%00"),
  fc.string({ minLength: 1, maxLength: 20 }).map((text) => `nope-${text}`),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }).map((text) => `nope-${text}`),
);

/** Every route Alice may use on her home board, with a body it would accept. */
const MEMBER_ROUTES: [string, string, Json | undefined][] = [
  ["GET", "/boards/:home", undefined],
  ["PATCH", "/boards/:home", { title: "Renamed" }],
  ["DELETE", "/boards/:home", undefined],
  ["GET", "/boards/:home/members", undefined],
  ["POST", "/boards/:home/members", { email: "dave@example.com" }],
  ["DELETE", "/boards/:home/members/:user", undefined],
  ["POST", "/boards/:home/lists", { title: "A list" }],
  ["PATCH", "/lists/:homeList", { title: "A list" }],
  ["DELETE", "/lists/:homeList", undefined],
  ["GET", "/boards/:home/tasks", undefined],
  ["POST", "/tasks", { listId: new Ref("homeList", 0), title: "A task" }],
  ["GET", "/tasks/:homeTask", undefined],
  ["PATCH", "/tasks/:homeTask", { title: "A task" }],
  ["PATCH", "/tasks/:homeTask/move", { listId: new Ref("homeList", 0), position: 0 }],
  ["DELETE", "/tasks/:homeTask", undefined],
  ["GET", "/boards/:home/events", undefined],
  ["GET", "/boards/:home/updates", undefined],
  ["GET", "/boards/:home/poll", undefined],
  ["GET", "/boards/:home/history", undefined],
  ["GET", "/boards/:home/trash", undefined],
  ["GET", "/boards/:home/archive", undefined],
  // The stocked shelf is on the side board (Alice's too).
  ["POST", "/tasks/:trashTask/restore", undefined],
  ["POST", "/lists/:trashList/restore", undefined],
  ["POST", "/tasks/:homeTask/archive", undefined],
  ["POST", "/tasks/:archivedTask/unarchive", undefined],
  ["POST", "/lists/:homeList/archive", undefined],
  ["POST", "/lists/:archivedList/unarchive", undefined],
  ["POST", "/boards/:home/events/:homeSeq/revert", undefined],
  ["PUT", "/boards/:home/seen", { cursor: 0 }],
  ["POST", "/tasks/:homeTask/conflicts", { field: "title", value: "Lost", baseVersion: 1 }],
  ["DELETE", "/conflicts/:conflict", undefined],
];
const OWNER_ONLY = MEMBER_ROUTES.filter(([method, path]) =>
  (method === "PATCH" || method === "DELETE") && path === "/boards/:home" ||
  path === "/boards/:home/members" && method === "POST"
);
const FOREIGN_ORIGINS = ["http://evil.example", "null", "http://127.0.0.1:1", "http://localhost"];

/** Inputs that must all be refused, and change nothing. */
const refusedRequest: fc.Arbitrary<HttpInput> = fc.oneof(
  // No valid credential, on every route that needs one.
  {
    weight: 3,
    arbitrary: fc.tuple(
      fc.constantFrom(
        ...MEMBER_ROUTES,
        ["GET", "/me", undefined],
        ["GET", "/boards", undefined],
        ["POST", "/boards", { title: "x" }],
        ["POST", "/logout", undefined],
        ["GET", "/admin/connections", undefined],
        ["GET", "/metrics", undefined],
        ["POST", "/admin/users/:victim/deactivate", undefined],
      ),
      weighted<Auth>([2, "none"], [2, "bad"], [3, "raw"]),
      rawAuth,
    ).map(([[method, path, json], auth, raw]) =>
      refusedInput(method, path, auth, {
        rawAuth: raw,
        body: json && { kind: "json", value: json },
      })
    ),
  },
  // A change made with the session cookie from another origin.
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom(
        ...MEMBER_ROUTES.filter(([method]) => method !== "GET"),
        ["POST", "/boards", { title: "x" }],
        ["POST", "/logout", undefined],
      ),
      fc.constantFrom(...FOREIGN_ORIGINS),
    ).map(([[method, path, json], origin]) =>
      refusedInput(method, path, path === "/logout" ? "cookieDave" : "cookieAlice", {
        origin,
        body: json && { kind: "json", value: json },
      })
    ),
  },
  // A non-member, on every route of the board.
  {
    weight: 3,
    arbitrary: fc.constantFrom(...MEMBER_ROUTES).map(([method, path, json]) =>
      refusedInput(method, path, "eve", { body: json && { kind: "json", value: json } })
    ),
  },
  // A member doing an owner's action, or removing someone else.
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.constantFrom(...OWNER_ONLY).map(([method, path, json]) =>
        refusedInput(method, path, "bob", { body: json && { kind: "json", value: json } })
      ),
      fc.constantFrom("user-1", "user-3", "user-guest").map((user) =>
        refusedInput("DELETE", `/boards/:home/members/${user}`, "bob")
      ),
    ),
  },
  // An id that is not there (or not Alice's), on every route that takes one.
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom(...MEMBER_ROUTES), absentId).map(
      ([[method, path, json], id]) =>
        refusedInput(
          method,
          path.replace(
            /:home\b|:homeList|:homeTask|:trashTask|:trashList|:archivedTask|:archivedList|:conflict/,
            encodeSegment(id),
          ),
          "alice",
          {
            // POST /tasks names its list in the body.
            body: path === "/tasks"
              ? { kind: "json", value: { listId: id, title: "A task" } }
              : json && { kind: "json", value: json },
          },
        ),
    ),
  },
  // A body that fails validation, or is not a JSON object, too big, not JSON at all.
  { weight: 8, arbitrary: badBodyRequest },
  // A malformed idempotency key, or a key used before for another request (PUT seen takes
  // none: it ignores the header).
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constantFrom(
        ...MEMBER_ROUTES.filter(([method, path]) => method !== "GET" && !path.endsWith("/seen")),
      ),
      fc.constantFrom("", "a b", "x".repeat(201), "é", "a/b", "k;1", "fuzz-used-key"),
    ).map(([[method, path, json], key]) =>
      refusedInput(method, path, "alice", { key, body: json && { kind: "json", value: json } })
    ),
  },
  // The rules of the board: owner leaving, member twice, nobody, assignee, list of another board.
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      refusedInput("DELETE", "/boards/:home/members/user-1", "alice"),
      refusedInput("POST", "/boards/:home/members", "alice", {
        body: { kind: "json", value: { email: "bob@example.com" } },
      }),
      refusedInput("POST", "/boards/:home/members", "alice", {
        body: { kind: "json", value: { email: "nobody@example.com" } },
      }),
      refusedInput("PATCH", "/tasks/:homeTask/move", "alice", {
        body: { kind: "json", value: { listId: new Ref("sideList", 0), position: 0 } },
      }),
      refusedInput("PATCH", "/tasks/:homeTask", "alice", {
        body: { kind: "json", value: { title: "Stale", version: 1_000_000 } },
      }),
      refusedInput("POST", "/tasks", "alice", {
        body: {
          kind: "json",
          value: { listId: new Ref("homeList", 0), title: "x", assigneeId: new Ref("outsider", 1) },
        },
      }),
    ),
  },
  // Admin routes: not an admin, no such account, or Carol deactivating herself.
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.tuple(
        fc.constantFrom(
          "/admin/users/:victim/deactivate",
          "/admin/users/:victim/activate",
          "/admin/users/:victim/password",
        ),
        fc.constantFrom<Auth>("alice", "bob", "eve"),
      ).map(([path, auth]) =>
        refusedInput("POST", path, auth, {
          body: { kind: "json", value: { password: "a new password" } },
        })
      ),
      fc.tuple(fc.constantFrom("deactivate", "activate", "password"), absentId).map(
        ([action, id]) =>
          refusedInput("POST", `/admin/users/${encodeSegment(id)}/${action}`, "carol", {
            body: { kind: "json", value: { password: "a new password" } },
          }),
      ),
      fc.constant(refusedInput("POST", "/admin/users/user-3/deactivate", "carol")),
      fc.constantFrom<Auth>("alice", "eve").map((auth) =>
        refusedInput("GET", "/admin/connections", auth)
      ),
      fc.constantFrom<Auth>("alice", "eve", "bad").map((auth) =>
        refusedInput("GET", "/metrics", auth)
      ),
    ),
  },
  // A query parameter that is not a cursor, a time or a list of boards.
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.tuple(
        fc.constantFrom("/boards/:home/events", "/boards/:home/poll", "/events?boards=board-1"),
        fc.constantFrom("-1", "1.5", "abc", "1e3", "0x10", "9".repeat(16), "１", "+1", "1 2"),
        fc.boolean(),
      ).map(([path, cursor, header]) => {
        const [base, search] = path.split("?");
        const input = refusedInput("GET", base, "alice", {
          query: search ? [[search.split("=")[0], search.split("=")[1]]] : [],
        });
        const name = base.endsWith("/poll") ? "cursor" : "lastEventId";
        if (header && name === "lastEventId") input.headers = [["last-event-id", cursor]];
        else input.query.push([name, cursor]);
        return input;
      }),
      fc.constantFrom(
        "abc",
        "-1",
        "1.5",
        "2026-13-01",
        "2026-01-01T25:00:00Z",
        "2026-1-1",
        "yesterday",
        "9".repeat(16),
        "2026-01-01T00:00:00+25:00",
      ).map((since) =>
        refusedInput("GET", "/boards/:home/updates", "alice", { query: [["since", since]] })
      ),
      fc.oneof(
        fc.constantFrom("", ",", " , ", "a b", "é", "x".repeat(101), "board-1,board-2", "nope"),
        fc.constant(Array.from({ length: 21 }, (_, i) => `b${i}`).join(",")),
      ).map((boards) => refusedInput("GET", "/events", "alice", { query: [["boards", boards]] })),
    ),
  },
  // History, trash and undo: a query that is not the history's or the archive's, nothing of that
  // name to restore, unarchive or archive, a card whose list is gone, a seq that is not one of
  // the board's, an event that cannot be reverted, or one that is not Bob's to revert.
  {
    weight: 5,
    arbitrary: fc.oneof(
      fc.tuple(
        fc.constantFrom("before", "after"),
        fc.constantFrom("-1", "1.5", "abc", "1e3", "0x10", "9".repeat(16), "１", "+1", "1 2", ""),
      ).map(([name, value]) =>
        refusedInput("GET", "/boards/:home/history", "alice", { query: [[name, value]] })
      ),
      fc.constantFrom("0", "201", "-1", "1.5", "abc", "10000", "", "1e2", " 5", "５").map((limit) =>
        refusedInput("GET", "/boards/:home/history", "alice", { query: [["limit", limit]] })
      ),
      fc.tuple(
        fc.constantFrom("taskId", "listId", "actorId"),
        fc.constantFrom("", "x".repeat(101), "x".repeat(20_000)),
      ).map(([name, value]) =>
        refusedInput("GET", "/boards/:home/history", "alice", { query: [[name, value]] })
      ),
      fc.constant(refusedInput("GET", "/boards/:home/history", "alice", {
        query: [["taskId", new Ref("homeTask", 0)], ["listId", new Ref("homeList", 0)]],
      })),
      fc.tuple(
        fc.constantFrom("history", "archive"),
        noiseKey.filter((key) => key !== "" && !KNOWN_QUERY_KEYS.includes(key)),
        nastyString,
      ).map(([route, key, value]) =>
        refusedInput("GET", `/boards/:home/${route}`, "alice", { query: [[key, value]] })
      ),
      fc.constantFrom("x".repeat(201), "é".repeat(201), "😀".repeat(201)).map((q) =>
        refusedInput("GET", "/boards/:home/archive", "alice", { query: [["q", q]] })
      ),
      fc.constantFrom(
        "/tasks/:homeTask/restore",
        "/tasks/:homeTask/unarchive",
        "/tasks/:archivedTask/restore",
        "/tasks/:trashTask/unarchive",
        "/tasks/:trashTask/archive",
        "/tasks/:archivedTask/archive",
        "/tasks/:orphanTask/restore",
        "/lists/:homeList/restore",
        "/lists/:homeList/unarchive",
        "/lists/:archivedList/restore",
        "/lists/:trashList/unarchive",
        "/lists/:trashList/archive",
        "/lists/:archivedList/archive",
      ).map((path) => refusedInput("POST", path, "alice")),
      fc.constantFrom(
        refusedInput("DELETE", "/conflicts/:foreignConflict", "alice"),
        refusedInput("DELETE", "/conflicts/:homeTask", "alice"),
        refusedInput("POST", "/tasks/:trashTask/conflicts", "alice", {
          body: { kind: "json", value: { field: "title", value: "Lost", baseVersion: 1 } },
        }),
      ),
      fc.tuple(
        fc.constantFrom(
          "0",
          "-1",
          "abc",
          "1.5",
          "9".repeat(15),
          "9".repeat(16),
          "1e3",
          "+1",
          " 1",
          "NaN",
          String(2 ** 53),
        ),
        fc.constantFrom("/boards/:home", "/boards/:side"),
      ).map(([seq, board]) =>
        refusedInput("POST", `${board}/events/${encodeSegment(seq)}/revert`, "alice")
      ),
      fc.constantFrom(
        refusedInput("POST", "/boards/:side/events/:unrevertible/revert", "alice"),
        refusedInput("POST", "/boards/:home/events/:homeSeq/revert", "bob"),
        refusedInput("POST", "/boards/:side/events/:homeSeq/revert", "alice"),
        refusedInput("POST", "/boards/board-2/events/:homeSeq/revert", "alice"),
        refusedInput("POST", "/boards/no-such-board/events/:homeSeq/revert", "alice"),
      ),
    ),
  },
  // No such route, no such method, nothing at that static path, or a plain GET /ws.
  {
    weight: 2,
    arbitrary: fc.oneof(
      randomPath.map((parts) => refusedInput("GET", `/nope/${parts.join("/")}`, "alice")),
      fc.tuple(
        fc.constantFrom("PUT", "OPTIONS", "PROPFIND", "patch", "TRACE-IT"),
        fc.constantFrom("/boards", "/boards/board-1", "/tasks", "/login", "/healthz"),
      ).map(([method, path]) => refusedInput(method, path, "alice")),
      fc.constantFrom(
        "/../deno.json",
        "/js/../../deno.json",
        "/%2e%2e/deno.json",
        "/.env",
        "/nope.html",
        "/" + "a".repeat(65) + ".js",
        "/index.html%00.js",
      ).map((path) => refusedInput("GET", path, "none")),
      fc.constant(refusedInput("GET", "/ws", "alice")),
      fc.constantFrom(["DELETE", "/boards"], ["POST", "/boards/board-1"], ["GET", "/tasks"]).map(
        ([method, path]) => refusedInput(method, path, "alice"),
      ),
    ),
  },
  // Wrong passwords.
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom("alice@example.com", "nobody@example.com", "ALICE@EXAMPLE.COM"),
      fc.string({ minLength: 1, maxLength: 20 }).filter((text) => text !== "liveboard"),
    ).map(([email, password]) =>
      refusedInput("POST", "/login", "none", { body: { kind: "json", value: { email, password } } })
    ),
  },
);

// ---- sending REST inputs -----------------------------------------------------------------

const PROTECTED_ACCOUNTS = new Set(["alice", "bob", "carol", "eve"]);
const MUTATION_ROUTES: [string, RegExp][] = [
  ["POST", /^\/boards$/],
  ["PATCH", /^\/boards\/[^/]+$/],
  ["DELETE", /^\/boards\/[^/]+$/],
  ["POST", /^\/boards\/[^/]+\/members$/],
  ["DELETE", /^\/boards\/[^/]+\/members\/[^/]+$/],
  ["POST", /^\/boards\/[^/]+\/lists$/],
  ["PATCH", /^\/lists\/[^/]+$/],
  ["DELETE", /^\/lists\/[^/]+$/],
  ["POST", /^\/tasks$/],
  ["PATCH", /^\/tasks\/[^/]+$/],
  ["PATCH", /^\/tasks\/[^/]+\/move$/],
  ["DELETE", /^\/tasks\/[^/]+$/],
  // History, trash and undo: each writes one event when accepted (seen writes none).
  ["POST", /^\/(tasks|lists)\/[^/]+\/(restore|archive|unarchive)$/],
  ["POST", /^\/boards\/[^/]+\/events\/[^/]+\/revert$/],
  ["POST", /^\/tasks\/[^/]+\/conflicts$/],
  ["DELETE", /^\/conflicts\/[^/]+$/],
];
const isMutation = (method: string, pathname: string) =>
  MUTATION_ROUTES.some(([m, pattern]) => m === method && pattern.test(pathname));
const IDEMPOTENCY_KEY = /^[\w.:-]{1,200}$/;

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

interface HttpOutcome {
  status: number;
  code?: string;
  /** A mutation was accepted and not as the replay of an earlier one: one event. */
  newEvent: boolean;
  repro: string;
}

/** The first 300 characters of a request, for a report. */
function describeRequest(
  method: string,
  url: URL,
  headers: Headers,
  body: string | undefined,
): string {
  const shown = [...headers].filter(([name]) => name !== "authorization" && name !== "cookie")
    .map(([name, value]) => `${name}: ${preview(value, 80)}`).join("; ");
  const auth = headers.get("authorization") ?? (headers.get("cookie") ? "cookie" : "none");
  return `${method} ${preview(url.pathname + url.search, 200)} [auth ${
    preview(auth, 40)
  }; ${shown}]` +
    (body === undefined ? "" : ` body ${preview(body, 300)}`);
}

interface Totals {
  /** Answers by route, status and code (printed with FUZZ_VERBOSE=1). */
  tally: Map<string, number>;
  /** The first input of each line of the tally. */
  examples: Map<string, string>;
  inputs: number;
  accepted: number;
  refused: number;
  serverErrors: number;
  skipped: number;
}

const newTotals = (): Totals => ({
  tally: new Map(),
  examples: new Map(),
  inputs: 0,
  accepted: 0,
  refused: 0,
  serverErrors: 0,
  skipped: 0,
});

/**
 * Sends one input and holds its answer to the contract: no 5xx, no other status than 2xx/4xx,
 * every error JSON with a documented code and that code's status. Returns what it did.
 */
async function sendHttp(
  world: World,
  input: HttpInput,
  findings: Findings,
  totals: Totals,
): Promise<HttpOutcome | null> {
  const { server, accounts } = world;
  // The path, its references resolved.
  let path = "";
  for (const part of input.path) {
    if (typeof part === "string") {
      path += `/${part}`;
      continue;
    }
    const value = part.value instanceof Ref ? String(world.resolve(part.value)) : part.value;
    path += "/" +
      (part.encoding === "raw"
        ? value
        : part.encoding === "double"
        ? encodeSegment(encodeSegment(value))
        : encodeSegment(value));
  }
  if (path === "") path = "/";
  const search = input.query.map(([name, value]) => {
    const resolved = resolveDeep(world, value);
    const text = Array.isArray(resolved) ? resolved.join(",") : String(resolved);
    return `${encodeSegment(name)}=${encodeSegment(text)}`;
  }).join("&");
  let url: URL;
  try {
    url = new URL(server.url + path + (search ? `?${search}` : ""));
  } catch {
    totals.skipped++;
    return null;
  }
  // Never end the sessions the fuzz runs on: logouts and account changes hit Dave.
  let auth = input.auth;
  if (url.pathname === "/logout" && !["dave", "cookieDave", "none", "bad", "raw"].includes(auth)) {
    auth = "dave";
  }
  const admin = /^\/admin\/users\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  if (admin) {
    const target = safeDecode(admin[1]);
    const owner = Object.entries(accounts).find(([, account]) => account.id === target);
    if (
      owner && PROTECTED_ACCOUNTS.has(owner[0]) &&
      !(owner[0] === "carol" && admin[2] === "deactivate")
    ) {
      url.pathname = `/admin/users/${accounts.dave.id}/${admin[2]}`;
    }
  }

  const headers = new Headers();
  const user = auth === "cookieAlice" ? "alice" : auth === "cookieDave" ? "dave" : auth;
  if (auth in accounts) headers.set("authorization", `Bearer ${accounts[auth as Account].token}`);
  else if (auth === "metrics") headers.set("authorization", `Bearer ${METRICS_TOKEN}`);
  else if (auth === "bad") headers.set("authorization", "Bearer no-such-session-token");
  else if (auth === "cookieAlice" || auth === "cookieDave") {
    headers.set("cookie", `session=${accounts[user as Account].token}`);
  } else if (auth === "raw") headers.set(input.rawAuth[0], headerSafe(input.rawAuth[1]));
  if (input.origin !== undefined) {
    headers.set("origin", input.origin === "same" ? server.url : input.origin);
  }
  for (const [name, value] of input.headers) headers.append(name, headerSafe(value));
  const key = input.key instanceof Ref ? String(world.resolve(input.key)) : input.key;
  if (key !== undefined) headers.set("idempotency-key", key);

  const method = input.method;
  let body: BodyInit | undefined;
  let shownBody: string | undefined;
  if (input.body && method !== "GET" && method !== "HEAD") {
    const b = input.body;
    if (b.kind === "json" || b.kind === "chunked") {
      shownBody = JSON.stringify(resolveDeep(world, b.value)) ?? "null";
      if (b.kind === "chunked") {
        const text = shownBody;
        const size = Math.ceil(text.length / b.pieces) || 1;
        const pieces = Array.from(
          { length: b.pieces },
          (_, i) => text.slice(i * size, (i + 1) * size),
        );
        body = ReadableStream.from(pieces.map((piece) => new TextEncoder().encode(piece)));
      } else body = shownBody;
    } else if (b.kind === "text") body = shownBody = b.text;
    else if (b.kind === "bytes") {
      body = new Uint8Array(b.bytes);
      shownBody = `<bytes ${b.bytes.map((x) => x.toString(16)).join(" ")}>`;
    } else {
      const text = `{"title":"${"x".repeat(b.size - 12)}"}`;
      shownBody = `<${b.size} bytes${b.chunked ? ", chunked" : ""}>`;
      body = b.chunked
        ? ReadableStream.from(
          Array.from({ length: Math.ceil(text.length / 16_384) }, (_, i) =>
            new TextEncoder().encode(text.slice(i * 16_384, (i + 1) * 16_384))),
        )
        : text;
    }
    if (input.contentType === undefined) headers.set("content-type", "application/json");
  }
  if (input.contentType !== undefined && input.contentType !== null) {
    headers.set("content-type", input.contentType);
  }

  let request: Request;
  try {
    request = new Request(url, { method, headers, body });
  } catch {
    // Not a request fetch can send (a header it refuses): nothing reached the server.
    totals.skipped++;
    return null;
  }
  totals.inputs++;
  const repro = describeRequest(method, url, headers, shownBody);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 20_000);
  let status: number;
  let type: string;
  let text = "";
  try {
    const response = await fetch(request, { signal: controller.signal, redirect: "manual" });
    status = response.status;
    type = response.headers.get("content-type") ?? "";
    if (type.startsWith("text/event-stream")) await response.body?.cancel();
    else text = await response.text();
  } catch (error) {
    findings.add(`no answer (${(error as Error).name}) to ${input.route}`, `${repro}: ${error}`);
    return { status: 0, newEvent: false, repro };
  } finally {
    clearTimeout(timer);
  }

  let json: unknown;
  if (text && type.startsWith("application/json")) {
    try {
      json = JSON.parse(text);
    } catch {
      findings.add(
        `invalid JSON answer on ${input.route}`,
        `${repro} → ${status} ${preview(text)}`,
      );
    }
  }
  const answer = `${repro} → ${status} ${preview(text, 300)}`;
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof error?.code === "string" ? error.code : undefined;
  const tallied = `${input.route} → ${status} ${code ?? ""}`;
  totals.tally.set(tallied, (totals.tally.get(tallied) ?? 0) + 1);
  if (FUZZ_VERBOSE && !totals.examples.has(tallied)) totals.examples.set(tallied, answer);
  if (status >= 500) {
    totals.serverErrors++;
    findings.add(`${status} ${code ?? ""} on ${input.route}`, answer);
  } else if (status < 200 || (status >= 300 && status < 400)) {
    findings.add(`status ${status} on ${input.route}`, answer);
  }
  if (status >= 400) {
    totals.refused++;
    if (!type.startsWith("application/json")) {
      findings.add(`${status} without JSON on ${input.route}`, answer);
    } else if (method !== "HEAD") {
      if (!code || typeof error?.message !== "string") {
        findings.add(`${status} not {"error":{"code","message"}} on ${input.route}`, answer);
      } else if (!ERROR_STATUS.has(code)) {
        findings.add(`undocumented code "${code}" (${status}) on ${input.route}`, answer);
      } else if (ERROR_STATUS.get(code) !== status) {
        findings.add(
          `"${code}" answered ${status}, documented ${ERROR_STATUS.get(code)}, on ${input.route}`,
          answer,
        );
      }
    }
  } else if (status < 300) {
    totals.accepted++;
    world.harvest(json);
  }

  let newEvent = false;
  if (status >= 200 && status < 300 && isMutation(method, url.pathname)) {
    newEvent = true;
    const sentKey = headers.get("idempotency-key");
    if (sentKey !== null && IDEMPOTENCY_KEY.test(sentKey)) {
      const recorded = `${user}:${sentKey}`;
      if (world.acceptedKeys.has(recorded)) newEvent = false; // answered from the record
      world.acceptedKeys.add(recorded);
    }
  }
  return { status, code, newEvent, repro: answer };
}

/** Which tables differ between two dumps, and their first differing row; null when none. */
function changes(before: Record<string, unknown>, after: Record<string, unknown>): string | null {
  const differing = Object.keys(before).filter((table) =>
    JSON.stringify(before[table]) !== JSON.stringify(after[table])
  );
  if (differing.length === 0) return null;
  return differing.map((table) => {
    const [was, now] = [before[table], after[table]];
    if (!Array.isArray(was) || !Array.isArray(now)) {
      return `${table}: ${preview(was)} → ${preview(now)}`;
    }
    const seen = new Set(was.map((row) => JSON.stringify(row)));
    const added = now.filter((row) => !seen.has(JSON.stringify(row)));
    const kept = new Set(now.map((row) => JSON.stringify(row)));
    const removed = was.filter((row) => !kept.has(JSON.stringify(row)));
    return `${table}: now ${preview(added[0] ?? null, 400)}, was ${
      preview(removed[0] ?? null, 400)
    }`;
  }).join("; ");
}

// ---- the crash check -----------------------------------------------------------------------

/** The server still runs, answers /healthz and logged no failure; then it stops cleanly. */
async function finish(server: FuzzServer, findings: Findings): Promise<void> {
  if (!server.alive) {
    findings.add("the server process died", server.output().slice(-2000));
  } else {
    const response = await server.request("/healthz");
    const health = await response.json();
    if (response.status !== 200 || health.status !== "ok") {
      findings.add("/healthz is not ok after the fuzz", JSON.stringify(health));
    }
  }
  for (const line of server.failureLines()) {
    // One finding per kind of line: without its time, ids and numbers.
    const kind = line.replace(/^\S+\s+/, "").replace(/[\w-]*\d[\w-]*/g, "N").slice(0, 120);
    findings.add(`the server logged: ${kind}`, line.slice(0, 1500));
  }
}

async function stopServer(server: FuzzServer, findings: Findings): Promise<void> {
  const wasAlive = server.alive;
  const code = await server.stop();
  if (wasAlive && code !== 0) {
    findings.add(`exit code ${code} on SIGTERM`, server.output().slice(-2000));
  }
}

function assertNoFindings(findings: Findings): void {
  assert.equal(
    findings.size,
    0,
    `${findings.size} kind(s) of problem (${findings.count} inputs) — replay with FUZZ_SEED:\n` +
      findings.text(),
  );
}

// ---- REST tests -----------------------------------------------------------------------------

Deno.test("fuzzed REST requests to every route never get a 5xx, and every refusal is a documented JSON error", async () => {
  const started = performance.now();
  const findings = new Findings();
  const totals = newTotals();
  const server = await FuzzServer.start();
  const db = new DbReader(server.database);
  try {
    const world = await World.create(server, db);
    await fc.assert(
      fc.asyncProperty(
        fc.array(mixedRequest, { minLength: 8, maxLength: 30 }),
        async (batch) => {
          await world.refresh();
          const before = await db.eventCount();
          const accepted: string[] = [];
          for (const input of batch) {
            const outcome = await sendHttp(world, input, findings, totals);
            if (outcome?.newEvent) accepted.push(outcome.repro);
          }
          const committed = await db.eventCount() - before;
          if (committed !== accepted.length) {
            findings.add(
              "the events committed are not one per accepted mutation",
              `${committed} events for ${accepted.length} accepted mutations:\n      ` +
                accepted.join("\n      "),
            );
          }
        },
      ),
      fcParameters(runsOr(60)),
    );
    await finish(server, findings);
  } finally {
    await db.close();
    await stopServer(server, findings);
  }
  printTally(totals.tally, totals.examples);
  report(
    "REST",
    totals.inputs,
    `${totals.accepted} accepted, ${totals.refused} refused, ${totals.serverErrors} ≥ 500`,
    started,
  );
  assertNoFindings(findings);
});

Deno.test("refused REST requests change nothing: no row, no event, nothing on a watching stream", async () => {
  const started = performance.now();
  const findings = new Findings();
  const totals = newTotals();
  const server = await FuzzServer.start();
  const db = new DbReader(server.database);
  let watcher: SseReader | undefined;
  try {
    const world = await World.create(server, db);
    const alice = world.accounts.alice.token;
    const stream = await server.request("/boards/board-1/events", { token: alice });
    assert.equal(stream.status, 200);
    watcher = new SseReader(stream);
    assert.equal((await watcher.nextData()).json.type, "connected");
    let markers = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(refusedRequest, { minLength: 8, maxLength: 30 }),
        async (batch) => {
          await world.refresh();
          const rows = await db.dump();
          const snapshot = await (await server.request("/boards/board-1", { token: alice })).json();
          for (const input of batch) {
            const outcome = await sendHttp(world, input, findings, totals);
            if (outcome && (outcome.status < 400 || outcome.status >= 500)) {
              findings.add(`not refused: ${input.route}`, outcome.repro);
            }
          }
          const changed = changes(rows, await db.dump());
          if (changed) findings.add("refused requests wrote to the database", changed);
          const after = await (await server.request("/boards/board-1", { token: alice })).json();
          if (JSON.stringify(after) !== JSON.stringify(snapshot)) {
            findings.add("refused requests changed the board's snapshot", preview(after, 600));
          }
          // A marker change: the watching stream gets it, and nothing before it.
          const title = `Marker ${++markers}`;
          const marked = await server.request("/boards/board-1", {
            method: "PATCH",
            token: alice,
            json: { title },
          });
          assert.equal(marked.status, 200, await marked.text());
          while (true) {
            const frame = await watcher!.nextData(10_000);
            const board = frame.json.board as { title?: string } | undefined;
            if (frame.json.type === "board_updated" && board?.title === title) break;
            findings.add("the watching stream got an event from refused requests", frame.data!);
          }
        },
      ),
      fcParameters(runsOr(35)),
    );
    await finish(server, findings);
  } finally {
    await watcher?.close();
    await db.close();
    await stopServer(server, findings);
  }
  printTally(totals.tally, totals.examples);
  report("REST refused", totals.inputs, `${totals.serverErrors} ≥ 500`, started);
  assertNoFindings(findings);
});

// ---- WebSocket inputs ---------------------------------------------------------------------

const MESSAGE_TYPES = [
  "join",
  "leave",
  "typing",
  "stop_typing",
  "cursor",
  "ping",
  "create_task",
  "update_task",
  "move_task",
  "delete_task",
  "restore_task",
  "restore_list",
  "archive_task",
  "unarchive_task",
  "archive_list",
  "unarchive_list",
  "revert",
  "record_conflict",
  "resolve_conflict",
];

type Frame =
  | { kind: "json"; value: unknown }
  | { kind: "text"; text: string }
  | { kind: "binary"; size: number }
  | { kind: "oversize"; binary: boolean };

const boardIdField = idField(["board", "foreignBoard"]);
const taskIdField = idField(["task", "foreignTask"]);
const requestIdField = fc.oneof(
  { weight: 20, arbitrary: ref("requestId") },
  { weight: 1, arbitrary: fc.constantFrom(0, -5, "😀", " ", "x".repeat(100), "dup") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(null, 1.5, "", "x".repeat(101), [], {}, true, 2 ** 53 + 2),
  },
);
const wsKey = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: ref("freshKey") },
  { weight: 2, arbitrary: ref("reusedKey") },
  { weight: 1, arbitrary: fc.constantFrom("", "a b", "x".repeat(201), 5, null, "fuzz-used-key") },
);
const coordinate = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: -2000, max: 2000 }) },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 1, arbitrary: anyJson },
);
const joinCursor = fc.oneof(
  { weight: 3, arbitrary: ref("cursor") },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 1, arbitrary: anyJson },
);

/** A revert's seq: of a recent event of the home board mostly, else near the head, or no seq. */
const seqField = fc.oneof(
  { weight: 10, arbitrary: ref("seq") },
  { weight: 2, arbitrary: ref("cursor") },
  { weight: 1, arbitrary: ref("unrevertible") },
  { weight: 2, arbitrary: nastyNumber },
  { weight: 1, arbitrary: anyJson },
);

const message = (type: string, fields: Record<string, fc.Arbitrary<unknown>>, required: string[]) =>
  objectOf({ type: fc.constant(type), ...fields }, ["type", ...required])
    .map((value): Frame => ({ kind: "json", value }));

/** A message with only valid fields (so that joins, typing and changes happen). */
const clean = (
  type: string,
  fields: Record<string, fc.Arbitrary<unknown>>,
  optional: string[] = [],
) =>
  fc.record<Record<string, unknown>>({ type: fc.constant(type), ...fields }, {
    requiredKeys: ["type", ...Object.keys(fields).filter((key) => !optional.includes(key))],
  }).map((value): Frame => ({ kind: "json", value }));

const WS_MESSAGES: [number, fc.Arbitrary<Frame>][] = [
  [2, clean("join", { boardId: ref("board"), cursor: ref("cursor") }, ["cursor"])],
  [2, clean("typing", { boardId: ref("board"), taskId: ref("task") }, ["taskId"])],
  [2, clean("cursor", { boardId: ref("board"), x: fc.nat(2000), y: fc.nat(2000) })],
  [
    5,
    clean("create_task", {
      requestId: ref("requestId"),
      listId: ref("list"),
      title: validTitle,
      position: fc.nat(6),
      idempotencyKey: ref("freshKey"),
    }, ["position", "idempotencyKey"]),
  ],
  [
    3,
    clean("update_task", { requestId: ref("requestId"), taskId: ref("task"), title: validTitle }),
  ],
  [
    3,
    clean("move_task", {
      requestId: ref("requestId"),
      taskId: ref("task"),
      listId: ref("list"),
      position: fc.nat(6),
    }),
  ],
  [1, clean("delete_task", { requestId: ref("requestId"), taskId: ref("task") })],
  [
    2,
    clean("restore_task", {
      requestId: ref("requestId"),
      taskId: ref("trashTask"),
      idempotencyKey: ref("freshKey"),
    }, ["idempotencyKey"]),
  ],
  [1, clean("restore_list", { requestId: ref("requestId"), listId: ref("trashList") })],
  [1, clean("archive_task", { requestId: ref("requestId"), taskId: ref("task") })],
  [2, clean("unarchive_task", { requestId: ref("requestId"), taskId: ref("archivedTask") })],
  [1, clean("archive_list", { requestId: ref("requestId"), listId: ref("list") })],
  [1, clean("unarchive_list", { requestId: ref("requestId"), listId: ref("archivedList") })],
  [
    1,
    clean("record_conflict", {
      requestId: ref("requestId"),
      taskId: ref("task"),
      ...cleanConflict,
    }),
  ],
  [1, clean("resolve_conflict", { requestId: ref("requestId"), conflictId: ref("conflict") })],
  [
    3,
    clean("revert", {
      requestId: ref("requestId"),
      boardId: ref("home"),
      seq: ref("seq"),
      idempotencyKey: ref("freshKey"),
    }, ["idempotencyKey"]),
  ],
  [3, message("join", { boardId: boardIdField, cursor: joinCursor }, ["boardId"])],
  [1, message("leave", { boardId: boardIdField }, ["boardId"])],
  [2, message("typing", { boardId: boardIdField, taskId: taskIdField }, ["boardId"])],
  [1, message("stop_typing", { boardId: boardIdField, taskId: taskIdField }, ["boardId"])],
  [
    2,
    message("cursor", { boardId: boardIdField, x: coordinate, y: coordinate }, [
      "boardId",
      "x",
      "y",
    ]),
  ],
  [1, message("ping", {}, [])],
  [
    6,
    message("create_task", {
      requestId: requestIdField,
      idempotencyKey: wsKey,
      listId,
      title,
      description,
      assigneeId,
      position,
    }, ["requestId", "listId", "title"]),
  ],
  [
    4,
    message("update_task", {
      requestId: requestIdField,
      idempotencyKey: wsKey,
      taskId: taskIdField,
      title,
      description,
      assigneeId,
      version,
    }, ["requestId", "taskId", "title"]),
  ],
  [
    4,
    message("move_task", {
      requestId: requestIdField,
      idempotencyKey: wsKey,
      taskId: taskIdField,
      listId,
      position,
      version,
    }, ["requestId", "taskId", "listId", "position"]),
  ],
  [
    2,
    message("delete_task", {
      requestId: requestIdField,
      idempotencyKey: wsKey,
      taskId: taskIdField,
    }, [
      "requestId",
      "taskId",
    ]),
  ],
  ...([
    ["restore_task", "taskId", ":trashTask"],
    ["restore_list", "listId", ":trashList"],
    ["archive_task", "taskId", ":task"],
    ["unarchive_task", "taskId", ":archivedTask"],
    ["archive_list", "listId", ":list"],
    ["unarchive_list", "listId", ":archivedList"],
  ].map(([type, field, param]): [number, fc.Arbitrary<Frame>] => [
    1,
    message(type, {
      requestId: requestIdField,
      idempotencyKey: wsKey,
      [field]: idField(PARAMS[param]),
    }, ["requestId", field]),
  ])),
  [
    1,
    message("record_conflict", {
      requestId: requestIdField,
      idempotencyKey: wsKey,
      taskId: taskIdField,
      field: conflictField,
      value: description,
      baseVersion: version,
    }, ["requestId", "taskId", "field", "value", "baseVersion"]),
  ],
  [
    1,
    message("resolve_conflict", {
      requestId: requestIdField,
      idempotencyKey: wsKey,
      conflictId: idField(PARAMS[":conflict"]),
    }, ["requestId", "conflictId"]),
  ],
  [
    2,
    message("revert", {
      requestId: requestIdField,
      idempotencyKey: wsKey,
      boardId: idField(PARAMS[":homeBoard"]),
      seq: seqField,
    }, ["requestId", "boardId", "seq"]),
  ],
];

/** Frames that are not messages of the protocol. */
const malformedFrame: fc.Arbitrary<Frame> = fc.oneof(
  { weight: 3, arbitrary: malformedJson.map((text): Frame => ({ kind: "text", text })) },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.constantFrom(null, 5, "ping", [], [{ type: "ping" }], true),
      fc.record({ boardId: nastyString }),
      fc.record({ type: anyJson.filter((type) => typeof type !== "string") }),
    ).map((value): Frame => ({ kind: "json", value })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.oneof(
        fc.constantFrom(
          "JOIN",
          "join ",
          "Ping",
          "__proto__",
          "constructor",
          "toString",
          "hasOwnProperty",
          "ack",
          "error",
          "pong",
          "presence",
          "",
        ),
        nastyString,
      ).filter((type) => !MESSAGE_TYPES.includes(type)),
      fc.dictionary(nastyKey, anyJson, { maxKeys: 2 }),
    ).map(([type, rest]): Frame => ({ kind: "json", value: { ...rest, type } })),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 0, max: 2048 }).map((size): Frame => ({ kind: "binary", size })),
  },
);

const mixedFrame: fc.Arbitrary<Frame> = fc.oneof(
  ...WS_MESSAGES.map(([weight, arbitrary]) => ({ weight, arbitrary })),
  { weight: 3, arbitrary: malformedFrame },
  { weight: 1, arbitrary: fc.boolean().map((binary): Frame => ({ kind: "oversize", binary })) },
);

/** Server → client message types (besides board events). */
const SERVER_TYPES = new Set([
  "connected",
  "presence",
  "user_joined",
  "user_left",
  "user_typing",
  "cursor_moved",
  "resync",
  "ack",
  "pong",
  "error",
]);

const ridKey = (id: unknown) => `${typeof id}:${String(id)}`;

/**
 * Sends frames on one socket (reopened after a documented close) and reads every answer: an
 * `error` must carry a documented code (never `internal`), a mutation gets exactly one ack or
 * error, a join one presence or error, every ping one pong, and nothing else comes but messages
 * of the protocol. Counts the events the acks stand for.
 */
class WsDriver {
  socket!: FuzzSocket;
  #seen = 0;
  /** Mutations awaiting their ack or error, by requestId: the idempotency key each carried. */
  readonly outstanding = new Map<string, { key?: string; repro: string; type: string }>();
  #join?: { boardId: string; repro: string };
  #pings = 0;
  #pongs = 0;
  expectedEvents = 0;
  acks = 0;
  errors = 0;
  closes = 0;
  /** The frames acked (since the test last emptied it), with their acks. */
  readonly acked: string[] = [];
  /** Every answer to a fuzzed frame, over every socket. */
  readonly log: Message[] = [];
  /** Answers by type and code (printed with FUZZ_VERBOSE=1). */
  readonly tally = new Map<string, number>();
  readonly examples = new Map<string, string>();
  #quiet = false;

  constructor(
    readonly world: World,
    readonly findings: Findings,
    /** Boards a reopened socket joins again (not counted as answers). */
    readonly rejoin: string[] = [],
  ) {}

  async open(): Promise<void> {
    this.socket = await FuzzSocket.open(this.world.server.wsUrl, this.world.accounts.alice.token);
    this.#seen = 0;
    this.#pings = this.#pongs = 0;
    this.#quiet = true;
    for (const boardId of this.rejoin) {
      await this.send({ kind: "json", value: { type: "join", boardId } });
    }
    this.#quiet = false;
  }

  /** Reads the messages that came since the last call. */
  process(): void {
    const received = this.socket.received;
    for (; this.#seen < received.length; this.#seen++) {
      const m = received[this.#seen];
      if (!this.#quiet) this.log.push(m);
      // An answer to a mutation is tallied with the mutation's type.
      const answering = m.requestId === undefined
        ? ""
        : ` (${this.outstanding.get(ridKey(m.requestId))?.type ?? "not parsed"})`;
      const what = m.type === "error"
        ? `error ${m.code}${answering}${FUZZ_VERBOSE ? ` ${String(m.message).slice(0, 24)}` : ""}`
        : m.type === "ack"
        ? `ack${answering}`
        : isBoardEvent(m)
        ? `event ${m.type}`
        : m.type;
      this.tally.set(what, (this.tally.get(what) ?? 0) + 1);
      if (FUZZ_VERBOSE && !this.examples.has(what)) this.examples.set(what, preview(m, 300));
      if (m.type === "error") {
        this.errors++;
        this.#checkError(m);
        if (m.requestId !== undefined) this.#answered(m, false);
        if (this.#join && m.boardId === this.#join.boardId && m.code !== "not_joined") {
          this.#join = undefined;
        }
      } else if (m.type === "ack") {
        this.acks++;
        this.#answered(m, true);
      } else if (m.type === "presence") {
        if (this.#join && m.boardId === this.#join.boardId) this.#join = undefined;
      } else if (m.type === "pong") {
        this.#pongs++;
        if (this.#pongs > this.#pings) this.findings.add("a pong nobody asked for", preview(m));
      } else if (!SERVER_TYPES.has(m.type) && !isBoardEvent(m)) {
        this.findings.add(`unknown server message "${m.type}"`, preview(m));
      }
    }
    for (const text of this.socket.garbage.splice(0)) {
      this.findings.add("a frame that is not a JSON message", preview(text));
    }
  }

  #checkError(m: Message): void {
    const shown = preview(m);
    if (
      typeof m.code !== "string" || typeof m.message !== "string" || typeof m.error !== "string"
    ) {
      this.findings.add("an error message without code, message and error", shown);
    } else if (!ERROR_STATUS.has(m.code)) {
      this.findings.add(`undocumented WebSocket error code "${m.code}"`, shown);
    } else if (m.code === "internal") {
      this.findings.add("a WebSocket internal error", shown);
    }
  }

  #answered(m: Message, ack: boolean): void {
    const key = ridKey(m.requestId);
    const pending = this.outstanding.get(key);
    if (!pending) {
      if (ack) this.findings.add("an ack for no pending request", preview(m));
      return;
    }
    this.outstanding.delete(key);
    if (!ack) return;
    this.acked.push(`${pending.repro} → ${preview(m, 200)}`);
    const recorded = pending.key === undefined ? undefined : `alice:${pending.key}`;
    if (recorded && this.world.acceptedKeys.has(recorded)) return; // answered from the record
    if (recorded) this.world.acceptedKeys.add(recorded);
    this.expectedEvents++;
  }

  async #until(check: () => boolean, what: string): Promise<void> {
    await this.socket.until(() => {
      this.process();
      return check();
    }, what);
  }

  /** The frame as sent: references resolved. */
  encode(frame: Frame): string | Uint8Array {
    if (frame.kind === "text") return frame.text;
    if (frame.kind === "binary") return new Uint8Array(frame.size).fill(0x7b);
    if (frame.kind === "oversize") {
      return frame.binary
        ? new Uint8Array(WS_MAX_MESSAGE_BYTES + 1)
        : JSON.stringify({ type: "ping", pad: "x".repeat(WS_MAX_MESSAGE_BYTES) });
    }
    return JSON.stringify(resolveDeep(this.world, frame.value)) ?? "null";
  }

  /** Sends one frame; waits where an answer must come before the next (joins, reused ids). */
  async send(frame: Frame): Promise<void> {
    if (!this.socket.open) {
      const event = this.socket.closeEvent;
      this.findings.add(
        `the socket closed ${event?.code} without a frame over the limit`,
        `${event?.code} ${event?.reason}; answers before: ${preview(this.log.slice(-5), 600)}`,
      );
      this.outstanding.clear();
      this.#join = undefined;
      await this.open();
    }
    const data = this.encode(frame);
    const size = typeof data === "string" ? new TextEncoder().encode(data).length : data.length;
    const repro = typeof data === "string" ? preview(data, 400) : `<binary ${data.length} bytes>`;
    if (size > WS_MAX_MESSAGE_BYTES) return await this.#tooBig(data, repro);
    if (typeof data !== "string") {
      this.socket.send(data);
      return;
    }
    let parsed: Message | undefined;
    let readable: unknown;
    try {
      parsed = parseClientMessage(data) as unknown as Message;
      readable = parsed.requestId;
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      readable = error.requestId;
    }
    // An answer names its request only by requestId: one request per id at a time.
    if (readable !== undefined && this.outstanding.has(ridKey(readable))) {
      await this.#until(() => !this.outstanding.has(ridKey(readable)), `the answer to ${repro}`);
    }
    if (parsed?.type === "ping") this.#pings++;
    if (parsed && "requestId" in parsed) {
      const key = typeof parsed.idempotencyKey === "string" ? parsed.idempotencyKey : undefined;
      this.outstanding.set(ridKey(parsed.requestId), { key, repro, type: parsed.type });
    }
    if (parsed?.type === "join") this.#join = { boardId: parsed.boardId, repro };
    this.socket.send(data);
    if (parsed?.type === "join") await this.#until(() => !this.#join, `the answer to ${repro}`);
  }

  /** A frame over the limit: the socket closes with 1009, and a new one is opened. */
  async #tooBig(data: string | Uint8Array, repro: string): Promise<void> {
    await this.settle();
    this.closes++;
    this.socket.send(data);
    const timer = setTimeout(() => this.socket.socket.close(), 10_000);
    const event = await this.socket.closed;
    clearTimeout(timer);
    this.process();
    if (event.code !== 1009 || !CLOSE_CODES.has(event.code)) {
      this.findings.add(`closed ${event.code} (not 1009) for a frame over the limit`, repro);
    }
    await this.open();
  }

  /** Waits for every pending answer, then a ping barrier: all answers are in. */
  async settle(): Promise<void> {
    await this.#until(() => this.outstanding.size === 0 && !this.#join, "every pending answer");
    this.#pings++;
    this.socket.send(JSON.stringify({ type: "ping" }));
    await this.#until(() => this.#pongs >= this.#pings, "the barrier's pong");
    if (!this.socket.open) {
      this.findings.add("the socket closed", preview(this.socket.closeEvent?.code));
    }
  }
}

/** Bob, in board-1's room: every board event he gets before a marker change is counted. */
async function watch(world: World): Promise<FuzzSocket> {
  const watcher = await FuzzSocket.open(world.server.wsUrl, world.accounts.bob.token);
  watcher.send(JSON.stringify({ type: "join", boardId: "board-1" }));
  await watcher.until(() => watcher.received.some((m) => m.type === "presence"), "bob's presence");
  return watcher;
}

/** Changes board-1's title and returns the board events Bob got since `from`, the marker not included. */
async function eventsUntilMarker(world: World, watcher: FuzzSocket, from: number, n: number) {
  const title = `Marker ${n}`;
  const response = await world.server.request("/boards/board-1", {
    method: "PATCH",
    token: world.accounts.alice.token,
    json: { title },
  });
  assert.equal(response.status, 200, await response.text());
  const isMarker = (m: Message) => m.type === "board_updated" && m.board?.title === title;
  await watcher.until(() => watcher.received.slice(from).some(isMarker), `marker ${n}`);
  const messages = watcher.received.slice(from);
  const events = messages.slice(0, messages.findIndex(isMarker)).filter(isBoardEvent);
  const errors = messages.filter((m) => m.type === "error");
  return { events, errors, next: from + messages.findIndex(isMarker) + 1 };
}

Deno.test("fuzzed WebSocket messages of every type get documented answers and leave the socket usable", async () => {
  const started = performance.now();
  const findings = new Findings();
  const server = await FuzzServer.start();
  const db = new DbReader(server.database);
  let driver: WsDriver | undefined;
  let watcher: FuzzSocket | undefined;
  let inputs = 0;
  try {
    const world = await World.create(server, db);
    driver = new WsDriver(world, findings);
    await driver.open();
    watcher = await watch(world);
    let from = watcher.received.length;
    let markers = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(mixedFrame, { minLength: 10, maxLength: 40 }),
        async (frames) => {
          // Bob counts what refresh() writes on board-1 too (a list, when the fuzz archived them
          // all): it comes after the last marker.
          const beforeHome = await db.eventCount("board-1");
          await world.refresh();
          const before = await db.eventCount();
          driver!.expectedEvents = 0;
          driver!.acked.length = 0;
          for (const frame of frames) {
            await driver!.send(frame);
            inputs++;
          }
          await driver!.settle();
          const committed = await db.eventCount() - before;
          if (committed !== driver!.expectedEvents) {
            findings.add(
              "the events committed are not one per acked mutation",
              `${committed} events for ${driver!.expectedEvents} acks:\n      ` +
                driver!.acked.join("\n      "),
            );
          }
          const home = await db.eventCount("board-1") - beforeHome;
          const seen = await eventsUntilMarker(world, watcher!, from, ++markers);
          from = seen.next;
          if (seen.events.length !== home) {
            findings.add(
              "a watcher did not get every event of its board",
              `${seen.events.length} events for ${home} committed on board-1: got ${
                preview(seen.events.map((e) => `${e.id} ${e.type} ${e.boardId}`), 600)
              }; acked:\n      ${driver!.acked.join("\n      ")}`,
            );
          }
          for (const error of seen.errors) {
            findings.add("an error for a socket that sent nothing", preview(error));
          }
        },
      ),
      fcParameters(runsOr(45)),
    );
    await finish(server, findings);
  } finally {
    await driver?.socket?.close();
    await watcher?.close();
    await db.close();
    await stopServer(server, findings);
  }
  if (driver) printTally(driver.tally, driver.examples);
  report(
    "WebSocket",
    inputs,
    `${driver?.acks ?? 0} acks, ${driver?.errors ?? 0} errors, ${driver?.closes ?? 0} closes 1009`,
    started,
  );
  assertNoFindings(findings);
});

// ---- WebSocket inputs that must be refused -------------------------------------------------

const wsFrame = (value: Json): Frame => ({ kind: "json", value });
const rid = new Ref("requestId", 0);
const mutationBase: Record<string, Json> = {
  create_task: { type: "create_task", requestId: rid, listId: new Ref("homeList", 0), title: "x" },
  update_task: { type: "update_task", requestId: rid, taskId: new Ref("homeTask", 0), title: "x" },
  move_task: {
    type: "move_task",
    requestId: rid,
    taskId: new Ref("homeTask", 0),
    listId: new Ref("homeList", 0),
    position: 0,
  },
  delete_task: { type: "delete_task", requestId: rid, taskId: new Ref("homeTask", 0) },
  restore_task: { type: "restore_task", requestId: rid, taskId: new Ref("trashTask", 0) },
  restore_list: { type: "restore_list", requestId: rid, listId: new Ref("trashList", 0) },
  archive_task: { type: "archive_task", requestId: rid, taskId: new Ref("homeTask", 0) },
  unarchive_task: { type: "unarchive_task", requestId: rid, taskId: new Ref("archivedTask", 0) },
  archive_list: { type: "archive_list", requestId: rid, listId: new Ref("homeList", 0) },
  unarchive_list: { type: "unarchive_list", requestId: rid, listId: new Ref("archivedList", 0) },
  revert: {
    type: "revert",
    requestId: rid,
    boardId: new Ref("home", 0),
    seq: new Ref("homeSeq", 0),
  },
  record_conflict: {
    type: "record_conflict",
    requestId: rid,
    taskId: new Ref("homeTask", 0),
    field: "title",
    value: "Lost",
    baseVersion: 1,
  },
  resolve_conflict: {
    type: "resolve_conflict",
    requestId: rid,
    conflictId: new Ref("conflict", 0),
  },
};
/** The shelf messages (restore, archive, unarchive) and the field naming what they act on. */
const SHELF_TYPES: [string, "taskId" | "listId"][] = [
  ["restore_task", "taskId"],
  ["archive_task", "taskId"],
  ["unarchive_task", "taskId"],
  ["restore_list", "listId"],
  ["archive_list", "listId"],
  ["unarchive_list", "listId"],
];
/** Boards Alice's socket is not in (it joined board-1 only). */
const notJoinedBoard = fc.oneof(
  fc.constantFrom<unknown>(new Ref("side", 0), "board-2", "no-such-board"),
  fc.string({ minLength: 1, maxLength: 30 }).map((text) => `nope-${text}`),
);

const refusedFrame: fc.Arbitrary<Frame> = fc.oneof(
  // Not a message at all.
  { weight: 4, arbitrary: malformedFrame },
  // Envelope fields of the wrong shape, or unknown ones where the envelope is strict.
  {
    weight: 4,
    arbitrary: fc.oneof(
      fc.constantFrom<Defect>(
        { set: "boardId", value: "" },
        { set: "boardId", value: "x".repeat(101) },
        { set: "boardId", value: 5 },
        { set: "boardId", value: null },
        { drop: ["boardId"] },
      ).map((defect) => applyDefect({ type: "join", boardId: "board-2" }, defect)),
      fc.constantFrom(-1, 1.5, "1", true, [], 2 ** 53 + 2).map((cursor) => ({
        type: "join",
        boardId: "board-1",
        cursor,
      })),
      fc.tuple(
        fc.constantFrom("leave", "typing", "stop_typing"),
        unknownField(["type", "boardId", "taskId"]),
      )
        .map(([type, defect]) => applyDefect({ type, boardId: "board-2" }, defect)),
      fc.tuple(
        fc.constantFrom("x", "y"),
        fc.constantFrom(1_000_001, -1_000_001, "1", null, true, [], 1e308),
      ).map(([axis, value]) => ({ type: "cursor", boardId: "board-1", x: 1, y: 1, [axis]: value })),
      fc.constantFrom("typing", "stop_typing").map((type) => ({
        type,
        boardId: "board-1",
        taskId: "",
      })),
      unknownField(["type"]).map((defect) => applyDefect({ type: "ping" }, defect)),
      fc.tuple(
        fc.constantFrom(...Object.keys(mutationBase)),
        fc.constantFrom<Defect>(
          { drop: ["requestId"] },
          { set: "requestId", value: null },
          { set: "requestId", value: 1.5 },
          { set: "requestId", value: "" },
          { set: "requestId", value: {} },
          { set: "idempotencyKey", value: "a b" },
          { set: "idempotencyKey", value: "" },
          { set: "idempotencyKey", value: 5 },
        ),
      ).map(([type, defect]) => applyDefect(mutationBase[type], defect)),
      fc.constantFrom(...["update_task", "move_task", "delete_task"]).chain((type) =>
        fc.constantFrom<Defect>(
          { drop: ["taskId"] },
          { set: "taskId", value: "" },
          { set: "taskId", value: 7 },
          { set: "taskId", value: "x".repeat(101) },
        ).map((defect) => applyDefect(mutationBase[type], defect))
      ),
      unknownField(["type", "requestId", "idempotencyKey", "taskId"]).map((defect) =>
        applyDefect(mutationBase.delete_task, defect)
      ),
    ).map(wsFrame),
  },
  // Typing, cursors and leaving need a join first; joining twice or a board not Alice's.
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.tuple(fc.constantFrom("leave", "typing", "stop_typing", "cursor"), notJoinedBoard).map(
        ([type, boardId]) => type === "cursor" ? { type, boardId, x: 0, y: 0 } : { type, boardId },
      ),
      fc.constant({ type: "join", boardId: "board-1" }),
      fc.oneof(fc.constantFrom("board-2", "no-such-board", "%00", "\u0000"), absentId).map((
        boardId,
      ) => ({
        type: "join",
        boardId,
      })),
    ).map(wsFrame),
  },
  // Mutations the rules refuse: bad fields, no such list or task, a stale version, an assignee
  // who is not a member, a list of another board, an idempotency key used for another change.
  {
    weight: 8,
    arbitrary: fc.oneof(
      // The REST body's defects, on the same fields of the message.
      fc.oneof(...bodyRoute("POST", "/tasks").defects).map((defect) =>
        applyDefect(mutationBase.create_task, defect)
      ),
      fc.oneof(...bodyRoute("PATCH", "/tasks/:homeTask").defects).map((defect) =>
        applyDefect(mutationBase.update_task, defect)
      ),
      fc.oneof(...bodyRoute("PATCH", "/tasks/:homeTask/move").defects).map((defect) =>
        applyDefect(mutationBase.move_task, defect)
      ),
      // An unknown field REST refuses by name.
      fc.constantFrom(...Object.keys(mutationBase)).map((type) =>
        applyDefect(mutationBase[type], { add: "__proto__", value: {} })
      ),
      fc.tuple(fc.constantFrom("update_task", "move_task", "delete_task"), absentId).map(
        ([type, taskId]) => ({ ...mutationBase[type], taskId }),
      ),
      fc.constantFrom(...Object.keys(mutationBase)).map((type) => ({
        ...mutationBase[type],
        idempotencyKey: "fuzz-used-key",
      })),
      fc.constant({ ...mutationBase.update_task, taskId: "task-5" }),
      fc.constant({ ...mutationBase.create_task, listId: "list-b2-ideas" }),
    ).map(wsFrame),
  },
  // History, trash and undo: fields of the wrong shape or unknown (the messages are strict),
  // nothing of that name on the shelf the message names, a card whose list is gone, a seq that
  // is not one of the board's or cannot be reverted.
  {
    weight: 8,
    arbitrary: fc.oneof(
      fc.constantFrom(...SHELF_TYPES).chain(([type, field]) =>
        fc.constantFrom<Defect>(
          { drop: [field] },
          { set: field, value: "" },
          { set: field, value: 7 },
          { set: field, value: null },
          { set: field, value: ["x"] },
          { set: field, value: "x".repeat(101) },
          { add: field === "taskId" ? "listId" : "taskId", value: "x" },
          { add: "boardId", value: "board-1" },
        ).map((defect) => applyDefect(mutationBase[type], defect))
      ),
      fc.constantFrom<Defect>(
        { drop: ["seq"] },
        { drop: ["boardId"] },
        { set: "seq", value: 0 },
        { set: "seq", value: -1 },
        { set: "seq", value: 1.5 },
        { set: "seq", value: "1" },
        { set: "seq", value: null },
        { set: "seq", value: 2 ** 53 },
        { set: "seq", value: 1e308 },
        { set: "seq", value: [1] },
        { set: "boardId", value: "" },
        { set: "boardId", value: 5 },
        { set: "boardId", value: "x".repeat(101) },
        { add: "taskId", value: "task-1" },
      ).map((defect) => applyDefect(mutationBase.revert, defect)),
      fc.constantFrom(...SHELF_TYPES, ["revert", "seq"] as [string, string]).chain(([type]) =>
        unknownField(Object.keys(mutationBase[type]).concat("idempotencyKey")).map((defect) =>
          applyDefect(mutationBase[type], defect)
        )
      ),
      // The wrong shelf, a live one, or a card whose list is gone (409 restore_conflict).
      fc.constantFrom<[string, string, RefKind]>(
        ["restore_task", "taskId", "homeTask"],
        ["restore_task", "taskId", "archivedTask"],
        ["restore_task", "taskId", "orphanTask"],
        ["unarchive_task", "taskId", "homeTask"],
        ["unarchive_task", "taskId", "trashTask"],
        ["archive_task", "taskId", "trashTask"],
        ["archive_task", "taskId", "archivedTask"],
        ["restore_list", "listId", "homeList"],
        ["restore_list", "listId", "archivedList"],
        ["unarchive_list", "listId", "homeList"],
        ["unarchive_list", "listId", "trashList"],
        ["archive_list", "listId", "trashList"],
        ["archive_list", "listId", "archivedList"],
      ).map(([type, field, kind]) => ({ type, requestId: rid, [field]: new Ref(kind, 0) })),
      fc.tuple(fc.constantFrom(...SHELF_TYPES), absentId).map(([[type, field], id]) => ({
        type,
        requestId: rid,
        [field]: id,
      })),
      // A conflict: the REST body's defects, on another board's card, or no such conflict.
      fc.oneof(...bodyRoute("POST", "/tasks/:homeTask/conflicts").defects).map((defect) =>
        applyDefect(mutationBase.record_conflict, defect)
      ),
      fc.constantFrom(...["task-5", new Ref("trashTask", 0)]).map((taskId) => ({
        ...mutationBase.record_conflict,
        taskId,
      })),
      fc.oneof(
        fc.constantFrom<unknown>(new Ref("foreignConflict", 0), new Ref("homeTask", 0)),
        absentId,
      ).map((conflictId) => ({ ...mutationBase.resolve_conflict, conflictId })),
      fc.constantFrom<Defect>(
        { set: "conflictId", value: "" },
        { set: "conflictId", value: 5 },
        { drop: ["conflictId"] },
        { add: "taskId", value: "task-1" },
      ).map((defect) => applyDefect(mutationBase.resolve_conflict, defect)),
      fc.constantFrom<[unknown, unknown]>(
        [new Ref("home", 0), 999_999_999],
        [new Ref("home", 0), Number.MAX_SAFE_INTEGER],
        [new Ref("home", 0), new Ref("unrevertible", 0)],
        [new Ref("side", 0), new Ref("unrevertible", 0)],
        [new Ref("side", 0), new Ref("homeSeq", 0)],
        ["board-2", new Ref("homeSeq", 0)],
        ["no-such-board", new Ref("homeSeq", 0)],
      ).map(([boardId, seq]) => ({ type: "revert", requestId: rid, boardId, seq })),
    ).map(wsFrame),
  },
);

Deno.test("refused WebSocket frames each get one documented error and change nothing", async () => {
  const started = performance.now();
  const findings = new Findings();
  const server = await FuzzServer.start();
  const db = new DbReader(server.database);
  let driver: WsDriver | undefined;
  let watcher: FuzzSocket | undefined;
  let inputs = 0;
  try {
    const world = await World.create(server, db);
    // Bob's socket is in board-1's room, and so is Alice's (so joining it again is refused).
    watcher = await watch(world);
    driver = new WsDriver(world, findings, ["board-1"]);
    await driver.open();
    let from = watcher.received.length;
    let markers = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(refusedFrame, { minLength: 10, maxLength: 40 }),
        async (frames) => {
          await world.refresh();
          const rows = await db.dump();
          const seen = driver!.log.length;
          const { errors, closes } = driver!;
          driver!.acked.length = 0;
          for (const frame of frames) {
            await driver!.send(frame);
            inputs++;
          }
          await driver!.settle();
          // Alice is in board-1's room: the marker changes reach her too.
          const isMarker = (m: Message) =>
            m.type === "board_updated" && String(m.board?.title).startsWith("Marker ");
          const answers = driver!.log.slice(seen).filter((m) => m.type !== "pong" && !isMarker(m));
          for (const acked of driver!.acked) findings.add("a refused frame was acked", acked);
          for (const m of answers.filter((m) => m.type !== "error" && m.type !== "ack")) {
            if (driver!.acked.length === 0) {
              findings.add(`a refused frame got "${m.type}"`, preview(m));
            }
          }
          // One error per frame; a frame over the size limit gets close 1009 instead.
          const expected = frames.length - (driver!.closes - closes);
          if (driver!.errors - errors !== expected && driver!.acked.length === 0) {
            findings.add(
              "not one error per refused frame",
              `${driver!.errors - errors} errors for ${expected} frames:\n      ` +
                answers.map((m) => preview(m, 200)).join("\n      "),
            );
          }
          const changed = changes(rows, await db.dump());
          if (changed) findings.add("refused frames wrote to the database", changed);
          const watched = await eventsUntilMarker(world, watcher!, from, ++markers);
          from = watched.next;
          for (const event of watched.events) {
            findings.add("a watcher got an event from refused frames", preview(event));
          }
        },
      ),
      fcParameters(runsOr(30)),
    );
    await finish(server, findings);
  } finally {
    await driver?.socket?.close();
    await watcher?.close();
    await db.close();
    await stopServer(server, findings);
  }
  if (driver) printTally(driver.tally, driver.examples);
  report("WebSocket refused", inputs, `${driver?.errors ?? 0} errors`, started);
  assertNoFindings(findings);
});

// ---- coverage -------------------------------------------------------------------------------

Deno.test("every board route and every WebSocket message type gets fuzzed inputs", () => {
  // The route table is read from the router itself (its handlers are not run), so a new route
  // fails here until ROUTES sends it inputs.
  const shape = (path: string) => path.replace(/:[A-Za-z]+/g, ":");
  const fuzzed = new Set(ROUTES.map(([, spec]) => `${spec.method} ${shape(spec.path)}`));
  const routes = boardRoutes({ actions: {} } as unknown as Services).routes
    .filter((route) => route.method !== "ALL")
    .map((route) => `${route.method} ${shape(route.path)}`);
  assert.ok(routes.length > 20, "the route table was read");
  assert.deepEqual(routes.filter((route) => !fuzzed.has(route)), [], "routes ROUTES never sends");
  const types = new Set(
    WS_MESSAGES.flatMap(([, arbitrary]) =>
      fc.sample(arbitrary, { numRuns: 40, seed: FUZZ_SEED })
        .map((frame) => frame.kind === "json" && (frame.value as Json).type)
    ),
  );
  assert.deepEqual(
    CLIENT_MESSAGE_TYPES.filter((type) => !types.has(type)),
    [],
    "message types WS_MESSAGES never sends",
  );
  assert.deepEqual([...MESSAGE_TYPES].sort(), [...CLIENT_MESSAGE_TYPES].sort());
});

// ---- bytes that are not HTTP, and WebSocket frames that break the framing ----------------------

interface RawHttp {
  method: string;
  target: string;
  version: string;
  headers: string[];
  body: string;
  eol: string;
  /** Half-close after sending (else the server must time the body out). */
  end: boolean;
}

const rawHttp: fc.Arbitrary<RawHttp> = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom("GET", "POST", "PATCH", "DELETE", "HEAD") },
    {
      weight: 1,
      arbitrary: fc.constantFrom("get", "G ET", "", "OPTIONS", "CONNECT", "TRACE", "PRI", "\u00e9"),
    },
  ),
  target: fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        "/healthz",
        "/login",
        "/tasks",
        "/boards/board-1",
        "/boards/board-1/events",
        "/ws",
        "/",
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "*",
        "http://evil.example/healthz",
        "/a b",
        "/%",
        "//",
        "/\u00e9",
        "/" + "a".repeat(9000),
        "healthz",
        "",
        "/?\u0000",
      ),
    },
    { weight: 1, arbitrary: nastyString },
  ),
  version: fc.oneof(
    { weight: 8, arbitrary: fc.constant("HTTP/1.1") },
    {
      weight: 1,
      arbitrary: fc.constantFrom("HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.1 x", ""),
    },
  ),
  headers: fc.array(
    fc.oneof(
      {
        weight: 16,
        arbitrary: fc.constantFrom(
          "Host: 127.0.0.1",
          "Content-Type: application/json",
          "Content-Length: 2",
          "Content-Length: 100",
          "Content-Length: 0",
          "Transfer-Encoding: chunked",
          "Connection: close",
          "Connection: keep-alive",
          "Expect: 100-continue",
          "Upgrade: websocket",
          "Authorization: Bearer nope",
        ),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          "no colon",
          " Host: leading-space",
          "Host : spaced",
          "X-Fold: a\r\n b",
          "X-Nul: a\u0000b",
          "Content-Length: -1",
          "Content-Length: 1, 2",
          "Content-Length: 99999999999999999999",
          "Transfer-Encoding: gzip",
          "X-Big: " + "a".repeat(70_000),
          ": empty name",
          "X-Utf8: \u00e9\u4e2d",
        ),
      },
      { weight: 1, arbitrary: nastyString.map((text) => `X-Fuzz: ${text}`) },
    ),
    { maxLength: 5 },
  ),
  body: fc.oneof(
    fc.constantFrom(
      "",
      "{}",
      '{"email":"a","password":"b"}',
      "2\r\n{}\r\n0\r\n\r\n",
      "zz\r\n{}\r\n0\r\n\r\n",
      "5\r\n{}",
    ),
    malformedJson,
  ),
  eol: weighted([16, "\r\n"], [1, "\n"], [1, "\r"]),
  end: weighted([30, true], [1, false]),
});

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
  /** Its body has arrived whole. */
  complete: boolean;
}

/** The answers in `text` (one character per byte), in order; to a HEAD request: no body. */
function parseAnswers(text: string, head = false): RawAnswer[] {
  const answers = [];
  let rest = text;
  while (rest.startsWith("HTTP/")) {
    const end = rest.indexOf("\r\n\r\n");
    if (end === -1) break;
    const headers = rest.slice(0, end);
    const status = Number(headers.slice(9, 12));
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(headers)?.[1] ?? NaN);
    let body = "";
    let next = end + 4;
    let complete = true;
    if (status < 200 || head || status === 204 || status === 304) {
      // no body
    } else if (/\r\ntransfer-encoding: *chunked/i.test(headers)) {
      complete = false;
      while (true) {
        const line = rest.indexOf("\r\n", next);
        if (line === -1) break;
        const size = parseInt(rest.slice(next, line), 16);
        if (!(size > 0)) {
          next = line + 4;
          complete = rest.length >= next;
          break;
        }
        if (rest.length < line + 4 + size) break;
        body += rest.slice(line + 2, line + 2 + size);
        next = line + 4 + size;
      }
    } else if (Number.isFinite(length)) {
      body = rest.slice(next, next + length);
      complete = rest.length >= next + length;
      next += length;
    } else complete = false;
    answers.push({ status, headers, body: utf8Of(body), complete });
    // Deno's own 400 for a request that is not HTTP ends the connection.
    if (!complete || (status === 400 && length === 0)) break;
    rest = rest.slice(next);
  }
  return answers;
}

/**
 * Sends bytes on a connection of their own and returns what came back: until the server closes,
 * or shortly after a first whole answer (the connection may be kept alive).
 */
async function sendRaw(
  port: number,
  bytes: Uint8Array,
  end: boolean,
  head: boolean,
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let text = "";
  const close = () => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  // A request without its end (a body still owed) is answered after BODY_TIMEOUT_MS (400 ms).
  const timer = setTimeout(close, end ? 5_000 : 1_200);
  let half: ReturnType<typeof setTimeout> | undefined;
  let grace: ReturnType<typeof setTimeout> | undefined;
  try {
    await conn.write(bytes);
    // Deno drops an answer still being made when the client half-closes, so the end of the
    // request comes a moment later (a request cut short still gets its 400 then).
    if (end) half = setTimeout(() => conn.closeWrite().catch(() => {}), 100);
    const buffer = new Uint8Array(65_536);
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += bytesText(buffer.subarray(0, n));
      if (!grace && parseAnswers(text, head).some((a) => a.status >= 200 && a.complete)) {
        grace = setTimeout(close, 50);
      }
    }
  } catch {
    // reset, or closed by a timer: what arrived is the answer
  } finally {
    clearTimeout(timer);
    clearTimeout(half);
    clearTimeout(grace);
    close();
  }
  return text;
}

/** Bytes as a string of one character each (Latin-1), so that lengths are in bytes. */
function bytesText(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

/** A body taken out of a `bytesText` string, decoded as UTF-8. */
const utf8Of = (text: string) =>
  new TextDecoder().decode(Uint8Array.from(text, (char) => char.charCodeAt(0)));

Deno.test("bytes that are not HTTP get Deno's empty 400 or a documented JSON error, and the server lives on", async () => {
  const started = performance.now();
  const findings = new Findings();
  const server = await FuzzServer.start();
  let inputs = 0;
  let denied = 0;
  let silent = 0;
  const tally = new Map<string, number>();
  const examples = new Map<string, string>();
  try {
    const encoder = new TextEncoder();
    await fc.assert(
      fc.asyncProperty(
        fc.array(rawHttp, { minLength: 4, maxLength: 16 }),
        async (batch) => {
          await Promise.all(batch.map(async (raw) => {
            const { eol } = raw;
            const text = `${raw.method} ${raw.target} ${raw.version}`.trimEnd() + eol +
              raw.headers.map((header) => header.replace("127.0.0.1", `127.0.0.1:${server.port}`))
                .map((header) => header + eol).join("") +
              eol + raw.body;
            const sent = performance.now();
            const head = raw.method === "HEAD";
            const answer = await sendRaw(server.port, encoder.encode(text), raw.end, head);
            inputs++;
            const ms = performance.now() - sent;
            const line = answer.slice(0, answer.indexOf("\r\n") >>> 0).slice(0, 12) || "(none)";
            const what = `${line}${raw.end ? "" : " (not ended)"}${ms > 1000 ? " slow" : ""}`;
            tally.set(what, (tally.get(what) ?? 0) + 1);
            if (FUZZ_VERBOSE && !examples.has(what)) examples.set(what, preview(text, 300));
            const repro = preview(text, 400);
            const answers = parseAnswers(answer, head);
            if (answers.length === 0) {
              silent++;
              if (answer) {
                findings.add("an answer that is not HTTP", `${repro} → ${preview(answer)}`);
              }
              return;
            }
            for (const [i, { status, headers, body, complete }] of answers.entries()) {
              const shown = `${repro} → ${preview(headers.split("\r\n")[0])} ${preview(body, 200)}`;
              if (status >= 500) {
                findings.add(`${status} for raw bytes`, shown);
              }
              if (status < 400) continue;
              if (status === 400 && body === "" && !/content-type/i.test(headers)) {
                denied++;
                continue;
              }
              // Only the first answer is sure to be to a request (and whole).
              if (i > 0 || head || !complete) continue;
              let code: unknown;
              try {
                code = JSON.parse(body).error.code;
              } catch {
                findings.add(`${status} without a JSON error for raw bytes`, shown);
                continue;
              }
              if (typeof code !== "string" || ERROR_STATUS.get(code) !== status) {
                findings.add(`undocumented ${status} "${code}" for raw bytes`, shown);
              }
            }
          }));
        },
      ),
      fcParameters(runsOr(40)),
    );
    await finish(server, findings);
  } finally {
    await stopServer(server, findings);
  }
  printTally(tally, examples);
  report("raw HTTP", inputs, `${denied} empty 400s from Deno, ${silent} unanswered`, started);
  assertNoFindings(findings);
});

interface RawFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: readonly number[];
}

const rawFrame: fc.Arbitrary<RawFrame> = fc.record({
  fin: weighted([6, true], [1, false]),
  rsv: weighted([6, 0], [1, 0x40], [1, 0x20], [1, 0x10]),
  opcode: weighted([5, 1], [2, 2], [1, 0], [1, 8], [1, 9], [1, 10], [1, 3], [1, 0xb], [1, 0xf]),
  masked: weighted([8, true], [1, false]),
  payload: fc.oneof(
    fc.constantFrom(
      [0xff, 0xfe],
      [0xed, 0xa0, 0x80],
      [0x03, 0xe8],
      [0x03, 0xe7],
      [0x03],
      [0x0f, 0xa0],
      [...new TextEncoder().encode('{"type":"ping"}')],
      [...new TextEncoder().encode('{"type":"join","boardId":"board-1"}')],
    ),
    fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }),
  ),
});

function encodeFrame(frame: RawFrame): Uint8Array {
  const length = frame.payload.length;
  const head = [(frame.fin ? 0x80 : 0) | frame.rsv | frame.opcode];
  const maskBit = frame.masked ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else head.push(maskBit | 126, length >> 8, length & 0xff);
  const mask = frame.masked ? [0x12, 0x34, 0x56, 0x78] : [];
  const out = new Uint8Array(head.length + mask.length + length);
  out.set(head);
  out.set(mask, head.length);
  for (let i = 0; i < length; i++) {
    out[head.length + mask.length + i] = frame.masked
      ? frame.payload[i] ^ mask[i % 4]
      : frame.payload[i];
  }
  return out;
}

/** How a hand-made WebSocket asks for its upgrade. */
interface Handshake {
  path: string;
  /** bearer / query (`?token=`) / cookie: Alice's session; none or bad: no valid one. */
  auth: "bearer" | "query" | "cookie" | "none" | "bad";
  origin?: string;
  version: string;
  key: "valid" | "missing" | "short";
  upgrade: string;
}

const handshake: fc.Arbitrary<Handshake> = fc.record({
  path: weighted([12, "/ws"], [2, "/"], [1, "/ws/"], [1, "/ws?x=%00"]),
  auth: weighted<Handshake["auth"]>([12, "bearer"], [2, "query"], [2, "cookie"], [1, "none"], [
    1,
    "bad",
  ]),
  origin: fc.oneof(
    { weight: 12, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom("same", "http://evil.example", "null") },
  ),
  version: weighted([14, "13"], [1, "8"], [1, "x"]),
  key: weighted<Handshake["key"]>([14, "valid"], [1, "missing"], [1, "short"]),
  upgrade: weighted([14, "websocket"], [1, "WebSocket"], [1, "h2c"]),
});

interface RawSocketResult {
  /** The status line's code (101 when upgraded). */
  status: number;
  /** The head and body of an answer that was not an upgrade. */
  answer: string;
  /** Text frames received, parsed. */
  messages: Message[];
  pong: boolean;
  close?: number;
  dropped: boolean;
}

/** Opens a WebSocket by hand, sends raw frames, then a ping message; returns what came back. */
async function rawSocket(
  server: FuzzServer,
  token: string,
  shake: Handshake,
  frames: Uint8Array[],
): Promise<RawSocketResult> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const timer = setTimeout(() => conn.close(), 5_000);
  let buffer = new Uint8Array(0);
  const result: RawSocketResult = {
    status: 0,
    answer: "",
    messages: [],
    pong: false,
    dropped: false,
  };
  try {
    const key = shake.key === "valid"
      ? btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
      : "c2hvcnQ=";
    const credential = shake.auth === "bad" ? "no-such-token" : token;
    const path = shake.auth === "query" ? `${shake.path}?token=${credential}` : shake.path;
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${server.port}`,
      `Upgrade: ${shake.upgrade}`,
      "Connection: Upgrade",
      `Sec-WebSocket-Version: ${shake.version}`,
    ];
    if (shake.key !== "missing") lines.push(`Sec-WebSocket-Key: ${key}`);
    if (shake.auth === "bearer" || shake.auth === "bad") {
      lines.push(`Authorization: Bearer ${credential}`);
    }
    if (shake.auth === "cookie") lines.push(`Cookie: session=${credential}`);
    if (shake.origin) {
      lines.push(`Origin: ${shake.origin === "same" ? server.url : shake.origin}`);
    }
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    const chunk = new Uint8Array(65_536);
    let upgraded = false;
    while (!result.pong && result.close === undefined) {
      const n = await conn.read(chunk);
      if (n === null) {
        result.dropped = true;
        break;
      }
      const joined = new Uint8Array(buffer.length + n);
      joined.set(buffer);
      joined.set(chunk.subarray(0, n), buffer.length);
      buffer = joined;
      if (!upgraded) {
        const text = bytesText(buffer);
        const end = text.indexOf("\r\n\r\n");
        if (end === -1) continue;
        result.status = Number(text.slice(9, 12));
        if (result.status !== 101) {
          // Not upgraded: the whole answer (its body follows its head).
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
          if (text.length < end + 4 + length) continue;
          result.answer = text.slice(0, end + 4 + length);
          break;
        }
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        // Without a session the server closes at once (4001): wait for it, send nothing.
        if (shake.auth !== "none" && shake.auth !== "bad") {
          for (const frame of frames) await conn.write(frame);
          const ping = new TextEncoder().encode('{"type":"ping"}');
          await conn.write(
            encodeFrame({ fin: true, rsv: 0, opcode: 1, masked: true, payload: [...ping] }),
          );
        }
      }
      while (buffer.length >= 2) {
        const opcode = buffer[0] & 0x0f;
        let length = buffer[1] & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) break;
          length = (buffer[2] << 8) | buffer[3];
          offset = 4;
        }
        if (buffer.length < offset + length) break;
        const payload = buffer.subarray(offset, offset + length);
        buffer = buffer.subarray(offset + length);
        if (opcode === 8) result.close = length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
        if (opcode === 1) {
          const message = JSON.parse(new TextDecoder().decode(payload));
          result.messages.push(message);
          if (message.type === "pong") result.pong = true;
        }
      }
    }
  } catch {
    result.dropped = true;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
  return result;
}

/**
 * RFC 6455 codes the runtime (not Liveboard) closes with when a frame breaks the WebSocket
 * framing itself: 1002 protocol error, 1007 invalid data; or it drops the connection (1006).
 */
const RUNTIME_CLOSE_CODES = new Set([1002, 1007]);

Deno.test("WebSocket handshakes and frames that break the framing get a documented refusal, and end only their own socket", async () => {
  const started = performance.now();
  const findings = new Findings();
  const server = await FuzzServer.start();
  const db = new DbReader(server.database);
  let inputs = 0;
  const outcomes = { refused: 0, unauthorized: 0, usable: 0, closed: 0, dropped: 0 };
  let bystander: FuzzSocket | undefined;
  try {
    const world = await World.create(server, db);
    bystander = await FuzzSocket.open(server.wsUrl, world.accounts.bob.token);
    await fc.assert(
      fc.asyncProperty(
        handshake,
        fc.array(rawFrame, { minLength: 0, maxLength: 3 }),
        async (shake, frames) => {
          const result = await rawSocket(
            server,
            world.accounts.alice.token,
            shake,
            frames.map(encodeFrame),
          );
          inputs += 1 + frames.length;
          const repro = `${preview(shake)} then ${frames.map((f) => preview(f, 200)).join(", ")}`;
          for (const m of result.messages) {
            if (m.type === "error" && !ERROR_STATUS.has(m.code)) {
              findings.add(
                `undocumented WebSocket error code "${m.code}"`,
                `${repro}: ${preview(m)}`,
              );
            }
          }
          if (result.status !== 101) {
            outcomes.refused++;
            const [answer] = parseAnswers(result.answer);
            if (!answer) {
              findings.add("no answer to an upgrade", repro);
            } else if (answer.status >= 500) {
              findings.add(`${answer.status} for an upgrade`, `${repro} → ${answer.body}`);
            } else if (answer.status >= 400) {
              let code: unknown;
              try {
                code = JSON.parse(answer.body).error.code;
              } catch {
                code = undefined;
              }
              if (typeof code !== "string" || ERROR_STATUS.get(code) !== answer.status) {
                findings.add(
                  `upgrade refused with ${answer.status} "${code}"`,
                  `${repro} → ${preview(answer.body)}`,
                );
              }
            }
            return;
          }
          if (shake.auth === "none" || shake.auth === "bad") {
            outcomes.unauthorized++;
            const told = result.messages.find((m) => m.type === "error")?.code;
            if (told !== "unauthorized" || result.close !== 4001) {
              findings.add(
                "a socket without a session is not told unauthorized and closed 4001",
                `${repro}: ${preview(result.messages)} close ${result.close}`,
              );
            }
            return;
          }
          if (result.pong) outcomes.usable++;
          else if (result.close !== undefined) {
            outcomes.closed++;
            // A close the client started is answered with its own code (RFC 6455 5.5.1).
            const echoed = frames.some((f) =>
              f.opcode === 8 && f.payload.length >= 2 &&
              ((f.payload[0] << 8) | f.payload[1]) === result.close
            );
            if (
              !echoed && !CLOSE_CODES.has(result.close) && !RUNTIME_CLOSE_CODES.has(result.close)
            ) {
              findings.add(`closed with undocumented code ${result.close}`, repro);
            }
          } else outcomes.dropped++;
        },
      ),
      fcParameters(runsOr(120)),
    );
    // The other socket never noticed.
    await bystander.barrier();
    await finish(server, findings);
  } finally {
    await bystander?.close();
    await db.close();
    await stopServer(server, findings);
  }
  report(
    "WebSocket handshakes and raw frames",
    inputs,
    `${outcomes.refused} upgrades refused, ${outcomes.unauthorized} closed 4001, ` +
      `${outcomes.usable} sockets still usable, ${outcomes.closed} closed, ` +
      `${outcomes.dropped} dropped by the runtime`,
    started,
  );
  assertNoFindings(findings);
});
