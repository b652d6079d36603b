/**
 * `deno task bench`: Liveboard's load benchmark. Starts each server as its own process pinned
 * to one core (Liveboard in normal mode on a fresh database; the raw Deno baseline; Socket.IO 4
 * on Node), drives it from Node load generators pinned to the other core, and prints one
 * Markdown table with every figure side by side, plus a JSON file.
 *
 * Cross-instance mode gets a second table, from the same run: Liveboard on PostgreSQL (one
 * instance) on the write path, and a cluster of two instances A and B (PostgreSQL + Redis, a
 * fresh schema and key prefix, both instances pinned to the server core) for fan-out from
 * writes on A to subscribers split over A and B, the write path with clients split over A and
 * B, and the capacity hold on both — each next to single-instance Liveboard on SQLite.
 * PostgreSQL and Redis themselves run unpinned (they are the machine's services).
 *
 *   deno task bench --quick              # ~2-3 minutes, N = 1000 (cluster: 500 + 500)
 *   deno task bench                      # full: N = 1k, 5k, 10k (cluster: 5k + 5k), and the
 *                                        # capacity holds (1 instance, and 2 instances)
 *   deno task bench --out results.json   # JSON path (default bench-results/<mode>-<time>.json)
 *
 * Tuning flags (mainly for the smoke test): --n 20,100  --k 20  --gap-ms 500
 * --write-ms 5000 (0 = skip the write path)
 * --capacity 9000 (connections per transport, 0 = skip)  --hold-ms 60000
 * --settle-ms 1000 (wait before a memory reading)
 * --targets liveboard,deno,socketio,liveboard-pg,cluster
 * --cluster-n 5000 (cluster fan-out subscribers per instance, 0 = skip; default: half the
 *   largest --n, so the single-instance figures at that N are the comparison)
 * --cluster-capacity 9000 (connections per transport per instance, 0 = skip; default: --capacity)
 * --capacity-heartbeat-ms 5000 (SSE and WebSocket heartbeats during both capacity holds).
 * --browser-cards 500,5000 (board sizes for the browser scenario in Chromium, 0 = skip; see
 *   browser.ts).
 */
import { LoadClient } from "./clients.ts";
import { missedGoals, renderTable, type Row } from "./report.ts";
import {
  capacity,
  type CapacityResult,
  fanout,
  type FanoutResult,
  type Group,
  idleMemory,
  longPollWake,
  openGroups,
  writePath,
} from "./scenarios.ts";
import { browserAvailable, browserBoard } from "./browser.ts";
import { postgresAvailable, redisAvailable } from "./services.ts";
import { startTarget, type Target, TARGET_LABELS, type TargetName } from "./targets.ts";

const root = new URL("../../", import.meta.url).pathname;

interface Settings {
  quick: boolean;
  out: string;
  ns: number[];
  k: number;
  gapMs: number;
  writeMs: number;
  capacity: number;
  holdMs: number;
  settleMs: number;
  targets: TargetName[];
  clusterN: number;
  clusterCapacity: number;
  capacityHeartbeatMs: number;
  /** Board sizes for the browser scenario (none: skipped). */
  browserCards: number[];
}

