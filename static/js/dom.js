import { textProblem, TITLE_MAX } from "./text_rules.js";

/**
 * A tiny DOM builder. Every string child becomes a Text node and every property is set through
 * the DOM API, so user data can never be parsed as HTML (no innerHTML anywhere in the client).
 */

/**
 * @typedef {Record<string, unknown> & {
 *   class?: string, dataset?: Record<string, string>, on?: Record<string, EventListener>,
 *   attrs?: Record<string, string | boolean | null | undefined>,
 * }} Props
 * @typedef {Node | string | number | null | undefined | false} Child
 */

/**
 * Creates an element: `h("button", {class: "x", on: {click}}, "Save")`.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "class") element.className = /** @type {string} */ (value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key === "on") {
      for (const [name, listener] of Object.entries(/** @type {object} */ (value))) {
        element.addEventListener(name, listener);
      }
    } else if (key === "attrs") {
      for (const [name, attr] of Object.entries(/** @type {object} */ (value))) {
        if (attr === false || attr === null || attr === undefined) continue;
        element.setAttribute(name, attr === true ? "" : String(attr));
      }
    } else {
      // @ts-ignore: a known DOM property (textContent, value, type, disabled, ...).
      element[key] = value;
    }
  }
  append(element, children);
  return element;
}

/**
 * Appends children (strings as text nodes), flattening arrays and skipping empty values.
 * @param {Node} parent
 * @param {(Child | Child[])[]} children
 */
export function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces all children of `parent`.
 * @param {Node} parent
 * @param {...(Child | Child[])} children
 */
export function replaceChildren(parent, ...children) {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

/**
 * A stable colour index (0–7) for a user id, so avatar and cursor share a colour.
 * @param {string} userId
 */
export function colorIndex(userId) {
  let hash = 0;
  for (const char of userId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % 8;
}

/**
 * Initials for an avatar: "Demo Guest" → "DG", "alice" → "A".
 * @param {string} name
 */
export function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return (parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : parts[0]?.[0] ?? "?")
    .toUpperCase();
}

/**
 * Makes a text field refuse what the server would (the shared rule of text_rules.js: visible,
 * no bidirectional overrides, at most `max` UTF-16 units), with the reason shown by the browser
 * before anything is sent: a form with an invalid field does not submit.
 * @template {HTMLInputElement} T
 * @param {T} input
 * @param {number} [max]
 * @returns {T}
 */
export function guardText(input, max = TITLE_MAX) {
  const check = () => {
    const value = input.value.trim();
    const problem = input.value === "" ? null : textProblem(value, max);
    input.setCustomValidity(problem ? `This ${problem}.` : "");
  };
  input.addEventListener("input", check);
  check();
  return input;
}
