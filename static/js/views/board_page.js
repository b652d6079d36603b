/**
 * The board page: loads the snapshot, keeps the board live through a `Connection`, turns the
 * user's actions into outbox changes (shown at once, sent in order), and renders the server's
 * state with the pending changes on top. On `resync` it refetches the snapshot, holding back
 * events that arrive meanwhile and applying the newer ones after it.
 */
import { api, ApiError } from "../api.js";
import { BoardModel } from "../board_model.js";
import { Connection } from "../connection.js";
import { h } from "../dom.js";
import { Presence } from "../presence.js";
import { tuning } from "../tuning.js";
import { renderBadge } from "./badge.js";
import { BoardView } from "./board_view.js";
import { confirmDialog, editTask, promptDialog } from "./dialogs.js";
import { actionMenu } from "./menu.js";
import { toast } from "./toast.js";

/**
 * @typedef {import("../outbox.js").Outbox} Outbox
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
      const result = await editTask(task, currentView().members, {
        typing: () => typing(taskId),
        stopTyping: () => stopTyping(taskId),
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
      if (task) outbox.add({ kind: "deleteTask", boardId, taskId, label: label(task.title) });
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
    async deleteList(listId) {
      const view = currentView();
      const list = view.list(listId);
      if (!list) return;
      const count = view.columns.get(listId)?.length ?? 0;
      const question = `Delete the list “${list.title}”${
        count ? ` and its ${count} card${count === 1 ? "" : "s"}` : ""
      }? This cannot be undone.`;
      if (await confirmDialog(question, "Delete list")) {
        outbox.add({ kind: "deleteList", boardId, listId, label: label(list.title) });
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
  root.replaceChildren(
    h(
      "section",
      { class: "board-page", dataset: { boardId } },
      h("div", { class: "board-head" }, h("div", {}, heading, meta), tools),
      boardView.element,
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
      tools.replaceChildren(...(owner ? ownerTools() : []));
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
    renderBadge(context.badge, status, {
      pending: outbox.pending(),
      sendingOffline: outbox.offline,
    });
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
      disposed = true;
      connection.stop();
      presence.setLive(false);
      context.title.textContent = "";
      renderBadge(context.badge, null, { pending: outbox.pending(), sendingOffline: false });
    },
  };
  render();
  connection.start();
  return page;
}