function parseArgs(args: string[]): Settings {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].split("=", 2);
    if (name === "--quick") flags.set(name, "true");
    else flags.set(name, inline ?? args[++i] ?? "");
  }
  const known = [
    "--quick",
    "--out",
    "--n",
    "--k",
    "--gap-ms",
    "--write-ms",
    "--capacity",
    "--hold-ms",
    "--settle-ms",
    "--targets",
    "--cluster-n",
    "--cluster-capacity",
    "--capacity-heartbeat-ms",
    "--browser-cards",
  ];
  for (const name of flags.keys()) {
    if (!known.includes(name)) throw new Error(`Unknown flag "${name}"; known: ${known.join(" ")}`);
  }
  const quick = flags.has("--quick");
  const int = (name: string, fallback: number) => {
    const raw = flags.get(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw)) throw new Error(`Flag ${name} needs a whole number, got "${raw}"`);
    return Number(raw);
  };
  const ns = (flags.get("--n") ?? (quick ? "1000" : "1000,5000,10000")).split(",").map(Number);
  if (ns.some((n) => !Number.isInteger(n) || n < 2)) {
    throw new Error(`Bad --n "${flags.get("--n")}"`);
  }
  const targets = (flags.get("--targets") ?? "liveboard,deno,socketio,liveboard-pg,cluster")
    .split(",") as TargetName[];
  for (const t of targets) {
    if (!(t in TARGET_LABELS)) throw new Error(`Unknown target "${t}"`);
  }
  const stamp = new Date().toISOString().replaceAll(":", "-").slice(0, 19);
  const capacity = int("--capacity", quick ? 0 : 9000);
  return {
    quick,
    out: flags.get("--out") ?? `${root}bench-results/${quick ? "quick" : "full"}-${stamp}.json`,
    ns,
    k: int("--k", 20),
    gapMs: int("--gap-ms", quick ? 150 : 500),
    writeMs: int("--write-ms", quick ? 2000 : 8000),
    capacity,
    holdMs: int("--hold-ms", 60_000),
    settleMs: int("--settle-ms", 1000),
    targets,
    clusterN: int("--cluster-n", Math.floor(Math.max(...ns) / 2)),
    clusterCapacity: int("--cluster-capacity", capacity),
    capacityHeartbeatMs: int("--capacity-heartbeat-ms", 5000),
    browserCards: (flags.get("--browser-cards") ?? "500,5000").split(",").map(Number)
      .filter((n) => n > 0),
  };
}

/** Installs socket.io and ws into .bench-cache/ (gitignored) unless they are there already. */
async function prepareNode(): Promise<{ nodeModules?: string; reason?: string }> {
  const node = await new Deno.Command("node", { args: ["--version"] }).output().catch(() => null);
  if (!node?.success) return { reason: "node is not installed" };
  const dir = `${root}.bench-cache`;
  const installed = async (name: string, version: string) => {
    try {
      const pkg = JSON.parse(await Deno.readTextFile(`${dir}/node_modules/${name}/package.json`));
      return pkg.version === version;
    } catch {
      return false;
    }
  };
  if (await installed("socket.io", "4.8.4") && await installed("ws", "8.23.0")) {
    return { nodeModules: dir };
  }
  const npm = await new Deno.Command("npm", {
    args: ["install", "--prefix", dir, "--no-audit", "--no-fund", "socket.io@4.8.4", "ws@8.23.0"],
    stdout: "null",
    stderr: "piped",
  }).output().catch(() => null);
  if (!npm?.success) {
    const why = npm ? new TextDecoder().decode(npm.stderr).trim().split("\n").at(-1) : "no npm";
    return { reason: `npm install socket.io@4.8.4 ws@8.23.0 failed (${why})` };
  }
  return { nodeModules: dir };
}

const settings = parseArgs(Deno.args);
const unavailable = [
  ...(postgresAvailable ? [] : ["PostgreSQL"]),
  ...(redisAvailable ? [] : ["Redis"]),
];
const skippedTargets = settings.targets.filter((name) =>
  (name === "liveboard-pg" && !postgresAvailable) || (name === "cluster" && unavailable.length)
);
settings.targets = settings.targets.filter((name) => !skippedTargets.includes(name));
const prepared = await prepareNode();
if (!prepared.nodeModules) {
  console.error(`bench: cannot run the Node load generators: ${prepared.reason}`);
  Deno.exit(1);
}
const nodeModules = prepared.nodeModules;
const rows: Row[] = [];
const results: Record<string, unknown> = {};
const notes: string[] = [];
/** Measurements that failed (their goals show "?"). */
const failures: string[] = [];
for (const name of skippedTargets) {
  notes.push(`${TARGET_LABELS[name]} skipped: ${unavailable.join(" and ")} not reachable`);
}
const started = Date.now();
const progress = (text: string) =>
  console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${text}`);

/** Runs `body` against a fresh server of each target; failures become notes, not aborts. */
async function eachTarget<T>(
  key: string,
  names: TargetName[],
  body: (target: Target) => Promise<T>,
  flags: string[] = [],
  { inspect = false } = {},
): Promise<Partial<Record<TargetName, T>>> {
  const out: Partial<Record<TargetName, T>> = {};
  for (const name of names.filter((n) => settings.targets.includes(n))) {
    progress(`${key}: ${TARGET_LABELS[name]}`);
    let target: Target | undefined;
    try {
      target = await startTarget(name, { nodeModules, flags, inspect });
      out[name] = await body(target);
      results[`${key} ${name}`] = out[name];
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // The first line, and the process's error line when the message carries its output.
      // deno-lint-ignore no-control-regex
      const lines = message.replaceAll(/\x1b\[[0-9;]*m/g, "").split("\n").filter((l) => l.trim());
      const cause = lines.slice(1).find((line) => /error/i.test(line));
      notes.push(
        `${key} — ${TARGET_LABELS[name]}: not measured: ${lines[0]}${cause ? ` ${cause}` : ""}`,
      );
      failures.push(`${key} — ${TARGET_LABELS[name]}`);
      results[`${key} ${name}`] = { error: message };
    } finally {
      await target?.stop();
    }
  }
  return out;
}

/** Load generators for one run; stopped when the run ends. */
async function withClients<T>(count: number, body: (clients: LoadClient[]) => Promise<T>) {
  const clients = Array.from({ length: count }, (_, i) => new LoadClient(nodeModules, `#${i}`));
  try {
    return await body(clients);
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
  }
}

