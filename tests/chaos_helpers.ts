/**
 * The chaos harness: Liveboard as a child process that a test kills with SIGKILL (optionally
 * under libfaketime, whose clock the test moves), file systems the test mounts itself (a small
 * tmpfs to fill, an ext4 image to turn read-only), a board workload of keyed writes whose every
 * answer is recorded, and the checks that follow each catastrophe: every answered write is in
 * the log, the log is dense, folding it with the browser's `BoardModel` gives the server's
 * snapshot, and retrying with the same idempotency keys adds nothing.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { BoardModel } from "../static/js/board_model.js";
import type { Snapshot, Task } from "../src/store/store.ts";
import { spawnServer, TEST_POSTGRES_URL, type WireEvent, withPostgres } from "./helpers.ts";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Mounting file systems needs root (CI runs as root). */
export const isRoot = Deno.uid() === 0;

/** Runs a command; rejects with its output unless it exits with one of `codes`. */
export async function sh(command: string, args: string[], codes = [0]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(command, { args, stdin: "null" })
    .output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  if (!codes.includes(code)) {
    throw new Error(`${command} ${args.join(" ")} (exit ${code}): ${text}`);
  }
  return text;
}

/** Whether `command` is on the PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    await sh("sh", ["-c", `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/** Whether `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Debian's libfaketime (package `faketime`), if installed. */
export const LIBFAKETIME = [
  "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
  "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
  "/usr/lib/faketime/libfaketime.so.1",
].find(exists);

// ---- servers as processes ----------------------------------------------------------------

const RUN_FLAGS = ["--allow-net", "--allow-read", "--allow-write", "--allow-env"];

/** Where a server keeps its data: a SQLite file, or a PostgreSQL database and schema. */
export interface DatabaseRef {
  databaseUrl: string;
  databaseSchema: string;
}

/** `main.ts` as a child process on 127.0.0.1:0, in demo mode (anonymous = the demo guest). */
export class ServerProcess {
  private constructor(
    readonly child: Deno.ChildProcess,
    readonly url: string,
    readonly output: () => string,
    readonly drained: Promise<unknown>,
  ) {}

  static async start(
    database: DatabaseRef,
    env: Record<string, string> = {},
  ): Promise<ServerProcess> {
    const { child, url, output, drained } = await spawnServer(
      Deno.execPath(),
      ["run", ...RUN_FLAGS, "main.ts"],
      {
        cwd: ROOT,
        name: "liveboard",
        env: {
          PORT: "0",
          HOST: "127.0.0.1",
          DATABASE_URL: database.databaseUrl,
          DATABASE_SCHEMA: database.databaseSchema,
          DEMO: "true",
          PBKDF2_ITERATIONS: "1000",
          LOG_LEVEL: "warn",
          ...env,
        },
      },
    );
    return new ServerProcess(child, url, output, drained);
  }

  get pid(): number {
    return this.child.pid;
  }

  request(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
    return jsonFetch(this.url, path, init);
  }

  /** Sends `signal` to the process (by its pid) and waits until it has exited. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      Deno.kill(this.pid, signal);
    } catch {
      // Already gone.
    }
    const status = await this.child.status;
    await this.drained;
    return status;
  }
}

/** fetch relative to `base`, JSON in. */
export function jsonFetch(
  base: string,
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.json !== undefined) headers.set("content-type", "application/json");
  const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
  return fetch(base + path, { ...init, headers, body });
}

/** Anything with a base URL to send requests to (a process, or an in-process test server). */
export interface Target {
  url: string;
}

// ---- file systems ------------------------------------------------------------------------

/** A file system mounted by a test, and how to take it away again. */
export interface Mounted {
  dir: string;
  unmount(): Promise<void>;
}

/** Mounts a tmpfs of `size` (e.g. "8m") on a new temp dir; `options` adds mount options. */
export async function mountTmpfs(size: string, options = ""): Promise<Mounted> {
  const dir = await Deno.makeTempDir({ prefix: "liveboard-chaos-" });
  await sh("mount", [
    "-t",
    "tmpfs",
    "-o",
    `size=${size}${options ? "," + options : ""}`,
    "tmpfs",
    dir,
  ]);
  return {
    dir,
    unmount: async () => {
      await sh("umount", [dir]);
      await Deno.remove(dir);
    },
  };
}

