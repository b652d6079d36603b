/**
 * Time travel, the view: the whole board as it was at an earlier change, read-only, over the
 * page (a modal <dialog>, so the live board underneath is inert and keyboard undo stays off).
 * A banner says when and what ("Viewing the board as of 3 Mar 2026, 14:02:11 — Bob moved “Fix
 * login” to Done"); "◀ Older" and "Newer ▶" (and the arrow keys) step one change at a time; "Back
 * to live" (and Escape) closes it and gives focus back to where it was opened from. The board is
 * drawn by a small renderer of its own — lists, cards, assignees by name, the changed card or
 * list marked — every text through `h()`. The walk itself (loading pages, undoing events) is time_travel.js.
 */
import { api, ApiError } from "../api.js";
import { eventSentence, exactTime } from "../activity_text.js";
import { BoardModel } from "../board_model.js";
import { h, replaceChildren } from "../dom.js";
import { PAGE_SIZE, TimeTravel } from "../time_travel.js";
import { tuning } from "../tuning.js";

/**
 * @typedef {import("../board_model.js").BoardEvent} BoardEvent
 * @typedef {import("../activity_text.js").Names} Names
 * @typedef {import("../time_travel.js").Moment} Moment
 * @typedef {{
 *   boardId: string, auth(): void, names(): Names, model?(): BoardModel,
 * }} TimeTravelContext (`names`: how the page names people and lists now; `model`: the board
 *   as the server last said, without the user's pending changes — when absent, a fresh
 *   snapshot is read)
 */

/** What a moment with no older step says instead. */
const STOPS = {
  start: "This is where the board’s history begins.",
  format: "History before this point is not available (it was recorded in an older format).",
  missing: "History before this point is not available.",
  order: "History before this point is not available.",
  limit: "History further back than this is not shown here.",
};