const pick = <T, K extends keyof T>(map: Partial<Record<TargetName, T>>, key: K) =>
  Object.fromEntries(
    Object.entries(map).map(([name, value]) => [name, (value as T)[key] as number]),
  );

function fanoutRows(
  scenario: string,
  n: number,
  paced: Partial<Record<TargetName, FanoutResult>>,
  burst: Partial<Record<TargetName, FanoutResult>>,
) {
  const vsRaw = { kind: "ratio", of: "deno", max: 1.25 } as const;
  const cpuGoals = scenario === "ws"
    ? [vsRaw, { kind: "ratio", of: "socketio", max: 0.65 } as const]
    : [vsRaw];
  const lostDup = (map: Partial<Record<TargetName, FanoutResult>>) =>
    Object.fromEntries(
      Object.entries(map).map(([name, r]) => [name, r!.lost + r!.duplicated + r!.dropped]),
    );
  const s = `paced ${scenario}`;
  rows.push(
    {
      scenario: s,
      n,
      metric: "server CPU µs/delivery",
      values: pick(paced, "cpuUsPerDelivery"),
      goals: cpuGoals,
      digits: 2,
    },
    {
      scenario: s,
      n,
      metric: "latency p50 ms",
      values: pick(paced, "p50"),
      goals: [vsRaw],
      digits: 2,
    },
    {
      scenario: s,
      n,
      metric: "latency p99 ms",
      values: pick(paced, "p99"),
      goals: [vsRaw],
      digits: 2,
    },
    { scenario: s, n, metric: "latency max ms", values: pick(paced, "max"), digits: 2 },
    {
      scenario: s,
      n,
      metric: "first delivery, worst ms",
      values: pick(paced, "firstMax"),
      goals: [{ kind: "max", max: 25 }],
      digits: 2,
    },
    {
      scenario: s,
      n,
      metric: "lost+dup+dropped",
      values: lostDup(paced),
      goals: [{ kind: "zero" }],
      digits: 0,
    },
    {
      scenario: `burst ${scenario}`,
      n,
      metric: "deliveries/s",
      values: pick(burst, "deliveriesPerSecond"),
      digits: 0,
      note: "reported (client-bound)",
    },
    {
      scenario: `burst ${scenario}`,
      n,
      metric: "server CPU µs/delivery",
      values: pick(burst, "cpuUsPerDelivery"),
      digits: 2,
    },
    {
      scenario: `burst ${scenario}`,
      n,
      metric: "lost+dup+dropped",
      values: lostDup(burst),
      goals: [{ kind: "zero" }],
      digits: 0,
    },
  );
}

