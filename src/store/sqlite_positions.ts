/**
 * Dense stored positions for the lists of a board: numbered 0..n-1 with no gaps. Every insert,
 * move and delete shifts its siblings here, inside the mutation's own transaction, so the
 * numbering never has a hole or a duplicate that readers could see. A board has a handful of
 * lists, so the shifting is cheap; tasks, which are many and move often, are ordered by rank
 * instead (`sqlite_task_ranks.ts`).
 */
import type { SqliteDatabase } from "./sqlite_db.ts";

/** A kind of ordered row and the column naming its parent. */
export interface Siblings {
  table: "lists";
  parent: "board_id";
}

/** The lists of one board. */
export const LISTS_IN_BOARD: Siblings = { table: "lists", parent: "board_id" };

const clamp = (n: number, lo: number, hi: number) => Math.min(Math.max(n, lo), hi);

/**
 * How many lists a board has. Positions are dense (0..n-1), so that is the
 * highest position + 1, which the (parent, position) index answers without a scan; count(*)
 * would read every row of the list.
 */
function countSiblings(db: SqliteDatabase, { table, parent }: Siblings, parentId: string): number {
  return db.get(
    `SELECT coalesce(max(position) + 1, 0) AS n FROM ${table} WHERE ${parent} = ?`,
    parentId,
  )!.n as number;
}

/**
 * Makes room for a new row at `position` (clamped to 0..n; the end when omitted) by moving the
 * rows from there on down one; returns the position the new row must take.
 */
export function openSlot(
  db: SqliteDatabase,
  siblings: Siblings,
  parentId: string,
  position: number | undefined,
): number {
  const count = countSiblings(db, siblings, parentId);
  const at = clamp(position ?? count, 0, count);
  if (at < count) {
    db.run(
      `UPDATE ${siblings.table} SET position = position + 1 WHERE ${siblings.parent} = ? AND position >= ?`,
      parentId,
      at,
    );
  }
  return at;
}

/** Closes the hole a row left at `position` (deleted or moved away) by moving the rows after it up. */
export function closeSlot(
  db: SqliteDatabase,
  { table, parent }: Siblings,
  parentId: string,
  position: number,
): void {
  db.run(
    `UPDATE ${table} SET position = position - 1 WHERE ${parent} = ? AND position > ?`,
    parentId,
    position,
  );
}

/**
 * Moves the row at `from` towards `to` (clamped to 0..n-1) among its siblings by shifting the
 * ones in between; returns the position the caller must then give the row itself.
 */
export function moveWithin(
  db: SqliteDatabase,
  siblings: Siblings,
  parentId: string,
  from: number,
  to: number,
): number {
  const { table, parent } = siblings;
  const count = countSiblings(db, siblings, parentId);
  const target = clamp(to, 0, count - 1);
  if (target > from) {
    db.run(
      `UPDATE ${table} SET position = position - 1 WHERE ${parent} = ? AND position > ? AND position <= ?`,
      parentId,
      from,
      target,
    );
  } else if (target < from) {
    db.run(
      `UPDATE ${table} SET position = position + 1 WHERE ${parent} = ? AND position >= ? AND position < ?`,
      parentId,
      target,
      from,
    );
  }
  return target;
}
