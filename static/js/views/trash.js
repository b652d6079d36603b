/**
 * The trash panel: the board's deleted cards and lists (newest deletion first, kept 30 days by
 * the server), each with who deleted it and when, and a Restore button. It refreshes itself
 * when a deletion or a restore arrives on the board's connection while it is open.
 */
import { api, ApiError } from "../api.js";
import { exactTime, quote, relativeTime } from "../activity_text.js";
import { h } from "../dom.js";
import { SidePanel } from "./side_panel.js";

/**
 * @typedef {import("../board_model.js").BoardEvent} BoardEvent
 * @typedef {import("../board_model.js").BoardModel} BoardModel
 * @typedef {import("../board_model.js").Task} Task
 * @typedef {{
 *   kind: "task" | "list", id: string, boardId: string, listId?: string, title: string,
 *   deletedBy: string | null, deletedAt: string, tasks?: Task[],
 * }} TrashItem
 * @typedef {{
 *   boardId: string, me: {id: string}, view(): BoardModel,
 *   restore(kind: "task" | "list", id: string, title: string): Promise<boolean>, auth(): void,
 * }} TrashContext (`restore` resolves whether the server did it; it reports refusals itself)
 */

/**
 * The query of a page of the trash or the archive: the next one after `before`, or the newest
 * again, as many as `shown` (the server gives at most 100 at a time).
 * @param {number | null} before
 * @param {number} shown
 */
export function pageQuery(before, shown) {
  return before === null
    ? `limit=${Math.min(100, Math.max(50, shown))}`
    : `before=${before}&limit=50`;
}

/** Events after which the trash holds something else. */
const TRASH_EVENTS = new Set(["task_deleted", "list_deleted", "task_restored", "list_restored"]);

export class TrashPanel {
  /** @param {TrashContext} context */
  constructor(context) {
    this.context = context;
    this.panel = new SidePanel({ id: "trash-panel", title: "Trash" });
    this.status = h("p", { class: "side-panel-status", attrs: { role: "status" } });
    this.list = h("ul", {
      class: "trash-list",
      attrs: { "aria-label": "Deleted cards and lists" },
    });
    /** @type {TrashItem[]} the pages loaded so far, newest first */
    this.items = [];
    /** @type {number | null} where the next (older) page starts, if there is one */
    this.next = null;
    this.olderButton = h("button", {
      type: "button",
      class: "button button-quiet side-panel-more",
      textContent: "Show older",
      hidden: true,
      on: { click: () => this.reload(true) },
    });
    this.panel.body.append(
      h("p", {
        class: "side-panel-note",
        textContent: "Deleted cards and lists stay here for 30 days.",
      }),
      this.status,
      this.list,
      this.olderButton,
    );
    this.generation = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.pending = undefined;
  }

  get element() {
    return this.panel.element;
  }

  get isOpen() {
    return this.panel.isOpen;
  }

  /** @param {HTMLElement} [opener] */
  open(opener) {
    this.panel.open(opener);
    this.status.textContent = "Loading…";
    this.reload();
  }

  close() {
    this.panel.close();
  }

  /**
   * Refreshes (once for a burst) when what arrived changes the trash.
   * @param {BoardEvent} event
   */
  eventArrived(event) {
    if (!this.isOpen || !TRASH_EVENTS.has(event.type)) return;
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.reload(), 150);
  }

  /**
   * Loads the newest page again (as many items as are shown), or with `older` the next page.
   * @param {boolean} [older]
   */
  async reload(older = false) {
    const generation = ++this.generation;
    /** @type {{items: TrashItem[], next: number | null}} */
    let answer;
    try {
      answer = await api(
        "GET",
        `/boards/${encodeURIComponent(this.context.boardId)}/trash?${
          pageQuery(older ? this.next : null, this.items.length)
        }`,
      );
    } catch (error) {
      if (generation !== this.generation) return;
      if (error instanceof ApiError && error.status === 401) return this.context.auth();
      this.status.replaceChildren(
        `Could not load the trash: ${/** @type {Error} */ (error).message} `,
        h("button", {
          type: "button",
          class: "button button-link",
          textContent: "Try again",
          on: { click: () => this.reload() },
        }),
      );
      return;
    }
    if (generation !== this.generation || !this.isOpen) return;
    this.items = older ? [...this.items, ...answer.items] : answer.items;
    this.next = answer.next;
    this.olderButton.hidden = this.next === null;
    this.#draw(this.items);
  }

  /** @param {TrashItem[]} items */
  #draw(items) {
    // Where focus was (a Restore button), to put it on the neighbour once that item is gone.
    const buttons = [...this.list.querySelectorAll("button")];
    const focused = buttons.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    const focusedId = focused === -1
      ? null
      : /** @type {HTMLElement} */ (buttons[focused].closest("li")).dataset.id;
    this.list.replaceChildren(...items.map((item) => this.#item(item)));
    this.status.textContent = items.length === 0 ? "The trash is empty." : "";
    if (focused === -1) return;
    const again = [...this.list.querySelectorAll("button")];
    const same = again.find((b) =>
      /** @type {HTMLElement} */ (b.closest("li")).dataset.id === focusedId
    );
    const next = same ?? again[Math.min(focused, again.length - 1)];
    (next ?? this.panel.heading).focus();
  }

  /** @param {TrashItem} item */
  #item(item) {
    const view = this.context.view();
    const who = item.deletedBy === this.context.me.id
      ? "you"
      : (item.deletedBy && view.member(item.deletedBy)?.name) || "someone";
    const count = item.tasks?.length ?? 0;
    const what = item.kind === "list"
      ? `List · ${count} card${count === 1 ? "" : "s"}`
      : `Card · ${
        item.listId && view.list(item.listId)
          ? `was in ${view.list(item.listId)?.title}`
          : "its list is deleted too"
      }`;
    const restore = h("button", {
      type: "button",
      class: "button button-quiet",
      textContent: "Restore",
      attrs: { "aria-label": `Restore ${quote(item.title)}` },
      on: {
        click: async () => {
          restore.disabled = true;
          const done = await this.context.restore(item.kind, item.id, item.title);
          if (done) this.reload();
          else restore.disabled = false;
        },
      },
    });
    return h(
      "li",
      { class: "trash-item", dataset: { id: item.id, kind: item.kind } },
      h(
        "div",
        { class: "trash-main" },
        h("p", { class: "trash-title", textContent: item.title }),
        h(
          "p",
          { class: "activity-meta" },
          `${what} · deleted by ${who} · `,
          h("time", {
            dateTime: item.deletedAt,
            title: exactTime(item.deletedAt),
            textContent: relativeTime(item.deletedAt),
          }),
        ),
      ),
      restore,
    );
  }
}
