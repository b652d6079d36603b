/**
 * The board's history in words, with no DOM: an event as a sentence ("Bob moved “Fix login” to
 * Done", "Alice undid renaming “A” to “B”"), times relative to now ("2 min ago"), which events
 * the user may revert, and the "while you were away" summary (changes by other people, counted
 * and grouped by person and by card). Pure functions, so the activity panel, the away summary,
 * keyboard undo and the tests all say the same thing.
 */

/**
 * @typedef {import("./board_model.js").BoardEvent} BoardEvent
 * @typedef {{
 *   me: string,
 *   name(userId: string): string | undefined,
 *   listTitle(listId: string): string | undefined,
 *   taskTitle?(taskId: string): string | undefined,
 *   event?(seq: number): BoardEvent | undefined,
 * }} Names how to name people, lists and cards (from the board as it is now, and what history told us);
 *   `event` finds an already loaded event by seq, so undoing an undo can read as "redid"
 * @typedef {{userId: string, count: number}} PersonCount
 * @typedef {{taskId: string, title: string, count: number, deleted: boolean}} CardCount
 * @typedef {{count: number, people: PersonCount[], cards: CardCount[], lists: number}} AwaySummary
 */

/** Event types no one can revert (the server answers 409 not_revertible). */
const NOT_REVERTIBLE = new Set([
  "board_created",
  "board_deleted",
  "member_added",
  "member_removed",
]);

/** Event types that are about one card, which the card's history shows. */
const TASK_EVENTS = new Set([
  "task_created",
  "task_updated",
  "task_moved",
  "task_deleted",
  "task_restored",
  "task_archived",
  "task_unarchived",
  "conflict_recorded",
  "conflict_resolved",
]);

/**
 * A title in curly quotes, cut short enough for a line of the activity panel.
 * @param {string | undefined | null} title
 */
export function quote(title) {
  const text = String(title ?? "").trim();
  return `“${text.length > 60 ? text.slice(0, 57) + "…" : text}”`;
}

/**
 * "Bob", "Bob and Alice", "Bob, Alice and Carol", "Bob, Alice and 3 others".
 * @param {string[]} names
 */
