/**
 * The PostgreSQL store: the `Store` contract on `PgDatabase` (db.ts: read pool, group-commit
 * writer, dense commit-ordered seqs). Several instances write at once, so mutations run in
 * savepoints of a batch that first locked the boards it changes (db.ts: in one global order, so
 * instances queue instead of deadlocking). That lock serialises every change of a board, so a
 * mutation's checks (membership, versions, positions) read without row locks — and, because
 * each statement costs a round trip, each mutation reads what it checks in one statement and
 * writes in one more. Uniqueness is left to constraints, mapped to the same codes. Snapshots
 * are one `REPEATABLE READ` transaction; a page of the log and its prune horizon are one
 * statement.
 */
import type { Sql } from "postgres";
import { IdempotencyReplay, notFound } from "../../errors.ts";
import { type BoardEvent, boardEvents } from "../events.ts";
import { pageShelf, type ShelfReader } from "../shelf.ts";
import { newId, now } from "../ids.ts";
import {
  alreadyMember,
  checkAssignee,
  checkLimit,
  checkRemovable,
  checkSameBoard,
  checkVersion,
  clamp,
  DEFAULT_LISTS,
  emailTaken,
  listGone,
  type Need,
  placeAt,
  ranks,
  requireRole,
} from "../rules.ts";
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
import {
  type FastPath,
  isUniqueViolation,
  type MutationBody,
  type MutationOutcome,
  PgDatabase,
  type PgOptions,
  type Scope,
} from "./db.ts";
import {
  createTaskStatement,
  deleteTaskStatement,
  listStats,
  moveTaskStatement,
  neighbourRanks,
  taskWithPosition,
  updateTaskStatement,
} from "./task_statements.ts";
import {
  type Row,
  toBoard,
  toConflict,
  toEvent,
  toList,
  toMember,
  toTask,
  toTrashItem,
  toUser,
} from "./rows.ts";

/**
 * Columns telling where a task goes among the tasks of list `listId` other than `taskId`: how
 * many there are and their highest rank (`place_stats`: `[n, top]`, read once), and the ranks of the two around
 * `position` (`place_near`; not read when the task goes to the end).
 */
const placementProbe = (sql: Sql, listId: string, taskId: string, position?: number) =>
  sql`(SELECT ARRAY[n::float8, top] FROM ${listStats(sql, listId, taskId)}) AS place_stats,
    ${
    position === undefined ? sql`ARRAY[]::float8[]` : neighbourRanks(sql, listId, taskId, position)
  } AS place_near`;

/** A probe's `[n, top]` (`[0, null]` for a list that does not exist). */
const placeStats = (probe: Row): [number, number | null] => probe.place_stats ?? [0, null];

/** The rank for dense position `at` from a placement probe; null when none is left there. */
function rankAt(probe: Row, at: number): number | null {
  const [others, top] = placeStats(probe);
  if (others === 0) return 0;
  if (at === others) return ranks.after(Number(top));
  const [before, after] = (probe.place_near as unknown[]).map(Number);
  return at === 0 ? ranks.before(before) : ranks.between(before, after);
}

export class PostgresStore implements Store {
  private constructor(readonly db: PgDatabase, readonly limits: StoreLimits) {}

  /** Connects and migrates; rejects when the server cannot be reached. */
  static async open(
    url: string,
    options: PgOptions,
    limits: StoreLimits = DEFAULT_LIMITS,
  ): Promise<PostgresStore> {
    return new PostgresStore(await PgDatabase.open(url, options), limits);
  }

  onCommit(listener: Parameters<Store["onCommit"]>[0]): void {
    this.db.onCommit(listener);
  }

