/**
 * The SQLite connection (`node:sqlite`): opening the file with its pragmas (WAL, foreign keys)
 * and migrations, a cache of prepared statements with get/all/run helpers, plain transactions,
 * and group commit — mutations arriving close together share one transaction, each in its own
 * savepoint, and their events reach the commit listener in seq order after the COMMIT. SQLite
 * is synchronous and single-writer, so the commit order is the seq order. Also here: which
 * errors mean "the database cannot take this now" (a full disk, a read-only file system, an I/O
 * error, a lock held too long): `store_unavailable` (503), never a 500.
 */
import {
  DatabaseSync,
  type SQLInputValue,
  type SQLOutputValue,
  type StatementSync,
} from "node:sqlite";
import { DomainError } from "../../errors.ts";
import { migrate } from "./migrations.ts";
import type { BoardEvent } from "../events.ts";
import type { Mutation, WriteFailure } from "../store.ts";

/** One result row, as `node:sqlite` returns it (null prototype). */
export type Row = Record<string, SQLInputValue>;

/** A queued mutation: `run` does its writes and appends its event, inside the batch's transaction. */
interface PendingMutation {
  run: () => Mutation<unknown>;
  resolve: (mutation: Mutation<unknown>) => void;
  reject: (error: unknown) => void;
}

/** At most this many mutations share one transaction (bounds the latency of the last one). */
const MAX_BATCH = 64;

/**
 * SQLite's messages for the result codes that say the database cannot take the statement now
 * rather than that the statement is wrong (node:sqlite gives the message, not the code):
 * SQLITE_FULL, SQLITE_READONLY (and its extended codes), SQLITE_IOERR, SQLITE_BUSY (a lock held
 * past busy_timeout), SQLITE_LOCKED, SQLITE_CANTOPEN, SQLITE_NOMEM and SQLITE_PROTOCOL.
 */
const UNAVAILABLE = [
  [/database or disk is full/, "disk full"],
  [/readonly database/, "read-only"],
  [/disk I\/O error/, "I/O error"],
  [/database is locked|database table is locked|locking protocol/, "locked"],
  [/unable to open database file/, "cannot open the file"],
  [/out of memory/, "out of memory"],
] as const;

/** A database error as the store reports it: unavailability becomes `store_unavailable`. */
export function storeError(error: unknown): unknown {
  if ((error as { code?: unknown })?.code !== "ERR_SQLITE_ERROR") return error;
  const message = (error as Error).message;
  const match = UNAVAILABLE.find(([pattern]) => pattern.test(message));
  if (!match) return error;
  return new DomainError(
    "store_unavailable",
    `The database is unavailable (${match[1]}: ${message}); try again shortly`,
  );
}

/** A storage failure (`storeError` made it `store_unavailable`): the whole batch must go. */
const isUnavailable = (error: unknown) =>
  error instanceof DomainError && error.code === "store_unavailable";

/** An open SQLite database with prepared-statement helpers and a group-commit queue. */
export class SqliteDatabase {
  #db: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  #arrayStatements = new Map<string, StatementSync>();
  #commitListener: (event: BoardEvent) => void = () => {};
  #pending: PendingMutation[] = [];
  #flushScheduled = false;
  #writeFailure: WriteFailure | null = null;

