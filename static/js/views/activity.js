/**
 * The activity panel: the board's history newest first, one sentence per change ("Bob moved
 * “Fix login” to Done · 2 min ago", the exact time in the title), paged backwards with "Load
 * older", live (events arriving on the board's connection go on top), filtered by person and by
 * card (a card's history), and with an Undo (own change) or Revert (anyone's, for the board's
 * owner) button on each change that can be reverted. Reverting goes through the page, which
 * reports refusals; the entry then reads "Undone" once the reverting event is known. Every entry
 * also offers "View board as of here": the whole board as it was right after that change,
 * read-only, stepping older and newer (views/time_travel.js).
 */
import { api, ApiError } from "../api.js";
import {
  eventSentence,
  eventTaskId,
  exactTime,
  isRevertible,
  quote,
  relativeTime,
} from "../activity_text.js";
import { colorIndex, h, initials, replaceChildren } from "../dom.js";
import { tuning } from "../tuning.js";
import { SidePanel } from "./side_panel.js";
import { TimeTravelView } from "./time_travel.js";

/**
 * @typedef {import("../board_model.js").BoardEvent} BoardEvent
 * @typedef {import("../board_model.js").BoardModel} BoardModel
 * @typedef {import("../activity_text.js").Names} Names
 * @typedef {{actorId?: string, taskId?: string}} ActivityFilter
 * @typedef {{
 *   boardId: string, me: {id: string}, view(): BoardModel,
 *   revert(seq: number): Promise<boolean>, auth(): void, model?(): BoardModel,
 * }} ActivityContext (`revert` resolves whether the server did it; it reports refusals itself;
 *   `model`, when given, is the board as the server last said, which time travel starts from
 *   instead of reading a snapshot)
 */

/** Relative times ("2 min ago") are redrawn this often while the panel is open. */
const CLOCK_MS = 30_000;

