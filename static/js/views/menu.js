/**
 * The "⋯" action menu of the board and of each column: a <details> whose items close it before
 * they act, so the menu never stays open over the result.
 */
import { h } from "../dom.js";

/**
 * @typedef {{label: string, run: () => void, danger?: boolean}} MenuItem
 * @typedef {import("../dom.js").Props} Props
 */

/**
 * @param {{toggle: Props, list: Props}} props of the "⋯" summary and of the item list
 * @param {MenuItem[]} items
 * @returns {HTMLDetailsElement}
 */
export function actionMenu(props, items) {
  const menu = h("details", { class: "menu" });
  menu.append(
    h("summary", { textContent: "⋯", ...props.toggle }),
    h(
      "div",
      props.list,
      items.map(({ label, run, danger = false }) =>
        h("button", {
          type: "button",
          class: danger ? "menu-item danger" : "menu-item",
          textContent: label,
          on: {
            click: () => {
              menu.removeAttribute("open");
              run();
            },
          },
        })
      ),
    ),
  );
  return menu;
}
