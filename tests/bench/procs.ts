/**
 * Child processes for the benchmark: spawning servers and load generators pinned to a core with
 * the open-file limit raised, reading their CPU time and RSS from /proc, and asking a V8 process
 * for a full GC through its inspector (`--inspect`), which works the same for Deno and Node and
 * needs nothing from the product.
 */

/** The core servers run on; load generators run on the other one (when there are two). */
export const SERVER_CORE = 0;
export const CLIENT_CORE = 1;
const CORES = navigator.hardwareConcurrency;
const CLOCK_TICKS = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on Linux.

const hasTaskset = await new Deno.Command("sh", { args: ["-c", "command -v taskset"] })
  .output().then((out) => out.success, () => false);

export class Child {
  readonly process: Deno.ChildProcess;
  /** Resolves once stdout and stderr have been read to the end. */
  readonly drained: Promise<void>;
  #tail: string[] = [];
  #watchers: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];
  #stdinWriter?: WritableStreamDefaultWriter<Uint8Array>;

  /**
   * Starts `command args` on `core` (or unpinned) with the soft open-file limit raised to the hard
   * limit. Lines of stdout go to `onLine` when given, otherwise (like stderr) to a short tail.
   */
  constructor(
    readonly name: string,
    command: string,
    args: string[],
    options: { core?: number; stdin?: boolean; onLine?: (line: string) => void } = {},
  ) {
    const pin = options.core !== undefined && hasTaskset && CORES > 1
      ? `taskset -c ${options.core % CORES} `
      : "";
    const script = `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${pin}"$@"`;
    this.process = new Deno.Command("sh", {
      args: ["-c", script, "sh", command, ...args],
      stdin: options.stdin ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.drained = Promise.all([
      this.#pump(this.process.stdout, options.onLine),
      this.#pump(this.process.stderr),
    ]).then(() => {});
    if (options.stdin) this.#stdinWriter = this.process.stdin.getWriter();
  }

  get pid(): number {
    return this.process.pid;
  }

  /** The last lines the process printed (for error messages). */
  get tail(): string {
    return this.#tail.join("\n");
  }

  async #pump(stream: ReadableStream<Uint8Array>, onLine?: (line: string) => void) {
    let buffer = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        if (onLine) onLine(line);
        else this.#remember(line);
      }
    }
  }

  #remember(line: string) {
    this.#tail.push(line);
    if (this.#tail.length > 40) this.#tail.shift();
    for (const watcher of [...this.#watchers]) {
      const match = line.match(watcher.pattern);
      if (match) {
        this.#watchers.splice(this.#watchers.indexOf(watcher), 1);
        watcher.resolve(match);
      }
    }
  }

  /** Resolves with the first line (stdout or stderr, from now on) that matches `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`${this.name}: no line matching ${pattern} in ${timeoutMs} ms:\n${this.tail}`),
        );
      }, timeoutMs);
      this.#watchers.push({
        pattern,
        resolve: (match) => {
          clearTimeout(timer);
          resolve(match);
        },
      });
      this.process.status.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited before printing ${pattern}:\n${this.tail}`));
      });
    });
  }

  async writeLine(line: string): Promise<void> {
    await this.#stdinWriter!.write(new TextEncoder().encode(line + "\n"));
  }

  /** Ends the process (closing stdin first when piped, then SIGTERM, then SIGKILL). */
  async stop(graceMs = 3000): Promise<void> {
    await this.#stdinWriter?.close().catch(() => {});
    const exited = this.process.status.then(() => true);
    const late = (ms: number) => new Promise<false>((r) => setTimeout(() => r(false), ms));
    if (this.#stdinWriter && await Promise.race([exited, late(500)])) return;
    try {
      this.process.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    if (await Promise.race([exited, late(graceMs)])) return;
    try {
      this.process.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await this.process.status;
  }
}

/**
 * Reads a file of another process under /proc. Deno lets only --allow-all read /proc/<pid>/…
 * directly, so `cat` (through --allow-run) reads it.
 */
async function readProc(pid: number, file: string): Promise<string> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/${file}`], stderr: "null" })
    .output();
  if (!out.success) throw new Error(`cannot read /proc/${pid}/${file} (process gone?)`);
  return new TextDecoder().decode(out.stdout);
}

/** CPU time (user + system) the process has used, in seconds. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readProc(pid, "stat");
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Resident set size of the process, in bytes. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readProc(pid, "status");
  const kb = status.match(/^VmRSS:\s+(\d+) kB/m);
  return kb ? Number(kb[1]) * 1024 : NaN;
}

/**
 * Asks the V8 isolate behind `inspectorUrl` (ws://…) for two full garbage collections, then
 * answers how many bytes its JS heap uses.
 */
export async function collectGarbage(inspectorUrl: string): Promise<number> {
  const socket = new WebSocket(inspectorUrl);
  const pending = new Map<number, (result: { usedSize?: number } | undefined) => void>();
  socket.onmessage = (event) => {
    const { id, result } = JSON.parse(String(event.data));
    pending.get(id)?.(result);
  };
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error(`cannot reach the inspector at ${inspectorUrl}`));
  });
  let id = 0;
  const call = (method: string) =>
    new Promise<{ usedSize?: number } | undefined>((resolve) => {
      pending.set(++id, resolve);
      socket.send(JSON.stringify({ id, method }));
    });
  await call("HeapProfiler.collectGarbage");
  await call("HeapProfiler.collectGarbage");
  const usage = await call("Runtime.getHeapUsage");
  const closed = new Promise((resolve) => socket.onclose = resolve);
  socket.close();
  await closed;
  return usage?.usedSize ?? NaN;
}

export const INSPECTOR_LINE = /Debugger listening on (ws:\/\/\S+)/;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Wall-clock milliseconds on the clock the Node load generators use too. */
export const now = () => performance.timeOrigin + performance.now();
