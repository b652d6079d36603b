/**
 * The board on screen: columns and cards rendered by key and updated in place (focus, menus and
 * inputs survive live updates), moving cards by drag and drop or by keyboard (Space picks a card
 * up, arrows carry it, Space drops, Escape cancels; Alt+arrows move it one step at once), and the
 * canvas on which the others' cursors are drawn. A long list shows its first cards and a "Show
 * more" button (pressed by itself when scrolled into view, and by the arrow keys past the last
 * card), so a render costs what is shown, not the whole board. A card with open conflicts shows
 * how many.
 */
import { guardText, h } from "../dom.js";
import { TITLE_MAX } from "../text_rules.js";
import { createCard, updateCard } from "./card.js";
import { createColumn, updateColumn } from "./column.js";
import { enableDragAndDrop } from "./drag.js";
import { announce } from "./toast.js";

/**
 * @typedef {import("../board_model.js").BoardModel} BoardModel
 * @typedef {import("./card.js").CardActions & import("./column.js").ColumnActions & {
 *   moveTask(taskId: string, listId: string, position: number): void,
 *   archiveTask(taskId: string): void,
 *   addList(title: string): void,
 *   pointer(x: number, y: number): void,
 * }} BoardActions
 * @typedef {{typersByTask(): Map<string, string[]>}} TypingSource
 */

/** @type {string[]} */
const NOBODY = [];
/** Cards a list shows at first, and how many more each "Show more" adds. */
export const CARDS_PER_PAGE = 100;