  /**
   * Queues a mutation: its general body, and the one statement that can do it, if any. A keyed
   * mutation takes the general path, which records its key (Store contract): under the board's
   * lock, so a retry racing its original finds the key recorded and writes nothing.
   */
  #mutate<T>(
    actorId: string,
    options: MutationOptions | undefined,
    scope: Scope,
    body: MutationBody<T>,
    fast?: FastPath<T>,
  ): Promise<Mutation<T>> {
    const revertOf = options?.revertOf;
    if (revertOf !== undefined) {
      // The event says which event it reverts (EventHeader.revertOf).
      const reverting = (outcome: MutationOutcome<T>) => ({
        ...outcome,
        event: { ...outcome.event, revertOf },
      });
      const inner = body;
      body = async (sql) => reverting(await inner(sql));
      const innerFast = fast;
      fast = innerFast && { ...innerFast, outcome: (row) => reverting(innerFast.outcome(row)) };
    }
    const idempotency = options?.idempotency;
    if (!idempotency) return this.db.enqueue(actorId, scope, body, fast);
    return this.db.enqueue(actorId, scope, async (sql) => {
      const outcome = await body(sql);
      const recorded = await sql`INSERT INTO idempotency_keys
          (user_id, key, fingerprint, result, created_at)
        VALUES (${actorId}, ${idempotency.key}, ${idempotency.fingerprint},
          ${JSON.stringify(outcome.value)}, ${now()})
        ON CONFLICT DO NOTHING RETURNING 1`;
      if (recorded.length === 0) {
        throw new IdempotencyReplay(idempotency.key);
      }
      return revertOf === undefined ? outcome : { ...outcome, revertKey: idempotency.key };
    });
  }

  async replayFloor(boardId: string, userId: string): Promise<number> {
    const [row] = await this.db.read((sql) =>
      sql`SELECT m.added_after AS after, (
          SELECT min(seq) FROM events WHERE board_id = m.board_id AND seq > m.added_after
            AND type = 'member_added' AND payload::jsonb -> 'member' ->> 'userId' = m.user_id
        ) AS added FROM board_members AS m WHERE m.board_id = ${boardId} AND m.user_id = ${userId}`
    );
    if (!row) return 0;
    return row.added === null ? Number(row.after) : Number(row.added) - 1;
  }

  async idempotentResult(userId: string, key: string): Promise<IdempotentResult | null> {
    const [row] = await this.db.read((sql) =>
      sql`SELECT fingerprint, result FROM idempotency_keys WHERE user_id = ${userId} AND key = ${key}`
    );
    return row ? { fingerprint: row.fingerprint, result: JSON.parse(row.result) } : null;
  }

  /** The actor's role (rules.ts decides; the board's lock keeps it until the mutation commits). */
  async #requireRole(
    sql: Sql,
    boardId: string,
    actorId: string,
    need: Need,
    what: string,
    id: string,
  ): Promise<void> {
    const [row] = await sql`SELECT role FROM board_members
      WHERE board_id = ${boardId} AND user_id = ${actorId}`;
    requireRole(row ? row.role as Role : null, need, what, id, boardId);
  }

  ping(): Promise<void> {
    return this.db.read(async (sql) => {
      await sql`SELECT 1`;
    });
  }

  writeFailure(): WriteFailure | null {
    return this.db.writeFailure();
  }

  // ---- seed -------------------------------------------------------------------------------

  async seed(build: () => Promise<SeedData>): Promise<boolean> {
    const seeded = () => this.db.read((sql) => sql`SELECT 1 FROM meta WHERE key = 'seeded'`);
    if ((await seeded()).length > 0) return false;
    const data = await build();
    return this.db.transaction(async (sql) => {
      // Instances starting together: one seeds, the others wait here and then find it done.
      await sql`SELECT pg_advisory_xact_lock(hashtext(${"liveboard-seed:" + this.db.schema}))`;
      if ((await sql`SELECT 1 FROM meta WHERE key = 'seeded'`).length > 0) return false;
      const at = data.at;
      for (const u of data.users) {
        await sql`INSERT INTO users (id, email, name, password_hash, created_at)
          VALUES (${u.id}, ${u.email}, ${u.name}, ${u.passwordHash}, ${at}) ON CONFLICT DO NOTHING`;
      }
      for (const b of data.boards) {
        await sql`INSERT INTO boards (id, title, owner_id, created_at, updated_at)
          VALUES (${b.id}, ${b.title}, ${b.ownerId}, ${at}, ${at}) ON CONFLICT DO NOTHING`;
      }
      for (const m of data.members) {
        await sql`INSERT INTO board_members (board_id, user_id, role, added_at)
          VALUES (${m.boardId}, ${m.userId}, ${m.role}, ${at}) ON CONFLICT DO NOTHING`;
      }
      for (const l of data.lists) {
        await sql`INSERT INTO lists (id, board_id, title, position, created_at, updated_at)
          VALUES (${l.id}, ${l.boardId}, ${l.title}, ${l.position}, ${at}, ${at})
          ON CONFLICT DO NOTHING`;
      }
      for (const t of data.tasks) {
        await sql`INSERT INTO tasks (id, board_id, list_id, title, description, assignee_id, rank,
            version, created_by, created_at, updated_at)
          VALUES (${t.id}, ${t.boardId}, ${t.listId}, ${t.title}, ${t.description},
            ${t.assigneeId}, ${t.rank}, 1, ${t.createdBy}, ${at}, ${at}) ON CONFLICT DO NOTHING`;
      }
      await sql`INSERT INTO meta (key, value) VALUES ('seeded', ${now()})`;
      return true;
    });
  }

  // ---- accounts -------------------------------------------------------------------------

  async createUser(input: { email: string; name: string; passwordHash: string }): Promise<User> {
    try {
      const [row] = await this.db.read((sql) =>
        sql`INSERT INTO users (id, email, name, password_hash, created_at)
          VALUES (${newId("user")}, ${input.email}, ${input.name}, ${input.passwordHash}, ${now()})
          RETURNING *`
      );
      return toUser(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw emailTaken(input.email);
      throw error;
    }
  }

  async findUserByEmail(email: string) {
    const [row] = await this.db.read((sql) =>
      sql`SELECT * FROM users WHERE lower(email) = lower(${email})`
    );
    return row
      ? {
        user: toUser(row),
        passwordHash: row.password_hash ?? null,
        deactivated: row.deactivated_at !== null,
      }
      : null;
  }

  async setPassword(userId: string, passwordHash: string): Promise<boolean> {
    const result = await this.db.read((sql) =>
      sql`UPDATE users SET password_hash = ${passwordHash} WHERE id = ${userId}`
    );
    return result.count > 0;
  }

  async setDeactivated(userId: string, deactivated: boolean): Promise<boolean> {
    const result = await this.db.read((sql) =>
      sql`UPDATE users SET deactivated_at = ${deactivated ? now() : null} WHERE id = ${userId}`
    );
    return result.count > 0;
  }

  async deleteUserSessions(userId: string): Promise<string[]> {
    const rows = await this.db.read((sql) =>
      sql`DELETE FROM sessions WHERE user_id = ${userId} RETURNING token_hash`
    );
    return rows.map((row) => row.token_hash as string);
  }

  async getUser(id: string) {
    const [row] = await this.db.read((sql) => sql`SELECT * FROM users WHERE id = ${id}`);
    return row ? toUser(row) : null;
  }

  async createSession(tokenHash: string, userId: string, expiresAt: Date) {
    await this.db.read((sql) =>
      sql`INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
        VALUES (${tokenHash}, ${userId}, ${now()}, ${expiresAt.toISOString()})`
    );
  }

  async findSessionUser(tokenHash: string) {
    const [row] = await this.db.read((sql) =>
      sql`SELECT users.* FROM sessions JOIN users ON users.id = sessions.user_id
        WHERE sessions.token_hash = ${tokenHash} AND sessions.expires_at > ${now()}`
    );
    return row ? toUser(row) : null;
  }

  async deleteSession(tokenHash: string) {
    await this.db.read((sql) => sql`DELETE FROM sessions WHERE token_hash = ${tokenHash}`);
  }

  async existingSessions(tokenHashes: string[]): Promise<Set<string>> {
    const rows = await this.db.read((sql) =>
      sql`SELECT token_hash FROM sessions
        WHERE token_hash = ANY(${tokenHashes}::text[]) AND expires_at > ${now()}`
    );
    return new Set(rows.map((row) => row.token_hash as string));
  }

  async deleteExpiredSessions() {
    const rows = await this.db.read((sql) =>
      sql`DELETE FROM sessions WHERE expires_at <= ${now()} RETURNING token_hash`
    );
    return rows.map((row) => row.token_hash as string);
  }

  // ---- boards and members ---------------------------------------------------------------

  async boardsForUser(userId: string): Promise<BoardSummary[]> {
    const rows = await this.db.read((sql) =>
      sql`SELECT boards.*, m.role, coalesce(seen.cursor, 0) AS seen_cursor, (
          SELECT count(*) FROM (SELECT 1 FROM events WHERE events.board_id = boards.id
            AND events.seq > greatest(coalesce(seen.cursor, 0), m.added_after)
            AND events.actor_id IS DISTINCT FROM m.user_id LIMIT ${UNREAD_COUNT_MAX}) AS recent
        ) AS unread
        FROM boards JOIN board_members AS m ON m.board_id = boards.id
        LEFT JOIN board_seen AS seen ON seen.board_id = boards.id AND seen.user_id = m.user_id
        WHERE m.user_id = ${userId} ORDER BY boards.created_at, boards.id COLLATE "C"`
    );
    return rows.map((r) => ({
      ...toBoard(r),
      role: r.role as Role,
      seenCursor: Number(r.seen_cursor),
      unread: Number(r.unread),
    }));
  }

  async memberRole(boardId: string, userId: string): Promise<Role | null> {
    const [row] = await this.db.read((sql) =>
      sql`SELECT role FROM board_members WHERE board_id = ${boardId} AND user_id = ${userId}`
    );
    return row ? row.role as Role : null;
  }

  /** The board's rows and the head, read on `sql` (one transaction's snapshot). */
  async #snapshot(sql: Sql, boardId: string): Promise<Snapshot | null> {
    const [board] = await sql`SELECT * FROM boards WHERE id = ${boardId}`;
    if (!board) return null;
    const lists = await sql`SELECT * FROM lists WHERE board_id = ${boardId} ORDER BY position`;
    const [{ seq }] = await sql`SELECT seq FROM event_head WHERE id = 1`;
    return {
      board: toBoard(board),
      lists: lists.map(toList),
      tasks: await this.#tasksForBoard(sql, boardId),
      members: await this.#members(sql, boardId),
      conflicts: (await sql`SELECT * FROM task_conflicts WHERE board_id = ${boardId}
        ORDER BY created_at, id COLLATE "C"`).map(toConflict),
      cursor: Number(seq),
    };
  }

  snapshot(boardId: string): Promise<Snapshot | null> {
    return this.db.read((sql) =>
      sql.begin(
        "isolation level repeatable read read only",
        // deno-lint-ignore no-explicit-any
        (tx) => this.#snapshot(tx as any, boardId),
      ) as Promise<Snapshot | null>
    );
  }

  async createBoard(
    actorId: string,
    title: string,
    options?: MutationOptions,
  ): Promise<Mutation<Snapshot>> {
    const boardId = newId("board");
    const mutation = await this.#mutate(actorId, options, null, async (sql) => {
      // The owner's boards are counted under a lock on the owner, so two creates at once
      // cannot both pass the limit.
      const [{ owned }] = await sql`SELECT pg_advisory_xact_lock(hashtext(${`owner:${actorId}`})),
          (SELECT count(*) FROM boards WHERE owner_id = ${actorId}) AS owned`;
      checkLimit("boardsPerUser", Number(owned), this.limits.boardsPerUser);
      const at = now();
      const [row] = await sql`INSERT INTO boards (id, title, owner_id, created_at, updated_at)
        VALUES (${boardId}, ${title}, ${actorId}, ${at}, ${at}) RETURNING *`;
      await sql`INSERT INTO board_members (board_id, user_id, role, added_at)
        VALUES (${boardId}, ${actorId}, 'owner', ${at})`;
      for (const [position, listTitle] of DEFAULT_LISTS.entries()) {
        await sql`INSERT INTO lists (id, board_id, title, position, created_at, updated_at)
          VALUES (${newId("list")}, ${boardId}, ${listTitle}, ${position}, ${at}, ${at})`;
      }
      const snapshot = (await this.#snapshot(sql, boardId))!;
      const { lists, members } = snapshot;
      return { value: snapshot, event: boardEvents.boardCreated(toBoard(row), lists, members) };
    });
    // The seq is given at the end of the batch: the new board's snapshot is as of its event.
    return { ...mutation, value: { ...mutation.value, cursor: mutation.event.id } };
  }

  renameBoard(
    actorId: string,
    boardId: string,
    title: string,
    options?: MutationOptions,
  ): Promise<Mutation<Board>> {
    return this.#mutate(actorId, options, { boardId }, async (sql) => {
      await this.#requireRole(sql, boardId, actorId, "owner", "Board", boardId);
      const [before] = await sql`SELECT * FROM boards WHERE id = ${boardId}`;
      const [row] = await sql`UPDATE boards SET title = ${title}, updated_at = ${now()}
        WHERE id = ${boardId} RETURNING *`;
      const board = toBoard(row);
      return { value: board, event: boardEvents.boardUpdated(board, toBoard(before)) };
    });
  }

  deleteBoard(
    actorId: string,
    boardId: string,
    options?: MutationOptions,
  ): Promise<Mutation<{ boardId: string }>> {
    return this.#mutate(actorId, options, { boardId }, async (sql) => {
      await this.#requireRole(sql, boardId, actorId, "owner", "Board", boardId);
      await sql`DELETE FROM boards WHERE id = ${boardId}`;
      return { value: { boardId }, event: boardEvents.boardDeleted(boardId) };
    });
  }

  async #members(sql: Sql, boardId: string): Promise<Member[]> {
    const rows = await sql`SELECT board_members.*, users.name, users.email FROM board_members
      JOIN users ON users.id = board_members.user_id
      WHERE board_members.board_id = ${boardId} ORDER BY board_members.added_at, users.name COLLATE "C"`;
    return rows.map(toMember);
  }

  listMembers(boardId: string): Promise<Member[]> {
    return this.db.read((sql) => this.#members(sql, boardId));
  }

  async #member(sql: Sql, boardId: string, userId: string): Promise<Member | null> {
    const [row] = await sql`SELECT board_members.*, users.name, users.email FROM board_members
      JOIN users ON users.id = board_members.user_id
      WHERE board_members.board_id = ${boardId} AND board_members.user_id = ${userId}`;
    return row ? toMember(row) : null;
  }

  addMember(
    actorId: string,
    boardId: string,
    userId: string,
    options?: MutationOptions,
  ): Promise<Mutation<Member>> {
    return this.#mutate(actorId, options, { boardId }, async (sql) => {
      await this.#requireRole(sql, boardId, actorId, "owner", "Board", boardId);
      try {
        await sql`INSERT INTO board_members (board_id, user_id, role, added_at, added_after)
          VALUES (${boardId}, ${userId}, 'member', ${now()},
            (SELECT seq FROM event_head WHERE id = 1))`;
      } catch (error) {
        if (isUniqueViolation(error)) throw alreadyMember(userId);
        throw error;
      }
      const member = (await this.#member(sql, boardId, userId))!;
      return { value: member, event: boardEvents.memberAdded(member) };
    });
  }

  removeMember(
    actorId: string,
    boardId: string,
    userId: string,
    options?: MutationOptions,
  ): Promise<Mutation<Member>> {
    return this.#mutate(actorId, options, { boardId }, async (sql) => {
      // Members may remove themselves (leave); only the owner removes others.
      const need = userId === actorId ? "member" : "owner";
      await this.#requireRole(sql, boardId, actorId, need, "Board", boardId);
      const member = checkRemovable(await this.#member(sql, boardId, userId), userId);
      await sql`DELETE FROM board_members WHERE board_id = ${boardId} AND user_id = ${userId}`;
      return { value: member, event: boardEvents.memberRemoved(member) };
    });
  }

  // ---- lists ------------------------------------------------------------------------------

  /** How many lists the board has. */
  async #countLists(sql: Sql, boardId: string): Promise<number> {
    const [{ n }] = await sql`SELECT count(*) AS n FROM lists WHERE board_id = ${boardId}`;
    return Number(n);
  }

  /**
   * The list, when the actor is a member of its board: one statement, since a missing list and
   * a non-member are the same not_found.
   */
  async #loadList(sql: Sql, listId: string, actorId: string): Promise<List> {
    const [row] = await sql`SELECT lists.* FROM lists
      JOIN board_members ON board_members.board_id = lists.board_id
        AND board_members.user_id = ${actorId}
      WHERE lists.id = ${listId}`;
    if (!row) throw notFound("List", listId);
    return toList(row);
  }

  createList(
    actorId: string,
    boardId: string,
    title: string,
    position?: number,
    options?: MutationOptions,
  ): Promise<Mutation<List>> {
    return this.#mutate(actorId, options, { boardId }, async (sql) => {
      await this.#requireRole(sql, boardId, actorId, "member", "Board", boardId);
      const count = await this.#countLists(sql, boardId);
      checkLimit("listsPerBoard", count, this.limits.listsPerBoard);
      const at = placeAt(position, count);
      await sql`UPDATE lists SET position = position + 1
        WHERE board_id = ${boardId} AND position >= ${at}`;
      const stamp = now();
      const [row] = await sql`INSERT INTO lists (id, board_id, title, position, created_at,
          updated_at) VALUES (${newId("list")}, ${boardId}, ${title}, ${at}, ${stamp}, ${stamp})
        RETURNING *`;
      const list = toList(row);
      return { value: list, event: boardEvents.listCreated(list) };
    });
  }

  updateList(
    actorId: string,
    listId: string,
    changes: ListChanges,
    options?: MutationOptions,
  ): Promise<Mutation<List>> {
    return this.#mutate(actorId, options, { listId }, async (sql) => {
      let current = await this.#loadList(sql, listId, actorId);
      if (changes.position !== undefined) {
        const count = await this.#countLists(sql, current.boardId);
        current = toList((await sql`SELECT * FROM lists WHERE id = ${listId}`)[0]);
        const from = current.position;
        const to = clamp(changes.position, 0, count - 1);
        if (to > from) {
          await sql`UPDATE lists SET position = position - 1 WHERE board_id = ${current.boardId}
            AND position > ${from} AND position <= ${to}`;
        } else if (to < from) {
          await sql`UPDATE lists SET position = position + 1 WHERE board_id = ${current.boardId}
            AND position >= ${to} AND position < ${from}`;
        }
        await sql`UPDATE lists SET position = ${to} WHERE id = ${listId}`;
      }
      const [row] = await sql`UPDATE lists SET title = coalesce(${changes.title ?? null}, title),
        updated_at = ${now()} WHERE id = ${listId} RETURNING *`;
      const list = toList(row);
      const event = changes.position !== undefined
        ? boardEvents.listMoved(list, current)
        : boardEvents.listUpdated(list, current);
      return { value: list, event };
    });
  }

  deleteList(actorId: string, listId: string, options?: MutationOptions): Promise<Mutation<List>> {
    return this.#mutate(actorId, options, { listId }, async (sql) => {
      const { list, tasks } = await this.#shelveList(sql, actorId, listId, false);
      return { value: list, event: boardEvents.listDeleted(list, tasks) };
    });
  }

  archiveList(actorId: string, listId: string, options?: MutationOptions): Promise<Mutation<List>> {
    return this.#mutate(actorId, options, { listId }, async (sql) => {
      const { list, tasks } = await this.#shelveList(sql, actorId, listId, true);
      return { value: list, event: boardEvents.listArchived(list, tasks) };
    });
  }

  /** Takes a list and its cards off the board into the trash (or the archive). */
  async #shelveList(sql: Sql, actorId: string, listId: string, archived: boolean) {
    const list = await this.#loadList(sql, listId, actorId);
    const [row] = await sql`SELECT * FROM lists WHERE id = ${listId}`;
    // One ordered walk of the list (a correlated count per card would be quadratic).
    const taskRows = await sql`SELECT tasks.*,
        row_number() OVER (ORDER BY rank, id) - 1 AS position
      FROM tasks WHERE list_id = ${listId} ORDER BY rank, id`;
    await this.#toShelf(sql, actorId, list.boardId, "list", listId, null, list.title, {
      list: row,
      tasks: taskRows,
    }, archived);
    await sql`DELETE FROM lists WHERE id = ${listId}`;
    await sql`UPDATE lists SET position = position - 1
      WHERE board_id = ${list.boardId} AND position > ${list.position}`;
    return { list, tasks: taskRows.map(toTask) };
  }

  // ---- tasks ------------------------------------------------------------------------------

  async #task(sql: Sql, taskId: string): Promise<Task | null> {
    const [row] = await sql`SELECT ${taskWithPosition(sql)} FROM tasks WHERE id = ${taskId}`;
    return row ? toTask(row) : null;
  }

  async #tasksForBoard(sql: Sql, boardId: string): Promise<Task[]> {
    const rows = await sql`SELECT tasks.*,
        row_number() OVER (PARTITION BY tasks.list_id ORDER BY tasks.rank, tasks.id) - 1 AS position
      FROM tasks JOIN lists ON lists.id = tasks.list_id
      WHERE tasks.board_id = ${boardId} ORDER BY lists.position, position`;
    return rows.map(toTask);
  }

  getTask(taskId: string): Promise<Task | null> {
    return this.db.read((sql) => this.#task(sql, taskId));
  }

  async taskForMember(taskId: string, userId: string) {
    const [row] = await this.db.read((sql) =>
      sql`SELECT ${taskWithPosition(sql)}, board_members.role AS member_role FROM tasks
        JOIN board_members ON board_members.board_id = tasks.board_id
          AND board_members.user_id = ${userId}
        WHERE tasks.id = ${taskId}`
    );
    return row ? { task: toTask(row), role: row.member_role as Role } : null;
  }

  tasksForBoard(boardId: string): Promise<Task[]> {
    return this.db.read((sql) => this.#tasksForBoard(sql, boardId));
  }

  async tasksUpdatedSince(boardId: string, since: Date): Promise<Task[]> {
    const rows = await this.db.read((sql) =>
      sql`SELECT ${taskWithPosition(sql)} FROM tasks
        WHERE board_id = ${boardId} AND updated_at > ${since.toISOString()}
        ORDER BY updated_at, id`
    );
    return rows.map(toTask);
  }

  /**
   * Where a task goes in a list: a rank between its neighbours at `position` (the end when
   * omitted), and the dense position that gives. The probe (`placementProbe`) came with the
   * mutation's first read; when no double is left between the neighbours (rules.ts `ranks`),
   * the list is renumbered and probed again.
   */
  async #place(
    sql: Sql,
    probe: Row,
    listId: string,
    taskId: string,
    position: number | undefined,
  ): Promise<{ rank: number; position: number }> {
    const at = placeAt(position, placeStats(probe)[0]);
    let rank = rankAt(probe, at);
    if (rank === null) {
      await sql`UPDATE tasks SET rank = ordered.n FROM (
          SELECT id, row_number() OVER (ORDER BY rank, id) - 1 AS n
          FROM tasks WHERE list_id = ${listId} AND id <> ${taskId}
        ) AS ordered WHERE tasks.id = ordered.id`;
      // Whole numbers apart now: there is a midpoint.
      const [again] = await sql`SELECT ${placementProbe(sql, listId, taskId, position)}`;
      rank = rankAt(again, at)!;
    }
    return { rank, position: at };
  }

  createTask(actorId: string, input: NewTask, options?: MutationOptions): Promise<Mutation<Task>> {
    const id = newId("task");
    return this.#mutate(actorId, options, { listId: input.listId }, async (sql) => {
      // One read: the list (when the actor is a member), whether the assignee is one, and
      // where the task goes.
      const assigneeId = input.assigneeId ?? null;
      const [row] = await sql`SELECT lists.board_id,
          EXISTS (SELECT 1 FROM board_members AS assignee WHERE assignee.board_id = lists.board_id
            AND assignee.user_id = ${assigneeId}) AS assignee_ok,
          (SELECT coalesce(sum(task_count), 0) FROM lists AS board_lists
            WHERE board_lists.board_id = lists.board_id) AS board_cards,
          ${placementProbe(sql, input.listId, id, input.position)}
        FROM lists JOIN board_members ON board_members.board_id = lists.board_id
          AND board_members.user_id = ${actorId}
        WHERE lists.id = ${input.listId}`;
      if (!row) throw notFound("List", input.listId);
      checkAssignee(assigneeId, row.assignee_ok);
      checkLimit("cardsPerBoard", Number(row.board_cards), this.limits.cardsPerBoard);
      const { rank, position } = await this.#place(sql, row, input.listId, id, input.position);
      const stamp = now();
      const [task] = await sql`INSERT INTO tasks (id, board_id, list_id, title, description,
          assignee_id, rank, version, created_by, created_at, updated_at)
        VALUES (${id}, ${row.board_id}, ${input.listId}, ${input.title},
          ${input.description ?? ""}, ${assigneeId}, ${rank}, 1, ${actorId}, ${stamp}, ${stamp})
        RETURNING *`;
      const created = toTask({ ...task, position });
      return { value: created, event: boardEvents.taskCreated(created) };
    }, createTaskStatement(actorId, id, input, now(), this.limits.cardsPerBoard));
  }

  /**
   * The task, when the actor is a member of its board: one statement, since a missing task and
   * a non-member are the same not_found. `extra` adds columns to the same read.
   */
  async #loadTask(sql: Sql, taskId: string, actorId: string, extra = sql``) {
    const [row] = await sql`SELECT ${taskWithPosition(sql)} ${extra} FROM tasks
      JOIN board_members ON board_members.board_id = tasks.board_id
        AND board_members.user_id = ${actorId}
      WHERE tasks.id = ${taskId}`;
    if (!row) throw notFound("Task", taskId);
    return { task: toTask(row), row };
  }

  updateTask(
    actorId: string,
    taskId: string,
    changes: TaskChanges,
    options?: MutationOptions,
  ): Promise<Mutation<Task>> {
    return this.#mutate(actorId, options, { taskId }, async (sql) => {
      const assigneeId = changes.assigneeId ?? null;
      const { task: current, row } = await this.#loadTask(
        sql,
        taskId,
        actorId,
        sql`, EXISTS (SELECT 1 FROM board_members AS assignee
          WHERE assignee.board_id = tasks.board_id AND assignee.user_id = ${assigneeId})
          AS assignee_ok`,
      );
      checkVersion(current, changes.version);
      checkAssignee(assigneeId, row.assignee_ok);
      const assignee = changes.assigneeId === undefined ? current.assigneeId : changes.assigneeId;
      const [updated] = await sql`UPDATE tasks SET title = ${changes.title ?? current.title},
          description = ${changes.description ?? current.description},
          assignee_id = ${assignee}, version = version + 1, updated_at = ${now()}
        WHERE id = ${taskId} RETURNING *`;
      const task = toTask({ ...updated, position: current.position }); // An edit does not move it.
      return { value: task, event: boardEvents.taskUpdated(task, current) };
    }, updateTaskStatement(actorId, taskId, changes, now()));
  }

  moveTask(
    actorId: string,
    taskId: string,
    move: TaskMove,
    options?: MutationOptions,
  ): Promise<Mutation<Task>> {
    return this.#mutate(actorId, options, { taskId }, async (sql) => {
      // One read: the task (when the actor is a member), the target list, where it goes there.
      const { task: current, row } = await this.#loadTask(
        sql,
        taskId,
        actorId,
        sql`, (SELECT row_to_json(lists) FROM lists WHERE lists.id = ${move.listId}) AS target,
          ${placementProbe(sql, move.listId, taskId, move.position)}`,
      );
      checkVersion(current, move.version);
      const target = checkSameBoard(current, row.target ? toList(row.target) : null, move.listId);
      const { rank, position } = await this.#place(sql, row, target.id, taskId, move.position);
      const [moved] = await sql`UPDATE tasks SET list_id = ${target.id}, rank = ${rank},
          version = version + 1, updated_at = ${now()}
        WHERE id = ${taskId} RETURNING *`;
      const task = toTask({ ...moved, position });
      return { value: task, event: boardEvents.taskMoved(task, current) };
    }, moveTaskStatement(actorId, taskId, move, now()));
  }

  deleteTask(
    actorId: string,
    taskId: string,
    options?: MutationOptions,
    version?: number,
  ): Promise<Mutation<Task>> {
    const stamp = now();
    return this.#mutate(actorId, options, { taskId }, async (sql) => {
      const task = await this.#shelveTask(sql, actorId, taskId, version, false);
      return { value: task, event: boardEvents.taskDeleted(task) };
    }, deleteTaskStatement(actorId, taskId, version, stamp));
  }

  archiveTask(
    actorId: string,
    taskId: string,
    options?: MutationOptions,
    version?: number,
  ): Promise<Mutation<Task>> {
    return this.#mutate(actorId, options, { taskId }, async (sql) => {
      const task = await this.#shelveTask(sql, actorId, taskId, version, true);
      return { value: task, event: boardEvents.taskArchived(task) };
    });
  }

  /** Takes a card off the board into the trash (or the archive). */
  async #shelveTask(
    sql: Sql,
    actorId: string,
    taskId: string,
    version: number | undefined,
    archived: boolean,
  ): Promise<Task> {
    const { task, row } = await this.#loadTask(sql, taskId, actorId);
    checkVersion(task, version);
    const { boardId, listId, title } = task;
    await this.#toShelf(sql, actorId, boardId, "task", taskId, listId, title, row, archived);
    await sql`DELETE FROM tasks WHERE id = ${taskId}`;
    return task;
  }

  // ---- trash and archive ----------------------------------------------------------------------

  /** Keeps a deleted or archived card or list (`content`: its rows). */
  async #toShelf(
    sql: Sql,
    actorId: string,
    boardId: string,
    kind: "task" | "list",
    id: string,
    listId: string | null,
    title: string,
    content: unknown,
    archived: boolean,
  ): Promise<void> {
    await sql`INSERT INTO trash (item_id, board_id, kind, list_id, title, content, deleted_by,
        deleted_at, archived)
      VALUES (${id}, ${boardId}, ${kind}, ${listId}, ${title}, ${JSON.stringify(content)},
        ${actorId}, ${now()}, ${archived})`;
  }

  /** Takes a trash (or archive) row of this kind out, when the actor is a member of its board. */
  async #fromShelf(
    sql: Sql,
    kind: "task" | "list",
    id: string,
    actorId: string,
    archived: boolean,
  ) {
    const what = `${kind === "task" ? "Task" : "List"} in the ${archived ? "archive" : "trash"}`;
    const [row] = await sql`DELETE FROM trash USING board_members
      WHERE trash.item_id = ${id} AND trash.kind = ${kind} AND trash.archived = ${archived}
        AND board_members.board_id = trash.board_id AND board_members.user_id = ${actorId}
      RETURNING trash.*`;
    if (!row) throw notFound(what, id);
    return toTrashItem(row);
  }

  /**
   * The board a trash or archive item belongs to: its mutation's lock scope. Looked up before
   * the transaction (an item never changes board); none is `not_found` at once, so a restore
   * never runs without its board's lock.
   */
  async #trashScope(id: string): Promise<Scope> {
    const [row] = await this.db.read((sql) =>
      sql`SELECT board_id FROM trash WHERE item_id = ${id}`
    );
    if (!row) throw notFound("Item in the trash or the archive", id);
    return { boardId: row.board_id };
  }

  /** Inserts a card back with its id and content into `listId` at `rank`, one version on. */
  async #insertRestored(
    sql: Sql,
    task: Task,
    listId: string,
    rank: number,
    position: number,
  ): Promise<Task> {
    const [row] = await sql`INSERT INTO tasks (id, board_id, list_id, title, description,
        assignee_id, rank, version, created_by, created_at, updated_at)
      SELECT ${task.id}, ${task.boardId}, ${listId}, ${task.title}, ${task.description},
        (SELECT user_id FROM board_members WHERE board_id = ${task.boardId}
          AND user_id = ${task.assigneeId}),
        ${rank}, ${task.version + 1}, ${task.createdBy}, ${task.createdAt}, ${now()}
      RETURNING *`;
    return toTask({ ...row, position });
  }

  async #cardCount(sql: Sql, boardId: string): Promise<number> {
    const [{ n }] = await sql`SELECT coalesce(sum(task_count), 0) AS n FROM lists
      WHERE board_id = ${boardId}`;
    return Number(n);
  }

  async restoreTask(
    actorId: string,
    taskId: string,
    options?: MutationOptions,
    version?: number,
  ): Promise<Mutation<Task>> {
    return this.#mutate(actorId, options, await this.#trashScope(taskId), async (sql) => {
      const task = await this.#unshelveTask(sql, actorId, taskId, false, version);
      return { value: task, event: boardEvents.taskRestored(task) };
    });
  }

  async unarchiveTask(
    actorId: string,
    taskId: string,
    options?: MutationOptions,
    version?: number,
  ): Promise<Mutation<Task>> {
    return this.#mutate(actorId, options, await this.#trashScope(taskId), async (sql) => {
      const task = await this.#unshelveTask(sql, actorId, taskId, true, version);
      return { value: task, event: boardEvents.taskUnarchived(task) };
    });
  }

  /** Puts a card from the trash (or the archive) back at its old place. */
  async #unshelveTask(
    sql: Sql,
    actorId: string,
    taskId: string,
    archived: boolean,
    version?: number,
  ) {
    const item = await this.#fromShelf(sql, "task", taskId, actorId, archived);
    if (item.kind !== "task") throw notFound("Task", taskId);
    const card = item.task;
    checkVersion(card, version);
    const [row] = await sql`SELECT lists.id, lists.board_id,
        ${placementProbe(sql, card.listId, card.id, card.position)}
      FROM lists WHERE lists.id = ${card.listId} AND lists.board_id = ${item.boardId}`;
    if (!row) throw listGone(card);
    checkLimit(
      "cardsPerBoard",
      await this.#cardCount(sql, item.boardId),
      this.limits.cardsPerBoard,
    );
    const { rank, position } = await this.#place(sql, row, card.listId, card.id, card.position);
    return await this.#insertRestored(sql, card, card.listId, rank, position);
  }

  async restoreList(
    actorId: string,
    listId: string,
    options?: MutationOptions,
  ): Promise<Mutation<{ list: List; tasks: Task[] }>> {
    return this.#mutate(actorId, options, await this.#trashScope(listId), async (sql) => {
      const { list, tasks } = await this.#unshelveList(sql, actorId, listId, false);
      return { value: { list, tasks }, event: boardEvents.listRestored(list, tasks) };
    });
  }

  async unarchiveList(
    actorId: string,
    listId: string,
    options?: MutationOptions,
  ): Promise<Mutation<{ list: List; tasks: Task[] }>> {
    return this.#mutate(actorId, options, await this.#trashScope(listId), async (sql) => {
      const { list, tasks } = await this.#unshelveList(sql, actorId, listId, true);
      return { value: { list, tasks }, event: boardEvents.listUnarchived(list, tasks) };
    });
  }

  /** Puts a list from the trash (or the archive) back at its old place, with its cards. */
  async #unshelveList(sql: Sql, actorId: string, listId: string, archived: boolean) {
    const item = await this.#fromShelf(sql, "list", listId, actorId, archived);
    if (item.kind !== "list") throw notFound("List", listId);
    const count = await this.#countLists(sql, item.boardId);
    checkLimit("listsPerBoard", count, this.limits.listsPerBoard);
    const cards = await this.#cardCount(sql, item.boardId) + item.tasks.length - 1;
    checkLimit("cardsPerBoard", Math.max(cards, 0), this.limits.cardsPerBoard);
    const at = placeAt(item.list.position, count);
    await sql`UPDATE lists SET position = position + 1
      WHERE board_id = ${item.boardId} AND position >= ${at}`;
    const [row] = await sql`INSERT INTO lists (id, board_id, title, position, created_at,
        updated_at)
      VALUES (${listId}, ${item.boardId}, ${item.list.title}, ${at}, ${item.list.createdAt},
        ${now()})
      RETURNING *`;
    const list = toList(row);
    const saved = item.tasks;
    if (saved.length === 0) return { list, tasks: [] };
    // One statement for all the cards; ranks 0..n-1 in their old order give positions 0..n-1.
    const rows = await sql`INSERT INTO tasks (id, board_id, list_id, title, description,
        assignee_id, rank, version, created_by, created_at, updated_at)
      SELECT c.id, ${item.boardId}, ${listId}, c.title, c.description,
        (SELECT user_id FROM board_members WHERE board_id = ${item.boardId}
          AND user_id = c.assignee_id),
        c.ord - 1, c.version + 1, c.created_by, c.created_at, ${now()}
      FROM unnest(
        ${saved.map((t) => t.id)}::text[],
        ${saved.map((t) => t.title)}::text[],
        ${saved.map((t) => t.description)}::text[],
        ${saved.map((t) => t.assigneeId)}::text[],
        ${saved.map((t) => t.version)}::int[],
        ${saved.map((t) => t.createdBy)}::text[],
        ${saved.map((t) => t.createdAt)}::timestamptz[]
      ) WITH ORDINALITY AS c(id, title, description, assignee_id, version, created_by,
        created_at, ord)
      RETURNING *`;
    const tasks = rows.map((r) => toTask({ ...r, position: Number(r.rank) }))
      .sort((a, b) => a.position - b.position);
    return { list, tasks };
  }

  trash(boardId: string, query: ShelfQuery): Promise<ShelfPage> {
    return pageShelf(this.#shelf(boardId, false, query.since), query);
  }

  archive(boardId: string, query: ShelfQuery): Promise<ShelfPage> {
    return pageShelf(this.#shelf(boardId, true, query.since), query);
  }

  /** Reads the trash or the archive newest first (by insertion), from `since` on. */
  #shelf(boardId: string, archived: boolean, since?: string): ShelfReader {
    return async (before, n) => {
      const rows = await this.db.read((sql) =>
        sql`SELECT * FROM trash WHERE board_id = ${boardId} AND archived = ${archived}
          ${before === null ? sql`` : sql`AND ord < ${before}`}
          ${since === undefined ? sql`` : sql`AND deleted_at >= ${since}`}
          ORDER BY ord DESC LIMIT ${n}`
      );
      return rows.map((row) => ({ key: Number(row.ord), item: toTrashItem(row) }));
    };
  }

  // ---- conflicts ----------------------------------------------------------------------------

  recordConflict(
    actorId: string,
    taskId: string,
    input: { field: ConflictField; value: string; baseVersion: number },
    options?: MutationOptions,
  ): Promise<Mutation<Conflict>> {
    return this.#mutate(actorId, options, { taskId }, async (sql) => {
      const { task, row: counted } = await this.#loadTask(
        sql,
        taskId,
        actorId,
        sql`, (SELECT count(*) FROM task_conflicts WHERE task_id = tasks.id) AS open_conflicts`,
      );
      checkLimit("conflictsPerCard", Number(counted.open_conflicts), CONFLICTS_PER_CARD);
      const [row] = await sql`INSERT INTO task_conflicts (id, board_id, task_id, field, value,
          author_id, base_version, created_at)
        VALUES (${newId("conflict")}, ${task.boardId}, ${taskId}, ${input.field}, ${input.value},
          ${actorId}, ${input.baseVersion}, ${now()})
        RETURNING *`;
      const conflict = toConflict(row);
      return { value: conflict, event: boardEvents.conflictRecorded(conflict) };
    });
  }

  async resolveConflict(
    actorId: string,
    conflictId: string,
    options?: MutationOptions,
  ): Promise<Mutation<Conflict>> {
    // The board's lock is the scope: looked up first (a conflict never changes board).
    const [found] = await this.db.read((sql) =>
      sql`SELECT board_id FROM task_conflicts WHERE id = ${conflictId}`
    );
    if (!found) throw notFound("Conflict", conflictId); // No scope, no lock: refused at once.
    return this.#mutate(actorId, options, { boardId: found.board_id }, async (sql) => {
      const [row] = await sql`DELETE FROM task_conflicts USING board_members
        WHERE task_conflicts.id = ${conflictId}
          AND board_members.board_id = task_conflicts.board_id
          AND board_members.user_id = ${actorId}
        RETURNING task_conflicts.*`;
      if (!row) throw notFound("Conflict", conflictId);
      const conflict = toConflict(row);
      return { value: conflict, event: boardEvents.conflictResolved(conflict) };
    });
  }

  // ---- history ------------------------------------------------------------------------------

  async history(boardId: string, query: HistoryQuery, floor: number): Promise<BoardEvent[]> {
    const rows = await this.db.read((sql) =>
      sql`SELECT * FROM events WHERE board_id = ${boardId}
        AND seq > ${Math.max(floor, query.after ?? 0)}
        ${query.before === undefined ? sql`` : sql`AND seq < ${query.before}`}
        ${query.subjectId === undefined ? sql`` : sql`AND subject_id = ${query.subjectId}`}
        ${query.revertOf === undefined ? sql`` : sql`AND revert_of = ${query.revertOf}`}
        ${query.actorId === undefined ? sql`` : sql`AND actor_id = ${query.actorId}`}
        ORDER BY seq DESC LIMIT ${query.limit}`
    );
    return rows.map(toEvent);
  }

  async eventOf(boardId: string, seq: number): Promise<BoardEvent | null> {
    const [row] = await this.db.read((sql) =>
      sql`SELECT * FROM events WHERE seq = ${seq} AND board_id = ${boardId}`
    );
    return row ? toEvent(row) : null;
  }

  async markSeen(boardId: string, userId: string, cursor: number): Promise<number> {
    const [row] = await this.db.read((sql) =>
      sql`INSERT INTO board_seen (board_id, user_id, cursor) VALUES (${boardId}, ${userId},
          ${cursor})
        ON CONFLICT (board_id, user_id)
          DO UPDATE SET cursor = greatest(board_seen.cursor, excluded.cursor)
        RETURNING cursor`
    );
    return Number(row.cursor);
  }

  // ---- event log --------------------------------------------------------------------------

  async cursor(): Promise<number> {
    const [{ seq }] = await this.db.read((sql) => sql`SELECT seq FROM event_head WHERE id = 1`);
    return Number(seq);
  }

  async eventsAfter(
    boardIds: readonly string[] | null,
    after: number,
    limit: number,
  ): Promise<EventPage> {
    // One statement, so the page and the horizon come from the same snapshot: a prune commits
    // its deletes and its new horizons together, and this sees both or neither.
    const rows = await this.db.read((sql) =>
      boardIds === null
        ? sql`SELECT h.pruned_through, e.* FROM event_horizon h LEFT JOIN LATERAL (
            SELECT * FROM events WHERE seq > ${after} ORDER BY seq LIMIT ${limit}
          ) e ON true`
        : sql`SELECT ${boardsHorizon(sql, boardIds)} AS pruned_through, e.*
          FROM event_horizon h LEFT JOIN LATERAL (
            SELECT * FROM events WHERE board_id = ANY(${boardIds as string[]}::text[])
              AND seq > ${after} ORDER BY seq LIMIT ${limit}
          ) e ON true`
    );
    return {
      events: rows.filter((row) => row.seq !== null).map(toEvent),
      prunedThrough: Number(rows[0].pruned_through),
    };
  }

  async prunedThrough(boardIds: readonly string[] | null = null): Promise<number> {
    const [{ pruned_through }] = await this.db.read((sql) =>
      boardIds === null
        ? sql`SELECT pruned_through FROM event_horizon WHERE id = 1`
        : sql`SELECT ${boardsHorizon(sql, boardIds)} AS pruned_through
          FROM event_horizon h WHERE id = 1`
    );
    return Number(pruned_through);
  }

  async prune(policy: RetentionPolicy): Promise<number> {
    await this.db.read((sql) =>
      sql`DELETE FROM idempotency_keys
        WHERE created_at < ${new Date(Date.now() - IDEMPOTENCY_KEEP_MS).toISOString()}`
    );
    await this.db.read((sql) =>
      sql`DELETE FROM trash WHERE NOT archived
        AND deleted_at < ${new Date(Date.now() - TRASH_KEEP_MS).toISOString()}`
    );
    return this.db.transaction(async (sql) => {
      // One instance prunes at a time; the others skip this round rather than queue up.
      const [{ locked }] = await sql`SELECT
        pg_try_advisory_xact_lock(hashtext(${"liveboard-prune:" + this.db.schema})) AS locked`;
      if (!locked) return 0;
      const cutoff = new Date(Date.now() - policy.maxAgeMs).toISOString();
      const [{ seq: head }] = await sql`SELECT seq FROM event_head WHERE id = 1`;
      const [{ seq: byAge }] = await sql`SELECT coalesce(max(seq), 0) AS seq FROM events
        WHERE created_at < ${cutoff}`;
      const [horizons] = await sql`SELECT pruned_through, all_pruned_through, pruned_at_head
        FROM event_horizon WHERE id = 1 FOR UPDATE`;
      const through = Math.max(Number(head) - policy.maxCount, Number(byAge), 0);
      const keep = policy.keepPerBoard ?? 0;
      if (keep === 0) {
        // Every board alike: one range, one horizon for all.
        if (through <= Number(horizons.all_pruned_through)) return 0;
        const deleted = await sql`DELETE FROM events WHERE seq <= ${through}`;
        await sql`UPDATE event_horizon SET all_pruned_through = ${through},
          pruned_through = greatest(pruned_through, ${through}) WHERE id = 1`;
        await sql`DELETE FROM board_horizon WHERE pruned_through <= ${through}`;
        return deleted.count;
      }
      // The boards whose prunable events may have changed since the last prune: those with
      // events newly at or below `through`, and those with events since (their newest `keep`
      // moved on, or the board was deleted). Each may go through `through`, but short of its
      // newest `keep` while the board exists.
      const [{ gone, top }] = await sql`WITH changed AS (
          SELECT board_id FROM events WHERE seq > ${horizons.pruned_through} AND seq <= ${through}
          UNION SELECT board_id FROM events WHERE seq > ${horizons.pruned_at_head}
        ), limits AS (
          SELECT c.board_id, CASE
            WHEN NOT EXISTS (SELECT 1 FROM boards WHERE id = c.board_id) THEN ${through}::bigint
            ELSE least(${through}::bigint, coalesce((SELECT seq - 1 FROM events e
              WHERE e.board_id = c.board_id ORDER BY seq DESC OFFSET ${keep - 1} LIMIT 1), 0))
          END AS up_to FROM changed c
        ), deleted AS (
          DELETE FROM events e USING limits l WHERE e.board_id = l.board_id AND e.seq <= l.up_to
          RETURNING e.board_id
        ), pruned AS (
          SELECT l.board_id, l.up_to FROM limits l
          WHERE EXISTS (SELECT 1 FROM deleted d WHERE d.board_id = l.board_id)
        ), moved AS (
          INSERT INTO board_horizon (board_id, pruned_through) SELECT board_id, up_to FROM pruned
          ON CONFLICT (board_id) DO UPDATE
            SET pruned_through = greatest(board_horizon.pruned_through, excluded.pruned_through)
        )
        SELECT (SELECT count(*) FROM deleted) AS gone,
          (SELECT coalesce(max(up_to), 0) FROM pruned) AS top`;
      await sql`UPDATE event_horizon SET pruned_through = greatest(pruned_through, ${top}::bigint),
        pruned_at_head = ${head} WHERE id = 1`;
      // A deleted board whose events are all gone needs no horizon: no one can read it.
      await sql`DELETE FROM board_horizon h
        WHERE NOT EXISTS (SELECT 1 FROM boards WHERE id = h.board_id)
          AND NOT EXISTS (SELECT 1 FROM events e WHERE e.board_id = h.board_id)`;
      return Number(gone);
    });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/**
 * The prune horizon of these boards, as an expression over `event_horizon h`: the highest of
 * theirs and of the seq through which every board was pruned (EventPage.prunedThrough).
 */
function boardsHorizon(sql: Sql, boardIds: readonly string[]) {
  return sql`greatest(h.all_pruned_through, (SELECT max(pruned_through) FROM board_horizon
    WHERE board_id = ANY(${boardIds as string[]}::text[])))`;
}
