/**
 * The PostgreSQL connections: a pool for reads and one writer connection per instance that runs
 * group commit — the mutations waiting when the previous transaction ends share the next one,
 * each in its own savepoint, and the transaction ends by bumping the event head and inserting
 * the events in one statement. The head's row lock is held from that last statement to COMMIT,
 * so commits across every instance are ordered by seq and seqs are dense (see store.ts); that
 * lock is held for one statement rather than the whole batch. A batch first locks the boards it
 * changes, in one global order, so instances writing one board queue rather than deadlock, and
 * batches on different boards still run in parallel until their last step. Also here: which
 * errors mean "the database is unavailable" (a 503, not a 500) and which mean "run it again",
 * and the clients are replaced whole when a connection of theirs closes (see `Client`).
 */
import postgres, { type Sql } from "postgres";
import { DomainError } from "../../errors.ts";
import { log } from "../../log.ts";
import {
  type BoardEvent,
  committedEvent,
  type NewEvent,
  payloadJson,
  subjectOf,
} from "../events.ts";
import type { Mutation, WriteFailure } from "../store.ts";
import { migrate } from "./migrations.ts";
import type { Row } from "./rows.ts";

/** What a mutation's body returns: its result and the event to append with it. */
export interface MutationOutcome<T> {
  value: T;
  event: NewEvent;
  /**
   * A keyed revert's idempotency key: the statement that appends the event records the event's
   * seq under it (`RevertRecord`), the seq being known only there.
   */
  revertKey?: string;
}

/** A mutation's body: reads and writes on the savepoint's connection. */
export type MutationBody<T> = (sql: Sql) => Promise<MutationOutcome<T>>;

/**
 * A mutation as one statement that makes its checks and its writes: it returns one row when it
 * applied and none when a check failed (then it wrote nothing, and the mutation's general body
 * runs instead, to say which check failed — or to take a path the statement does not, such as
 * renumbering a crowded list). Such statements need no round trip each: a batch sends them all
 * at once.
 */
export interface FastPath<T> {
  statement: (sql: Sql) => Promise<Row[]>;
  outcome: (row: Row) => MutationOutcome<T>;
}

/** The board a mutation changes, or the task or list that names it (null: a new board). */
export type Scope = { boardId: string } | { taskId: string } | { listId: string } | null;

interface PendingMutation {
  actorId: string;
  scope: Scope;
  run: MutationBody<unknown>;
  fast?: FastPath<unknown>;
  resolve: (mutation: Mutation<unknown>) => void;
  reject: (error: unknown) => void;
  /** Runs so far that ended in a deadlock or serialization failure. */
  attempts: number;
  /** Its fast statement failed once (the batch was rolled back): the general body only. */
  slowOnly?: boolean;
}

/** A mutation's result, in the order the batch applied them. */
type Applied = {
  mutation: PendingMutation;
  value: unknown;
  event: NewEvent;
  at: string;
  revertKey?: string;
};

/** A fast statement failed: the transaction is aborted and the batch starts again without it. */
class FastStatementFailed extends Error {
  /** `mutations`: the one that failed and those sent after it (aborted with it). */
  constructor(readonly mutations: PendingMutation[], readonly error: unknown) {
    super(`a fast statement failed (the general body runs instead): ${error}`);
  }
}

/** At most this many mutations share one transaction (bounds the latency of the last one). */
const MAX_BATCH = 64;
/** A mutation that deadlocks (two instances' batches locking rows in opposite orders) is run again. */
const MAX_ATTEMPTS = 3;

export interface PgOptions {
  /** Schema of the tables (created if missing). */
  schema: string;
  /** Writer's lock_timeout; statements and idle transactions get twice that. */
  lockTimeoutMs: number;
  /** Read connections. */
  poolSize?: number;
}

/** int8 (seqs, counts) as a JavaScript number: seqs stay far below 2^53. */
const TYPES = {
  bigint: {
    to: 20,
    from: [20],
    serialize: (value: number) => String(value),
    parse: (value: string) => Number(value),
  },
};

