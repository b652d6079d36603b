/**
 * Modal dialogs built on <dialog>: the task editor (title, description, assignee; reports
 * typing while the user types; History and Archive buttons; the card's open conflicts, live,
 * each with Copy, Use this and Resolve), a yes/no confirmation and a one-line prompt.
 */
import { exactTime, relativeTime } from "../activity_text.js";
import { guardText, h } from "../dom.js";
import { TITLE_MAX } from "../text_rules.js";
import { announce } from "./toast.js";

/**
 * @typedef {import("../board_model.js").Task} Task
 * @typedef {import("../board_model.js").Member} Member
 * @typedef {import("../board_model.js").Conflict} Conflict
 * @typedef {{title: string, description: string, assigneeId: string | null}} TaskFields
 * @typedef {{
 *   list(): Conflict[], watch(redraw: () => void): () => void,
 *   whose(conflict: Conflict): string, resolve(conflict: Conflict): void,
 * }} ConflictSource the card's open conflicts as the board has them now (`watch` calls `redraw`
 *   after each change of the board until the returned function is called); `whose` names the
 *   author for a sentence's start ("Your", "Bob's")
 */

/**
 * Opens the editor for a task. Resolves with the changed fields (only those that differ), with
 * "delete", or with null when cancelled.
 * @param {Task} task
 * @param {Member[]} members
 * @param {{typing(): void, stopTyping(): void}} presence
 * @param {{history?: () => void, archive?: () => void, conflicts?: ConflictSource}} [more]
 *   `history`: shows the card's history, `archive`: archives the card; their buttons keep what
 *   was typed (as Save does) and run them once the editor has closed; `conflicts`: lists the
 *   card's conflicts
 * @returns {Promise<Partial<TaskFields> | "delete" | null>}
 */
export async function editTask(task, members, presence, more = {}) {
  const title = guardText(h("input", {
    id: "task-title",
    name: "title",
    type: "text",
    value: task.title,
    maxLength: TITLE_MAX,
    required: true,
    autocomplete: "off",
  }));
  const description = h("textarea", {
    id: "task-description",
    name: "description",
    value: task.description,
    maxLength: 10_000,
    rows: 6,
    placeholder: "Add more detail…",
  });
  const assignee = h(
    "select",
    { id: "task-assignee", name: "assignee" },
    h("option", { value: "", textContent: "Unassigned" }),
    members.map((m) =>
      h("option", { value: m.userId, textContent: m.name, selected: m.userId === task.assigneeId })
    ),
  );
  for (const field of [title, description]) {
    field.addEventListener("input", () => presence.typing());
  }

  /** @type {Partial<TaskFields> | "delete" | null} */
  let outcome = null;
  /** @type {(() => void) | undefined} what to run once closed (History, Archive) */
  let then;
  /**
   * A button that saves what was typed, as Save does, closes the editor and then runs `run`;
   * a title the server would refuse keeps the editor open with the reason instead.
   * @param {string} text
   * @param {string} label
   * @param {() => void} run
   */
  const saveThen = (text, label, run) =>
    h("button", {
      type: "button",
      class: "button button-quiet",
      textContent: text,
      attrs: { "aria-label": label },
      on: {
        click: () => {
          if (!title.reportValidity()) return;
          outcome = changes();
          then = run;
          dialog.close();
        },
      },
    });
  const conflicts = more.conflicts ? conflictList(more.conflicts, { title, description }) : null;
  const changes = () => {
    /** @type {Partial<TaskFields>} */
    const changed = {};
    if (title.value !== task.title) changed.title = title.value;
    if (description.value !== task.description) changed.description = description.value;
    const assigneeId = assignee.value || null;
    if (assigneeId !== task.assigneeId) changed.assigneeId = assigneeId;
    return changed;
  };
  const dialog = h(
    "dialog",
    { class: "dialog task-dialog", attrs: { "aria-labelledby": "task-dialog-heading" } },
    h(
      "form",
      {
        method: "dialog",
        on: {
          submit: (event) => {
            event.preventDefault();
            outcome = changes();
            dialog.close();
          },
        },
      },
      h("h2", { id: "task-dialog-heading", textContent: "Edit card" }),
      conflicts?.element,
      h("label", { htmlFor: "task-title", textContent: "Title" }),
      title,
      h("label", { htmlFor: "task-description", textContent: "Description" }),
      description,
      h("label", { htmlFor: "task-assignee", textContent: "Assignee" }),
      assignee,
      h(
        "div",
        { class: "dialog-actions" },
        h("button", {
          type: "button",
          class: "button button-danger",
          textContent: "Delete card",
          on: {
            click: () => {
              outcome = "delete";
              dialog.close();
            },
          },
        }),
        more.archive && saveThen("Archive", "Archive this card", more.archive),
        more.history && saveThen("History", "History of this card", more.history),
        h("span", { class: "spacer" }),
        cancelButton(),
        h("button", { type: "submit", class: "button button-primary", textContent: "Save" }),
      ),
    ),
  );
  const closed = showModal(dialog);
  title.focus();
  title.select();
  await closed;
  conflicts?.stop();
  presence.stopTyping();
  // After the caller has had the outcome (the edit is queued before the history shows or the
  // card is archived).
  if (then) setTimeout(then, 0);
  return outcome;
}

