/**
 * Drag and drop of cards with the HTML drag-and-drop API, delegated on the board canvas: a
 * marker shows where the card will land; the drop index counts the cards of the target list
 * without the dragged one (the final position the server expects).
 */
import { h } from "../dom.js";

/**
 * @param {HTMLElement} canvas
 * @param {(taskId: string, listId: string, index: number) => void} move
 */
export function enableDragAndDrop(canvas, move) {
  /** @type {HTMLElement | null} */
  let dragged = null;
  const marker = h("li", { class: "drop-marker", attrs: { "aria-hidden": "true" } });

  const cleanup = () => {
    dragged?.classList.remove("dragging");
    dragged = null;
    marker.remove();
    canvas.classList.remove("is-dragging");
  };

  /** @param {DragEvent} event */
  const dropPlace = (event) => {
    const column = /** @type {HTMLElement | null} */ (
      /** @type {HTMLElement} */ (event.target).closest?.(".column")
    );
    if (!column || !dragged) return null;
    const cards = /** @type {HTMLElement} */ (column.querySelector(".cards"));
    const others = [.../** @type {NodeListOf<HTMLElement>} */ (cards.querySelectorAll(".card"))]
      .filter((card) => card !== dragged);
    let index = others.length;
    for (let i = 0; i < others.length; i++) {
      const rect = others[i].getBoundingClientRect();
      if (event.clientY < rect.top + rect.height / 2) {
        index = i;
        break;
      }
    }
    return { column, cards, others, index };
  };

  canvas.addEventListener("dragstart", (event) => {
    const card = /** @type {HTMLElement} */ (event.target);
    if (!card.classList?.contains("card") || card.classList.contains("pending")) {
      if (card.classList?.contains("pending")) event.preventDefault();
      return;
    }
    dragged = card;
    event.dataTransfer?.setData("text/plain", card.dataset.taskId ?? "");
    if (event.dataTransfer) event.dataTransfer.effectAllowed = "move";
    // Style the source after the browser has taken its drag image.
    setTimeout(() => {
      card.classList.add("dragging");
      canvas.classList.add("is-dragging");
    });
  });

  canvas.addEventListener("dragover", (event) => {
    const place = dropPlace(event);
    if (!place) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "move";
    const before = place.others[place.index] ?? null;
    if (marker.parentElement !== place.cards || marker.nextElementSibling !== before) {
      place.cards.insertBefore(marker, before);
    }
  });

  canvas.addEventListener("drop", (event) => {
    const place = dropPlace(event);
    if (!place || !dragged) return cleanup();
    event.preventDefault();
    const taskId = /** @type {string} */ (dragged.dataset.taskId);
    const listId = /** @type {string} */ (place.column.dataset.listId);
    const from = dragged.dataset.listId;
    const fromIndex = [...dragged.parentElement?.querySelectorAll(".card") ?? []].indexOf(dragged);
    cleanup();
    if (listId !== from || place.index !== fromIndex) move(taskId, listId, place.index);
  });

  canvas.addEventListener("dragend", cleanup);
}
