/**
 * Time travel in a real Chromium (issue 11): from the activity panel, "View board as of here"
 * on an earlier change shows the whole board as it was then (the old title, the old place of a
 * card, the old list name), read-only; "◀ Older", "Newer ▶" and the arrow keys step one change
 * at a time (history read in pages of two); Escape goes back to live with focus on the entry it
 * was opened from; keyboard undo does nothing meanwhile. The view's text meets WCAG AA contrast
 * in light and dark. Screenshots go to test-output/time-travel-*.png.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  card,
  chromiumAvailable,
  column,
  launchChromium,
  openPage,
  type UserPage,
  waitLive,
} from "./browser_helpers.ts";
import { skipUnless, startTestServer, type TestServer, withEvents } from "./helpers.ts";

const ignore = skipUnless(chromiumAvailable, "Chromium (/usr/bin/chromium)");
const ALICE = "alice@example.com"; // user-1, owner of board-1
const BOB = "bob@example.com"; // user-2, member of board-1
const CAROL = "carol@example.com"; // user-3, member of board-1

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

/** The card titles of each list of the time-travel view, by list title. */
async function shownBoard(page: Page): Promise<Record<string, string[]>> {
  return await page.evaluate(`(() => {
    const board = {};
    for (const list of document.querySelectorAll("dialog.time-travel .time-travel-list")) {
      const heading = list.querySelector(".time-travel-list-title");
      const title = heading.firstChild.textContent;
      board[title] = [...list.querySelectorAll(".time-travel-card-title")]
        .map((card) => card.textContent);
    }
    return board;
  })()`) as Record<string, string[]>;
}

/**
 * Every piece of visible text in the view whose contrast with what is behind it is under AA
 * (4.5:1; 3:1 for large text), as "text: ratio".
 */
async function lowContrast(page: Page): Promise<string[]> {
  return await page.evaluate(`(() => {
    const parse = (value) => {
      const m = value.match(/rgba?\\(([^)]+)\\)/);
      if (!m) return null;
      const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
      return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
    };
    const channel = (c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    };
    const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
    const over = (top, bottom) => ({
      r: top.r * top.a + bottom.r * (1 - top.a),
      g: top.g * top.a + bottom.g * (1 - top.a),
      b: top.b * top.a + bottom.b * (1 - top.a),
      a: 1,
    });
    const background = (element) => {
      const layers = [];
      for (let e = element; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0) {
          layers.push(c);
          if (c.a >= 1) break;
        }
      }
      let color = { r: 255, g: 255, b: 255, a: 1 };
      for (const layer of layers.reverse()) color = over(layer, color);
      return color;
    };
    const failures = [];
    const dialog = document.querySelector("dialog.time-travel");
    for (const element of dialog.querySelectorAll("*")) {
      const text = [...element.childNodes]
        .filter((n) => n.nodeType === 3)
        .map((n) => n.textContent.trim())
        .join("");
      if (!text || element.closest(".visually-hidden")) continue;
      if (!element.getClientRects().length) continue;
      const style = getComputedStyle(element);
      const bg = background(element);
      const fg = over(parse(style.color), bg);
      const [light, dark] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      const ratio = (light + 0.05) / (dark + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) failures.push(text.slice(0, 40) + ": " + ratio.toFixed(2));
    }
    return failures;
  })()`) as string[];
}

/** No console errors or CSP violations, apart from the expected ones. */
function assertNoProblems(user: UserPage, allowed: RegExp[] = []) {
  const problems = user.problems.filter((p) => !allowed.some((a) => a.test(p)));
  assert.deepEqual(problems, []);
}

