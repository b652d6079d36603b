/**
 * Modal dialogs built on <dialog>: the task editor (title, description, assignee; reports
 * typing while the user types; a History button for the card's history), a yes/no
 * confirmation and a one-line prompt.
 */
import { guardText, h } from "../dom.js";
import { TITLE_MAX } from "../text_rules.js";

/**
 * @typedef {import("../board_model.js").Task} Task
 * @typedef {import("../board_model.js").Member} Member
 * @typedef {{title: string, description: string, assigneeId: string | null}} TaskFields
 */

/**
 * Opens the editor for a task. Resolves with the changed fields (only those that differ), with
 * "delete", or with null when cancelled.
 * @param {Task} task
 * @param {Member[]} members
 * @param {{typing(): void, stopTyping(): void}} presence
 * @param {{history?: () => void}} [more] `history`: shows the card's history; its button keeps
 *   what was typed (as Save does) and runs it once the editor has closed
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
  let showHistory = false;
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
        more.history &&
          h("button", {
            type: "button",
            class: "button button-quiet",
            textContent: "History",
            attrs: { "aria-label": "History of this card" },
            on: {
              click: () => {
                // What was typed is saved, as by Save; a title the server would refuse keeps
                // the editor open with the reason instead.
                if (!title.reportValidity()) return;
                outcome = changes();
                showHistory = true;
                dialog.close();
              },
            },
          }),
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
  presence.stopTyping();
  // After the caller has had the outcome (the edit is queued before the history shows).
  if (showHistory) setTimeout(() => more.history?.(), 0);
  return outcome;
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
