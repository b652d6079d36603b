/**
 * Task order. A task stores a `rank`, not its position: the tasks of a list are ordered by
 * (rank, id), and the dense position 0..n-1 that every task carries is computed when it is read.
 * A create or a move writes one task row (a rank between its new neighbours) and a delete writes
 * none; stored dense positions had to renumber the rest of the list each time, which was most of
 * the cost of a move. The order is owned here; `lists.task_count` (kept by triggers, see
 * migration 2) tells a list's size without counting it.
 */
import { placeAt, ranks } from "../rules.ts";
import type { SqliteDatabase } from "./db.ts";

/**
 * The select list for task rows with their dense position: how many tasks of the same list sort
 * before it, a range count over the (list_id, rank, id) index. Use it as `FROM tasks`.
 */
export const TASK_WITH_POSITION = `tasks.*, (
  SELECT count(*) FROM tasks AS earlier
  WHERE earlier.list_id = tasks.list_id AND (earlier.rank, earlier.id) < (tasks.rank, tasks.id)
) AS position`;

/**
 * The select list for whole lists of task rows with their dense positions (one pass, where the
 * count per row would be quadratic). The query must keep every task of each list it returns.
 */
export const TASKS_WITH_POSITIONS =
  "tasks.*, row_number() OVER (PARTITION BY tasks.list_id ORDER BY tasks.rank, tasks.id) - 1 AS position";

/** Where a task goes: the rank to store and the dense position that gives it. */
export interface Place {
  rank: number;
  position: number;
}

/**
 * The place for task `taskId` (new, or moving within or into list `listId`) at `position` among
 * the list's `others` other tasks (`lists.task_count`, less the task itself if it is already
 * there), clamped to 0..others (the end when omitted). Writes nothing, unless the neighbours'
 * ranks are so close that no double lies between them: then it renumbers the list.
 */
export function placeTask(
  db: SqliteDatabase,
  listId: string,
  taskId: string,
  others: number,
  position: number | undefined,
): Place {
  const at = placeAt(position, others);
  const place = between(db, listId, taskId, at, others);
  if (place) return place;
  renumber(db, listId, taskId);
  return between(db, listId, taskId, at, others)!; // Whole numbers apart now: there is a midpoint.
}

/** A rank strictly between the neighbours at `at - 1` and `at`, or null when there is none. */
function between(
  db: SqliteDatabase,
  listId: string,
  taskId: string,
  at: number,
  others: number,
): Place | null {
  if (others === 0) return { rank: 0, position: 0 };
  if (at === others) {
    // The common case, a new task at the end: one seek to the end of the index. The highest
    // rank may be the moving task's own; one above it is still above all the others.
    const highest = db.get("SELECT max(rank) AS rank FROM tasks WHERE list_id = ?", listId)!
      .rank as number;
    const rank = ranks.after(highest);
    return rank === null ? null : { rank, position: at };
  }
  const [before, after] = db.all(
    "SELECT rank FROM tasks WHERE list_id = ? AND id != ? ORDER BY rank, id LIMIT 2 OFFSET ?",
    listId,
    taskId,
    Math.max(at - 1, 0),
  ).map((row) => row.rank as number);
  const rank = at === 0 ? ranks.before(before) : ranks.between(before, after);
  return rank === null ? null : { rank, position: at };
}

/**
 * Gives the list's tasks other than `taskId` the ranks 0..n-1 in their current order. Rare:
 * a double has 52 bits of fraction, so it takes about 50 inserts at the same spot in a row.
 */
function renumber(db: SqliteDatabase, listId: string, taskId: string): void {
  db.run(
    `UPDATE tasks SET rank = ordered.n FROM (
       SELECT id, row_number() OVER (ORDER BY rank, id) - 1 AS n
       FROM tasks WHERE list_id = ? AND id != ?
     ) AS ordered WHERE tasks.id = ordered.id`,
    listId,
    taskId,
  );
}
