/**
 * The account menu in the top bar: who is signed in, switching to a demo person (demo mode)
 * and signing out.
 */
import { colorIndex, h, initials, replaceChildren } from "../dom.js";
import { DEMO_ACCOUNTS, DEMO_PASSWORD, signIn, signOut } from "../session.js";
import { toast } from "./toast.js";

/**
 * @param {HTMLElement} element
 * @param {{me: {id: string, name: string, email: string}, demo: boolean, switched(): void}} options
 */
export function renderAccount(element, options) {
  const { me } = options;
  /** @param {() => Promise<unknown>} attempt */
  const run = async (attempt) => {
    try {
      await attempt();
      options.switched();
    } catch (error) {
      toast("error", /** @type {Error} */ (error).message);
    }
  };
  const others = options.demo ? DEMO_ACCOUNTS.filter((a) => a.email !== me.email) : [];
  const guest = me.id === "user-guest";
  replaceChildren(
    element,
    h(
      "details",
      { class: "menu account-menu" },
      h(
        "summary",
        { class: "account-button", attrs: { "aria-label": `Account: ${me.name}` } },
        h("span", { class: `avatar color-${colorIndex(me.id)}`, textContent: initials(me.name) }),
        h("span", { class: "account-name", textContent: me.name }),
      ),
      h(
        "div",
        { class: "menu-items menu-right" },
        h("p", { class: "menu-label", textContent: `Signed in as ${me.name}` }),
        others.length > 0 && h("p", { class: "menu-label", textContent: "Switch to (demo)" }),
        others.map((account) =>
          h("button", {
            type: "button",
            class: "menu-item",
            textContent: account.name,
            on: { click: () => run(() => signIn(account.email, DEMO_PASSWORD)) },
          })
        ),
        options.demo && !guest &&
          h("button", {
            type: "button",
            class: "menu-item",
            textContent: "Demo Guest",
            on: { click: () => run(() => signOut()) },
          }),
        h("hr"),
        h("button", {
          type: "button",
          class: "menu-item",
          textContent: options.demo ? "Sign in as someone else…" : "Sign out",
          on: {
            click: () =>
              options.demo ? (location.hash = "#/sign-in") : run(async () => {
                await signOut();
                location.hash = "#/sign-in";
              }),
          },
        }),
      ),
    ),
  );
}
