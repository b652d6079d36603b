/**
 * A panel at the side of the board (activity, trash). Not modal: the board stays live and usable
 * beside it. It opens with focus on its heading, closes with Escape or its × button, and gives
 * focus back to the button that opened it (whose `aria-expanded` it keeps true while open). One
 * is open at a time: opening one closes the other.
 */
import { h } from "../dom.js";

/** @type {SidePanel | null} */
let current = null;

export class SidePanel {
  /**
   * @param {{id: string, title: string, closed?: () => void}} options (`closed`: called after
   *   it closes, however)
   */
  constructor({ id, title, closed }) {
    this.closed = closed;
    /** @type {HTMLElement | null} */
    this.opener = null;
    this.heading = h("h2", {
      id: `${id}-heading`,
      class: "side-panel-title",
      tabIndex: -1,
      textContent: title,
    });
    this.body = h("div", { class: "side-panel-body" });
    this.element = h(
      "aside",
      { id, class: "side-panel", hidden: true, attrs: { "aria-labelledby": `${id}-heading` } },
      h(
        "header",
        { class: "side-panel-head" },
        this.heading,
        h("button", {
          type: "button",
          class: "icon-button",
          textContent: "×",
          attrs: { "aria-label": `Close ${title.toLowerCase()}` },
          on: { click: () => this.close() },
        }),
      ),
      this.body,
    );
    this.element.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || event.defaultPrevented) return;
      event.preventDefault();
      this.close();
    });
  }

  get isOpen() {
    return !this.element.hidden;
  }

  /**
   * Shows the panel and moves focus into it.
   * @param {HTMLElement} [opener] gets focus back on close
   */
  open(opener) {
    if (current && current !== this) current.close(false);
    current = this;
    if (opener && opener !== this.opener) {
      this.opener?.setAttribute("aria-expanded", "false");
      this.opener = opener;
    }
    this.opener?.setAttribute("aria-expanded", "true");
    this.element.hidden = false;
    this.heading.focus();
  }

  /** @param {boolean} [returnFocus] false when another panel takes its place */
  close(returnFocus = true) {
    if (!this.isOpen) return;
    if (current === this) current = null;
    this.element.hidden = true;
    this.opener?.setAttribute("aria-expanded", "false");
    // Focus goes back where it came from; if that button is gone, to the page rather than lost.
    if (returnFocus) {
      if (this.opener?.isConnected) this.opener.focus();
      else document.getElementById("main")?.focus();
    }
    this.closed?.();
  }
}
