/**
 * The PostgreSQL connections: a pool for reads and one writer connection per instance that runs
 * group commit — the mutations waiting when the previous transaction ends share the next one,
 * each in its own savepoint, and the transaction ends by bumping the event head and inserting
 * the events in one statement. The head's row lock is held from that last statement to COMMIT,
 * so commits across every instance are ordered by seq and seqs are dense (see store.ts); that
 * lock is held for one statement rather than the whole batch. A batch first locks the boards it
 * changes, in one global order, so instances writing one board queue rather than deadlock, and
 * batches on different boards still run in parallel until their last step. Also here: which
 * errors mean "the database is unavailable" (a 503, not a 500) and which mean "run it again".
 */
import postgres, { type Sql } from "postgres";
import { DomainError } from "../../errors.ts";
import { log } from "../../log.ts";
import { type BoardEvent, committedEvent, type NewEvent, payloadJson } from "../events.ts";
import type { Mutation } from "../store.ts";
import { migrate } from "./migrations.ts";

/** What a mutation's body returns: its result and the event to append with it. */
export interface MutationOutcome<T> {
  value: T;
  event: NewEvent;
}

/** A mutation's body: reads and writes on the savepoint's connection. */
export type MutationBody<T> = (sql: Sql) => Promise<MutationOutcome<T>>;

/** The board a mutation changes, or the task or list that names it (null: a new board). */
export type Scope = { boardId: string } | { taskId: string } | { listId: string } | null;

interface PendingMutation {
  actorId: string;
  scope: Scope;
  run: MutationBody<unknown>;
  resolve: (mutation: Mutation<unknown>) => void;
  reject: (error: unknown) => void;
  /** Runs so far that ended in a deadlock or serialization failure. */
  attempts: number;
}

type Outcome =
  | { ok: true; value: unknown; event: NewEvent; at: string }
  | { ok: false; error: unknown };

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

const UNAVAILABLE_CODES = new Set([
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
    return new DomainError(
      "store_unavailable",
      `The database is unavailable (${code}); try again shortly`,
    );
  }
  return error;
}

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

export class PgDatabase {
  #commitListener: (event: BoardEvent) => void = () => {};
  #pending: PendingMutation[] = [];
  #flushing?: Promise<void>;

  private constructor(
    /** The read pool. */
    readonly sql: Sql,
    readonly writer: Sql,
    readonly schema: string,
  ) {}

  /** Connects, migrates (once across instances) and opens the writer connection. */
  static async open(url: string, options: PgOptions): Promise<PgDatabase> {
    const common = {
      types: TYPES,
      onnotice: () => {},
      connect_timeout: 5,
      // Connections are made on first use: an unreachable server fails the first query.
      connection: { search_path: options.schema, application_name: "liveboard" },
    };
    const sql = postgres(url, { ...common, max: options.poolSize ?? 10 });
    try {
      await migrate(sql, options.schema);
    } catch (error) {
      await sql.end({ timeout: 1 });
      throw error;
    }
    const writer = postgres(url, {
      ...common,
      max: 1,
      connection: {
        ...common.connection,
        // A stuck lock holder (another instance, an operator's session) becomes a clear 503
        // for the waiting writes instead of a pile-up behind it.
        lock_timeout: options.lockTimeoutMs,
        statement_timeout: 2 * options.lockTimeoutMs,
        idle_in_transaction_session_timeout: 2 * options.lockTimeoutMs,
      },
    });
    // deno-lint-ignore no-explicit-any
    return new PgDatabase(sql as any, writer as any, options.schema);
  }

  /** Sets the one listener that gets each committed mutation's event, in seq order. */
  onCommit(listener: (event: BoardEvent) => void): void {
    this.#commitListener = listener;
  }