export function joinNames(names) {
  if (names.length <= 1) return names[0] ?? "";
  if (names.length > 3) return `${names.slice(0, 2).join(", ")} and ${names.length - 2} others`;
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/**
 * The card an event is about, for card history and grouping (null for list and board events).
 * @param {BoardEvent} event
 * @returns {string | null}
 */
export function eventTaskId(event) {
  if (!TASK_EVENTS.has(event.type)) return null;
  return event.task?.id ?? event.taskId ?? event.conflict?.taskId ?? null;
}

/**
 * Whether `me` may revert the event: their own change, or anyone's on a board they own; never
 * the board's creation or deletion, membership changes, or events of format 1 (they lack what
 * the inverse needs). The server decides in the end; this only chooses whether to offer it.
 * @param {BoardEvent} event
 * @param {string} me
 * @param {string} ownerId
 */
export function isRevertible(event, me, ownerId) {
  if (NOT_REVERTIBLE.has(event.type) || (event.v ?? 1) < 2) return false;
  return event.actorId === me || ownerId === me;
}

/**
 * The whole sentence: who, then what.
 * @param {BoardEvent} event
 * @param {Names} names
 */
export function eventSentence(event, names) {
  return `${subject(event.actorId, names)} ${eventPredicate(event, names)}`;
}

/**
 * What the event did, without who did it: "moved “Fix login” to Done".
 * @param {BoardEvent} event
 * @param {Names} names
 */
export function eventPredicate(event, names) {
  if (event.revertOf !== undefined && event.revertOf !== null) {
    // Undoing an undo is a redo: say what the first change did, not "undid undoing".
    const reverted = names.event?.(event.revertOf);
    if (reverted && reverted.revertOf !== undefined && reverted.revertOf !== null) {
      return `redid ${undonePhrase(reverted, names)}`;
    }
    return `undid ${undonePhrase(event, names)}`;
  }
  const task = event.task;
  const list = event.list;
  switch (event.type) {
    case "task_created":
      return `added ${quote(task?.title)} to ${listName(task?.listId, names)}`;
    case "task_updated":
      return updatePhrase(event, names, false);
    case "task_moved":
      return task?.listId === event.fromListId
        ? `reordered ${quote(task?.title)} in ${listName(task?.listId, names)}`
        : `moved ${quote(task?.title)} to ${listName(task?.listId, names)}`;
    case "task_deleted":
      return task ? `deleted ${quote(task.title)}` : "deleted a card";
    case "task_restored":
      return `restored ${quote(task?.title)}`;
    case "task_archived":
      return `archived ${quote(task?.title)}`;
    case "task_unarchived":
      return `unarchived ${quote(task?.title)}`;
    case "list_created":
      return `added the list ${quote(list?.title)}`;
    case "list_updated":
      return event.before?.title !== undefined
        ? `renamed the list ${quote(event.before.title)} to ${quote(list?.title)}`
        : `renamed a list to ${quote(list?.title)}`;
    case "list_moved":
      return `moved the list ${quote(list?.title)} ${
        (list?.position ?? 0) < (event.fromPosition ?? 0) ? "left" : "right"
      }`;
    case "list_deleted":
      return list
        ? `deleted the list ${quote(list.title)}${withCards(event.tasks)}`
        : "deleted a list";
    case "list_restored":
      return `restored the list ${quote(list?.title)}${withCards(event.tasks)}`;
    case "list_archived":
      return `archived the list ${quote(list?.title)}${withCards(event.tasks)}`;
    case "list_unarchived":
      return `unarchived the list ${quote(list?.title)}${withCards(event.tasks)}`;
    case "board_created":
      return `created the board ${quote(event.board?.title)}`;
    case "board_updated":
      return event.before?.title !== undefined
        ? `renamed the board ${quote(event.before.title)} to ${quote(event.board?.title)}`
        : `renamed the board to ${quote(event.board?.title)}`;
    case "board_deleted":
      return "deleted the board";
    case "member_added":
      return event.member?.userId === event.actorId
        ? "joined the board"
        : `added ${memberName(event.member, names)} to the board`;
    case "member_removed":
      return event.member?.userId === event.actorId
        ? "left the board"
        : `removed ${memberName(event.member, names)} from the board`;
    case "conflict_recorded":
      return `kept a conflicting ${event.conflict?.field ?? "edit"} on ${
        cardName(event.conflict?.taskId, names)
      }`;
    case "conflict_resolved":
      return `resolved a conflicting ${event.conflict?.field ?? "edit"} on ${
        cardName(event.conflict?.taskId, names)
      }`;
  }
  return "changed the board";
}

/**
 * A card by its current title, or "a card" when it is not on the board.
 * @param {string | undefined} taskId
 * @param {Names} names
 */
function cardName(taskId, names) {
  const title = taskId ? names.taskTitle?.(taskId) : undefined;
  return title === undefined ? "a card" : quote(title);
}

/**
 * What a change did, read from the event that undid it (its inverse): a revert that deletes a
 * card undid adding it, one that moves a card back undid moving it, and so on.
 * @param {BoardEvent} inverse
 * @param {Names} names
 */
function undonePhrase(inverse, names) {
  const task = inverse.task;
  const list = inverse.list;
  switch (inverse.type) {
    case "task_deleted":
      return `adding ${quote(task?.title)}`;
    case "task_restored":
      return `deleting ${quote(task?.title)}`;
    case "task_unarchived":
      return `archiving ${quote(task?.title)}`;
    case "task_archived":
      return `unarchiving ${quote(task?.title)}`;
    case "task_updated":
      return updatePhrase(inverse, names, true);
    case "task_moved":
      return `moving ${quote(task?.title)} to ${listName(inverse.fromListId, names)}`;
    case "list_deleted":
      return `adding the list ${quote(list?.title)}`;
    case "list_restored":
      return `deleting the list ${quote(list?.title)}`;
    case "list_unarchived":
      return `archiving the list ${quote(list?.title)}`;
    case "list_archived":
      return `unarchiving the list ${quote(list?.title)}`;
    case "list_updated":
      return inverse.before?.title !== undefined
        ? `renaming the list ${quote(list?.title)} to ${quote(inverse.before.title)}`
        : `renaming the list ${quote(list?.title)}`;
    case "list_moved":
      return `moving the list ${quote(list?.title)}`;
    case "board_updated":
      return inverse.before?.title !== undefined
        ? `renaming the board ${quote(inverse.board?.title)} to ${quote(inverse.before.title)}`
        : "renaming the board";
    case "conflict_resolved":
      return `keeping a conflicting ${inverse.conflict?.field ?? "edit"} on ${
        cardName(inverse.conflict?.taskId, names)
      }`;
    case "conflict_recorded":
      return `resolving a conflicting ${inverse.conflict?.field ?? "edit"} on ${
        cardName(inverse.conflict?.taskId, names)
      }`;
  }
  return "a change";
}

/**
 * A card edit in words. `inverted`: the event is a revert, so its `before` holds what the undone
 * change had set and its `task` what that change had replaced (the tenses swap).
 * @param {BoardEvent} event
 * @param {Names} names
 * @param {boolean} inverted
 */
function updatePhrase(event, names, inverted) {
  const task = event.task ?? {};
  const before = event.before ?? {};
  const fields = Object.keys(before).filter((f) =>
    ["title", "description", "assigneeId"].includes(f)
  );
  // In an inverse, the undone change went from the event's `task` values to its `before` ones.
  const from = inverted ? task : before;
  const to = inverted ? before : task;
  const title = quote(to.title ?? task.title);
  const verb = inverted
    ? { renamed: "renaming", edited: "editing", assigned: "assigning", unassigned: "unassigning" }
    : { renamed: "renamed", edited: "edited", assigned: "assigned", unassigned: "unassigned" };
  if (fields.length === 1 && fields[0] === "title") {
    return `${verb.renamed} ${quote(from.title)} to ${quote(to.title)}`;
  }
  if (fields.length === 1 && fields[0] === "description") {
    return `${verb.edited} the description of ${title}`;
  }
  if (fields.length === 1 && fields[0] === "assigneeId") {
    return to.assigneeId
      ? `${verb.assigned} ${title} to ${object(to.assigneeId, names)}`
      : `${verb.unassigned} ${title}`;
  }
  if (fields.length > 1) {
    const words = fields.map((f) => f === "assigneeId" ? "assignee" : f);
    return `${verb.edited} the ${joinNames(words)} of ${title}`;
  }
  return `${verb.edited} ${quote(task.title)}`;
}

/** @param {unknown[] | undefined} tasks */
function withCards(tasks) {
  const count = Array.isArray(tasks) ? tasks.length : 0;
  return count ? ` with ${count} card${count === 1 ? "" : "s"}` : "";
}

/**
 * @param {string | undefined} listId
 * @param {Names} names
 */
function listName(listId, names) {
  return (listId && names.listTitle(listId)) || "another list";
}

/**
 * @param {{userId?: string, name?: string} | undefined} member
 * @param {Names} names
 */
function memberName(member, names) {
  if (member?.userId === names.me) return "you";
  return member?.name || (member?.userId ? names.name(member.userId) : undefined) || "someone";
}

/**
 * Who did it, at the start of a sentence.
 * @param {string | null} userId
 * @param {Names} names
 */
export function subject(userId, names) {
  if (userId && userId === names.me) return "You";
  return (userId && names.name(userId)) || "Someone";
}

/**
 * A person in the middle of a sentence.
 * @param {string} userId
 * @param {Names} names
 */
function object(userId, names) {
  if (userId === names.me) return "you";
  return names.name(userId) ?? "someone";
}

/**
 * "just now", "2 min ago", "3 h ago", "yesterday", "4 days ago", then the date.
 * @param {string} at ISO time
 * @param {number} [now] ms since the epoch
 */
export function relativeTime(at, now = Date.now()) {
  const then = Date.parse(at);
  if (Number.isNaN(then)) return "";
  const seconds = Math.max(0, (now - then) / 1000);
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${Math.max(1, minutes)} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.floor(hours / 24);
  if (days < 2) return "yesterday";
  if (days < 7) return `${days} days ago`;
  const date = new Date(then);
  return date.toLocaleDateString(undefined, {
    month: "short",
    day: "numeric",
    ...(date.getFullYear() !== new Date(now).getFullYear() ? { year: "numeric" } : {}),
  });
}

/**
 * The exact time, for a title attribute beside the relative one.
 * @param {string} at ISO time
 */
export function exactTime(at) {
  const date = new Date(at);
  return Number.isNaN(date.getTime())
    ? at
    : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/**
 * The unread count a board tile shows: the server counts at most 999.
 * @param {number} unread
 */
export function unreadLabel(unread) {
  return unread >= 999 ? "999+" : String(unread);
}

/**
 * What other people changed while the user was away, from history events (newest first):
 * counted, by person (most changes first) and by card (its newest title; whether it is gone).
 * The user's own changes do not count: they saw those.
 * @param {BoardEvent[]} events
 * @param {string} me
 * @returns {AwaySummary}
 */
export function summarizeAway(events, me) {
  /** @type {Map<string, PersonCount>} */
  const people = new Map();
  /** @type {Map<string, CardCount>} */
  const cards = new Map();
  let count = 0;
  let lists = 0;
  for (const event of events) {
    if (!event.actorId || event.actorId === me) continue;
    count++;
    const person = people.get(event.actorId) ?? { userId: event.actorId, count: 0 };
    person.count++;
    people.set(event.actorId, person);
    const taskId = eventTaskId(event);
    if (taskId) {
      let card = cards.get(taskId);
      if (!card) {
        // Newest first: the first event seen of a card has its latest title and fate.
        card = {
          taskId,
          title: event.task?.title ?? "",
          count: 0,
          deleted: event.type === "task_deleted",
        };
        cards.set(taskId, card);
      }
      // A conflict's event names no title: an older event of the card may.
      if (!card.title && event.task?.title) card.title = event.task.title;
      card.count++;
    } else if (event.type.startsWith("list_")) lists++;
  }
  const byCount = (/** @type {{count: number}} */ a, /** @type {{count: number}} */ b) =>
    b.count - a.count;
  return {
    count,
    people: [...people.values()].sort(byCount),
    cards: [...cards.values()].sort(byCount),
    lists,
  };
}

/**
 * "While you were away: 12 changes by Bob and Alice — 5 cards".
 * @param {AwaySummary} summary
 * @param {Names} names
 * @param {boolean} [more] there were more changes than were fetched
 */
export function awayHeadline(summary, names, more = false) {
  const count = `${more ? "more than " : ""}${summary.count} change${
    summary.count === 1 ? "" : "s"
  }`;
  const who = joinNames(summary.people.map((p) => names.name(p.userId) ?? "someone"));
  const cards = summary.cards.length
    ? ` — ${summary.cards.length} card${summary.cards.length === 1 ? "" : "s"}`
    : "";
  return `While you were away: ${count} by ${who}${cards}`;
}
