/**
 * The board as the client knows it: the server's state (snapshot plus every event after it,
 * applied once each and in order; the cursor is the id of the newest one) kept as ordered
 * arrays, so positions are always dense. Applying an event is idempotent, which lets the same
 * primitives also lay the client's own pending changes on top of a copy (see outbox.js).
 * `applyEvent` stays the one place events are applied: events of format 2 (`v: 2`) add what
 * undoes a change (before-values, what was deleted, `revertOf`) but place things as before; a card
 * or list back from the trash or the archive goes in like a new one, with a list's cards in order,
 * and archiving takes it off the board like deleting it.
 * It also keeps the board's open conflicts (values that lost a concurrent edit, kept on their
 * card until a member resolves them): recorded and resolved by events, and gone with their card
 * when it is deleted or archived (the server drops them then too, so the fold of the log stays
 * the snapshot).
 */

/**
 * @typedef {{id: string, title: string, ownerId: string, createdAt: string, updatedAt: string}} Board
 * @typedef {{id: string, boardId: string, title: string, position: number, createdAt: string,
 *   updatedAt: string, pending?: boolean}} List
 * @typedef {{id: string, boardId: string, listId: string, title: string, description: string,
 *   assigneeId: string | null, position: number, version: number, createdBy: string | null,
 *   createdAt: string, updatedAt: string, pending?: boolean}} Task
 * @typedef {{boardId: string, userId: string, name: string, email: string, role: string}} Member
 * @typedef {{id: string, boardId: string, taskId: string, field: "title" | "description",
 *   value: string, authorId: string | null, baseVersion: number, createdAt: string,
 *   pending?: boolean}} Conflict a value that lost a concurrent edit, kept on its card
 * @typedef {{board: Board, lists: List[], tasks: Task[], members: Member[], cursor: number,
 *   conflicts?: Conflict[]}} Snapshot
 * @typedef {{type: string, id: number, boardId: string, actorId: string | null, at: string,
 *   v?: number, revertOf?: number, [field: string]: any}} BoardEvent (`v`: the event format, 1
 *   when absent; `revertOf`: the seq of the event this one undid)
 */

export class BoardModel {
  /** @param {Snapshot} snapshot */
  constructor(snapshot) {
    this.board = snapshot.board;
    /** @type {List[]} ordered by position */
    this.lists = [...snapshot.lists].sort((a, b) => a.position - b.position);
    /** @type {Map<string, Task[]>} list id → tasks ordered by position */
    this.columns = new Map(this.lists.map((list) => [list.id, []]));
    for (const task of [...snapshot.tasks].sort((a, b) => a.position - b.position)) {
      this.columns.get(task.listId)?.push(task);
    }
    this.members = [...snapshot.members];
    /** @type {Conflict[]} open conflicts, oldest first (replaced, never changed in place) */
    this.conflicts = [...(snapshot.conflicts ?? [])];
    this.cursor = snapshot.cursor;
    this.deleted = false;
  }

  /** A deep-enough copy to lay pending changes on. */
  clone() {
    const copy = Object.create(BoardModel.prototype);
    copy.board = this.board;
    copy.lists = [...this.lists];
    copy.columns = new Map([...this.columns].map(([id, tasks]) => [id, [...tasks]]));
    copy.members = [...this.members];
    copy.conflicts = this.conflicts;
    copy.cursor = this.cursor;
    copy.deleted = this.deleted;
    return /** @type {BoardModel} */ (copy);
  }

  /** @param {string} taskId */
  task(taskId) {
    for (const tasks of this.columns.values()) {
      const task = tasks.find((t) => t.id === taskId);
      if (task) return task;
    }
    return undefined;
  }

  /** @param {string} listId */
  list(listId) {
    return this.lists.find((l) => l.id === listId);
  }

  /** @param {string | null | undefined} userId */
  member(userId) {
    return this.members.find((m) => m.userId === userId);
  }

  /**
   * The open conflicts of a card, oldest first.
   * @param {string} taskId
   */
  conflictsOf(taskId) {
    return this.conflicts.filter((c) => c.taskId === taskId);
  }

