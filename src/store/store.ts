/**
 * The store contract: every read and every mutation of boards, lists, tasks, members, accounts
 * and the durable event log, and what any implementation (SQLite in sqlite/, PostgreSQL in
 * postgres/) must guarantee. Methods return Promises. The rules both apply are in rules.ts, the
 * events they write in events.ts; an implementation holds only its SQL.
 *
 * Guarantees every implementation gives:
 * - **One event per mutation, atomically.** A mutation's rows and its one event row commit
 *   together or not at all (several mutations may share a transaction, each succeeding or failing
 *   alone). A refused mutation writes nothing and leaves no hole in the seqs.
 * - **Commit order is seq order, and seqs are dense.** Event N+1 never becomes visible before
 *   event N: whoever reads seq N+1 can rely on N being readable too. Seqs never go back, even
 *   when the newest events are pruned.
 * - **The commit listener** gets each committed event right after its COMMIT, in seq order, on
 *   this instance, before the mutation's promise resolves; nothing is published or answered
 *   before it is durable and visible to readers.
 * - **`cursor()`** is the highest committed seq, with nothing uncommitted below it.
 * - **`snapshot()`** is one consistent read: the board, lists, tasks, members and `cursor` are of
 *   the same moment, so replaying events after `cursor` on it gives the current board.
 * - **`eventsAfter()`** reads the prune horizon in the same consistent read as its page.
 * - **Authorization inside the transaction.** Every board mutation re-reads the actor's role in
 *   its own transaction: a member removed concurrently cannot write once more.
 * - **Errors** are `DomainError`s with a code (errors.ts), the same on every store:
 *   `not_found` (the board, list, task or member is missing, or the actor is not a member — a
 *   non-member learns nothing), `forbidden` (a member doing an owner's change),
 *   `version_conflict` (with the current `task`), `invalid_assignee`, `invalid_list`,
 *   `already_member`, `owner_cannot_leave`, `email_taken`, `restore_conflict`, `limit_reached`;
 *   `store_unavailable` when the database
 *   cannot be reached or written (disk full, read-only, I/O error) or a lock or statement timed
 *   out (retry later). Anything else is a bug.
 */

import type { BoardEvent } from "./events.ts";

export type Role = "owner" | "member";

export interface User {
  id: string;
  email: string;
  name: string;
  isAdmin: boolean;
  createdAt: string;
}

export interface Board {
  id: string;
  title: string;
  ownerId: string;
  createdAt: string;
  updatedAt: string;
}

export interface BoardSummary extends Board {
  role: Role;
  /** The newest event the user marked seen on this board (0: never). */
  seenCursor: number;
  /**
   * Events by other people after `seenCursor` (and after the user joined), counted up to
   * `UNREAD_COUNT_MAX`.
   */
  unread: number;
}

/** Unread counts stop here: the client shows "999+". */
export const UNREAD_COUNT_MAX = 999;

export interface List {
  id: string;
  boardId: string;
  title: string;
  position: number;
  createdAt: string;
  updatedAt: string;
}

