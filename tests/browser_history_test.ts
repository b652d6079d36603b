/**
 * The board's history in a real Chromium: the Undo toast after a delete, Ctrl+Z and
 * Ctrl+Shift+Z for the user's own change (and not in text fields), the activity panel (live,
 * paged, filtered by person and by card, the owner's Revert), the trash panel restoring a list
 * with its cards, and the "while you were away" note with the boards page's unread badge.
 * Screenshots go to test-output/history-*.png.
 */
import assert from "node:assert/strict";
import {
  card,
  chromiumAvailable,
  column,
  launchChromium,
  openPage,
  type UserPage,
  waitLive,
} from "./browser_helpers.ts";
import { skipUnless, startTestServer, type TestServer, waitFor, withEvents } from "./helpers.ts";
import {
  awayHeadline,
  eventSentence,
  isRevertible,
  relativeTime,
  summarizeAway,
  unreadLabel,
} from "../static/js/activity_text.js";
import { BoardModel } from "../static/js/board_model.js";
import { UndoStack } from "../static/js/undo_stack.js";

const ignore = skipUnless(chromiumAvailable, "Chromium (/usr/bin/chromium)");
const ALICE = "alice@example.com"; // user-1, owner of board-1
const BOB = "bob@example.com"; // user-2, member of board-1
const CAROL = "carol@example.com"; // user-3, member of board-1

/** No console errors or CSP violations, apart from the expected ones. */
function assertNoProblems(user: UserPage, allowed: RegExp[] = []) {
  const problems = user.problems.filter((p) => !allowed.some((a) => a.test(p)));
  assert.deepEqual(problems, []);
}

