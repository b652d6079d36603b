/** Line icons as inline SVG built with the DOM (no icon font, no emoji that may not render). */

const PATHS = /** @type {Record<string, string[]>} */ ({
  edit: ["M12 20h9", "M16.5 3.5a2.12 2.12 0 0 1 3 3L7 19l-4 1 1-4Z"],
  trash: ["M3 6h18", "M8 6V4h8v2", "M19 6l-1 14H6L5 6", "M10 11v6", "M14 11v6"],
});

/** One built icon per name, cloned for every use. */
const built = /** @type {Map<string, SVGSVGElement>} */ (new Map());

/**
 * A new SVG element for the icon. Cloned from a first one built with the DOM: building each from
 * scratch (an element, ten attributes and its paths) was 22 ms of the 500-card board's first
 * render in a Chromium profile, two icons per card.
 * @param {keyof typeof PATHS} name
 */
export function icon(name) {
  let svg = built.get(name);
  if (!svg) built.set(name, svg = build(name));
  return /** @type {SVGSVGElement} */ (svg.cloneNode(true));
}

/** @param {keyof typeof PATHS} name */
function build(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (
    const [key, value] of Object.entries({
      viewBox: "0 0 24 24",
      width: "15",
      height: "15",
      fill: "none",
      stroke: "currentColor",
      "stroke-width": "2",
      "stroke-linecap": "round",
      "stroke-linejoin": "round",
      "aria-hidden": "true",
      focusable: "false",
    })
  ) svg.setAttribute(key, value);
  for (const d of PATHS[name]) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}
