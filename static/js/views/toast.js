/**
 * Messages to the user: toasts in a polite live region (errors and conflicts stay longer and
 * can be dismissed), and `announce` for screen-reader-only status (keyboard moves).
 */
import { h } from "../dom.js";

/**
 * @param {"error" | "conflict" | "info"} kind
 * @param {string} text
 */
export function toast(kind, text) {
  const region = document.getElementById("toasts");
  if (!region) return;
  const close = () => item.remove();
  const item = h(
    "div",
    { class: `toast toast-${kind}`, attrs: { role: kind === "info" ? "status" : "alert" } },
    h(
      "span",
      { class: "toast-icon", attrs: { "aria-hidden": "true" } },
      kind === "info" ? "ℹ" : "!",
    ),
    h("p", { class: "toast-text", textContent: text }),
    h("button", {
      class: "icon-button",
      type: "button",
      textContent: "×",
      attrs: { "aria-label": "Dismiss message" },
      on: { click: close },
    }),
  );
  region.append(item);
  setTimeout(close, kind === "info" ? 5000 : 12000);
}

/** @param {string} text */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (region) region.textContent = text;
}
