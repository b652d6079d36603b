/**
 * Who else is on the board, from the WebSocket's presence messages: the viewers (one avatar per
 * user, however many tabs), who is typing on which card (expiring by itself), and live cursors
 * coloured per user that fade when idle. Cursor positions are in board-canvas pixels, so they
 * land on the same column for everyone whatever the window size.
 */
import { colorIndex, h, initials, replaceChildren } from "./dom.js";
import { tuning } from "./tuning.js";

/** @typedef {{userId: string, name: string}} Viewer */

/**
 * Reads a user from any presence message shape: {userId, name}, {id, name} or {user: {...}}.
 * @param {any} value
 * @returns {Viewer}
 */
function viewer(value) {
  const user = value?.user ?? value;
  return { userId: String(user?.userId ?? user?.id ?? ""), name: String(user?.name ?? "Someone") };
}

export class Presence {
  /**
   * @param {{me: {id: string, name: string}, avatars: HTMLElement, changed(): void}} options
   */
  constructor(options) {
    this.me = options.me;
    this.avatars = options.avatars;
    this.changed = options.changed;
    /** @type {Map<string, Viewer>} */
    this.viewers = new Map();
    /** @type {Map<string, {name: string, taskId: string | null, timer: ReturnType<typeof setTimeout>}>} */
    this.typing = new Map();
    /** @type {Map<string, {element: HTMLElement, timer?: ReturnType<typeof setTimeout>}>} */
    this.cursors = new Map();
    /** @type {HTMLElement | null} */
    this.layer = null;
    this.live = false;
  }

  /** @param {HTMLElement} layer where cursors are drawn (inside the scrolling board canvas) */
  setLayer(layer) {
    this.layer = layer;
  }

  /**
   * Presence is only known over the WebSocket; on other transports it is cleared.
   * @param {boolean} live
   */
  setLive(live) {
    if (this.live === live) return;
    this.live = live;
    if (!live) this.clear();
    this.#renderAvatars();
  }

  clear() {
    this.viewers.clear();
    for (const { timer } of this.typing.values()) clearTimeout(timer);
    this.typing.clear();
    for (const userId of [...this.cursors.keys()]) this.#removeCursor(userId);
    this.#renderAvatars();
    this.changed();
  }

  /** @param {any} message */
  handle(message) {
    switch (message.type) {
      case "presence": {
        /** @type {Viewer[]} */
        const users = (message.users ?? []).map(viewer);
        this.viewers = new Map(users.map((v) => [v.userId, v]));
        this.#renderAvatars();
        break;
      }
      case "user_joined": {
        const v = viewer(message);
        this.viewers.set(v.userId, v);
        this.#renderAvatars();
        break;
      }
      case "user_left": {
        const { userId } = viewer(message);
        this.viewers.delete(userId);
        this.#stopTyping(userId);
        this.#removeCursor(userId);
        this.#renderAvatars();
        this.changed();
        break;
      }
      case "user_typing": {
        const v = viewer(message);
        if (v.userId === this.me.id) return;
        if (message.typing === false) this.#stopTyping(v.userId);
        else {
          clearTimeout(this.typing.get(v.userId)?.timer);
          const timer = setTimeout(() => this.#stopTyping(v.userId), tuning.typingExpiryMs);
          this.typing.set(v.userId, { name: v.name, taskId: message.taskId ?? null, timer });
        }
        this.#renderAvatars();
        this.changed();
        break;
      }
      case "cursor_moved":
        this.#moveCursor(viewer(message), Number(message.x), Number(message.y));
        break;
    }
  }

  /** The names of the others typing, by the card they type on. */
  typersByTask() {
    /** @type {Map<string, string[]>} */
    const byTask = new Map();
    for (const { taskId, name } of this.typing.values()) {
      if (!taskId) continue;
      const names = byTask.get(taskId);
      if (names) names.push(name);
      else byTask.set(taskId, [name]);
    }
    return byTask;
  }

  /** @param {string} userId */
  #stopTyping(userId) {
    const entry = this.typing.get(userId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.typing.delete(userId);
    this.#renderAvatars();
    this.changed();
  }

  /**
   * @param {Viewer} who
   * @param {number} x
   * @param {number} y
   */
  #moveCursor(who, x, y) {
    if (!this.layer || who.userId === this.me.id || !Number.isFinite(x) || !Number.isFinite(y)) {
      return;
    }
    let entry = this.cursors.get(who.userId);
    if (!entry) {
      const element = h(
        "div",
        {
          class: `cursor color-${colorIndex(who.userId)}`,
          dataset: { userId: who.userId },
          attrs: { "aria-hidden": "true" },
        },
        h("span", { class: "cursor-arrow" }),
        h("span", { class: "cursor-name", textContent: who.name }),
      );
      this.layer.append(element);
      entry = { element };
      this.cursors.set(who.userId, entry);
    }
    const { element } = entry;
    // CSSOM writes are allowed under style-src 'self' (only inline style attributes are not).
    element.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
    element.classList.remove("idle");
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => element.classList.add("idle"), tuning.cursorIdleMs);
  }

  /** @param {string} userId */
  #removeCursor(userId) {
    const entry = this.cursors.get(userId);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.element.remove();
    this.cursors.delete(userId);
  }

  #renderAvatars() {
    if (!this.live) {
      replaceChildren(this.avatars);
      this.avatars.hidden = true;
      return;
    }
    this.avatars.hidden = false;
    const viewers = [...this.viewers.values()].sort((a, b) =>
      a.userId === this.me.id ? -1 : b.userId === this.me.id ? 1 : a.name.localeCompare(b.name)
    );
    replaceChildren(
      this.avatars,
      viewers.map((v) => {
        const you = v.userId === this.me.id;
        const typing = this.typing.has(v.userId);
        const label = `${v.name}${you ? " (you)" : ""}${typing ? ", typing" : ""}`;
        return h(
          "li",
          {
            class: `avatar color-${colorIndex(v.userId)}${you ? " you" : ""}${
              typing ? " typing" : ""
            }`,
            title: label,
            dataset: { userId: v.userId, name: v.name },
            attrs: { "aria-label": label },
          },
          initials(v.name),
        );
      }),
    );
  }
}
