/**
 * The durable event log in SQLite: appending a mutation's event row, the cursor (the highest seq
 * ever assigned), reading a page of events after a cursor, and pruning by age and count — each
 * board keeping its newest events — while remembering how far each board was pruned (so a client
 * resuming from before that knows it missed events).
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
 * boards' prune horizon. node:sqlite is synchronous and this process is the database's only
 * writer, so the reads here, with no await between them, see the same state: nothing can prune
 * between.
 */
export function eventsAfter(
  db: SqliteDatabase,
  boardIds: readonly string[] | null,
  after: number,
  limit: number,
): EventPage {
  const pruned = horizonOf(db, boardIds);
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

/**
 * The prune horizon of these boards (EventPage.prunedThrough): the highest of theirs and of the
 * seq through which every board was pruned; of the whole log when `boardIds` is null.
 */
export function horizonOf(db: SqliteDatabase, boardIds: readonly string[] | null): number {
  if (boardIds === null) return metaSeq(db, "pruned_through");
  const everyBoard = metaSeq(db, "pruned_all_through");
  if (boardIds.length === 0) return everyBoard;
  const row = db.get(
    `SELECT coalesce(max(pruned_through), 0) AS seq FROM board_horizon
     WHERE board_id IN (${boardIds.map(() => "?").join(", ")})`,
    ...boardIds,
  )!;
  return Math.max(everyBoard, Number(row.seq));
}

function metaSeq(db: SqliteDatabase, key: string): number {
  const row = db.get("SELECT value FROM meta WHERE key = ?", key);
  return row ? Number(row.value) : 0;
}

function setMetaSeq(db: SqliteDatabase, key: string, seq: number): void {
  db.run(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    key,
    String(seq),
  );
}

/**
 * Deletes the events past the policy's age or beyond its newest `maxCount` — but each existing
 * board's newest `keepPerBoard` — in one transaction, and moves the horizons: each pruned
 * board's, and the log's. Returns how many rows went.
 */
export function pruneEvents(db: SqliteDatabase, policy: RetentionPolicy): number {
  return db.transaction(() => {
    const cutoff = new Date(Date.now() - policy.maxAgeMs).toISOString();
    const head = currentSeq(db);
    const byAge = db.get(
      "SELECT coalesce(max(seq), 0) AS seq FROM events WHERE created_at < ?",
      cutoff,
    )!.seq as number;
    const through = Math.max(head - policy.maxCount, byAge, 0);
    const keep = policy.keepPerBoard ?? 0;
    const horizon = metaSeq(db, "pruned_through");
    if (keep === 0) {
      // Every board alike: one range, one horizon for all.
      if (through <= metaSeq(db, "pruned_all_through")) return 0;
      const deleted = db.run("DELETE FROM events WHERE seq <= ?", through);
      setMetaSeq(db, "pruned_through", Math.max(horizon, through));
      setMetaSeq(db, "pruned_all_through", through);
      db.run("DELETE FROM board_horizon WHERE pruned_through <= ?", through);
      return Number(deleted.changes);
    }
    // The boards whose prunable events may have changed since the last prune: those with events
    // newly at or below `through`, and those with events since (their newest `keep` moved on,
    // or the board was deleted).
    const boards = db.all(
      `SELECT board_id FROM events WHERE seq > ? AND seq <= ?
       UNION SELECT board_id FROM events WHERE seq > ?`,
      horizon,
      through,
      metaSeq(db, "pruned_at_head"),
    );
    let deleted = 0;
    let top = horizon;
    for (const { board_id: boardId } of boards) {
      const upTo = prunableThrough(db, String(boardId), through, keep);
      if (upTo <= 0) continue;
      const gone = Number(
        db.run("DELETE FROM events WHERE board_id = ? AND seq <= ?", boardId, upTo).changes,
      );
      if (gone === 0) continue;
      deleted += gone;
      top = Math.max(top, upTo);
      db.run(
        `INSERT INTO board_horizon (board_id, pruned_through) VALUES (?, ?)
         ON CONFLICT (board_id) DO UPDATE SET
           pruned_through = max(pruned_through, excluded.pruned_through)`,
        boardId,
        upTo,
      );
    }
    setMetaSeq(db, "pruned_through", top);
    setMetaSeq(db, "pruned_at_head", head);
    // A deleted board whose events are all gone needs no horizon: no one can read it.
    db.run(
      `DELETE FROM board_horizon WHERE NOT EXISTS (SELECT 1 FROM boards WHERE id = board_id)
       AND NOT EXISTS (SELECT 1 FROM events WHERE events.board_id = board_horizon.board_id)`,
    );
    return deleted;
  });
}

/**
 * The seq through which one board's events may go: `through`, but short of the board's newest
 * `keep` while the board exists (0 when it has no more than those).
 */
function prunableThrough(db: SqliteDatabase, boardId: string, through: number, keep: number) {
  if (!db.get("SELECT 1 FROM boards WHERE id = ?", boardId)) return through;
  const oldestKept = db.get(
    "SELECT seq FROM events WHERE board_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?",
    boardId,
    keep - 1,
  );
  return oldestKept ? Math.min(through, Number(oldestKept.seq) - 1) : 0;
}
