/**
 * A long list in the browser: the first hundred cards are drawn, the rest behind "Show more"
 * (pressed by a click, by scrolling it into view, or by the arrow keys past the last card); live events
 * keep landing in the right place meanwhile.
 */
import assert from "node:assert/strict";
import {
  chromiumAvailable,
  column,
  launchChromium,
  openPage,
  waitLive,
} from "./browser_helpers.ts";
import { skipUnless, startTestServer } from "./helpers.ts";

const ignore = skipUnless(chromiumAvailable, "Chromium (/usr/bin/chromium)");

Deno.test({
  name:
    "a list of 230 cards shows 100 and a Show more button; more appear as they scroll into view, by keyboard too",
  ignore,
  async fn() {
    await using server = await startTestServer();
    const { store } = server.services;
    const before = (await store.tasksForBoard("board-1")).filter((t) => t.listId === "list-todo")
      .length;
    for (let i = 0; i < 230 - before; i++) {
      await store.createTask("user-1", { listId: "list-todo", title: `Bulk card ${i}` });
    }
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: "alice@example.com" });
    await waitLive(alice);
    const todo = column(alice.page, "To do");
    const cards = todo.locator(".card");
    await cards.nth(99).waitFor({ state: "attached" });
    assert.equal(await cards.count(), 100);
    assert.equal(await todo.locator(".column-count").textContent(), "230");
    const more = todo.locator(".cards-more button");
    assert.equal(await more.textContent(), "Show 100 more (130 not shown)");
    // Scrolled into view, it shows the next hundred by itself.
    await more.scrollIntoViewIfNeeded();
    await cards.nth(199).waitFor({ state: "attached" });
    assert.equal(await cards.count(), 200);
    assert.equal(await more.textContent(), "Show 30 more (30 not shown)");

    // Arrow keys walk past the last shown card: the next page appears and gets the focus.
    await cards.nth(199).focus();
    await alice.page.keyboard.press("ArrowDown");
    // (A string: the tests are type-checked without the DOM library.)
    await alice.page.waitForFunction(
      `[...document.querySelectorAll(".column")[0].querySelectorAll(".card")]
        .indexOf(document.activeElement) === 200`,
    );
    assert.equal(await cards.count(), 230);
    assert.equal(await todo.locator(".cards-more").count(), 0, "nothing left to show");

    // A live card at the top still lands at the top.
    await store.createTask("user-2", { listId: "list-todo", title: "Live on top", position: 0 });
    await todo.locator(".card").first().filter({ hasText: "Live on top" }).waitFor();
    assert.deepEqual(alice.problems, []);
  },
});
