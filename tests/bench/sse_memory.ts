/**
 * Where an idle SSE connection's memory goes: server RSS per connection (after GC) on the raw
 * Deno baseline for an HTTP request parked without a response, a WebSocket, and SSE bodies
 * built three ways. Not part of `deno task bench`; run it on its own:
 *
 *   deno run -A tests/bench/sse_memory.ts [N=2000]
 */
import { LoadClient } from "./clients.ts";
import { sleep } from "./procs.ts";
import { idleMemory } from "./scenarios.ts";
import { startTarget } from "./targets.ts";

const n = Number(Deno.args[0] ?? 2000);
const nodeModules = new URL("../../.bench-cache", import.meta.url).pathname;

async function measure(label: string, open: (client: LoadClient, url: string) => Promise<void>) {
  const target = await startTarget("deno", { nodeModules });
  const client = new LoadClient(nodeModules, label);
  try {
    const idle = await idleMemory(target, n, 1000, () => open(client, target.url));
    const kb = (value: number) => value.toFixed(1).padStart(7);
    console.log(
      `| ${label.padEnd(44)} | ${kb(idle.kbPerConnection)} | ${kb(idle.heapKbPerConnection)} |`,
    );
  } finally {
    await client.stop();
    await target.stop();
  }
}

async function until(check: () => Promise<boolean>) {
  while (!await check()) await sleep(50);
}

console.log(`| idle connection on raw Deno (N=${n})`.padEnd(46) + " | KB/conn | JS heap |");
console.log(`|${"-".repeat(46)}|--------:|--------:|`);
await measure("HTTP request parked, no response yet", async (client, url) => {
  await client.call({ cmd: "poll", url: `${url}/poll`, count: n });
  await until(async () => (await (await fetch(`${url}/count`)).json()).longpoll >= n);
});
await measure("WebSocket", async (client, url) => {
  await client.call({ cmd: "open", kind: "ws", url: `${url.replace("http", "ws")}/ws`, count: n });
});
await measure("SSE headers only, no chunk written", async (client, url) => {
  await client.call({ cmd: "open", kind: "sse", url: `${url}/sse?variant=empty`, count: n });
  await until(async () => (await (await fetch(`${url}/count`)).json()).sse >= n);
});
for (const variant of ["default", "bytes", "transform"]) {
  await measure(`SSE, ReadableStream ${variant}`, async (client, url) => {
    await client.call({
      cmd: "open",
      kind: "sse",
      url: `${url}/sse?variant=${variant}`,
      count: n,
      ready: '"type":"connected"',
    });
  });
}
