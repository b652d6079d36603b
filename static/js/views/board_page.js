/**
 * The board page: loads the snapshot, keeps the board live through a `Connection`, turns the
 * user's actions into outbox changes (shown at once, sent in order), and renders the server's
 * state with the pending changes on top. On `resync` it refetches the snapshot, holding back
 * events that arrive meanwhile and applying the newer ones after it.
 * The board's history is a feature here too: the activity, trash and archive panels, an Undo
 * toast after each delete or archive, Ctrl/Cmd+Z and Ctrl/Cmd+Shift+Z (or Ctrl+Y) for the user's
 * own changes, the "while you were away" note, and the seen cursor sent back to the server.
 * Conflicts (values that lost a concurrent edit, kept on their card) are counted on the cards and
 * listed, live, in the card editor, where any member resolves them.
 */
import { eventSentence, quote } from "../activity_text.js";
import { api, ApiError, NetworkError } from "../api.js";
import { BoardModel } from "../board_model.js";
import { Connection } from "../connection.js";
import { h } from "../dom.js";
import { Presence } from "../presence.js";
import { SeenMarker } from "../seen.js";
import { tuning } from "../tuning.js";
import { UndoStack } from "../undo_stack.js";
import { ActivityPanel } from "./activity.js";
import { ArchivePanel } from "./archive.js";
import { awaySummary } from "./away.js";
import { renderBadge } from "./badge.js";
import { BoardView } from "./board_view.js";
import { confirmDialog, editTask, promptDialog } from "./dialogs.js";
import { actionMenu } from "./menu.js";
import { announce, toast } from "./toast.js";
import { TrashPanel } from "./trash.js";

/**
 * @typedef {import("../outbox.js").Outbox} Outbox
 * @typedef {import("../board_model.js").BoardEvent} BoardEvent
 * @typedef {{
 *   me: {id: string, name: string}, outbox: Outbox, badge: HTMLElement, avatars: HTMLElement,
 *   title: HTMLElement, auth(): void,
 * }} PageContext
 */

/**
 * Shows a board in `root`; returns the page (with `refresh` and `dispose`).
 * @param {HTMLElement} root
 * @param {string} boardId
 * @param {PageContext} context
 */
