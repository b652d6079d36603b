/**
 * The browser client in a real Chromium: two users on one board see each other's changes,
 * presence, typing and cursors; offline edits queue and replay; the transport chain falls back
 * and climbs back; refusals roll back; user text stays text. Screenshots go to test-output/.
 */
import assert from "node:assert/strict";
import { CLOSE_REASONS } from "../src/realtime/close_reasons.ts";
import {
  card,
  chromiumAvailable,
  column,
  launchChromium,
  openPage,
  type UserPage,
  waitLive,
} from "./browser_helpers.ts";
import { skipUnless, startTestServer, type TestServer, waitFor } from "./helpers.ts";

const ignore = skipUnless(chromiumAvailable, "Chromium (/usr/bin/chromium)");
const ALICE = "alice@example.com";
const BOB = "bob@example.com";

/** A task as the server has it now. */
async function serverTask(server: TestServer, id: string) {
  const response = await server.request(`/tasks/${id}`);
  return await response.json();
}

async function serverTasks(server: TestServer, boardId = "board-1") {
  const response = await server.request(`/boards/${boardId}/tasks`);
  return await response.json() as { id: string; title: string; listId: string }[];
}

/** Creates a task over REST (as the demo guest unless a token is given). */
async function createTask(
  server: TestServer,
  fields: Record<string, unknown>,
  token?: string,
): Promise<{ id: string; title: string }> {
  const response = await server.request("/tasks", { method: "POST", json: fields, token });
  const body = await response.json();
  assert.equal(response.status, 201, JSON.stringify(body));
  return body;
}

/** No console errors or CSP violations, apart from the expected ones. */
function assertNoProblems(user: UserPage, allowed: RegExp[] = []) {
  const problems = user.problems.filter((p) => !allowed.some((a) => a.test(p)));
  assert.deepEqual(problems, []);
}

Deno.test({
  name: "a card created, moved, edited and deleted in one window appears in the other within 1 s",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await using bob = await openPage(live, server, { email: BOB });
    await waitLive(alice);
    await waitLive(bob);

    await alice.page.getByLabel("New card in To do").fill("Ship the beta");
    await alice.page.getByLabel("New card in To do").press("Enter");
    await card(bob.page, "Ship the beta").waitFor({ timeout: 1000 });
    // Until the ack, the creator sees the pending card beside the one the live event brought
    // (known flash; see the list test below).
    await waitFor(async () => await card(alice.page, "Ship the beta").count() === 1, {
      what: "one card for the creator",
    });

    await card(alice.page, "Ship the beta").dragTo(column(alice.page, "Done").locator(".cards"));
    await column(bob.page, "Done").locator(".card", { hasText: "Ship the beta" })
      .waitFor({ timeout: 1000 });

    await card(alice.page, "Ship the beta").hover();
    await alice.page.getByRole("button", { name: "Edit “Ship the beta”" }).click();
    await alice.page.getByLabel("Title", { exact: true }).fill("Ship the beta on Friday");
    await alice.page.getByLabel("Description").fill("Release notes first.");
    await alice.page.getByLabel("Assignee").selectOption({ label: "Bob" });
    await alice.page.getByRole("button", { name: "Save" }).click();
    const edited = card(bob.page, "Ship the beta on Friday");
    await edited.waitFor({ timeout: 1000 });
    assert.equal(await edited.locator(".card-description").textContent(), "Release notes first.");
    assert.equal(await edited.locator(".card-assignee").getAttribute("title"), "Assigned to Bob");
    await alice.screenshot("two-users-alice");
    await bob.screenshot("two-users-bob");

    const created = (await serverTasks(server)).find((t) => t.title === "Ship the beta on Friday");
    assert.equal(created?.listId, "list-done");

    await card(alice.page, "Ship the beta on Friday").hover();
    await alice.page.getByRole("button", { name: "Delete “Ship the beta on Friday”" }).click();
    await card(bob.page, "Ship the beta on Friday").waitFor({ state: "detached", timeout: 1000 });
    assert.equal((await serverTask(server, created!.id)).error?.code, "not_found");
    assertNoProblems(alice, [/WebSocket/]);
    assertNoProblems(bob, [/WebSocket/]);
  },
});

