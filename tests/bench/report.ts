/**
 * The benchmark's one table: every figure of a scenario side by side for Liveboard, the raw
 * Deno baseline and Socket.IO, with Liveboard's ratios to each and the target for it
 * (met ✓ / missed ✗). Printed as Markdown so it can be pasted into the README as is.
 */
import type { TargetName } from "./targets.ts";

export type Values = Partial<Record<TargetName, number>>;

/** A target from the issue: a ratio to a baseline, an absolute bound, or zero. */
export type Goal =
  | { kind: "ratio"; of: TargetName; max: number }
  | { kind: "ratioMin"; of: TargetName; min: number }
  | { kind: "max"; max: number }
  | { kind: "zero" };

export interface Row {
  scenario: string;
  n: number | string;
  metric: string;
  values: Values;
  goals?: Goal[];
  digits?: number;
  note?: string;
}

function format(value: number | undefined, digits: number): string {
  if (value === undefined) return "–";
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 10_000) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(digits);
}

function ratio(values: Values, of: TargetName): number | undefined {
  const mine = values.liveboard, theirs = values[of];
  if (mine === undefined || theirs === undefined || theirs === 0) return undefined;
  return mine / theirs;
}

/** Whether a goal is met (undefined when a figure it needs is missing). */
export function goalMet(goal: Goal, values: Values): boolean | undefined {
  switch (goal.kind) {
    case "ratio": {
      const r = ratio(values, goal.of);
      return r === undefined ? undefined : r <= goal.max;
    }
    case "ratioMin": {
      const r = ratio(values, goal.of);
      return r === undefined ? undefined : r >= goal.min;
    }
    case "max":
      return values.liveboard === undefined ? undefined : values.liveboard <= goal.max;
    case "zero": {
      const all = Object.values(values);
      return all.length === 0 ? undefined : all.every((v) => v === 0);
    }
  }
}

const SHORT: Record<TargetName, string> = { liveboard: "LB", deno: "raw", socketio: "sio" };

function describeGoal(goal: Goal): string {
  switch (goal.kind) {
    case "ratio":
      return `≤ ${goal.max}× ${SHORT[goal.of]}`;
    case "ratioMin":
      return `≥ ${goal.min}× ${SHORT[goal.of]}`;
    case "max":
      return `≤ ${goal.max}`;
    case "zero":
      return "0 everywhere";
  }
}

function describeGoals(row: Row): string {
  if (!row.goals?.length) return row.note ?? "";
  return row.goals.map((goal) => {
    const met = goalMet(goal, row.values);
    return `${describeGoal(goal)} ${met === undefined ? "?" : met ? "✓" : "✗"}`;
  }).join(", ");
}

/** The table as Markdown. */
export function renderTable(rows: Row[]): string {
  const header = [
    "scenario",
    "N",
    "metric",
    "Liveboard",
    "raw Deno",
    "Socket.IO",
    "LB/raw",
    "LB/sio",
    "target",
  ];
  const lines = rows.map((row) => {
    const digits = row.digits ?? 1;
    const r = (of: TargetName) => {
      const value = ratio(row.values, of);
      return value === undefined ? "–" : value.toFixed(2);
    };
    return [
      row.scenario,
      String(row.n),
      row.metric,
      format(row.values.liveboard, digits),
      format(row.values.deno, digits),
      format(row.values.socketio, digits),
      r("deno"),
      r("socketio"),
      describeGoals(row),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells: string[]) =>
    "| " + cells.map((c, i) => i >= 3 && i <= 7 ? c.padStart(widths[i]) : c.padEnd(widths[i]))
      .join(" | ") +
    " |";
  const rule = "|" +
    widths.map((w, i) => i >= 3 && i <= 7 ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))
      .join("|") +
    "|";
  return [render(header), rule, ...lines.map(render)].join("\n");
}

/** Goals that were checked and missed, one line each, for the summary under the table. */
export function missedGoals(rows: Row[]): string[] {
  const missed: string[] = [];
  for (const row of rows) {
    for (const goal of row.goals ?? []) {
      if (goalMet(goal, row.values) === false) {
        missed.push(`${row.scenario} N=${row.n} ${row.metric}: ${describeGoal(goal)}`);
      }
    }
  }
  return missed;
}