export async function showBoard(root, boardId, context) {
  const { me, outbox } = context;
  /** @type {BoardModel} */
  let model;
  try {
    model = new BoardModel(await api("GET", `/boards/${encodeURIComponent(boardId)}`));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return context.auth();
    root.replaceChildren(
      h(
        "section",
        { class: "empty-state" },
        h("h1", { textContent: "This board is not available" }),
        h("p", { textContent: /** @type {Error} */ (error).message }),
        h("a", { class: "button button-primary", href: "#/", textContent: "Back to your boards" }),
      ),
    );
    return null;
  }
  let disposed = false;
  /** @type {import("../board_model.js").BoardEvent[] | null} */
  let heldBack = null;
  /** @type {Promise<void> | null} */
  let resyncing = null;
  let scheduled = false;
  /** @type {import("../connection.js").Status | null} */
  let status = null;
  let lastTyping = 0;
  let lastPointer = 0;

  const presence = new Presence({ me, avatars: context.avatars, changed: () => schedule() });
  const send = (/** @type {Record<string, unknown>} */ message) =>
    connection.send({ ...message, boardId });

  /** @param {string | null} taskId */
  const typing = (taskId) => {
    if (Date.now() - lastTyping < tuning.typingThrottleMs) return;
    lastTyping = Date.now();
    send({ type: "typing", ...(taskId ? { taskId } : {}) });
  };
  /** @param {string | null} taskId */
  const stopTyping = (taskId) => {
    lastTyping = 0;
    send({ type: "stop_typing", ...(taskId ? { taskId } : {}) });
  };

  const currentView = () => outbox.view(model);
  const label = (/** @type {string} */ text) => text.length > 80 ? text.slice(0, 77) + "…" : text;
  const boardPath = `/boards/${encodeURIComponent(boardId)}`;
  const undoStack = new UndoStack(me.id);
  const seen = new SeenMarker(boardId, () => model.cursor);

  /** How history texts name people, lists and the user's earlier events. */
  const names = () => {
    const view = currentView();
    return {
      me: me.id,
      name: (/** @type {string} */ userId) => view.member(userId)?.name,
      listTitle: (/** @type {string} */ listId) => view.list(listId)?.title,
      taskTitle: (/** @type {string} */ taskId) => view.task(taskId)?.title,
      event: (/** @type {number} */ seq) => undoStack.event(seq),
    };
  };
  const offlineNote = (/** @type {string} */ what) => {
    toast("info", `${what} needs a connection: try again once you are back online.`);
  };

  /**
   * Reverts event `seq` on the server (an undo, a redo, or the owner reverting someone's
   * change). The new event comes back on the connection and is applied there, in order; the
   * answer only tells the undo stack at once. Refusals are shown with the server's reason.
   * @param {number} seq
   * @returns {Promise<{event?: BoardEvent, offline?: boolean}>}
   */
  const revert = async (seq) => {
    try {
      const { event } = await api(
        "POST",
        `${boardPath}/events/${seq}/revert`,
        undefined,
        undefined,
        crypto.randomUUID(),
      );
      undoStack.observe(event);
      return { event };
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) context.auth();
      else if (error instanceof NetworkError) {
        offlineNote("Undoing");
        return { offline: true };
      } else toast("error", `Could not undo that: ${/** @type {Error} */ (error).message}`);
      return {};
    }
  };

  /**
   * Brings a card or list back from the trash or the archive (online only: it is checked against
   * the board as the server has it).
   * @param {"task" | "list"} kind
   * @param {string} id
   * @param {string} title
   * @param {"restore" | "unarchive"} [how]
   */
  const bringBack = async (kind, id, title, how = "restore") => {
    const doing = how === "restore" ? "Restoring" : "Unarchiving";
    if (outbox.offline) {
      offlineNote(doing);
      return false;
    }
    try {
      await api(
        "POST",
        `/${kind === "task" ? "tasks" : "lists"}/${encodeURIComponent(id)}/${how}`,
        undefined,
        undefined,
        crypto.randomUUID(),
      );
      announce(`${how === "restore" ? "Restored" : "Unarchived"} ${quote(title)}.`);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) context.auth();
      else if (error instanceof NetworkError) offlineNote(doing);
      else {toast(
          "error",
          `Could not ${how} ${quote(title)}: ${/** @type {Error} */ (error).message}`,
        );}
      return false;
    }
  };
  /** @type {import("./trash.js").TrashContext["restore"]} */
  const restore = (kind, id, title) => bringBack(kind, id, title, "restore");
  /** @type {import("./archive.js").ArchiveContext["unarchive"]} */
  const unarchive = (kind, id, title) => bringBack(kind, id, title, "unarchive");

  /**
   * Undoes a delete or an archive the user just made (the toast's Undo): one never sent is
   * simply taken back; one sent is waited for, then restored from the trash (or unarchived).
   * @param {"task" | "list"} kind
   * @param {string} id
   * @param {string} title
   * @param {number} change the delete's (archive's) seq in the outbox
   * @param {"deleted" | "archived"} how
   */
  const undoRemoval = async (kind, id, title, change, how) => {
    if (outbox.cancel(change)) {
      announce(`${quote(title)} is back.`);
      return;
    }
    const deadline = Date.now() + 10_000;
    const unanswered = () => ["queued", "sending"].includes(outbox.status(change) ?? "");
    while (unanswered() && !outbox.offline && Date.now() < deadline) await sleep(100);
    if (unanswered()) {
      return offlineNote(how === "deleted" ? "Undoing the delete" : "Undoing the archive");
    }
    // The restore's event may come with the delete's: the confirmed delete must not hide it.
    const back = how === "deleted" ? restore : unarchive;
    if (await back(kind, id, title)) outbox.forget(change);
  };

  /**
   * The toast after a delete or an archive, whose Undo brings it back.
   * @param {"task" | "list"} kind
   * @param {string} id
   * @param {string} title
   * @param {number} change
   * @param {"deleted" | "archived"} [how]
   */
  const offerUndo = (kind, id, title, change, how = "deleted") =>
    toast("info", `${kind === "task" ? "Card" : "List"} ${quote(title)} ${how}`, {
      action: { label: "Undo", run: () => undoRemoval(kind, id, title, change, how) },
      ms: tuning.undoToastMs,
    });

  /** @type {Set<() => void>} open card editors' conflict lists, redrawn after each render */
  const conflictWatchers = new Set();
  /**
   * A card's open conflicts for its editor, live.
   * @param {string} taskId
   * @returns {import("./dialogs.js").ConflictSource}
   */
  const conflictSource = (taskId) => ({
    list: () => currentView().conflictsOf(taskId),
    watch(redraw) {
      conflictWatchers.add(redraw);
      return () => conflictWatchers.delete(redraw);
    },
    whose: (conflict) =>
      conflict.authorId === me.id
        ? "Your"
        : `${currentView().member(conflict.authorId)?.name ?? "Someone"}'s`,
    resolve(conflict) {
      const task = currentView().task(taskId);
      outbox.add({
        kind: "resolveConflict",
        boardId,
        taskId,
        conflictId: conflict.id,
        label: label(task?.title ?? ""),
      });
      announce(`Resolved: the kept ${conflict.field} is gone from the card.`);
    },
  });

  /** Ctrl/Cmd+Z and redo run one after another, each after the one before has been answered. */
  let undoing = Promise.resolve();
  /** @param {"undo" | "redo"} which */
  const keyboardUndo = (which) => {
    undoing = undoing.then(async () => {
      if (disposed) return;
      // The user's last change may not be on the board yet (unsent, or its event on the way):
      // wait for it a little, so Ctrl+Z undoes that one and not the one before.
      const deadline = Date.now() + 5000;
      while (outbox.unsettled(model) > 0 && !outbox.offline && Date.now() < deadline) {
        await sleep(50);
      }
      if (outbox.offline) return offlineNote(which === "undo" ? "Undo" : "Redo");
      const seq = which === "undo" ? undoStack.takeUndo() : undoStack.takeRedo();
      if (seq === null) {
        announce(which === "undo" ? "Nothing to undo." : "Nothing to redo.");
        return;
      }
      const { event, offline } = await revert(seq);
      if (offline) undoStack.putBack(which, seq);
      if (event) announce(`${eventSentence(event, names())}.`);
    }).catch((error) => console.warn("liveboard: undo failed:", error));
  };
  /** @param {KeyboardEvent} event */
  const onKey = (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
    const key = event.key.toLowerCase();
    const which = key === "z"
      ? (event.shiftKey ? "redo" : "undo")
      : key === "y" && event.ctrlKey && !event.shiftKey
      ? "redo"
      : null;
    // Text fields keep their own undo; a modal dialog keeps the keys to itself.
    if (!which || typingIn(event.target) || document.querySelector("dialog[open]")) return;
    event.preventDefault();
    keyboardUndo(which);
  };
  document.addEventListener("keydown", onKey);

  /** @type {import("./board_view.js").BoardActions} */
  const actions = {
    addTask(listId, title) {
      const tempId = `tmp-${crypto.randomUUID()}`;
      outbox.add({
        kind: "createTask",
        boardId,
        tempId,
        listId,
        title,
        description: "",
        assigneeId: null,
        label: label(title),
      });
      // A long list scrolls inside its column: bring the new card into view once rendered
      // (rendering runs in the frame callback queued just before this one).
      requestAnimationFrame(() =>
        document.querySelector(`.card[data-task-id="${tempId}"]`)?.scrollIntoView({
          block: "nearest",
        })
      );
    },
    async edit(taskId) {
      const task = currentView().task(taskId);
      if (!task) return;
      const saved = !task.pending && !taskId.startsWith("tmp-");
      const result = await editTask(task, currentView().members, {
        typing: () => typing(taskId),
        stopTyping: () => stopTyping(taskId),
      }, {
        // A card not saved yet has no history, nothing to archive and no conflicts.
        history: saved ? () => openHistory(taskId, cardElement(taskId)) : undefined,
        archive: saved ? () => actions.archiveTask(taskId) : undefined,
        conflicts: saved ? conflictSource(taskId) : undefined,
      });
      if (result === "delete") actions.remove(taskId);
      else if (result && Object.keys(result).length > 0) {
        const base = {
          title: task.title,
          description: task.description,
          assigneeId: task.assigneeId,
        };
        outbox.add({
          kind: "updateTask",
          boardId,
          taskId,
          changes: result,
          base,
          version: task.version || undefined,
          label: label(task.title),
        });
      }
    },
    remove(taskId) {
      const task = currentView().task(taskId);
      if (!task) return;
      const change = outbox.add({ kind: "deleteTask", boardId, taskId, label: label(task.title) });
      offerUndo("task", taskId, task.title, change);
    },
    archiveTask(taskId) {
      const task = currentView().task(taskId);
      if (!task) return;
      const change = outbox.add({ kind: "archiveTask", boardId, taskId, label: label(task.title) });
      offerUndo("task", taskId, task.title, change, "archived");
    },
    moveTask(taskId, listId, position) {
      const task = currentView().task(taskId);
      if (!task) return;
      outbox.add({
        kind: "moveTask",
        boardId,
        taskId,
        listId,
        position,
        version: task.version || undefined,
        baseListId: task.listId,
        label: label(task.title),
      });
    },
    addList(title) {
      outbox.add({
        kind: "createList",
        boardId,
        tempId: `tmp-${crypto.randomUUID()}`,
        title,
        label: label(title),
      });
    },
    renameList(listId, title) {
      outbox.add({ kind: "updateList", boardId, listId, title, label: label(title) });
    },
    moveList(listId, by) {
      const view = currentView();
      const index = view.lists.findIndex((l) => l.id === listId);
      const to = index + by;
      if (index === -1 || to < 0 || to >= view.lists.length) return;
      outbox.add({
        kind: "moveList",
        boardId,
        listId,
        position: to,
        label: label(view.lists[index].title),
      });
    },
    archiveList(listId) {
      const list = currentView().list(listId);
      if (!list) return;
      // Kept whole and brought back by Undo or from the archive panel: no question asked.
      const change = outbox.add({ kind: "archiveList", boardId, listId, label: label(list.title) });
      offerUndo("list", listId, list.title, change, "archived");
    },
    async deleteList(listId) {
      const view = currentView();
      const list = view.list(listId);
      if (!list) return;
      const count = view.columns.get(listId)?.length ?? 0;
      // Undoable (the toast, the trash), but a whole list at once still asks first.
      const question = `Delete the list “${list.title}”${
        count ? ` and its ${count} card${count === 1 ? "" : "s"}` : ""
      }? You can undo this, or restore it from the trash for 30 days.`;
      if (await confirmDialog(question, "Delete list")) {
        const change = outbox.add({
          kind: "deleteList",
          boardId,
          listId,
          label: label(list.title),
        });
        offerUndo("list", listId, list.title, change);
      }
    },
    composing() {
      typing(null);
    },
    pointer(x, y) {
      if (Date.now() - lastPointer < tuning.cursorThrottleMs) return;
      lastPointer = Date.now();
      send({ type: "cursor", x: Math.round(x), y: Math.round(y) });
    },
  };

  const boardView = new BoardView(actions, presence);
  presence.setLayer(boardView.layer);
  const heading = h("h1", { class: "board-title" });
  const meta = h("p", { class: "board-meta" });
  const tools = h("div", { class: "board-tools" });

  const activity = new ActivityPanel({
    boardId,
    me,
    view: currentView,
    revert: async (seq) => !!(await revert(seq)).event,
    auth: () => context.auth(),
  });
  const trash = new TrashPanel({
    boardId,
    me,
    view: currentView,
    restore,
    auth: () => context.auth(),
  });
  const archive = new ArchivePanel({
    boardId,
    me,
    view: currentView,
    unarchive,
    auth: () => context.auth(),
  });
  const cardElement = (/** @type {string} */ taskId) =>
    /** @type {HTMLElement | null} */ (
      document.querySelector(`.card[data-task-id="${CSS.escape(taskId)}"]`)
    ) ?? undefined;
  /**
   * A card's history, in the activity panel.
   * @param {string} taskId
   * @param {HTMLElement} [opener] gets focus back when the panel closes
   */
  const openHistory = (taskId, opener) => activity.open({ taskId }, opener);
  const activityButton = h("button", {
    type: "button",
    class: "button button-quiet",
    textContent: "Activity",
    attrs: { "aria-controls": "activity-panel", "aria-expanded": "false" },
    on: {
      click: () =>
        activity.isOpen && !activity.filter.taskId
          ? activity.close()
          : activity.open({}, activityButton),
    },
  });
  const trashButton = h("button", {
    type: "button",
    class: "button button-quiet",
    textContent: "Trash",
    attrs: { "aria-controls": "trash-panel", "aria-expanded": "false" },
    on: { click: () => trash.isOpen ? trash.close() : trash.open(trashButton) },
  });
  const archiveButton = h("button", {
    type: "button",
    class: "button button-quiet",
    textContent: "Archive",
    attrs: { "aria-controls": "archive-panel", "aria-expanded": "false" },
    on: { click: () => archive.isOpen ? archive.close() : archive.open(archiveButton) },
  });
  /** Where the "while you were away" note goes. */
  const awaySlot = h("div", { class: "away-slot" });

  root.replaceChildren(
    h(
      "section",
      { class: "board-page", dataset: { boardId } },
      h("div", { class: "board-head" }, h("div", {}, heading, meta), tools),
      awaySlot,
      boardView.element,
      activity.element,
      trash.element,
      archive.element,
    ),
  );

  const renderHead = () => {
    const view = currentView();
    if (heading.textContent !== view.board.title) heading.textContent = view.board.title;
    document.title = `${view.board.title} · Liveboard`;
    context.title.textContent = view.board.title;
    const names = view.members.map((m) => m.name).sort((a, b) => a.localeCompare(b));
    meta.textContent = `${names.length} member${names.length === 1 ? "" : "s"}: ${
      names.join(", ")
    }`;
    const owner = view.board.ownerId === me.id;
    if (tools.dataset.owner !== String(owner)) {
      tools.dataset.owner = String(owner);
      tools.replaceChildren(
        activityButton,
        trashButton,
        archiveButton,
        ...(owner ? ownerTools() : []),
      );
    }
  };

  /** Sharing, renaming and deleting: only the owner may. */
  const ownerTools = () => {
    const menu = actionMenu(
      {
        toggle: { class: "button button-quiet", attrs: { "aria-label": "Board actions" } },
        list: { class: "menu-items menu-right" },
      },
      [
        { label: "Rename board", run: renameBoard },
        { label: "Delete board…", run: deleteBoard, danger: true },
      ],
    );
    const share = h("button", {
      type: "button",
      class: "button button-quiet",
      textContent: "Share",
      on: { click: shareBoard },
    });
    return [share, menu];
  };
  const shareBoard = async () => {
    const email = await promptDialog("Share this board", {
      label: "Email of the person to add",
      type: "email",
      submit: "Add member",
    });
    if (!email) return;
    try {
      await api("POST", `/boards/${encodeURIComponent(boardId)}/members`, { email });
      toast("info", `Added ${email} to the board`);
    } catch (error) {
      toast("error", `Could not add ${email}: ${/** @type {Error} */ (error).message}`);
    }
  };
  const renameBoard = async () => {
    const title = await promptDialog("Rename board", {
      label: "Board title",
      value: model.board.title,
      submit: "Rename",
      title: true,
    });
    if (!title || title === model.board.title) return;
    try {
      await api("PATCH", `/boards/${encodeURIComponent(boardId)}`, { title });
    } catch (error) {
      toast("error", `Could not rename the board: ${/** @type {Error} */ (error).message}`);
    }
  };
  const deleteBoard = async () => {
    const sure = await confirmDialog(
      `Delete the board “${model.board.title}” with all its lists and cards?`,
      "Delete board",
    );
    if (!sure) return;
    try {
      await api("DELETE", `/boards/${encodeURIComponent(boardId)}`);
    } catch (error) {
      toast("error", `Could not delete the board: ${/** @type {Error} */ (error).message}`);
    }
  };

  let shown = false;
  const render = () => {
    scheduled = false;
    if (disposed) return;
    outbox.settle(model);
    renderHead();
    boardView.render(currentView());
    for (const redraw of conflictWatchers) redraw();
    renderBadge(context.badge, status, {
      pending: outbox.pending(),
      sendingOffline: outbox.offline,
    });
    seen.poke();
    // Performance marks the bench reads (tests/bench/browser.ts): when the board first showed,
    // and up to which event each render drew. Off by default: marks pile up until cleared.
    if (tuning.performanceMarks) {
      if (!shown) performance.mark("liveboard:board-visible");
      performance.mark("liveboard:render", { detail: model.cursor });
    }
    shown = true;
  };
  /**
   * Renders once before the next frame, however many events and changes come first: a burst of
   * 100 moves on a 5,000-card board took 71 s drawn one event at a time. A hidden tab gets no
   * frames; the timer draws it anyway, at most a few times a second.
   */
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    const frame = requestAnimationFrame(() => {
      clearTimeout(fallback);
      render();
    });
    const fallback = setTimeout(() => {
      cancelAnimationFrame(frame);
      render();
    }, 250);
  };

  /** Leaves the board for good (deleted, or we were removed). */
  const leave = (/** @type {string} */ why) => {
    toast("info", why);
    seen.drop();
    page.dispose();
    location.hash = "#/";
  };

  /** @param {import("../board_model.js").BoardEvent} event */
  const onEvent = (event) => {
    if (tuning.performanceMarks) performance.mark("liveboard:event", { detail: event.id });
    if (heldBack) {
      heldBack.push(event);
      return;
    }
    if (!model.applyEvent(event)) return;
    // A conflict recorded for the user (their text lost an edit) is not a change they made:
    // Ctrl+Z undoes their last change, not that. (Un-resolving one, a revert, still counts.)
    if (event.type !== "conflict_recorded" || event.revertOf != null) undoStack.observe(event);
    activity.eventArrived(event);
    trash.eventArrived(event);
    archive.eventArrived(event);
    if (event.type === "board_deleted") {
      return leave(`The board “${model.board.title}” was deleted`);
    }
    if (event.type === "member_removed" && event.member?.userId === me.id) {
      return leave(`You are no longer a member of “${model.board.title}”`);
    }
    schedule();
  };

  const resync = () =>
    resyncing ??= (async () => {
      heldBack = [];
      try {
        const fresh = new BoardModel(await api("GET", `/boards/${encodeURIComponent(boardId)}`));
        model = fresh;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) context.auth();
        else if (error instanceof ApiError && error.status === 404) {
          leave("This board is no longer available");
        }
      } finally {
        const events = heldBack ?? [];
        heldBack = null;
        resyncing = null;
        events.forEach(onEvent);
        schedule();
        // What the fresh snapshot folded in never came as events: the panels read it again.
        if (!disposed && activity.isOpen) activity.reload();
        if (!disposed && trash.isOpen) trash.reload();
        if (!disposed && archive.isOpen) archive.reload();
      }
    })();

  const connection = new Connection(boardId, {
    event: onEvent,
    advance: (cursor) => {
      if (!heldBack && cursor > model.cursor) model.cursor = cursor;
    },
    resync,
    message: (message) => {
      if (message.type === "error") {
        if (message.code !== "rate_limited") console.warn("liveboard:", message.message);
        return;
      }
      presence.handle(message);
    },
    status: (next) => {
      status = next;
      presence.setLive(next.state === "live" && next.transport === "websocket");
      schedule();
    },
    open: () => outbox.kick(),
    auth: () => context.auth(),
    stopped: (message) => leave(message),
  }, () => model.cursor);

  const page = {
    refresh: schedule,
    dispose() {
      if (disposed) return;
      // What the user saw up to now, while the cursor still says so.
      seen.stop();
      disposed = true;
      document.removeEventListener("keydown", onKey);
      activity.panel.close(false);
      trash.panel.close(false);
      archive.panel.close(false);
      conflictWatchers.clear();
      connection.stop();
      presence.setLive(false);
      context.title.textContent = "";
      renderBadge(context.badge, null, { pending: outbox.pending(), sendingOffline: false });
    },
  };
  render();
  connection.start();
  showAway(model.cursor);
  return page;

  /**
   * Reads the user's seen cursor for this board; if other people changed it since, shows the
   * "while you were away" note. Then starts sending the seen cursor (not before: it would move
   * the cursor the note is read from).
   * @param {number} snapshotCursor
   */
  async function showAway(snapshotCursor) {
    let seenCursor = 0;
    // A server (or, mid-deploy, an instance) that keeps no seen cursors says none: send none.
    let kept = false;
    try {
      /** @type {{id: string, seenCursor?: number}[]} */
      const boards = await api("GET", "/boards");
      const summary = boards.find((b) => b.id === boardId);
      kept = typeof summary?.seenCursor === "number";
      seenCursor = kept ? Number(summary?.seenCursor) : 0;
      if (seenCursor > 0 && seenCursor < snapshotCursor && !disposed) {
        const note = await awaySummary({
          boardId,
          me: me.id,
          seenCursor,
          cursor: snapshotCursor,
          names,
          openCard: openHistory,
        });
        if (note && !disposed) awaySlot.replaceChildren(note);
      }
    } catch (error) {
      // The note is a courtesy: the board works without it.
      if (error instanceof ApiError && error.status === 401) return context.auth();
      console.warn("liveboard: no summary of changes:", /** @type {Error} */ (error).message);
    } finally {
      if (!disposed && kept) seen.start(seenCursor);
    }
  }
}

/**
 * Whether keys go to a text field (which keeps its own Ctrl+Z) rather than to the board.
 * @param {EventTarget | null} target
 */
function typingIn(target) {
  const element = target instanceof HTMLElement ? target : document.activeElement;
  if (!(element instanceof HTMLElement)) return false;
  return element.isContentEditable || !!element.closest("input, textarea, select");
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