/**
 * An ext4 file system in a file, on a loop device, mounted `errors=remount-ro` — as a server's
 * disk usually is: on an error the kernel turns it read-only under the running server, and
 * only an unmount, `e2fsck` and a new mount make it writable again.
 */
export class Ext4Disk implements Mounted {
  private constructor(readonly image: string, readonly dir: string, public device: string) {}

  static async create(size = "32M"): Promise<Ext4Disk> {
    const image = await Deno.makeTempFile({ prefix: "liveboard-chaos-", suffix: ".ext4" });
    const dir = await Deno.makeTempDir({ prefix: "liveboard-chaos-" });
    try {
      await sh("truncate", ["-s", size, image]);
      await sh("mkfs.ext4", ["-q", "-F", "-m", "0", image]);
      const disk = new Ext4Disk(image, dir, "");
      await disk.#mount();
      return disk;
    } catch (error) {
      await Deno.remove(dir).catch(() => {});
      await Deno.remove(image).catch(() => {});
      throw error;
    }
  }

  async #mount(): Promise<void> {
    await sh("mount", ["-o", "loop,errors=remount-ro", this.image, this.dir]);
    this.device = (await sh("findmnt", ["-no", "SOURCE", this.dir])).trim().replace(/^\/dev\//, "");
  }

  /** Makes the kernel see an error on it: it is remounted read-only at once, files open or not. */
  async fail(): Promise<void> {
    await sh("sh", [
      "-c",
      `echo liveboard chaos test > /sys/fs/ext4/${this.device}/trigger_fs_error`,
    ]);
    assert.match(await sh("findmnt", ["-no", "OPTIONS", this.dir]), /emergency_ro|\bro\b/);
  }

  /** What an operator does: unmount, repair (`e2fsck -fy`: 0 clean, 1 repaired), mount again. */
  async repair(): Promise<string> {
    await sh("umount", [this.dir]);
    const report = await sh("e2fsck", ["-fy", this.image], [0, 1]);
    await this.#mount();
    return report;
  }

  async unmount(): Promise<void> {
    await sh("umount", [this.dir]).catch(() => {});
    await Deno.remove(this.dir).catch(() => {});
    await Deno.remove(this.image);
  }
}

/** Fills the file system holding `dir` with one file until it is full; returns the file. */
export async function fillDisk(dir: string): Promise<{ bytes: number; free(): Promise<void> }> {
  const path = `${dir}/filler`;
  const file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024).fill(0xa5);
  let bytes = 0;
  try {
    while (true) bytes += await file.write(chunk);
  } catch (error) {
    if (!(error instanceof Error && /No space left/i.test(error.message))) throw error;
  }
  // The last bytes a block at a time, so not even a 4 KiB page is left.
  try {
    while (true) bytes += await file.write(chunk.subarray(0, 512));
  } catch {
    // full
  } finally {
    file.close();
  }
  return { bytes, free: () => Deno.remove(path) };
}

// ---- PostgreSQL databases of a test's own ----------------------------------------------------

/** Runs `text` on the test database's server (outside any transaction: CREATE DATABASE may). */
export const pgAdmin = (text: string) => withPostgres((sql) => sql.unsafe(text));