Deno.test({
  name:
    "time travel shows the board as of an earlier change, steps older and newer, and goes back to live",
  ignore,
  async fn() {
    await using server = await startTestServer();
    const bobToken = await server.login(BOB);
    const carolToken = await server.login(CAROL);
    // Four changes, oldest first.
    await call(server, bobToken, "PATCH", "/tasks/task-4", { title: "Pick a better name" });
    await call(server, bobToken, "PATCH", "/tasks/task-1/move", {
      listId: "list-done",
      position: 1,
    });
    await call(server, carolToken, "POST", "/tasks", { listId: "list-todo", title: "Third card" });
    await call(server, bobToken, "PATCH", "/lists/list-in-progress", { title: "Doing" });

    await using live = await launchChromium();
    // History in pages of two: opening and stepping read several.
    await using alice = await openPage(live, server, {
      email: ALICE,
      tuning: { timeTravelPageSize: 2 },
    });
    await waitLive(alice);
    const page = alice.page;
    await card(page, "Pick a better name").waitFor();

    await page.getByRole("button", { name: "Activity", exact: true }).click();
    const panel = page.locator("#activity-panel");
    const renamed = panel.locator(".activity-item", {
      hasText: "Bob renamed “Pick a name” to “Pick a better name”",
    });
    await renamed.waitFor();
    const opener = renamed.getByRole("button", { name: /^View board as of here/ });
    await opener.click();

    const view = page.getByRole("dialog", { name: /Viewing the board/ });
    await view.waitFor();
    const heading = view.getByRole("heading", { level: 2 });
    await view.locator(".time-travel-list").first().waitFor();
    assert.match(
      await heading.textContent() ?? "",
      /^Viewing the board as of .+ — Bob renamed “Pick a name” to “Pick a better name”$/,
    );
    assert.equal(
      await page.evaluate("document.activeElement && document.activeElement.id"),
      "time-travel-heading",
      "focus moves into the view",
    );
    // As of the rename: the new title, task-1 not moved yet, no third card, the old list name.
    assert.deepEqual(await shownBoard(page), {
      "To do": ["Design the board layout", "Write the onboarding guide"],
      "In progress": ["Set up the event log"],
      "Done": ["Pick a better name"],
    });
    assert.equal(
      await view.locator(".time-travel-card.changed .time-travel-card-title").textContent(),
      "Pick a better name",
      "the card the change was about is marked",
    );
    await alice.screenshot("time-travel-light");
    assert.deepEqual(await lowContrast(page), [], "AA contrast, light");

    // Older: the board just before the rename (the log holds nothing older: the seed).
    const older = view.getByRole("button", { name: "Older" });
    const newer = view.getByRole("button", { name: "Newer" });
    await older.click();
    await view.locator(".time-travel-note", {
      hasText: "History before this point is not available.",
    })
      .waitFor();
    assert.match(await heading.textContent() ?? "", /^Viewing the board just before .+ — before/);
    assert.deepEqual((await shownBoard(page))["Done"], ["Pick a name"], "the old title");
    assert.equal(await older.getAttribute("aria-disabled"), "true");
    assert.equal(
      await page.evaluate("document.activeElement && document.activeElement.textContent"),
      "◀ Older",
      "focus stays on the button",
    );
    await page.keyboard.press("Enter"); // on "Older": nothing older, no change
    assert.deepEqual((await shownBoard(page))["Done"], ["Pick a name"]);

    // Newer, with the arrow keys: the rename again, then the move, the new card, the list name.
    await page.keyboard.press("ArrowRight");
    await view.locator(".time-travel-card-title", { hasText: "Pick a better name" }).waitFor();
    await page.keyboard.press("ArrowRight");
    assert.match(await heading.textContent() ?? "", /Bob moved “Design the board layout” to Done/);
    assert.deepEqual(await shownBoard(page), {
      "To do": ["Write the onboarding guide"],
      "In progress": ["Set up the event log"],
      "Done": ["Pick a better name", "Design the board layout"],
    }, "the moved card in its new place");
    await page.keyboard.press("ArrowRight");
    assert.match(await heading.textContent() ?? "", /Carol added “Third card” to To do/);
    await newer.click();
    assert.match(
      await heading.textContent() ?? "",
      /Bob renamed the list “In progress” to “Doing”/,
    );
    await view.locator(".time-travel-note", { hasText: "This is the newest change." }).waitFor();
    assert.equal(await newer.getAttribute("aria-disabled"), "true");
    assert.deepEqual(await shownBoard(page), {
      "To do": ["Write the onboarding guide", "Third card"],
      "Doing": ["Set up the event log"],
      "Done": ["Pick a better name", "Design the board layout"],
    });
    // And back again with the left arrow.
    await page.keyboard.press("ArrowLeft");
    assert.match(await heading.textContent() ?? "", /Carol added “Third card”/);
    assert.deepEqual(Object.keys(await shownBoard(page)), ["To do", "In progress", "Done"]);

    // Read-only: keyboard undo does nothing while the view is open.
    const { events } = await withEvents(server, async () => {
      await page.keyboard.press("Control+z");
      await page.waitForTimeout(300);
    });
    assert.deepEqual(events, [], "nothing was undone");

    // Dark: the same view, still AA.
    await page.emulateMedia({ colorScheme: "dark" });
    await page.waitForTimeout(400); // the buttons' colour transitions
    await alice.screenshot("time-travel-dark");
    assert.deepEqual(await lowContrast(page), [], "AA contrast, dark");
    await page.emulateMedia({ colorScheme: "light" });

    // Escape: back to live, focus on the entry's button, the live board as it is.
    await page.keyboard.press("Escape");
    await view.waitFor({ state: "detached" });
    assert.equal(
      await page.evaluate("document.activeElement && document.activeElement.textContent"),
      "View board as of here",
    );
    assert.equal(
      await page.evaluate(
        "document.activeElement && document.activeElement.closest('li').dataset.seq",
      ),
      await renamed.getAttribute("data-seq"),
      "focus is back on the entry it was opened from",
    );
    assert.equal(await panel.isVisible(), true, "the activity panel stays open");
    assert.deepEqual(
      await column(page, "Done").locator(".card-title").allTextContents(),
      ["Pick a better name", "Design the board layout"],
    );
    await column(page, "Doing").waitFor();

    // "Back to live" does the same; opening again starts afresh.
    await opener.click();
    await view.getByRole("button", { name: "Back to live" }).click();
    await view.waitFor({ state: "detached" });
    assertNoProblems(alice, [/WebSocket/]);
  },
});
