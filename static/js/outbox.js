/**
 * The outbox: every change the user makes goes here first. It shows at once (laid over the
 * server's state as an optimistic overlay), is persisted in localStorage until the server has
 * answered (so a reload or an offline spell loses nothing), and is sent in order, one at a time.
 *
 * - Refused (400/403/404): the change is dropped, which rolls the view back, and reported.
 * - 409 version conflict: resolved against the task the server returned (three-way merge per
 *   field: fields only we changed are re-sent, fields both changed keep the server's value) and
 *   reported; nothing is dropped silently. A title or description of ours that lost is recorded
 *   on its card (POST /tasks/:id/conflicts, a change like any other here: queued, kept across
 *   reloads, retried under its key), where every member sees it until one resolves it; it is
 *   also kept in localStorage with a notice (`conflict`) until the user dismisses it, so it
 *   survives a record the server refuses (the card deleted meanwhile, too many on the card).
 * - Unreachable: sending pauses ("offline") and resumes on reconnect with backoff.
 * Every change carries an idempotency key, the same on every retry: when the server did the change
 * but its answer was lost, the retry gets that answer instead of doing it twice.
 * A confirmed change stays in the overlay until the event stream has caught up with it, so the
 * view never flickers back to the old state in between.
 */
import { api, ApiError, NetworkError } from "./api.js";
import { Backoff } from "./backoff.js";
import { tuning } from "./tuning.js";

/**
 * @typedef {import("./board_model.js").BoardModel} BoardModel
 * @typedef {import("./board_model.js").Task} Task
 * @typedef {{
 *   seq: number, key?: string, kind: string, boardId: string, label: string, status?: string,
 *   result?: any, confirmedAt?: number, taskId?: string, listId?: string, tempId?: string,
 *   title?: string, description?: string, assigneeId?: string | null, position?: number,
 *   version?: number, baseListId?: string, changes?: Record<string, any>,
 *   base?: Record<string, any>, tried?: boolean, conflictId?: string,
 *   field?: "title" | "description", value?: string, baseVersion?: number, authorId?: string,
 *   at?: number,
 * }} Op (`tried`: sent at least once; `conflictId`: the conflict a resolve is about, or the
 *   temporary id of one not recorded yet; `field`, `value`, `baseVersion`, `authorId`, `at`: a
 *   conflict to record)
 * @typedef {{kind: "error" | "conflict" | "info", text: string}} Report
 * @typedef {{
 *   id: string, boardId: string, taskId: string, label: string, field: string,
 *   mine: string, theirs: string, at: number,
 * }} Conflict a value of ours that lost to someone else's: kept until the user dismisses it
 */

const FIELDS = ["title", "description", "assigneeId"];

export class Outbox {
  /**
   * @param {string} userId
   * @param {{
   *   change(): void, report(r: Report): void, auth(): void, offline(o: boolean): void,
   *   conflict(c: Conflict): void,
   * }} on
   */
  constructor(userId, on) {
    this.userId = userId;
    this.key = `liveboard:outbox:${userId}`;
    this.conflictsKey = `liveboard:conflicts:${userId}`;
    this.on = on;
    /** @type {Op[]} */
    this.ops = [];
    try {
      this.ops = JSON.parse(localStorage.getItem(this.key) ?? "[]");
      for (const op of this.ops) op.status = "queued";
    } catch {
      this.ops = [];
    }
    this.seq = Math.max(0, ...this.ops.map((op) => op.seq));
    /** @type {Conflict[]} */
    this.lost = [];
    try {
      this.lost = JSON.parse(localStorage.getItem(this.conflictsKey) ?? "[]");
    } catch {
      this.lost = [];
    }
    this.offline = false;
    this.running = false;
    this.stopped = false;
    this.backoff = new Backoff(tuning.backoffBaseMs, tuning.backoffMaxMs);
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
  }

  /** Unsent changes (queued or in flight), optionally of one board. */
  pending(boardId = "") {
    return this.ops.filter((op) =>
      op.status !== "confirmed" && (!boardId || op.boardId === boardId)
    ).length;
  }

  /**
   * Queues a change and starts sending.
   * @param {Omit<Op, "seq">} op
   * @returns {number} the change's seq, to follow it (`status`) or take it back (`cancel`)
   */
  add(op) {
    const seq = ++this.seq;
    this.ops.push({ ...op, seq, key: newKey(), status: "queued" });
    this.#changed();
    this.kick();
    return seq;
  }

