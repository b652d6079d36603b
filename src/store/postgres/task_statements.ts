/**
 * The task mutations as single statements (db.ts `FastPath`): each makes the checks of its
 * general body in store.ts — membership, version, assignee, same board, room between the
 * neighbours' ranks — and its writes in one statement, returning one row when it applied and
 * none when a check failed (the general body then runs and says which). A batch sends these
 * all at once instead of paying two round trips per mutation. They must agree with the general
 * bodies: the store contract suite runs both (tests/store_contract_test.ts).
 */
import type { Sql } from "postgres";
import { boardEvents } from "../events.ts";
import type { NewTask, Task, TaskChanges, TaskMove } from "../store.ts";
import type { FastPath } from "./db.ts";
import { type Row, toTask } from "./rows.ts";

/** Task rows with their dense position: how many tasks of the list sort before each. */
export const taskWithPosition = (sql: Sql) =>
  sql`tasks.*, (
    SELECT count(*) FROM tasks AS earlier
    WHERE earlier.list_id = tasks.list_id AND (earlier.rank, earlier.id) < (tasks.rank, tasks.id)
  ) AS position`;

/** Whether a fast statement can carry these ids (PostgreSQL text cannot hold a NUL byte). */
const storable = (...ids: (string | null | undefined)[]) => ids.every((id) => !id?.includes("\0"));

/**
 * A one-row subquery `stats (n, top)` on the tasks of `listId` other than `taskId`: how many
 * there are (from the list's kept count, migration 2) and their highest rank. No row when the
 * list does not exist. Shaped for the plan, which PostgreSQL makes once per statement while the
 * tables may still be tiny: `taskId`'s own list is read by primary key alone (`id = … AND
 * list_id = …` was planned as a walk of the whole list on the `tasks_list` index: 0.3 ms a
 * create at 3,000 tasks), and `OFFSET 0` keeps the subquery from being inlined into every
 * expression that uses `n` (it was run three times).
 */
export const listStats = (sql: Sql, listId: string, taskId: string) =>
  sql`(SELECT lists.task_count - CASE
        WHEN (SELECT list_id FROM tasks WHERE id = ${taskId}) = lists.id THEN 1 ELSE 0 END AS n,
      (SELECT rank FROM tasks WHERE list_id = lists.id AND id <> ${taskId}
        ORDER BY rank DESC, id DESC LIMIT 1) AS top
    FROM lists WHERE lists.id = ${listId} OFFSET 0) AS stats`;

/**
 * The ranks of the two tasks of `listId` other than `taskId` around dense position `position`,
 * as an array (the one before it first).
 */
export const neighbourRanks = (sql: Sql, listId: string, taskId: string, position: number) =>
  sql`ARRAY(SELECT rank FROM tasks WHERE list_id = ${listId} AND id <> ${taskId}
    ORDER BY rank, id LIMIT 2 OFFSET ${Math.max(position - 1, 0)})`;

/**
 * The CTE `placement (at, rank, fits)`: where a task goes among the tasks of `listId` other than
 * `taskId` — its dense position `at` for the requested `position` (the end when omitted), a rank
 * between its neighbours by the arithmetic of rules.ts `ranks`, and whether that rank lies
 * strictly between them (when not, the general body renumbers the list).
 */
function placement(sql: Sql, listId: string, taskId: string, position: number | undefined) {
  const stats = listStats(sql, listId, taskId);
  if (position === undefined) {
    return sql`placement AS (
      SELECT n AS at, CASE WHEN n = 0 THEN 0 ELSE top + 1 END AS rank,
        n = 0 OR top + 1 > top AS fits
      FROM ${stats}
    )`;
  }
  return sql`placement AS (
    SELECT least(${position}::int, n) AS at, rank,
      n = 0 OR (${position}::int >= n AND rank > top)
        OR (${position}::int = 0 AND rank < near[1])
        OR (${position}::int < n AND near[1] < rank AND rank < near[2]) AS fits
    FROM (
      SELECT n, top, near, CASE
        WHEN n = 0 THEN 0
        WHEN ${position}::int >= n THEN top + 1
        WHEN ${position}::int = 0 THEN near[1] - 1
        ELSE near[1] + (near[2] - near[1]) / 2 END AS rank
      FROM ${stats}, (SELECT ${neighbourRanks(sql, listId, taskId, position)} AS near) AS around
    ) AS ranked
  )`;
}

/** The task as it is, when the actor is a member of its board and `version` (if given) holds. */
const prior = (sql: Sql, taskId: string, actorId: string, version: number | undefined) =>
  sql`prior AS (
    SELECT ${taskWithPosition(sql)} FROM tasks
    JOIN board_members ON board_members.board_id = tasks.board_id
      AND board_members.user_id = ${actorId}
    WHERE tasks.id = ${taskId} AND (${version ?? null}::int IS NULL OR tasks.version = ${
    version ?? null
  }::int)
  )`;