// ---- fan-out and idle memory, per transport ------------------------------------------------
const fanoutOptions = { k: settings.k, gapMs: settings.gapMs };
type Transport = "ws" | "sse" | "mix";
/** Single-instance Liveboard's fan-out figures, by transport and N: the cluster's comparison. */
const singleFanout = new Map<string, { paced?: FanoutResult; burst?: FanoutResult }>();
for (const n of settings.ns) {
  for (const transport of ["ws", "sse", "mix"] as Transport[]) {
    const names: TargetName[] = transport === "ws"
      ? ["liveboard", "deno", "socketio"]
      : ["liveboard", "deno"];
    const memory: Partial<Record<TargetName, number>> = {};
    const paced: Partial<Record<TargetName, FanoutResult>> = {};
    const burst: Partial<Record<TargetName, FanoutResult>> = {};
    // Idle memory needs a forced GC (the inspector); timings must not run under it, so each
    // is measured on its own fresh server.
    if (transport !== "mix") {
      await eachTarget(
        `idle ${transport} N=${n}`,
        names,
        (target) =>
          withClients(1, async (clients) => {
            const spec = transport === "ws" ? target.ws : target.sse!;
            const open = () => openGroups(target, [{ client: clients[0], spec, count: n }]);
            const idle = await idleMemory(target, n, settings.settleMs, open);
            memory[target.name] = idle.kbPerConnection;
            return idle;
          }),
        [],
        { inspect: true },
      );
    }
    await eachTarget(
      `${transport} N=${n}`,
      names,
      (target) =>
        withClients(transport === "mix" ? 2 : 1, async (clients) => {
          const groups: Group[] = transport === "mix"
            ? [
              { client: clients[0], spec: target.ws, count: Math.floor(n / 2) },
              { client: clients[1], spec: target.sse!, count: n - Math.floor(n / 2) },
            ]
            : [{
              client: clients[0],
              spec: transport === "ws" ? target.ws : target.sse!,
              count: n,
            }];
          await openGroups(target, groups);
          paced[target.name] = await fanout(target, groups, { ...fanoutOptions, burst: false });
          burst[target.name] = await fanout(target, groups, { ...fanoutOptions, burst: true });
          return { paced: paced[target.name], burst: burst[target.name] };
        }),
    );
    if (transport !== "mix") {
      rows.push({
        scenario: `idle ${transport}`,
        n,
        metric: "server RSS KB/connection",
        values: memory,
        goals: [{ kind: "ratio", of: "deno", max: 1.25 }],
      });
    }
    fanoutRows(transport, n, paced, burst);
    singleFanout.set(`${transport} ${n}`, { paced: paced.liveboard, burst: burst.liveboard });
  }
}

// ---- long-poll wake-up -----------------------------------------------------------------------
for (const n of settings.ns) {
  const woken = await eachTarget(
    `longpoll N=${n}`,
    ["liveboard", "deno"],
    (target) => withClients(1, ([client]) => longPollWake(target, client, n)),
  );
  rows.push(
    {
      scenario: "long-poll wake",
      n,
      metric: "all answered ms",
      values: pick(woken, "all"),
      digits: 1,
    },
    {
      scenario: "long-poll wake",
      n,
      metric: "answer p50 ms",
      values: pick(woken, "p50"),
      digits: 1,
    },
    {
      scenario: "long-poll wake",
      n,
      metric: "lost",
      values: pick(woken, "lost"),
      goals: [{ kind: "zero" }],
      digits: 0,
    },
  );
}

// ---- a big board in the browser ----------------------------------------------------------------
if (settings.browserCards.length > 0 && !browserAvailable) {
  notes.push("browser scenario skipped: Chromium is not installed at /usr/bin/chromium");
} else if (settings.browserCards.length > 0 && settings.targets.includes("liveboard")) {
  for (const cards of settings.browserCards) {
    const { liveboard: seen } = await eachTarget(
      `browser ${cards} cards`,
      ["liveboard"],
      (target) => browserBoard(target, cards),
    );
    if (!seen) continue;
    const row = (metric: string, value: number, max?: number, digits = 1): Row => ({
      scenario: "browser board",
      n: cards,
      metric,
      values: { liveboard: value },
      ...(max === undefined ? {} : { goals: [{ kind: "max" as const, max }] }),
      digits,
    });
    rows.push(
      row("snapshot KB", seen.snapshotBytes / 1024, undefined, 0),
      row("snapshot gzip KB", seen.snapshotGzipBytes / 1024, undefined, 0),
      row("snapshot server ms", seen.snapshotServerMs, 50),
      row("board visible ms", seen.visibleMs, 1000, 0),
      row("one event p50 ms", seen.eventP50),
      row("one event p95 ms", seen.eventP95, 50),
      row("burst of 100 ms", seen.burst100Ms, 500, 0),
      row("JS heap MB", seen.heapMb),
      row("DOM nodes", seen.domNodes, undefined, 0),
    );
  }
}