  /**
   * Where a change is: "queued", "sending", "confirmed" (answered, its event not yet in the
   * board's state), or null once gone (settled into the server's state, or refused).
   * @param {number} seq
   */
  status(seq) {
    return this.ops.find((op) => op.seq === seq)?.status ?? null;
  }

  /**
   * Takes back a change that was never sent, so the server cannot have done it (undoing a
   * delete made offline needs no server). Returns whether it could.
   * @param {number} seq
   */
  cancel(seq) {
    const op = this.ops.find((o) => o.seq === seq);
    if (!op || op.status !== "queued" || op.tried) return false;
    this.#drop(op);
    this.#changed();
    return true;
  }

  /**
   * Drops a confirmed change from the overlay now. After a delete is undone on the server, its
   * event and the restore's may arrive together; the confirmed delete would otherwise go on
   * hiding the restored card until the backstop below lets it go.
   * @param {number} seq
   */
  forget(seq) {
    const before = this.ops.length;
    this.ops = this.ops.filter((op) => op.seq !== seq || op.status !== "confirmed");
    if (this.ops.length !== before) this.on.change();
  }

  /**
   * Changes of a board the board's state does not show yet (unsent, or answered but their
   * event not arrived): keyboard undo waits for these, so it undoes the change the user made last.
   * @param {BoardModel} model
   */
  unsettled(model) {
    this.settle(model);
    return this.ops.filter((op) => op.boardId === model.board.id).length;
  }

  /** Sends what is queued (now, unless already sending). */
  kick() {
    clearTimeout(this.timer);
    if (!this.running && !this.stopped) this.#run();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * The board as the user should see it: the server's state with our pending changes on top.
   * @param {BoardModel} model
   */
  view(model) {
    const view = model.clone();
    for (const op of this.ops) if (op.boardId === model.board.id) applyOp(view, op);
    return view;
  }

  /**
   * Drops confirmed changes the server's state now includes. Returns whether any went.
   * @param {BoardModel} model
   */
  settle(model) {
    const before = this.ops.length;
    // A backstop: a confirmed change whose event never shows (say, someone deleted the task
    // right after) leaves the overlay after a while; the server's state is the truth.
    const old = Date.now() - 30_000;
    this.ops = this.ops.filter((op) =>
      op.status !== "confirmed" ||
      ((op.confirmedAt ?? 0) > old && (op.boardId !== model.board.id || !covered(model, op)))
    );
    return this.ops.length !== before;
  }

  async #run() {
    this.running = true;
    try {
      let op;
      while (!this.stopped && (op = this.ops.find((o) => o.status === "queued"))) {
        op.status = "sending";
        // Sent once: from now on the server may have done it even if no answer comes back.
        op.tried = true;
        try {
          const result = await send(op);
          this.#confirmed(op, result);
          this.backoff.reset();
          this.#setOffline(false);
        } catch (error) {
          op.status = "queued";
          if (
            error instanceof NetworkError || (error instanceof ApiError && error.status >= 500) ||
            (error instanceof ApiError && error.status === 429)
          ) {
            this.#setOffline(error instanceof NetworkError);
            this.timer = setTimeout(() => this.kick(), this.backoff.next());
            return;
          }
          if (!(error instanceof ApiError)) throw error;
          if (error.status === 401) {
            this.stopped = true;
            this.on.auth();
            return;
          }
          this.#refused(op, error);
        }
        this.#changed();
      }
    } finally {
      this.running = false;
    }
  }