/** A REST call as `token` that must succeed; returns the JSON body. */
async function call(
  server: TestServer,
  token: string,
  method: string,
  path: string,
  json?: unknown,
) {
  const response = await server.request(path, { method, token, json });
  const body = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

async function serverTitle(server: TestServer, taskId: string) {
  return (await (await server.request(`/tasks/${taskId}`)).json()).title as string | undefined;
}

/** The user's board summary as GET /boards gives it (seenCursor, unread). */
async function summary(server: TestServer, token: string, boardId = "board-1") {
  const boards = await call(server, token, "GET", "/boards") as {
    id: string;
    seenCursor: number;
    unread: number;
  }[];
  return boards.find((b) => b.id === boardId)!;
}

// ---- the client's pure parts (no browser) --------------------------------------------------

const at = "2026-01-01T09:00:00.000Z";
const list = (id: string, position: number, title = id) => ({
  id,
  boardId: "b",
  title,
  position,
  createdAt: at,
  updatedAt: at,
});
const task = (id: string, listId: string, position: number, title = id, version = 1) => ({
  id,
  boardId: "b",
  listId,
  title,
  description: "",
  assigneeId: null as string | null,
  position,
  version,
  createdBy: null,
  createdAt: at,
  updatedAt: at,
});
const event = (
  type: string,
  id: number,
  actorId: string | null,
  fields: Record<string, unknown>,
) => ({
  type,
  v: 2,
  id,
  boardId: "b",
  actorId,
  at,
  ...fields,
});
const names = {
  me: "u-alice",
  name: (id: string) => ({ "u-alice": "Alice", "u-bob": "Bob" } as Record<string, string>)[id],
  listTitle: (id: string) => ({ l1: "To do", l2: "Done" } as Record<string, string>)[id],
};

Deno.test("restored and unarchived cards and lists go back where they were, archived ones leave", () => {
  const m = new BoardModel({
    board: { id: "b", title: "B", ownerId: "u-alice", createdAt: at, updatedAt: at },
    lists: [list("l1", 0), list("l2", 1)],
    tasks: [task("t1", "l1", 0), task("t2", "l1", 1)],
    members: [],
    cursor: 10,
  });
  const ids = (listId: string) => (m.columns.get(listId) ?? []).map((t) => t.id);
  m.applyEvent(event("task_restored", 11, "u-bob", { task: task("t0", "l1", 1, "back", 3) }));
  assert.deepEqual(ids("l1"), ["t1", "t0", "t2"]);
  assert.equal(m.task("t0")?.version, 3);
  m.applyEvent(
    event("list_restored", 12, "u-bob", {
      list: list("l0", 1, "Doing"),
      tasks: [task("t4", "l0", 1), task("t3", "l0", 0)],
    }),
  );
  assert.deepEqual(m.lists.map((l) => l.id), ["l1", "l0", "l2"], "later lists shift right");
  assert.deepEqual(ids("l0"), ["t3", "t4"], "its cards, in position order");
  assert.equal(
    m.applyEvent(event("list_restored", 12, "u-bob", { list: list("l0", 0), tasks: [] })),
    false,
    "applied once",
  );
  assert.equal(m.cursor, 12);

  // Archiving takes a card or a list off the board; unarchiving puts it back like a restore.
  m.applyEvent(event("task_archived", 13, "u-bob", { task: task("t0", "l1", 1, "back", 4) }));
  assert.deepEqual(ids("l1"), ["t1", "t2"]);
  m.applyEvent(event("task_unarchived", 14, "u-bob", { task: task("t0", "l1", 0, "back", 5) }));
  assert.deepEqual(ids("l1"), ["t0", "t1", "t2"]);
  const doing = list("l0", 1, "Doing");
  m.applyEvent(event("list_archived", 15, "u-bob", { list: doing, tasks: [] }));
  assert.deepEqual(m.lists.map((l) => l.id), ["l1", "l2"]);
  m.applyEvent(
    event("list_unarchived", 16, "u-bob", { list: doing, tasks: [task("t3", "l0", 0)] }),
  );
  assert.deepEqual(m.lists.map((l) => l.id), ["l1", "l0", "l2"]);
  assert.deepEqual(ids("l0"), ["t3"]);
});

Deno.test("history events read as sentences, undos as undid and an undo of an undo as redid", () => {
  const renamed = event("task_updated", 5, "u-bob", {
    task: task("t1", "l1", 0, "B"),
    before: { title: "A" },
  });
  assert.equal(eventSentence(renamed, names), "Bob renamed “A” to “B”");
  assert.equal(
    eventSentence(
      event("task_moved", 6, "u-bob", {
        task: task("t1", "l2", 0, "Fix login"),
        fromListId: "l1",
        fromPosition: 0,
      }),
      names,
    ),
    "Bob moved “Fix login” to Done",
  );
  assert.equal(
    eventSentence(
      event("task_deleted", 7, "u-bob", {
        taskId: "t1",
        listId: "l1",
        task: task("t1", "l1", 0, "X"),
      }),
      names,
    ),
    "Bob deleted “X”",
  );
  assert.equal(
    eventSentence(event("task_restored", 8, "u-alice", { task: task("t1", "l1", 0, "X") }), names),
    "You restored “X”",
  );
  const undo = event("task_updated", 9, "u-alice", {
    task: task("t1", "l1", 0, "A"),
    before: { title: "B" },
    revertOf: 5,
  });
  assert.equal(eventSentence(undo, names), "You undid renaming “A” to “B”");
  const redo = event("task_updated", 10, "u-alice", {
    task: task("t1", "l1", 0, "B"),
    before: { title: "A" },
    revertOf: 9,
  });
  const known = { ...names, event: (seq: number) => (seq === 9 ? undo : undefined) };
  assert.equal(eventSentence(redo, known), "You redid renaming “A” to “B”");
  assert.equal(
    eventSentence(
      event("list_deleted", 11, "u-bob", {
        listId: "l3",
        list: list("l3", 2, "Later"),
        tasks: [task("t", "l3", 0)],
      }),
      names,
    ),
    "Bob deleted the list “Later” with 1 card",
  );

  assert.equal(isRevertible(renamed, "u-bob", "u-alice"), true, "the author's own");
  assert.equal(isRevertible(renamed, "u-alice", "u-alice"), true, "the owner, anyone's");
  assert.equal(isRevertible(renamed, "u-carol", "u-alice"), false);
  assert.equal(isRevertible({ ...renamed, v: 1 }, "u-bob", "u-alice"), false, "format 1");
  assert.equal(
    isRevertible(event("member_added", 12, "u-alice", { member: {} }), "u-alice", "u-alice"),
    false,
  );
  assert.equal(relativeTime(at, Date.parse(at) + 10_000), "just now");
  assert.equal(relativeTime(at, Date.parse(at) + 2 * 60_000), "2 min ago");
  assert.equal(relativeTime(at, Date.parse(at) + 3 * 3600_000), "3 h ago");
  assert.equal(unreadLabel(12), "12");
  assert.equal(unreadLabel(999), "999+");
});

Deno.test("the away summary counts only other people's changes, by person and by card", () => {
  const events = [
    event("task_updated", 9, "u-bob", {
      task: task("t1", "l1", 0, "Newest"),
      before: { title: "Old" },
    }),
    event("task_created", 8, "u-alice", { task: task("t2", "l1", 1, "Mine") }),
    event("task_created", 7, "u-carol", { task: task("t3", "l1", 1, "Carol's") }),
    event("list_created", 6, "u-bob", { list: list("l9", 3, "New list") }),
    event("task_created", 5, "u-bob", { task: task("t1", "l1", 0, "Old") }),
  ];
  const summary = summarizeAway(events, "u-alice");
  assert.equal(summary.count, 4, "Alice's own change does not count");
  assert.deepEqual(summary.people, [{ userId: "u-bob", count: 3 }, {
    userId: "u-carol",
    count: 1,
  }]);
  assert.deepEqual(summary.cards.map((c) => [c.title, c.count]), [["Newest", 2], ["Carol's", 1]]);
  const withCarol = { ...names, name: (id: string) => id === "u-carol" ? "Carol" : names.name(id) };
  assert.equal(
    awayHeadline(summary, withCarol),
    "While you were away: 4 changes by Bob and Carol — 2 cards",
  );
});

Deno.test("a kept conflicting value reads as one on its card, and counts for that card while away", () => {
  const conflict = {
    id: "c1",
    boardId: "b1",
    taskId: "t1",
    field: "description",
    value: "mine",
    authorId: "u-bob",
    baseVersion: 3,
    createdAt: at,
  };
  const titled = { ...names, taskTitle: (id: string) => (id === "t1" ? "Fix login" : undefined) };
  const recorded = event("conflict_recorded", 10, "u-bob", { conflict });
  assert.equal(
    eventSentence(recorded, titled),
    "Bob kept a conflicting description on “Fix login”",
  );
  assert.equal(
    eventSentence(event("conflict_resolved", 11, "u-bob", { conflict }), names),
    "Bob resolved a conflicting description on a card",
  );
  assert.equal(
    eventSentence(event("conflict_recorded", 12, "u-alice", { conflict, revertOf: 11 }), titled),
    "You undid resolving a conflicting description on “Fix login”",
  );
  const summary = summarizeAway([
    recorded,
    event("task_updated", 9, "u-bob", { task: task("t1", "l1", 0, "Fix login"), before: {} }),
  ], "u-alice");
  assert.deepEqual(summary.cards.map((c) => [c.title, c.count]), [["Fix login", 2]]);
});

Deno.test("keyboard undo takes the user's own last change, redo the last undo, and a new change clears redo", () => {
  const stack = new UndoStack("u-alice");
  stack.observe(event("task_updated", 1, "u-alice", { task: task("t1", "l1", 0), before: {} }));
  stack.observe(event("task_updated", 2, "u-bob", { task: task("t1", "l1", 0), before: {} }));
  stack.observe(event("member_added", 3, "u-alice", { member: {} }));
  stack.observe(event("task_moved", 4, "u-alice", { task: task("t1", "l2", 0), fromListId: "l1" }));
  assert.equal(stack.takeUndo(), 4, "the newest own, revertible change");
  stack.observe(event("task_moved", 5, "u-alice", { task: task("t1", "l1", 0), revertOf: 4 }));
  assert.equal(stack.takeRedo(), 5, "the undo it produced");
  stack.observe(event("task_moved", 6, "u-alice", { task: task("t1", "l2", 0), revertOf: 5 }));
  assert.equal(stack.takeUndo(), 6, "a redo can be undone again");
  stack.putBack("undo", 6);
  stack.observe(event("task_created", 7, "u-alice", { task: task("t9", "l1", 0) }));
  assert.equal(stack.takeRedo(), null, "a new change clears the redos");
  // The owner reverting Alice's change 1: it leaves her stack.
  stack.observe(
    event("task_updated", 8, "u-bob", { task: task("t1", "l1", 0), before: {}, revertOf: 1 }),
  );
  assert.deepEqual(stack.undos, [6, 7]);
});

// ---- in Chromium ---------------------------------------------------------------------------

Deno.test({
  name: "deleting a card shows an Undo toast, and Undo brings it back for a second browser too",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await using bob = await openPage(live, server, { email: BOB });
    await waitLive(alice);
    await waitLive(bob);

    await card(alice.page, "Pick a name").hover();
    await alice.page.getByRole("button", { name: "Delete “Pick a name”" }).click();
    await card(bob.page, "Pick a name").waitFor({ state: "detached", timeout: 2000 });
    const toast = alice.page.locator(".toast", { hasText: "Card “Pick a name” deleted" });
    await toast.waitFor();
    await alice.screenshot("history-undo-toast");
    await toast.getByRole("button", { name: "Undo" }).click();

    await card(bob.page, "Pick a name").waitFor({ timeout: 3000 });
    await card(alice.page, "Pick a name").waitFor({ timeout: 3000 });
    await toast.waitFor({ state: "detached" });
    assert.equal(await serverTitle(server, "task-4"), "Pick a name");
    // Back where it was: the first card of Done.
    assert.equal(
      await column(bob.page, "Done").locator(".card-title").first().textContent(),
      "Pick a name",
    );
    assertNoProblems(alice, [/WebSocket/]);
    assertNoProblems(bob, [/WebSocket/]);
  },
});