// ---- write path --------------------------------------------------------------------------------
const written = settings.writeMs === 0 ? {} : await eachTarget(
  "write",
  ["liveboard", "deno", "liveboard-pg", "cluster"],
  (target) => writePath(target, { durationMs: settings.writeMs, concurrency: 32 }),
);
for (const op of ["create", "move"] as const) {
  const mine = written.liveboard?.[op];
  const values = (key: "requestsPerSecond" | "p99" | "cpuUsPerRequest") => ({
    ...(mine ? { liveboard: mine[key] } : {}),
    ...(written.deno ? { deno: written.deno.create[key] } : {}),
  });
  const scenario = op === "create" ? "write POST /tasks" : "write PATCH move";
  rows.push(
    {
      scenario,
      n: 32,
      metric: "requests/s",
      values: values("requestsPerSecond"),
      goals: [{ kind: "ratioMin", of: "deno", min: 0.5 }],
      digits: 0,
    },
    {
      scenario,
      n: 32,
      metric: "latency p99 ms",
      values: values("p99"),
      goals: [{ kind: "max", max: 25 }],
      digits: 2,
    },
    {
      scenario,
      n: 32,
      metric: "server CPU µs/request",
      values: values("cpuUsPerRequest"),
      digits: 0,
    },
    // A refused write is fast: without this row a write path answering 409s looks quick.
    {
      scenario,
      n: 32,
      metric: "errors",
      values: {
        ...(mine ? { liveboard: mine.errors } : {}),
        ...(written.deno ? { deno: written.deno.create.errors } : {}),
      },
      goals: [{ kind: "zero" }],
      digits: 0,
    },
  );
  for (const [name, result] of Object.entries(written)) {
    const r = name === "deno" ? result?.create : result?.[op];
    if (r?.errors) notes.push(`${scenario} ${name}: ${r.errors} errors, first: ${r.firstError}`);
  }
}

// ---- cross-instance: the write path on PostgreSQL, alone and as a cluster ---------------------
const cluster = (row: Omit<Row, "table">): Row => ({ ...row, table: "cluster" });
for (const op of ["create", "move"] as const) {
  const sqlite = written.liveboard?.[op];
  const base = op === "create" ? "write POST /tasks" : "write PATCH move";
  for (const name of ["liveboard-pg", "cluster"] as const) {
    const mine = written[name]?.[op];
    if (!mine && (!settings.targets.includes(name) || settings.writeMs === 0)) continue;
    const scenario = `${name === "cluster" ? "cluster" : "PG"} ${base}`;
    const n = name === "cluster" ? "16 A + 16 B" : 32;
    type Key = "requestsPerSecond" | "p99" | "cpuUsPerRequest";
    const values = (key: Key) => ({
      ...(sqlite ? { liveboard: sqlite[key] } : {}),
      ...(mine ? { [name]: mine[key] } : {}),
    });
    const only = (value: number | undefined) => value === undefined ? {} : { [name]: value };
    rows.push(
      cluster({
        scenario,
        n,
        metric: "requests/s",
        values: values("requestsPerSecond"),
        subject: name,
        digits: 0,
        note: "reported",
      }),
      cluster({
        scenario,
        n,
        metric: "latency p50 ms",
        values: { ...(sqlite ? { liveboard: sqlite.p50 } : {}), ...only(mine?.p50) },
        subject: name,
        digits: 2,
      }),
      cluster({
        scenario,
        n,
        metric: "latency p99 ms",
        values: values("p99"),
        subject: name,
        goals: [{ kind: "max", max: 25 }],
        digits: 2,
      }),
      cluster({
        scenario,
        n,
        metric: name === "cluster" ? "server CPU µs/request, A+B" : "server CPU µs/request",
        values: values("cpuUsPerRequest"),
        subject: name,
        digits: 0,
      }),
      cluster({
        scenario,
        n,
        metric: "PostgreSQL backends CPU µs/request",
        values: only(mine?.postgresUsPerRequest),
        subject: name,
        digits: 0,
        note: "its connections' backends (unpinned)",
      }),
      ...(name === "cluster"
        ? [cluster({
          scenario,
          n,
          metric: "Redis CPU µs/request",
          values: only(mine?.redisUsPerRequest),
          subject: name,
          digits: 0,
          note: "the whole Redis server (unpinned)",
        })]
        : []),
      cluster({
        scenario,
        n,
        metric: "errors",
        values: only(mine?.errors),
        subject: name,
        goals: [{ kind: "zero" }],
        digits: 0,
      }),
    );
  }
}