export class ActivityPanel {
  /** @param {ActivityContext} context */
  constructor(context) {
    this.context = context;
    this.panel = new SidePanel({
      id: "activity-panel",
      title: "Activity",
      closed: () => {
        clearInterval(this.clock);
        this.timeTravel.close(false);
      },
    });
    this.timeTravel = new TimeTravelView({
      boardId: context.boardId,
      auth: () => context.auth(),
      names: () => this.#names(),
      ...(context.model && { model: context.model }),
    });
    /** @type {{actorId: string, taskId: string}} */
    this.filter = { actorId: "", taskId: "" };
    /** @type {Map<number, BoardEvent>} every event loaded or arrived, by seq */
    this.events = new Map();
    /** @type {Map<number, HTMLLIElement>} the entries shown, by seq */
    this.items = new Map();
    /** @type {Set<number>} seqs of events known to have been undone */
    this.reverted = new Set();
    /** @type {Map<string, string>} names of people no longer members, from member events */
    this.formerNames = new Map();
    /** @type {Map<string, string>} titles of lists since deleted, from list events */
    this.formerLists = new Map();
    /** @type {number | null} the `before` of the next older page; null: nothing older */
    this.next = null;
    /** Bumped on every reload, so an answer for an older filter is ignored. */
    this.generation = 0;
    this.loaded = false;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.clock = undefined;

    this.person = h("select", {
      id: "activity-person",
      on: {
        change: () => {
          this.filter.actorId = this.person.value;
          this.reload();
        },
      },
    });
    this.cardFilter = h("p", { class: "activity-card-filter", hidden: true });
    this.status = h("p", { class: "side-panel-status", attrs: { role: "status" } });
    this.list = h("ol", {
      class: "activity-list",
      attrs: { "aria-label": "Changes, newest first" },
    });
    this.older = h("button", {
      type: "button",
      class: "button button-quiet side-panel-more",
      textContent: "Load older",
      hidden: true,
      on: { click: () => this.#loadOlder() },
    });
    this.panel.body.append(
      h(
        "div",
        { class: "activity-filters" },
        h("label", { htmlFor: "activity-person", textContent: "Person" }),
        this.person,
        this.cardFilter,
      ),
      this.status,
      this.list,
      this.older,
    );
  }

  get element() {
    return this.panel.element;
  }

  get isOpen() {
    return this.panel.isOpen;
  }

  /**
   * Opens the panel (or changes its filter if open) and loads the newest page.
   * @param {ActivityFilter} [filter] no `taskId`: the whole board
   * @param {HTMLElement} [opener]
   */
  open(filter = {}, opener) {
    this.filter = { actorId: filter.actorId ?? "", taskId: filter.taskId ?? "" };
    this.#drawPeople();
    this.#drawCardFilter();
    this.panel.open(opener);
    clearInterval(this.clock);
    this.clock = setInterval(() => this.#redrawTimes(), CLOCK_MS);
    this.reload();
  }

  close() {
    this.panel.close();
  }

  /**
   * An event that arrived on the board's connection: shown on top if it passes the filter; an
   * undo marks the entry it undid.
   * @param {BoardEvent} event
   */
  eventArrived(event) {
    if (!this.isOpen) return;
    this.#learn(event);
    this.#add(event);
    this.#drawEmpty();
  }

  /** Starts again from the newest page (after a filter change or a resync). */
  reload() {
    const generation = ++this.generation;
    this.events.clear();
    this.items.clear();
    this.reverted.clear();
    this.list.replaceChildren();
    this.next = null;
    this.loaded = false;
    this.older.hidden = true;
    this.status.textContent = "Loading…";
    this.#loadPage(generation, null);
  }

  async #loadOlder() {
    if (this.next === null) return;
    this.older.disabled = true;
    this.older.textContent = "Loading…";
    await this.#loadPage(this.generation, this.next);
    this.older.disabled = false;
    this.older.textContent = "Load older";
    // The button went away with the last page: keep focus in the panel, not on <body>.
    if (this.older.hidden && document.activeElement === document.body) this.panel.heading.focus();
  }

  /**
   * @param {number} generation
   * @param {number | null} before
   */
  async #loadPage(generation, before) {
    const query = new URLSearchParams({ limit: String(tuning.historyPageSize) });
    if (before !== null) query.set("before", String(before));
    if (this.filter.actorId) query.set("actorId", this.filter.actorId);
    if (this.filter.taskId) query.set("taskId", this.filter.taskId);
    /** @type {{events: BoardEvent[], next: number | null}} */
    let page;
    try {
      page = await api(
        "GET",
        `/boards/${encodeURIComponent(this.context.boardId)}/history?${query}`,
      );
    } catch (error) {
      if (generation !== this.generation) return;
      if (error instanceof ApiError && error.status === 401) return this.context.auth();
      this.status.replaceChildren(
        `Could not load the activity: ${/** @type {Error} */ (error).message} `,
        h("button", {
          type: "button",
          class: "button button-link",
          textContent: "Try again",
          on: { click: () => before === null ? this.reload() : this.#loadOlder() },
        }),
      );
      return;
    }
    if (generation !== this.generation) return;
    // Names and lists first: an undo's entry may name what an older event on this page undid.
    for (const event of page.events) this.#learn(event);
    for (const event of page.events) this.#add(event);
    this.next = page.next;
    this.loaded = true;
    this.older.hidden = page.next === null;
    this.status.textContent = "";
    this.#drawEmpty();
    // A deleted card's title is only known from its history.
    if (this.filter.taskId && !this.context.view().task(this.filter.taskId)) {
      this.#drawCardFilter();
    }
  }

  /**
   * Shows an event in its place by seq (newest first) unless shown already or filtered out.
   * @param {BoardEvent} event
   */
  #add(event) {
    if (event.revertOf !== undefined && event.revertOf !== null) {
      this.reverted.add(event.revertOf);
      this.#drawItem(event.revertOf);
    }
    if (this.items.has(event.id) || !this.#passes(event)) return;
    this.events.set(event.id, event);
    const item = h("li", { class: "activity-item", dataset: { seq: String(event.id) } });
    this.items.set(event.id, item);
    // Entries are inserted, never moved: moving a node would take focus from its button.
    const after = [...this.list.children].find((child) =>
      Number(/** @type {HTMLElement} */ (child).dataset.seq) < event.id
    );
    this.list.insertBefore(item, after ?? null);
    this.#drawItem(event.id);
  }

  /** @param {BoardEvent} event */
  #passes(event) {
    if (this.filter.actorId && event.actorId !== this.filter.actorId) return false;
    if (this.filter.taskId && eventTaskId(event) !== this.filter.taskId) return false;
    return true;
  }

