/** What comes out of SQLite rows: mappers from snake_case rows to the store's objects. */
import type { Row } from "./db.ts";
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

/** A `users` row as a User (the password hash stays behind). */
export const toUser = (r: Row): User => ({
  id: r.id as string,
  email: r.email as string,
  name: r.name as string,
  isAdmin: r.is_admin === 1,
  createdAt: r.created_at as string,
});

/** A `boards` row as a Board. */
export const toBoard = (r: Row): Board => ({
  id: r.id as string,
  title: r.title as string,
  ownerId: r.owner_id as string,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});

/** A `lists` row as a List. */
export const toList = (r: Row): List => ({
  id: r.id as string,
  boardId: r.board_id as string,
  title: r.title as string,
  position: r.position as number,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});

/** A `tasks` row as a Task. */
export const toTask = (r: Row): Task => ({
  id: r.id as string,
  boardId: r.board_id as string,
  listId: r.list_id as string,
  title: r.title as string,
  description: r.description as string,
  assigneeId: (r.assignee_id as string | null) ?? null,
  position: r.position as number,
  version: r.version as number,
  createdBy: (r.created_by as string | null) ?? null,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});

/** A `board_members` row joined with its user's name and email, as a Member. */
export const toMember = (r: Row): Member => ({
  boardId: r.board_id as string,
  userId: r.user_id as string,
  name: r.name as string,
  email: r.email as string,
  role: r.role as Role,
  addedAt: r.added_at as string,
});

/** An `events` row as a BoardEvent. */
export const toEvent = (r: Row): BoardEvent =>
  eventFromRow(
    r.seq as number,
    r.board_id as string,
    r.type as string,
    r.payload as string,
    (r.actor_id as string | null) ?? null,
    r.created_at as string,
  );

/** A `trash` row as a TrashItem. */
export function toTrashItem(r: Row): TrashItem {
  const common = {
    id: r.item_id as string,
    boardId: r.board_id as string,
    title: r.title as string,
    deletedBy: (r.deleted_by as string | null) ?? null,
    deletedAt: r.deleted_at as string,
  };
  const content = JSON.parse(r.content as string);
  return r.kind === "task"
    ? { ...common, kind: "task", listId: r.list_id as string, task: content }
    : { ...common, kind: "list", list: content.list, tasks: content.tasks };
}

/** A `task_conflicts` row as a Conflict. */
export const toConflict = (r: Row): Conflict => ({
  id: r.id as string,
  boardId: r.board_id as string,
  taskId: r.task_id as string,
  field: r.field as ConflictField,
  value: r.value as string,
  authorId: (r.author_id as string | null) ?? null,
  baseVersion: Number(r.base_version),
  createdAt: r.created_at as string,
});
