/**
 * The home page: the boards the user is a member of (each tile with a count of the changes
 * other people made since the user last saw it), and a form to create one.
 */
import { unreadLabel } from "../activity_text.js";
import { api, ApiError } from "../api.js";
import { guardText, h } from "../dom.js";
import { TITLE_MAX } from "../text_rules.js";
import { toast } from "./toast.js";

/**
 * @param {HTMLElement} root
 * @param {{me: {name: string}, auth(): void}} context
 */
export async function showBoards(root, context) {
  document.title = "Your boards · Liveboard";
  /** @type {{id: string, title: string, role: string, updatedAt: string, unread?: number}[]} */
  let boards;
  try {
    boards = await api("GET", "/boards");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return context.auth();
    root.replaceChildren(
      h(
        "section",
        { class: "empty-state" },
        h("h1", { textContent: "Could not load your boards" }),
        h("p", { textContent: /** @type {Error} */ (error).message }),
        h("button", {
          class: "button button-primary",
          type: "button",
          textContent: "Try again",
          on: { click: () => showBoards(root, context) },
        }),
      ),
    );
    return null;
  }

  const title = guardText(h("input", {
    id: "new-board-title",
    type: "text",
    placeholder: "Board title",
    maxLength: TITLE_MAX,
    required: true,
    autocomplete: "off",
  }));
  const create = h(
    "form",
    {
      class: "board-tile board-tile-new",
      on: {
        submit: async (event) => {
          event.preventDefault();
          if (!title.value.trim()) return;
          try {
            const snapshot = await api("POST", "/boards", { title: title.value });
            location.hash = `#/board/${encodeURIComponent(snapshot.board.id)}`;
          } catch (error) {
            toast("error", `Could not create the board: ${/** @type {Error} */ (error).message}`);
          }
        },
      },
    },
    h("label", { htmlFor: "new-board-title", textContent: "New board" }),
    title,
    h("button", { class: "button button-primary", type: "submit", textContent: "Create board" }),
  );

  root.replaceChildren(
    h(
      "section",
      { class: "boards-page" },
      h("h1", { textContent: `Hello, ${context.me.name}` }),
      h("p", { class: "lede", textContent: "Your boards" }),
      h(
        "ul",
        { class: "board-grid", attrs: { "aria-label": "Your boards" } },
        boards.map((board) =>
          h(
            "li",
            {},
            h(
              "a",
              { class: "board-tile", href: `#/board/${encodeURIComponent(board.id)}` },
              h(
                "span",
                { class: "board-tile-top" },
                h("span", { class: "board-tile-title", textContent: board.title }),
                (board.unread ?? 0) > 0 &&
                  h(
                    "span",
                    {
                      class: "board-tile-unread",
                      title: "Changes by others since you last looked",
                    },
                    unreadLabel(board.unread ?? 0),
                    h("span", {
                      class: "visually-hidden",
                      textContent: ` new change${board.unread === 1 ? "" : "s"}`,
                    }),
                  ),
              ),
              h("span", {
                class: "board-tile-meta",
                textContent: board.role === "owner" ? "Owner" : "Member",
              }),
            ),
          )
        ),
        h("li", {}, create),
      ),
    ),
  );
  return null;
}
