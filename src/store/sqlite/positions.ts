/**
 * Dense stored positions for the lists of a board: numbered 0..n-1 with no gaps. Every insert,
 * move and delete shifts its siblings here, inside the mutation's own transaction, so the
 * numbering never has a hole or a duplicate that readers could see. A board has a handful of
 * lists, so the shifting is cheap; tasks, which are many and move often, are ordered by rank
 * instead (`task_ranks.ts`).
 */
import { clamp, placeAt } from "../rules.ts";
import type { SqliteDatabase } from "./db.ts";

/**
 * How many lists a board has. Positions are dense (0..n-1), so that is the highest position + 1,
 * which the (board_id, position) index answers without a scan.
 */
function listCount(db: SqliteDatabase, boardId: string): number {
  return db.get(
    "SELECT coalesce(max(position) + 1, 0) AS n FROM lists WHERE board_id = ?",
    boardId,
  )!.n as number;
}

/**
 * Makes room for a new list at `position` (clamped to 0..n; the end when omitted) by moving the
 * lists from there on down one; returns the position the new list must take.
 */
export function openListSlot(
  db: SqliteDatabase,
  boardId: string,
  position: number | undefined,
): number {
  const count = listCount(db, boardId);
  const at = placeAt(position, count);
  if (at < count) {
    db.run(
      "UPDATE lists SET position = position + 1 WHERE board_id = ? AND position >= ?",
      boardId,
      at,
    );
  }
  return at;
}

/** Closes the hole a deleted list left at `position` by moving the lists after it up. */
export function closeListSlot(db: SqliteDatabase, boardId: string, position: number): void {
  db.run(
    "UPDATE lists SET position = position - 1 WHERE board_id = ? AND position > ?",
    boardId,
    position,
  );
}

/**
 * Moves the list at `from` towards `to` (clamped to 0..n-1) by shifting the ones in between;
 * returns the position the caller must then give the list itself.
 */
export function moveList(db: SqliteDatabase, boardId: string, from: number, to: number): number {
  const target = clamp(to, 0, listCount(db, boardId) - 1);
  if (target > from) {
    db.run(
      "UPDATE lists SET position = position - 1 WHERE board_id = ? AND position > ? AND position <= ?",
      boardId,
      from,
      target,
    );
  } else if (target < from) {
    db.run(
      "UPDATE lists SET position = position + 1 WHERE board_id = ? AND position >= ? AND position < ?",
      boardId,
      target,
      from,
    );
  }
  return target;
}