Deno.test({
  name:
    "Ctrl+Z undoes the user's own title edit and Ctrl+Shift+Z redoes it, but not in a text field",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await using bob = await openPage(live, server, { email: BOB });
    await waitLive(alice);
    await waitLive(bob);

    await card(alice.page, "Pick a name").focus();
    await alice.page.keyboard.press("Enter");
    await alice.page.getByLabel("Title", { exact: true }).fill("Pick a better name");
    await alice.page.getByRole("button", { name: "Save" }).click();
    await alice.page.locator(".card:not(.pending)", { hasText: "Pick a better name" }).waitFor();
    await card(bob.page, "Pick a better name").waitFor({ timeout: 2000 });

    // Focus is on the board (the card the editor was opened from), not in a field.
    await alice.page.keyboard.press("Control+z");
    await card(bob.page, "Pick a name").waitFor({ timeout: 3000 });
    await card(alice.page, "Pick a name").waitFor({ timeout: 3000 });
    assert.equal(await serverTitle(server, "task-4"), "Pick a name");
    await waitFor(
      async () => /undid renaming/.test(await alice.page.locator("#announcer").textContent() ?? ""),
      { what: "the undo announced" },
    );

    await alice.page.keyboard.press("Control+Shift+z");
    await card(bob.page, "Pick a better name").waitFor({ timeout: 3000 });
    await card(alice.page, "Pick a better name").waitFor({ timeout: 3000 });
    assert.equal(await serverTitle(server, "task-4"), "Pick a better name");
    await waitFor(
      async () => /redid renaming/.test(await alice.page.locator("#announcer").textContent() ?? ""),
      { what: "the redo announced" },
    );

    // In a text field Ctrl+Z is the field's own: the board is left alone.
    const input = alice.page.getByLabel("New card in To do");
    const { events } = await withEvents(server, async () => {
      await input.fill("");
      await input.pressSequentially("draft");
      await input.press("Control+z");
      await alice.page.waitForTimeout(500);
    });
    assert.deepEqual(events, [], "nothing was reverted");
    assert.equal(await serverTitle(server, "task-4"), "Pick a better name");
    assertNoProblems(alice, [/WebSocket/]);
  },
});

