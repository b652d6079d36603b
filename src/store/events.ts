/**
 * Board events: the one definition of what each event carries, as a discriminated union, with a
 * constructor per type. Every store builds its events here and turns stored rows back into
 * events with `eventFromRow`, so the wire shape `{type, v, id, boardId, ...fields, actorId, at}`
 * that the browser client's `applyEvent` (static/js/board_model.js) depends on lives in one place.
 *
 * Format 2 (`v: 2`): every user-visible change carries enough to invert it — the fields an
 * update changed as they were (`before`), the whole card on a delete, a deleted list's cards —
 * so the log is the board's history, its trash and its undo (src/revert.ts). Events written
 * before read back as `v: 1`, without those fields, and cannot be reverted.
 */
import type { Board, Conflict, List, Member, Task } from "./store.ts";

/** The event format every new event is written in. */
export const EVENT_FORMAT = 2;

/** The fields of a card an update can change, as they were before it. */
export type TaskFields = Partial<Pick<Task, "title" | "description" | "assigneeId">>;

/** What an event says happened, without where it sits in the log. */
export type EventBody =
  /** With what a new board starts with (its default lists, its owner), so the log alone rebuilds it. */
  | { type: "board_created"; board: Board; lists: List[]; members: Member[] }
  | { type: "board_updated"; board: Board; before: { title: string } }
  | { type: "board_deleted" }
  | { type: "member_added"; member: Member }
  | { type: "member_removed"; member: Member }
  | { type: "list_created"; list: List }
  | { type: "list_updated"; list: List; before: { title: string } }
  /** `before`: only when the same request renamed the list too (so undoing it can rename back). */
  | { type: "list_moved"; list: List; fromPosition: number; before?: { title: string } }
  /** With its cards as they were, in order: restoring the list brings them back. */
  | { type: "list_deleted"; listId: string; list: List; tasks: Task[] }
  | { type: "list_restored"; list: List; tasks: Task[] }
  /** Archived: hidden from the board with its cards, kept and searchable until unarchived. */
  | { type: "list_archived"; list: List; tasks: Task[] }
  | { type: "list_unarchived"; list: List; tasks: Task[] }
  | { type: "task_created"; task: Task }
  /** `before`: each field the update changed, as it was (`{}` when nothing changed). */
  | { type: "task_updated"; task: Task; before: TaskFields }
  | { type: "task_moved"; task: Task; fromListId: string; fromPosition: number }
  | { type: "task_deleted"; taskId: string; listId: string; task: Task }
  | { type: "task_restored"; task: Task }
  | { type: "conflict_recorded"; conflict: Conflict }
  | { type: "conflict_resolved"; conflict: Conflict }
  | { type: "task_archived"; task: Task }
  | { type: "task_unarchived"; task: Task };

export type EventType = EventBody["type"];

/** Where an event sits in the log: its seq (the cursor), board, author and time. */
export interface EventHeader {
  /** The event format: 2 for events that carry their inverse, 1 for older ones. */
  v: number;
  /** The global, gap-free sequence number in commit order: the event cursor. */
  id: number;
  boardId: string;
  actorId: string | null;
  at: string;
  /** Set on an event made by reverting another: that event's seq. */
  revertOf?: number;
}

/** One row of the event log as it goes on the wire. */
export type BoardEvent = EventBody & EventHeader;

/** An event a mutation is about to append: its board and body; the log gives the header. */
export interface NewEvent {
  boardId: string;
  body: EventBody;
  /** The seq of the event this one reverts, when it does. */
  revertOf?: number;
}

