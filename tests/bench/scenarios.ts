/**
 * The benchmark scenarios, each run against one target at a time: idle memory per connection,
 * fan-out (paced or burst), long-poll wake-up, the write path, and capacity. They return plain
 * figures; main.ts lays them side by side.
 */
import { type LoadClient, runWriteClient } from "./clients.ts";
import { cpuSeconds, now, rssBytes, sleep } from "./procs.ts";
import type { ConnectSpec, Target } from "./targets.ts";

/** One load generator holding `count` connections of one kind. */
export interface Group {
  client: LoadClient;
  spec: ConnectSpec;
  count: number;
}

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
  const want = { websocket: 0, sse: 0 };
  for (const g of groups) want[g.spec.kind === "sse" ? "sse" : "websocket"] += g.count;
  await waitUntil(async () => {
    const counts = await target.counts();
    return counts.websocket >= want.websocket && counts.sse >= want.sse;
  }, "the server to count every connection");
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

export interface FanoutResult {
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
  await Promise.all(groups.map((g) => g.client.call({ cmd: "track", phase, k })));
  const t0s: number[] = new Array(k);
  const cpuBefore = await cpuSeconds(target.pid);
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
  await Promise.all(groups.map((g) => g.client.call({ cmd: "wait", timeoutMs })));
  const cpuAfter = await cpuSeconds(target.pid);
  const reports = await Promise.all(groups.map((g) => g.client.call({ cmd: "report", t0s })));

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
  const deliveries = sum("received");
  const lastAt = Math.max(...reports.map((r) => r.lastAt));
  return {
    expected: sum("expected"),
    deliveries,
    lost: sum("lost"),
    duplicated: sum("dup"),
    errors: sum("errors"),
    dropped: sum("dropped"),
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    max: all.at(-1) ?? NaN,
    firstP50: percentile(firsts, 50),
    firstMax: firsts.at(-1) ?? NaN,
    cpuUsPerDelivery: (cpuAfter - cpuBefore) * 1e6 / deliveries,
    deliveriesPerSecond: deliveries / ((lastAt - Math.min(...t0s)) / 1000),
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
  cpuUsPerRequest: number;
}

/**
 * `concurrency` clients sending creates for `durationMs`, then — where the target serves them —
 * moves on a board of realistic size.
 */
export async function writePath(
  target: Target,
  { durationMs, concurrency }: { durationMs: number; concurrency: number },
): Promise<{ create: WriteResult; move?: WriteResult }> {
  const write = target.write!;
  const run = async (mode: "create" | "move", extra = {}): Promise<WriteResult> => {
    const cpuBefore = await cpuSeconds(target.pid);
    const result = await runWriteClient({
      url: write.url,
      headers: write.headers,
      mode,
      concurrency,
      durationMs,
      ...extra,
    });
    const cpuAfter = await cpuSeconds(target.pid);
    const latencies = result.latencies.sort((a, b) => a - b);
    return {
      requestsPerSecond: result.requests / result.seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      errors: result.errors,
      firstError: result.firstError,
      // Includes the warm-up requests: slightly pessimistic, the same way for every target.
      cpuUsPerRequest: (cpuAfter - cpuBefore) * 1e6 / Math.max(1, result.requests),
    };
  };
  const create = await run("create");
  if (!write.prepareMoves) return { create };
  return { create, move: await run("move", await write.prepareMoves()) };
}

export interface CapacityResult {
  connections: number;
  events: number;
  deliveries: number;
  lost: number;
  duplicated: number;
  errors: number;
  dropped: number;
  rssAfterOpenMB: number;
  rssEndMB: number;
  rssMaxMB: number;
  p99: number;
}

/** Holds every group's connections for `holdMs` with one event every `trickleMs`. */
export async function capacity(
  target: Target,
  groups: Group[],
  { holdMs, trickleMs }: { holdMs: number; trickleMs: number },
): Promise<CapacityResult> {
  await openGroups(target, groups);
  await sleep(1000);
  await target.gc();
  const rssAfterOpen = await rssBytes(target.pid);
  const k = Math.max(1, Math.floor(holdMs / trickleMs));
  let rssMax = rssAfterOpen;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      rssMax = Math.max(rssMax, await rssBytes(target.pid));
      await sleep(1000);
    }
  })();
  const result = await fanout(target, groups, { k, gapMs: trickleMs, burst: false });
  sampling = false;
  await sampler;
  await sleep(500);
  await target.gc();
  const rssEnd = await rssBytes(target.pid);
  return {
    connections: groups.reduce((sum, g) => sum + g.count, 0),
    events: k,
    deliveries: result.deliveries,
    lost: result.lost,
    duplicated: result.duplicated,
    errors: result.errors,
    dropped: result.dropped,
    rssAfterOpenMB: rssAfterOpen / 2 ** 20,
    rssEndMB: rssEnd / 2 ** 20,
    rssMaxMB: rssMax / 2 ** 20,
    p99: result.p99,
  };
}