export interface Task {
  id: string;
  boardId: string;
  listId: string;
  title: string;
  description: string;
  assigneeId: string | null;
  position: number;
  version: number;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Member {
  boardId: string;
  userId: string;
  name: string;
  email: string;
  role: Role;
  addedAt: string;
}

/**
 * A value that lost a concurrent edit of a card (its author edited from `baseVersion`, someone
 * else changed the field first), kept whole on the card until someone resolves it: nothing a
 * user typed is lost.
 */
export interface Conflict {
  id: string;
  boardId: string;
  taskId: string;
  field: ConflictField;
  value: string;
  authorId: string | null;
  baseVersion: number;
  createdAt: string;
}

export type ConflictField = "title" | "description";

/** How many open conflicts one card may hold (409 `limit_reached` past it). */
export const CONFLICTS_PER_CARD = 20;

/** A board as one consistent read: with `cursor`, the seq of the newest event it includes. */
export interface Snapshot {
  board: Board;
  lists: List[];
  tasks: Task[];
  members: Member[];
  /** The board's open conflicts, oldest first. */
  conflicts: Conflict[];
  cursor: number;
}

export type { BoardEvent } from "./events.ts";

/** A page of the event log, read in one consistent step with the prune horizon. */
export interface EventPage {
  /** Events with seq > the cursor asked for, oldest first. */
  events: BoardEvent[];
  /**
   * Every event of the boards read with seq <= this may have been pruned, as of the same read
   * as `events`: when the cursor asked for is below it, the page may have a hole and the reader
   * must resync. Per board (the highest of the boards read), so one board's pruning never makes
   * another board's readers resync; of every board when all boards are read.
   */
  prunedThrough: number;
}

/** What every mutation returns: its result and the event it committed with it. */
export interface Mutation<T> {
  value: T;
  event: BoardEvent;
}

/** A client's name for one mutation, so that a retry of it is not done twice. */
export interface IdempotencyKey {
  key: string;
  /** What the request asked (action, target, input), hashed: a key names one request only. */
  fingerprint: string;
}

export interface MutationOptions {
  /** The seq of the event this mutation reverts: its event carries it as `revertOf`. */
  revertOf?: number;
  /**
   * Recorded with the mutation, in its transaction, with the mutation's value as JSON — or, for
   * a revert (`revertOf` set), a `RevertRecord` naming the event it made (a revert answers its
   * event, and the same event may be reverted again under another key). If the actor already
   * recorded this key (a retry raced the original), the mutation writes nothing and rejects
   * with `IdempotencyReplay`; `idempotentResult` then reads what was recorded.
   */
  idempotency?: IdempotencyKey;
}

/** What a keyed revert records: the seq of the event it made. */
export interface RevertRecord {
  revertSeq: number;
}

/** How long a mutation's idempotency key is remembered: a client retries within this. */
export const IDEMPOTENCY_KEEP_MS = 24 * 3600_000;

/** What a keyed mutation recorded. */
export interface IdempotentResult {
  fingerprint: string;
  /** The mutation's value, as it was answered. */
  result: unknown;
}

export interface NewTask {
  listId: string;
  title: string;
  description?: string;
  assigneeId?: string | null;
  position?: number;
}

export interface TaskChanges {
  title?: string;
  description?: string;
  assigneeId?: string | null;
  /** When given, the update is refused (`version_conflict`) unless it is the stored version. */
  version?: number;
}

export interface TaskMove {
  listId: string;
  position: number;
  version?: number;
}

export interface ListChanges {
  title?: string;
  position?: number;
}

/**
 * Writes fail because of the database itself — a full disk, a read-only database or file
 * system, an I/O error, a lock held too long — as of the last write this instance tried.
 */
export interface WriteFailure {
  /** What the database said, as the 503 `store_unavailable` that answered the write said it. */
  reason: string;
  /** When writes began failing (ISO 8601): the first of the failures since the last success. */
  since: string;
}

/**
 * How much one board and one user may hold. Checked inside the creating mutation's transaction
 * (under the board's lock on PostgreSQL, the user's for boards), so concurrent creates cannot
 * pass them; a create past one rejects with `limit_reached`.
 */
export interface StoreLimits {
  /** Cards on one board: a 5,000-card board is a 1.9 MB snapshot (124 kB gzip). */
  cardsPerBoard: number;
  listsPerBoard: number;
  /** Boards a user owns. */
  boardsPerUser: number;
}

export const DEFAULT_LIMITS: StoreLimits = {
  cardsPerBoard: 5000,
  listsPerBoard: 100,
  boardsPerUser: 100,
};

/** A deleted card or list, restorable until it is `TRASH_KEEP_MS` old. */
export type TrashItem =
  & { id: string; boardId: string; title: string; deletedBy: string | null; deletedAt: string }
  & ({ kind: "task"; listId: string; task: Task } | { kind: "list"; list: List; tasks: Task[] });

/** Which page of the trash or the archive to read, newest first. */
export interface ShelfQuery {
  limit: number;
  /** Only rows older than this: the `next` of an earlier page. */
  before?: number;
  /** Only rows deleted (or archived) at or after this time. */
  since?: string;
  /** Only items it accepts (a search): pages still hold `limit` of them when enough exist. */
  filter?: (item: TrashItem) => boolean;
}

/** A page of the trash or the archive: `next` is the `before` of the next (older) page. */
export interface ShelfPage {
  items: TrashItem[];
  next: number | null;
}

/** How long the trash keeps a deleted card or list: 30 days. */
export const TRASH_KEEP_MS = 30 * 24 * 3600_000;

/** Which of a board's events `history` reads. */
export interface HistoryQuery {
  /** Only events with seq < before (newest first from there). */
  before?: number;
  /** Only events with seq > after. */
  after?: number;
  limit: number;
  /** Only events about this card or list. */
  subjectId?: string;
  /** Only events made by this user. */
  actorId?: string;
  /** Only events made by reverting event `revertOf`. */
  revertOf?: number;
}

/**
 * Which events `prune` lets go: those beyond the log's newest `maxCount` or older than
 * `maxAgeMs` — except each board's newest `keepPerBoard` (default 0) while the board exists, so a
 * quiet board keeps its recent history however busy the others are.
 */
export interface RetentionPolicy {
  maxCount: number;
  maxAgeMs: number;
  keepPerBoard?: number;
}

export interface Store {
  /**
   * Registers the function that receives each event right after its transaction commits, in
   * commit (= seq) order. Wiring points this at the bus (or the relay); transports rely on the
   * order. Only events committed by this instance reach it.
   */
  onCommit(listener: (event: BoardEvent) => void): void;

