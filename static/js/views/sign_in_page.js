/**
 * Signing in: email and password (or creating an account). In demo mode, one click signs in as
 * one of the demo people, or continues as the demo guest.
 */
import { guardText, h } from "../dom.js";
import { NAME_MAX } from "../text_rules.js";
import { DEMO_ACCOUNTS, DEMO_PASSWORD, signIn, signOut, signUp, whoAmI } from "../session.js";

/**
 * @param {HTMLElement} root
 * @param {{demo: boolean, message?: string, done(): void}} options
 */
export function showSignIn(root, options) {
  document.title = "Sign in · Liveboard";
  const error = h("p", { class: "form-error", attrs: { role: "alert" } });
  const email = h("input", {
    id: "email",
    type: "email",
    required: true,
    autocomplete: "username",
  });
  const password = h("input", {
    id: "password",
    type: "password",
    required: true,
    autocomplete: "current-password",
  });
  const name = guardText(
    h("input", { id: "name", type: "text", autocomplete: "name", maxLength: NAME_MAX }),
    NAME_MAX,
  );
  const nameRow = h(
    "div",
    { class: "field", hidden: true },
    h("label", {
      htmlFor: "name",
      textContent: "Your name",
    }),
    name,
  );
  let creating = false;
  const submit = h("button", {
    class: "button button-primary",
    type: "submit",
    textContent: "Sign in",
  });
  const toggle = h("button", {
    class: "button button-link",
    type: "button",
    textContent: "Create an account instead",
    on: {
      click: () => {
        creating = !creating;
        nameRow.hidden = !creating;
        name.required = creating;
        submit.textContent = creating ? "Create account" : "Sign in";
        toggle.textContent = creating ? "I already have an account" : "Create an account instead";
        password.autocomplete = creating ? "new-password" : "current-password";
      },
    },
  });

  /** @param {() => Promise<unknown>} attempt */
  const run = async (attempt) => {
    error.textContent = "";
    try {
      await attempt();
      options.done();
    } catch (e) {
      error.textContent = /** @type {Error} */ (e).message;
    }
  };

  const form = h(
    "form",
    {
      class: "sign-in-form",
      on: {
        submit: (event) => {
          event.preventDefault();
          run(() =>
            creating
              ? signUp(email.value, name.value, password.value)
              : signIn(email.value, password.value)
          );
        },
      },
    },
    h("div", { class: "field" }, h("label", { htmlFor: "email", textContent: "Email" }), email),
    nameRow,
    h(
      "div",
      { class: "field" },
      h("label", { htmlFor: "password", textContent: "Password" }),
      password,
    ),
    error,
    h("div", { class: "form-actions" }, submit, toggle),
  );

  const demo = options.demo &&
    h(
      "div",
      { class: "demo-accounts" },
      h("h2", { textContent: "Demo mode" }),
      h("p", {
        textContent: "Pick someone to be. Open a second browser profile as someone else to see " +
          "the board update live.",
      }),
      h(
        "div",
        { class: "demo-buttons" },
        DEMO_ACCOUNTS.map((account) =>
          h("button", {
            class: "button button-quiet",
            type: "button",
            textContent: `Sign in as ${account.name}`,
            on: { click: () => run(() => signIn(account.email, DEMO_PASSWORD)) },
          })
        ),
        h("button", {
          class: "button button-quiet",
          type: "button",
          textContent: "Continue as Demo Guest",
          on: {
            click: () =>
              run(async () => {
                await signOut();
                // A session cookie the server no longer knows cannot be cleared from script
                // (it is HttpOnly) and the server refuses it rather than treating it as a guest.
                if (!await whoAmI()) {
                  throw new Error(
                    "This browser still holds an expired session; sign in as one of the people " +
                      "above to replace it.",
                  );
                }
              }),
          },
        }),
      ),
    );

  root.replaceChildren(
    h(
      "section",
      { class: "sign-in-page" },
      h(
        "div",
        { class: "sign-in-card" },
        h("h1", { textContent: "Sign in to Liveboard" }),
        options.message &&
          h("p", { class: "notice", attrs: { role: "status" }, textContent: options.message }),
        form,
        demo,
      ),
    ),
  );
  (options.demo ? /** @type {HTMLElement} */ (root.querySelector(".demo-buttons button")) : email)
    ?.focus();
}
