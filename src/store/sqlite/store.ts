/**
 * The SQLite store: `Store` on top of `SqliteDatabase` (connection, statements, group commit),
 * `rows.ts` (row mappers, ids), `positions.ts` (dense list positions),
 * `task_ranks.ts` (task order, and the dense task positions read from it) and
 * `event_log.ts` (the event log). Every mutation and its event row commit together, each
 * in its own savepoint of a shared transaction; this file holds the reads and the writes of each
 * mutation, with the checks that refuse bad ones (`AppError`).
 */
import { IdempotencyReplay, notFound } from "../../errors.ts";
import { boardEvents, type NewEvent } from "../events.ts";
import {
  alreadyMember,
  checkAssignee,
  checkLimit,
  checkRemovable,
  checkSameBoard,
  checkVersion,
  DEFAULT_LISTS,
  emailTaken,
  listGone,
  type Need,
  requireRole,
} from "../rules.ts";
import { SqliteDatabase } from "./db.ts";
import {
  appendEvent,
  currentSeq,
  eventsAfter,
  history,
  horizonOf,
  pruneEvents,
} from "./event_log.ts";
import { closeListSlot, moveList, openListSlot } from "./positions.ts";
import { placeTask, TASK_WITH_POSITION, TASKS_WITH_POSITIONS } from "./task_ranks.ts";
import { newId, now } from "../ids.ts";
import {
  toBoard,
  toConflict,
  toEvent,
  toList,
  toMember,
  toTask,
  toTrashItem,
  toUser,
} from "./rows.ts";
import type { BoardEvent } from "../events.ts";
import { pageShelf, type ShelfReader } from "../shelf.ts";
import type {
  Board,
  BoardSummary,
  Conflict,
  ConflictField,
  EventPage,
  HistoryQuery,
  IdempotentResult,
  List,
  ListChanges,
  Member,
  Mutation,
  MutationOptions,
  NewTask,
  RetentionPolicy,
  Role,
  SeedData,
  ShelfPage,
  ShelfQuery,
  Snapshot,
  Store,
  StoreLimits,
  Task,
  TaskChanges,
  TaskMove,
  User,
  WriteFailure,
} from "../store.ts";
import {
  CONFLICTS_PER_CARD,
  DEFAULT_LIMITS,
  IDEMPOTENCY_KEEP_MS,
  TRASH_KEEP_MS,
  UNREAD_COUNT_MAX,
} from "../store.ts";

/** What a mutation's body returns: its result and the event to append with it. */
interface MutationOutcome<T> {
  value: T;
  event: NewEvent;
}

/** `Store` backed by one SQLite file (or `:memory:`). */
export class SqliteStore implements Store {
  #db: SqliteDatabase;

  constructor(path: string, readonly limits: StoreLimits = DEFAULT_LIMITS) {
    this.#db = new SqliteDatabase(path);
  }

  onCommit(listener: (event: BoardEvent) => void): void {
    this.#db.onCommit(listener);
  }