  /** Resolves when the database answers; rejects with `store_unavailable` when it does not. */
  ping(): Promise<void>;

  /**
   * Why writes fail, as of the last write this instance tried: set when one failed with
   * `store_unavailable` because of the database (disk full, read-only, I/O error, lock or
   * statement timeout, connection lost), null again once one commits. Reads may work meanwhile;
   * `/healthz` reports it. Answers at once, without asking the database.
   */
  writeFailure(): WriteFailure | null;

  /**
   * Writes the seed's rows once per database, in one transaction, under a lock so that several
   * instances starting together seed once; writes no events. `build` (which may be slow: it
   * hashes passwords) runs only when the database has not been seeded. True when it seeded.
   */
  seed(build: () => Promise<SeedData>): Promise<boolean>;

  // Accounts and sessions. Emails are compared whatever their letter case.
  /** Creates an account; `email_taken` when the email (in any case) has one. */
  createUser(input: { email: string; name: string; passwordHash: string }): Promise<User>;
  /** The account with its password hash, and whether an operator deactivated it. */
  findUserByEmail(
    email: string,
  ): Promise<{ user: User; passwordHash: string | null; deactivated: boolean } | null>;
  getUser(id: string): Promise<User | null>;
  createSession(tokenHash: string, userId: string, expiresAt: Date): Promise<void>;
  /** The user of an unexpired session, or null. */
  findSessionUser(tokenHash: string): Promise<User | null>;
  deleteSession(tokenHash: string): Promise<void>;
  /** Which of these sessions exist and have not expired. */
  existingSessions(tokenHashes: string[]): Promise<Set<string>>;
  /** Operators: sets an account's password hash; false when there is no such account. */
  setPassword(userId: string, passwordHash: string): Promise<boolean>;
  /** Operators: (de)activates an account; false when there is no such account. */
  setDeactivated(userId: string, deactivated: boolean): Promise<boolean>;
  /** Deletes every session of the account; returns their token hashes (to end their streams). */
  deleteUserSessions(userId: string): Promise<string[]>;
  /** Deletes the sessions that have expired; returns their token hashes. */
  deleteExpiredSessions(): Promise<string[]>;