/**
 * The editor's list of the card's open conflicts: whose value, of which field, when, the value
 * whole (read-only, to select), and Copy, Use this (into the field, saved as any edit) and
 * Resolve. Redrawn as conflicts are recorded and resolved, by anyone; hidden when there are none.
 * @param {ConflictSource} source
 * @param {{title: HTMLInputElement, description: HTMLTextAreaElement}} fields
 */
function conflictList(source, fields) {
  const heading = h("h3", {
    id: "task-conflicts-heading",
    class: "task-conflicts-title",
    tabIndex: -1,
  });
  const list = h("ul", {
    class: "task-conflicts-list",
    attrs: { "aria-labelledby": "task-conflicts-heading" },
  });
  const element = h(
    "section",
    { class: "task-conflicts", attrs: { "aria-labelledby": "task-conflicts-heading" } },
    heading,
    h("p", {
      class: "task-conflicts-note",
      textContent: "Text that lost to someone else's edit of this card, kept until resolved.",
    }),
    list,
  );
  let drawn = "";
  const draw = () => {
    const conflicts = source.list();
    const key = conflicts.map((c) => `${c.id}:${c.pending ? 1 : 0}`).join(" ");
    if (key === drawn) return;
    drawn = key;
    // Focus on a button of an item that goes moves to the same button of its neighbour.
    const focused = /** @type {HTMLElement | null} */ (document.activeElement);
    const item = focused && list.contains(focused) ? focused.closest("li") : null;
    const index = item ? [...list.children].indexOf(item) : -1;
    const role = focused?.dataset.role;
    list.replaceChildren(...conflicts.map((conflict) => conflictItem(conflict, source, fields)));
    heading.textContent = `${conflicts.length} conflicting edit${
      conflicts.length === 1 ? "" : "s"
    }`;
    element.hidden = conflicts.length === 0;
    if (index === -1) return;
    const again = list.children[Math.min(index, list.children.length - 1)];
    const target = /** @type {HTMLElement | null | undefined} */ (
      again?.querySelector(`[data-role="${role}"]`)
    );
    (target ?? (element.hidden ? fields.title : heading)).focus();
  };
  draw();
  const unwatch = source.watch(draw);
  return { element, stop: unwatch };
}

/**
 * @param {Conflict} conflict
 * @param {ConflictSource} source
 * @param {{title: HTMLInputElement, description: HTMLTextAreaElement}} fields
 */
