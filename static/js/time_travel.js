/**
 * Time travel, read-only: the board as it was at an earlier moment, reached by walking back from
 * a known state (a snapshot at its cursor) and undoing the board's events one by one, newest
 * first, with what each event of format 2 carries to undo it (`before`, the deleted card or list,
 * where a move came from). No DOM: the view (views/time_travel.js) and the tests use the same code.
 *
 * `unapplyEvent` is `BoardModel.applyEvent` backwards, case for case, on the same primitives, so
 * for every event `e` of a consistent log: unapplyEvent(M after e, e) shows what M showed before
 * it — the same lists, cards (in order), titles, descriptions, assignees, members and board title.
 * What the log does not say is kept from the later state: when a card, list or board was last
 * changed before (`updatedAt`); the numbers in `position` (the model keeps order, not those
 * numbers, as applyEvent does); and the open conflicts a deleted or archived card took with it
 * (its event does not list them). An event of format 1, the board's creation,
 * or an event the log no longer holds (pruned, or before the reader joined) ends the walk:
 * history before that point is not available, and nothing is guessed.
 *
 * `TimeTravel` walks a board's history page by page (`GET /boards/:id/history`, newest first):
 * position 0 is the board as of the newest event, position p the board as of the p-th older
 * one, and one past the oldest event, when the log holds nothing older, the board just before it.
 */

/**
 * @typedef {import("./board_model.js").BoardModel} BoardModel
 * @typedef {import("./board_model.js").BoardEvent} BoardEvent
 * @typedef {{events: BoardEvent[], next: number | null}} HistoryPage
 * @typedef {{before: number, after?: number, limit: number}} PageQuery
 * @typedef {"format" | "start" | "missing" | "order" | "limit"} StopReason why the walk back
 *   ends here: an event of format 1, the board's creation, events the log does not hold, an
 *   event that is not the next to undo on this model, or too many changes to walk back
 */

/** Why history before some point cannot be shown. */
export class HistoryUnavailable extends Error {
  /**
   * @param {StopReason} reason
   * @param {string} message
   */
  constructor(reason, message) {
    super(message);
    this.name = "HistoryUnavailable";
    this.reason = reason;
  }
}

/** What each event type must carry to be undone (format 2 always does). */
const INVERSE_FIELDS = /** @type {Record<string, string[]>} */ ({
  task_created: ["task"],
  task_restored: ["task"],
  task_unarchived: ["task"],
  task_moved: ["task", "fromListId", "fromPosition"],
  task_updated: ["task", "before"],
  task_deleted: ["taskId", "task"],
  task_archived: ["task"],
  list_created: ["list"],
  list_moved: ["list", "fromPosition"],
  list_updated: ["list", "before"],
  list_deleted: ["listId", "list", "tasks"],
  list_restored: ["list", "tasks"],
  list_unarchived: ["list", "tasks"],
  list_archived: ["list", "tasks"],
  board_updated: ["board", "before"],
  member_added: ["member"],
  member_removed: ["member"],
  conflict_recorded: ["conflict"],
  conflict_resolved: ["conflict"],
});

/**
 * Why the event cannot be undone on its own data, or null when it can: format 1 events lack the
 * inverse, the board's creation has nothing before it.
 * @param {BoardEvent} event
 * @returns {StopReason | null}
 */
export function stopReason(event) {
  if (event.type === "board_created") return "start";
  if ((event.v ?? 1) < 2) return "format";
  const fields = INVERSE_FIELDS[event.type] ?? [];
  return fields.every((field) => event[field] !== undefined) ? null : "format";
}

/**
 * The board as it was before `event`: a new model (the given one is not changed). The event must
 * be the newest one on `model` not yet undone (its seq at or below the model's cursor, which
 * becomes seq − 1: the board as of just before it). Throws `HistoryUnavailable` when it cannot
 * be undone.
 * @param {BoardModel} model
 * @param {BoardEvent} event
 * @returns {BoardModel}
 */
export function unapplyEvent(model, event) {
  const copy = model.clone();
  unapplyInPlace(copy, event);
  return copy;
}

/**
 * `unapplyEvent` on the model itself (to walk many events back without a copy per step).
 * @param {BoardModel} model
 * @param {BoardEvent} event
 */