  // Boards and membership.
  boardsForUser(userId: string): Promise<BoardSummary[]>;
  /** The user's role on the board, or null when not a member or the board does not exist. */
  memberRole(boardId: string, userId: string): Promise<Role | null>;
  snapshot(boardId: string): Promise<Snapshot | null>;
  createBoard(
    actorId: string,
    title: string,
    options?: MutationOptions,
  ): Promise<Mutation<Snapshot>>;
  renameBoard(
    actorId: string,
    boardId: string,
    title: string,
    options?: MutationOptions,
  ): Promise<Mutation<Board>>;
  deleteBoard(
    actorId: string,
    boardId: string,
    options?: MutationOptions,
  ): Promise<Mutation<{ boardId: string }>>;
  listMembers(boardId: string): Promise<Member[]>;
  addMember(
    actorId: string,
    boardId: string,
    userId: string,
    options?: MutationOptions,
  ): Promise<Mutation<Member>>;
  removeMember(
    actorId: string,
    boardId: string,
    userId: string,
    options?: MutationOptions,
  ): Promise<Mutation<Member>>;

  // Lists.
  createList(
    actorId: string,
    boardId: string,
    title: string,
    position?: number,
    options?: MutationOptions,
  ): Promise<Mutation<List>>;
  updateList(
    actorId: string,
    listId: string,
    changes: ListChanges,
    options?: MutationOptions,
  ): Promise<Mutation<List>>;
  deleteList(actorId: string, listId: string, options?: MutationOptions): Promise<Mutation<List>>;

  // Tasks.
  getTask(taskId: string): Promise<Task | null>;
  /** The task with the user's role on its board, in one read; null when either is missing. */
  taskForMember(taskId: string, userId: string): Promise<{ task: Task; role: Role } | null>;
  tasksForBoard(boardId: string): Promise<Task[]>;
  /** Tasks of the board whose updatedAt is strictly after `since`. */
  tasksUpdatedSince(boardId: string, since: Date): Promise<Task[]>;
  createTask(actorId: string, input: NewTask, options?: MutationOptions): Promise<Mutation<Task>>;
  updateTask(
    actorId: string,
    taskId: string,
    changes: TaskChanges,
    options?: MutationOptions,
  ): Promise<Mutation<Task>>;
  moveTask(
    actorId: string,
    taskId: string,
    move: TaskMove,
    options?: MutationOptions,
  ): Promise<Mutation<Task>>;
  /** Deletes the card into the trash; with `version`, only that version (`version_conflict`). */
  deleteTask(
    actorId: string,
    taskId: string,
    options?: MutationOptions,
    version?: number,
  ): Promise<Mutation<Task>>;

  /**
   * The oldest cursor from which `userId` may replay `boardId`'s events: just before the event
   * that made them a member (0 when the log never saw them added — the board's creator, seeded
   * members). Older events may show what was deleted before they joined; a client behind this
   * floor gets `resync` (a snapshot) instead. 0 when they are not a member.
   */
  replayFloor(boardId: string, userId: string): Promise<number>;

  /**
   * Brings a deleted card back from the trash with its id, content and old position (clamped),
   * at version + 1 (its assignee cleared when no longer a member): one `task_restored` event.
   * `not_found` when it is not in the trash; `restore_conflict` when its list is gone;
   * `limit_reached` at the card limit. With `version` (a revert), only the card kept at that
   * version (`version_conflict` when the trash holds a later deletion of it). The same
   * `version` rule holds for archiveTask (the card on the board) and unarchiveTask.
   */
  restoreTask(
    actorId: string,
    taskId: string,
    options?: MutationOptions,
    version?: number,
  ): Promise<Mutation<Task>>;
  /** Brings a deleted list back with its cards: one `list_restored` event (errors as above). */
  restoreList(
    actorId: string,
    listId: string,
    options?: MutationOptions,
  ): Promise<Mutation<{ list: List; tasks: Task[] }>>;
  /** A page of the board's trash, newest deletion first. */
  trash(boardId: string, query: ShelfQuery): Promise<ShelfPage>;