/** Retries `fn` for a few seconds: dropping may fail while a checkpoint fails (see below). */
async function persist(fn: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await fn();
      return;
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

/** A database of the test's own (its sessions can be ended, its settings changed). */
export interface OwnDatabase extends DatabaseRef {
  name: string;
  /**
   * Drops it (and its tablespace). DROP DATABASE asks for a checkpoint, which fails while any
   * database's tablespace is full (the checkpointer cannot write its pages): it is retried.
   */
  drop(): Promise<void>;
}

/** Creates `lbt_chaos_…` (in its own tablespace at `location` when given). */
export async function ownPostgresDatabase(location?: string): Promise<OwnDatabase> {
  const name = `lbt_chaos_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  if (location) await pgAdmin(`CREATE TABLESPACE ${name} LOCATION '${location}'`);
  await pgAdmin(`CREATE DATABASE ${name}${location ? ` TABLESPACE ${name}` : ""}`);
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    name,
    databaseUrl: url.href,
    databaseSchema: "public",
    drop: async () => {
      await persist(() => pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
      if (location) await persist(() => pgAdmin(`DROP TABLESPACE IF EXISTS ${name}`));
    },
  };
}

/**
 * Ends every session of database `name` (as a switchover or a restart does), waiting until
 * each has exited; returns how many there were.
 */
export async function endSessions(name: string): Promise<number> {
  const rows = await withPostgres((sql) =>
    sql`SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = ${name}`
  );
  return rows.length;
}

// ---- the database, read directly ----------------------------------------------------------

/** Runs read-only SQL on a SQLite file or a PostgreSQL database/schema (`?` parameters). */
export async function sqlRows(
  database: DatabaseRef,
  text: string,
): Promise<Record<string, unknown>[]> {
  if (/^postgres(ql)?:/.test(database.databaseUrl)) {
    const sql = postgres(database.databaseUrl, {
      max: 1,
      onnotice: () => {},
      types: { bigint: { to: 20, from: [20], serialize: String, parse: Number } },
      connection: { search_path: database.databaseSchema },
    });
    try {
      return [...await sql.unsafe(text)];
    } finally {
      await sql.end({ timeout: 1 });
    }
  }
  const db = new DatabaseSync(database.databaseUrl, { readOnly: true });
  try {
    return db.prepare(text).all().map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

/** The log as the database holds it: dense seqs from 1, the head, the newest seq. */
export async function assertDenseLog(database: DatabaseRef): Promise<number> {
  const postgresStore = /^postgres(ql)?:/.test(database.databaseUrl);
  const [row] = await sqlRows(
    database,
    `SELECT count(*) AS n, coalesce(min(seq), 0) AS low, coalesce(max(seq), 0) AS high,
       (${
      postgresStore
        ? "SELECT seq FROM event_head"
        : "SELECT seq FROM sqlite_sequence WHERE name = 'events'"
    }) AS head
     FROM events`,
  );
  const [n, low, high, head] = [row.n, row.low, row.high, row.head].map(Number);
  assert.equal(n > 0 ? low : 1, 1, "the log starts at seq 1 (nothing was pruned)");
  assert.equal(high, n, `the log's seqs are dense: ${n} events, highest seq ${high}`);
  assert.equal(head, high, "the head is the newest event");
  return n;
}

// ---- the board workload --------------------------------------------------------------------

/** A small seeded PRNG (mulberry32), so a failing run can be told apart from another. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type OpKind = "create" | "move" | "edit" | "list";

/** One keyed write, and the answer it got (none: the request failed before a full answer). */
export interface Op {
  kind: OpKind;
  key: string;
  method: string;
  path: string;
  json: Record<string, unknown>;
  /** The last complete answer. */
  status?: number;
  // deno-lint-ignore no-explicit-any
  body?: any;
  /** Every status this op was answered with, in order (retries included). */
  statuses: number[];
}

/**
 * Keyed writes to one board — creates, moves and edits of tasks (no deletes, so a retry can
 * never find its task gone), now and then a new list at the end — each recorded with its
 * answer. Moves and edits carry no version (last writer wins), so no write is ever refused
 * by the board's rules: every key ends answered 2xx once the database takes writes.
 */
export class BoardWorkload {
  readonly ops: Op[] = [];
  /** Tasks whose creation was answered. */
  readonly taskIds: string[] = [];
  /** Requests given up on because no answer came in time (see `send`). */
  timedOut = 0;
  readonly listIds: string[];
  #rng: () => number;
  #n = 0;

  constructor(readonly created: Snapshot, readonly seed: number) {
    this.listIds = created.lists.map((list) => list.id);
    this.#rng = random(seed);
  }

  get boardId(): string {
    return this.created.board.id;
  }

  /** Creates a board (keyed) and returns the workload on it. */
  static async start(target: Target, seed: number): Promise<BoardWorkload> {
    const response = await jsonFetch(target.url, "/boards", {
      method: "POST",
      json: { title: "Chaos" },
      headers: { "idempotency-key": `chaos-board-${seed}` },
    });
    const created = await response.json();
    assert.equal(response.status, 201, JSON.stringify(created));
    return new BoardWorkload(created, seed);
  }

  #pick<T>(items: T[]): T {
    return items[Math.floor(this.#rng() * items.length)];
  }

  /** The next write to send, chosen at random. */
  next(options: { description?: number } = {}): Op {
    const n = ++this.#n;
    const key = `chaos-${this.seed}-${n}`;
    const roll = this.#rng();
    const op = (kind: OpKind, method: string, path: string, json: Record<string, unknown>) => {
      const op: Op = { kind, key, method, path, json, statuses: [] };
      this.ops.push(op);
      return op;
    };
    const description = "d".repeat(options.description ?? 0);
    if (this.taskIds.length < 3 || roll < 0.4) {
      return op("create", "POST", "/tasks", {
        listId: this.#pick(this.listIds),
        title: `Task ${n}`,
        description,
        position: Math.floor(this.#rng() * 20),
      });
    }
    if (roll < 0.72) {
      return op("move", "PATCH", `/tasks/${this.#pick(this.taskIds)}/move`, {
        listId: this.#pick(this.listIds),
        position: Math.floor(this.#rng() * 30),
      });
    }
    if (roll < 0.98) {
      return op("edit", "PATCH", `/tasks/${this.#pick(this.taskIds)}`, {
        title: `Edited ${n}`,
        description,
      });
    }
    return op("list", "POST", `/boards/${this.boardId}/lists`, { title: `List ${n}` });
  }

  /**
   * Sends `op` with its key; records the answer when one arrives whole. A request the server
   * never answered (it was killed) leaves the op unanswered; so does one not answered within
   * `timeoutMs` (then it is aborted and counted in `timedOut`).
   */
  async send(target: Target, op: Op, timeoutMs = 60_000): Promise<void> {
    let status: number, body: unknown;
    const abort = new AbortController();
    const timer = setTimeout(() => {
      this.timedOut++;
      abort.abort();
    }, timeoutMs);
    try {
      const response = await jsonFetch(target.url, op.path, {
        method: op.method,
        json: op.json,
        headers: { "idempotency-key": op.key },
        signal: abort.signal,
      });
      status = response.status;
      body = JSON.parse(await response.text());
    } catch {
      return; // No (whole) answer.
    } finally {
      clearTimeout(timer);
    }
    op.status = status;
    op.body = body;
    op.statuses.push(status);
    if (op.kind === "create" && status === 201 && !this.taskIds.includes(op.body.id)) {
      this.taskIds.push(op.body.id);
    }
    if (op.kind === "list" && status === 201 && !this.listIds.includes(op.body.id)) {
      this.listIds.push(op.body.id);
    }
  }

  /** `writers` loops sending new writes, each as soon as its last is answered, until `stop()`. */
  async run(
    target: Target,
    writers: number,
    stop: () => boolean,
    options: { description?: number; timeoutMs?: number } = {},
  ): Promise<void> {
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (!stop()) await this.send(target, this.next(options), options.timeoutMs);
      }),
    );
  }

  /** Ops whose last answer was a success. */
  succeeded(): Op[] {
    return this.ops.filter((op) => op.status !== undefined && op.status < 300);
  }

  /** Ops with no success yet: unanswered, or refused (503) while the database would not write. */
  pending(): Op[] {
    return this.ops.filter((op) => op.status === undefined || op.status >= 300);
  }
}

// ---- the checks ------------------------------------------------------------------------------

/** Every event of the board from cursor 0, through the short poll (pages of up to 500). */
export async function readBoardLog(target: Target, boardId: string): Promise<WireEvent[]> {
  const events: WireEvent[] = [];
  let cursor = 0;
  while (true) {
    const response = await jsonFetch(target.url, `/boards/${boardId}/updates?since=${cursor}`);
    const page = await response.json();
    assert.equal(response.status, 200, JSON.stringify(page));
    assert.ok(!page.resync, "a replay from cursor 0 needs no resync");
    events.push(...page.data);
    if (page.data.length < 500) return events;
    cursor = page.data[page.data.length - 1].id;
  }
}

/** Folds the log, from the board as created (no tasks, cursor 0), with the browser's model. */
export function fold(created: Snapshot, events: WireEvent[]): BoardModel {
  const model = new BoardModel({ ...created, tasks: [], cursor: 0 });
  for (const event of events) model.applyEvent(event);
  return model;
}

/**
 * The model equals the snapshot: board, lists and members as they are, each list's tasks in
 * the same order with the same fields (a task's position is its place in the model's list:
 * the model keeps order, not the numbers the events carried).
 */
export function assertModelEquals(model: BoardModel, snapshot: Snapshot): void {
  assert.deepEqual(model.board, snapshot.board);
  assert.deepEqual(model.lists, snapshot.lists);
  assert.deepEqual(model.members, snapshot.members);
  for (const list of snapshot.lists) {
    const expected = snapshot.tasks.filter((task) => task.listId === list.id)
      .sort((a, b) => a.position - b.position);
    const actual = (model.columns.get(list.id) ?? []).map((task: Task, position: number) => ({
      ...task,
      position,
    }));
    assert.deepEqual(actual, expected, `the tasks of list ${list.title}`);
  }
  assert.equal(snapshot.tasks.length, [...model.columns.values()].flat().length);
}

/** The event an answered write committed, found in the log. */
function committedBy(op: Op, events: WireEvent[]): WireEvent | undefined {
  const { body } = op;
  // deno-lint-ignore no-explicit-any
  const task = (event: any) => event.task?.id === body.id && event.task?.version === body.version;
  switch (op.kind) {
    case "create":
      return events.find((event) => event.type === "task_created" && task(event));
    case "move":
      return events.find((event) => event.type === "task_moved" && task(event));
    case "edit":
      return events.find((event) => event.type === "task_updated" && task(event));
    case "list":
      // deno-lint-ignore no-explicit-any
      return events.find((event: any) =>
        event.type === "list_created" && event.list.id === body.id
      );
  }
}

export interface BoardCheck {
  /** Events in the log (the board's, which are all of them). */
  events: number;
  /** Writes answered 2xx. */
  answered: number;
}

/**
 * After a catastrophe: the log is dense in the database and read back whole from cursor 0;
 * every write answered 2xx committed its event; the log folds to the server's snapshot; and
 * the log holds exactly one event per write that may have committed: at least the answered
 * ones, at most those plus the unanswered ones (`exact`: none is unanswered, so exactly).
 */
export async function checkBoard(
  target: Target,
  database: DatabaseRef,
  workload: BoardWorkload,
  { exact = false } = {},
): Promise<BoardCheck> {
  const inDatabase = await assertDenseLog(database);
  const events = await readBoardLog(target, workload.boardId);
  assert.deepEqual(
    events.map((event) => event.id),
    Array.from({ length: events.length }, (_, i) => i + 1),
    "the replay from cursor 0 is every seq once, in order",
  );
  assert.equal(events.length, inDatabase, "the board's events are the whole log");
  assert.equal(events[0].type, "board_created");
  const answered = workload.succeeded();
  for (const op of answered) {
    assert.ok(committedBy(op, events), `answered ${op.kind} ${op.key} is in the log`);
  }
  // Every op is one event, once: the board's own, the answered, and maybe the unanswered.
  const unanswered = workload.ops.length - answered.length;
  assert.ok(events.length - 1 >= answered.length, "no answered write is missing");
  if (exact) assert.equal(events.length - 1, answered.length, "one event per write, no more");
  else assert.ok(events.length - 1 <= answered.length + unanswered, "no write committed twice");
  const snapshotResponse = await jsonFetch(target.url, `/boards/${workload.boardId}`);
  const snapshot: Snapshot = await snapshotResponse.json();
  assert.equal(snapshotResponse.status, 200);
  assert.equal(snapshot.cursor, events.length, "the snapshot is as of the newest event");
  const model = fold(workload.created, events);
  assert.equal(model.cursor, events.length);
  assertModelEquals(model, snapshot);
  return { events: events.length, answered: answered.length };
}

/**
 * Sends every write with no success yet again, with its key, one after the other in the order
 * they were first sent; each must now succeed. Then sends every write once more: each answers
 * exactly what it answered before (recorded, not done again). Returns how many were retried.
 */
export async function retryAll(target: Target, workload: BoardWorkload): Promise<number> {
  const pending = workload.pending();
  for (const op of pending) {
    await workload.send(target, op);
    assert.ok(
      op.status !== undefined && op.status < 300,
      `retry of ${op.kind} ${op.key}: ${op.status} ${JSON.stringify(op.body)}`,
    );
  }
  const answers = workload.ops.map((op) => ({ status: op.status, body: op.body }));
  await inBatches(workload.ops, 8, (op) => workload.send(target, op));
  assert.deepEqual(
    workload.ops.map((op) => ({ status: op.status, body: op.body })),
    answers,
    "a key sent again answers what it answered before",
  );
  return pending.length;
}

/** Runs `fn` over `items`, `width` at a time. */
export async function inBatches<T>(items: T[], width: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}