  /** Opens (creating its folder if needed) and migrates the database at `path`, or `:memory:`. */
  constructor(path: string) {
    if (path !== ":memory:") {
      const dir = path.replace(/[/\\][^/\\]*$/, "");
      if (dir && dir !== path) Deno.mkdirSync(dir, { recursive: true });
    }
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec("PRAGMA synchronous = NORMAL");
    this.#db.exec("PRAGMA foreign_keys = ON");
    this.#db.exec("PRAGMA busy_timeout = 5000");
    migrate(this.#db);
  }

  /** Sets the one listener that gets each committed mutation's event, in seq order. */
  onCommit(listener: (event: BoardEvent) => void): void {
    this.#commitListener = listener;
  }

  /**
   * Why writes fail, as of the last write: set when one fails because the database cannot take
   * it (disk full, read-only, I/O error, lock), cleared when one commits.
   */
  writeFailure(): WriteFailure | null {
    return this.#writeFailure;
  }

  /** Notes a failed statement or commit; returns the error as the store reports it. */
  #failed(error: unknown): unknown {
    const reported = storeError(error);
    if (isUnavailable(reported)) {
      this.#writeFailure = {
        reason: (reported as Error).message,
        since: this.#writeFailure?.since ?? new Date().toISOString(),
      };
    }
    return reported;
  }

  /** Runs `step` on the connection, reporting a storage failure as `store_unavailable`. */
  #call<T>(step: () => T): T {
    try {
      return step();
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /** A prepared statement, cached by its SQL text. */
  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#call(() => this.#db.prepare(sql));
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** The first row `sql` returns, if any. */
  get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    const statement = this.#statement(sql);
    try {
      return statement.get(...params) as Row | undefined;
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /** Every row `sql` returns. */
  all(sql: string, ...params: SQLInputValue[]): Row[] {
    const statement = this.#statement(sql);
    try {
      return statement.all(...params) as Row[];
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /**
   * Every row `sql` returns, each as an array of its columns in order: no object per row, which
   * is most of the cost of reading thousands of rows (a 5,000-card board: about 3× faster).
   */
  arrays(sql: string, ...params: SQLInputValue[]): SQLOutputValue[][] {
    let statement = this.#arrayStatements.get(sql);
    if (!statement) {
      statement = this.#call(() => this.#db.prepare(sql));
      // In Deno 2.9's node:sqlite, though not yet in its type declarations.
      (statement as StatementSync & { setReturnArrays(on: boolean): void }).setReturnArrays(true);
      this.#arrayStatements.set(sql, statement);
    }
    try {
      return statement.all(...params) as unknown as SQLOutputValue[][];
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /**
   * Runs a statement that returns no rows; tells how many rows changed and the last rowid.
   * Outside a transaction it commits by itself, so it clears a write failure.
   */
  run(sql: string, ...params: SQLInputValue[]) {
    const statement = this.#statement(sql);
    try {
      const result = statement.run(...params);
      if (this.#writeFailure && !this.#db.isTransaction) this.#writeFailure = null;
      return result;
    } catch (error) {
      throw this.#failed(error);
    }
  }

  /** Rolls back whatever transaction is open; a failure here changes nothing more. */
  #rollback(): void {
    try {
      if (this.#db.isOpen && this.#db.isTransaction) this.#db.exec("ROLLBACK");
    } catch {
      // SQLite has rolled back by itself, or will when the connection next works.
    }
  }

  /** Runs `fn` in one write transaction; rolls back if it throws. */
  transaction<T>(fn: () => T): T {
    this.#call(() => this.#db.exec("BEGIN IMMEDIATE"));
    try {
      const result = fn();
      this.#call(() => this.#db.exec("COMMIT"));
      this.#writeFailure = null;
      return result;
    } catch (error) {
      this.#rollback();
      throw error;
    }
  }

  /**
   * Adds a mutation (its writes plus its event row) to the next group commit (see `#flush`);
   * settles once it has committed and its event has gone to the commit listener.
   */
  enqueue<T>(run: () => Mutation<T>): Promise<Mutation<T>> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ run, resolve, reject } as PendingMutation);
      if (this.#pending.length >= MAX_BATCH) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /**
   * Group commit. BEGIN/COMMIT cost more than a typical mutation (each COMMIT writes the touched
   * pages to the WAL), so mutations that arrive within one turn of the event loop share one
   * transaction. Each runs inside its own SAVEPOINT: one that throws rolls back to it and rejects
   * only its own promise, with its own error; the others still commit. After the COMMIT the commit
   * listener gets the events in seq order, then the promises settle, so nothing is published or
   * answered before it is durable and visible to readers. If BEGIN or COMMIT itself fails, the
   * whole batch rolls back and every promise rejects with that error; so does a mutation that
   * fails because the database cannot take it (disk full, read-only, I/O error): SQLite may
   * have rolled the whole transaction back by itself then, and nothing of the batch may commit
   * in pieces after that.
   */
  #flush = () => {
    this.#flushScheduled = false;
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    const outcomes: ({ ok: true; mutation: Mutation<unknown> } | { ok: false; error: unknown })[] =
      [];
    try {
      this.run("BEGIN IMMEDIATE");
      for (const { run } of batch) {
        this.run("SAVEPOINT mutation"); // Prepared once: exec() would parse it each time.
        try {
          outcomes.push({ ok: true, mutation: run() });
        } catch (error) {
          if (isUnavailable(error)) throw error;
          this.run("ROLLBACK TO mutation");
          outcomes.push({ ok: false, error });
        }
        this.run("RELEASE mutation");
      }
      this.run("COMMIT");
    } catch (error) {
      this.#rollback();
      const reported = this.#failed(error);
      for (const { reject } of batch) reject(reported);
      return;
    }
    this.#writeFailure = null;
    batch.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i];
      if (!outcome.ok) return reject(outcome.error);
      try {
        this.#commitListener(outcome.mutation.event);
        resolve(outcome.mutation);
      } catch (error) {
        reject(error);
      }
    });
  };

  /** Commits (and publishes) the mutations already accepted, then closes the database. */
  close(): void {
    this.#flush();
    if (this.#db.isOpen) this.#db.close();
  }
}