  /** Runs a read on the pool, turning unavailability into `store_unavailable`. */
  async read<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      return await fn(this.sql);
    } catch (error) {
      throw storeError(error);
    }
  }

  /**
   * Adds a mutation (its reads and writes; the event row is added at the end of the batch) to
   * the next group commit; settles once it has committed and its event has gone to the listener.
   */
  enqueue<T>(actorId: string, scope: Scope, run: MutationBody<T>): Promise<Mutation<T>> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ actorId, scope, run, resolve, reject, attempts: 0 } as PendingMutation);
      this.#kick();
    });
  }

  /**
   * Commits batches until nothing waits: what arrives during a commit goes in the next one. The
   * loop's last check of the queue and the reset of `#flushing` happen with no await between, so
   * a mutation queued at any moment is either seen by the loop or starts a new one.
   */
  #kick(): void {
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = (async () => {
      try {
        while (this.#pending.length > 0) {
          await this.#commit(this.#pending.splice(0, MAX_BATCH));
        }
      } catch (error) {
        log.warn(`group commit failed: ${error}`); // #commit settles every promise itself
      } finally {
        this.#flushing = undefined;
      }
    })();
  }

  async #commit(batch: PendingMutation[]): Promise<void> {
    let outcomes: Outcome[] = [];
    let events: BoardEvent[] = [];
    try {
      const keys = await this.#boardLockKeys(batch);
      await this.writer.begin(async (tx) => {
        outcomes = [];
        // Every board the batch changes, locked first and in one global order: two instances'
        // batches that touch the same boards then queue instead of deadlocking on the rows
        // (measured before: 28 deadlocks, 0.2–18 s for 2 × 100 writes to one board).
        const sql = tx as unknown as Sql;
        // The locks are sent ahead of the first mutation's statements on the same connection:
        // no round trip of their own.
        const locks = keys.map((key) =>
          sql`SELECT pg_advisory_xact_lock(${this.#lockClass}, ${key})`.catch((e) => e)
        );
        for (const mutation of batch) {
          try {
            // A savepoint per mutation, so one that fails is undone alone. (postgres.js fails a
            // transaction with any error outside its own savepoint(), so no hand-made ones.)
            // deno-lint-ignore no-explicit-any
            const result = await tx.savepoint((sp) => mutation.run(sp as any));
            // Stamped after its writes, as on SQLite: an event is never older than its rows.
            const at = new Date().toISOString();
            outcomes.push({ ok: true, ...result, at });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
        for (const result of await Promise.all(locks)) {
          if (result instanceof Error) throw result; // nothing of the batch commits
        }
        events = await this.#appendEvents(sql, batch, outcomes);
      });
    } catch (error) {
      // BEGIN, the head statement or COMMIT failed. Nothing of the batch was written — unless
      // the connection broke after COMMIT reached the server: then it was, and the relay
      // delivers its events from the log (services.ts feeds the bus through the relay on
      // PostgreSQL), though the callers were told `store_unavailable`.
      for (const mutation of batch) this.#fail(mutation, error);
      return;
    }
    let next = 0;
    batch.forEach((mutation, i) => {
      const outcome = outcomes[i];
      if (!outcome.ok) return this.#fail(mutation, outcome.error);
      const event = events[next++];
      try {
        this.#commitListener(event);
      } catch (error) {
        log.warn(`commit listener failed on event ${event.id}: ${error}`);
      }
      mutation.resolve({ value: outcome.value, event });
    });
  }

  /** The schema's advisory lock class (boards of other deployments never block these). */
  get #lockClass(): number {
    return fnv1a(`liveboard:${this.schema}`);
  }

  /**
   * The lock keys of the boards a batch changes, sorted. Tasks and lists never change board, so
   * reading their board before the transaction is safe; a missing one needs no lock (its
   * mutation fails with not_found).
   */
  async #boardLockKeys(batch: PendingMutation[]): Promise<number[]> {
    const boards = new Set<string>();
    const tasks: string[] = [];
    const lists: string[] = [];
    // PostgreSQL text cannot hold a NUL byte: such an id names nothing, and sending it would
    // fail this read for the whole batch.
    const storable = (id: string) => !id.includes("\0");
    for (const { scope } of batch) {
      if (scope && "boardId" in scope) boards.add(scope.boardId);
      else if (scope && "taskId" in scope) tasks.push(scope.taskId);
      else if (scope && "listId" in scope) lists.push(scope.listId);
    }
    if (tasks.length + lists.length > 0) {
      try {
        const rows = await this.sql`
          SELECT board_id FROM tasks WHERE id = ANY(${tasks.filter(storable)}::text[])
          UNION SELECT board_id FROM lists WHERE id = ANY(${lists.filter(storable)}::text[])`;
        for (const row of rows) boards.add(row.board_id);
      } catch (error) {
        // The batch runs without these locks: its statements fail or deadlock-retry alone.
        log.debug(`board lock lookup failed: ${error}`);
      }
    }
    return [...new Set([...boards].filter(storable).map(fnv1a))].sort((a, b) => a - b);
  }

  /**
   * The batch's last statement: takes `n` seqs from the head and inserts the events of the
   * mutations that succeeded (so a refused one leaves no hole). Returns them in seq order.
   */
  async #appendEvents(
    tx: Sql,
    batch: PendingMutation[],
    outcomes: Outcome[],
  ): Promise<BoardEvent[]> {
    const rows: { actorId: string; event: NewEvent; at: string }[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.ok) {
        rows.push({ actorId: batch[i].actorId, event: outcome.event, at: outcome.at });
      }
    });
    if (rows.length === 0) return [];
    const n = rows.length;
    const [{ base }] = await tx`
      WITH head AS (UPDATE event_head SET seq = seq + ${n} WHERE id = 1 RETURNING seq - ${n} AS base),
      appended AS (
        INSERT INTO events (seq, board_id, type, payload, actor_id, created_at)
        SELECT head.base + e.ord, e.board_id, e.type, e.payload, e.actor_id, e.created_at
        FROM head, unnest(
          ${rows.map((r) => r.event.boardId)}::text[],
          ${rows.map((r) => r.event.body.type)}::text[],
          ${rows.map((r) => payloadJson(r.event.body))}::text[],
          ${rows.map((r) => r.actorId)}::text[],
          ${rows.map((r) => r.at)}::timestamptz[]
        ) WITH ORDINALITY AS e(board_id, type, payload, actor_id, created_at, ord)
      )
      SELECT base FROM head`;
    return rows.map((r, i) => committedEvent(r.event, Number(base) + i + 1, r.actorId, r.at));
  }

  /** A deadlocked mutation goes round again (up to MAX_ATTEMPTS); anything else rejects. */
  #fail(mutation: PendingMutation, error: unknown): void {
    if (retryable(error) && ++mutation.attempts < MAX_ATTEMPTS) {
      this.#pending.push(mutation);
      return this.#kick();
    }
    mutation.reject(storeError(error));
  }

  /** Runs `fn` in one transaction on the read pool (seed, prune), outside group commit. */
  async transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    try {
      // deno-lint-ignore no-explicit-any
      return await this.sql.begin((tx) => fn(tx as any)) as T;
    } catch (error) {
      throw storeError(error);
    }
  }

  /** Commits the mutations already accepted, then closes every connection. */
  async close(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    await Promise.all([this.sql.end({ timeout: 2 }), this.writer.end({ timeout: 2 })]);
  }
}
