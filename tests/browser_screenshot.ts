/**
 * Makes the README screenshot (static/screenshot.png): Alice's window on the demo board while
 * Bob is on it too, typing on a card, his cursor live. Run it by hand:
 *   deno run --allow-net --allow-read --allow-write --allow-env --allow-run --allow-sys \
 *     tests/browser_screenshot.ts
 */
import { card, launchChromium, openPage, waitLive } from "./browser_helpers.ts";
import { startTestServer } from "./helpers.ts";

await using server = await startTestServer();
const alice = await server.login("alice@example.com");
const add = async (listId: string, title: string, description = "", assigneeId?: string) => {
  const response = await server.request("/tasks", {
    method: "POST",
    json: { listId, title, description, ...(assigneeId ? { assigneeId } : {}) },
    token: alice,
  });
  await response.body?.cancel();
};
await add("list-todo", "Plan the launch webinar", "Agenda, speakers, follow-up mail.", "user-3");
await add("list-todo", "Keyboard shortcuts cheat sheet");
await add("list-in-progress", "Offline editing", "Queue changes, replay on reconnect.", "user-1");
await add("list-done", "Live cursors", "Coloured per user, fading when idle.", "user-2");

await using live = await launchChromium();
await using alicePage = await openPage(live, server, {
  email: "alice@example.com",
  viewport: { width: 1320, height: 700 },
  tuning: { cursorIdleMs: 60_000 },
});
await using bobPage = await openPage(live, server, { email: "bob@example.com" });
await waitLive(alicePage, "websocket");
await waitLive(bobPage, "websocket");
await alicePage.page.waitForSelector('#presence .avatar[data-user-id="user-2"]');

// Bob points at a card, then edits another one (typing shows on it for Alice).
const target = await card(bobPage.page, "Write the onboarding guide").boundingBox();
await bobPage.page.mouse.move(target!.x + 120, target!.y + 10);
await bobPage.page.mouse.move(target!.x + 150, target!.y + 24, { steps: 5 });
await alicePage.page.waitForSelector('.cursor[data-user-id="user-2"]');
await card(bobPage.page, "Set up the event log").focus();
await bobPage.page.keyboard.press("Enter");
await bobPage.page.getByLabel("Description", { exact: true }).pressSequentially(" With pruning.");
await card(alicePage.page, "Set up the event log").locator(".card-typing").waitFor();
await alicePage.page.mouse.move(5, 690);
await new Promise((resolve) => setTimeout(resolve, 400));
await alicePage.page.screenshot({ path: "static/screenshot.png" });
console.log("wrote static/screenshot.png");
