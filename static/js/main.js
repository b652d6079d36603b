/**
 * The Liveboard client: finds out who the user is, keeps the outbox of unsent changes, and
 * routes between the pages by URL hash (#/ boards, #/board/<id>, #/sign-in). An auth failure
 * from any request or transport ends in the sign-in page. Tabs share the session cookie, so when
 * another tab signs in as someone else, this one reloads as them (it would otherwise show the old
 * name while its changes went out as the new user).
 */
import { Outbox } from "./outbox.js";
import { whoAmI } from "./session.js";
import { renderAccount } from "./views/account.js";
import { renderBadge } from "./views/badge.js";
import { showBoard } from "./views/board_page.js";
import { showBoards } from "./views/boards_page.js";
import { showSignIn } from "./views/sign_in_page.js";
import { showConflict, toast } from "./views/toast.js";

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const root = $("main");
const badge = $("badge");
const avatars = $("presence");
const account = $("account");
const title = $("crumb-title");

/** @type {{refresh(): void, dispose(): void} | null} */
let page = null;
/** @type {Outbox | null} */
let outbox = null;
/** @type {{user: {id: string, name: string, email: string}, demo: boolean} | null} */
let session = null;
let signedOut = false;

/** localStorage key naming the user this browser's tabs are signed in as. */
const SIGNED_IN_AS = "liveboard:signed-in-as";

function reload() {
  if (location.hash === "#/sign-in") location.hash = "#/";
  location.reload();
}

/** The session ended (401 or close 4001): stop everything and ask to sign in. */
function authFailed() {
  if (signedOut) return;
  signedOut = true;
  outbox?.stop();
  page?.dispose();
  page = null;
  account.replaceChildren();
  showSignIn(root, {
    demo: session?.demo ?? false,
    message: "Your session has ended. Sign in again; changes you made are kept and will be sent.",
    done: reload,
  });
}

async function route() {
  page?.dispose();
  page = null;
  if (signedOut) return;
  const hash = location.hash || "#/";
  if (!session) return;
  if (hash === "#/sign-in") {
    return showSignIn(root, { demo: session.demo, done: reload });
  }
  const context = {
    me: session.user,
    outbox: /** @type {Outbox} */ (outbox),
    badge,
    avatars,
    title,
    auth: authFailed,
  };
  const match = /^#\/board\/([^/]+)$/.exec(hash);
  if (match) page = await showBoard(root, decodeURIComponent(match[1]), context) ?? null;
  else page = await showBoards(root, context) ?? null;
}

async function boot() {
  let me;
  try {
    me = await whoAmI();
  } catch (error) {
    root.replaceChildren();
    toast("error", `Liveboard is not reachable: ${/** @type {Error} */ (error).message}`);
    setTimeout(boot, 3000);
    return;
  }
  if (!me) {
    // Signed out: show the demo accounts if this server was in demo mode last time we looked.
    const demo = localStorage.getItem("liveboard:demo") === "true";
    return showSignIn(root, { demo, done: reload });
  }
  localStorage.setItem("liveboard:demo", String(me.demo));
  session = me;
  localStorage.setItem(SIGNED_IN_AS, me.user.id);
  // Fired in the other tabs only: one of them signed in as someone else.
  addEventListener("storage", (event) => {
    if (event.key !== SIGNED_IN_AS || !event.newValue || event.newValue === session?.user.id) {
      return;
    }
    outbox?.stop(); // our queued changes stay stored under our user, for when we are back
    reload();
  });
  outbox = new Outbox(me.user.id, {
    change: () => {
      if (page) page.refresh();
      else renderBadge(badge, null, { pending: outbox?.pending() ?? 0, sendingOffline: false });
    },
    report: (report) => toast(report.kind, report.text),
    conflict: (conflict) => showConflict(conflict, () => outbox?.dismissConflict(conflict.id)),
    auth: authFailed,
    offline: () => page?.refresh(),
  });
  for (const conflict of outbox.conflicts()) {
    showConflict(conflict, () => outbox?.dismissConflict(conflict.id));
  }
  renderAccount(account, { me: me.user, demo: me.demo, switched: reload });
  addEventListener("hashchange", route);
  addEventListener("online", () => outbox?.kick());
  await route();
  // Changes left from an earlier visit are sent even if their board is not open.
  if (outbox.pending() > 0) outbox.kick();
}

// Open menus (<details>) close on a click elsewhere or on Escape.
document.addEventListener("click", (event) => {
  for (const menu of document.querySelectorAll("details.menu[open]")) {
    if (!menu.contains(/** @type {Node} */ (event.target))) menu.removeAttribute("open");
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const menu of document.querySelectorAll("details.menu[open]")) {
    menu.removeAttribute("open");
    menu.querySelector("summary")?.focus();
  }
});

boot();
