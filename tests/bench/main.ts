/**
 * `deno task bench`: Liveboard's load benchmark. Starts each server as its own process pinned
 * to one core (Liveboard in normal mode on a fresh database; the raw Deno baseline; Socket.IO 4
 * on Node), drives it from Node load generators pinned to the other core, and prints one
 * Markdown table with every figure side by side, plus a JSON file.
 *
 *   deno task bench --quick              # < 2 minutes, N = 1000
 *   deno task bench                      # full: N = 1k, 5k, 10k, and the capacity hold
 *   deno task bench --out results.json   # JSON path (default bench-results/<mode>-<time>.json)
 *
 * Tuning flags (mainly for the smoke test): --n 20,100  --k 20  --gap-ms 500  --write-ms 5000
 * --capacity 9000 (connections per transport, 0 = skip)  --hold-ms 60000
 * --settle-ms 1000 (wait before a memory reading)  --targets liveboard,deno,socketio.
 */
import { LoadClient } from "./clients.ts";
import { missedGoals, renderTable, type Row } from "./report.ts";
import {
  capacity,
  fanout,
  type FanoutResult,
  type Group,
  idleMemory,
  longPollWake,
  openGroups,
  writePath,
} from "./scenarios.ts";
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
  const targets = (flags.get("--targets") ?? "liveboard,deno,socketio").split(",") as TargetName[];
  for (const t of targets) {
    if (!(t in TARGET_LABELS)) throw new Error(`Unknown target "${t}"`);
  }
  const stamp = new Date().toISOString().replaceAll(":", "-").slice(0, 19);
  return {
    quick,
    out: flags.get("--out") ?? `${root}bench-results/${quick ? "quick" : "full"}-${stamp}.json`,
    ns,
    k: int("--k", 20),
    gapMs: int("--gap-ms", quick ? 150 : 500),
    writeMs: int("--write-ms", quick ? 2000 : 8000),
    capacity: int("--capacity", quick ? 0 : 9000),
    holdMs: int("--hold-ms", 60_000),
    settleMs: int("--settle-ms", 1000),
    targets,
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
const prepared = await prepareNode();
if (!prepared.nodeModules) {
  console.error(`bench: cannot run the Node load generators: ${prepared.reason}`);
  Deno.exit(1);
}
const nodeModules = prepared.nodeModules;
const rows: Row[] = [];
const results: Record<string, unknown> = {};
const notes: string[] = [];
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
      notes.push(`${key} — ${TARGET_LABELS[name]}: not measured: ${message.split("\n")[0]}`);
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
for (const n of settings.ns) {
  for (const transport of ["ws", "sse", "mix"] as const) {
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

// ---- write path --------------------------------------------------------------------------------
const written = await eachTarget(
  "write",
  ["liveboard", "deno"],
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
  );
  for (const [name, result] of Object.entries(written)) {
    const r = name === "deno" ? result?.create : result?.[op];
    if (r?.errors) notes.push(`${scenario} ${name}: ${r.errors} errors, first: ${r.firstError}`);
  }
}

// ---- capacity ------------------------------------------------------------------------------------
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
    ["--sse-heartbeat-ms", "5000", "--ws-heartbeat-ms", "5000"],
    { inspect: true },
  );
  const r = held.liveboard;
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
if (!settings.targets.includes("socketio")) {
  notes.push("Socket.IO row skipped: not among --targets");
}
for (const note of notes) console.log(`\nnote: ${note}`);
console.log(
  missed.length ? `\ntargets missed:\n- ${missed.join("\n- ")}` : "\nall checked targets met",
);

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
      notes,
      results,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nJSON: ${settings.out} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