  /**
   * Archives a card: off the board, kept (never pruned) until unarchived — the same row a
   * delete writes to the trash, marked archived. One `task_archived` event.
   */
  archiveTask(
    actorId: string,
    taskId: string,
    options?: MutationOptions,
    version?: number,
  ): Promise<Mutation<Task>>;
  /** Archives a list with its cards: one `list_archived` event. */
  archiveList(actorId: string, listId: string, options?: MutationOptions): Promise<Mutation<List>>;
  /** Brings an archived card back as restoreTask does: one `task_unarchived` event. */
  unarchiveTask(
    actorId: string,
    taskId: string,
    options?: MutationOptions,
    version?: number,
  ): Promise<Mutation<Task>>;
  /** Brings an archived list back with its cards: one `list_unarchived` event. */
  unarchiveList(
    actorId: string,
    listId: string,
    options?: MutationOptions,
  ): Promise<Mutation<{ list: List; tasks: Task[] }>>;
  /** A page of the board's archived cards and lists, newest first. */
  archive(boardId: string, query: ShelfQuery): Promise<ShelfPage>;

  /**
   * Keeps a value of `actorId`'s that lost a concurrent edit on its card: one
   * `conflict_recorded` event. `limit_reached` past `CONFLICTS_PER_CARD`.
   */
  recordConflict(
    actorId: string,
    taskId: string,
    input: { field: ConflictField; value: string; baseVersion: number },
    options?: MutationOptions,
  ): Promise<Mutation<Conflict>>;
  /** Resolves (removes) a conflict, by any member: one `conflict_resolved` event. */
  resolveConflict(
    actorId: string,
    conflictId: string,
    options?: MutationOptions,
  ): Promise<Mutation<Conflict>>;

  /**
   * The board's events newest first, as the query narrows them, with seq > `floor` (the
   * reader's replay floor). At most `query.limit`.
   */
  history(boardId: string, query: HistoryQuery, floor: number): Promise<BoardEvent[]>;
  /** The event `seq` of board `boardId`, or null (none, another board's, or pruned). */
  eventOf(boardId: string, seq: number): Promise<BoardEvent | null>;
  /**
   * Records that `userId` has seen `boardId`'s events through `cursor`; it only moves forward.
   * Resolves to the cursor kept.
   */
  markSeen(boardId: string, userId: string, cursor: number): Promise<number>;

  /** What `userId` recorded under idempotency `key` (kept for a day), or null. */
  idempotentResult(userId: string, key: string): Promise<IdempotentResult | null>;

  // The event log.
  /** The highest committed seq (0 when none was ever written), nothing uncommitted below it. */
  cursor(): Promise<number>;
  /**
   * Events of these boards (null: of every board) with seq > after, oldest first, at most
   * `limit`, with the prune horizon of the same read.
   */
  eventsAfter(boardIds: readonly string[] | null, after: number, limit: number): Promise<EventPage>;
  /**
   * Every event of these boards (null or omitted: of any board) with seq <= this value may have
   * been pruned: older cursors must resync. The same horizon `eventsAfter` answers.
   */
  prunedThrough(boardIds?: readonly string[] | null): Promise<number>;
  /**
   * Deletes events outside the retention window and moves the prune horizons with them (each
   * pruned board's, and the log's), in one transaction (on a shared database, one instance prunes
   * at a time); returns how many went.
   * Also forgets idempotency keys older than a day and trash older than `TRASH_KEEP_MS`.
   */
  prune(policy: RetentionPolicy): Promise<number>;

  close(): Promise<void>;
}

/** Rows written as they are (ids and times included) by `Store.seed`: the demo data. */
export interface SeedData {
  users: { id: string; email: string; name: string; passwordHash: string | null }[];
  boards: { id: string; title: string; ownerId: string }[];
  members: { boardId: string; userId: string; role: Role }[];
  lists: { id: string; boardId: string; title: string; position: number }[];
  /** `rank` orders a list's tasks (0, 1, … gives positions 0, 1, …). */
  tasks: {
    id: string;
    boardId: string;
    listId: string;
    title: string;
    description: string;
    assigneeId: string | null;
    rank: number;
    createdBy: string;
  }[];
  /** The time written on every seeded row. */
  at: string;
}