export class BoardView {
  /**
   * @param {BoardActions} actions
   * @param {TypingSource} typing
   */
  constructor(actions, typing) {
    this.actions = actions;
    this.typing = typing;
    /** @type {Map<string, HTMLElement>} */
    this.columnElements = new Map();
    /** @type {Map<string, HTMLElement>} */
    this.cardElements = new Map();
    /** @type {{taskId: string, listId: string, index: number, from: {listId: string, index: number}} | null} */
    this.grab = null;
    /** @type {BoardModel | null} */
    this.view = null;
    /**
     * What each card was last drawn from: a card whose task (the model replaces a task's object
     * on every change), assignee, typers and grab are the same is not touched, so a render costs
     * the cards that changed, not the board (5,000 cards took ~0.7 s to redraw in full).
     * @type {WeakMap<HTMLElement, {
     *   task: object, member: object | undefined, typing: string, grabbed: boolean,
     *   conflicts: number,
     * }>}
     */
    this.drawn = new WeakMap();
    /** The open conflicts counted by card, for the conflicts array they were counted from. */
    this.conflictCounts = { from: /** @type {unknown} */ (null), byTask: new Map() };
    /** @type {Map<string, number>} how many cards each list shows */
    this.shown = new Map();
    /** @type {Map<string, HTMLElement>} each long list's "Show more" item */
    this.moreButtons = new Map();
    // A "Show more" that scrolls into view shows more by itself.
    this.observer = typeof IntersectionObserver === "undefined"
      ? null
      : new IntersectionObserver((entries) => {
        for (const entry of entries) {
          const listId = /** @type {HTMLElement} */ (entry.target).dataset.listId;
          if (entry.isIntersecting && listId) this.showMore(listId);
        }
      });

    this.columns = h("ol", { class: "columns", attrs: { "aria-label": "Lists" } });
    this.layer = h("div", { class: "cursor-layer", attrs: { "aria-hidden": "true" } });
    const listInput = guardText(h("input", {
      type: "text",
      placeholder: "Add a list…",
      maxLength: TITLE_MAX,
      required: true,
      autocomplete: "off",
      attrs: { "aria-label": "New list title" },
    }));
    const addList = h(
      "form",
      {
        class: "add-list",
        on: {
          submit: (event) => {
            event.preventDefault();
            if (!listInput.value.trim()) return;
            actions.addList(listInput.value);
            listInput.value = "";
          },
        },
      },
      listInput,
      h("button", { class: "button button-quiet", type: "submit", textContent: "Add list" }),
    );
    this.canvas = h("div", { class: "board-canvas" }, this.columns, addList, this.layer);
    this.element = h("div", { class: "board-scroll" }, this.canvas);

    this.canvas.addEventListener("pointermove", (event) => {
      const rect = this.canvas.getBoundingClientRect();
      actions.pointer(event.clientX - rect.left, event.clientY - rect.top);
    });
    this.canvas.addEventListener("keydown", (event) => this.#onKey(event));
    enableDragAndDrop(
      this.canvas,
      (taskId, listId, index) => actions.moveTask(taskId, listId, index),
    );
  }

  /** @param {BoardModel} view */
  render(view) {
    this.view = view;
    const focused = /** @type {HTMLElement | null} */ (document.activeElement);
    const focusedTask = focused?.classList.contains("card") ? focused.dataset.taskId : undefined;
    const shown = this.#withGrab(view);

    const seenLists = new Set();
    const seenTasks = new Set();
    const typers = this.typing.typersByTask();
    const conflictCounts = this.#conflictCounts(view);
    shown.lists.forEach((list, index) => {
      seenLists.add(list.id);
      let column = this.columnElements.get(list.id);
      if (!column) {
        column = createColumn(list, this.actions);
        this.columnElements.set(list.id, column);
      }
      placeAt(this.columns, column, index);
      const tasks = shown.columns.get(list.id) ?? [];
      updateColumn(column, list, tasks.length);
      const cards = /** @type {HTMLElement} */ (column.querySelector(".cards"));
      const limit = Math.max(
        this.shown.get(list.id) ?? CARDS_PER_PAGE,
        // The grabbed card stays in view wherever the keyboard carries it.
        this.grab?.listId === list.id ? this.grab.index + 1 : 0,
      );
      const visible = tasks.length > limit ? tasks.slice(0, limit) : tasks;
      visible.forEach((task, position) => {
        seenTasks.add(task.id);
        let card = this.cardElements.get(task.id);
        if (!card) {
          card = createCard(task, this.actions);
          this.cardElements.set(task.id, card);
        }
        const member = task.assigneeId ? view.member(task.assigneeId) : undefined;
        const typing = typers.get(task.id) ?? NOBODY;
        const grabbed = this.grab?.taskId === task.id;
        const drawn = this.drawn.get(card);
        const typingKey = typing.join("\n");
        const conflicts = conflictCounts.get(task.id) ?? 0;
        if (
          drawn?.task !== task || drawn.member !== member || drawn.typing !== typingKey ||
          drawn.grabbed !== grabbed || drawn.conflicts !== conflicts
        ) {
          updateCard(card, task, {
            assignee: member ? { userId: member.userId, name: member.name } : undefined,
            typing,
            grabbed,
            conflicts,
          });
          this.drawn.set(card, { task, member, typing: typingKey, grabbed, conflicts });
        }
        placeAt(cards, card, position);
      });
      this.#placeMore(list.id, cards, tasks.length - visible.length, visible.length);
    });
    for (const [id, column] of this.columnElements) {
      if (!seenLists.has(id)) {
        column.remove();
        this.columnElements.delete(id);
        this.shown.delete(id);
        const more = this.moreButtons.get(id);
        if (more) this.observer?.unobserve(more);
        this.moreButtons.delete(id);
      }
    }
    for (const [id, card] of this.cardElements) {
      if (!seenTasks.has(id)) {
        card.remove();
        this.cardElements.delete(id);
      }
    }
    if (focusedTask) {
      const card = this.cardElements.get(focusedTask);
      if (card && document.activeElement !== card) card.focus();
    }
  }

  /**
   * How many open conflicts each card holds (counted again only when they changed).
   * @param {BoardModel} view
   * @returns {Map<string, number>}
   */
  #conflictCounts(view) {
    if (this.conflictCounts.from !== view.conflicts) {
      /** @type {Map<string, number>} */
      const byTask = new Map();
      for (const c of view.conflicts) byTask.set(c.taskId, (byTask.get(c.taskId) ?? 0) + 1);
      this.conflictCounts = { from: view.conflicts, byTask };
    }
    return this.conflictCounts.byTask;
  }

  /**
   * Shows the next page of a long list's cards.
   * @param {string} listId
   */
  showMore(listId) {
    this.shown.set(listId, (this.shown.get(listId) ?? CARDS_PER_PAGE) + CARDS_PER_PAGE);
    if (this.view) this.render(this.view);
  }