  /** @param {boolean} offline */
  #setOffline(offline) {
    if (this.offline === offline) return;
    this.offline = offline;
    this.on.offline(offline);
  }

  /**
   * @param {Op} op
   * @param {any} result
   */
  #confirmed(op, result) {
    op.status = "confirmed";
    op.result = result;
    op.confirmedAt = Date.now();
    const later = this.ops.filter((o) => o.seq > op.seq);
    if (op.kind === "createTask" || op.kind === "createList" || op.kind === "recordConflict") {
      for (const o of later) {
        if (o.taskId === op.tempId) o.taskId = result.id;
        if (o.listId === op.tempId) o.listId = result.id;
        if (o.baseListId === op.tempId) o.baseListId = result.id;
        if (o.conflictId === op.tempId) o.conflictId = result.id;
        if (op.kind === "createTask" && o.taskId === result.id && o.version === undefined) {
          o.version = result.version;
        }
      }
    }
    if ((op.kind === "updateTask" || op.kind === "moveTask") && op.version !== undefined) {
      // Our own later changes to this task were based on the version we just replaced.
      for (const o of later) {
        if (o.taskId === op.taskId && o.version === op.version) o.version = result.version;
      }
    }
  }

  /**
   * @param {Op} op
   * @param {ApiError} error
   */
  #refused(op, error) {
    const gone = error.status === 404;
    if (gone && ["deleteTask", "deleteList", "resolveConflict"].includes(op.kind)) {
      // Already deleted (resolved) by someone else: what we wanted is true.
      this.#drop(op);
      return;
    }
    if (op.kind === "recordConflict") {
      // The value stays in the local notice kept when it lost: say why it is not on the card.
      this.#drop(op); // with a resolve of it queued meanwhile
      this.on.report({
        kind: "error",
        text: `Your ${op.field} of "${op.label}" could not be kept on the card ` +
          `(${error.message}); it stays in the notice until you dismiss it.`,
      });
      return;
    }
    if (error.status === 409 && error.body?.task) {
      const resolution = resolveConflict(op, error.body.task);
      // Nothing typed may be lost: each value of ours that lost is kept, whole, until dismissed,
      // and a title or description is recorded on its card for every member to see.
      for (const { field, theirs, value } of resolution.lost ?? []) {
        if ((field === "title" || field === "description") && op.taskId) {
          this.ops.push({
            seq: ++this.seq,
            key: newKey(),
            status: "queued",
            kind: "recordConflict",
            boardId: op.boardId,
            taskId: op.taskId,
            tempId: `tmp-${crypto.randomUUID()}`,
            field,
            value: String(value ?? ""),
            // Its own field: `version` of later ops is moved on as earlier ones are answered.
            baseVersion: op.version ?? error.body.task.version,
            authorId: this.userId,
            at: Date.now(),
            label: op.label,
          });
        }
        this.#keep({
          id: crypto.randomUUID(),
          boardId: op.boardId,
          taskId: op.taskId ?? "",
          label: op.label,
          field,
          mine: String(value ?? ""),
          theirs: String(theirs ?? ""),
          at: Date.now(),
        });
      }
      if (resolution.retry) {
        op.status = "queued";
        // Another request now: under the old key the server would refuse it as a reuse.
        Object.assign(op, resolution.retry, { key: newKey() });
      } else this.#drop(op);
      if (resolution.report) this.on.report({ kind: "conflict", text: resolution.report });
      return;
    }
    const dependents = this.#drop(op);
    const more = dependents
      ? ` (and ${dependents} later change${dependents > 1 ? "s" : ""} to it)`
      : "";
    this.on.report({
      kind: "error",
      text: `${describe(op)} was refused and undone${more}: ${error.message}`,
    });
  }

  /**
   * Removes an op and every later op that depends on what it would have created.
   * @param {Op} op
   * @returns {number} how many dependents went with it
   */
  #drop(op) {
    const temp = op.tempId;
    const before = this.ops.length;
    this.ops = this.ops.filter((o) =>
      o !== op && !(temp && (o.taskId === temp || o.listId === temp || o.conflictId === temp))
    );
    return before - this.ops.length - 1;
  }

  /** The values of ours that lost a conflict and are kept until dismissed, oldest first. */
  conflicts() {
    return [...this.lost];
  }

  /** @param {string} id */
  dismissConflict(id) {
    this.lost = this.lost.filter((conflict) => conflict.id !== id);
    localStorage.setItem(this.conflictsKey, JSON.stringify(this.lost));
  }

  /** @param {Conflict} conflict */
  #keep(conflict) {
    this.lost.push(conflict);
    localStorage.setItem(this.conflictsKey, JSON.stringify(this.lost));
    this.on.conflict(conflict);
  }

  #changed() {
    const unsent = this.ops.filter((op) => op.status !== "confirmed")
      .map(({ result: _r, ...op }) => op);
    localStorage.setItem(this.key, JSON.stringify(unsent));
    this.on.change();
  }
}

/**
 * The request for an op.
 * @param {Op} op
 */