function conflictItem(conflict, source, fields) {
  const whose = `${source.whose(conflict)} ${conflict.field}`;
  const value = h("textarea", {
    class: "conflict-value",
    readOnly: true,
    rows: conflict.field === "title" ? 1 : 3,
    value: conflict.value,
    attrs: { "aria-label": whose },
  });
  const copy = h("button", {
    type: "button",
    class: "button button-quiet",
    textContent: "Copy",
    dataset: { role: "copy" },
    attrs: { "aria-label": `Copy ${lowerFirst(whose)}` },
    on: {
      click: async () => {
        value.select();
        try {
          await navigator.clipboard.writeText(conflict.value);
          copy.textContent = "Copied";
        } catch {
          copy.textContent = "Selected: press Ctrl+C";
        }
      },
    },
  });
  const field = conflict.field === "title" ? fields.title : fields.description;
  return h(
    "li",
    { class: "conflict-item", dataset: { conflictId: conflict.id } },
    h(
      "p",
      { class: "conflict-meta" },
      h("strong", { textContent: whose }),
      " · ",
      h("time", {
        dateTime: conflict.createdAt,
        title: exactTime(conflict.createdAt),
        textContent: relativeTime(conflict.createdAt),
      }),
      conflict.pending && h("span", { class: "conflict-pending", textContent: " · not saved yet" }),
    ),
    value,
    h(
      "div",
      { class: "conflict-item-actions" },
      copy,
      h("button", {
        type: "button",
        class: "button button-quiet",
        textContent: "Use this",
        dataset: { role: "use" },
        attrs: { "aria-label": `Use ${lowerFirst(whose)} as the ${conflict.field}` },
        on: {
          click: () => {
            field.value = conflict.value;
            // As if typed: the title's check runs and the others see "typing".
            field.dispatchEvent(new Event("input"));
            field.focus();
            announce(`${whose} is in the ${conflict.field} field: Save keeps it.`);
          },
        },
      }),
      h("button", {
        type: "button",
        class: "button button-quiet",
        textContent: "Resolve",
        dataset: { role: "resolve" },
        attrs: { "aria-label": `Resolve: ${lowerFirst(whose)}` },
        on: { click: () => source.resolve(conflict) },
      }),
    ),
  );
}

/** @param {string} text */
function lowerFirst(text) {
  return text.startsWith("Your ") ? `y${text.slice(1)}` : text;
}

/**
 * Asks a yes/no question; resolves true on confirmation.
 * @param {string} question
 * @param {string} confirmLabel
 * @returns {Promise<boolean>}
 */
export async function confirmDialog(question, confirmLabel) {
  let confirmed = false;
  const dialog = h(
    "dialog",
    { class: "dialog confirm-dialog", attrs: { "aria-label": "Confirm" } },
    h("p", { textContent: question }),
    h(
      "div",
      { class: "dialog-actions" },
      h("span", { class: "spacer" }),
      cancelButton(),
      h("button", {
        type: "button",
        class: "button button-danger",
        textContent: confirmLabel,
        on: {
          click: () => {
            confirmed = true;
            dialog.close();
          },
        },
      }),
    ),
  );
  await showModal(dialog);
  return confirmed;
}

/**
 * Asks for one line of text (board title, member email); resolves null when cancelled.
 * @param {string} heading
 * @param {{label: string, value?: string, type?: string, submit: string, title?: boolean}} field
 *   (`title`: held to the rule for titles, as the server will)
 * @returns {Promise<string | null>}
 */
export async function promptDialog(heading, field) {
  /** @type {string | null} */
  let value = null;
  const input = h("input", {
    id: "prompt-input",
    type: field.type ?? "text",
    value: field.value ?? "",
    required: true,
    maxLength: field.title ? TITLE_MAX : 254,
    autocomplete: "off",
  });
  if (field.title) guardText(input);
  const dialog = h(
    "dialog",
    { class: "dialog", attrs: { "aria-labelledby": "prompt-heading" } },
    h(
      "form",
      {
        method: "dialog",
        on: {
          submit: (event) => {
            event.preventDefault();
            value = input.value.trim() || null;
            dialog.close();
          },
        },
      },
      h("h2", { id: "prompt-heading", textContent: heading }),
      h("label", { htmlFor: "prompt-input", textContent: field.label }),
      input,
      h(
        "div",
        { class: "dialog-actions" },
        h("span", { class: "spacer" }),
        cancelButton(),
        h("button", {
          type: "submit",
          class: "button button-primary",
          textContent: field.submit,
        }),
      ),
    ),
  );
  const closed = showModal(dialog);
  input.focus();
  await closed;
  return value;
}

/**
 * Shows `dialog` as a modal; resolves once it closes, by any means (Cancel, Escape, a submit),
 * after taking it off the page.
 * @param {HTMLDialogElement} dialog
 * @returns {Promise<void>}
 */
function showModal(dialog) {
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A Cancel button that closes the dialog it stands in. */
function cancelButton() {
  return h("button", {
    type: "button",
    class: "button button-quiet",
    textContent: "Cancel",
    on: {
      click: (event) => /** @type {HTMLElement} */ (event.currentTarget).closest("dialog")?.close(),
    },
  });
}