/** Whether `assigneeId` (if any) is a member of the board `boardColumn` names. */
const assigneeIsMember = (sql: Sql, boardColumn: string, assigneeId: string | null) =>
  sql`(${assigneeId}::text IS NULL OR EXISTS (SELECT 1 FROM board_members AS assignee
    WHERE assignee.board_id = ${sql(boardColumn)} AND assignee.user_id = ${assigneeId}))`;

export function createTaskStatement(
  actorId: string,
  id: string,
  input: NewTask,
  stamp: string,
  maxCards: number,
): FastPath<Task> | undefined {
  const assigneeId = input.assigneeId ?? null;
  if (!storable(input.listId, assigneeId)) return undefined;
  return {
    statement: (sql) =>
      sql`WITH list AS (
          SELECT lists.id, lists.board_id FROM lists
          JOIN board_members ON board_members.board_id = lists.board_id
            AND board_members.user_id = ${actorId}
          WHERE lists.id = ${input.listId}
            AND ${assigneeIsMember(sql, "lists.board_id", assigneeId)}
            AND (SELECT coalesce(sum(task_count), 0) FROM lists AS board_lists
              WHERE board_lists.board_id = lists.board_id) < ${maxCards}
        ), ${placement(sql, input.listId, id, input.position)},
        created AS (
          INSERT INTO tasks (id, board_id, list_id, title, description, assignee_id, rank,
            version, created_by, created_at, updated_at)
          SELECT ${id}, list.board_id, list.id, ${input.title}, ${input.description ?? ""},
            ${assigneeId}, placement.rank, 1, ${actorId}, ${stamp}, ${stamp}
          FROM list, placement WHERE placement.fits
          RETURNING *
        )
        SELECT created.*, placement.at AS position FROM created, placement`,
    outcome: (row: Row) => {
      const task = toTask(row);
      return { value: task, event: boardEvents.taskCreated(task) };
    },
  };
}

export function moveTaskStatement(
  actorId: string,
  taskId: string,
  move: TaskMove,
  stamp: string,
): FastPath<Task> | undefined {
  if (!storable(taskId, move.listId)) return undefined;
  return {
    statement: (sql) =>
      sql`WITH ${prior(sql, taskId, actorId, move.version)},
        target AS (
          SELECT lists.id FROM lists JOIN prior ON lists.board_id = prior.board_id
          WHERE lists.id = ${move.listId}
        ), ${placement(sql, move.listId, taskId, move.position)},
        moved AS (
          UPDATE tasks SET list_id = target.id, rank = placement.rank,
            version = tasks.version + 1, updated_at = ${stamp}
          FROM prior, target, placement WHERE tasks.id = prior.id AND placement.fits
          RETURNING tasks.*
        )
        SELECT moved.*, placement.at AS position, row_to_json(prior) AS prior
        FROM moved, placement, prior`,
    outcome: (row: Row) => {
      const task = toTask(row);
      return { value: task, event: boardEvents.taskMoved(task, toTask(row.prior)) };
    },
  };
}

export function updateTaskStatement(
  actorId: string,
  taskId: string,
  changes: TaskChanges,
  stamp: string,
): FastPath<Task> | undefined {
  const assigneeId = changes.assigneeId ?? null;
  if (!storable(taskId, assigneeId)) return undefined;
  return {
    statement: (sql) =>
      sql`WITH ${prior(sql, taskId, actorId, changes.version)}
        UPDATE tasks SET title = coalesce(${changes.title ?? null}::text, tasks.title),
          description = coalesce(${changes.description ?? null}::text, tasks.description),
          assignee_id = ${
        changes.assigneeId === undefined ? sql`tasks.assignee_id` : sql`${assigneeId}::text`
      },
          version = tasks.version + 1, updated_at = ${stamp}
        FROM prior WHERE tasks.id = prior.id
          AND ${assigneeIsMember(sql, "prior.board_id", assigneeId)}
        RETURNING tasks.*, prior.position, row_to_json(prior) AS prior`,
    outcome: (row: Row) => {
      const task = toTask(row);
      return { value: task, event: boardEvents.taskUpdated(task, toTask(row.prior)) };
    },
  };
}

/** Deletes the card into the trash (its row as the trash content, as store.ts writes it). */
export function deleteTaskStatement(
  actorId: string,
  taskId: string,
  version: number | undefined,
  stamp: string,
): FastPath<Task> | undefined {
  if (!storable(taskId)) return undefined;
  return {
    statement: (sql) =>
      sql`WITH ${prior(sql, taskId, actorId, version)},
        trashed AS (
          INSERT INTO trash (item_id, board_id, kind, list_id, title, content, deleted_by,
            deleted_at)
          SELECT prior.id, prior.board_id, 'task', prior.list_id, prior.title,
            row_to_json(prior)::text, ${actorId}, ${stamp} FROM prior
        )
        DELETE FROM tasks USING prior WHERE tasks.id = prior.id
        RETURNING row_to_json(prior) AS prior`,
    outcome: (row: Row) => {
      const task = toTask(row.prior);
      return { value: task, event: boardEvents.taskDeleted(task) };
    },
  };
}