  /**
   * Queues a mutation for the next group commit. `fn` runs inside the transaction: it reads what
   * it needs (the actor's role included), writes, and names its event.
   */
  #mutate<T>(
    actorId: string,
    options: MutationOptions | undefined,
    fn: () => MutationOutcome<T>,
  ): Promise<Mutation<T>> {
    return this.#db.enqueue(() => {
      const { value, event } = fn();
      const revertOf = options?.revertOf;
      const appended = appendEvent(this.#db, actorId, revertOf ? { ...event, revertOf } : event);
      this.#recordKey(actorId, options, revertOf ? { revertSeq: appended.id } : value);
      return { value, event: appended };
    });
  }

  /**
   * Records a keyed mutation's value in its savepoint; when the key is already recorded (a
   * retry raced the original), `IdempotencyReplay` undoes the mutation (Store contract).
   */
  #recordKey(actorId: string, options: MutationOptions | undefined, value: unknown): void {
    const idempotency = options?.idempotency;
    if (!idempotency) return;
    const recorded = this.#db.run(
      `INSERT INTO idempotency_keys (user_id, key, fingerprint, result, created_at)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      actorId,
      idempotency.key,
      idempotency.fingerprint,
      JSON.stringify(value),
      now(),
    );
    if (Number(recorded.changes) === 0) {
      throw new IdempotencyReplay(idempotency.key);
    }
  }

  replayFloor(boardId: string, userId: string): Promise<number> {
    const row = this.#db.get(
      `SELECT m.added_after AS after, (
         SELECT min(seq) FROM events WHERE board_id = m.board_id AND seq > m.added_after
           AND type = 'member_added' AND json_extract(payload, '$.member.userId') = m.user_id
       ) AS added FROM board_members AS m WHERE m.board_id = ? AND m.user_id = ?`,
      boardId,
      userId,
    );
    if (!row) return Promise.resolve(0);
    return Promise.resolve(row.added === null ? Number(row.after) : Number(row.added) - 1);
  }

  idempotentResult(userId: string, key: string): Promise<IdempotentResult | null> {
    const row = this.#db.get(
      "SELECT fingerprint, result FROM idempotency_keys WHERE user_id = ? AND key = ?",
      userId,
      key,
    );
    return Promise.resolve(
      row ? { fingerprint: String(row.fingerprint), result: JSON.parse(String(row.result)) } : null,
    );
  }

  /** The actor's role on a board, checked inside the mutation's transaction (rules.ts). */
  #requireRole(boardId: string, actorId: string, need: Need, what: string, id: string): void {
    requireRole(this.#role(boardId, actorId), need, what, id, boardId);
  }

  #role(boardId: string, userId: string): Role | null {
    const row = this.#db.get(
      "SELECT role FROM board_members WHERE board_id = ? AND user_id = ?",
      boardId,
      userId,
    );
    return row ? row.role as Role : null;
  }

  ping(): Promise<void> {
    // A rejection, not a throw: callers chain `.then` on it (metrics).
    return Promise.resolve().then(() => {
      this.#db.get("SELECT 1");
    });
  }

  writeFailure(): WriteFailure | null {
    return this.#db.writeFailure();
  }

  // ---- accounts -------------------------------------------------------------------------

  createUser(input: { email: string; name: string; passwordHash: string }): Promise<User> {
    return Promise.resolve().then(() => {
      if (this.#db.get("SELECT 1 FROM users WHERE email = ?", input.email)) {
        throw emailTaken(input.email);
      }
      const id = newId("user");
      this.#db.run(
        "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        id,
        input.email,
        input.name,
        input.passwordHash,
        now(),
      );
      return toUser(this.#db.get("SELECT * FROM users WHERE id = ?", id)!);
    });
  }

  findUserByEmail(email: string) {
    const row = this.#db.get("SELECT * FROM users WHERE email = ?", email);
    return Promise.resolve(
      row
        ? {
          user: toUser(row),
          passwordHash: (row.password_hash as string | null) ?? null,
          deactivated: row.deactivated_at !== null,
        }
        : null,
    );
  }

  setPassword(userId: string, passwordHash: string): Promise<boolean> {
    const result = this.#db.run(
      "UPDATE users SET password_hash = ? WHERE id = ?",
      passwordHash,
      userId,
    );
    return Promise.resolve(Number(result.changes) > 0);
  }

  setDeactivated(userId: string, deactivated: boolean): Promise<boolean> {
    const result = this.#db.run(
      "UPDATE users SET deactivated_at = ? WHERE id = ?",
      deactivated ? now() : null,
      userId,
    );
    return Promise.resolve(Number(result.changes) > 0);
  }

  deleteUserSessions(userId: string): Promise<string[]> {
    const rows = this.#db.all(
      "DELETE FROM sessions WHERE user_id = ? RETURNING token_hash",
      userId,
    );
    return Promise.resolve(rows.map((row) => String(row.token_hash)));
  }

  getUser(id: string) {
    const row = this.#db.get("SELECT * FROM users WHERE id = ?", id);
    return Promise.resolve(row ? toUser(row) : null);
  }

  createSession(tokenHash: string, userId: string, expiresAt: Date) {
    this.#db.run(
      "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
      tokenHash,
      userId,
      now(),
      expiresAt.toISOString(),
    );
    return Promise.resolve();
  }

  findSessionUser(tokenHash: string) {
    const row = this.#db.get(
      `SELECT users.id, users.email, users.name, users.is_admin, users.created_at
       FROM sessions JOIN users ON users.id = sessions.user_id
       WHERE sessions.token_hash = ? AND sessions.expires_at > ?`,
      tokenHash,
      now(),
    );
    return Promise.resolve(row ? toUser(row) : null);
  }

  deleteSession(tokenHash: string) {
    this.#db.run("DELETE FROM sessions WHERE token_hash = ?", tokenHash);
    return Promise.resolve();
  }

  existingSessions(tokenHashes: string[]): Promise<Set<string>> {
    const live = new Set<string>();
    for (const hash of tokenHashes) {
      const row = this.#db.get(
        "SELECT 1 FROM sessions WHERE token_hash = ? AND expires_at > ?",
        hash,
        now(),
      );
      if (row) live.add(hash);
    }
    return Promise.resolve(live);
  }

  deleteExpiredSessions() {
    const rows = this.#db.all(
      "DELETE FROM sessions WHERE expires_at <= ? RETURNING token_hash",
      now(),
    );
    return Promise.resolve(rows.map((row) => row.token_hash as string));
  }

  // ---- boards and members ---------------------------------------------------------------

  boardsForUser(userId: string): Promise<BoardSummary[]> {
    const rows = this.#db.all(
      `SELECT boards.*, m.role, coalesce(seen.cursor, 0) AS seen_cursor, (
         SELECT count(*) FROM (SELECT 1 FROM events WHERE events.board_id = boards.id
           AND events.seq > max(coalesce(seen.cursor, 0), m.added_after)
           AND events.actor_id IS NOT m.user_id LIMIT ?)
       ) AS unread
       FROM boards JOIN board_members AS m ON m.board_id = boards.id
       LEFT JOIN board_seen AS seen ON seen.board_id = boards.id AND seen.user_id = m.user_id
       WHERE m.user_id = ? ORDER BY boards.created_at, boards.id`,
      UNREAD_COUNT_MAX,
      userId,
    );
    return Promise.resolve(rows.map((r) => ({
      ...toBoard(r),
      role: r.role as Role,
      seenCursor: Number(r.seen_cursor),
      unread: Number(r.unread),
    })));
  }

  memberRole(boardId: string, userId: string): Promise<Role | null> {
    return Promise.resolve(this.#role(boardId, userId));
  }

  #snapshot(boardId: string): Snapshot | null {
    const board = this.#db.get("SELECT * FROM boards WHERE id = ?", boardId);
    if (!board) return null;
    return {
      board: toBoard(board),
      lists: this.#db.all("SELECT * FROM lists WHERE board_id = ? ORDER BY position", boardId)
        .map(toList),
      tasks: this.#tasksForBoard(boardId),
      members: this.#members(boardId),
      conflicts: this.#db.all(
        "SELECT * FROM task_conflicts WHERE board_id = ? ORDER BY created_at, id",
        boardId,
      ).map(toConflict),
      cursor: currentSeq(this.#db),
    };
  }

  snapshot(boardId: string) {
    return Promise.resolve(this.#snapshot(boardId));
  }

  createBoard(
    actorId: string,
    title: string,
    options?: MutationOptions,
  ): Promise<Mutation<Snapshot>> {
    const boardId = newId("board");
    return this.#db.enqueue(() => {
      const owned = this.#db.get("SELECT count(*) AS n FROM boards WHERE owner_id = ?", actorId)!;
      checkLimit("boardsPerUser", owned.n as number, this.limits.boardsPerUser);
      const at = now();
      this.#db.run(
        "INSERT INTO boards (id, title, owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        boardId,
        title,
        actorId,
        at,
        at,
      );
      this.#db.run(
        "INSERT INTO board_members (board_id, user_id, role, added_at) VALUES (?, ?, 'owner', ?)",
        boardId,
        actorId,
        at,
      );
      DEFAULT_LISTS.forEach((listTitle, position) => {
        this.#db.run(
          "INSERT INTO lists (id, board_id, title, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
          newId("list"),
          boardId,
          listTitle,
          position,
          at,
          at,
        );
      });
      const created = this.#snapshot(boardId)!;
      const { board, lists, members } = created;
      const event = appendEvent(this.#db, actorId, boardEvents.boardCreated(board, lists, members));
      const snapshot = { ...created, cursor: event.id };
      this.#recordKey(actorId, options, snapshot);
      return { value: snapshot, event };
    });
  }

  renameBoard(
    actorId: string,
    boardId: string,
    title: string,
    options?: MutationOptions,
  ): Promise<Mutation<Board>> {
    return this.#mutate(actorId, options, () => {
      this.#requireRole(boardId, actorId, "owner", "Board", boardId);
      const before = toBoard(this.#db.get("SELECT * FROM boards WHERE id = ?", boardId)!);
      const board = toBoard(
        this.#db.get(
          "UPDATE boards SET title = ?, updated_at = ? WHERE id = ? RETURNING *",
          title,
          now(),
          boardId,
        )!,
      );
      return { value: board, event: boardEvents.boardUpdated(board, before) };
    });
  }

  deleteBoard(
    actorId: string,
    boardId: string,
    options?: MutationOptions,
  ): Promise<Mutation<{ boardId: string }>> {
    return this.#mutate(actorId, options, () => {
      this.#requireRole(boardId, actorId, "owner", "Board", boardId);
      this.#db.run("DELETE FROM boards WHERE id = ?", boardId);
      return { value: { boardId }, event: boardEvents.boardDeleted(boardId) };
    });
  }

  #members(boardId: string): Member[] {
    return this.#db.all(
      `SELECT board_members.*, users.name, users.email FROM board_members
       JOIN users ON users.id = board_members.user_id
       WHERE board_members.board_id = ? ORDER BY board_members.added_at, users.name`,
      boardId,
    ).map(toMember);
  }

  listMembers(boardId: string) {
    return Promise.resolve(this.#members(boardId));
  }

  #member(boardId: string, userId: string): Member | null {
    const row = this.#db.get(
      `SELECT board_members.*, users.name, users.email FROM board_members
       JOIN users ON users.id = board_members.user_id
       WHERE board_members.board_id = ? AND board_members.user_id = ?`,
      boardId,
      userId,
    );
    return row ? toMember(row) : null;
  }

  addMember(
    actorId: string,
    boardId: string,
    userId: string,
    options?: MutationOptions,
  ): Promise<Mutation<Member>> {
    return this.#mutate(actorId, options, () => {
      this.#requireRole(boardId, actorId, "owner", "Board", boardId);
      if (this.#member(boardId, userId)) throw alreadyMember(userId);
      this.#db.run(
        `INSERT INTO board_members (board_id, user_id, role, added_at, added_after)
         VALUES (?, ?, 'member', ?, ?)`,
        boardId,
        userId,
        now(),
        currentSeq(this.#db),
      );
      const member = this.#member(boardId, userId)!;
      return { value: member, event: boardEvents.memberAdded(member) };
    });
  }

  removeMember(
    actorId: string,
    boardId: string,
    userId: string,
    options?: MutationOptions,
  ): Promise<Mutation<Member>> {
    return this.#mutate(actorId, options, () => {
      // Members may remove themselves (leave); only the owner removes others.
      const need = userId === actorId ? "member" : "owner";
      this.#requireRole(boardId, actorId, need, "Board", boardId);
      const member = checkRemovable(this.#member(boardId, userId), userId);
      this.#db.run(
        "DELETE FROM board_members WHERE board_id = ? AND user_id = ?",
        boardId,
        userId,
      );
      return { value: member, event: boardEvents.memberRemoved(member) };
    });
  }

  // ---- lists ------------------------------------------------------------------------------

  #list(listId: string): List | null {
    return this.#listWithCount(listId)?.list ?? null;
  }

  /** A list and how many tasks it has (`task_count` stays out of the List itself). */
  #listWithCount(listId: string): { list: List; taskCount: number } | null {
    const row = this.#db.get("SELECT * FROM lists WHERE id = ?", listId);
    return row ? { list: toList(row), taskCount: row.task_count as number } : null;
  }

  createList(
    actorId: string,
    boardId: string,
    title: string,
    position?: number,
    options?: MutationOptions,
  ): Promise<Mutation<List>> {
    return this.#mutate(actorId, options, () => {
      this.#requireRole(boardId, actorId, "member", "Board", boardId);
      const lists = this.#db.get("SELECT count(*) AS n FROM lists WHERE board_id = ?", boardId)!;
      checkLimit("listsPerBoard", lists.n as number, this.limits.listsPerBoard);
      const at = openListSlot(this.#db, boardId, position);
      const stamp = now();
      const list = toList(
        this.#db.get(
          `INSERT INTO lists (id, board_id, title, position, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
          newId("list"),
          boardId,
          title,
          at,
          stamp,
          stamp,
        )!,
      );
      return { value: list, event: boardEvents.listCreated(list) };
    });
  }

  updateList(
    actorId: string,
    listId: string,
    changes: ListChanges,
    options?: MutationOptions,
  ): Promise<Mutation<List>> {
    return this.#mutate(actorId, options, () => {
      const current = this.#list(listId);
      if (!current) throw notFound("List", listId);
      this.#requireRole(current.boardId, actorId, "member", "List", listId);
      if (changes.position !== undefined) {
        const to = moveList(this.#db, current.boardId, current.position, changes.position);
        this.#db.run("UPDATE lists SET position = ? WHERE id = ?", to, listId);
      }
      this.#db.run(
        "UPDATE lists SET title = coalesce(?, title), updated_at = ? WHERE id = ?",
        changes.title ?? null,
        now(),
        listId,
      );
      const list = this.#list(listId)!;
      const event = changes.position !== undefined
        ? boardEvents.listMoved(list, current)
        : boardEvents.listUpdated(list, current);
      return { value: list, event };
    });
  }

  deleteList(actorId: string, listId: string, options?: MutationOptions): Promise<Mutation<List>> {
    return this.#mutate(actorId, options, () => {
      const { list, tasks } = this.#shelveList(actorId, listId, false);
      return { value: list, event: boardEvents.listDeleted(list, tasks) };
    });
  }

  archiveList(actorId: string, listId: string, options?: MutationOptions) {
    return this.#mutate(actorId, options, () => {
      const { list, tasks } = this.#shelveList(actorId, listId, true);
      return { value: list, event: boardEvents.listArchived(list, tasks) };
    });
  }

  /** Takes a list and its cards off the board into the trash (or the archive). */
  #shelveList(actorId: string, listId: string, archived: boolean) {
    const list = this.#list(listId);
    if (!list) throw notFound("List", listId);
    this.#requireRole(list.boardId, actorId, "member", "List", listId);
    const tasks = this.#db.all(
      `SELECT ${TASKS_WITH_POSITIONS} FROM tasks WHERE list_id = ? ORDER BY position`,
      listId,
    ).map(toTask);
    this.#toShelf(
      actorId,
      list.boardId,
      "list",
      list.id,
      null,
      list.title,
      { list, tasks },
      archived,
    );
    this.#db.run("DELETE FROM lists WHERE id = ?", listId);
    closeListSlot(this.#db, list.boardId, list.position);
    return { list, tasks };
  }

  // ---- tasks ------------------------------------------------------------------------------

  #task(taskId: string): Task | null {
    const row = this.#db.get(`SELECT ${TASK_WITH_POSITION} FROM tasks WHERE id = ?`, taskId);
    return row ? toTask(row) : null;
  }

  /**
   * The board's tasks in list then position order. Read list by list along the `tasks_list`
   * index (no sort, no window function; the position is the index in the list) as arrays rather
   * than row objects: a 5,000-card board in about a third of the time of one windowed query.
   */
  #tasksForBoard(boardId: string): Task[] {
    const tasks: Task[] = [];
    const lists = this.#db.arrays(
      "SELECT id FROM lists WHERE board_id = ? ORDER BY position",
      boardId,
    );
    for (const [listId] of lists) {
      const rows = this.#db.arrays(
        `SELECT id, title, description, assignee_id, version, created_by, created_at, updated_at
         FROM tasks WHERE list_id = ? ORDER BY rank, id`,
        listId,
      );
      for (let position = 0; position < rows.length; position++) {
        const [id, title, description, assigneeId, version, createdBy, createdAt, updatedAt] =
          rows[position];
        tasks.push({
          id: id as string,
          boardId,
          listId: listId as string,
          title: title as string,
          description: description as string,
          assigneeId: assigneeId as string | null,
          position,
          version: Number(version),
          createdBy: createdBy as string | null,
          createdAt: createdAt as string,
          updatedAt: updatedAt as string,
        });
      }
    }
    return tasks;
  }

  getTask(taskId: string) {
    return Promise.resolve(this.#task(taskId));
  }

  taskForMember(taskId: string, userId: string) {
    const row = this.#db.get(
      `SELECT ${TASK_WITH_POSITION}, board_members.role AS member_role FROM tasks
       JOIN board_members ON board_members.board_id = tasks.board_id AND board_members.user_id = ?
       WHERE tasks.id = ?`,
      userId,
      taskId,
    );
    return Promise.resolve(row ? { task: toTask(row), role: row.member_role as Role } : null);
  }

  tasksForBoard(boardId: string) {
    return Promise.resolve(this.#tasksForBoard(boardId));
  }

  tasksUpdatedSince(boardId: string, since: Date) {
    // Stored times are fixed-width ISO-8601 UTC with milliseconds, so after normalising the
    // argument the same way a string comparison is a time comparison.
    const rows = this.#db.all(
      `SELECT ${TASK_WITH_POSITION} FROM tasks WHERE board_id = ? AND updated_at > ?
       ORDER BY updated_at, id`,
      boardId,
      since.toISOString(),
    );
    return Promise.resolve(rows.map(toTask));
  }

  #checkAssignee(boardId: string, assigneeId: string | null | undefined) {
    checkAssignee(assigneeId, !!assigneeId && this.#role(boardId, assigneeId) !== null);
  }

  createTask(actorId: string, input: NewTask, options?: MutationOptions): Promise<Mutation<Task>> {
    return this.#mutate(actorId, options, () => {
      const found = this.#listWithCount(input.listId);
      if (!found) throw notFound("List", input.listId);
      const { list, taskCount } = found;
      this.#requireRole(list.boardId, actorId, "member", "List", list.id);
      this.#checkAssignee(list.boardId, input.assigneeId);
      const cards = this.#db.get(
        "SELECT coalesce(sum(task_count), 0) AS n FROM lists WHERE board_id = ?",
        list.boardId,
      )!.n as number;
      checkLimit("cardsPerBoard", cards, this.limits.cardsPerBoard);
      const id = newId("task");
      const { rank, position } = placeTask(this.#db, list.id, id, taskCount, input.position);
      const stamp = now();
      const row = this.#db.get(
        `INSERT INTO tasks (id, board_id, list_id, title, description, assignee_id, rank,
           version, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
         RETURNING *`,
        id,
        list.boardId,
        list.id,
        input.title,
        input.description ?? "",
        input.assigneeId ?? null,
        rank,
        actorId,
        stamp,
        stamp,
      )!;
      const task = toTask({ ...row, position });
      return { value: task, event: boardEvents.taskCreated(task) };
    });
  }

  /** The task, when it exists and the actor is a member of its board. */
  #loadTask(taskId: string, actorId: string): Task {
    const task = this.#task(taskId);
    if (!task) throw notFound("Task", taskId);
    this.#requireRole(task.boardId, actorId, "member", "Task", taskId);
    return task;
  }

  updateTask(
    actorId: string,
    taskId: string,
    changes: TaskChanges,
    options?: MutationOptions,
  ): Promise<Mutation<Task>> {
    return this.#mutate(actorId, options, () => {
      const current = this.#loadTask(taskId, actorId);
      checkVersion(current, changes.version);
      this.#checkAssignee(current.boardId, changes.assigneeId);
      const row = this.#db.get(
        `UPDATE tasks SET title = ?, description = ?, assignee_id = ?, version = version + 1,
           updated_at = ? WHERE id = ? RETURNING *`,
        changes.title ?? current.title,
        changes.description ?? current.description,
        changes.assigneeId === undefined ? current.assigneeId : changes.assigneeId,
        now(),
        taskId,
      )!;
      const task = toTask({ ...row, position: current.position }); // An edit does not move it.
      return { value: task, event: boardEvents.taskUpdated(task, current) };
    });
  }

  moveTask(
    actorId: string,
    taskId: string,
    move: TaskMove,
    options?: MutationOptions,
  ): Promise<Mutation<Task>> {
    return this.#mutate(actorId, options, () => {
      const current = this.#loadTask(taskId, actorId);
      checkVersion(current, move.version);
      const found = this.#listWithCount(move.listId);
      const target = checkSameBoard(current, found?.list ?? null, move.listId);
      const taskCount = found!.taskCount;
      const others = taskCount - (target.id === current.listId ? 1 : 0); // Not itself.
      const { rank, position } = placeTask(this.#db, target.id, taskId, others, move.position);
      const row = this.#db.get(
        `UPDATE tasks SET list_id = ?, rank = ?, version = version + 1, updated_at = ?
         WHERE id = ? RETURNING *`,
        target.id,
        rank,
        now(),
        taskId,
      )!;
      const task = toTask({ ...row, position });
      return { value: task, event: boardEvents.taskMoved(task, current) };
    });
  }

  deleteTask(
    actorId: string,
    taskId: string,
    options?: MutationOptions,
    version?: number,
  ): Promise<Mutation<Task>> {
    return this.#mutate(actorId, options, () => {
      const task = this.#shelveTask(actorId, taskId, version, false);
      return { value: task, event: boardEvents.taskDeleted(task) };
    });
  }

  archiveTask(actorId: string, taskId: string, options?: MutationOptions, version?: number) {
    return this.#mutate(actorId, options, () => {
      const task = this.#shelveTask(actorId, taskId, version, true);
      return { value: task, event: boardEvents.taskArchived(task) };
    });
  }

  /** Takes a card off the board into the trash (or the archive). */
  #shelveTask(actorId: string, taskId: string, version: number | undefined, archived: boolean) {
    const task = this.#loadTask(taskId, actorId);
    checkVersion(task, version);
    this.#toShelf(actorId, task.boardId, "task", task.id, task.listId, task.title, task, archived);
    // The tasks after it move up one position by themselves: positions are counted on read.
    this.#db.run("DELETE FROM tasks WHERE id = ?", taskId);
    return task;
  }

  // ---- trash and archive ----------------------------------------------------------------------

  #toShelf(
    actorId: string,
    boardId: string,
    kind: "task" | "list",
    id: string,
    listId: string | null,
    title: string,
    content: unknown,
    archived: boolean,
  ): void {
    this.#db.run(
      `INSERT INTO trash (item_id, board_id, kind, list_id, title, content, deleted_by, deleted_at,
         archived) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      boardId,
      kind,
      listId,
      title,
      JSON.stringify(content),
      actorId,
      now(),
      archived ? 1 : 0,
    );
  }

  /** Takes a trash (or archive) row of this kind out, when the actor is a member of its board. */
  #fromShelf(
    kind: "task" | "list",
    id: string,
    actorId: string,
    archived: boolean,
  ): { boardId: string; content: string } {
    const row = this.#db.get(
      "SELECT * FROM trash WHERE item_id = ? AND kind = ? AND archived = ?",
      id,
      kind,
      archived ? 1 : 0,
    );
    const what = `${kind === "task" ? "Task" : "List"} in the ${archived ? "archive" : "trash"}`;
    if (!row) throw notFound(what, id);
    this.#requireRole(row.board_id as string, actorId, "member", what, id);
    this.#db.run("DELETE FROM trash WHERE item_id = ?", id);
    return { boardId: row.board_id as string, content: row.content as string };
  }

  /** A restored card's assignee: kept while still a member of the board. */
  #stillMember(boardId: string, userId: string | null): string | null {
    return userId && this.#role(boardId, userId) ? userId : null;
  }

  #cardCount(boardId: string): number {
    return this.#db.get(
      "SELECT coalesce(sum(task_count), 0) AS n FROM lists WHERE board_id = ?",
      boardId,
    )!.n as number;
  }

  /** Inserts a card back with its id and content, at `rank`, one version on. */
  #insertRestored(task: Task, listId: string, rank: number, position: number): Task {
    const row = this.#db.get(
      `INSERT INTO tasks (id, board_id, list_id, title, description, assignee_id, rank,
         version, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       RETURNING *`,
      task.id,
      task.boardId,
      listId,
      task.title,
      task.description,
      this.#stillMember(task.boardId, task.assigneeId),
      rank,
      task.version + 1,
      task.createdBy,
      task.createdAt,
      now(),
    )!;
    return toTask({ ...row, position });
  }

  restoreTask(actorId: string, taskId: string, options?: MutationOptions, version?: number) {
    return this.#mutate(actorId, options, () => {
      const task = this.#unshelveTask(actorId, taskId, false, version);
      return { value: task, event: boardEvents.taskRestored(task) };
    });
  }

  unarchiveTask(actorId: string, taskId: string, options?: MutationOptions, version?: number) {
    return this.#mutate(actorId, options, () => {
      const task = this.#unshelveTask(actorId, taskId, true, version);
      return { value: task, event: boardEvents.taskUnarchived(task) };
    });
  }

  /** Puts a card from the trash (or the archive) back at its old place. */
  #unshelveTask(actorId: string, taskId: string, archived: boolean, version?: number): Task {
    const { boardId, content } = this.#fromShelf("task", taskId, actorId, archived);
    const card = JSON.parse(content) as Task;
    checkVersion(card, version);
    const found = this.#listWithCount(card.listId);
    if (!found || found.list.boardId !== boardId) throw listGone(card);
    checkLimit("cardsPerBoard", this.#cardCount(boardId), this.limits.cardsPerBoard);
    const { rank, position } = placeTask(
      this.#db,
      card.listId,
      card.id,
      found.taskCount,
      card.position,
    );
    return this.#insertRestored(card, card.listId, rank, position);
  }

  restoreList(actorId: string, listId: string, options?: MutationOptions) {
    return this.#mutate(actorId, options, () => {
      const { list, tasks } = this.#unshelveList(actorId, listId, false);
      return { value: { list, tasks }, event: boardEvents.listRestored(list, tasks) };
    });
  }

  unarchiveList(actorId: string, listId: string, options?: MutationOptions) {
    return this.#mutate(actorId, options, () => {
      const { list, tasks } = this.#unshelveList(actorId, listId, true);
      return { value: { list, tasks }, event: boardEvents.listUnarchived(list, tasks) };
    });
  }

  /** Puts a list from the trash (or the archive) back at its old place, with its cards. */
  #unshelveList(actorId: string, listId: string, archived: boolean) {
    const { boardId, content } = this.#fromShelf("list", listId, actorId, archived);
    const saved = JSON.parse(content) as { list: List; tasks: Task[] };
    const lists = this.#db.get("SELECT count(*) AS n FROM lists WHERE board_id = ?", boardId)!;
    checkLimit("listsPerBoard", lists.n as number, this.limits.listsPerBoard);
    const cards = this.#cardCount(boardId) + saved.tasks.length - 1;
    checkLimit("cardsPerBoard", Math.max(cards, 0), this.limits.cardsPerBoard);
    const at = openListSlot(this.#db, boardId, saved.list.position);
    const list = toList(
      this.#db.get(
        `INSERT INTO lists (id, board_id, title, position, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
        saved.list.id,
        boardId,
        saved.list.title,
        at,
        saved.list.createdAt,
        now(),
      )!,
    );
    // Ranks 0..n-1 in their old order give positions 0..n-1.
    const tasks = saved.tasks.map((card, i) => this.#insertRestored(card, list.id, i, i));
    return { list, tasks };
  }

  trash(boardId: string, query: ShelfQuery): Promise<ShelfPage> {
    return pageShelf(this.#shelf(boardId, 0, query.since), query);
  }

  archive(boardId: string, query: ShelfQuery): Promise<ShelfPage> {
    return pageShelf(this.#shelf(boardId, 1, query.since), query);
  }

  /** Reads the trash (archived 0) or the archive (1) newest first, from `since` on. */
  #shelf(boardId: string, archived: 0 | 1, since = ""): ShelfReader {
    return (before, n) =>
      Promise.resolve(
        this.#db.all(
          `SELECT rowid AS shelf_key, * FROM trash
           WHERE board_id = ? AND archived = ? AND rowid < ? AND deleted_at >= ?
           ORDER BY rowid DESC LIMIT ?`,
          boardId,
          archived,
          before ?? Number.MAX_SAFE_INTEGER,
          since,
          n,
        ).map((row) => ({ key: Number(row.shelf_key), item: toTrashItem(row) })),
      );
  }

  // ---- conflicts ----------------------------------------------------------------------------

  recordConflict(
    actorId: string,
    taskId: string,
    input: { field: ConflictField; value: string; baseVersion: number },
    options?: MutationOptions,
  ): Promise<Mutation<Conflict>> {
    return this.#mutate(actorId, options, () => {
      const task = this.#loadTask(taskId, actorId);
      const open = this.#db.get(
        "SELECT count(*) AS n FROM task_conflicts WHERE task_id = ?",
        taskId,
      )!;
      checkLimit("conflictsPerCard", open.n as number, CONFLICTS_PER_CARD);
      const conflict = toConflict(
        this.#db.get(
          `INSERT INTO task_conflicts (id, board_id, task_id, field, value, author_id,
             base_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
          newId("conflict"),
          task.boardId,
          taskId,
          input.field,
          input.value,
          actorId,
          input.baseVersion,
          now(),
        )!,
      );
      return { value: conflict, event: boardEvents.conflictRecorded(conflict) };
    });
  }

  resolveConflict(
    actorId: string,
    conflictId: string,
    options?: MutationOptions,
  ): Promise<Mutation<Conflict>> {
    return this.#mutate(actorId, options, () => {
      const row = this.#db.get("SELECT * FROM task_conflicts WHERE id = ?", conflictId);
      if (!row) throw notFound("Conflict", conflictId);
      const conflict = toConflict(row);
      this.#requireRole(conflict.boardId, actorId, "member", "Conflict", conflictId);
      this.#db.run("DELETE FROM task_conflicts WHERE id = ?", conflictId);
      return { value: conflict, event: boardEvents.conflictResolved(conflict) };
    });
  }

  // ---- history ------------------------------------------------------------------------------

  history(boardId: string, query: HistoryQuery, floor: number): Promise<BoardEvent[]> {
    return Promise.resolve(history(this.#db, boardId, query, floor));
  }

  eventOf(boardId: string, seq: number): Promise<BoardEvent | null> {
    const row = this.#db.get("SELECT * FROM events WHERE seq = ? AND board_id = ?", seq, boardId);
    return Promise.resolve(row ? toEvent(row) : null);
  }

  markSeen(boardId: string, userId: string, cursor: number): Promise<number> {
    const row = this.#db.get(
      `INSERT INTO board_seen (board_id, user_id, cursor) VALUES (?, ?, ?)
       ON CONFLICT (board_id, user_id) DO UPDATE SET cursor = max(cursor, excluded.cursor)
       RETURNING cursor`,
      boardId,
      userId,
      cursor,
    )!;
    return Promise.resolve(Number(row.cursor));
  }

  // ---- event log --------------------------------------------------------------------------

  cursor() {
    return Promise.resolve(currentSeq(this.#db));
  }

  eventsAfter(
    boardIds: readonly string[] | null,
    after: number,
    limit: number,
  ): Promise<EventPage> {
    return Promise.resolve(eventsAfter(this.#db, boardIds, after, limit));
  }

  prunedThrough(boardIds: readonly string[] | null = null) {
    return Promise.resolve(horizonOf(this.#db, boardIds));
  }

  prune(policy: RetentionPolicy): Promise<number> {
    return Promise.resolve().then(() => {
      this.#db.run(
        "DELETE FROM idempotency_keys WHERE created_at < ?",
        new Date(Date.now() - IDEMPOTENCY_KEEP_MS).toISOString(),
      );
      this.#db.run(
        "DELETE FROM trash WHERE deleted_at < ? AND archived = 0",
        new Date(Date.now() - TRASH_KEEP_MS).toISOString(),
      );
      return pruneEvents(this.#db, policy);
    });
  }

  // ---- seed ---------------------------------------------------------------------------------

  #isSeeded(): boolean {
    return this.#db.get("SELECT 1 FROM meta WHERE key = 'seeded'") !== undefined;
  }

  /**
   * Writes the seed in one write transaction, once per database: a later start must not bring
   * back rows users deleted since (that would also break position density, silently). BEGIN
   * IMMEDIATE is the lock: a second process on the same file waits, then finds it seeded.
   */
  async seed(build: () => Promise<SeedData>): Promise<boolean> {
    if (this.#isSeeded()) return false;
    const data = await build();
    return this.#db.transaction(() => {
      if (this.#isSeeded()) return false;
      const { at } = data;
      for (const u of data.users) {
        this.#db.run(
          `INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
          u.id,
          u.email,
          u.name,
          u.passwordHash,
          at,
        );
      }
      for (const b of data.boards) {
        this.#db.run(
          `INSERT INTO boards (id, title, owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
          b.id,
          b.title,
          b.ownerId,
          at,
          at,
        );
      }
      for (const m of data.members) {
        this.#db.run(
          `INSERT INTO board_members (board_id, user_id, role, added_at) VALUES (?, ?, ?, ?)
           ON CONFLICT DO NOTHING`,
          m.boardId,
          m.userId,
          m.role,
          at,
        );
      }
      for (const l of data.lists) {
        this.#db.run(
          `INSERT INTO lists (id, board_id, title, position, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          l.id,
          l.boardId,
          l.title,
          l.position,
          at,
          at,
        );
      }
      for (const t of data.tasks) {
        this.#db.run(
          `INSERT INTO tasks (id, board_id, list_id, title, description, assignee_id, rank,
             version, created_by, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) ON CONFLICT DO NOTHING`,
          t.id,
          t.boardId,
          t.listId,
          t.title,
          t.description,
          t.assigneeId,
          t.rank,
          t.createdBy,
          at,
          at,
        );
      }
      this.#db.run("INSERT INTO meta (key, value) VALUES ('seeded', ?)", now());
      return true;
    });
  }

  close() {
    this.#db.close(); // Mutations already accepted commit (and publish) before it closes.
    return Promise.resolve();
  }
}