  /**
   * Applies a board event unless it was already applied (id at or below the cursor).
   * @param {BoardEvent} event
   * @returns {boolean} whether it was new
   */
  applyEvent(event) {
    if (event.boardId !== this.board.id || event.id <= this.cursor) return false;
    this.cursor = event.id;
    switch (event.type) {
      case "task_created":
      case "task_restored":
      case "task_moved":
        this.placeTask(event.task);
        break;
      case "task_updated":
        this.updateTask(event.task);
        break;
      case "task_deleted":
        this.removeTask(event.taskId);
        this.dropConflicts([event.taskId]);
        break;
      case "task_archived":
        this.removeTask(event.task.id);
        this.dropConflicts([event.task.id]);
        break;
      case "task_unarchived":
        this.placeTask(event.task);
        break;
      case "list_created":
      case "list_moved":
        this.placeList(event.list);
        break;
      case "list_updated":
        this.lists = this.lists.map((l) => l.id === event.list.id ? event.list : l);
        break;
      case "list_deleted":
        this.dropConflicts((this.columns.get(event.listId) ?? []).map((t) => t.id));
        this.removeList(event.listId);
        break;
      case "list_restored":
      case "list_unarchived":
        this.restoreList(event.list, event.tasks ?? []);
        break;
      case "list_archived":
        this.dropConflicts((this.columns.get(event.list.id) ?? []).map((t) => t.id));
        this.removeList(event.list.id);
        break;
      case "conflict_recorded":
        this.addConflict(event.conflict);
        break;
      case "conflict_resolved":
        this.removeConflict(event.conflict.id);
        break;
      case "board_created":
        // Folding the log from nothing: the board with the lists and members it began with.
        this.board = event.board;
        for (const list of event.lists ?? []) this.placeList(list);
        for (const member of event.members ?? []) {
          this.members = [...this.members.filter((m) => m.userId !== member.userId), member];
        }
        break;
      case "board_updated":
        this.board = event.board;
        break;
      case "board_deleted":
        this.deleted = true;
        break;
      case "member_added":
        this.members = [
          ...this.members.filter((m) => m.userId !== event.member.userId),
          event.member,
        ];
        break;
      case "member_removed":
        this.members = this.members.filter((m) => m.userId !== event.member.userId);
        break;
    }
    return true;
  }

  /**
   * Puts the task at its list and position (inserting, or moving it from where it was).
   * @param {Task} task
   */
  placeTask(task) {
    this.removeTask(task.id);
    const tasks = this.columns.get(task.listId);
    if (!tasks) return;
    tasks.splice(Math.min(Math.max(task.position, 0), tasks.length), 0, task);
  }

  /**
   * Replaces the task's fields where it is.
   * @param {Task} task
   */
  updateTask(task) {
    for (const [listId, tasks] of this.columns) {
      const index = tasks.findIndex((t) => t.id === task.id);
      if (index !== -1) tasks[index] = { ...task, listId };
    }
  }

  /** @param {string} taskId */
  removeTask(taskId) {
    for (const [listId, tasks] of this.columns) {
      const index = tasks.findIndex((t) => t.id === taskId);
      if (index !== -1) {
        this.columns.set(listId, tasks.filter((t) => t.id !== taskId));
        return;
      }
    }
  }

  /** @param {List} list */
  placeList(list) {
    this.lists = this.lists.filter((l) => l.id !== list.id);
    this.lists.splice(Math.min(Math.max(list.position, 0), this.lists.length), 0, list);
    if (!this.columns.has(list.id)) this.columns.set(list.id, []);
  }

  /**
   * Puts a list back at its position (shifting later lists) with its cards, in order.
   * @param {List} list
   * @param {Task[]} tasks
   */
  restoreList(list, tasks) {
    this.placeList(list);
    // The cards come as they were when the list went: whatever the column held is replaced, so
    // applying the same restore to a copy that already shows it changes nothing.
    this.columns.set(
      list.id,
      tasks.filter((task) => task.listId === list.id).sort((a, b) => a.position - b.position),
    );
  }

  /**
   * Adds a conflict (once) at the end: conflicts are recorded in the order they are listed.
   * @param {Conflict} conflict
   */
  addConflict(conflict) {
    if (this.conflicts.some((c) => c.id === conflict.id)) return;
    this.conflicts = [...this.conflicts, conflict];
  }

  /** @param {string} conflictId */
  removeConflict(conflictId) {
    if (!this.conflicts.some((c) => c.id === conflictId)) return;
    this.conflicts = this.conflicts.filter((c) => c.id !== conflictId);
  }

  /**
   * Drops the conflicts of cards that left the board (deleted or archived: they go with it).
   * @param {string[]} taskIds
   */
  dropConflicts(taskIds) {
    if (taskIds.length === 0 || this.conflicts.length === 0) return;
    const gone = new Set(taskIds);
    if (!this.conflicts.some((c) => gone.has(c.taskId))) return;
    this.conflicts = this.conflicts.filter((c) => !gone.has(c.taskId));
  }

  /** @param {string} listId */
  removeList(listId) {
    this.lists = this.lists.filter((l) => l.id !== listId);
    this.columns.delete(listId);
  }
}