Deno.test({
  name:
    "the activity panel shows another user's change live, pages back and filters by person and card",
  ignore,
  async fn() {
    await using server = await startTestServer();
    const bobToken = await server.login(BOB);
    const carolToken = await server.login(CAROL);
    // Enough history for a few pages of three.
    for (const title of ["First", "Second", "Third"]) {
      await call(server, carolToken, "POST", "/tasks", { listId: "list-todo", title });
    }
    await call(server, bobToken, "POST", "/tasks", { listId: "list-todo", title: "Bob's card" });
    await using live = await launchChromium();
    await using alice = await openPage(live, server, {
      email: ALICE,
      tuning: { historyPageSize: 3 },
    });
    await waitLive(alice);
    const page = alice.page;
    const panel = page.locator("#activity-panel");
    const entries = panel.locator(".activity-item");

    const opener = page.getByRole("button", { name: "Activity", exact: true });
    await opener.click();
    await panel.waitFor();
    await waitFor(async () => await entries.count() === 3, { what: "the first page of three" });
    assert.match(await entries.first().textContent() ?? "", /Bob added “Bob's card” to To do/);

    // Live: Bob moves a card; it comes on top.
    await call(server, bobToken, "PATCH", "/tasks/task-1/move", {
      listId: "list-done",
      position: 0,
    });
    await panel.locator(".activity-item", {
      hasText: "Bob moved “Design the board layout” to Done",
    })
      .waitFor({ timeout: 3000 });
    assert.match(await entries.first().textContent() ?? "", /Bob moved “Design the board layout”/);
    assert.match(await entries.first().locator("time").textContent() ?? "", /just now/);
    assert.ok(await entries.first().locator("time").getAttribute("title"), "the exact time");

    // Load older: the next page goes below.
    const before = await entries.count();
    await panel.getByRole("button", { name: "Load older" }).click();
    await waitFor(async () => await entries.count() > before, { what: "an older page" });
    await panel.locator(".activity-item", { hasText: "Carol added “First” to To do" }).waitFor();
    await alice.screenshot("history-activity-panel");

    // By person: only Bob's changes.
    await panel.getByLabel("Person").selectOption({ label: "Bob" });
    const sentences = panel.locator(".activity-text");
    await waitFor(async () => {
      const texts = await sentences.allTextContents();
      return texts.length === 2 && texts.every((t) => t.startsWith("Bob "));
    }, { what: "Bob's two changes" });

    // The owner may revert anyone's change: Bob's move goes back.
    await panel.getByRole("button", { name: /^Revert: Bob moved/ }).click();
    await column(page, "To do").locator(".card", { hasText: "Design the board layout" })
      .waitFor({ timeout: 3000 });
    await panel.locator(".activity-undone").first().waitFor();

    // Escape closes it and focus goes back to its button.
    await panel.getByLabel("Person").focus();
    await page.keyboard.press("Escape"); // closes the select's own list, if open
    await page.keyboard.press("Escape");
    await panel.waitFor({ state: "hidden" });
    assert.equal(await opener.getAttribute("aria-expanded"), "false");
    assert.equal(
      await page.evaluate("document.activeElement && document.activeElement.textContent"),
      "Activity",
    );

    // A card's history, from its editor.
    await card(page, "Design the board layout").focus();
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "History of this card" }).click();
    await panel.waitFor();
    await panel.getByText("History of “Design the board layout”").waitFor();
    await waitFor(async () => {
      const texts = await sentences.allTextContents();
      return texts.length >= 2 && texts.every((t) => /Design the board layout/.test(t));
    }, { what: "the card's own history: at least the move and its revert" });
    assertNoProblems(alice, [/WebSocket/]);
  },
});