export function unapplyInPlace(model, event) {
  if (event.boardId !== model.board.id || event.id > model.cursor) {
    throw new HistoryUnavailable(
      "order",
      `Event ${event.id} is not on this board as of ${model.cursor}`,
    );
  }
  const reason = stopReason(event);
  if (reason === "start") {
    throw new HistoryUnavailable(reason, "The board did not exist before it was created");
  }
  if (reason) {
    throw new HistoryUnavailable(reason, "History before this point is not available");
  }
  // Each case undoes the matching case of BoardModel.applyEvent.
  switch (event.type) {
    case "task_created":
    case "task_restored":
    case "task_unarchived":
      // Applied: placed like a new card. Undone: it goes.
      model.removeTask(event.task.id);
      break;
    case "task_moved": {
      // Applied: taken from where it was and placed at its new list and position. Undone: back
      // to the list and position it came from (a move makes the version one more).
      const task = model.task(event.task.id) ?? event.task;
      model.placeTask({
        ...task,
        listId: event.fromListId,
        position: event.fromPosition,
        version: event.task.version - 1,
      });
      break;
    }
    case "task_updated": {
      // Applied: the card's fields replaced where it is. Undone: the fields it changed as they
      // were (an edit makes the version one more, even one that changed nothing).
      const task = model.task(event.task.id);
      if (task) model.updateTask({ ...task, ...event.before, version: event.task.version - 1 });
      break;
    }
    case "task_deleted":
    case "task_archived":
      // Applied: taken off the board. Undone: the whole card back at its place.
      model.placeTask(event.task);
      break;
    case "list_created":
      model.removeList(event.list.id);
      break;
    case "list_moved": {
      // A PATCH that moved and renamed the list writes one list_moved carrying the old title.
      const list = model.list(event.list.id) ?? event.list;
      const title = event.before?.title ?? list.title;
      model.placeList({ ...list, title, position: event.fromPosition });
      break;
    }
    case "list_updated":
      model.lists = model.lists.map((l) =>
        l.id === event.list.id ? { ...l, title: event.before.title ?? l.title } : l
      );
      break;
    case "list_deleted":
    case "list_archived":
      // Applied: the list and its cards taken off. Undone: back at its place, its cards in order.
      model.restoreList(event.list, event.tasks);
      break;
    case "list_restored":
    case "list_unarchived":
      model.removeList(event.list.id);
      break;
    case "board_updated":
      model.board = { ...model.board, title: event.before.title ?? model.board.title };
      break;
    case "board_deleted":
      model.deleted = false;
      break;
    case "member_added":
      // Adding someone who is a member already is refused, so before it they were not one.
      model.members = model.members.filter((m) => m.userId !== event.member.userId);
      break;
    case "member_removed":
      model.members = [
        ...model.members.filter((m) => m.userId !== event.member.userId),
        event.member,
      ];
      break;
    case "conflict_recorded":
    case "conflict_resolved":
      unapplyConflict(model, event);
      break;
    default:
      // Types applyEvent does not know change nothing: undoing them changes nothing either.
      break;
  }
  model.cursor = event.id - 1;
}

/**
 * A conflict recorded (undone: it goes) or resolved (undone: it is open again, in creation
 * order), on a model that keeps open conflicts. Conflicts that went with a deleted or archived
 * card are not brought back with it: the deletion's event does not list them.
 * @param {BoardModel} model
 * @param {BoardEvent} event
 */
function unapplyConflict(model, event) {
  const held = /** @type {{conflicts?: {id: string, createdAt: string}[]}} */ (
    /** @type {unknown} */ (model)
  );
  if (!Array.isArray(held.conflicts) || !event.conflict) return;
  const conflict = event.conflict;
  const others = held.conflicts.filter((c) => c.id !== conflict.id);
  if (event.type === "conflict_recorded") {
    held.conflicts = others;
    return;
  }
  const at = others.findIndex((c) => c.createdAt > conflict.createdAt);
  held.conflicts = at === -1
    ? [...others, conflict]
    : [...others.slice(0, at), conflict, ...others.slice(at)];
}

/** Events per history request: the server's most. */
export const PAGE_SIZE = 200;
/** How many changes back the walk goes at most (each one is undone in the browser). */
export const MAX_EVENTS = 10_000;

/**
 * @typedef {{
 *   model: BoardModel,
 *   position: number,
 *   event: BoardEvent | null,
 *   before: boolean,
 *   canOlder: boolean,
 *   canNewer: boolean,
 *   stop: StopReason | null,
 * }} Moment what the time-travel view shows: the board (`model`) as of `event` (when `before`:
 *   as of just before it, the oldest change the log holds), `position` changes back from the
 *   newest; whether a step older or newer is possible (`canOlder` may need another page); and
 *   why no older step is (`stop`)
 */

/**
 * A walk through one board's history, starting from the board as of a cursor.
 */
export class TimeTravel {
  /**
   * @param {BoardModel} base the board as of `base.cursor` (not changed)
   * @param {(query: PageQuery) => Promise<HistoryPage>} loadPage one page of the board's
   *   history, newest first (`GET /boards/:id/history`)
   * @param {{pageSize?: number, maxEvents?: number}} [options]
   */
  constructor(base, loadPage, options = {}) {
    this.base = base;
    this.loadPage = loadPage;
    this.pageSize = options.pageSize ?? PAGE_SIZE;
    this.maxEvents = options.maxEvents ?? MAX_EVENTS;
    /** @type {BoardEvent[]} the board's events at or below the base's cursor, newest first */
    this.events = [];
    /** Whether the log holds nothing older than the last of `events` (for this reader). */
    this.complete = false;
    /** @type {Map<number, BoardModel>} the board at each position visited */
    this.states = new Map([[0, base]]);
    this.position = 0;
  }

