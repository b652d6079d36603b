/**
 * The benchmark's tables: every figure of a scenario side by side for Liveboard, the raw
 * Deno baseline and Socket.IO, with Liveboard's ratios to each and the target for it
 * (met ✓ / missed ✗); and the cross-instance table, where Liveboard on PostgreSQL and the
 * two-instance cluster stand next to single-instance Liveboard on SQLite from the same run.
 * Printed as Markdown so they can be pasted into the README as is.
 */
import type { TargetName } from "./targets.ts";

export type Values = Partial<Record<TargetName, number>>;

/**
 * A target from the issue: a ratio to a baseline, at most a baseline plus a margin, an absolute
 * bound, or zero (for every figure of the row).
 */
export type Goal =
  | { kind: "ratio"; of: TargetName; max: number }
  | { kind: "ratioMin"; of: TargetName; min: number }
  | { kind: "plus"; of: TargetName; max: number }
  | { kind: "max"; max: number }
  | { kind: "zero" };

export interface Row {
  scenario: string;
  n: number | string;
  metric: string;
  values: Values;
  /** The figure the ratios and goals are about (default: Liveboard). */
  subject?: TargetName;
  /** Which table the row goes in (default: the main one). */
  table?: "main" | "cluster";
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

function ratio(values: Values, of: TargetName, subject: TargetName): number | undefined {
  const mine = values[subject], theirs = values[of];
  if (mine === undefined || theirs === undefined || theirs === 0) return undefined;
  return mine / theirs;
}

/** Whether a goal is met (undefined when a figure it needs is missing). */
export function goalMet(
  goal: Goal,
  values: Values,
  subject: TargetName = "liveboard",
): boolean | undefined {
  const mine = values[subject];
  switch (goal.kind) {
    case "ratio": {
      const r = ratio(values, goal.of, subject);
      return r === undefined ? undefined : r <= goal.max;
    }
    case "ratioMin": {
      const r = ratio(values, goal.of, subject);
      return r === undefined ? undefined : r >= goal.min;
    }
    case "plus": {
      const theirs = values[goal.of];
      return mine === undefined || theirs === undefined ? undefined : mine - theirs <= goal.max;
    }
    case "max":
      return mine === undefined ? undefined : mine <= goal.max;
    case "zero": {
      const all = Object.values(values);
      return all.length === 0 ? undefined : all.every((v) => v === 0);
    }
  }
}

const SHORT: Record<TargetName, string> = {
  liveboard: "LB",
  deno: "raw",
  socketio: "sio",
  "liveboard-pg": "PG",
  cluster: "cluster",
};

function describeGoal(goal: Goal): string {
  switch (goal.kind) {
    case "ratio":
      return `≤ ${goal.max}× ${SHORT[goal.of]}`;
    case "ratioMin":
      return `≥ ${goal.min}× ${SHORT[goal.of]}`;
    case "plus":
      return `≤ ${SHORT[goal.of]} + ${goal.max}`;
    case "max":
      return `≤ ${goal.max}`;
    case "zero":
      return "0 everywhere";
  }
}

function describeGoals(row: Row): string {
  if (!row.goals?.length) return row.note ?? "";
  return row.goals.map((goal) => {
    const met = goalMet(goal, row.values, row.subject);
    const mine = row.values[row.subject ?? "liveboard"];
    const theirs = goal.kind === "plus" ? row.values[goal.of] : undefined;
    // An additive goal also shows the difference it judged.
    const delta = mine !== undefined && theirs !== undefined
      ? ` (${mine - theirs >= 0 ? "+" : "−"}${Math.abs(mine - theirs).toFixed(2)})`
      : "";
    return `${describeGoal(goal)}${delta} ${met === undefined ? "?" : met ? "✓" : "✗"}`;
  }).join(", ");
}

/** A table's figure columns, and its ratio columns (the row's subject to `of`). */
interface Layout {
  values: { header: string; name: TargetName }[];
  ratios: { header: string; of: TargetName }[];
}

const LAYOUTS: Record<"main" | "cluster", Layout> = {
  main: {
    values: [
      { header: "Liveboard", name: "liveboard" },
      { header: "raw Deno", name: "deno" },
      { header: "Socket.IO", name: "socketio" },
    ],
    ratios: [{ header: "LB/raw", of: "deno" }, { header: "LB/sio", of: "socketio" }],
  },
  cluster: {
    values: [
      { header: "LB SQLite", name: "liveboard" },
      { header: "LB PG", name: "liveboard-pg" },
      { header: "cluster A+B", name: "cluster" },
    ],
    ratios: [{ header: "vs SQLite", of: "liveboard" }],
  },
};

/** One table as Markdown: the main one, or the cross-instance one. */
export function renderTable(rows: Row[], table: "main" | "cluster" = "main"): string {
  const layout = LAYOUTS[table];
  const header = [
    "scenario",
    "N",
    "metric",
    ...layout.values.map((v) => v.header),
    ...layout.ratios.map((r) => r.header),
    "target",
  ];
  // A row with no figure at all (its targets skipped, or every one failed: see the notes) is
  // left out of the main table; the cross-instance table keeps those with a goal, as "?".
  const shown = rows.filter((row) =>
    (row.table ?? "main") === table &&
    (Object.keys(row.values).length > 0 || (table === "cluster" && !!row.goals?.length))
  );
  const lines = shown.map((row) => {
    const digits = row.digits ?? 1;
    const subject = row.subject ?? "liveboard";
    const r = (of: TargetName) => {
      const value = of === subject ? undefined : ratio(row.values, of, subject);
      return value === undefined ? "–" : value.toFixed(2);
    };
    return [
      row.scenario,
      String(row.n),
      row.metric,
      ...layout.values.map((v) => format(row.values[v.name], digits)),
      ...layout.ratios.map((ratio) => r(ratio.of)),
      describeGoals(row),
    ];
  });
  const numeric = (i: number) => i >= 3 && i < header.length - 1;
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells: string[]) =>
    "| " + cells.map((c, i) => numeric(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))
      .join(" | ") +
    " |";
  const rule = "|" +
    widths.map((w, i) => numeric(i) ? "-".repeat(w + 1) + ":" : "-".repeat(w + 2))
      .join("|") +
    "|";
  return [render(header), rule, ...lines.map(render)].join("\n");
}

/** Goals that were checked and missed, one line each, for the summary under the tables. */
export function missedGoals(rows: Row[]): string[] {
  const missed: string[] = [];
  for (const row of rows) {
    for (const goal of row.goals ?? []) {
      if (goalMet(goal, row.values, row.subject) === false) {
        const who = row.subject && row.subject !== "liveboard" ? ` (${SHORT[row.subject]})` : "";
        missed.push(`${row.scenario} N=${row.n} ${row.metric}${who}: ${describeGoal(goal)}`);
      }
    }
  }
  return missed;
}
