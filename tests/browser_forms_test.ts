/**
 * The browser client holds titles to the server's rule (static/js/text_rules.js) in its forms:
 * a title the server would refuse is refused in place, with the reason, and nothing is sent.
 */
import assert from "node:assert/strict";
import {
  chromiumAvailable,
  column,
  launchChromium,
  openPage,
  waitLive,
} from "./browser_helpers.ts";
import { skipUnless, startTestServer, withEvents } from "./helpers.ts";

const ignore = skipUnless(chromiumAvailable, "Chromium (/usr/bin/chromium)");

Deno.test({
  name: "an invisible card title is refused in the form with the reason, and nothing is sent",
  ignore,
  async fn() {
    await using server = await startTestServer();
    await using live = await launchChromium();
    await using alice = await openPage(live, server, { email: "alice@example.com" });
    await waitLive(alice);
    const input = column(alice.page, "To do").locator(".add-card-input");
    const before = await column(alice.page, "To do").locator(".card").count();
    const { events } = await withEvents(server, async () => {
      await input.fill("\u200b\u200b\u200b");
      await input.press("Enter");
      assert.match(
        await input.evaluate((element: { validationMessage: string }) => element.validationMessage),
        /must contain a visible character/,
      );
      await input.fill("\u202eevil");
      assert.match(
        await input.evaluate((element: { validationMessage: string }) => element.validationMessage),
        /bidirectional override/,
      );
      await input.press("Enter");
      await alice.page.waitForTimeout(300);
    });
    assert.deepEqual(events, [], "nothing was sent");
    assert.equal(await column(alice.page, "To do").locator(".card").count(), before);
    // A fine title goes through.
    await input.fill("Visible title");
    await input.press("Enter");
    // (The saved card: until the POST's answer comes, the pending copy may show beside the event's.)
    await column(alice.page, "To do").locator(".card:not(.pending)", { hasText: "Visible title" })
      .waitFor();
    assert.deepEqual(alice.problems, []);
  },
});
