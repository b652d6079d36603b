/**
 * Messages to the user: toasts in a polite live region (errors and conflicts stay longer and
 * can be dismissed; a toast may carry one action, like the Undo after a delete), conflict
 * records (a value of the user's that lost to someone else's, kept whole with a copy button
 * until dismissed), and `announce` for screen-reader-only status.
 */
import { h } from "../dom.js";

/**
 * @param {"error" | "conflict" | "info"} kind
 * @param {string} text
 * @param {{action?: {label: string, run: () => void}, ms?: number}} [options] `action`: a
 *   button in the toast ("Undo") that closes it and acts; `ms`: how long it stays
 * @returns {() => void} closes the toast early
 */
export function toast(kind, text, options = {}) {
  const region = document.getElementById("toasts");
  if (!region) return () => {};
  const close = () => {
    clearTimeout(timer);
    item.remove();
  };
  const { action } = options;
  const item = h(
    "div",
    { class: `toast toast-${kind}`, attrs: { role: kind === "info" ? "status" : "alert" } },
    h(
      "span",
      { class: "toast-icon", attrs: { "aria-hidden": "true" } },
      kind === "info" ? "ℹ" : "!",
    ),
    h("p", { class: "toast-text", textContent: text }),
    action &&
      h("button", {
        class: "button button-quiet toast-action",
        type: "button",
        textContent: action.label,
        on: {
          click: () => {
            close();
            action.run();
          },
        },
      }),
    h("button", {
      class: "icon-button",
      type: "button",
      textContent: "×",
      attrs: { "aria-label": "Dismiss message" },
      on: { click: close },
    }),
  );
  region.append(item);
  const timer = setTimeout(close, options.ms ?? (kind === "info" ? 5000 : 12000));
  return close;
}

/**
 * Shows a kept conflict until the user dismisses it: what they wrote, whole, to copy.
 * @param {import("../outbox.js").Conflict} conflict
 * @param {() => void} dismiss forgets it (the outbox stops keeping it)
 */
export function showConflict(conflict, dismiss) {
  const region = document.getElementById("toasts");
  if (!region || region.querySelector(`[data-conflict-id="${conflict.id}"]`)) return;
  const field = conflict.field === "description" ? "description" : conflict.field;
  const text = h("textarea", {
    class: "conflict-text",
    readOnly: true,
    rows: 4,
    value: conflict.mine,
    attrs: { "aria-label": `Your ${field} that was not saved` },
  });
  const copy = h("button", {
    class: "button",
    type: "button",
    textContent: "Copy",
    on: {
      click: async () => {
        text.select();
        try {
          await navigator.clipboard.writeText(conflict.mine);
          copy.textContent = "Copied";
        } catch {
          copy.textContent = "Selected: press Ctrl+C";
        }
      },
    },
  });
  const item = h(
    "div",
    {
      class: "toast conflict-record",
      attrs: { role: "alert", "data-conflict-id": conflict.id },
    },
    h("span", { class: "toast-icon", attrs: { "aria-hidden": "true" } }, "!"),
    h(
      "div",
      { class: "conflict-body" },
      h("p", {
        class: "toast-text",
        textContent: `Someone else changed the ${field} of “${conflict.label}” while you ` +
          `did; theirs was kept. Yours is here until you dismiss it:`,
      }),
      text,
      h(
        "div",
        { class: "conflict-actions" },
        copy,
        h("button", {
          class: "button",
          type: "button",
          textContent: "Dismiss",
          on: {
            click: () => {
              dismiss();
              item.remove();
            },
          },
        }),
      ),
    ),
  );
  region.append(item);
}

/** @param {string} text */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (region) region.textContent = text;
}