Deno.test({
  name: "the trash panel restores a deleted list with its cards, for everyone",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await using bob = await openPage(live, server, { email: BOB });
    await waitLive(alice);
    await waitLive(bob);
    const titles = (user: UserPage) => user.page.locator(".column-title").allTextContents();

    await column(alice.page, "In progress").locator("summary").click();
    await alice.page.getByRole("button", { name: "Delete list…" }).click();
    await alice.page.getByRole("button", { name: "Delete list", exact: true }).click();
    await waitFor(async () => (await titles(bob)).join() === "To do,Done", {
      what: "the list to go from Bob's window",
    });

    const trashButton = alice.page.getByRole("button", { name: "Trash", exact: true });
    await trashButton.click();
    const panel = alice.page.locator("#trash-panel");
    const item = panel.locator(".trash-item", { hasText: "In progress" });
    await item.waitFor();
    assert.match(await item.textContent() ?? "", /List · 1 card · deleted by you/);
    await alice.screenshot("history-trash-panel");
    await item.getByRole("button", { name: "Restore “In progress”" }).click();

    await waitFor(async () => (await titles(bob)).join() === "To do,In progress,Done", {
      what: "the list back in its place in Bob's window",
    });
    await column(bob.page, "In progress").locator(".card", { hasText: "Set up the event log" })
      .waitFor();
    await column(alice.page, "In progress").locator(".card", { hasText: "Set up the event log" })
      .waitFor();
    await panel.getByText("The trash is empty.").waitFor();
    const snapshot = await (await server.request("/boards/board-1")).json();
    assert.deepEqual(
      snapshot.lists.map((l: { title: string }) => l.title),
      ["To do", "In progress", "Done"],
    );
    assertNoProblems(alice, [/WebSocket/]);
    assertNoProblems(bob, [/WebSocket/]);
  },
});

