/**
 * The durable event log in SQLite: appending a mutation's event row, the cursor (the highest seq
 * ever assigned), reading a page of events after a cursor, and pruning by age and count while
 * remembering how far the log was pruned (so a client resuming from before that knows it
 * missed events).
 */
import type { SqliteDatabase } from "./db.ts";
import { now } from "../ids.ts";
import { toEvent } from "./rows.ts";
import {
  type BoardEvent,
  committedEvent,
  type NewEvent,
  payloadJson,
  subjectOf,
} from "../events.ts";
import type { EventPage, HistoryQuery, RetentionPolicy } from "../store.ts";

/** Appends one event row and returns the event with its seq; call inside the mutation's transaction. */
export function appendEvent(
  db: SqliteDatabase,
  actorId: string | null,
  event: NewEvent,
): BoardEvent {
  const at = now();
  const result = db.run(
    `INSERT INTO events (board_id, type, payload, actor_id, created_at, subject_id, revert_of)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    event.boardId,
    event.body.type,
    payloadJson(event),
    actorId,
    at,
    subjectOf(event.body),
    event.revertOf ?? null,
  );
  return committedEvent(event, Number(result.lastInsertRowid), actorId, at);
}

/**
 * The highest seq ever assigned (0 for a new log). Read from `sqlite_sequence`, so it does not
 * go back when the newest events are pruned.
 */
export function currentSeq(db: SqliteDatabase): number {
  const row = db.get("SELECT seq FROM sqlite_sequence WHERE name = 'events'");
  return row ? Number(row.seq) : 0;
}

/**
 * Up to `limit` events of the given boards (null: all) with seq > `after`, in seq order, with the
 * prune horizon. node:sqlite is synchronous and this process is the database's only writer, so
 * the two reads here, with no await between them, see the same state: nothing can prune between.
 */
export function eventsAfter(
  db: SqliteDatabase,
  boardIds: readonly string[] | null,
  after: number,
  limit: number,
): EventPage {
  const pruned = prunedThrough(db);
  if (boardIds?.length === 0) return { events: [], prunedThrough: pruned };
  const rows = boardIds === null
    ? db.all("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
    : db.all(
      `SELECT * FROM events WHERE board_id IN (${boardIds.map(() => "?").join(", ")})
       AND seq > ? ORDER BY seq LIMIT ?`,
      ...boardIds,
      after,
      limit,
    );
  return { events: rows.map(toEvent), prunedThrough: pruned };
}

/** A board's events newest first, narrowed by the query, with seq > floor (Store.history). */
export function history(
  db: SqliteDatabase,
  boardId: string,
  query: HistoryQuery,
  floor: number,
): BoardEvent[] {
  const where = ["board_id = ?", "seq > ?"];
  const args: (string | number)[] = [boardId, Math.max(floor, query.after ?? 0)];
  if (query.before !== undefined) where.push("seq < ?"), args.push(query.before);
  if (query.subjectId !== undefined) where.push("subject_id = ?"), args.push(query.subjectId);
  if (query.actorId !== undefined) where.push("actor_id = ?"), args.push(query.actorId);
  if (query.revertOf !== undefined) where.push("revert_of = ?"), args.push(query.revertOf);
  return db.all(
    `SELECT * FROM events WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT ?`,
    ...args,
    query.limit,
  ).map(toEvent);
}

/** The highest seq pruned so far (0 if never pruned). */
export function prunedThrough(db: SqliteDatabase): number {
  const row = db.get("SELECT value FROM meta WHERE key = 'pruned_through'");
  return row ? Number(row.value) : 0;
}

/**
 * Deletes the events past the policy's age or beyond its newest `maxCount`, in one transaction,
 * and records the new pruned-through seq; returns how many rows went.
 */
export function pruneEvents(db: SqliteDatabase, policy: RetentionPolicy): number {
  return db.transaction(() => {
    const cutoff = new Date(Date.now() - policy.maxAgeMs).toISOString();
    const byCount = currentSeq(db) - policy.maxCount;
    const byAge = db.get(
      "SELECT coalesce(max(seq), 0) AS seq FROM events WHERE created_at < ?",
      cutoff,
    )!.seq as number;
    const through = Math.max(byCount, byAge, 0);
    if (through <= prunedThrough(db)) return 0;
    const deleted = db.run("DELETE FROM events WHERE seq <= ?", through);
    db.run(
      "INSERT INTO meta (key, value) VALUES ('pruned_through', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      String(through),
    );
    return Number(deleted.changes);
  });
}