Deno.test({
  name: "a change refused by the server is rolled back and the reason shown",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await waitLive(alice);

    await card(alice.page, "Pick a name").focus();
    await alice.page.keyboard.press("Enter");
    // A control character: the form lets it through (its own check is the shared text rule,
    // tests/browser_forms_test.ts), the server refuses it (400 validation_failed).
    await alice.page.getByLabel("Title", { exact: true }).fill("Bell \u0007 name");
    await alice.page.getByRole("button", { name: "Save" }).click();
    const message = alice.page.locator(".toast-error");
    await message.waitFor({ timeout: 3000 });
    assert.match(await message.textContent() ?? "", /refused and undone.*control characters/);
    await card(alice.page, "Pick a name").waitFor({ timeout: 1000 });
    assert.equal((await serverTask(server, "task-4")).title, "Pick a name");
    assert.equal((await alice.badge()).pending, 0);
    await alice.screenshot("refusal-rolled-back");
    assertNoProblems(alice, [/WebSocket/, /status of 400/]);
  },
});

Deno.test({
  name: "a task titled with HTML renders as text and runs nothing",
  ignore,
  async fn() {
    await using server = await startTestServer();
    const title = "<img src=x onerror=alert(1)>";
    await createTask(server, {
      listId: "list-todo",
      title,
      description: "<script>alert(2)</script><b>bold</b>",
    });
    await using live = await launchChromium();
    await using guest = await openPage(live, server);
    await waitLive(guest);
    const hostile = card(guest.page, title);
    await hostile.waitFor();
    assert.equal(
      await hostile.locator(".card-description").textContent(),
      "<script>alert(2)</script><b>bold</b>",
    );
    // Titles and descriptions hold text nodes only: no element was parsed out of them.
    const parsed = guest.page.locator(".card-title *, .card-description *, main img, main script");
    assert.equal(await parsed.count(), 0);

    // Live too: the same text arriving as an event.
    await createTask(server, { listId: "list-done", title: "<svg onload=alert(3)>" });
    await card(guest.page, "<svg onload=alert(3)>").waitFor({ timeout: 1000 });
    assert.equal(await parsed.count(), 0);
    const page = await guest.page.request.get("/");
    assert.match(page.headers()["content-security-policy"], /script-src 'self'/);
    await guest.screenshot("html-as-text");
    assertNoProblems(guest, [/WebSocket/]);
  },
});

Deno.test({
  name: "a focused card moves by keyboard: Space picks it up, arrows carry it, Space drops it",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using guest = await openPage(live, server);
    await waitLive(guest);

    const guide = card(guest.page, "Write the onboarding guide");
    await guide.focus();
    await new Promise((resolve) => setTimeout(resolve, 300)); // the ring fades in (transition)
    const focusRing = await guide.evaluate((el) =>
      (globalThis as unknown as { getComputedStyle(e: unknown): { boxShadow: string } })
        .getComputedStyle(el).boxShadow
    );
    assert.match(focusRing, /rgb\(79, 70, 229\)/, "the focus ring in the accent colour");
    await guest.page.keyboard.press("Space");
    await guest.page.keyboard.press("ArrowRight");
    await guest.page.keyboard.press("ArrowUp");
    assert.match(await guest.page.locator("#announcer").textContent() ?? "", /In progress/);
    await guest.page.keyboard.press("Space");
    await waitFor(async () => (await serverTask(server, "task-2")).listId === "list-in-progress", {
      what: "the keyboard move on the server",
    });
    const moved = await serverTask(server, "task-2");
    assert.equal(moved.position, 0);
    // Focus stays on the card it moved, so the next key press carries on.
    assert.equal(
      await guest.page.evaluate(() =>
        (globalThis as unknown as { document: { activeElement: { dataset: { taskId: string } } } })
          .document.activeElement.dataset.taskId
      ),
      "task-2",
    );
    await guest.page.keyboard.press("Alt+ArrowRight");
    await waitFor(async () => (await serverTask(server, "task-2")).listId === "list-done", {
      what: "the Alt+Arrow move on the server",
    });
    await guest.screenshot("keyboard-move");
    assertNoProblems(guest, [/WebSocket/]);
  },
});

