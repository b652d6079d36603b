/**
 * Reverting: the one table of what undoes each kind of event, as the ordinary store mutation
 * that puts things back — so an undo goes through the same checks (membership, versions,
 * limits) and makes one ordinary event, marked with `revertOf`. A card's inverse applies only to
 * the version the event left it at (`version_conflict` otherwise: someone changed it since);
 * lists carry no versions, so a list's inverse applies as any list edit does. Undo of an undo
 * (redo) is the revert of the event the undo made.
 */
import { DomainError } from "./errors.ts";
import type { BoardEvent } from "./store/events.ts";
import type { Mutation, MutationOptions, Store } from "./store/store.ts";

/** Runs the inverse of one event as `actorId`. */
export type Inverse = (
  store: Store,
  actorId: string,
  options: MutationOptions,
) => Promise<Mutation<unknown>>;

/** The kinds of event that no inverse undoes, and why. */
const NOT_REVERTIBLE: Record<string, string> = {
  board_created: "delete the board instead",
  board_deleted: "a deleted board cannot come back",
  member_added: "remove the member instead",
  member_removed: "add the member again instead",
};

/** What undoes `event`; `not_revertible` when nothing does. */
export function inverseOf(event: BoardEvent): Inverse {
  if (event.v < 2) {
    throw new DomainError(
      "not_revertible",
      `Event ${event.id} was written before events carried what undoes them`,
    );
  }
  switch (event.type) {
    case "task_created":
    case "task_restored": {
      const { id, version } = event.task;
      return (store, actorId, options) => store.deleteTask(actorId, id, options, version);
    }
    case "task_updated": {
      const { id, version } = event.task;
      return (store, actorId, options) =>
        store.updateTask(actorId, id, { ...event.before, version }, options);
    }
    case "task_moved": {
      const { id, version } = event.task;
      const move = { listId: event.fromListId, position: event.fromPosition, version };
      return (store, actorId, options) => store.moveTask(actorId, id, move, options);
    }
    case "task_deleted":
      // Only the deletion this event made: the trash may since hold a later one of the card.
      return (store, actorId, options) =>
        store.restoreTask(actorId, event.taskId, options, event.task.version);
    case "list_created":
    case "list_restored":
      return (store, actorId, options) => store.deleteList(actorId, event.list.id, options);
    case "list_updated":
      return (store, actorId, options) =>
        store.updateList(actorId, event.list.id, { title: event.before.title }, options);
    case "list_moved": {
      const back = { position: event.fromPosition, title: event.before?.title };
      return (store, actorId, options) => store.updateList(actorId, event.list.id, back, options);
    }
    case "list_deleted":
      return (store, actorId, options) => store.restoreList(actorId, event.listId, options);
    case "task_archived":
      return (store, actorId, options) =>
        store.unarchiveTask(actorId, event.task.id, options, event.task.version);
    case "task_unarchived":
      return (store, actorId, options) =>
        store.archiveTask(actorId, event.task.id, options, event.task.version);
    case "list_archived":
      return (store, actorId, options) => store.unarchiveList(actorId, event.list.id, options);
    case "list_unarchived":
      return (store, actorId, options) => store.archiveList(actorId, event.list.id, options);
    case "conflict_recorded":
      return (store, actorId, options) =>
        store.resolveConflict(actorId, event.conflict.id, options);
    case "conflict_resolved": {
      const { taskId, field, value, baseVersion } = event.conflict;
      return (store, actorId, options) =>
        store.recordConflict(actorId, taskId, { field, value, baseVersion }, options);
    }
    case "board_updated":
      return (store, actorId, options) =>
        store.renameBoard(actorId, event.boardId, event.before.title, options);
    default:
      throw new DomainError(
        "not_revertible",
        `A ${event.type} event cannot be reverted: ${NOT_REVERTIBLE[event.type]}`,
      );
  }
}