export class TimeTravelView {
  /** @param {TimeTravelContext} context */
  constructor(context) {
    this.context = context;
    /** @type {TimeTravel | null} */
    this.travel = null;
    /** @type {(() => void) | null} gives focus back where the view was opened from */
    this.returnFocus = null;
    /** Bumped on every open and close: answers for an older one are dropped. */
    this.generation = 0;
    this.busy = false;

    this.time = h("time");
    this.heading = h("h2", {
      id: "time-travel-heading",
      class: "time-travel-heading",
      tabIndex: -1,
    });
    this.status = h("p", { class: "time-travel-note" });
    this.live = h("p", { class: "visually-hidden", attrs: { "aria-live": "polite" } });
    this.olderButton = stepButton("Older", "ArrowLeft", () => this.#older());
    this.newerButton = stepButton("Newer", "ArrowRight", () => this.#newer());
    this.backButton = h("button", {
      type: "button",
      class: "button time-travel-back",
      textContent: "Back to live",
      attrs: { "aria-keyshortcuts": "Escape" },
      on: { click: () => this.close() },
    });
    this.boardTitle = h("h3", { class: "time-travel-board-title" });
    this.lists = h("div", { class: "time-travel-lists" });
    this.dialog = h(
      "dialog",
      { class: "time-travel", attrs: { "aria-labelledby": "time-travel-heading" } },
      h(
        "header",
        { class: "time-travel-banner" },
        h(
          "div",
          { class: "time-travel-text" },
          h("p", { class: "time-travel-kicker", textContent: "Time travel · read-only" }),
          this.heading,
          this.status,
        ),
        h(
          "div",
          {
            class: "time-travel-nav",
            attrs: { role: "group", "aria-label": "Step through the changes" },
          },
          this.olderButton,
          this.newerButton,
          this.backButton,
        ),
      ),
      this.live,
      h(
        "div",
        {
          class: "time-travel-scroll",
          attrs: { role: "region", "aria-label": "The board at that moment (read-only)" },
        },
        this.boardTitle,
        this.lists,
      ),
    );
    this.dialog.addEventListener("cancel", (event) => {
      // Escape: back to live, with focus going back where it came from.
      event.preventDefault();
      this.close();
    });
    this.dialog.addEventListener("close", () => {
      // Closed by the browser itself (a repeated Escape may skip `cancel`): tidy up the same way.
      if (!this.dialog.open && this.dialog.isConnected) this.close();
    });
    this.dialog.addEventListener("keydown", (event) => {
      if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
      if (event.key === "ArrowLeft") this.#older();
      else if (event.key === "ArrowRight") this.#newer();
      else return;
      event.preventDefault();
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  /**
   * Opens the view at the board as of `event` (after it).
   * @param {BoardEvent} event
   * @param {() => void} returnFocus called when it closes
   */
  async open(event, returnFocus) {
    this.close(false);
    const generation = ++this.generation;
    this.returnFocus = returnFocus;
    this.boardTitle.textContent = "";
    this.lists.replaceChildren();
    document.body.append(this.dialog);
    this.dialog.showModal();
    this.heading.focus();
    this.#drawLoading(event);
    try {
      const base = this.context.model?.()?.clone() ?? new BoardModel(
        await api("GET", `/boards/${encodeURIComponent(this.context.boardId)}`),
      );
      if (generation !== this.generation) return;
      this.travel = new TimeTravel(base, (query) => this.#page(query), {
        pageSize: pageSize(),
      });
      const moment = await this.travel.open(event.id);
      if (generation !== this.generation) return;
      this.#draw(moment);
      if (moment.event?.id !== event.id) {
        // Out of reach: an event between cannot be undone, or the walk would be too long.
        const why = STOPS[moment.stop ?? "limit"];
        this.#note(`${why} This is the oldest moment that can be shown.`);
      }
    } catch (error) {
      if (generation !== this.generation) return;
      this.#failed(error, () => this.open(event, returnFocus));
    }
  }

  /**
   * Back to live: closes the view and gives focus back.
   * @param {boolean} [returnFocus] false when the page goes anyway
   */
  close(returnFocus = true) {
    this.generation++;
    this.travel = null;
    this.busy = false;
    if (!this.dialog.isConnected) return;
    if (this.dialog.open) this.dialog.close();
    this.dialog.remove();
    if (returnFocus) this.returnFocus?.();
    this.returnFocus = null;
  }

  /** @param {import("../time_travel.js").PageQuery} query */
  async #page(query) {
    const search = new URLSearchParams({
      before: String(query.before),
      limit: String(query.limit),
    });
    if (query.after !== undefined) search.set("after", String(query.after));
    return await api(
      "GET",
      `/boards/${encodeURIComponent(this.context.boardId)}/history?${search}`,
    );
  }

  /** @param {BoardEvent} event */
  #drawLoading(event) {
    this.time.dateTime = event.at;
    this.time.textContent = exactTime(event.at);
    replaceChildren(this.heading, "Viewing the board as of ", this.time);
    this.#note("Loading the board’s history…");
    setEnabled(this.olderButton, false);
    setEnabled(this.newerButton, false);
  }

  async #older() {
    const travel = this.travel;
    if (!travel || this.busy || !travel.moment().canOlder) return;
    const generation = this.generation;
    this.busy = true;
    // A page may have to come first: say so if it takes a moment.
    const slow = setTimeout(() => this.#note("Loading older changes…"), 300);
    try {
      const moment = await travel.older();
      if (generation !== this.generation) return;
      this.#draw(moment);
    } catch (error) {
      if (generation !== this.generation) return;
      this.#failed(error, () => this.#older());
    } finally {
      clearTimeout(slow);
      if (generation === this.generation) this.busy = false;
    }
  }

  #newer() {
    const travel = this.travel;
    if (!travel || this.busy || !travel.moment().canNewer) return;
    this.#draw(travel.newer());
  }

  /**
   * Shows a moment: the banner, the step buttons, the board.
   * @param {Moment} moment
   */
  #draw(moment) {
    const names = this.#names(moment);
    const event = moment.event;
    const sentence = event ? eventSentence(event, names) : "";
    if (event) {
      this.time.dateTime = event.at;
      this.time.textContent = exactTime(event.at);
    }
    replaceChildren(
      this.heading,
      !event
        ? "Viewing the board: no earlier change is available"
        : moment.before
        ? ["Viewing the board just before ", this.time, ` — before ${sentence}`]
        : ["Viewing the board as of ", this.time, ` — ${sentence}`],
    );
    const note = moment.canOlder
      ? moment.position === 0 ? "This is the newest change." : ""
      : STOPS[moment.stop ?? "missing"];
    this.#note(note);
    setEnabled(this.olderButton, moment.canOlder);
    setEnabled(this.newerButton, moment.canNewer);
    this.live.textContent = `${this.heading.textContent}. ${note}`;
    this.#drawBoard(moment.model, moment.before ? null : event, names);
  }