Deno.test({
  name:
    "an offline edit is queued across a reload, replayed on reconnect, and a conflict is reported",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await using bob = await openPage(live, server, { email: BOB });
    await waitLive(alice);
    await waitLive(bob);

    await alice.context.setOffline(true);
    await alice.page.waitForSelector('#badge[data-state="offline"]', { timeout: 3000 });

    // A clean edit, and one Bob will contradict while Alice is away.
    await card(alice.page, "Write the onboarding guide").focus();
    await alice.page.keyboard.press("Enter");
    await alice.page.getByLabel("Title", { exact: true }).fill(
      "Write the onboarding guide (offline)",
    );
    await alice.page.getByRole("button", { name: "Save" }).click();
    await card(alice.page, "Set up the event log").focus();
    await alice.page.keyboard.press("Enter");
    await alice.page.getByLabel("Title", { exact: true }).fill("Event log: Alice's title");
    await alice.page.getByRole("button", { name: "Save" }).click();
    await alice.page.waitForSelector('#badge[data-pending="2"]', { timeout: 3000 });
    assert.match((await alice.badge()).text, /2 changes pending/);
    assert.equal(await card(alice.page, "Write the onboarding guide (offline)").count(), 1);
    await alice.screenshot("offline-pending");

    const bobsEdit = await server.request("/tasks/task-3", {
      method: "PATCH",
      json: { title: "Event log: Bob's title" },
      token: await server.login(BOB),
    });
    assert.equal(bobsEdit.status, 200);
    await bobsEdit.body?.cancel();
    assert.equal((await serverTask(server, "task-2")).title, "Write the onboarding guide");

    // Close the page while offline: the queue must survive in localStorage.
    await alice.page.close();
    await alice.context.setOffline(false);
    const again = await alice.context.newPage();
    await again.goto("/#/board/board-1");

    await waitFor(
      async () =>
        (await serverTask(server, "task-2")).title === "Write the onboarding guide (offline)",
      { what: "the queued edit on the server", timeoutMs: 5000 },
    );
    await card(bob.page, "Write the onboarding guide (offline)").waitFor({ timeout: 1000 });
    const conflict = again.locator(".toast-conflict");
    await conflict.waitFor({ timeout: 3000 });
    assert.match(await conflict.textContent() ?? "", /Kept their title "Event log: Bob's title"/);
    assert.match(await conflict.textContent() ?? "", /yours was "Event log: Alice's title"/);
    assert.equal((await serverTask(server, "task-3")).title, "Event log: Bob's title");
    await card(again, "Event log: Bob's title").waitFor({ timeout: 1000 });
    await again.waitForSelector('#badge[data-pending="0"]');
    assert.equal(
      await again.evaluate(() => localStorage.getItem("liveboard:outbox:user-1")),
      "[]",
    );
    await again.screenshot({ path: "test-output/offline-replayed.png" });
  },
});

Deno.test({
  name: "with WebSocket blocked the client runs on SSE, then on long polling, losing no event",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using guest = await openPage(live, server, {
      tuning: { probeMs: 600, probeMaxMs: 600 },
      before: async (_context, page) => {
        await page.routeWebSocket(/\/ws$/, (ws) => ws.close({ code: 1011, reason: "blocked" }));
      },
    });
    await waitLive(guest, "sse");
    assert.match((await guest.badge()).text, /WebSocket unavailable from here/);

    const bob = await server.login(BOB);
    const titles: string[] = [];
    const create = async (title: string) => {
      titles.push(title);
      await createTask(server, { listId: "list-todo", title }, bob);
    };
    await create("Over SSE 1");
    await create("Over SSE 2");
    await card(guest.page, "Over SSE 2").waitFor({ timeout: 1000 });

    // Block SSE and drop the open stream (with a reconnect hint, as a restarting proxy would).
    await guest.page.route(/\/events/, (route) => route.abort());
    server.services.registry.closeAll(CLOSE_REASONS.internalError);
    await create("While switching 1");
    await create("While switching 2");
    await waitLive(guest, "longpoll");
    assert.match((await guest.badge()).text, /WebSocket, SSE unavailable from here/);
    await create("Over long polling");
    for (const title of titles) {
      await card(guest.page, title).waitFor({ timeout: 2000 });
    }
    for (const title of titles) assert.equal(await card(guest.page, title).count(), 1, title);
    await guest.screenshot("fallback-long-polling");

    // SSE works again: the client climbs back to it by itself.
    await guest.page.unroute(/\/events/);
    await waitLive(guest, "sse", 5000);
    await create("Back on SSE");
    await card(guest.page, "Back on SSE").waitFor({ timeout: 1000 });
    for (const title of titles) assert.equal(await card(guest.page, title).count(), 1, title);
  },
});