function send(op) {
  const id = encodeURIComponent(op.taskId ?? op.listId ?? "");
  switch (op.kind) {
    case "createTask":
      return api(
        "POST",
        "/tasks",
        {
          listId: op.listId,
          title: op.title,
          description: op.description ?? "",
          ...(op.assigneeId ? { assigneeId: op.assigneeId } : {}),
        },
        undefined,
        op.key,
      );
    case "updateTask":
      return api(
        "PATCH",
        `/tasks/${id}`,
        { ...op.changes, version: op.version },
        undefined,
        op.key,
      );
    case "moveTask":
      return api(
        "PATCH",
        `/tasks/${id}/move`,
        {
          listId: op.listId,
          position: op.position,
          version: op.version,
        },
        undefined,
        op.key,
      );
    case "deleteTask":
      return api("DELETE", `/tasks/${id}`, undefined, undefined, op.key);
    case "createList":
      return api(
        "POST",
        `/boards/${encodeURIComponent(op.boardId)}/lists`,
        { title: op.title },
        undefined,
        op.key,
      );
    case "updateList":
      return api("PATCH", `/lists/${id}`, { title: op.title }, undefined, op.key);
    case "moveList":
      return api("PATCH", `/lists/${id}`, { position: op.position }, undefined, op.key);
    case "deleteList":
      return api("DELETE", `/lists/${id}`, undefined, undefined, op.key);
    case "archiveTask":
      return api("POST", `/tasks/${id}/archive`, undefined, undefined, op.key);
    case "archiveList":
      return api("POST", `/lists/${id}/archive`, undefined, undefined, op.key);
    case "recordConflict":
      return api(
        "POST",
        `/tasks/${id}/conflicts`,
        { field: op.field, value: op.value, baseVersion: op.baseVersion },
        undefined,
        op.key,
      );
    case "resolveConflict":
      return api(
        "DELETE",
        `/conflicts/${encodeURIComponent(op.conflictId ?? "")}`,
        undefined,
        undefined,
        op.key,
      );
  }
  throw new Error(`Unknown change ${op.kind}`);
}

/** @param {Op} op */
function describe(op) {
  const name = `"${op.label}"`;
  return {
    createTask: `Adding card ${name}`,
    updateTask: `Your edit of ${name}`,
    moveTask: `Moving ${name}`,
    deleteTask: `Deleting ${name}`,
    createList: `Adding list ${name}`,
    updateList: `Renaming list ${name}`,
    moveList: `Moving list ${name}`,
    deleteList: `Deleting list ${name}`,
    archiveTask: `Archiving ${name}`,
    archiveList: `Archiving list ${name}`,
    recordConflict: `Keeping your ${op.field} of ${name} on the card`,
    resolveConflict: `Resolving a conflict on ${name}`,
  }[op.kind] ?? op.kind;
}

/**
 * Resolves a 409 against the task the server has now.
 * @param {Op} op
 * @param {Task} current
 * @returns {{
 *   retry?: Partial<Op>, report?: string, lost?: {field: string, theirs: any, value: any}[],
 * }}
 */
export function resolveConflict(op, current) {
  if (op.kind === "moveTask") {
    if (current.listId === op.listId && current.position === op.position) return {};
    if (current.listId === op.baseListId) return { retry: { version: current.version } };
    return {
      report: `"${current.title}" was moved by someone else meanwhile; it stays where they put ` +
        `it and your move was not applied.`,
    };
  }
  if (op.kind !== "updateTask") return {};
  /** @type {Record<string, any>} */
  const mine = {};
  const lost = [];
  for (const [field, value] of Object.entries(op.changes ?? {})) {
    const theirs = /** @type {any} */ (current)[field];
    if (theirs === value) continue;
    if (theirs === op.base?.[field]) mine[field] = value;
    else lost.push({ field, theirs, value });
  }
  const report = lost.length === 0 ? undefined : `"${current.title}" was changed by someone else ` +
    `while you edited it. Kept their ${
      lost.map((l) => `${FIELDS.includes(l.field) ? l.field : "field"} ${show(l.theirs)}`)
        .join(", ")
    }; yours was ${lost.map((l) => show(l.value)).join(", ")}.`;
  if (Object.keys(mine).length === 0) return { report, lost };
  return {
    retry: { changes: mine, version: current.version, base: { ...op.base, ...current } },
    report,
    lost,
  };
}

/** @param {unknown} value */
function show(value) {
  if (value === null || value === undefined || value === "") return "(none)";
  const text = String(value);
  return `"${text.length > 60 ? text.slice(0, 57) + "…" : text}"`;
}

/**
 * Lays one op over the view.
 * @param {BoardModel} view
 * @param {Op} op
 */