// ---- cross-instance fan-out: writes on A, subscribers half on A, half on B ---------------------
if (settings.clusterN > 0) {
  const cn = settings.clusterN;
  const single = 2 * cn;
  const label = `${cn}+${cn}`;
  if (!settings.ns.includes(single) || !settings.targets.includes("liveboard")) {
    notes.push(
      `cluster fan-out ${label}: no single-instance Liveboard figures at N=${single} in this ` +
        `run (add ${single} to --n), so its goals show "?"`,
    );
  }
  for (const transport of ["ws", "sse", "mix"] as Transport[]) {
    let paced: FanoutResult | undefined, burst: FanoutResult | undefined;
    const measured = await eachTarget(
      `cluster ${transport} N=${label}`,
      ["cluster"],
      (target) =>
        withClients(transport === "mix" ? 4 : 2, async (clients) => {
          const [a, b] = target.instances!;
          const groups: Group[] = [];
          for (const [i, server] of [a, b].entries()) {
            if (transport === "mix") {
              const ws = Math.floor(cn / 2);
              groups.push(
                { client: clients[2 * i], spec: server.ws, count: ws, server },
                { client: clients[2 * i + 1], spec: server.sse!, count: cn - ws, server },
              );
            } else {
              const spec = transport === "ws" ? server.ws : server.sse!;
              groups.push({ client: clients[i], spec, count: cn, server });
            }
          }
          await openGroups(target, groups);
          paced = await fanout(target, groups, { ...fanoutOptions, burst: false });
          burst = await fanout(target, groups, { ...fanoutOptions, burst: true });
          return { paced, burst };
        }),
    );
    if (!measured.cluster) paced = burst = undefined;
    const reasons = Object.entries(burst?.closeReasons ?? paced?.closeReasons ?? {});
    if (reasons.length) {
      notes.push(
        `cluster ${transport} ${label}: connections closed by the servers: ` +
          reasons.map(([why, n]) => `${n} × ${why}`).join(", "),
      );
    }
    clusterFanoutRows(transport, label, singleFanout.get(`${transport} ${single}`), paced, burst);
  }
}

function clusterFanoutRows(
  transport: Transport,
  n: string,
  single: { paced?: FanoutResult; burst?: FanoutResult } | undefined,
  paced: FanoutResult | undefined,
  burst: FanoutResult | undefined,
) {
  const values = (one: number | undefined, mine: number | undefined) => ({
    ...(one === undefined ? {} : { liveboard: one }),
    ...(mine === undefined ? {} : { cluster: mine }),
  });
  const [a, b] = paced?.servers ?? [];
  const [burstA, burstB] = burst?.servers ?? [];
  const s = `cluster paced ${transport}`;
  const cpuGoal = [{ kind: "ratio", of: "liveboard", max: 1.25 } as const];
  const p99Goal = [{ kind: "plus", of: "liveboard", max: 15 } as const];
  const row = (scenario: string, rest: Omit<Row, "table" | "scenario" | "n" | "subject">) =>
    rows.push(cluster({ scenario, n, subject: "cluster", ...rest }));
  const lostDup = (r?: FanoutResult) => r ? { cluster: r.lost + r.duplicated + r.dropped } : {};
  row(s, {
    metric: "server CPU µs/delivery, A (writes)",
    values: values(single?.paced?.cpuUsPerDelivery, a?.cpuUsPerDelivery),
    goals: cpuGoal,
    digits: 2,
  });
  row(s, {
    metric: "server CPU µs/delivery, B",
    values: values(single?.paced?.cpuUsPerDelivery, b?.cpuUsPerDelivery),
    goals: cpuGoal,
    digits: 2,
  });
  row(s, {
    metric: "server CPU µs/delivery, A+B",
    values: values(single?.paced?.cpuUsPerDelivery, paced?.cpuUsPerDelivery),
    digits: 2,
  });
  row(s, {
    metric: "latency p50 ms, all",
    values: values(single?.paced?.p50, paced?.p50),
    digits: 2,
  });
  row(s, {
    metric: "latency p99 ms, all",
    values: values(single?.paced?.p99, paced?.p99),
    goals: p99Goal,
    digits: 2,
  });
  row(s, {
    metric: "latency p99 ms, A",
    values: values(single?.paced?.p99, a?.p99),
    digits: 2,
  });
  row(s, {
    metric: "latency p99 ms, B (via Redis)",
    values: values(single?.paced?.p99, b?.p99),
    goals: p99Goal,
    digits: 2,
  });
  row(s, {
    metric: "first delivery, worst ms, B",
    values: values(single?.paced?.firstMax, b?.firstMax),
    digits: 2,
  });
  row(s, {
    metric: "lost+dup+dropped",
    values: lostDup(paced),
    goals: [{ kind: "zero" }],
    digits: 0,
  });
  row(s, {
    metric: "events B filled from the log",
    values: b?.filled === undefined ? {} : { cluster: b.filled },
    digits: 0,
    note: "reported (not via Redis)",
  });
  const sb = `cluster burst ${transport}`;
  row(sb, {
    metric: "deliveries/s",
    values: values(single?.burst?.deliveriesPerSecond, burst?.deliveriesPerSecond),
    digits: 0,
    note: "reported (client-bound)",
  });
  row(sb, {
    metric: "server CPU µs/delivery, A",
    values: values(single?.burst?.cpuUsPerDelivery, burstA?.cpuUsPerDelivery),
    digits: 2,
  });
  row(sb, {
    metric: "server CPU µs/delivery, B",
    values: values(single?.burst?.cpuUsPerDelivery, burstB?.cpuUsPerDelivery),
    digits: 2,
  });
  row(sb, {
    metric: "lost+dup+dropped",
    values: lostDup(burst),
    goals: [{ kind: "zero" }],
    digits: 0,
  });
}