Deno.test({
  name: "transports switched off on the server: the client starts on the next one and says so",
  ignore,
  async fn() {
    await using server = await startTestServer({ transports: ["longpoll", "poll"] });
    await using live = await launchChromium();
    await using guest = await openPage(live, server);
    await waitLive(guest, "longpoll");
    assert.match((await guest.badge()).text, /WebSocket, SSE switched off on this server/);
    await createTask(server, { listId: "list-todo", title: "Held and answered" });
    await card(guest.page, "Held and answered").waitFor({ timeout: 1000 });
    await guest.screenshot("transports-switched-off");
    assertNoProblems(guest);
  },
});

Deno.test({
  name: "short polling alone still carries every change",
  ignore,
  async fn() {
    await using server = await startTestServer({ transports: ["poll"] });
    await using live = await launchChromium();
    await using guest = await openPage(live, server);
    await waitLive(guest, "poll");
    await createTask(server, { listId: "list-done", title: "Polled" });
    await card(guest.page, "Polled").waitFor({ timeout: 1000 });
    assertNoProblems(guest);
  },
});

Deno.test({
  name: "switching to Alice in demo mode, then a revoked session, stops retrying and shows sign-in",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using user = await openPage(live, server);
    await waitLive(user);
    assert.equal(await user.page.locator(".account-name").textContent(), "Demo Guest");
    await user.page.locator(".account-button").click();
    await user.page.getByRole("button", { name: "Alice" }).click();
    await user.page.locator(".account-name", { hasText: "Alice" }).waitFor();
    await waitLive(user);

    // The session ends elsewhere (another tab signs out): the live link is closed for good.
    const signOut = await user.page.request.post("/logout");
    assert.equal(signOut.status(), 200);
    await user.page.getByRole("heading", { name: "Sign in to Liveboard" }).waitFor({
      timeout: 3000,
    });
    assert.match(await user.page.locator(".notice").textContent() ?? "", /session has ended/);
    const requests: string[] = [];
    user.page.on("request", (request) => requests.push(request.url()));
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.deepEqual(requests.filter((url) => /events|poll|updates|\/ws/.test(url)), []);
    await user.screenshot("signed-out");
  },
});

/** The user ids of the presence avatars, in order. */
const avatars = (user: UserPage) =>
  user.page.locator("#presence .avatar").evaluateAll((items) =>
    items.map((item) => (item as unknown as { dataset: { userId: string } }).dataset.userId)
  );

Deno.test({
  name: "presence shows one avatar per user however many tabs, and drops a user whose page closes",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await using bob = await openPage(live, server, { email: BOB });
    await waitLive(alice, "websocket");
    await waitLive(bob, "websocket");
    await waitFor(async () => (await avatars(alice)).length === 2, { what: "two avatars" });
    assert.deepEqual(await avatars(alice), ["user-1", "user-2"]);
    assert.deepEqual((await avatars(bob)).sort(), ["user-1", "user-2"]);

    const bobsSecondTab = await bob.context.newPage();
    await bobsSecondTab.goto("/#/board/board-1");
    await bobsSecondTab.waitForSelector('#badge[data-state="live"][data-transport="websocket"]');
    await bobsSecondTab.waitForSelector("#presence .avatar >> nth=1");
    assert.deepEqual(await avatars(alice), ["user-1", "user-2"]);
    await alice.screenshot("presence-two-users");

    await bobsSecondTab.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await avatars(alice), ["user-1", "user-2"], "Bob still has a tab open");
    await bob.page.close();
    await waitFor(async () => (await avatars(alice)).length === 1, {
      what: "Bob's avatar to go",
      timeoutMs: 2000,
    });
    assert.deepEqual(await avatars(alice), ["user-1"]);
    assertNoProblems(alice);
  },
});

