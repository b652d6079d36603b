/**
 * The load benchmark harness (`deno task bench`) runs end to end in a tiny mode — every
 * scenario, every target, a few connections — and writes its JSON with no lost or duplicated
 * event. No timing is asserted: figures on a shared machine are the benchmark's business.
 */
import assert from "node:assert/strict";
import { chromiumAvailable } from "./browser_helpers.ts";
import { skipUnless } from "./helpers.ts";

const hasNode = await new Deno.Command("node", { args: ["--version"], stdout: "null" })
  .output().then((out) => out.success, () => false);

interface Row {
  scenario: string;
  metric: string;
  values: Record<string, number>;
}

Deno.test({
  name: "the benchmark harness runs every scenario in a tiny mode and loses no event",
  ignore: skipUnless(hasNode, "node (for the load generators)") ||
    skipUnless(chromiumAvailable, "chromium (for the browser scenario)"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liveboard-bench-smoke-" });
    try {
      const out = `${dir}/result.json`;
      const run = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "--allow-run",
          "--allow-sys",
          new URL("./bench/main.ts", import.meta.url).pathname,
          ...["--n", "20", "--k", "3", "--gap-ms", "20", "--write-ms", "300"],
          ...["--capacity", "10", "--hold-ms", "400", "--settle-ms", "100", "--out", out],
          ...["--browser-cards", "30"],
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(run.stdout);
      const stderr = new TextDecoder().decode(run.stderr);
      assert.ok(run.success, `bench failed:\n${stdout}\n${stderr}`);
      assert.match(stdout, /\| scenario +\| N +\| metric/, "prints the table");

      const result = JSON.parse(await Deno.readTextFile(out));
      const rows = result.rows as Row[];
      const row = (scenario: string, metric: string) =>
        rows.find((r) => r.scenario === scenario && r.metric === metric);
      // Liveboard and the raw baseline were both measured on SSE, long polls and writes.
      for (
        const [scenario, metric] of [
          ["paced sse", "latency p50 ms"],
          ["idle sse", "server RSS KB/connection"],
          ["long-poll wake", "all answered ms"],
          ["write POST /tasks", "requests/s"],
        ]
      ) {
        const values = row(scenario, metric)?.values ?? {};
        assert.ok(values.liveboard !== undefined, `${scenario} ${metric}: no Liveboard figure`);
        assert.ok(values.deno !== undefined, `${scenario} ${metric}: no baseline figure`);
      }
      // The browser scenario measured a board in Chromium.
      for (const metric of ["board visible ms", "one event p95 ms", "burst of 100 ms"]) {
        const value = row("browser board", metric)?.values.liveboard;
        assert.ok(value !== undefined && value > 0, `browser board ${metric}: ${value}`);
      }
      // Nothing lost or duplicated anywhere that was measured.
      for (const r of rows.filter((r) => /^lost/.test(r.metric))) {
        for (const [target, value] of Object.entries(r.values)) {
          assert.equal(value, 0, `${r.scenario} ${r.metric} for ${target}`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
