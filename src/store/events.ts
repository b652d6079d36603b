/**
 * Board events: the one definition of what each event carries, as a discriminated union, with a
 * constructor per type. Every store builds its events here and turns stored rows back into
 * events with `eventFromRow`, so the wire shape `{type, id, boardId, ...fields, actorId, at}`
 * that the browser client's `applyEvent` (static/js/board_model.js) depends on lives in one place.
 */
import type { Board, List, Member, Task } from "./store.ts";

/** What an event says happened, without where it sits in the log. */
export type EventBody =
  /** With what a new board starts with (its default lists, its owner), so the log alone rebuilds it. */
  | { type: "board_created"; board: Board; lists: List[]; members: Member[] }
  | { type: "board_updated"; board: Board }
  | { type: "board_deleted" }
  | { type: "member_added"; member: Member }
  | { type: "member_removed"; member: Member }
  | { type: "list_created"; list: List }
  | { type: "list_updated"; list: List }
  | { type: "list_moved"; list: List; fromPosition: number }
  | { type: "list_deleted"; listId: string; list: List }
  | { type: "task_created"; task: Task }
  | { type: "task_updated"; task: Task }
  | { type: "task_moved"; task: Task; fromListId: string; fromPosition: number }
  | { type: "task_deleted"; taskId: string; listId: string };

export type EventType = EventBody["type"];

/** Where an event sits in the log: its seq (the cursor), board, author and time. */
export interface EventHeader {
  /** The global, gap-free sequence number in commit order: the event cursor. */
  id: number;
  boardId: string;
  actorId: string | null;
  at: string;
}

/** One row of the event log as it goes on the wire. */
export type BoardEvent = EventBody & EventHeader;

/** An event a mutation is about to append: its board and body; the log gives the header. */
export interface NewEvent {
  boardId: string;
  body: EventBody;
}

/** Constructors, one per event type. */
export const boardEvents = {
  boardCreated: (board: Board, lists: List[], members: Member[]): NewEvent => ({
    boardId: board.id,
    body: { type: "board_created", board, lists, members },
  }),
  boardUpdated: (board: Board): NewEvent => ({
    boardId: board.id,
    body: { type: "board_updated", board },
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
  listUpdated: (list: List): NewEvent => ({
    boardId: list.boardId,
    body: { type: "list_updated", list },
  }),
  listMoved: (list: List, fromPosition: number): NewEvent => ({
    boardId: list.boardId,
    body: { type: "list_moved", list, fromPosition },
  }),
  listDeleted: (list: List): NewEvent => ({
    boardId: list.boardId,
    body: { type: "list_deleted", listId: list.id, list },
  }),
  taskCreated: (task: Task): NewEvent => ({
    boardId: task.boardId,
    body: { type: "task_created", task },
  }),
  taskUpdated: (task: Task): NewEvent => ({
    boardId: task.boardId,
    body: { type: "task_updated", task },
  }),
  taskMoved: (task: Task, from: Task): NewEvent => ({
    boardId: task.boardId,
    body: { type: "task_moved", task, fromListId: from.listId, fromPosition: from.position },
  }),
  taskDeleted: (task: Task): NewEvent => ({
    boardId: task.boardId,
    body: { type: "task_deleted", taskId: task.id, listId: task.listId },
  }),
};

/** The JSON stored with an event: its body without the type (which has its own column). */
export function payloadJson(body: EventBody): string {
  const { type: _type, ...fields } = body;
  return JSON.stringify(fields);
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
  return { type, id: seq, boardId, ...JSON.parse(payload), actorId, at } as BoardEvent;
}

/** A committed event: the new event with the header the log gave it. */
export function committedEvent(
  event: NewEvent,
  seq: number,
  actorId: string | null,
  at: string,
): BoardEvent {
  const { type, ...fields } = event.body;
  return { type, id: seq, boardId: event.boardId, ...fields, actorId, at } as BoardEvent;
}

/** The user a `member_removed` event removes, or null for any other event. */
export function removedUserId(event: BoardEvent): string | null {
  return event.type === "member_removed" ? event.member.userId : null;
}
