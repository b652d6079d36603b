/**
 * The benchmark scenarios, each run against one target at a time: idle memory per connection,
 * fan-out (paced or burst), long-poll wake-up, the write path, and capacity. They return plain
 * figures; main.ts lays them side by side. A cluster target's connections are spread over its
 * instances (each group names its instance); its CPU, RSS and latency are also given per
 * instance.
 */
import { type LoadClient, runWriteClient, type WriteRun } from "./clients.ts";
import { cpuSeconds, now, rssBytes, sleep } from "./procs.ts";
import { type ServiceCpu, serviceCpu, serviceCpuDelta } from "./services.ts";
import type { ConnectSpec, Target } from "./targets.ts";

/**
 * One load generator holding `count` connections of one kind, to `server` (a cluster's
 * instance; default: the target). A load generator serves one instance only.
 */
export interface Group {
  client: LoadClient;
  spec: ConnectSpec;
  count: number;
  server?: Target;
}

/** The processes serving a target: itself, or each of its instances. */
export const serversOf = (target: Target): Target[] => target.instances ?? [target];
const serverOf = (target: Target, group: Group) => group.server ?? target;
const labelOf = (server: Target) => server.instance ?? server.name;

/** CPU seconds so far of each server process (and of the services behind them, if any). */
async function readCpu(target: Target): Promise<{ servers: number[]; services?: ServiceCpu }> {
  const servers = serversOf(target);
  return {
    servers: await Promise.all(servers.map((s) => cpuSeconds(s.pid))),
    services: target.backing
      ? await serviceCpu(servers.map((s) => s.pid), target.backing === "postgres+redis")
      : undefined,
  };
}

/** Relay fills so far, per instance (cross-instance mode only). */
const readFilled = (target: Target) =>
  Promise.all(serversOf(target).map((s) => s.filled?.() ?? Promise.resolve(NaN)));

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1))];
}

