/**
 * The connection badge: which transport is live, or connecting / reconnecting / offline, and
 * how many changes are waiting to be sent. Its data attributes mirror the text for tests and
 * styling (data-state, data-transport, data-pending).
 */
import { LABELS } from "../connection.js";
import { h, replaceChildren } from "../dom.js";

/**
 * @param {HTMLElement} badge
 * @param {import("../connection.js").Status | null} status
 * @param {{pending: number, sendingOffline: boolean}} outbox
 */
export function renderBadge(badge, status, outbox) {
  const state = status?.state ?? "idle";
  const transport = status?.transport ? LABELS[status.transport] : "";
  const text = {
    idle: "",
    connecting: `Connecting${transport ? ` · ${transport}` : ""}…`,
    live: `Live · ${transport}`,
    reconnecting: `Reconnecting${transport ? ` · ${transport}` : ""}${
      status?.retryInMs ? ` in ${Math.ceil(status.retryInMs / 1000)} s` : "…"
    }`,
    offline: "Offline",
    stopped: "Disconnected",
  }[state];
  const pending = outbox.pending > 0
    ? `${outbox.pending} change${outbox.pending === 1 ? "" : "s"} ${
      state === "live" && !outbox.sendingOffline ? "saving" : "pending"
    }`
    : "";
  badge.hidden = state === "idle" && !pending;
  badge.dataset.state = state;
  badge.dataset.transport = status?.transport ?? "";
  badge.dataset.pending = String(outbox.pending);
  // The note explains the transport in use, so it only means something while live.
  const note = state === "live" ? status?.note ?? "" : "";
  badge.title = [text, pending, note].filter(Boolean).join(" — ");
  replaceChildren(
    badge,
    h("span", { class: "badge-dot", attrs: { "aria-hidden": "true" } }),
    h(
      "span",
      { class: "badge-text" },
      h(
        "span",
        { class: "badge-main" },
        text,
        pending && h("span", { class: "badge-pending", textContent: ` · ${pending}` }),
      ),
      note && h("span", { class: "badge-note", textContent: note }),
    ),
  );
}
