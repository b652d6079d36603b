/**
 * The SQLite connection (`node:sqlite`): opening the file with its pragmas (WAL, foreign keys)
 * and migrations, a cache of prepared statements with get/all/run helpers, plain transactions,
 * and group commit — mutations arriving close together share one transaction, each in its own
 * savepoint, and their events reach the commit listener in seq order after the COMMIT. SQLite
 * is synchronous and single-writer, so the commit order is the seq order.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { migrate } from "./migrations.ts";
import type { BoardEvent } from "../events.ts";
import type { Mutation } from "../store.ts";

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

/** An open SQLite database with prepared-statement helpers and a group-commit queue. */
export class SqliteDatabase {
  #db: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  #commitListener: (event: BoardEvent) => void = () => {};
  #pending: PendingMutation[] = [];
  #flushScheduled = false;

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

  /** A prepared statement, cached by its SQL text. */
  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** The first row `sql` returns, if any. */
  get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#statement(sql).get(...params) as Row | undefined;
  }

  /** Every row `sql` returns. */
  all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#statement(sql).all(...params) as Row[];
  }

  /** Runs a statement that returns no rows; tells how many rows changed and the last rowid. */
  run(sql: string, ...params: SQLInputValue[]) {
    return this.#statement(sql).run(...params);
  }

  /** Runs `fn` in one write transaction; rolls back if it throws. */
  transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
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
   * whole batch rolls back and every promise rejects with that error.
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
          this.run("ROLLBACK TO mutation");
          outcomes.push({ ok: false, error });
        }
        this.run("RELEASE mutation");
      }
      this.run("COMMIT");
    } catch (error) {
      if (this.#db.isOpen && this.#db.isTransaction) this.#db.exec("ROLLBACK");
      for (const { reject } of batch) reject(error);
      return;
    }
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
