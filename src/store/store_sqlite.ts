/**
 * The SQLite store (`node:sqlite`, WAL, foreign keys, STRICT tables, prepared statements).
 * Every mutation and its event row commit together; mutations arriving close together share one
 * transaction, each in its own savepoint (group commit, see `#flush`). Positions of tasks in a
 * list and of lists in a board stay dense (0..n-1) because each move shifts its neighbours inside
 * that same transaction. SQLite is synchronous and single-writer, so the commit order is the seq
 * order and events are published in that order.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { ulid } from "ulid";
import { AppError, badRequest, conflict, notFound } from "../errors.ts";
import { migrate } from "./migrations_sqlite.ts";
import type {
  Board,
  BoardEvent,
  BoardSummary,
  List,
  ListChanges,
  Member,
  Mutation,
  NewTask,
  RetentionPolicy,
  Role,
  Snapshot,
  Store,
  Task,
  TaskChanges,
  TaskMove,
  User,
} from "./store.ts";

type Row = Record<string, SQLInputValue>;

const now = () => new Date().toISOString();
/**
 * Random fractions for `ulid`, drawn from a pool refilled 4 KiB at a time: by default ulid makes
 * one `crypto.getRandomValues` call per character (about 5 µs an id, on every insert). A byte / 256
 * is as uniform over ulid's 32 symbols as its own generator.
 */
const randomPool = new Uint8Array(4096);
let randomNext = randomPool.length;
function random(): number {
  if (randomNext === randomPool.length) {
    crypto.getRandomValues(randomPool);
    randomNext = 0;
  }
  return randomPool[randomNext++] / 256;
}

export const newId = (prefix: string) => `${prefix}-${ulid(undefined, random).toLowerCase()}`;

const toUser = (r: Row): User => ({
  id: r.id as string,
  email: r.email as string,
  name: r.name as string,
  isAdmin: r.is_admin === 1,
  createdAt: r.created_at as string,
});

const toBoard = (r: Row): Board => ({
  id: r.id as string,
  title: r.title as string,
  ownerId: r.owner_id as string,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});

const toList = (r: Row): List => ({
  id: r.id as string,
  boardId: r.board_id as string,
  title: r.title as string,
  position: r.position as number,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});

