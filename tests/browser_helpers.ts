/**
 * Browser test helpers: Chromium (Debian's /usr/bin/chromium) driven by playwright-core, one
 * browser context per user signed in through the real /login, pages that collect console
 * errors and CSP violations, screenshots under test-output/, and `await using` disposal so no
 * browser, context or page outlives its test.
 */
import type { Browser, BrowserContext, ConsoleMessage, Page } from "playwright-core";
import type { TestServer } from "./helpers.ts";
import { chromium } from "./playwright.ts";

export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is installed here (tests skip with a reason otherwise, except in CI). */
export const chromiumAvailable = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** Short client timings, so fallbacks and retries happen within a test's patience. */
export const FAST_TUNING = {
  backoffBaseMs: 100,
  backoffMaxMs: 1000,
  probeMs: 60_000,
  shortPollMs: 200,
  cursorIdleMs: 1500,
  typingThrottleMs: 300,
  cursorThrottleMs: 30,
};

export interface LiveBrowser extends AsyncDisposable {
  browser: Browser;
}

export async function launchChromium(): Promise<LiveBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  return {
    browser,
    [Symbol.asyncDispose]: () => browser.close(),
  };
}

export interface UserPage extends AsyncDisposable {
  context: BrowserContext;
  page: Page;
  /** Console errors and CSP violations seen so far. */
  problems: string[];
  /** Saves a screenshot as test-output/<name>.png. */
  screenshot(name: string): Promise<void>;
  /** The connection badge's state and transport. */
  badge(): Promise<{ state: string; transport: string; pending: number; text: string }>;
}

/** The few DOM members the badge check reads (tests are type-checked without the DOM lib). */
interface BadgeElement {
  dataset: Record<string, string | undefined>;
  textContent: string | null;
}

export interface OpenOptions {
  /** Sign in as this seeded user (password "liveboard"); the demo guest when absent. */
  email?: string;
  /** Path and hash to open, e.g. "/#/board/board-1". */
  path?: string;
  tuning?: Record<string, number>;
  /** Runs before navigation (to install routes). */
  before?: (context: BrowserContext, page: Page) => Promise<void>;
  viewport?: { width: number; height: number };
}

/** Opens a new context (a separate cookie jar: one user) and a page on the server. */
export async function openPage(
  live: LiveBrowser,
  server: TestServer,
  options: OpenOptions = {},
): Promise<UserPage> {
  const context = await live.browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 760 },
    baseURL: server.url,
    colorScheme: "light",
  });
  try {
    if (options.email) {
      const response = await context.request.post("/login", {
        data: { email: options.email, password: "liveboard" },
      });
      if (!response.ok()) throw new Error(`login failed: ${await response.text()}`);
    }
    const tuning = JSON.stringify({ ...FAST_TUNING, ...options.tuning });
    await context.addInitScript((value: string) => {
      localStorage.setItem("liveboard:tuning", value);
    }, tuning);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (message: ConsoleMessage) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (error: Error) => problems.push(`page error: ${error.message}`));
    page.on("dialog", (dialog) => {
      problems.push(`unexpected dialog: ${dialog.message()}`);
      dialog.dismiss().catch(() => {});
    });
    await options.before?.(context, page);
    await page.goto(options.path ?? "/#/board/board-1");
    return {
      context,
      page,
      problems,
      screenshot: async (name: string) => {
        await Deno.mkdir("test-output", { recursive: true });
        await page.screenshot({ path: `test-output/${name}.png` });
      },
      badge: () =>
        page.locator("#badge").evaluate((element: BadgeElement) => ({
          state: element.dataset.state ?? "",
          transport: element.dataset.transport ?? "",
          pending: Number(element.dataset.pending ?? 0),
          text: element.textContent ?? "",
        })),
      [Symbol.asyncDispose]: () => context.close(),
    };
  } catch (error) {
    await context.close();
    throw error;
  }
}

/** Waits until the badge says the board is live (optionally on a given transport). */
export async function waitLive(user: UserPage, transport?: string, timeout = 5000): Promise<void> {
  const selector = transport
    ? `#badge[data-state="live"][data-transport="${transport}"]`
    : `#badge[data-state="live"]`;
  await user.page.waitForSelector(selector, { timeout });
}

/** The card with this exact title. */
export const card = (page: Page, title: string) =>
  page.locator(".card", { has: page.locator(".card-title", { hasText: exact(title) }) });

/** The column with this exact title. */
export const column = (page: Page, title: string) =>
  page.locator(".column", { has: page.locator(".column-title", { hasText: exact(title) }) });

function exact(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
}