Deno.test({
  name: "typing and the live cursor of one user appear in the other window, and the cursor fades",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await using bob = await openPage(live, server, { email: BOB });
    await waitLive(alice, "websocket");
    await waitLive(bob, "websocket");
    await bob.page.waitForSelector('#presence .avatar[data-user-id="user-1"]');

    await card(alice.page, "Pick a name").focus();
    await alice.page.keyboard.press("Enter");
    await alice.page.getByLabel("Description", { exact: true }).pressSequentially(" Or is it?");
    const typing = card(bob.page, "Pick a name").locator(".card-typing");
    await typing.waitFor({ timeout: 1000 });
    assert.equal(await typing.textContent(), "Alice is typing…");

    await alice.page.getByRole("button", { name: "Cancel" }).click();
    await typing.waitFor({ state: "hidden", timeout: 1000 });

    const target = await card(alice.page, "Design the board layout").boundingBox();
    await alice.page.mouse.move(target!.x + 40, target!.y + 20);
    await alice.page.mouse.move(target!.x + 60, target!.y + 30, { steps: 4 });
    const cursor = bob.page.locator('.cursor[data-user-id="user-1"]');
    await cursor.waitFor({ timeout: 1000 });
    assert.equal(await cursor.locator(".cursor-name").textContent(), "Alice");
    // Positioned through the CSSOM (allowed by style-src 'self'), near the same card for Bob.
    const transform = await cursor.evaluate((el) =>
      (el as unknown as { style: { transform: string } }).style.transform
    );
    assert.match(String(transform), /^translate\(\d+px, \d+px\)$/);
    const bobsCard = await card(bob.page, "Design the board layout").boundingBox();
    const drawn = await cursor.boundingBox();
    assert.ok(Math.abs(drawn!.x - (bobsCard!.x + 60)) < 30, `cursor x ${drawn!.x}`);
    await bob.screenshot("typing-and-cursor");
    await bob.page.waitForSelector('.cursor.idle[data-user-id="user-1"]', { timeout: 3000 });
    assertNoProblems(alice);
    assertNoProblems(bob);
  },
});

Deno.test({
  name: "a client whose cursor fell out of the retained log refetches the board and carries on",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using guest = await openPage(live, server);
    await waitLive(guest);

    const snapshots: string[] = [];
    guest.page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/boards/board-1") snapshots.push(request.url());
    });
    await guest.context.setOffline(true);
    await guest.page.waitForSelector('#badge[data-state="offline"]', { timeout: 3000 });
    await createTask(server, { listId: "list-todo", title: "Made while away 1" });
    await createTask(server, { listId: "list-todo", title: "Made while away 2" });
    await createTask(server, { listId: "list-todo", title: "Made while away 3" });
    assert.ok(await server.services.store.prune({ maxCount: 1, maxAgeMs: 3600_000 }) > 0);
    await guest.context.setOffline(false);

    for (const n of [1, 2, 3]) {
      await card(guest.page, `Made while away ${n}`).waitFor({ timeout: 3000 });
    }
    await waitLive(guest);
    assert.equal(snapshots.length, 1, "the snapshot was fetched again on resync");
    await createTask(server, { listId: "list-done", title: "Live after the resync" });
    await card(guest.page, "Live after the resync").waitFor({ timeout: 1000 });
    for (const n of [1, 2, 3]) {
      assert.equal(await card(guest.page, `Made while away ${n}`).count(), 1);
    }
    assertNoProblems(guest, [/WebSocket/, /ERR_INTERNET_DISCONNECTED/]);
  },
});

Deno.test({
  name: "lists are added, renamed, moved and deleted, and the other window follows",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await using bob = await openPage(live, server, { email: BOB });
    await waitLive(alice);
    await waitLive(bob);
    const titles = (user: UserPage) => user.page.locator(".column-title").allTextContents();

    await alice.page.getByLabel("New list title").fill("Review");
    await alice.page.getByLabel("New list title").press("Enter");
    await column(bob.page, "Review").waitFor({ timeout: 1000 });
    // Until the POST answers, the creator sees the pending column beside the one the live event
    // brought (known flash; matching them needs the idempotency keys of the hardening issue).
    await waitFor(async () => await column(alice.page, "Review").count() === 1, {
      what: "one Review column for the creator",
    });

    await column(alice.page, "Review").locator("summary").click();
    await alice.page.getByRole("button", { name: "Rename list" }).click();
    await alice.page.getByLabel("New name for list “Review”").fill("Code review");
    await alice.page.getByLabel("New name for list “Review”").press("Enter");
    await column(bob.page, "Code review").waitFor({ timeout: 1000 });

    await column(alice.page, "Code review").locator("summary").click();
    await alice.page.getByRole("button", { name: "Move list left" }).click();
    await waitFor(async () => (await titles(bob)).join() === "To do,In progress,Code review,Done", {
      what: "the list order in Bob's window",
      timeoutMs: 1000,
    });

    await column(alice.page, "In progress").locator("summary").click();
    await alice.page.getByRole("button", { name: "Delete list…" }).click();
    await alice.page.getByRole("button", { name: "Delete list", exact: true }).click();
    await waitFor(async () => (await titles(bob)).join() === "To do,Code review,Done", {
      what: "the list to go from Bob's window",
      timeoutMs: 1000,
    });
    assert.equal(await card(bob.page, "Set up the event log").count(), 0);
    const snapshot = await (await server.request("/boards/board-1")).json();
    assert.deepEqual(
      snapshot.lists.map((l: { title: string }) => l.title),
      ["To do", "Code review", "Done"],
    );
    await bob.screenshot("lists-edited");
    assertNoProblems(alice, [/WebSocket/]);
  },
});

