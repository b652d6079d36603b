/**
 * What comes out of PostgreSQL rows: mappers from snake_case rows to the store's objects, with
 * times as the same fixed-width ISO-8601 UTC strings the SQLite store gives.
 */
import { type BoardEvent, eventFromRow } from "../events.ts";
import type {
  Board,
  Conflict,
  ConflictField,
  List,
  Member,
  Role,
  Task,
  TrashItem,
  User,
} from "../store.ts";

/** One result row. */
// deno-lint-ignore no-explicit-any
export type Row = Record<string, any>;

/** A timestamptz (a Date) as stored times read everywhere else. */
export const iso = (value: Date | string): string =>
  value instanceof Date ? value.toISOString() : new Date(value).toISOString();

export const toUser = (r: Row): User => ({
  id: r.id,
  email: r.email,
  name: r.name,
  isAdmin: r.is_admin === true,
  createdAt: iso(r.created_at),
});

export const toBoard = (r: Row): Board => ({
  id: r.id,
  title: r.title,
  ownerId: r.owner_id,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

export const toList = (r: Row): List => ({
  id: r.id,
  boardId: r.board_id,
  title: r.title,
  position: r.position,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

export const toTask = (r: Row): Task => ({
  id: r.id,
  boardId: r.board_id,
  listId: r.list_id,
  title: r.title,
  description: r.description,
  assigneeId: r.assignee_id ?? null,
  position: Number(r.position),
  version: r.version,
  createdBy: r.created_by ?? null,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

export const toMember = (r: Row): Member => ({
  boardId: r.board_id,
  userId: r.user_id,
  name: r.name,
  email: r.email,
  role: r.role as Role,
  addedAt: iso(r.added_at),
});

export const toEvent = (r: Row): BoardEvent =>
  eventFromRow(
    Number(r.seq),
    r.board_id,
    r.type,
    r.payload,
    r.actor_id ?? null,
    iso(r.created_at),
  );

/** A `trash` row as a TrashItem (its content holds task and list rows). */
export function toTrashItem(r: Row): TrashItem {
  const common = {
    id: r.item_id,
    boardId: r.board_id,
    title: r.title,
    deletedBy: r.deleted_by ?? null,
    deletedAt: iso(r.deleted_at),
  };
  const content = JSON.parse(r.content);
  return r.kind === "task"
    ? { ...common, kind: "task", listId: r.list_id, task: toTask(content) }
    : { ...common, kind: "list", list: toList(content.list), tasks: content.tasks.map(toTask) };
}

export const toConflict = (r: Row): Conflict => ({
  id: r.id,
  boardId: r.board_id,
  taskId: r.task_id,
  field: r.field as ConflictField,
  value: r.value,
  authorId: r.author_id ?? null,
  baseVersion: Number(r.base_version),
  createdAt: iso(r.created_at),
});