// ---- capacity ------------------------------------------------------------------------------------
/** The capacity holds run the SSE and WebSocket heartbeats this often (5 s: many per hold). */
const heartbeatFlags = [
  ...["--sse-heartbeat-ms", String(settings.capacityHeartbeatMs)],
  ...["--ws-heartbeat-ms", String(settings.capacityHeartbeatMs)],
];
let singleCapacity: CapacityResult | undefined;
if (settings.capacity > 0) {
  const c = settings.capacity;
  const held = await eachTarget(
    `capacity ${c}+${c}`,
    ["liveboard"],
    (target) =>
      withClients(2, (clients) =>
        capacity(target, [
          { client: clients[0], spec: target.ws, count: c },
          { client: clients[1], spec: target.sse!, count: c },
        ], { holdMs: settings.holdMs, trickleMs: 2000 })),
    heartbeatFlags,
    { inspect: true },
  );
  const r = singleCapacity = held.liveboard;
  if (r) {
    const scenario = `capacity ${c} ws + ${c} sse`;
    rows.push(
      {
        scenario,
        n: 2 * c,
        metric: "lost+dup+dropped+errors",
        values: { liveboard: r.lost + r.duplicated + r.dropped + r.errors },
        goals: [{ kind: "zero" }],
        digits: 0,
      },
      { scenario, n: 2 * c, metric: "RSS after open MB", values: { liveboard: r.rssAfterOpenMB } },
      { scenario, n: 2 * c, metric: "RSS at end (after GC) MB", values: { liveboard: r.rssEndMB } },
      { scenario, n: 2 * c, metric: "RSS max MB", values: { liveboard: r.rssMaxMB } },
      {
        scenario,
        n: 2 * c,
        metric: "trickle latency p99 ms",
        values: { liveboard: r.p99 },
        digits: 2,
      },
    );
  }
}

