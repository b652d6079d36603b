/**
 * Keyboard undo and redo on one board, kept from the events that arrive on it: the user's own
 * changes that Ctrl/Cmd+Z would undo (newest last) and the undos that Ctrl/Cmd+Shift+Z would
 * redo. An undo is a revert of a change (the server's new event carries `revertOf`); a redo is a
 * revert of that undo. A change reverted by anyone (the owner, from the activity panel) leaves
 * the stacks; a new change of the user's own clears the redos, as in any editor. No DOM.
 */
import { isRevertible } from "./activity_text.js";

/** @typedef {import("./board_model.js").BoardEvent} BoardEvent */

export class UndoStack {
  /** @param {string} me the user's id: only their own changes are theirs to undo */
  constructor(me) {
    this.me = me;
    /** @type {number[]} seqs of changes Ctrl+Z would undo, newest last */
    this.undos = [];
    /** @type {number[]} seqs of undos Ctrl+Shift+Z would redo, newest last */
    this.redos = [];
    /** @type {Map<number, BoardEvent>} the user's events seen, by seq */
    this.events = new Map();
    /** @type {Map<number, "change" | "undo">} what each of them was */
    this.kinds = new Map();
  }

  /**
   * Takes note of an event on the board (each once: the answer to a revert and its live event
   * are the same event).
   * @param {BoardEvent} event
   */
  observe(event) {
    if (this.kinds.has(event.id)) return;
    const revertOf = event.revertOf ?? null;
    if (revertOf !== null) {
      // Undone, by whoever: nothing to undo or redo there any more.
      this.undos = this.undos.filter((seq) => seq !== revertOf);
      this.redos = this.redos.filter((seq) => seq !== revertOf);
    }
    if (!isRevertible(event, this.me, "")) return;
    this.events.set(event.id, event);
    if (revertOf === null) {
      this.kinds.set(event.id, "change");
      this.undos.push(event.id);
      this.redos = [];
    } else if (this.kinds.get(revertOf) === "undo") {
      // Undoing an undo redoes the change: it can be undone again.
      this.kinds.set(event.id, "change");
      this.undos.push(event.id);
    } else {
      this.kinds.set(event.id, "undo");
      this.redos.push(event.id);
    }
  }

  /** The change Ctrl+Z undoes, taken off its stack (null: nothing to undo). */
  takeUndo() {
    return this.undos.pop() ?? null;
  }

  /** The undo Ctrl+Shift+Z reverts, taken off its stack (null: nothing to redo). */
  takeRedo() {
    return this.redos.pop() ?? null;
  }

  /**
   * Puts back what was taken when the server could not be reached (it may be tried again).
   * @param {"undo" | "redo"} which
   * @param {number} seq
   */
  putBack(which, seq) {
    (which === "undo" ? this.undos : this.redos).push(seq);
  }

  /** @param {number} seq */
  event(seq) {
    return this.events.get(seq);
  }
}