/** Constructors, one per event type. */
export const boardEvents = {
  boardCreated: (board: Board, lists: List[], members: Member[]): NewEvent => ({
    boardId: board.id,
    body: { type: "board_created", board, lists, members },
  }),
  boardUpdated: (board: Board, before: Board): NewEvent => ({
    boardId: board.id,
    body: { type: "board_updated", board, before: { title: before.title } },
  }),
  boardDeleted: (boardId: string): NewEvent => ({ boardId, body: { type: "board_deleted" } }),
  memberAdded: (member: Member): NewEvent => ({
    boardId: member.boardId,
    body: { type: "member_added", member },
  }),
  memberRemoved: (member: Member): NewEvent => ({
    boardId: member.boardId,
    body: { type: "member_removed", member },
  }),
  listCreated: (list: List): NewEvent => ({
    boardId: list.boardId,
    body: { type: "list_created", list },
  }),
  listUpdated: (list: List, before: List): NewEvent => ({
    boardId: list.boardId,
    body: { type: "list_updated", list, before: { title: before.title } },
  }),
  listMoved: (list: List, before: List): NewEvent => ({
    boardId: list.boardId,
    body: {
      type: "list_moved",
      list,
      fromPosition: before.position,
      ...(list.title === before.title ? {} : { before: { title: before.title } }),
    },
  }),
  listDeleted: (list: List, tasks: Task[]): NewEvent => ({
    boardId: list.boardId,
    body: { type: "list_deleted", listId: list.id, list, tasks },
  }),
  listRestored: (list: List, tasks: Task[]): NewEvent => ({
    boardId: list.boardId,
    body: { type: "list_restored", list, tasks },
  }),
  taskCreated: (task: Task): NewEvent => ({
    boardId: task.boardId,
    body: { type: "task_created", task },
  }),
  taskUpdated: (task: Task, before: Task): NewEvent => ({
    boardId: task.boardId,
    body: { type: "task_updated", task, before: changedFields(before, task) },
  }),
  taskMoved: (task: Task, from: Task): NewEvent => ({
    boardId: task.boardId,
    body: { type: "task_moved", task, fromListId: from.listId, fromPosition: from.position },
  }),
  taskDeleted: (task: Task): NewEvent => ({
    boardId: task.boardId,
    body: { type: "task_deleted", taskId: task.id, listId: task.listId, task },
  }),
  taskRestored: (task: Task): NewEvent => ({
    boardId: task.boardId,
    body: { type: "task_restored", task },
  }),
  conflictRecorded: (conflict: Conflict): NewEvent => ({
    boardId: conflict.boardId,
    body: { type: "conflict_recorded", conflict },
  }),
  conflictResolved: (conflict: Conflict): NewEvent => ({
    boardId: conflict.boardId,
    body: { type: "conflict_resolved", conflict },
  }),
  taskArchived: (task: Task): NewEvent => ({
    boardId: task.boardId,
    body: { type: "task_archived", task },
  }),
  taskUnarchived: (task: Task): NewEvent => ({
    boardId: task.boardId,
    body: { type: "task_unarchived", task },
  }),
  listArchived: (list: List, tasks: Task[]): NewEvent => ({
    boardId: list.boardId,
    body: { type: "list_archived", list, tasks },
  }),
  listUnarchived: (list: List, tasks: Task[]): NewEvent => ({
    boardId: list.boardId,
    body: { type: "list_unarchived", list, tasks },
  }),
};

/** The fields an update changed, with the values they had before it. */
export function changedFields(before: Task, after: Task): TaskFields {
  const changed: TaskFields = {};
  if (before.title !== after.title) changed.title = before.title;
  if (before.description !== after.description) changed.description = before.description;
  if (before.assigneeId !== after.assigneeId) changed.assigneeId = before.assigneeId;
  return changed;
}

/**
 * The card or list an event is about (null for board and member events): stored beside the
 * event, so a card's history is read by an index rather than by parsing every payload.
 */
export function subjectOf(body: EventBody): string | null {
  switch (body.type) {
    case "task_created":
    case "task_updated":
    case "task_moved":
    case "task_restored":
    case "task_archived":
    case "task_unarchived":
      return body.task.id;
    case "task_deleted":
      return body.taskId;
    case "conflict_recorded":
    case "conflict_resolved":
      return body.conflict.taskId;
    case "list_created":
    case "list_updated":
    case "list_moved":
    case "list_restored":
    case "list_archived":
    case "list_unarchived":
      return body.list.id;
    case "list_deleted":
      return body.listId;
    default:
      return null;
  }
}

/** The JSON stored with an event: its body without the type (which has its own column). */
export function payloadJson(event: NewEvent): string {
  const { type: _type, ...fields } = event.body;
  return JSON.stringify(
    event.revertOf === undefined
      ? { v: EVENT_FORMAT, ...fields }
      : { v: EVENT_FORMAT, ...fields, revertOf: event.revertOf },
  );
}

/** An event as it goes on the wire, from the parts a log row stores. */
export function eventFromRow(
  seq: number,
  boardId: string,
  type: string,
  payload: string,
  actorId: string | null,
  at: string,
): BoardEvent {
  // Rows written before format 2 have no `v` in their payload: they read back as format 1.
  const { revertOf, ...fields } = JSON.parse(payload);
  const revert = revertOf === undefined ? {} : { revertOf };
  return { type, v: 1, id: seq, boardId, ...fields, actorId, at, ...revert } as BoardEvent;
}

/** A committed event: the new event with the header the log gave it. */
export function committedEvent(
  event: NewEvent,
  seq: number,
  actorId: string | null,
  at: string,
): BoardEvent {
  const { type, ...fields } = event.body;
  const revert = event.revertOf === undefined ? {} : { revertOf: event.revertOf };
  return {
    type,
    v: EVENT_FORMAT,
    id: seq,
    boardId: event.boardId,
    ...fields,
    actorId,
    at,
    ...revert,
  } as BoardEvent;
}

/** The user a `member_removed` event removes, or null for any other event. */
export function removedUserId(event: BoardEvent): string | null {
  return event.type === "member_removed" ? event.member.userId : null;
}
