/**
 * Board actions: the one implementation of every read and mutation, with its validation and
 * authorization, behind both doors (REST routes and WebSocket messages). Reads check membership
 * here; mutations are checked by the store inside their own transaction (so a member removed
 * concurrently cannot write once more). A non-member gets the same 404 as for a board that does
 * not exist, so learns nothing. Every mutation takes the client's optional idempotency key: sent
 * again, it is answered, not done again (`#once`). Events reach the bus through the store's
 * commit listener, never from here.
 */
import { type Caller, DEMO_GUEST_ID } from "./auth.ts";
import { DomainError, forbidden, IdempotencyReplay, notFound } from "./errors.ts";
import {
  addMemberSchema,
  archiveQuerySchema,
  createBoardSchema,
  createListSchema,
  createTaskSchema,
  historyQuerySchema,
  moveTaskSchema,
  parseInput,
  recordConflictSchema,
  renameBoardSchema,
  seenSchema,
  trashQuerySchema,
  updateListSchema,
  updateTaskSchema,
} from "./schemas.ts";
import { idempotencyKey } from "./idempotency.ts";
import { inverseOf } from "./revert.ts";
import type { BoardEvent } from "./store/events.ts";
import type {
  IdempotencyKey,
  Mutation,
  MutationOptions,
  RevertRecord,
  Role,
  Store,
  TrashItem,
} from "./store/store.ts";

/** Trash and archive items per page when the query does not say. */
const SHELF_PAGE = 50;

export class Actions {
  constructor(readonly store: Store) {}

  /** The caller's role on the board; 404 when the board is missing or not theirs to see. */
  async requireMember(caller: Caller, boardId: string): Promise<Role> {
    const role = await this.store.memberRole(boardId, caller.user.id);
    if (!role) throw notFound("Board", boardId);
    return role;
  }

