/**
 * The board rules every store applies, as pure functions: who may change what, version and
 * assignee checks, same-board moves, the owner who cannot leave, position clamping, task rank
 * arithmetic and a new board's lists. The stores keep only their SQL and call these, so SQLite
 * and PostgreSQL refuse the same things with the same error codes.
 */
import { DomainError, notFound } from "../errors.ts";
import type { List, Member, Role, Task } from "./store.ts";

/** The lists a new board starts with, in order. */
export const DEFAULT_LISTS = ["To do", "In progress", "Done"] as const;

/** What an actor needs on a board for a mutation. */
export type Need = "member" | "owner";

/**
 * Checks the actor's role on the board, read inside the mutation's transaction: a non-member
 * learns nothing (the same not_found as for a missing `what`), a member who needs to be the
 * owner gets forbidden.
 */
export function requireRole(
  role: Role | null,
  need: Need,
  what: string,
  id: string,
  boardId: string,
): void {
  if (!role) throw notFound(what, id);
  if (need === "owner" && role !== "owner") {
    throw new DomainError("forbidden", `Only the owner of board "${boardId}" can do that`);
  }
}

/** An update that names a version applies only to that version of the task. */
export function checkVersion(task: Task, version: number | undefined): void {
  if (version !== undefined && version !== task.version) {
    throw new DomainError(
      "version_conflict",
      `Task "${task.id}" is at version ${task.version}, not ${version}`,
      { task },
    );
  }
}

/** A task may only be assigned to a member of its board. */
export function checkAssignee(assigneeId: string | null | undefined, isMember: boolean): void {
  if (assigneeId && !isMember) {
    throw new DomainError(
      "invalid_assignee",
      `Cannot assign to "${assigneeId}": not a member of this board`,
    );
  }
}

/** A task moves only to a list of its own board. */
export function checkSameBoard(task: Task, target: List | null, listId: string): List {
  if (!target || target.boardId !== task.boardId) {
    throw new DomainError(
      "invalid_list",
      `Cannot move task "${task.id}": list "${listId}" is not on its board`,
    );
  }
  return target;
}

/** The owner stays: removing them would leave a board nobody can manage. */
export function checkRemovable(member: Member | null, userId: string): Member {
  if (!member) throw notFound("Member", userId);
  if (member.role === "owner") {
    throw new DomainError("owner_cannot_leave", "The board's owner cannot be removed");
  }
  return member;
}

/** An email is taken whatever its letter case. */
export function emailTaken(email: string): DomainError {
  return new DomainError("email_taken", `An account for "${email}" already exists`);
}

/** A member added twice. */
export function alreadyMember(userId: string): DomainError {
  return new DomainError("already_member", `User "${userId}" is already a member of this board`);
}

export const clamp = (n: number, lo: number, hi: number): number => Math.min(Math.max(n, lo), hi);

/** A requested position among `count` places (0..count), the end when omitted. */
export const placeAt = (position: number | undefined, count: number): number =>
  clamp(position ?? count, 0, count);

/**
 * Task ranks. Tasks of a list are ordered by (rank, id); a new or moved task gets a rank between
 * its neighbours. Each function answers null when no double lies strictly in between (about 50
 * inserts at the same spot in a row): the store then renumbers the list 0..n-1 and asks again.
 */
export const ranks = {
  /** Below the first task. */
  before: (first: number): number | null => first - 1 < first ? first - 1 : null,
  /** Above the last task. */
  after: (last: number): number | null => last + 1 > last ? last + 1 : null,
  /** Strictly between two neighbours. Not (a + b) / 2, which can overflow. */
  between: (before: number, after: number): number | null => {
    const rank = before + (after - before) / 2;
    return before < rank && rank < after ? rank : null;
  },
};

const LIMIT_NAMES = {
  cardsPerBoard: "cards on a board",
  listsPerBoard: "lists on a board",
  boardsPerUser: "boards owned by one user",
  conflictsPerCard: "open conflicts on one card",
} as const;

/** Refuses one more of something that already has `count` of at most `max` (`limit_reached`). */
export function checkLimit(limit: keyof typeof LIMIT_NAMES, count: number, max: number): void {
  if (count < max) return;
  throw new DomainError(
    "limit_reached",
    `At most ${max} ${LIMIT_NAMES[limit]} are allowed; this would be one more`,
    { limit, max },
  );
}

/** A card cannot come back from the trash into a list that is gone. */
export function listGone(task: Task): DomainError {
  return new DomainError(
    "restore_conflict",
    `The list of card "${task.title}" was deleted: restore the list first`,
    { listId: task.listId },
  );
}
