/**
 * "While you were away": when a board opens behind the user's seen cursor, what other people
 * changed since (from the board's history, counted and grouped by person and by card) as a note
 * above the board that the user can dismiss. Each card's line opens that card's history.
 */
import { api } from "../api.js";
import { awayHeadline, quote, summarizeAway } from "../activity_text.js";
import { append, h } from "../dom.js";

/**
 * @typedef {import("../board_model.js").BoardEvent} BoardEvent
 * @typedef {import("../activity_text.js").Names} Names
 */

/** History is read in pages of this many events, up to `PAGES` pages. */
const PAGE = 200;
const PAGES = 5;
/** Cards listed by name; the rest are counted. */
const CARDS_SHOWN = 6;

/**
 * Builds the note, or resolves null when nobody else changed anything in between.
 * @param {{
 *   boardId: string, me: string, seenCursor: number, cursor: number, names: () => Names,
 *   openCard(taskId: string, opener: HTMLElement): void,
 * }} options `cursor`: the snapshot's (what arrives after it, the user sees arrive)
 * @returns {Promise<HTMLElement | null>}
 */
export async function awaySummary({ boardId, me, seenCursor, cursor, names, openCard }) {
  /** @type {Map<number, BoardEvent>} by seq: each counted once, whatever the pages overlap */
  const events = new Map();
  /** @type {number | null} */
  let before = null;
  let more = false;
  for (let page = 0; page < PAGES; page++) {
    const query = new URLSearchParams({ after: String(seenCursor), limit: String(PAGE) });
    if (before !== null) query.set("before", String(before));
    /** @type {{events: BoardEvent[], next: number | null}} */
    const answer = await api("GET", `/boards/${encodeURIComponent(boardId)}/history?${query}`);
    for (const event of answer.events) {
      if (event.id > seenCursor && event.id <= cursor) events.set(event.id, event);
    }
    more = answer.next !== null && answer.next > seenCursor + 1 && answer.next !== before;
    before = answer.next;
    if (!more) break;
  }
  const summary = summarizeAway([...events.values()].sort((a, b) => b.id - a.id), me);
  if (summary.count === 0) return null;
  const known = names();
  const note = h("section", {
    class: "away",
    attrs: { "aria-labelledby": "away-heading" },
  });
  const dismiss = h("button", {
    type: "button",
    class: "icon-button",
    textContent: "×",
    attrs: { "aria-label": "Dismiss the summary of changes" },
    on: {
      click: () => {
        const hadFocus = note.contains(document.activeElement);
        note.remove();
        if (hadFocus) document.getElementById("main")?.focus();
      },
    },
  });
  const people = summary.people.map((p) =>
    `${known.name(p.userId) ?? "Someone"}: ${p.count} change${p.count === 1 ? "" : "s"}`
  ).join(" · ");
  const hidden = summary.cards.length - CARDS_SHOWN;
  append(note, [
    h(
      "div",
      { class: "away-head" },
      h("h2", {
        id: "away-heading",
        class: "away-title",
        textContent: awayHeadline(summary, known, more),
      }),
      dismiss,
    ),
    h("p", { class: "away-people", textContent: people }),
    summary.cards.length > 0 &&
    h(
      "ul",
      { class: "away-cards", attrs: { "aria-label": "Cards that changed" } },
      summary.cards.slice(0, CARDS_SHOWN).map((card) => {
        const open = h("button", {
          type: "button",
          class: "button button-link",
          textContent: quote(card.title),
          attrs: { "aria-label": `History of ${quote(card.title)}` },
          on: { click: () => openCard(card.taskId, open) },
        });
        return h(
          "li",
          {},
          open,
          h("span", {
            class: "away-count",
            textContent: `${card.count} change${card.count === 1 ? "" : "s"}${
              card.deleted ? " · deleted" : ""
            }`,
          }),
        );
      }),
      hidden > 0 &&
        h("li", {
          class: "away-count",
          textContent: `and ${hidden} more card${hidden === 1 ? "" : "s"}`,
        }),
    ),
  ]);
  return note;
}