  /** The oldest seq loaded, or the base's cursor + 1 before any is. */
  get #oldest() {
    return this.events.length ? this.events[this.events.length - 1].id : this.base.cursor + 1;
  }

  /**
   * Loads one more page (older than what is loaded); `after` stops it there.
   * @param {number} [after]
   */
  async #loadMore(after) {
    if (this.complete) return;
    const before = this.#oldest;
    const query = /** @type {PageQuery} */ ({ before, limit: this.pageSize });
    if (after !== undefined) query.after = after;
    const page = await this.loadPage(query);
    let last = before;
    for (const event of page.events) {
      // Newest first, all older than asked, all of this board: anything else is not a history
      // this walk can trust.
      if (event.id >= last || event.boardId !== this.base.board.id) {
        throw new Error("The board's history came back out of order");
      }
      last = event.id;
      this.events.push(event);
    }
    // Without `after`, no next page means nothing older: the log's start for this reader.
    if (page.next === null && after === undefined) this.complete = true;
  }

  /**
   * Goes to the board as of seq `seq` (after every event up to it): loads the events after it
   * and the one at or before it, then undoes the newer ones. When that moment is out of reach
   * (the log no longer holds it, or an event between cannot be undone), stops at the oldest
   * moment it can show (whose event is then another one: see `Moment.event`).
   * @param {number} seq
   * @returns {Promise<Moment>}
   */
  async open(seq) {
    // Every event from the newest down to `seq`, a page at a time.
    while (!this.complete && this.#oldest > seq && this.events.length < this.maxEvents) {
      const count = this.events.length;
      await this.#loadMore(seq - 1);
      if (this.events.length === count) break;
    }
    // `seq` itself is not the board's (or no longer held): the newest event before it says what
    // the board was then, and whether the log goes back that far.
    if (!this.complete && this.#oldest > seq && this.events.length < this.maxEvents) {
      await this.#loadMore();
    }
    let target = this.events.findIndex((event) => event.id <= seq);
    if (target === -1) target = this.events.length;
    // One walk back on one copy, keeping only where it ends.
    const model = this.base.clone();
    let position = 0;
    while (position < target && position < this.maxEvents && this.#undoable(position)) {
      unapplyInPlace(model, this.events[position]);
      position++;
    }
    this.states = new Map([[0, this.base], [position, model]]);
    this.position = position;
    return this.moment();
  }

  /**
   * Whether the event at `position` can be undone to go one step older: it is loaded and has
   * its inverse; and the moment before the oldest loaded event is only shown when the log holds
   * nothing older (otherwise the next page comes first).
   * @param {number} position
   */
  #undoable(position) {
    const event = this.events[position];
    if (!event || stopReason(event)) return false;
    return position + 1 < this.events.length || this.complete;
  }

  /**
   * One change back (loading the next page when needed). Unchanged when there is none.
   * @returns {Promise<Moment>}
   */
  async older() {
    if (this.position >= this.maxEvents) return this.moment();
    if (this.position + 1 >= this.events.length && !this.complete) await this.#loadMore();
    if (!this.#undoable(this.position)) return this.moment();
    const next = this.position + 1;
    if (!this.states.has(next)) {
      this.states.set(next, unapplyEvent(this.#state(), this.events[this.position]));
    }
    this.position = next;
    return this.moment();
  }

  /**
   * One change forward: the undone event applied again, with BoardModel.applyEvent.
   * @returns {Moment}
   */
  newer() {
    if (this.position === 0) return this.moment();
    const next = this.position - 1;
    if (!this.states.has(next)) {
      const model = this.#state().clone();
      model.applyEvent(this.events[next]);
      this.states.set(next, model);
    }
    this.position = next;
    return this.moment();
  }

  #state() {
    return /** @type {BoardModel} */ (this.states.get(this.position));
  }

  /** Where the walk stands. @returns {Moment} */
  moment() {
    const position = this.position;
    const count = this.events.length;
    const before = position > 0 && position === count;
    /** @type {StopReason | null} */
    let stop = null;
    if (position >= this.maxEvents) stop = "limit";
    else if (position < count) stop = stopReason(this.events[position]);
    else if (this.complete) stop = "missing";
    return {
      model: this.#state(),
      position,
      event: this.events[before ? position - 1 : position] ?? null,
      before,
      canOlder: stop === null,
      canNewer: position > 0,
      stop,
    };
  }
}
