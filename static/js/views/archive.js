/**
 * The archive panel: the board's archived cards and lists (newest first, kept by the server until
 * unarchived), searched as the user types (titles, descriptions and an archived list's cards, by
 * the server, a moment after the last key), each with who archived it and when, and an Unarchive
 * button. It refreshes itself when an archive or unarchive arrives on the board's connection
 * while it is open.
 */
import { api, ApiError } from "../api.js";
import { exactTime, quote, relativeTime } from "../activity_text.js";
import { h } from "../dom.js";
import { SidePanel } from "./side_panel.js";
import { pageQuery } from "./trash.js";

/**
 * @typedef {import("../board_model.js").BoardEvent} BoardEvent
 * @typedef {import("../board_model.js").BoardModel} BoardModel
 * @typedef {import("../board_model.js").Task} Task
 * @typedef {{
 *   kind: "task" | "list", id: string, boardId: string, listId?: string, title: string,
 *   deletedBy: string | null, deletedAt: string, task?: Task, tasks?: Task[],
 * }} ArchiveItem the trash's item shape (`deletedBy`, `deletedAt`: who archived it, and when)
 * @typedef {{
 *   boardId: string, me: {id: string}, view(): BoardModel,
 *   unarchive(kind: "task" | "list", id: string, title: string): Promise<boolean>, auth(): void,
 * }} ArchiveContext (`unarchive` resolves whether the server did it; it reports refusals itself)
 */

/** Events after which the archive holds something else. */
const ARCHIVE_EVENTS = new Set([
  "task_archived",
  "task_unarchived",
  "list_archived",
  "list_unarchived",
]);
/** How long after the last key the search goes to the server. */
const SEARCH_DELAY_MS = 250;
/** An archived list's matching cards named under it, at most. */
const MATCHES_SHOWN = 3;

export class ArchivePanel {
  /** @param {ArchiveContext} context */
  constructor(context) {
    this.context = context;
    this.panel = new SidePanel({ id: "archive-panel", title: "Archive" });
    this.search = h("input", {
      id: "archive-search",
      type: "search",
      placeholder: "Titles, descriptions, a list's cards",
      maxLength: 200,
      autocomplete: "off",
      on: {
        input: () => {
          clearTimeout(this.pending);
          this.pending = setTimeout(() => this.reload(), SEARCH_DELAY_MS);
        },
        keydown: (event) => {
          // Escape clears the search first (the browser's own), and closes the panel when empty.
          const key = /** @type {KeyboardEvent} */ (event).key;
          if (key === "Escape" && this.search.value !== "") {
            event.preventDefault();
            this.search.value = "";
            this.reload();
          }
        },
      },
    });
    this.status = h("p", { class: "side-panel-status", attrs: { role: "status" } });
    this.list = h("ul", {
      class: "trash-list archive-list",
      attrs: { "aria-label": "Archived cards and lists" },
    });
    /** @type {ArchiveItem[]} the pages loaded so far, newest first */
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
        textContent: "Archived cards and lists are kept until someone unarchives them.",
      }),
      h(
        "div",
        { class: "archive-search", attrs: { role: "search" } },
        h("label", { htmlFor: "archive-search", textContent: "Search the archive" }),
        this.search,
      ),
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
   * Refreshes (once for a burst) when what arrived changes the archive.
   * @param {BoardEvent} event
   */
  eventArrived(event) {
    if (!this.isOpen || !ARCHIVE_EVENTS.has(event.type)) return;
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.reload(), 150);
  }

  /**
   * Loads the newest page again (as many items as are shown), or with `older` the next page.
   * @param {boolean} [older]
   */
  async reload(older = false) {
    clearTimeout(this.pending);
    const generation = ++this.generation;
    const q = this.search.value.trim();
    /** @type {{items: ArchiveItem[], next: number | null}} */
    let answer;
    try {
      answer = await api(
        "GET",
        `/boards/${encodeURIComponent(this.context.boardId)}/archive?${
          pageQuery(older ? this.next : null, this.items.length)
        }${q ? `&q=${encodeURIComponent(q)}` : ""}`,
      );
    } catch (error) {
      if (generation !== this.generation) return;
      if (error instanceof ApiError && error.status === 401) return this.context.auth();
      this.status.replaceChildren(
        `Could not load the archive: ${/** @type {Error} */ (error).message} `,
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
    this.#draw(this.items, q);
  }

  /**
   * @param {ArchiveItem[]} items
   * @param {string} q what they were searched for
   */
  #draw(items, q) {
    // Where focus was (an Unarchive button), to put it on the neighbour once that item is gone.
    const buttons = [...this.list.querySelectorAll("button")];
    const focused = buttons.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
    const focusedId = focused === -1
      ? null
      : /** @type {HTMLElement} */ (buttons[focused].closest("li")).dataset.id;
    this.list.replaceChildren(...items.map((item) => this.#item(item, q)));
    this.status.textContent = items.length > 0
      ? (q ? `${items.length}${this.next === null ? "" : "+"} found for ${quote(q)}.` : "")
      : q
      ? `Nothing archived matches ${quote(q)}.`
      : "Nothing is archived.";
    if (focused === -1) return;
    const again = [...this.list.querySelectorAll("button")];
    const same = again.find((b) =>
      /** @type {HTMLElement} */ (b.closest("li")).dataset.id === focusedId
    );
    const next = same ?? again[Math.min(focused, again.length - 1)];
    (next ?? this.search).focus();
  }

  /**
   * @param {ArchiveItem} item
   * @param {string} q
   */
  #item(item, q) {
    const view = this.context.view();
    const who = item.deletedBy === this.context.me.id
      ? "you"
      : (item.deletedBy && view.member(item.deletedBy)?.name) || "someone";
    const count = item.tasks?.length ?? 0;
    const listId = item.listId ?? item.task?.listId;
    const what = item.kind === "list"
      ? `List · ${count} card${count === 1 ? "" : "s"}`
      : `Card · ${
        listId && view.list(listId) ? `was in ${view.list(listId)?.title}` : "its list is gone"
      }`;
    // What the search found inside an archived list: its matching cards, by title.
    const needle = q.toLocaleLowerCase();
    const matches = needle && item.kind === "list" &&
        !item.title.toLocaleLowerCase().includes(needle)
      ? (item.tasks ?? []).filter((t) =>
        t.title.toLocaleLowerCase().includes(needle) ||
        t.description.toLocaleLowerCase().includes(needle)
      )
      : [];
    const unarchive = h("button", {
      type: "button",
      class: "button button-quiet",
      textContent: "Unarchive",
      attrs: { "aria-label": `Unarchive ${quote(item.title)}` },
      on: {
        click: async () => {
          unarchive.disabled = true;
          const done = await this.context.unarchive(item.kind, item.id, item.title);
          if (done) this.reload();
          else unarchive.disabled = false;
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
          `${what} · archived by ${who} · `,
          h("time", {
            dateTime: item.deletedAt,
            title: exactTime(item.deletedAt),
            textContent: relativeTime(item.deletedAt),
          }),
        ),
        matches.length > 0 &&
          h("p", {
            class: "archive-matches",
            textContent: `Found in ${
              matches.slice(0, MATCHES_SHOWN).map((t) => quote(t.title)).join(", ")
            }${
              matches.length > MATCHES_SHOWN ? ` and ${matches.length - MATCHES_SHOWN} more` : ""
            }`,
          }),
      ),
      unarchive,
    );
  }
}