  /**
   * Draws (or redraws) one entry: who, what, when, and the button to revert it.
   * @param {number} seq
   */
  #drawItem(seq) {
    const item = this.items.get(seq);
    const event = this.events.get(seq);
    if (!item || !event) return;
    const view = this.context.view();
    const names = this.#names();
    const sentence = eventSentence(event, names);
    const actor = event.actorId ?? "";
    const actorName = (actor && names.name(actor)) || "Someone";
    const mine = event.actorId === this.context.me.id;
    const undone = this.reverted.has(seq);
    const canRevert = !undone && isRevertible(event, this.context.me.id, view.board.ownerId);
    const time = h("time", {
      dateTime: event.at,
      title: exactTime(event.at),
      textContent: relativeTime(event.at),
    });
    const travel = h("button", {
      type: "button",
      class: "button button-link activity-time-travel",
      textContent: "View board as of here",
      attrs: { "aria-label": `View board as of here: ${sentence}` },
      on: { click: () => this.timeTravel.open(event, () => this.#focusEntry(seq)) },
    });
    /** @type {HTMLButtonElement | null} */
    let button = null;
    if (canRevert) {
      const label = mine ? "Undo" : "Revert";
      const revert = h("button", {
        type: "button",
        class: "button button-quiet activity-revert",
        textContent: label,
        attrs: { "aria-label": `${label}: ${sentence}` },
        on: {
          click: async () => {
            revert.disabled = true;
            const done = await this.context.revert(seq);
            if (done) {
              this.reverted.add(seq);
              this.#drawItem(seq);
            } else revert.disabled = false;
          },
        },
      });
      button = revert;
    }
    // Keep focus where it was: a redrawn entry whose button had it puts it on the entry.
    const hadFocus = item.contains(document.activeElement);
    replaceChildren(
      item,
      h(
        "span",
        {
          class: `avatar avatar-small color-${colorIndex(actor || "?")}`,
          attrs: { "aria-hidden": "true" },
        },
        initials(actorName),
      ),
      h(
        "div",
        { class: "activity-main" },
        h("p", { class: "activity-text", textContent: sentence }),
        h(
          "p",
          { class: "activity-meta" },
          time,
          undone && h("span", { class: "activity-undone", textContent: "Undone" }),
          travel,
        ),
      ),
      button,
    );
    if (hadFocus && !item.contains(document.activeElement)) {
      item.tabIndex = -1;
      item.focus();
    }
  }

  /**
   * Focus back on an entry's "View board as of here" (after time travel), or on the panel.
   * @param {number} seq
   */
  #focusEntry(seq) {
    const button = /** @type {HTMLElement | null | undefined} */ (
      this.items.get(seq)?.querySelector(".activity-time-travel")
    );
    if (button && this.isOpen) button.focus();
    else if (this.isOpen) this.panel.heading.focus();
    else document.getElementById("main")?.focus();
  }

  #drawEmpty() {
    if (!this.loaded || this.items.size > 0) {
      if (this.loaded) this.status.textContent = "";
      return;
    }
    this.status.textContent = this.filter.actorId || this.filter.taskId
      ? "No changes match this filter."
      : "Nothing has happened on this board yet.";
  }

  #drawPeople() {
    const view = this.context.view();
    const people = [...view.members].sort((a, b) => a.name.localeCompare(b.name));
    // Someone filtered on who has since left stays selectable until the filter changes.
    const gone = this.filter.actorId && !view.member(this.filter.actorId)
      ? [{
        userId: this.filter.actorId,
        name: this.formerNames.get(this.filter.actorId) ?? "Someone",
      }]
      : [];
    replaceChildren(
      this.person,
      h("option", { value: "", textContent: "Everyone" }),
      [...people, ...gone].map((m) =>
        h("option", {
          value: m.userId,
          textContent: m.userId === this.context.me.id ? `${m.name} (you)` : m.name,
          selected: m.userId === this.filter.actorId,
        })
      ),
    );
  }

  #drawCardFilter() {
    const taskId = this.filter.taskId;
    this.cardFilter.hidden = !taskId;
    if (!taskId) return this.cardFilter.replaceChildren();
    const title = this.context.view().task(taskId)?.title ??
      [...this.events.values()].find((e) => eventTaskId(e) === taskId)?.task?.title ?? "a card";
    this.cardFilter.replaceChildren(
      h("span", { textContent: `History of ${quote(title)}` }),
      h("button", {
        type: "button",
        class: "button button-link",
        textContent: "Show all cards",
        on: {
          click: () => {
            this.filter.taskId = "";
            this.#drawCardFilter();
            this.reload();
            this.panel.heading.focus();
          },
        },
      }),
    );
  }

  #redrawTimes() {
    for (const time of this.list.querySelectorAll("time")) {
      time.textContent = relativeTime(time.dateTime);
    }
  }

  /**
   * Remembers names of people and lists the board no longer has, to keep naming them.
   * @param {BoardEvent} event
   */
  #learn(event) {
    if (event.member?.userId && event.member.name) {
      this.formerNames.set(event.member.userId, event.member.name);
    }
    if (event.list?.id && event.list.title) this.formerLists.set(event.list.id, event.list.title);
  }

  /** @returns {Names} */
  #names() {
    const view = this.context.view();
    return {
      me: this.context.me.id,
      name: (userId) => view.member(userId)?.name ?? this.formerNames.get(userId),
      listTitle: (listId) => view.list(listId)?.title ?? this.formerLists.get(listId),
      taskTitle: (taskId) => view.task(taskId)?.title,
      event: (seq) => this.events.get(seq),
    };
  }
}