Deno.test({
  name:
    "the while-you-were-away note counts the changes another user made while the first was away",
  ignore,
  async fn() {
    await using server = await startTestServer();
    const aliceToken = await server.login(ALICE);
    const bobToken = await server.login(BOB);
    const carolToken = await server.login(CAROL);
    // Something on the board's log before Alice's first visit.
    await call(server, carolToken, "POST", "/tasks", { listId: "list-todo", title: "Before" });
    await using live = await launchChromium();
    await using alice = await openPage(live, server, {
      email: ALICE,
      tuning: { seenDebounceMs: 100 },
    });
    await waitLive(alice);
    const page = alice.page;
    // Nothing was seen before: no note on a first visit.
    assert.equal(await page.locator(".away").count(), 0);
    const cursor = (await (await server.request("/boards/board-1")).json()).cursor as number;
    await waitFor(async () => (await summary(server, aliceToken)).seenCursor >= cursor, {
      what: "Alice's seen cursor stored",
    });

    // Alice leaves the board; Bob changes three cards meanwhile.
    await page.getByRole("link", { name: "Liveboard: your boards" }).click();
    await page.locator(".boards-page").waitFor();
    await call(server, bobToken, "POST", "/tasks", { listId: "list-todo", title: "Away one" });
    await call(server, bobToken, "POST", "/tasks", { listId: "list-done", title: "Away two" });
    await call(server, bobToken, "PATCH", "/tasks/task-2", { title: "Onboarding guide v2" });
    assert.equal((await summary(server, aliceToken)).unread, 3);

    // Her boards page counts them on the tile.
    await page.reload();
    const tile = page.locator(".board-tile", { hasText: "Product Board" });
    await tile.locator(".board-tile-unread").waitFor();
    assert.match(await tile.locator(".board-tile-unread").textContent() ?? "", /^3/);
    await alice.screenshot("history-unread-badge");

    await tile.click();
    const note = page.locator(".away");
    await note.waitFor({ timeout: 3000 });
    assert.equal(
      await note.locator(".away-title").textContent(),
      "While you were away: 3 changes by Bob — 3 cards",
    );
    assert.match(await note.locator(".away-people").textContent() ?? "", /Bob: 3 changes/);
    assert.equal(await note.locator(".away-cards li").count(), 3);
    await alice.screenshot("history-away-note");

    // A card's line opens that card's history.
    await note.getByRole("button", { name: "History of “Onboarding guide v2”" }).click();
    const panel = page.locator("#activity-panel");
    await panel.getByText("History of “Onboarding guide v2”").waitFor();
    await panel.locator(".activity-item", {
      hasText: "Bob renamed “Write the onboarding guide” to “Onboarding guide v2”",
    }).waitFor();

    // Seen now: the tile's count goes, and the note can be dismissed.
    const now = (await (await server.request("/boards/board-1")).json()).cursor as number;
    await waitFor(async () => (await summary(server, aliceToken)).seenCursor >= now, {
      what: "the seen cursor moved on",
    });
    assert.equal((await summary(server, aliceToken)).unread, 0);
    await note.getByRole("button", { name: "Dismiss the summary of changes" }).click();
    await note.waitFor({ state: "detached" });
    assertNoProblems(alice, [/WebSocket/]);
  },
});