const marker = (phase: number, k: number) => `~bk${phase}.${k}~`;
let phases = 0;

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Opens every group's connections and waits until the server counts them all. */
export async function openGroups(target: Target, groups: Group[]): Promise<number> {
  const replies = await Promise.all(
    groups.map((g) => g.client.call({ cmd: "open", ...g.spec, count: g.count })),
  );
  const failed = replies.reduce((sum, r) => sum + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} connections failed to open: ${replies[0].firstError}`);
  const servers = [...new Set(groups.map((g) => serverOf(target, g)))];
  const want = servers.map(() => ({ websocket: 0, sse: 0 }));
  for (const g of groups) {
    want[servers.indexOf(serverOf(target, g))][g.spec.kind === "sse" ? "sse" : "websocket"] +=
      g.count;
  }
  let last: { websocket: number; sse: number }[] = [];
  try {
    await waitUntil(async () => {
      last = await Promise.all(servers.map((s) => s.counts()));
      return last.every((c, i) => c.websocket >= want[i].websocket && c.sse >= want[i].sse);
    }, "the server to count every connection");
  } catch (error) {
    // Say how far it got, on each side: what the servers count, what the clients saw close.
    const counted = servers.map((s, i) =>
      `${labelOf(s)} counts ws ${last[i]?.websocket}/${want[i].websocket}, ` +
      `sse ${last[i]?.sse}/${want[i].sse}`
    ).join("; ");
    const stats = await Promise.all(
      [...new Set(groups.map((g) => g.client))].map((c) => c.call({ cmd: "stats" })),
    ).catch(() => []);
    const sum = (key: string) => stats.reduce((total, r) => total + r[key], 0);
    const first = stats.map((r) => r.firstError).find(Boolean);
    const reasons: Record<string, number> = {};
    for (const r of stats) {
      for (const [why, n] of Object.entries(r.closeReasons as Record<string, number>)) {
        reasons[why] = (reasons[why] ?? 0) + n;
      }
    }
    const why = Object.entries(reasons).map(([reason, n]) => `${n} × ${reason}`).join(", ");
    throw new Error(
      `${(error as Error).message}: ${counted}; load clients: ${sum("open")} open, ` +
        `${sum("dropped")} closed by the server${why ? ` (${why})` : ""}, ` +
        `${sum("errors")} errors` + (first ? ` (first: ${first})` : ""),
    );
  }
  return Math.max(...replies.map((r) => r.ms));
}

export interface IdleMemory {
  rssBeforeMB: number;
  rssAfterMB: number;
  kbPerConnection: number;
  /** The part of it in the JS heap. */
  heapKbPerConnection: number;
}

/** RSS delta per connection (after a GC on both sides) while `open` adds `n` idle connections. */
export async function idleMemory(
  target: Target,
  n: number,
  settleMs: number,
  open: () => Promise<unknown>,
): Promise<IdleMemory> {
  await sleep(settleMs / 3);
  const heapBefore = await target.gc();
  const before = await rssBytes(target.pid);
  await open();
  await sleep(settleMs);
  const heapAfter = await target.gc();
  await sleep(200);
  const after = await rssBytes(target.pid);
  return {
    rssBeforeMB: before / 2 ** 20,
    rssAfterMB: after / 2 ** 20,
    kbPerConnection: (after - before) / 1024 / n,
    heapKbPerConnection: (heapAfter - heapBefore) / 1024 / n,
  };
}

/** A fan-out's figures on one instance (its own connections and CPU). */
export interface ServerFanout {
  instance: string;
  deliveries: number;
  lost: number;
  duplicated: number;
  dropped: number;
  p50: number;
  p99: number;
  max: number;
  firstMax: number;
  cpuUsPerDelivery: number;
  /** Events its relay took from the log rather than from Redis (cross-instance mode). */
  filled?: number;
}

export interface FanoutResult {
  /** Why the servers closed connections (the load generators' lifetime count). */
  closeReasons: Record<string, number>;
  /** Per instance, for a cluster target. */
  servers?: ServerFanout[];
  /** PostgreSQL backends' and Redis's CPU per event (µs), for targets on PostgreSQL. */
  postgresUsPerEvent?: number;
  redisUsPerEvent?: number;
  expected: number;
  deliveries: number;
  lost: number;
  duplicated: number;
  errors: number;
  dropped: number;
  p50: number;
  p99: number;
  max: number;
  /** Per event, the time until its first receipt: median and worst over the events. */
  firstP50: number;
  firstMax: number;
  cpuUsPerDelivery: number;
  deliveriesPerSecond: number;
}

/**
 * Sends `k` mutations — `gapMs` apart, or all at once when `burst` — and measures each delivery
 * on every connection of `groups` from the moment its mutation was requested.
 */
export async function fanout(
  target: Target,
  groups: Group[],
  { k, gapMs, burst }: { k: number; gapMs: number; burst: boolean },
): Promise<FanoutResult> {
  const phase = ++phases;
  const clients = [...new Set(groups.map((g) => g.client))];
  const servers = serversOf(target);
  const serverOfClient = clients.map((client) => {
    const mine = new Set(groups.filter((g) => g.client === client).map((g) => serverOf(target, g)));
    if (mine.size !== 1) throw new Error(`load client ${client.label} serves several instances`);
    return [...mine][0];
  });
  await Promise.all(clients.map((client) => client.call({ cmd: "track", phase, k })));
  const t0s: number[] = new Array(k);
  const filledBefore = await readFilled(target);
  const cpuBefore = await readCpu(target);
  const started = now();
  const send = async (j: number) => {
    t0s[j] = now();
    await target.mutate(marker(phase, j), j + 1);
  };
  if (burst) {
    await Promise.all(Array.from({ length: k }, (_, j) => send(j)));
  } else {
    for (let j = 0; j < k; j++) {
      await sleep(started + j * gapMs - now());
      await send(j);
    }
  }
  const timeoutMs = 10_000 + 10 * groups.reduce((sum, g) => sum + g.count, 0) * k / 1000;
  await Promise.all(clients.map((client) => client.call({ cmd: "wait", timeoutMs })));
  const cpuAfter = await readCpu(target);
  const filledAfter = await readFilled(target);
  const reports = await Promise.all(clients.map((client) => client.call({ cmd: "report", t0s })));

  const summary = summarize(reports, k);
  const cpu = (i: number) => cpuAfter.servers[i] - cpuBefore.servers[i];
  const totalCpu = servers.reduce((sum, _, i) => sum + cpu(i), 0);
  const lastAt = Math.max(...reports.map((r) => r.lastAt));
  const services = cpuBefore.services && cpuAfter.services
    ? serviceCpuDelta(cpuBefore.services, cpuAfter.services)
    : undefined;
  return {
    ...(target.instances && {
      servers: servers.map((server, i) => {
        const own = summarize(reports.filter((_, c) => serverOfClient[c] === server), k);
        return {
          instance: labelOf(server),
          deliveries: own.deliveries,
          lost: own.lost,
          duplicated: own.duplicated,
          dropped: own.dropped,
          p50: own.p50,
          p99: own.p99,
          max: own.max,
          firstMax: own.firstMax,
          cpuUsPerDelivery: cpu(i) * 1e6 / own.deliveries,
          filled: Number.isFinite(filledAfter[i] - filledBefore[i])
            ? filledAfter[i] - filledBefore[i]
            : undefined,
        };
      }),
    }),
    ...(services && {
      postgresUsPerEvent: services.postgres * 1e6 / k,
      redisUsPerEvent: services.redis === undefined ? undefined : services.redis * 1e6 / k,
    }),
    closeReasons: summary.closeReasons,
    expected: summary.expected,
    deliveries: summary.deliveries,
    lost: summary.lost,
    duplicated: summary.duplicated,
    errors: summary.errors,
    dropped: summary.dropped,
    p50: summary.p50,
    p99: summary.p99,
    max: summary.max,
    firstP50: summary.firstP50,
    firstMax: summary.firstMax,
    cpuUsPerDelivery: totalCpu * 1e6 / summary.deliveries,
    deliveriesPerSecond: summary.deliveries / ((lastAt - Math.min(...t0s)) / 1000),
  };
}

/** Latency percentiles and counts over some load generators' reports. */
// deno-lint-ignore no-explicit-any
function summarize(reports: Record<string, any>[], k: number) {
  const all: number[] = [];
  const firsts: number[] = [];
  for (let j = 0; j < k; j++) {
    let first = Infinity;
    for (const report of reports) {
      for (const latency of report.latencies[j] as number[]) {
        all.push(latency);
        if (latency < first) first = latency;
      }
    }
    if (first !== Infinity) firsts.push(first);
  }
  all.sort((a, b) => a - b);
  firsts.sort((a, b) => a - b);
  const sum = (key: string) => reports.reduce((total, r) => total + r[key], 0);
  const closeReasons: Record<string, number> = {};
  for (const report of reports) {
    for (const [why, n] of Object.entries((report.closeReasons ?? {}) as Record<string, number>)) {
      closeReasons[why] = (closeReasons[why] ?? 0) + n;
    }
  }
  return {
    closeReasons,
    expected: sum("expected"),
    deliveries: sum("received"),
    lost: sum("lost"),
    duplicated: sum("dup"),
    errors: sum("errors"),
    dropped: sum("dropped"),
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    max: all.at(-1) ?? NaN,
    firstP50: percentile(firsts, 50),
    firstMax: firsts.at(-1) ?? NaN,
  };
}

export interface LongPollResult {
  answered: number;
  lost: number;
  p50: number;
  /** Time until every parked poll has answered. */
  all: number;
  cpuUsPerAnswer: number;
}

/** Parks `n` long polls, sends one mutation, and times until every poll has answered. */
export async function longPollWake(
  target: Target,
  client: LoadClient,
  n: number,
): Promise<LongPollResult> {
  const phase = ++phases;
  const { url, headers } = await target.poll!();
  await client.call({ cmd: "poll", url, headers, count: n });
  await waitUntil(async () => (await target.counts()).longpoll >= n, "every poll to park");
  await sleep(200);
  const cpuBefore = await cpuSeconds(target.pid);
  const t0 = now();
  await target.mutate(marker(phase, 0), 1);
  const report = await client.call({ cmd: "pollReport", t0, timeoutMs: 30_000 });
  const cpuAfter = await cpuSeconds(target.pid);
  const latencies = (report.latencies as number[]).sort((a, b) => a - b);
  return {
    answered: report.answered,
    lost: n - report.marked,
    p50: percentile(latencies, 50),
    all: latencies.at(-1) ?? NaN,
    cpuUsPerAnswer: (cpuAfter - cpuBefore) * 1e6 / Math.max(1, report.answered),
  };
}

export interface WriteResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  firstError: string;
  /** Liveboard's CPU (every instance's, for a cluster) per request. */
  cpuUsPerRequest: number;
  /** Targets on PostgreSQL: the CPU of the backends serving them, and of Redis, per request. */
  postgresUsPerRequest?: number;
  redisUsPerRequest?: number;
}

/**
 * `concurrency` clients sending creates for `durationMs`, then — where the target serves them —
 * moves on a board of realistic size. A cluster's clients are split evenly over its instances
 * (one load generator per instance, all writing the same board).
 */
export async function writePath(
  target: Target,
  { durationMs, concurrency }: { durationMs: number; concurrency: number },
): Promise<{ create: WriteResult; move?: WriteResult }> {
  const servers = serversOf(target);
  const run = async (mode: "create" | "move", extra = {}): Promise<WriteResult> => {
    const cpuBefore = await readCpu(target);
    const runs: WriteRun[] = await Promise.all(servers.map((server, i) =>
      runWriteClient({
        url: server.write!.url,
        headers: server.write!.headers,
        mode,
        concurrency: Math.floor(concurrency / servers.length) +
          (i < concurrency % servers.length ? 1 : 0),
        durationMs,
        ...extra,
      })
    ));
    const cpuAfter = await readCpu(target);
    const requests = runs.reduce((sum, r) => sum + r.requests, 0);
    const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const cpu = cpuAfter.servers.reduce((sum, after, i) => sum + after - cpuBefore.servers[i], 0);
    const services = cpuBefore.services && cpuAfter.services
      ? serviceCpuDelta(cpuBefore.services, cpuAfter.services)
      : undefined;
    const perRequest = (seconds: number) => seconds * 1e6 / Math.max(1, requests);
    return {
      requestsPerSecond: requests / runs[0].seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      errors: runs.reduce((sum, r) => sum + r.errors, 0),
      firstError: runs.map((r) => r.firstError).find(Boolean) ?? "",
      // Includes the warm-up requests: slightly pessimistic, the same way for every target.
      cpuUsPerRequest: perRequest(cpu),
      ...(services && {
        postgresUsPerRequest: perRequest(services.postgres),
        redisUsPerRequest: services.redis === undefined ? undefined : perRequest(services.redis),
      }),
    };
  };
  const create = await run("create");
  const prepareMoves = target.write!.prepareMoves;
  if (!prepareMoves) return { create };
  return { create, move: await run("move", await prepareMoves()) };
}

export interface CapacityResult {
  connections: number;
  /** Connections the server(s) counted once the hold was over. */
  countedAtEnd: number;
  events: number;
  deliveries: number;
  lost: number;
  duplicated: number;
  errors: number;
  dropped: number;
  /** RSS figures: the sum over a cluster's instances (each in `servers`). */
  rssAfterOpenMB: number;
  rssEndMB: number;
  rssMaxMB: number;
  p99: number;
  closeReasons: Record<string, number>;
  servers?: {
    instance: string;
    rssAfterOpenMB: number;
    rssEndMB: number;
    rssMaxMB: number;
    p99: number;
    lost: number;
    duplicated: number;
    dropped: number;
  }[];
}

/** Holds every group's connections for `holdMs` with one event every `trickleMs`. */
export async function capacity(
  target: Target,
  groups: Group[],
  { holdMs, trickleMs }: { holdMs: number; trickleMs: number },
): Promise<CapacityResult> {
  const servers = serversOf(target);
  const rss = () => Promise.all(servers.map((s) => rssBytes(s.pid)));
  const gcAll = () => Promise.all(servers.map((s) => s.gc()));
  await openGroups(target, groups);
  await sleep(1000);
  await gcAll();
  const rssAfterOpen = await rss();
  const k = Math.max(1, Math.floor(holdMs / trickleMs));
  const rssMax = [...rssAfterOpen];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      (await rss()).forEach((bytes, i) => rssMax[i] = Math.max(rssMax[i], bytes));
      await sleep(1000);
    }
  })();
  const result = await fanout(target, groups, { k, gapMs: trickleMs, burst: false });
  sampling = false;
  await sampler;
  const counted = await Promise.all(servers.map((s) => s.counts()));
  await sleep(500);
  await gcAll();
  const rssEnd = await rss();
  const mb = (bytes: number[]) => bytes.reduce((sum, b) => sum + b, 0) / 2 ** 20;
  return {
    connections: groups.reduce((sum, g) => sum + g.count, 0),
    countedAtEnd: counted.reduce((sum, c) => sum + c.websocket + c.sse, 0),
    events: k,
    deliveries: result.deliveries,
    lost: result.lost,
    duplicated: result.duplicated,
    errors: result.errors,
    dropped: result.dropped,
    rssAfterOpenMB: mb(rssAfterOpen),
    rssEndMB: mb(rssEnd),
    rssMaxMB: mb(rssMax),
    p99: result.p99,
    closeReasons: result.closeReasons,
    ...(result.servers && {
      servers: result.servers.map((own, i) => ({
        instance: own.instance,
        rssAfterOpenMB: rssAfterOpen[i] / 2 ** 20,
        rssEndMB: rssEnd[i] / 2 ** 20,
        rssMaxMB: rssMax[i] / 2 ** 20,
        p99: own.p99,
        lost: own.lost,
        duplicated: own.duplicated,
        dropped: own.dropped,
      })),
    }),
  };
}
