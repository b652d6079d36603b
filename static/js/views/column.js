/**
 * A list column: header with the title, the card count and a menu (rename, move left/right,
 * archive, delete), the ordered cards, and the "add a card" form at the bottom.
 */
import { guardText, h } from "../dom.js";
import { TITLE_MAX } from "../text_rules.js";
import { actionMenu } from "./menu.js";

/**
 * @typedef {import("../board_model.js").List} List
 * @typedef {{
 *   addTask(listId: string, title: string): void,
 *   renameList(listId: string, title: string): void,
 *   moveList(listId: string, by: number): void,
 *   archiveList(listId: string): void,
 *   deleteList(listId: string): void,
 *   composing(listId: string): void,
 * }} ColumnActions
 */

/**
 * @param {List} list
 * @param {ColumnActions} actions
 */
export function createColumn(list, actions) {
  const column = h("li", { class: "column", dataset: { listId: list.id } });
  const id = () => /** @type {string} */ (column.dataset.listId);
  const title = h("h2", { class: "column-title" });
  const count = h("span", { class: "column-count" });
  const menu = actionMenu(
    { toggle: { class: "icon-button" }, list: { class: "menu-items", attrs: { role: "group" } } },
    [
      { label: "Rename list", run: () => startRename() },
      { label: "Move list left", run: () => actions.moveList(id(), -1) },
      { label: "Move list right", run: () => actions.moveList(id(), 1) },
      { label: "Archive list", run: () => actions.archiveList(id()) },
      { label: "Delete list…", run: () => actions.deleteList(id()), danger: true },
    ],
  );

  const renameInput = guardText(h("input", {
    class: "column-title-input",
    type: "text",
    maxLength: TITLE_MAX,
    required: true,
    hidden: true,
  }));
  const startRename = () => {
    renameInput.value = title.textContent ?? "";
    renameInput.setAttribute("aria-label", `New name for list “${title.textContent}”`);
    title.hidden = true;
    renameInput.hidden = false;
    renameInput.focus();
    renameInput.select();
  };
  const finishRename = (/** @type {boolean} */ save) => {
    if (renameInput.hidden) return;
    if (save && !renameInput.reportValidity()) return;
    renameInput.hidden = true;
    title.hidden = false;
    const value = renameInput.value.trim();
    if (save && value && value !== title.textContent) actions.renameList(id(), value);
  };
  renameInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") finishRename(true);
    if (event.key === "Escape") finishRename(false);
  });
  renameInput.addEventListener("blur", () => finishRename(true));
  title.addEventListener("dblclick", startRename);

  const cards = h("ol", { class: "cards" });
  const input = guardText(h("input", {
    class: "add-card-input",
    type: "text",
    name: "title",
    placeholder: "Add a card…",
    maxLength: TITLE_MAX,
    required: true,
    autocomplete: "off",
    on: { input: () => actions.composing(id()) },
  }));
  const form = h(
    "form",
    {
      class: "add-card",
      on: {
        submit: (event) => {
          event.preventDefault();
          const value = input.value;
          if (!value.trim()) return;
          actions.addTask(id(), value);
          input.value = "";
          input.focus();
        },
      },
    },
    input,
    h("button", { class: "button button-quiet", type: "submit", textContent: "Add" }),
  );
  column.append(
    h("header", { class: "column-head" }, title, renameInput, count, menu),
    cards,
    form,
  );
  return column;
}

/**
 * @param {HTMLElement} column
 * @param {List} list
 * @param {number} taskCount
 */
export function updateColumn(column, list, taskCount) {
  const title = /** @type {HTMLElement} */ (column.querySelector(".column-title"));
  if (title.textContent !== list.title) title.textContent = list.title;
  const count = /** @type {HTMLElement} */ (column.querySelector(".column-count"));
  count.textContent = String(taskCount);
  count.setAttribute("aria-label", `${taskCount} card${taskCount === 1 ? "" : "s"}`);
  column.classList.toggle("pending", !!list.pending);
  column.setAttribute("aria-label", `List ${list.title}`);
  const cards = /** @type {HTMLElement} */ (column.querySelector(".cards"));
  cards.setAttribute("aria-label", `Cards in ${list.title}`);
  column.querySelector("summary")?.setAttribute("aria-label", `Actions for list “${list.title}”`);
  column.querySelector(".add-card-input")?.setAttribute("aria-label", `New card in ${list.title}`);
}