  async #requireOwner(caller: Caller, boardId: string): Promise<void> {
    if (await this.requireMember(caller, boardId) !== "owner") {
      throw forbidden(`Only the owner of board "${boardId}" can do that`);
    }
  }

  // ---- boards and members ---------------------------------------------------------------

  listBoards(caller: Caller) {
    return this.store.boardsForUser(caller.user.id);
  }

  async createBoard(caller: Caller, input: unknown, key?: string | null) {
    const { title } = parseInput(createBoardSchema, input);
    return await this.#once(
      caller,
      key,
      ["createBoard", "", input],
      (options) => this.store.createBoard(caller.user.id, title, options),
    );
  }

  async getBoard(caller: Caller, boardId: string) {
    await this.requireMember(caller, boardId);
    const snapshot = await this.store.snapshot(boardId);
    if (!snapshot) throw notFound("Board", boardId);
    return snapshot;
  }

  async renameBoard(caller: Caller, boardId: string, input: unknown, key?: string | null) {
    const { title } = parseInput(renameBoardSchema, input);
    return await this.#once(
      caller,
      key,
      ["renameBoard", boardId, input],
      (options) => this.store.renameBoard(caller.user.id, boardId, title, options),
    );
  }

  async deleteBoard(caller: Caller, boardId: string, key?: string | null) {
    return await this.#once(
      caller,
      key,
      ["deleteBoard", boardId, null],
      (options) => this.store.deleteBoard(caller.user.id, boardId, options),
    );
  }

  async listMembers(caller: Caller, boardId: string) {
    await this.requireMember(caller, boardId);
    return this.store.listMembers(boardId);
  }

  async addMember(caller: Caller, boardId: string, input: unknown, key?: string | null) {
    const { email } = parseInput(addMemberSchema, input);
    // Checked before the lookup too, so that only an owner learns whether an account exists.
    await this.#requireOwner(caller, boardId);
    const found = await this.store.findUserByEmail(email);
    if (!found) throw new DomainError("user_not_found", `No account uses "${email}"`);
    return await this.#once(
      caller,
      key,
      ["addMember", boardId, input],
      (options) => this.store.addMember(caller.user.id, boardId, found.user.id, options),
    );
  }

  async removeMember(caller: Caller, boardId: string, userId: string, key?: string | null) {
    if (userId === DEMO_GUEST_ID) {
      // Every anonymous visitor is this one user: removing it would lock them all out.
      await this.requireMember(caller, boardId);
      throw forbidden("The demo guest is shared by every visitor and cannot be removed");
    }
    // The store checks the caller may (themselves: a member; anyone else: the owner).
    return await this.#once(
      caller,
      key,
      ["removeMember", `${boardId}/${userId}`, null],
      (options) => this.store.removeMember(caller.user.id, boardId, userId, options),
    );
  }

  // ---- lists ------------------------------------------------------------------------------

  async createList(caller: Caller, boardId: string, input: unknown, key?: string | null) {
    const { title, position } = parseInput(createListSchema, input);
    return await this.#once(
      caller,
      key,
      ["createList", boardId, input],
      (options) => this.store.createList(caller.user.id, boardId, title, position, options),
    );
  }

  async updateList(caller: Caller, listId: string, input: unknown, key?: string | null) {
    const changes = parseInput(updateListSchema, input);
    return await this.#once(
      caller,
      key,
      ["updateList", listId, input],
      (options) => this.store.updateList(caller.user.id, listId, changes, options),
    );
  }

  async deleteList(caller: Caller, listId: string, key?: string | null) {
    return await this.#once(
      caller,
      key,
      ["deleteList", listId, null],
      (options) => this.store.deleteList(caller.user.id, listId, options),
    );
  }

  // ---- tasks ------------------------------------------------------------------------------

  async #taskOfMember(caller: Caller, taskId: string) {
    const found = await this.store.taskForMember(taskId, caller.user.id);
    if (!found) throw notFound("Task", taskId);
    return found.task;
  }

  async listTasks(caller: Caller, boardId: string) {
    await this.requireMember(caller, boardId);
    return this.store.tasksForBoard(boardId);
  }

  getTask(caller: Caller, taskId: string) {
    return this.#taskOfMember(caller, taskId);
  }

  async createTask(caller: Caller, input: unknown, key?: string | null) {
    const fields = parseInput(createTaskSchema, input);
    return await this.#once(
      caller,
      key,
      ["createTask", "", input],
      (options) => this.store.createTask(caller.user.id, fields, options),
    );
  }

  async updateTask(caller: Caller, taskId: string, input: unknown, key?: string | null) {
    const changes = parseInput(updateTaskSchema, input);
    return await this.#once(
      caller,
      key,
      ["updateTask", taskId, input],
      (options) => this.store.updateTask(caller.user.id, taskId, changes, options),
    );
  }

  async moveTask(caller: Caller, taskId: string, input: unknown, key?: string | null) {
    const move = parseInput(moveTaskSchema, input);
    return await this.#once(
      caller,
      key,
      ["moveTask", taskId, input],
      (options) => this.store.moveTask(caller.user.id, taskId, move, options),
    );
  }

  async deleteTask(caller: Caller, taskId: string, key?: string | null) {
    const task = await this.#once(
      caller,
      key,
      ["deleteTask", taskId, null],
      (options) => this.store.deleteTask(caller.user.id, taskId, options),
    );
    return { taskId: task.id, listId: task.listId };
  }

  // ---- history, trash, undo ----------------------------------------------------------------

  /**
   * A page of the board's events, newest first, and the `before` of the next (older) page.
   * A member reads what they may replay: the events after they joined (Store.replayFloor).
   */
  async history(caller: Caller, boardId: string, query: unknown) {
    const q = parseInput(historyQuerySchema, query);
    await this.requireMember(caller, boardId);
    const floor = await this.store.replayFloor(boardId, caller.user.id);
    const limit = q.limit ?? 50;
    // One more than asked tells whether an older page exists.
    const events = await this.store.history(boardId, {
      before: q.before,
      after: q.after,
      limit: limit + 1,
      subjectId: q.taskId ?? q.listId,
      actorId: q.actorId,
    }, floor);
    const page = events.slice(0, limit);
    const next = events.length > limit ? page[page.length - 1].id : null;
    return { events: page, next };
  }

  /**
   * The board's trash as the caller may see it: what was deleted since they joined (like the
   * history, it would otherwise show a new member deleted cards' content).
   */
  async trash(caller: Caller, boardId: string, query: unknown = {}) {
    const { before, limit } = parseInput(trashQuerySchema, query);
    await this.requireMember(caller, boardId);
    const members = await this.store.listMembers(boardId);
    const since = members.find((m) => m.userId === caller.user.id)?.addedAt;
    return await this.store.trash(boardId, { before, limit: limit ?? SHELF_PAGE, since });
  }

  async restoreTask(caller: Caller, taskId: string, key?: string | null) {
    return await this.#once(
      caller,
      key,
      ["restoreTask", taskId, null],
      (options) => this.store.restoreTask(caller.user.id, taskId, options),
    );
  }

  async restoreList(caller: Caller, listId: string, key?: string | null) {
    return await this.#once(
      caller,
      key,
      ["restoreList", listId, null],
      (options) => this.store.restoreList(caller.user.id, listId, options),
    );
  }

  async archiveTask(caller: Caller, taskId: string, key?: string | null) {
    return await this.#once(
      caller,
      key,
      ["archiveTask", taskId, null],
      (options) => this.store.archiveTask(caller.user.id, taskId, options),
    );
  }

  async unarchiveTask(caller: Caller, taskId: string, key?: string | null) {
    return await this.#once(
      caller,
      key,
      ["unarchiveTask", taskId, null],
      (options) => this.store.unarchiveTask(caller.user.id, taskId, options),
    );
  }

  async archiveList(caller: Caller, listId: string, key?: string | null) {
    return await this.#once(
      caller,
      key,
      ["archiveList", listId, null],
      (options) => this.store.archiveList(caller.user.id, listId, options),
    );
  }

  async unarchiveList(caller: Caller, listId: string, key?: string | null) {
    return await this.#once(
      caller,
      key,
      ["unarchiveList", listId, null],
      (options) => this.store.unarchiveList(caller.user.id, listId, options),
    );
  }

  async recordConflict(caller: Caller, taskId: string, input: unknown, key?: string | null) {
    const conflict = parseInput(recordConflictSchema, input);
    return await this.#once(
      caller,
      key,
      ["recordConflict", taskId, input],
      (options) => this.store.recordConflict(caller.user.id, taskId, conflict, options),
    );
  }

  async resolveConflict(caller: Caller, conflictId: string, key?: string | null) {
    return await this.#once(
      caller,
      key,
      ["resolveConflict", conflictId, null],
      (options) => this.store.resolveConflict(caller.user.id, conflictId, options),
    );
  }

  /**
   * The board's archive, newest first; `q` keeps the items whose title or content (a card's
   * description, an archived list's cards) holds it, whatever the letter case. Searched here
   * rather than in SQL: the same Unicode case folding on both stores, over a board's archive.
   */
  async archive(caller: Caller, boardId: string, query: unknown = {}) {
    const { q, before, limit } = parseInput(archiveQuerySchema, query);
    await this.requireMember(caller, boardId);
    const needle = q?.trim().toLocaleLowerCase();
    const holds = (text: string) => text.toLocaleLowerCase().includes(needle!);
    const cardHolds = (task: { title: string; description: string }) =>
      holds(task.title) || holds(task.description);
    const filter = needle
      ? (item: TrashItem) =>
        holds(item.title) ||
        (item.kind === "task" ? cardHolds(item.task) : item.tasks.some(cardHolds))
      : undefined;
    return await this.store.archive(boardId, { before, limit: limit ?? SHELF_PAGE, filter });
  }

  /**
   * Undoes event `seq` of the board with its inverse (src/revert.ts) and answers the event
   * that made. Its author may revert it, and the board's owner any event the owner can read.
   */
  async revert(caller: Caller, boardId: string, seq: number, key?: string | null) {
    const idempotency = key ? await idempotencyKey(key, "revert", `${boardId}/${seq}`, null) : null;
    // A key already used answers the event it made before any check: its sender may have been
    // removed from the board since, and the same event may have been reverted again since.
    const earlier = idempotency && await this.#recorded<RevertRecord>(caller, idempotency);
    if (earlier) return { event: await this.#revertMade(boardId, earlier) };
    const role = await this.requireMember(caller, boardId);
    const floor = await this.store.replayFloor(boardId, caller.user.id);
    const event = Number.isSafeInteger(seq) && seq > floor
      ? await this.store.eventOf(boardId, seq)
      : null;
    if (!event) throw notFound("Event", String(seq));
    if (event.actorId !== caller.user.id && role !== "owner") {
      throw forbidden("Only its author or the board's owner can revert a change");
    }
    const inverse = inverseOf(event);
    const options = idempotency ? { idempotency, revertOf: seq } : { revertOf: seq };
    try {
      return { event: (await inverse(this.store, caller.user.id, options)).event };
    } catch (error) {
      const raced = error instanceof IdempotencyReplay && idempotency &&
        await this.#recorded<RevertRecord>(caller, idempotency);
      if (raced) return { event: await this.#revertMade(boardId, raced) };
      throw error;
    }
  }

  /** The event a keyed revert made, from what its key recorded (Store, MutationOptions). */
  async #revertMade(boardId: string, { revertSeq }: RevertRecord): Promise<BoardEvent> {
    const made = await this.store.eventOf(boardId, revertSeq);
    if (!made) throw notFound("Event", String(revertSeq));
    return made;
  }

  /** Records how far the caller has seen the board (never past the log's head). */
  async markSeen(caller: Caller, boardId: string, input: unknown) {
    const { cursor } = parseInput(seenSchema, input);
    await this.requireMember(caller, boardId);
    const head = await this.store.cursor();
    return {
      cursor: await this.store.markSeen(boardId, caller.user.id, Math.min(cursor, head)),
    };
  }

  /**
   * Runs a mutation at most once per idempotency key: a key the caller already used answers
   * what the store recorded for it (409 `idempotency_key_reused` when it named another
   * request), and a retry that races its original finds the key recorded when it commits
   * (`IdempotencyReplay`) and answers the same. Without a key it just runs.
   */
  async #once<T>(
    caller: Caller,
    key: string | null | undefined,
    [action, target, input]: [string, string, unknown],
    run: (options?: MutationOptions) => Promise<Mutation<T>>,
  ): Promise<T> {
    if (!key) return (await run()).value;
    const idempotency = await idempotencyKey(key, action, target, input);
    const earlier = await this.#recorded<{ value: T }>(caller, idempotency, true);
    if (earlier) return earlier.value;
    try {
      return (await run({ idempotency })).value;
    } catch (error) {
      const raced = error instanceof IdempotencyReplay &&
        await this.#recorded<{ value: T }>(caller, idempotency, true);
      if (raced) return raced.value;
      throw error;
    }
  }

  /**
   * What the caller's key recorded (`wrapped`: as `{ value }`), or null when the key is free;
   * 409 `idempotency_key_reused` when it recorded another request.
   */
  async #recorded<R>(
    caller: Caller,
    idempotency: IdempotencyKey,
    wrapped = false,
  ): Promise<R | null> {
    const found = await this.store.idempotentResult(caller.user.id, idempotency.key);
    if (!found) return null;
    if (found.fingerprint !== idempotency.fingerprint) {
      throw new DomainError(
        "idempotency_key_reused",
        `Idempotency key "${idempotency.key}" was used for another request`,
      );
    }
    return (wrapped ? { value: found.result } : found.result) as R;
  }
}