const toTask = (r: Row): Task => ({
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

const toMember = (r: Row): Member => ({
  boardId: r.board_id as string,
  userId: r.user_id as string,
  name: r.name as string,
  email: r.email as string,
  role: r.role as Role,
  addedAt: r.added_at as string,
});

const toEvent = (r: Row): BoardEvent => ({
  type: r.type as string,
  id: r.seq as number,
  boardId: r.board_id as string,
  ...JSON.parse(r.payload as string),
  actorId: (r.actor_id as string | null) ?? null,
  at: r.created_at as string,
});

/** A queued mutation: `run` does its writes and appends its event, inside the batch's transaction. */
interface PendingMutation {
  run: () => Mutation<unknown>;
  resolve: (mutation: Mutation<unknown>) => void;
  reject: (error: unknown) => void;
}

/** At most this many mutations share one transaction (bounds the latency of the last one). */
const MAX_BATCH = 64;

const clamp = (n: number, lo: number, hi: number) => Math.min(Math.max(n, lo), hi);

export class SqliteStore implements Store {
  #db: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  #commitListener: (event: BoardEvent) => void = () => {};
  #pending: PendingMutation[] = [];
  #flushScheduled = false;

  constructor(path: string) {
    if (path !== ":memory:") {
      const dir = path.replace(/[/\\][^/\\]*$/, "");
      if (dir && dir !== path) Deno.mkdirSync(dir, { recursive: true });
    }
    this.#db = new DatabaseSync(path);
    this.#db.exec("PRAGMA journal_mode = WAL");
    this.#db.exec("PRAGMA synchronous = NORMAL");
    this.#db.exec("PRAGMA foreign_keys = ON");
    this.#db.exec("PRAGMA busy_timeout = 5000");
    migrate(this.#db);
  }

  onCommit(listener: (event: BoardEvent) => void): void {
    this.#commitListener = listener;
  }

  /** A prepared statement, cached by its SQL text. */
  #sql(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#sql(sql).get(...params) as Row | undefined;
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#sql(sql).all(...params) as Row[];
  }

  #run(sql: string, ...params: SQLInputValue[]) {
    return this.#sql(sql).run(...params);
  }

  /** Runs `fn` in one write transaction; rolls back if it throws. */
  #transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Appends one event row; call inside the mutation's transaction. */
  #appendEvent(
    boardId: string,
    type: string,
    actorId: string | null,
    payload: Record<string, unknown>,
  ): BoardEvent {
    const at = now();
    const result = this.#run(
      "INSERT INTO events (board_id, type, payload, actor_id, created_at) VALUES (?, ?, ?, ?, ?)",
      boardId,
      type,
      JSON.stringify(payload),
      actorId,
      at,
    );
    return { type, id: Number(result.lastInsertRowid), boardId, ...payload, actorId, at };
  }

  /**
   * Queues a mutation for the next group commit (see `#flush`). `fn` names the board the event
   * belongs to, so rows it has to read anyway (a task, a list) are read once, inside the
   * transaction.
   */
  #mutate<T>(
    type: string,
    actorId: string,
    fn: () => { boardId: string; value: T; payload: Record<string, unknown> },
  ): Promise<Mutation<T>> {
    return this.#enqueue(() => {
      const { boardId, value, payload } = fn();
      return { value, event: this.#appendEvent(boardId, type, actorId, payload) };
    });
  }

  /** Adds a mutation (its writes plus its event row) to the batch and schedules the flush. */
  #enqueue<T>(run: () => Mutation<T>): Promise<Mutation<T>> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ run, resolve, reject } as PendingMutation);
      if (this.#pending.length >= MAX_BATCH) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /**
   * Group commit. BEGIN/COMMIT cost more than a typical mutation (each COMMIT writes the touched
   * pages to the WAL), so mutations that arrive within one turn of the event loop share one
   * transaction. Each runs inside its own SAVEPOINT: one that throws rolls back to it and rejects
   * only its own promise, with its own error; the others still commit. After the COMMIT the commit
   * listener gets the events in seq order, then the promises settle, so nothing is published or
   * answered before it is durable and visible to readers. If BEGIN or COMMIT itself fails, the
   * whole batch rolls back and every promise rejects with that error.
   */
  #flush = () => {
    this.#flushScheduled = false;
    const batch = this.#pending.splice(0);
    if (batch.length === 0) return;
    const outcomes: ({ ok: true; mutation: Mutation<unknown> } | { ok: false; error: unknown })[] =
      [];
    try {
      this.#run("BEGIN IMMEDIATE");
      for (const { run } of batch) {
        this.#run("SAVEPOINT mutation"); // Prepared once: exec() would parse it each time.
        try {
          outcomes.push({ ok: true, mutation: run() });
        } catch (error) {
          this.#run("ROLLBACK TO mutation");
          outcomes.push({ ok: false, error });
        }
        this.#run("RELEASE mutation");
      }
      this.#run("COMMIT");
    } catch (error) {
      if (this.#db.isOpen && this.#db.isTransaction) this.#db.exec("ROLLBACK");
      for (const { reject } of batch) reject(error);
      return;
    }
    batch.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i];
      if (!outcome.ok) return reject(outcome.error);
      try {
        this.#commitListener(outcome.mutation.event);
        resolve(outcome.mutation);
      } catch (error) {
        reject(error);
      }
    });
  };

  // ---- accounts -------------------------------------------------------------------------

  createUser(input: { email: string; name: string; passwordHash: string }): Promise<User> {
    return Promise.resolve().then(() => {
      if (this.#get("SELECT 1 FROM users WHERE email = ?", input.email)) {
        throw conflict("email_taken", `An account for "${input.email}" already exists`);
      }
      const id = newId("user");
      this.#run(
        "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
        id,
        input.email,
        input.name,
        input.passwordHash,
        now(),
      );
      return toUser(this.#get("SELECT * FROM users WHERE id = ?", id)!);
    });
  }

  findUserByEmail(email: string) {
    const row = this.#get("SELECT * FROM users WHERE email = ?", email);
    return Promise.resolve(
      row
        ? { user: toUser(row), passwordHash: (row.password_hash as string | null) ?? null }
        : null,
    );
  }

  getUser(id: string) {
    const row = this.#get("SELECT * FROM users WHERE id = ?", id);
    return Promise.resolve(row ? toUser(row) : null);
  }

  createSession(tokenHash: string, userId: string, expiresAt: Date) {
    this.#run(
      "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
      tokenHash,
      userId,
      now(),
      expiresAt.toISOString(),
    );
    return Promise.resolve();
  }

  findSessionUser(tokenHash: string) {
    const row = this.#get(
      `SELECT users.id, users.email, users.name, users.is_admin, users.created_at
       FROM sessions JOIN users ON users.id = sessions.user_id
       WHERE sessions.token_hash = ? AND sessions.expires_at > ?`,
      tokenHash,
      now(),
    );
    return Promise.resolve(row ? toUser(row) : null);
  }

  deleteSession(tokenHash: string) {
    this.#run("DELETE FROM sessions WHERE token_hash = ?", tokenHash);
    return Promise.resolve();
  }

  // ---- boards and members ---------------------------------------------------------------

  boardsForUser(userId: string): Promise<BoardSummary[]> {
    const rows = this.#all(
      `SELECT boards.*, board_members.role FROM boards
       JOIN board_members ON board_members.board_id = boards.id
       WHERE board_members.user_id = ? ORDER BY boards.created_at, boards.id`,
      userId,
    );
    return Promise.resolve(rows.map((r) => ({ ...toBoard(r), role: r.role as Role })));
  }

  memberRole(boardId: string, userId: string): Promise<Role | null> {
    const row = this.#get(
      "SELECT role FROM board_members WHERE board_id = ? AND user_id = ?",
      boardId,
      userId,
    );
    return Promise.resolve(row ? row.role as Role : null);
  }

  #snapshot(boardId: string): Snapshot | null {
    const board = this.#get("SELECT * FROM boards WHERE id = ?", boardId);
    if (!board) return null;
    return {
      board: toBoard(board),
      lists: this.#all("SELECT * FROM lists WHERE board_id = ? ORDER BY position", boardId).map(
        toList,
      ),
      tasks: this.#tasksForBoard(boardId),
      members: this.#members(boardId),
      cursor: this.#cursor(),
    };
  }

  snapshot(boardId: string) {
    return Promise.resolve(this.#snapshot(boardId));
  }

  createBoard(actorId: string, title: string): Promise<Mutation<Snapshot>> {
    const boardId = newId("board");
    return this.#enqueue(() => {
      const at = now();
      this.#run(
        "INSERT INTO boards (id, title, owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        boardId,
        title,
        actorId,
        at,
        at,
      );
      this.#run(
        "INSERT INTO board_members (board_id, user_id, role, added_at) VALUES (?, ?, 'owner', ?)",
        boardId,
        actorId,
        at,
      );
      ["To do", "In progress", "Done"].forEach((listTitle, position) => {
        this.#run(
          "INSERT INTO lists (id, board_id, title, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
          newId("list"),
          boardId,
          listTitle,
          position,
          at,
          at,
        );
      });
      const event = this.#appendEvent(boardId, "board_created", actorId, {
        board: toBoard(this.#get("SELECT * FROM boards WHERE id = ?", boardId)!),
      });
      return { value: this.#snapshot(boardId)!, event };
    });
  }

  renameBoard(actorId: string, boardId: string, title: string): Promise<Mutation<Board>> {
    return this.#mutate("board_updated", actorId, () => {
      const changed = this.#run(
        "UPDATE boards SET title = ?, updated_at = ? WHERE id = ?",
        title,
        now(),
        boardId,
      );
      if (changed.changes === 0) throw notFound("Board", boardId);
      const board = toBoard(this.#get("SELECT * FROM boards WHERE id = ?", boardId)!);
      return { boardId, value: board, payload: { board } };
    });
  }

  deleteBoard(actorId: string, boardId: string): Promise<Mutation<{ boardId: string }>> {
    return this.#mutate("board_deleted", actorId, () => {
      const changed = this.#run("DELETE FROM boards WHERE id = ?", boardId);
      if (changed.changes === 0) throw notFound("Board", boardId);
      return { boardId, value: { boardId }, payload: {} };
    });
  }

  #members(boardId: string): Member[] {
    return this.#all(
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
    const row = this.#get(
      `SELECT board_members.*, users.name, users.email FROM board_members
       JOIN users ON users.id = board_members.user_id
       WHERE board_members.board_id = ? AND board_members.user_id = ?`,
      boardId,
      userId,
    );
    return row ? toMember(row) : null;
  }

  addMember(actorId: string, boardId: string, userId: string): Promise<Mutation<Member>> {
    return this.#mutate("member_added", actorId, () => {
      if (this.#member(boardId, userId)) {
        throw conflict("already_member", `User "${userId}" is already a member of this board`);
      }
      this.#run(
        "INSERT INTO board_members (board_id, user_id, role, added_at) VALUES (?, ?, 'member', ?)",
        boardId,
        userId,
        now(),
      );
      const member = this.#member(boardId, userId)!;
      return { boardId, value: member, payload: { member } };
    });
  }

  removeMember(actorId: string, boardId: string, userId: string): Promise<Mutation<Member>> {
    return this.#mutate("member_removed", actorId, () => {
      const member = this.#member(boardId, userId);
      if (!member) throw notFound("Member", userId);
      if (member.role === "owner") {
        throw badRequest("owner_cannot_leave", "The board's owner cannot be removed");
      }
      this.#run(
        "DELETE FROM board_members WHERE board_id = ? AND user_id = ?",
        boardId,
        userId,
      );
      return { boardId, value: member, payload: { member } };
    });
  }

  // ---- lists ------------------------------------------------------------------------------

  #list(listId: string): List | null {
    const row = this.#get("SELECT * FROM lists WHERE id = ?", listId);
    return row ? toList(row) : null;
  }

  getList(listId: string) {
    return Promise.resolve(this.#list(listId));
  }

  listForMember(listId: string, userId: string) {
    const row = this.#get(
      `SELECT lists.*, board_members.role AS member_role FROM lists
       JOIN board_members ON board_members.board_id = lists.board_id AND board_members.user_id = ?
       WHERE lists.id = ?`,
      userId,
      listId,
    );
    return Promise.resolve(row ? { list: toList(row), role: row.member_role as Role } : null);
  }

  /**
   * How many lists a board (or tasks a list) has. Positions are dense (0..n-1), so that is the
   * highest position + 1, which the (parent, position) index answers without a scan; count(*)
   * would read every row of the list.
   */
  #count(table: "lists" | "tasks", column: "board_id" | "list_id", id: string): number {
    return this.#get(
      `SELECT coalesce(max(position) + 1, 0) AS n FROM ${table} WHERE ${column} = ?`,
      id,
    )!.n as number;
  }

  createList(
    actorId: string,
    boardId: string,
    title: string,
    position?: number,
  ): Promise<Mutation<List>> {
    return this.#mutate("list_created", actorId, () => {
      if (!this.#get("SELECT 1 FROM boards WHERE id = ?", boardId)) {
        throw notFound("Board", boardId);
      }
      const count = this.#count("lists", "board_id", boardId);
      const at = clamp(position ?? count, 0, count);
      if (at < count) {
        this.#run(
          "UPDATE lists SET position = position + 1 WHERE board_id = ? AND position >= ?",
          boardId,
          at,
        );
      }
      const stamp = now();
      const list = toList(
        this.#get(
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
      return { boardId, value: list, payload: { list } };
    });
  }

  updateList(actorId: string, listId: string, changes: ListChanges): Promise<Mutation<List>> {
    const moving = changes.position !== undefined;
    return this.#mutate(moving ? "list_moved" : "list_updated", actorId, () => {
      const current = this.#list(listId);
      if (!current) throw notFound("List", listId);
      if (changes.position !== undefined) {
        const count = this.#count("lists", "board_id", current.boardId);
        const to = clamp(changes.position, 0, count - 1);
        this.#shiftWithin("lists", "board_id", current.boardId, current.position, to);
        this.#run("UPDATE lists SET position = ? WHERE id = ?", to, listId);
      }
      this.#run(
        "UPDATE lists SET title = coalesce(?, title), updated_at = ? WHERE id = ?",
        changes.title ?? null,
        now(),
        listId,
      );
      const list = this.#list(listId)!;
      return {
        boardId: current.boardId,
        value: list,
        payload: moving ? { list, fromPosition: current.position } : { list },
      };
    });
  }

  deleteList(actorId: string, listId: string): Promise<Mutation<List>> {
    return this.#mutate("list_deleted", actorId, () => {
      const list = this.#list(listId);
      if (!list) throw notFound("List", listId);
      this.#run("DELETE FROM lists WHERE id = ?", listId);
      this.#run(
        "UPDATE lists SET position = position - 1 WHERE board_id = ? AND position > ?",
        list.boardId,
        list.position,
      );
      return { boardId: list.boardId, value: list, payload: { listId, list } };
    });
  }

  /** Moves the row at `from` to `to` among its siblings by shifting the ones in between. */
  #shiftWithin(
    table: "lists" | "tasks",
    column: "board_id" | "list_id",
    parentId: string,
    from: number,
    to: number,
  ) {
    if (to > from) {
      this.#run(
        `UPDATE ${table} SET position = position - 1 WHERE ${column} = ? AND position > ? AND position <= ?`,
        parentId,
        from,
        to,
      );
    } else if (to < from) {
      this.#run(
        `UPDATE ${table} SET position = position + 1 WHERE ${column} = ? AND position >= ? AND position < ?`,
        parentId,
        to,
        from,
      );
    }
  }

  // ---- tasks ------------------------------------------------------------------------------

  #task(taskId: string): Task | null {
    const row = this.#get("SELECT * FROM tasks WHERE id = ?", taskId);
    return row ? toTask(row) : null;
  }

  #tasksForBoard(boardId: string): Task[] {
    return this.#all(
      `SELECT tasks.* FROM tasks JOIN lists ON lists.id = tasks.list_id
       WHERE tasks.board_id = ? ORDER BY lists.position, tasks.position`,
      boardId,
    ).map(toTask);
  }

  getTask(taskId: string) {
    return Promise.resolve(this.#task(taskId));
  }

  taskForMember(taskId: string, userId: string) {
    const row = this.#get(
      `SELECT tasks.*, board_members.role AS member_role FROM tasks
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
    const rows = this.#all(
      "SELECT * FROM tasks WHERE board_id = ? AND updated_at > ? ORDER BY updated_at, id",
      boardId,
      since.toISOString(),
    );
    return Promise.resolve(rows.map(toTask));
  }

  #checkAssignee(boardId: string, assigneeId: string | null | undefined) {
    if (assigneeId && !this.#member(boardId, assigneeId)) {
      throw badRequest(
        "invalid_assignee",
        `Cannot assign to "${assigneeId}": not a member of this board`,
      );
    }
  }

  #checkVersion(task: Task, version: number | undefined) {
    if (version !== undefined && version !== task.version) {
      throw conflict(
        "version_conflict",
        `Task "${task.id}" is at version ${task.version}, not ${version}`,
        { task },
      );
    }
  }

  createTask(actorId: string, input: NewTask): Promise<Mutation<Task>> {
    return this.#mutate("task_created", actorId, () => {
      const list = this.#list(input.listId);
      if (!list) throw notFound("List", input.listId);
      this.#checkAssignee(list.boardId, input.assigneeId);
      const count = this.#count("tasks", "list_id", list.id);
      const at = clamp(input.position ?? count, 0, count);
      if (at < count) {
        this.#run(
          "UPDATE tasks SET position = position + 1 WHERE list_id = ? AND position >= ?",
          list.id,
          at,
        );
      }
      const stamp = now();
      const row = this.#get(
        `INSERT INTO tasks (id, board_id, list_id, title, description, assignee_id, position,
           version, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
         RETURNING *`,
        newId("task"),
        list.boardId,
        list.id,
        input.title,
        input.description ?? "",
        input.assigneeId ?? null,
        at,
        actorId,
        stamp,
        stamp,
      )!;
      const task = toTask(row);
      return { boardId: list.boardId, value: task, payload: { task } };
    });
  }

  #loadTask(taskId: string): Task {
    const task = this.#task(taskId);
    if (!task) throw notFound("Task", taskId);
    return task;
  }

  updateTask(actorId: string, taskId: string, changes: TaskChanges): Promise<Mutation<Task>> {
    return this.#mutate("task_updated", actorId, () => {
      const current = this.#loadTask(taskId);
      this.#checkVersion(current, changes.version);
      this.#checkAssignee(current.boardId, changes.assigneeId);
      const task = toTask(
        this.#get(
          `UPDATE tasks SET title = ?, description = ?, assignee_id = ?, version = version + 1,
             updated_at = ? WHERE id = ? RETURNING *`,
          changes.title ?? current.title,
          changes.description ?? current.description,
          changes.assigneeId === undefined ? current.assigneeId : changes.assigneeId,
          now(),
          taskId,
        )!,
      );
      return { boardId: current.boardId, value: task, payload: { task } };
    });
  }

  moveTask(actorId: string, taskId: string, move: TaskMove): Promise<Mutation<Task>> {
    return this.#mutate("task_moved", actorId, () => {
      const current = this.#loadTask(taskId);
      this.#checkVersion(current, move.version);
      const target = this.#list(move.listId);
      if (!target || target.boardId !== current.boardId) {
        throw badRequest(
          "invalid_list",
          `Cannot move task "${taskId}": list "${move.listId}" is not on its board`,
        );
      }
      let task: Task;
      if (target.id === current.listId) {
        const count = this.#count("tasks", "list_id", target.id);
        const to = clamp(move.position, 0, count - 1);
        this.#shiftWithin("tasks", "list_id", target.id, current.position, to);
        task = this.#setTaskPlace(taskId, target.id, to);
      } else {
        this.#run(
          "UPDATE tasks SET position = position - 1 WHERE list_id = ? AND position > ?",
          current.listId,
          current.position,
        );
        const count = this.#count("tasks", "list_id", target.id);
        const to = clamp(move.position, 0, count);
        if (to < count) {
          this.#run(
            "UPDATE tasks SET position = position + 1 WHERE list_id = ? AND position >= ?",
            target.id,
            to,
          );
        }
        task = this.#setTaskPlace(taskId, target.id, to);
      }
      return {
        boardId: current.boardId,
        value: task,
        payload: { task, fromListId: current.listId, fromPosition: current.position },
      };
    });
  }

  #setTaskPlace(taskId: string, listId: string, position: number): Task {
    return toTask(
      this.#get(
        `UPDATE tasks SET list_id = ?, position = ?, version = version + 1, updated_at = ?
         WHERE id = ? RETURNING *`,
        listId,
        position,
        now(),
        taskId,
      )!,
    );
  }

  deleteTask(actorId: string, taskId: string): Promise<Mutation<Task>> {
    return this.#mutate("task_deleted", actorId, () => {
      const task = this.#loadTask(taskId);
      this.#run("DELETE FROM tasks WHERE id = ?", taskId);
      this.#run(
        "UPDATE tasks SET position = position - 1 WHERE list_id = ? AND position > ?",
        task.listId,
        task.position,
      );
      return { boardId: task.boardId, value: task, payload: { taskId, listId: task.listId } };
    });
  }

  // ---- event log -------------------------------------------------------------------------

  #cursor(): number {
    const row = this.#get("SELECT seq FROM sqlite_sequence WHERE name = 'events'");
    return row ? Number(row.seq) : 0;
  }

  cursor() {
    return Promise.resolve(this.#cursor());
  }

  eventsAfter(boardIds: string[], after: number, limit: number): Promise<BoardEvent[]> {
    if (boardIds.length === 0) return Promise.resolve([]);
    const marks = boardIds.map(() => "?").join(", ");
    const rows = this.#all(
      `SELECT * FROM events WHERE board_id IN (${marks}) AND seq > ? ORDER BY seq LIMIT ?`,
      ...boardIds,
      after,
      limit,
    );
    return Promise.resolve(rows.map(toEvent));
  }

  #prunedThrough(): number {
    const row = this.#get("SELECT value FROM meta WHERE key = 'pruned_through'");
    return row ? Number(row.value) : 0;
  }

  prunedThrough() {
    return Promise.resolve(this.#prunedThrough());
  }

  prune(policy: RetentionPolicy): Promise<number> {
    return Promise.resolve().then(() =>
      this.#transaction(() => {
        const cutoff = new Date(Date.now() - policy.maxAgeMs).toISOString();
        const byCount = this.#cursor() - policy.maxCount;
        const byAge = this.#get(
          "SELECT coalesce(max(seq), 0) AS seq FROM events WHERE created_at < ?",
          cutoff,
        )!.seq as number;
        const through = Math.max(byCount, byAge, 0);
        if (through <= this.#prunedThrough()) return 0;
        const deleted = this.#run("DELETE FROM events WHERE seq <= ?", through);
        this.#run(
          "INSERT INTO meta (key, value) VALUES ('pruned_through', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          String(through),
        );
        return Number(deleted.changes);
      })
    );
  }

  /** Runs raw SQL inside a transaction (seeding and tests only). */
  /** Whether the demo seed has run on this database. */
  isSeeded(): boolean {
    return this.#get("SELECT 1 FROM meta WHERE key = 'seeded'") !== undefined;
  }

  /**
   * Runs the demo seed's raw SQL in one transaction, once per database: a later start must not
   * bring back rows users deleted since (that would also break position density, silently).
   */
  seedOnce(fn: (run: (sql: string, ...params: SQLInputValue[]) => void) => void): void {
    this.#transaction(() => {
      if (this.isSeeded()) return;
      fn((sql, ...params) => this.#run(sql, ...params));
      this.#run("INSERT INTO meta (key, value) VALUES ('seeded', ?)", now());
    });
  }

  close() {
    this.#flush(); // Mutations already accepted commit (and publish) before the database closes.
    if (this.#db.isOpen) this.#db.close();
    return Promise.resolve();
  }
}

/** Narrow helper for callers that need to tell a store error from a bug. */
export const isAppError = (error: unknown): error is AppError => error instanceof AppError;