Deno.test({
  name: "a card whose answer was lost after the server made it is retried once and appears once",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await waitLive(alice);

    // The first POST reaches the server and commits; its answer is then lost on the way back,
    // as when a connection resets after COMMIT. Later ones pass.
    let lost = 0;
    const keys: (string | undefined)[] = [];
    await alice.page.route("**/tasks", async (route) => {
      const request = route.request();
      if (request.method() !== "POST") return route.continue();
      keys.push(request.headers()["idempotency-key"]);
      if (lost++ > 0) return route.continue();
      await route.fetch(); // done on the server...
      await route.abort("connectionreset"); // ...but the page never hears of it
    });
    const input = alice.page.getByLabel("New card in To do");
    await input.fill("Sent once, answered late");
    await input.press("Enter");

    await waitFor(() => Promise.resolve(lost >= 2), {
      what: "the outbox retrying",
      timeoutMs: 10_000,
    });
    await alice.page.waitForSelector('#badge[data-pending="0"]', { timeout: 5000 });
    assert.equal(keys.length, 2);
    assert.ok(keys[0], "the change carries an idempotency key");
    assert.equal(keys[1], keys[0], "the retry carries the same key");
    const made = (await serverTasks(server)).filter((t) => t.title === "Sent once, answered late");
    assert.equal(made.length, 1, "one card on the server");
    await alice.page.waitForTimeout(300); // any duplicate would arrive as an event by now
    assert.equal(await card(alice.page, "Sent once, answered late").count(), 1, "one on screen");
    assertNoProblems(alice, [/WebSocket/, /ERR_CONNECTION_RESET/, /Failed to load resource/]);
  },
});

Deno.test({
  name: "signing in as someone else in another tab moves this tab to them too",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await waitLive(alice);
    assert.match(await alice.page.locator("#account").textContent() ?? "", /Alice/);
    // A second tab of the same browser (same cookies) signs in as Bob.
    const other = await alice.context.newPage();
    await other.goto("/#/");
    await other.evaluate(async () => {
      await fetch("/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "bob@example.com", password: "liveboard" }),
      });
    });
    await other.reload(); // reloading from inside evaluate raced its own answer
    await other.locator("#account", { hasText: "Bob" }).waitFor({ timeout: 5000 });
    // The first tab follows without being touched, so nothing it sends goes out under a name
    // it does not show.
    await alice.page.locator("#account", { hasText: "Bob" }).waitFor({ timeout: 5000 });
    await other.close();
  },
});

Deno.test({
  name: "a long description that lost a conflict is kept whole, across a reload, until dismissed",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: ALICE });
    await waitLive(alice);
    const mine = "Alice's plan. ".repeat(72).trim(); // about 1,000 characters

    await alice.context.setOffline(true);
    await alice.page.waitForSelector('#badge[data-state="offline"]', { timeout: 3000 });
    await card(alice.page, "Set up the event log").focus();
    await alice.page.keyboard.press("Enter");
    await alice.page.getByLabel("Description").fill(mine);
    await alice.page.getByRole("button", { name: "Save" }).click();
    // Meanwhile Bob rewrites it online.
    const bobs = await server.request("/tasks/task-3", {
      method: "PATCH",
      json: { description: "Bob's plan." },
      token: await server.login(BOB),
    });
    assert.equal(bobs.status, 200);
    await bobs.body?.cancel();
    await alice.context.setOffline(false);

    const record = alice.page.locator(".conflict-record");
    await record.waitFor({ timeout: 5000 });
    assert.equal(await record.locator("textarea").inputValue(), mine, "the whole text, not a cut");
    assert.equal((await serverTask(server, "task-3")).description, "Bob's plan.");
    // It outlives the short toast and a reload.
    await alice.page.reload();
    await record.waitFor({ timeout: 5000 });
    assert.equal(await record.locator("textarea").inputValue(), mine);
    await alice.screenshot("conflict-kept");
    await record.getByRole("button", { name: "Dismiss" }).click();
    assert.equal(await record.count(), 0);
    assert.equal(
      await alice.page.evaluate(() => localStorage.getItem("liveboard:conflicts:user-1")),
      "[]",
    );
  },
});