// ---- capacity of two instances ----------------------------------------------------------------
if (settings.clusterCapacity > 0) {
  const c = settings.clusterCapacity;
  const held = await eachTarget(
    `cluster capacity 2 x (${c}+${c})`,
    ["cluster"],
    (target) =>
      withClients(4, (clients) =>
        capacity(
          target,
          target.instances!.flatMap((server, i) => [
            { client: clients[2 * i], spec: server.ws, count: c, server },
            { client: clients[2 * i + 1], spec: server.sse!, count: c, server },
          ]),
          { holdMs: settings.holdMs, trickleMs: 2000 },
        )),
    heartbeatFlags,
    { inspect: true },
  );
  const r = held.cluster;
  const reasons = Object.entries(r?.closeReasons ?? {});
  if (reasons.length) {
    notes.push(
      `cluster capacity: connections closed by the servers: ` +
        reasons.map(([why, n]) => `${n} × ${why}`).join(", "),
    );
  }
  const one = settings.capacity === c ? singleCapacity : undefined;
  const scenario = `capacity 2 × (${c} ws + ${c} sse)`;
  const n = 4 * c;
  const values = (single: number | undefined, mine: number | undefined) => ({
    ...(single === undefined ? {} : { liveboard: single }),
    ...(mine === undefined ? {} : { cluster: mine }),
  });
  const row = (rest: Omit<Row, "table" | "scenario" | "n" | "subject">) =>
    rows.push(cluster({ scenario, n, subject: "cluster", ...rest }));
  if (r || settings.targets.includes("cluster")) {
    row({
      metric: "lost+dup+dropped+errors",
      values: r ? { cluster: r.lost + r.duplicated + r.dropped + r.errors } : {},
      goals: [{ kind: "zero" }],
      digits: 0,
    });
    row({
      metric: "connections not counted at end",
      values: r ? { cluster: r.connections - r.countedAtEnd } : {},
      goals: [{ kind: "zero" }],
      digits: 0,
    });
    for (const [i, name] of ["A", "B"].entries()) {
      const mine = r?.servers?.[i];
      row({
        metric: `RSS after open MB, ${name}`,
        values: values(one?.rssAfterOpenMB, mine?.rssAfterOpenMB),
      });
      row({
        metric: `RSS at end (after GC) MB, ${name}`,
        values: values(one?.rssEndMB, mine?.rssEndMB),
      });
      row({ metric: `RSS max MB, ${name}`, values: values(one?.rssMaxMB, mine?.rssMaxMB) });
    }
    row({
      metric: "trickle latency p99 ms, all",
      values: values(one?.p99, r?.p99),
      digits: 2,
      note: "reported (twice the deliveries per event on core 0)",
    });
    row({
      metric: "trickle latency p99 ms, B (via Redis)",
      values: values(one?.p99, r?.servers?.[1]?.p99),
      digits: 2,
    });
  }
}

// ---- output ----------------------------------------------------------------------------------------
const table = renderTable(rows);
const missed = missedGoals(rows);
const deno = Deno.version.deno;
const nodeVersion = new TextDecoder().decode(
  (await new Deno.Command("node", { args: ["--version"] }).output()).stdout,
).trim();
console.log(
  `\nLiveboard benchmark, ${settings.quick ? "quick" : "full"} mode, ${new Date().toISOString()}` +
    ` — Deno ${deno}, Node ${nodeVersion}, ${navigator.hardwareConcurrency} cores, K=${settings.k}` +
    ` events ${settings.gapMs} ms apart (paced) or at once (burst)\n`,
);
console.log(table);
if (rows.some((row) => row.table === "cluster")) {
  console.log(
    `\nCross-instance mode, same run — single-instance Liveboard on SQLite (figures from the ` +
      `table above) next to Liveboard on PostgreSQL (1 instance, no Redis) and a cluster of two ` +
      `instances A and B (PostgreSQL + Redis). A and B are both pinned to core 0, the core a ` +
      `single instance has; load generators on core 1; PostgreSQL and Redis unpinned.` +
      (settings.clusterN > 0
        ? ` Fan-out: writes go to A, subscribers are split evenly over A and B; the cluster at ` +
          `${settings.clusterN}+${settings.clusterN} is compared with one instance at ` +
          `N=${2 * settings.clusterN} (the same deliveries per event on core 0).`
        : "") +
      "\n",
  );
  console.log(renderTable(rows, "cluster"));
}
if (!settings.targets.includes("socketio")) {
  notes.push("Socket.IO row skipped: not among --targets");
}
for (const note of notes) console.log(`\nnote: ${note}`);
console.log(
  missed.length ? `\ntargets missed:\n- ${missed.join("\n- ")}` : "\nall checked targets met",
);
if (failures.length) console.log(`\nnot measured (see the notes):\n- ${failures.join("\n- ")}`);

const outDir = settings.out.includes("/")
  ? settings.out.slice(0, settings.out.lastIndexOf("/"))
  : ".";
await Deno.mkdir(outDir || "/", { recursive: true });
await Deno.writeTextFile(
  settings.out,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      mode: settings.quick ? "quick" : "full",
      settings,
      versions: { deno, node: nodeVersion },
      cores: navigator.hardwareConcurrency,
      rows,
      missed,
      failures,
      notes,
      results,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nJSON: ${settings.out} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