function applyOp(view, op) {
  const pending = op.status !== "confirmed";
  if (!pending) {
    const r = op.result;
    if (op.kind === "createTask" || op.kind === "moveTask") {
      if (!covered(view, op)) view.placeTask(r);
    } else if (op.kind === "updateTask") {
      if (!covered(view, op)) view.updateTask(r);
    } else if (op.kind === "deleteTask") view.removeTask(/** @type {string} */ (op.taskId));
    else if (op.kind === "createList" || op.kind === "moveList") {
      if (!covered(view, op)) view.placeList(r);
    } else if (op.kind === "updateList") {
      if (!covered(view, op)) view.lists = view.lists.map((l) => l.id === r.id ? r : l);
    } else if (op.kind === "deleteList" || op.kind === "archiveList") {
      view.removeList(/** @type {string} */ (op.listId));
    } else if (op.kind === "archiveTask") view.removeTask(/** @type {string} */ (op.taskId));
    else if (op.kind === "recordConflict") {
      if (!covered(view, op)) view.addConflict(r);
    } else if (op.kind === "resolveConflict") {
      view.removeConflict(/** @type {string} */ (op.conflictId));
    }
    return;
  }
  const taskId = /** @type {string} */ (op.taskId);
  const listId = /** @type {string} */ (op.listId);
  switch (op.kind) {
    case "createTask": {
      if (!view.columns.has(listId)) return;
      const now = new Date().toISOString();
      view.placeTask({
        id: /** @type {string} */ (op.tempId),
        boardId: op.boardId,
        listId,
        title: op.title ?? "",
        description: op.description ?? "",
        assigneeId: op.assigneeId ?? null,
        position: view.columns.get(listId)?.length ?? 0,
        version: 0,
        createdBy: null,
        createdAt: now,
        updatedAt: now,
        pending: true,
      });
      return;
    }
    case "updateTask": {
      const task = view.task(taskId);
      if (task) view.updateTask({ ...task, ...op.changes, pending: true });
      return;
    }
    case "moveTask": {
      const task = view.task(taskId);
      if (task && view.columns.has(listId)) {
        view.placeTask({ ...task, listId, position: op.position ?? 0, pending: true });
      }
      return;
    }
    case "deleteTask":
      view.removeTask(taskId);
      return;
    case "createList": {
      const now = new Date().toISOString();
      view.placeList({
        id: /** @type {string} */ (op.tempId),
        boardId: op.boardId,
        title: op.title ?? "",
        position: view.lists.length,
        createdAt: now,
        updatedAt: now,
        pending: true,
      });
      return;
    }
    case "updateList":
      view.lists = view.lists.map((l) =>
        l.id === listId ? { ...l, title: op.title ?? l.title } : l
      );
      return;
    case "moveList": {
      const list = view.list(listId);
      if (list) view.placeList({ ...list, position: op.position ?? 0 });
      return;
    }
    case "deleteList":
    case "archiveList":
      view.removeList(listId);
      return;
    case "archiveTask":
      view.removeTask(taskId);
      return;
    case "recordConflict": {
      // Shown on its card at once, even offline, as not recorded yet; unless it is there already
      // (the server did it, its event came, but the answer was lost: the retry will say so).
      if (!view.task(taskId)) return;
      const landed = view.conflicts.some((c) =>
        !c.pending && c.taskId === taskId && c.field === op.field && c.value === op.value &&
        c.authorId === op.authorId && c.baseVersion === op.baseVersion
      );
      if (landed) return;
      view.addConflict({
        id: /** @type {string} */ (op.tempId),
        boardId: op.boardId,
        taskId,
        field: op.field ?? "description",
        value: op.value ?? "",
        authorId: op.authorId ?? null,
        baseVersion: op.baseVersion ?? 0,
        createdAt: new Date(op.at ?? Date.now()).toISOString(),
        pending: true,
      });
      return;
    }
    case "resolveConflict":
      view.removeConflict(/** @type {string} */ (op.conflictId));
      return;
  }
}

/**
 * Whether the server's state already includes a confirmed op.
 * @param {BoardModel} model
 * @param {Op} op
 */
function covered(model, op) {
  const r = op.result;
  switch (op.kind) {
    case "createTask":
      return !!model.task(r.id);
    case "updateTask":
    case "moveTask": {
      const task = model.task(r.id);
      return !task || task.version >= r.version;
    }
    case "deleteTask":
      return !model.task(/** @type {string} */ (op.taskId));
    case "createList":
      return !!model.list(r.id);
    case "updateList":
    case "moveList": {
      const list = model.list(r.id);
      return !list || list.updatedAt >= r.updatedAt;
    }
    case "deleteList":
    case "archiveList":
      return !model.list(/** @type {string} */ (op.listId));
    case "archiveTask":
      return !model.task(/** @type {string} */ (op.taskId));
    case "recordConflict":
      // On the card now, or the card is gone (and its conflicts with it).
      return model.conflicts.some((c) => c.id === r.id) || !model.task(r.taskId);
    case "resolveConflict":
      return !model.conflicts.some((c) => c.id === op.conflictId);
  }
  return true;
}

/** A new idempotency key for a change. */
function newKey() {
  return crypto.randomUUID();
}