/**
 * The database refuses writes whatever the connection: read-only (a standby, or
 * `default_transaction_read_only`), a full disk, no memory, an I/O error. Reads may still work.
 */
const WRITE_REFUSED_CODES = new Map([
  ["25006", "read-only"], // read_only_sql_transaction
  ["53100", "disk full"], // disk_full
  ["53000", "insufficient resources"], // insufficient_resources
  ["53200", "out of memory"], // out_of_memory
  ["58030", "I/O error"], // io_error
]);

const UNAVAILABLE_CODES = new Set([
  ...WRITE_REFUSED_CODES.keys(),
  "55P03", // lock_not_available (lock_timeout)
  "57014", // query_canceled (statement_timeout)
  "25P03", // idle_in_transaction_session_timeout
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EPIPE",
]);

function errorCode(error: unknown): string {
  return String((error as { code?: unknown })?.code ?? "");
}

/** A database error as the store reports it: unavailability becomes `store_unavailable`. */
export function storeError(error: unknown): unknown {
  const code = errorCode(error);
  if (code === "22021") {
    // PostgreSQL text cannot hold a NUL byte (SQLite can): no row has such an id, and the
    // schemas refuse control characters in everything else, so this is an unknown id.
    return new DomainError("not_found", "Nothing with that id exists (it contains a NUL byte)");
  }
  if (UNAVAILABLE_CODES.has(code) || code.startsWith("08")) {
    const what = WRITE_REFUSED_CODES.get(code);
    return new DomainError(
      "store_unavailable",
      `The database is unavailable (${what ? `${what}, ${code}` : code}); try again shortly`,
    );
  }
  return error;
}

const isUnavailable = (error: unknown) =>
  error instanceof DomainError && error.code === "store_unavailable";

/** When a mutation's writes are done: its event's time (never older than its rows, as on SQLite). */
const stamp = () => new Date().toISOString();

/** Deadlock or serialization failure: nothing was written, running it again is safe. */
const retryable = (error: unknown) => ["40P01", "40001"].includes(errorCode(error));

/** A 32-bit FNV-1a hash as a signed int4: the same on every instance. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

/** A unique constraint said no. */
export const isUniqueViolation = (error: unknown) => errorCode(error) === "23505";

/**
 * postgres.js 3.4.9 on Deno may throw from a timer when PostgreSQL ends a connection that a
 * transaction holds (`sql.begin`: snapshots, prune): `socket.write` on a socket it already let
 * go of (porsager/postgres#1208, denoland/deno#34667). Uncaught, that TypeError ends the
 * process — measured: readers and writers while sessions were ended, 2 of them in 40 rounds.
 * It is stopped here (once per process) and logged; the close that caused it retired the
 * client (`Client`), which rejects the query involved, so its request gets a 503.
 */
let driverGuard = false;
function guardDriverTimers(): void {
  if (driverGuard) return;
  driverGuard = true;
  globalThis.addEventListener("error", (event) => {
    const error = event.error;
    if (
      error instanceof TypeError && error.message.includes("reading 'write'") &&
      /postgres\S*connection\.js/.test(error.stack ?? "")
    ) {
      event.preventDefault();
      log.warn(`postgres.js wrote to a closed connection (stopped): ${error.message}`);
    }
  });
}

/** What a statement of a client whose connection closed fails with (a 503, see storeError). */
function connectionLost(): Error {
  return Object.assign(new Error("The connection to the database was lost"), {
    code: "CONNECTION_CLOSED",
  });
}