  /** @param {string} text */
  #note(text) {
    this.status.textContent = text;
  }

  /**
   * @param {unknown} error
   * @param {() => void} retry
   */
  #failed(error, retry) {
    if (error instanceof ApiError && error.status === 401) {
      this.close(false);
      return this.context.auth();
    }
    replaceChildren(
      this.status,
      `Could not load the history: ${/** @type {Error} */ (error).message} `,
      h("button", {
        type: "button",
        class: "button button-link",
        textContent: "Try again",
        on: { click: retry },
      }),
    );
  }

  /**
   * The page's names, with the people and lists of that moment first.
   * @param {Moment} moment
   * @returns {Names}
   */
  #names(moment) {
    const now = this.context.names();
    const events = this.travel?.events ?? [];
    return {
      me: now.me,
      name: (userId) => moment.model.member(userId)?.name ?? now.name(userId),
      listTitle: (listId) => moment.model.list(listId)?.title ?? now.listTitle(listId),
      taskTitle: (taskId) => moment.model.task(taskId)?.title ?? now.taskTitle?.(taskId),
      event: (seq) => events.find((e) => e.id === seq) ?? now.event?.(seq),
    };
  }

  /**
   * The board, read-only: its title, its lists in order with their cards, the card or list the
   * change was about marked.
   * @param {BoardModel} model
   * @param {BoardEvent | null} event
   * @param {Names} names
   */
  #drawBoard(model, event, names) {
    const changedTask = event?.task?.id ?? event?.taskId ?? null;
    const changedList = event?.list?.id ?? event?.listId ?? null;
    this.boardTitle.textContent = model.board.title;
    replaceChildren(
      this.lists,
      model.lists.length === 0 &&
        h("p", { class: "time-travel-empty", textContent: "The board had no lists then." }),
      model.lists.map((list) => {
        const tasks = model.columns.get(list.id) ?? [];
        const headingId = `time-travel-list-${list.id}`;
        const changed = list.id === changedList && !changedTask;
        return h(
          "section",
          {
            class: `time-travel-list${changed ? " changed" : ""}`,
            tabIndex: 0,
            attrs: { "aria-labelledby": headingId },
          },
          h(
            "h4",
            { id: headingId, class: "time-travel-list-title" },
            list.title,
            h("span", {
              class: "time-travel-count",
              textContent: String(tasks.length),
              attrs: { "aria-label": `${tasks.length} card${tasks.length === 1 ? "" : "s"}` },
            }),
          ),
          changed && changedTag(),
          tasks.length
            ? h(
              "ol",
              { class: "time-travel-cards" },
              tasks.map((task) => {
                const assignee = task.assigneeId ? names.name(task.assigneeId) ?? "Someone" : "";
                const marked = task.id === changedTask;
                return h(
                  "li",
                  { class: `time-travel-card${marked ? " changed" : ""}` },
                  h("p", { class: "time-travel-card-title", textContent: task.title }),
                  task.description &&
                    h("p", {
                      class: "time-travel-card-description",
                      textContent: task.description,
                    }),
                  (assignee || marked) && h(
                    "p",
                    { class: "time-travel-card-foot" },
                    marked && changedTag(),
                    assignee && h("span", {
                      class: "time-travel-assignee",
                      textContent: `Assigned to ${assignee}`,
                    }),
                  ),
                );
              }),
            )
            : h("p", { class: "time-travel-empty", textContent: "No cards" }),
        );
      }),
    );
  }
}

/** "Changed here": on the card or list the change was about. */
function changedTag() {
  return h("span", { class: "time-travel-tag", textContent: "Changed here" });
}

/**
 * "◀ Older" / "Newer ▶": the arrows are decoration, the name is the word.
 * @param {"Older" | "Newer"} label
 * @param {string} key
 * @param {() => void} run
 */
function stepButton(label, key, run) {
  const arrow = h("span", { attrs: { "aria-hidden": "true" } }, label === "Older" ? "◀" : "▶");
  const button = h(
    "button",
    {
      type: "button",
      class: "button button-quiet time-travel-step",
      attrs: { "aria-keyshortcuts": key },
      on: {
        click: () => {
          if (button.getAttribute("aria-disabled") !== "true") run();
        },
      },
    },
    label === "Older" ? [arrow, " Older"] : ["Newer ", arrow],
  );
  return button;
}

/**
 * Enables or disables a step button without taking focus from it (`aria-disabled`, not
 * `disabled`: a focused button that became disabled would drop focus to the page).
 * @param {HTMLButtonElement} button
 * @param {boolean} enabled
 */
function setEnabled(button, enabled) {
  if (enabled) button.removeAttribute("aria-disabled");
  else button.setAttribute("aria-disabled", "true");
}

/** Events per history request: tests may ask for fewer (`timeTravelPageSize` in the tuning). */
function pageSize() {
  const size = /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (tuning))
    .timeTravelPageSize;
  return typeof size === "number" && size >= 1 && size <= PAGE_SIZE ? size : PAGE_SIZE;
}
