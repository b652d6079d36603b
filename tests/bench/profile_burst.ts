/**
 * One burst fan-out scenario on one target, for profiling where its server time goes:
 *
 *   BENCH_CPU_PROF_DIR=/tmp/prof deno run -A tests/bench/profile_burst.ts \
 *     --target liveboard --transport sse --n 5000 --k 20 --rounds 3 [--scenario longpoll]
 *
 * Prints the burst figures of each round; with BENCH_CPU_PROF_DIR set, the server writes a
 * .cpuprofile there when it stops (open it in Chrome DevTools, or summarise it by self time).
 */
import { LoadClient } from "./clients.ts";
import { fanout, type Group, longPollWake, openGroups } from "./scenarios.ts";
import { startTarget, type TargetName } from "./targets.ts";

const args = new Map<string, string>();
for (let i = 0; i < Deno.args.length; i += 2) args.set(Deno.args[i], Deno.args[i + 1]);
const targetName = (args.get("--target") ?? "liveboard") as TargetName;
const transport = args.get("--transport") ?? "sse";
const n = Number(args.get("--n") ?? 5000);
const k = Number(args.get("--k") ?? 20);
const rounds = Number(args.get("--rounds") ?? 3);
/** `fanout` (a burst of k events) or `longpoll` (n parked polls woken by one event). */
const scenario = args.get("--scenario") ?? "fanout";

const nodeModules = new URL("../../.bench-cache", import.meta.url).pathname;
const target = await startTarget(targetName, { nodeModules });
const clients = [new LoadClient(nodeModules, "#0"), new LoadClient(nodeModules, "#1")];
try {
  if (scenario === "longpoll") {
    for (let round = 0; round < rounds; round++) {
      const result = await longPollWake(target, clients[0], n);
      console.log(
        `${targetName} long-poll wake N=${n}: all answered ${result.all.toFixed(1)} ms, p50 ${
          result.p50.toFixed(1)
        } ms, ${result.cpuUsPerAnswer.toFixed(2)} µs CPU/answer, lost ${result.lost}`,
      );
    }
  }
  const half = Math.floor(n / 2);
  const groups: Group[] = transport === "mix"
    ? [
      { client: clients[0], spec: target.ws, count: half },
      { client: clients[1], spec: target.sse!, count: n - half },
    ]
    : [{ client: clients[0], spec: transport === "ws" ? target.ws : target.sse!, count: n }];
  if (scenario === "fanout") await openGroups(target, groups);
  for (let round = 0; round < (scenario === "fanout" ? rounds : 0); round++) {
    const result = await fanout(target, groups, { k, gapMs: 0, burst: true });
    console.log(
      `${targetName} burst ${transport} N=${n} k=${k}: ${
        Math.round(result.deliveriesPerSecond)
      } deliveries/s, ${result.cpuUsPerDelivery.toFixed(2)} µs CPU/delivery, lost ${result.lost}`,
    );
  }
} finally {
  await Promise.all(clients.map((client) => client.stop()));
  await target.stop();
}