/**
 * One postgres.js client, retired whole when one of its connections closes. postgres.js 3.4.9
 * settles nothing that was sent on a connection between its socket's error and its close (the
 * `closed(hadError)` path; porsager/postgres#1130), and that connection's next queries hang
 * behind them: measured, a backend ended by `pg_terminate_backend` while the writer was busy
 * left every later write of the instance waiting forever. So when a connection closes, the
 * client is ended at once — which rejects what it left pending (CONNECTION_DESTROYED, a 503) —
 * and a fresh client serves what comes next. Connections are never recycled by age
 * (`max_lifetime`), so a close is always a failure; and a batch's statements go through
 * `guarded`, which refuses them once the client is retired, so no statement of a transaction
 * begun on the lost connection can run by itself on a new one (postgres.js reconnects on its
 * own).
 */
class Client {
  retired = false;
  /** Settles once a retired client has ended. */
  ended: Promise<void> = Promise.resolve();
  readonly sql: Sql;
  /** `sql` for a batch: a statement made after the client was retired throws at once. */
  readonly guarded: Sql;

  constructor(
    open: (onclose: () => void) => Sql,
    /** How long in-flight statements of a retired client may still finish, in seconds. */
    readonly grace: number,
    readonly onRetired: (client: Client) => void,
  ) {
    this.sql = open(() => this.retire());
    this.guarded = new Proxy(this.sql, {
      apply: (target, self, args) => {
        if (this.retired) throw connectionLost();
        return Reflect.apply(target as unknown as (...a: unknown[]) => unknown, self, args);
      },
    });
  }

  /** Stops using this client: ends it (what it leaves pending rejects) and tells the owner. */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.ended = this.sql.end({ timeout: this.grace }).catch(() => {});
    this.onRetired(this);
  }
}

export class PgDatabase {
  /**
   * How the fast statements fared: applied, declined (a check failed: the general body ran) and
   * failed (an error — a bug, since their checks should prevent errors: the batch ran again).
   */
  readonly fastPath = { applied: 0, declined: 0, failed: 0 };
  #commitListener: (event: BoardEvent) => void = () => {};
  #pending: PendingMutation[] = [];
  #flushing?: Promise<void>;
  /** The answers of the batches sent so far, made one after the other (see #kick). */
  #answered: Promise<void> = Promise.resolve();
  #writeFailure: WriteFailure | null = null;
  /** The read pool and the writer: replaced when a connection of theirs closes (`Client`). */
  #pool: Client;
  #writer: Client;
  #closing = false;
  /** Retired clients still ending (close waits for them). */
  #retiring = new Set<Promise<void>>();
  /** A batch not answered by then is taken for lost: its client is retired (see #send). */
  #batchDeadlineMs: number;

