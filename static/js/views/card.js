/**
 * A task card: a focusable, draggable list item showing the title, the start of the
 * description, the assignee, who is typing on it, whether it is saved yet and how many open
 * conflicts it holds (a button that opens the editor, where they are listed). Built once per
 * task and updated in place, so focus and drag state survive live updates.
 */
import { colorIndex, h, initials, replaceChildren } from "../dom.js";
import { icon } from "./icons.js";

/**
 * @typedef {import("../board_model.js").Task} Task
 * @typedef {{edit(taskId: string): void, remove(taskId: string): void}} CardActions
 * @typedef {{
 *   assignee?: {userId: string, name: string}, typing: string[], grabbed: boolean,
 *   conflicts: number,
 * }} CardContext (`conflicts`: how many open conflicts the card holds)
 */

/**
 * @param {Task} task
 * @param {CardActions} actions
 */
export function createCard(task, actions) {
  const card = h("li", {
    class: "card",
    tabIndex: 0,
    draggable: true,
    dataset: { taskId: task.id },
    attrs: { "aria-roledescription": "card" },
  });
  const edit = h("button", {
    class: "icon-button card-edit",
    type: "button",
    on: { click: () => actions.edit(/** @type {string} */ (card.dataset.taskId)) },
  });
  const remove = h("button", {
    class: "icon-button card-delete",
    type: "button",
    on: { click: () => actions.remove(/** @type {string} */ (card.dataset.taskId)) },
  });
  edit.append(icon("edit"));
  remove.append(icon("trash"));
  // Only a new card animates in; moving one re-inserts it, which must not replay the animation.
  card.classList.add("entering");
  card.addEventListener("animationend", () => card.classList.remove("entering"), { once: true });
  card.append(
    h("p", { class: "card-title" }),
    h("p", { class: "card-description" }),
    h(
      "div",
      { class: "card-foot" },
      h("span", { class: "card-assignee" }),
      h("button", {
        class: "card-conflicts",
        type: "button",
        on: { click: () => actions.edit(/** @type {string} */ (card.dataset.taskId)) },
      }),
      h("span", { class: "card-typing", attrs: { "aria-live": "polite" } }),
      h("span", { class: "card-pending", textContent: "Not saved yet" }),
    ),
    h("span", { class: "card-tools" }, edit, remove),
  );
  return card;
}

/**
 * @param {HTMLElement} card
 * @param {Task} task
 * @param {CardContext} context
 */
export function updateCard(card, task, context) {
  const q = (
    /** @type {string} */ selector,
  ) => /** @type {HTMLElement} */ (card.querySelector(selector));
  card.dataset.taskId = task.id;
  card.dataset.listId = task.listId;
  setText(q(".card-title"), task.title);
  const description = q(".card-description");
  setText(description, task.description);
  description.hidden = !task.description;

  const assignee = q(".card-assignee");
  const name = context.assignee?.name ?? "";
  if (assignee.dataset.userId !== (context.assignee?.userId ?? "") || assignee.title !== name) {
    assignee.dataset.userId = context.assignee?.userId ?? "";
    assignee.title = name ? `Assigned to ${name}` : "";
    assignee.className = context.assignee
      ? `card-assignee avatar avatar-small color-${colorIndex(context.assignee.userId)}`
      : "card-assignee";
    replaceChildren(assignee, name ? initials(name) : "");
  }
  assignee.hidden = !context.assignee;

  const typing = q(".card-typing");
  const typingText = context.typing.length === 0
    ? ""
    : `${context.typing.join(", ")} ${context.typing.length > 1 ? "are" : "is"} typing…`;
  setText(typing, typingText);
  typing.hidden = !typingText;

  const conflicts = q(".card-conflicts");
  const conflictText = context.conflicts === 0
    ? ""
    : `${context.conflicts} conflict${context.conflicts === 1 ? "" : "s"}`;
  setText(conflicts, conflictText);
  conflicts.hidden = !conflictText;
  if (conflictText) {
    conflicts.setAttribute("aria-label", `${conflictText} on “${task.title}”: review them`);
  }
  card.classList.toggle("has-conflicts", context.conflicts > 0);

  card.classList.toggle("pending", !!task.pending);
  q(".card-foot").hidden = !context.assignee && !typingText && !task.pending && !conflictText;
  card.classList.toggle("grabbed", context.grabbed);
  card.setAttribute("aria-grabbed", String(context.grabbed));
  const label = `${task.title}${name ? `, assigned to ${name}` : ""}${
    conflictText ? `, ${conflictText}` : ""
  }${
    task.pending ? ", not saved yet" : ""
  }. Enter to edit, Space to move, Alt and arrow keys to move one step.`;
  if (card.getAttribute("aria-label") !== label) card.setAttribute("aria-label", label);
  q(".card-edit").setAttribute("aria-label", `Edit “${task.title}”`);
  q(".card-delete").setAttribute("aria-label", `Delete “${task.title}”`);
}

/**
 * @param {HTMLElement} element
 * @param {string} text
 */
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}