  /**
   * Puts the list's "Show more" after its shown cards while some are hidden, or takes it away.
   * @param {string} listId
   * @param {HTMLElement} cards
   * @param {number} hidden
   * @param {number} at
   */
  #placeMore(listId, cards, hidden, at) {
    let more = this.moreButtons.get(listId);
    if (hidden <= 0) {
      if (more) {
        this.observer?.unobserve(more);
        more.remove();
        this.moreButtons.delete(listId);
      }
      return;
    }
    if (!more) {
      more = h(
        "li",
        { class: "cards-more", dataset: { listId } },
        h("button", {
          class: "button button-quiet",
          type: "button",
          on: { click: () => this.showMore(listId) },
        }),
      );
      this.moreButtons.set(listId, more);
      this.observer?.observe(more);
    }
    const button = /** @type {HTMLElement} */ (more.firstElementChild);
    const text = `Show ${Math.min(hidden, CARDS_PER_PAGE)} more (${hidden} not shown)`;
    if (button.textContent !== text) button.textContent = text;
    placeAt(cards, more, at);
  }

  /**
   * The view with the grabbed card shown where the keyboard is carrying it.
   * @param {BoardModel} view
   */
  #withGrab(view) {
    if (!this.grab) return view;
    const task = view.task(this.grab.taskId);
    if (!task || !view.columns.has(this.grab.listId)) {
      this.grab = null;
      return view;
    }
    const shown = view.clone();
    shown.placeTask({ ...task, listId: this.grab.listId, position: this.grab.index });
    return shown;
  }

  /** @param {KeyboardEvent} event */
  #onKey(event) {
    const card = /** @type {HTMLElement} */ (event.target);
    if (!card.classList?.contains("card") || !this.view) return;
    const taskId = /** @type {string} */ (card.dataset.taskId);
    const view = this.#withGrab(this.view);
    const task = view.task(taskId);
    if (!task) return;
    const listIndex = view.lists.findIndex((l) => l.id === task.listId);
    const tasks = view.columns.get(task.listId) ?? [];
    const index = tasks.findIndex((t) => t.id === taskId);
    const step = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] }[
      event.key
    ];
    /** Where one arrow step would take the card. */
    const target = () => {
      if (!step) return null;
      const list = view.lists[listIndex + step[0]];
      if (!list) return null;
      const length = (view.columns.get(list.id) ?? []).length - (list.id === task.listId ? 1 : 0);
      const to = step[0] === 0 ? index + step[1] : Math.min(index, length);
      if (to < 0 || to > length || (list.id === task.listId && to === index)) return null;
      return { listId: list.id, index: to, title: list.title };
    };

    if (this.grab && this.grab.taskId === taskId) {
      event.preventDefault();
      if (event.key === " " || event.key === "Enter") {
        const { listId, index: to, from } = this.grab;
        this.grab = null;
        if (listId !== from.listId || to !== from.index) this.actions.moveTask(taskId, listId, to);
        else this.render(this.view);
        announce(`Dropped “${task.title}” in ${view.list(listId)?.title}, position ${to + 1}.`);
      } else if (event.key === "Escape") {
        this.grab = null;
        this.render(this.view);
        announce(`Move cancelled; “${task.title}” is back where it was.`);
      } else {
        const next = target();
        if (next) {
          this.grab = { ...this.grab, listId: next.listId, index: next.index };
          this.render(this.view);
          announce(`${next.title}, position ${next.index + 1}.`);
        }
      }
      return;
    }
    if (event.key === " ") {
      event.preventDefault();
      this.grab = { taskId, listId: task.listId, index, from: { listId: task.listId, index } };
      this.render(this.view);
      announce(
        `Picked up “${task.title}”. Arrow keys move it, Space drops it, Escape cancels.`,
      );
    } else if (event.key === "Enter") {
      event.preventDefault();
      this.actions.edit(taskId);
    } else if (step && event.altKey) {
      event.preventDefault();
      const next = target();
      if (next) {
        this.actions.moveTask(taskId, next.listId, next.index);
        announce(`Moved “${task.title}” to ${next.title}, position ${next.index + 1}.`);
      }
    } else if (step) {
      // Plain arrows walk between cards.
      event.preventDefault();
      const list = view.lists[listIndex + step[0]];
      const siblings = list ? view.columns.get(list.id) ?? [] : [];
      const to = step[0] === 0 ? index + step[1] : Math.min(index, siblings.length - 1);
      const next = siblings[to];
      if (next && list && !this.cardElements.has(next.id)) this.showMore(list.id);
      if (next) this.cardElements.get(next.id)?.focus();
    }
  }
}

/**
 * Puts `child` at `index` among `parent`'s children unless it is already there.
 * @param {HTMLElement} parent
 * @param {HTMLElement} child
 * @param {number} index
 */
function placeAt(parent, child, index) {
  const current = parent.children[index];
  if (current !== child) parent.insertBefore(child, current ?? null);
}