  private constructor(
    readonly schema: string,
    openPool: (onclose: () => void) => Sql,
    openWriter: (onclose: () => void) => Sql,
    lockTimeoutMs: number,
  ) {
    const retired = (client: Client) => {
      this.#retiring.add(client.ended);
      client.ended.then(() => this.#retiring.delete(client.ended));
    };
    // Reads in flight on the pool's healthy connections get a second to finish.
    const pool = (): Client =>
      new Client(openPool, 1, (old) => {
        retired(old);
        if (!this.#closing) this.#pool = pool();
      });
    const writer = (): Client =>
      new Client(openWriter, 0, (old) => {
        retired(old);
        if (!this.#closing) this.#writer = writer();
      });
    this.#pool = pool();
    this.#writer = writer();
    // Every statement of a batch gets statement_timeout (twice the lock timeout) from the
    // server; a batch still unanswered well past that has lost its connection silently.
    this.#batchDeadlineMs = 4 * lockTimeoutMs + 5000;
  }

  /** Connects, migrates (once across instances) and opens the writer connection. */
  static async open(url: string, options: PgOptions): Promise<PgDatabase> {
    guardDriverTimers();
    const common = {
      types: TYPES,
      onnotice: () => {},
      connect_timeout: 5,
      // Never recycled by age: a close is a failure, and the client is replaced (`Client`).
      max_lifetime: 0,
      // Connections are made on first use: an unreachable server fails the first query.
      connection: { search_path: options.schema, application_name: "liveboard" },
    };
    const sql = postgres(url, { ...common, max: 1 });
    try {
      await migrate(sql, options.schema);
    } finally {
      await sql.end({ timeout: 1 });
    }
    const openPool = (onclose: () => void) =>
      postgres(url, { ...common, max: options.poolSize ?? 10, onclose }) as unknown as Sql;
    const openWriter = (onclose: () => void) =>
      postgres(url, {
        ...common,
        max: 1,
        onclose,
        connection: {
          ...common.connection,
          // A stuck lock holder (another instance, an operator's session) becomes a clear 503
          // for the waiting writes instead of a pile-up behind it.
          lock_timeout: options.lockTimeoutMs,
          statement_timeout: 2 * options.lockTimeoutMs,
          idle_in_transaction_session_timeout: 2 * options.lockTimeoutMs,
          // Mutations are key lookups whose best plan does not depend on their values, and
          // re-planning them on every run (PostgreSQL's choice for the task move: its estimate
          // depends on the parameters) cost about 1 ms of database CPU per move.
          plan_cache_mode: "force_generic_plan",
        },
      }) as unknown as Sql;
    return new PgDatabase(options.schema, openPool, openWriter, options.lockTimeoutMs);
  }

  /** Sets the one listener that gets each committed mutation's event, in seq order. */
  onCommit(listener: (event: BoardEvent) => void): void {
    this.#commitListener = listener;
  }

  /**
   * Why writes fail, as of the last write: set when one fails with `store_unavailable`, cleared
   * when a transaction commits.
   */
  writeFailure(): WriteFailure | null {
    return this.#writeFailure;
  }

  /** Notes a write that failed; returns the error as the store reports it. */
  #writeFailed(error: unknown): unknown {
    const reported = storeError(error);
    if (isUnavailable(reported)) {
      this.#writeFailure = {
        reason: (reported as Error).message,
        since: this.#writeFailure?.since ?? new Date().toISOString(),
      };
    }
    return reported;
  }

  /**
   * Runs a read (or a write outside group commit: sessions, accounts) on the pool, turning
   * unavailability into `store_unavailable`; the database refusing writes is noted too.
   */
  async read<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#pool.sql);
    } catch (error) {
      if (WRITE_REFUSED_CODES.has(errorCode(error))) throw this.#writeFailed(error);
      throw storeError(error);
    }
  }

  /**
   * Adds a mutation (its reads and writes; the event row is added at the end of the batch) to
   * the next group commit; settles once it has committed and its event has gone to the listener.
   */
  enqueue<T>(
    actorId: string,
    scope: Scope,
    run: MutationBody<T>,
    fast?: FastPath<T>,
  ): Promise<Mutation<T>> {
    return new Promise((resolve, reject) => {
      const mutation = { actorId, scope, run, fast, resolve, reject, attempts: 0 };
      this.#pending.push(mutation as PendingMutation);
      this.#kick();
    });
  }

  /**
   * Sends batches until nothing waits: what arrives while one is on its way goes in the next.
   * The next batch goes out as soon as this one's COMMIT has been sent, so the database runs it
   * while this one's answers are made (it sat idle for the COMMIT's round trip and the answers
   * before: ~40% of the time at 32 clients). Batches are answered in the order they committed.
   * The loop's last check of the queue and the reset of `#flushing` happen with no await
   * between, so a mutation queued at any moment is either seen by the loop or starts a new one.
   */
  #kick(): void {
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = (async () => {
      try {
        while (this.#pending.length > 0) {
          const answer = await this.#send(this.#pending.splice(0, MAX_BATCH));
          this.#answered = this.#answered.then(answer);
        }
      } catch (error) {
        log.warn(`group commit failed: ${error}`); // #commit settles every promise itself
      } finally {
        this.#flushing = undefined;
      }
    })();
  }

  /**
   * One batch as one transaction on the writer's single connection, driven by hand: postgres.js
   * pipelines what is sent without waiting, and sends what is sent in one tick in one packet.
   * BEGIN and the board locks go out with the first mutation; consecutive fast statements go
   * out together; a general body runs alone in a savepoint whose SAVEPOINT and RELEASE travel
   * with its neighbours' statements. (Measured before, with postgres.js `begin()` and
   * `savepoint()` and a round trip per statement: 878 creates/s, p99 65 ms at 32 clients.)
   */
  async #send(batch: PendingMutation[]): Promise<() => Promise<void>> {
    const client = this.#writer;
    const sql = client.guarded;
    // Retiring the client rejects whatever of the batch it still holds: the batch then fails
    // with 503 instead of waiting forever (and every batch after it with it).
    const deadline = setTimeout(() => {
      log.warn(`a batch got no answer within ${this.#batchDeadlineMs} ms: reconnecting`);
      client.retire();
    }, this.#batchDeadlineMs);
    const answered = (answer: () => Promise<void>) => () =>
      answer().finally(() => clearTimeout(deadline));
    // Replies nobody waits for one by one; any failure among them fails the batch.
    const control: Promise<unknown>[] = [];
    const send = (query: Promise<unknown>) => control.push(query.then(() => null, (e) => e));
    const applied: Applied[] = [];
    const refused: [PendingMutation, unknown][] = [];
    const controlFailure = async () => (await Promise.all(control)).find((reply) => reply !== null);
    try {
      send(sql`BEGIN`);
      send(this.#lockBoards(sql, batch));
      for (let i = 0; i < batch.length;) {
        // A run of fast statements, all sent at once; the ones whose checks failed go on to
        // their general bodies, in order, right after.
        const run: PendingMutation[] = [];
        while (i < batch.length && batch[i].fast && !batch[i].slowOnly) run.push(batch[i++]);
        const general: PendingMutation[] = [];
        const replies = run.map((m) => m.fast!.statement(sql).then((rows) => rows, (e) => e));
        for (const [k, reply] of (await Promise.all(replies)).entries()) {
          if (reply instanceof Error) {
            throw (await controlFailure()) ?? new FastStatementFailed(run.slice(k), reply);
          }
          const row = (reply as Row[])[0];
          this.fastPath[row ? "applied" : "declined"]++;
          if (!row) general.push(run[k]);
          else applied.push({ mutation: run[k], ...run[k].fast!.outcome(row), at: stamp() });
        }
        if (run.length === 0) general.push(batch[i++]);
        for (const mutation of general) {
          // A savepoint per general body, so one that fails is undone alone.
          send(sql`SAVEPOINT mutation`);
          try {
            const result = await mutation.run(sql);
            applied.push({ mutation, ...result, at: stamp() });
            send(sql`RELEASE SAVEPOINT mutation`);
          } catch (error) {
            refused.push([mutation, error]);
            send(sql`ROLLBACK TO SAVEPOINT mutation`);
            send(sql`RELEASE SAVEPOINT mutation`);
          }
        }
      }
    } catch (error) {
      // Nothing of the batch was written. (A lost connection took its transaction with it.)
      if (!client.retired) await client.sql`ROLLBACK`.catch(() => {}); // no-op when none is open
      clearTimeout(deadline);
      if (error instanceof FastStatementFailed) {
        // Unexpected (its checks should prevent errors): the batch starts again, these taking
        // their general path, which says what went wrong — so a broken statement costs one
        // rerun per batch, not one per mutation.
        this.fastPath.failed++;
        log.warn(error.message);
        for (const mutation of error.mutations) mutation.slowOnly = true;
        this.#pending.unshift(...batch);
      } else {
        for (const mutation of batch) this.#fail(mutation, error);
      }
      return async () => {};
    }
    let appended: Promise<BoardEvent[] | Error>, committed: Promise<unknown>;
    try {
      // Settled at once (nothing may reject unheard while earlier batches are answered).
      appended = this.#appendEvents(sql, applied).then((events) => events, (e) => e as Error);
      committed = sql`COMMIT`.then(() => null, (e) => e);
    } catch (error) {
      // The connection was lost just now (`guarded`): nothing was committed.
      clearTimeout(deadline);
      for (const mutation of batch) this.#fail(mutation, error);
      return async () => {};
    }
    return answered(() =>
      this.#answer(batch, applied, refused, appended, committed, controlFailure())
    );
  }

  /** Once a batch's COMMIT has answered: its events to the listener, in seq order, and replies. */
  async #answer(
    batch: PendingMutation[],
    applied: Applied[],
    refused: [PendingMutation, unknown][],
    appended: Promise<BoardEvent[] | Error>,
    committed: Promise<unknown>,
    controlFailure: Promise<unknown>,
  ): Promise<void> {
    let events: BoardEvent[];
    try {
      const failed = await controlFailure;
      const appendedEvents = await appended;
      if (appendedEvents instanceof Error) throw failed ?? appendedEvents;
      events = appendedEvents;
      const commitFailure = await committed;
      if (failed ?? commitFailure) throw failed ?? commitFailure; // COMMIT rolled it back
    } catch (error) {
      // Nothing of the batch was written — unless the connection broke after COMMIT reached
      // the server: then it was, and the relay delivers its events from the log (services.ts
      // feeds the bus through the relay on PostgreSQL), though the callers were told
      // `store_unavailable`.
      for (const mutation of batch) this.#fail(mutation, error);
      return;
    }
    this.#writeFailure = null;
    applied.forEach(({ mutation, value }, i) => {
      try {
        this.#commitListener(events[i]);
      } catch (error) {
        log.warn(`commit listener failed on event ${events[i].id}: ${error}`);
      }
      mutation.resolve({ value, event: events[i] });
    });
    for (const [mutation, error] of refused) this.#fail(mutation, error);
  }

  /** The schema's advisory lock class (boards of other deployments never block these). */
  get #lockClass(): number {
    return fnv1a(`liveboard:${this.schema}`);
  }

  /**
   * Locks every board the batch changes, in one global order (their hashes, sorted), so two
   * instances' batches that touch the same boards queue instead of deadlocking (measured before
   * this order: 28 deadlocks, 0.2–18 s for 2 × 100 writes to one board). Held to COMMIT, the
   * lock is what serialises every change of a board across instances: the reads a mutation
   * checks cannot change under it, so mutations take no row locks. Tasks and lists never change
   * board; a missing one needs no lock (its mutation fails with not_found).
   */
  #lockBoards(sql: Sql, batch: PendingMutation[]): Promise<unknown> {
    const boards: string[] = [], tasks: string[] = [], lists: string[] = [];
    for (const { scope } of batch) {
      if (scope && "boardId" in scope) boards.push(scope.boardId);
      else if (scope && "taskId" in scope) tasks.push(scope.taskId);
      else if (scope && "listId" in scope) lists.push(scope.listId);
    }
    // PostgreSQL text cannot hold a NUL byte: such an id names nothing, and sending it would
    // fail the statement, and with it the batch.
    const storable = (ids: string[]) => ids.filter((id) => !id.includes("\0"));
    // Tasks and lists are looked up one by one by primary key: the plan is made once, maybe on
    // a table still tiny, and `id = ANY(…)` was then planned as a scan of the whole table (0.4 ms
    // of database CPU per move at 23,000 tasks).
    return sql`SELECT pg_advisory_xact_lock(${this.#lockClass}, key) FROM (
        SELECT DISTINCT hashtext(board_id) AS key FROM (
          SELECT unnest(${storable(boards)}::text[]) AS board_id
          UNION ALL SELECT (SELECT board_id FROM tasks WHERE tasks.id = task.id)
            FROM unnest(${storable(tasks)}::text[]) AS task(id)
          UNION ALL SELECT (SELECT board_id FROM lists WHERE lists.id = list.id)
            FROM unnest(${storable(lists)}::text[]) AS list(id)
        ) AS changed WHERE board_id IS NOT NULL ORDER BY key
      ) AS keys`;
  }

  /**
   * The batch's last statement: takes `n` seqs from the head and inserts the events of the
   * mutations that succeeded (so a refused one leaves no hole). Resolves to them in seq order.
   * Not an async function: its statement must be sent now, ahead of the COMMIT that follows
   * (`await` on a postgres.js query sends it a microtask later — after that COMMIT).
   */
  #appendEvents(tx: Sql, applied: Applied[]): Promise<BoardEvent[]> {
    const rows = applied.map(({ mutation, event, at }) => ({
      actorId: mutation.actorId,
      event,
      at,
    }));
    if (rows.length === 0) return Promise.resolve([]);
    const n = rows.length;
    const reverts = applied.flatMap(({ mutation, revertKey }, i) =>
      revertKey ? [{ ord: i + 1, userId: mutation.actorId, key: revertKey }] : []
    );
    // Keyed reverts only (the batch's usual statement stays as it was): each key records the
    // seq its event takes (Store contract, MutationOptions.idempotency).
    const recordReverts = reverts.length === 0 ? tx`` : tx`,
      reverted AS (
        UPDATE idempotency_keys AS k
        SET result = json_build_object('revertSeq', head.base + r.ord)::text
        FROM head, unnest(
          ${reverts.map((r) => r.ord)}::int[],
          ${reverts.map((r) => r.userId)}::text[],
          ${reverts.map((r) => r.key)}::text[]
        ) AS r(ord, user_id, key)
        WHERE k.user_id = r.user_id AND k.key = r.key
      )`;
    return tx`
      WITH head AS (UPDATE event_head SET seq = seq + ${n} WHERE id = 1 RETURNING seq - ${n} AS base),
      appended AS (
        INSERT INTO events (seq, board_id, type, payload, actor_id, created_at, subject_id,
          revert_of)
        SELECT head.base + e.ord, e.board_id, e.type, e.payload, e.actor_id, e.created_at,
          e.subject_id, e.revert_of
        FROM head, unnest(
          ${rows.map((r) => r.event.boardId)}::text[],
          ${rows.map((r) => r.event.body.type)}::text[],
          ${rows.map((r) => payloadJson(r.event))}::text[],
          ${rows.map((r) => r.actorId)}::text[],
          ${rows.map((r) => r.at)}::timestamptz[],
          ${rows.map((r) => subjectOf(r.event.body))}::text[],
          ${rows.map((r) => r.event.revertOf ?? null)}::bigint[]
        ) WITH ORDINALITY AS e(board_id, type, payload, actor_id, created_at, subject_id,
          revert_of, ord)
      )${recordReverts}
      SELECT base FROM head`.then(([{ base }]) =>
      rows.map((r, i) => committedEvent(r.event, Number(base) + i + 1, r.actorId, r.at))
    );
  }

  /** A deadlocked mutation goes round again (up to MAX_ATTEMPTS); anything else rejects. */
  #fail(mutation: PendingMutation, error: unknown): void {
    if (retryable(error) && ++mutation.attempts < MAX_ATTEMPTS) {
      this.#pending.push(mutation);
      return this.#kick();
    }
    mutation.reject(this.#writeFailed(error));
  }

  /** Runs `fn` in one transaction on the read pool (seed, prune), outside group commit. */
  async transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      // deno-lint-ignore no-explicit-any
      const result = await this.#pool.sql.begin((tx) => fn(tx as any)) as T;
      this.#writeFailure = null;
      return result;
    } catch (error) {
      throw this.#writeFailed(error);
    }
  }

  /** Commits the mutations already accepted, then closes every connection. */
  async close(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    await this.#answered;
    this.#closing = true;
    await Promise.all([this.#pool.sql.end({ timeout: 2 }), this.#writer.sql.end({ timeout: 2 })]);
    await Promise.all(this.#retiring);
  }
}
