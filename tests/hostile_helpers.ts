/**
 * Helpers for the hostile-client tests: Liveboard as its own process (so its memory is its own:
 * VmRSS and VmHWM from /proc/<pid>/status; the connections it holds, from /proc), its /metrics
 * read with METRICS_TOKEN, and raw TCP clients that send an SSE request or a WebSocket upgrade
 * by hand and then read nothing.
 */
import { fileURLToPath } from "node:url";
import { type ServerProcess, spawnServer, type TestDatabase, testDatabase } from "./helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const METRICS_TOKEN = "hostile-scrape";
/** Seeded users (password `liveboard`); Alice is the admin. */
export const ALICE = "alice@example.com";
export const BOB = "bob@example.com";

/** A Liveboard server process on a fresh database (seeded, normal mode, fast hashing). */
export interface LiveboardProcess extends AsyncDisposable {
  url: string;
  port: number;
  pid: number;
  server: ServerProcess;
  /** fetch relative to the server, JSON in and out, with an optional Bearer token. */
  request(path: string, init?: RequestInit & { json?: unknown; token?: string }): Promise<Response>;
  login(email: string): Promise<string>;
  /** /metrics samples by name and labels, e.g. `liveboard_connections{transport="sse"}`. */
  metrics(): Promise<Map<string, number>>;
  memory(): Promise<{ rss: number; hwm: number }>;
  /** Resets the process's peak RSS (VmHWM) to its current RSS (best effort). */
  resetPeak(): Promise<void>;
  /**
   * TCP connections to its port that the process holds open (a descriptor each); only those
   * from these client ports when `peers` is given.
   */
  connections(peers?: Set<number>): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Spawns `deno run main.ts` on a fresh database (the test store: SQLite file or PostgreSQL
 * schema) with `settings` as environment variables, Alice as admin and METRICS_TOKEN set.
 */
export async function spawnLiveboard(settings: Record<string, string>): Promise<LiveboardProcess> {
  const database: TestDatabase = await testDatabase();
  const env = {
    PORT: "0",
    HOST: "127.0.0.1",
    DATABASE_URL: database.databaseUrl,
    DATABASE_SCHEMA: database.databaseSchema,
    SEED: "true",
    DEMO: "false",
    PBKDF2_ITERATIONS: "1000",
    ADMIN_EMAILS: ALICE,
    METRICS_TOKEN,
    LOG_LEVEL: "warn",
    ...settings,
  };
  const args = ["run", "--allow-net", "--allow-read", "--allow-write", "--allow-env", "main.ts"];
  let server: ServerProcess;
  try {
    server = await spawnServer(Deno.execPath(), args, { cwd: ROOT, env, name: "liveboard" });
  } catch (error) {
    await database.drop();
    throw error;
  }
  const { child, url } = server;
  const pid = child.pid;
  const port = Number(new URL(url).port);
  const request = (
    path: string,
    init: RequestInit & { json?: unknown; token?: string } = {},
  ) => {
    const headers = new Headers(init.headers);
    if (init.json !== undefined) headers.set("content-type", "application/json");
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    const body = init.json !== undefined ? JSON.stringify(init.json) : init.body;
    return fetch(url + path, { ...init, headers, body });
  };
  const status = () => shell(`cat /proc/${pid}/status`);
  const kb = (text: string, field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const { code } = await child.status;
      clearTimeout(killer);
      await server.drained;
      if (code !== 0) console.error(`liveboard exited with ${code}:\n${server.output()}`);
      await database.drop();
    })();
  return {
    url,
    port,
    pid,
    server,
    request,
    async login(email) {
      const response = await request("/login", {
        method: "POST",
        json: { email, password: "liveboard" },
      });
      if (response.status !== 200) throw new Error(`login ${email}: ${await response.text()}`);
      return (await response.json()).token as string;
    },
    async metrics() {
      const response = await request("/metrics", { token: METRICS_TOKEN });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`metrics: ${response.status} ${text}`);
      const samples = new Map<string, number>();
      for (const line of text.split("\n")) {
        const match = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
        if (match) samples.set(match[1], Number(match[2].replace("+Inf", "Infinity")));
      }
      return samples;
    },
    async memory() {
      const text = await status();
      return { rss: kb(text, "VmRSS"), hwm: kb(text, "VmHWM") };
    },
    async resetPeak() {
      // "5" resets the peak resident set size (proc(5), /proc/pid/clear_refs). Where that is not
      // allowed the peak counts from the start, which only makes the measured growth larger.
      await shell(`echo 5 > /proc/${pid}/clear_refs`).catch(() => {});
    },
    async connections(peers) {
      // The process's socket inodes, then the kernel's TCP table (same network namespace).
      const out = await shell(
        `find /proc/${pid}/fd -lname 'socket:*' -printf '%l\\n'; echo ---; ` +
          "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null",
      );
      const [fds, table] = out.split("---\n");
      const inodes = new Set(fds.match(/\d+/g));
      const local = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
      let held = 0;
      for (const line of table.split("\n")) {
        // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
        const fields = line.trim().split(/\s+/);
        if (fields.length < 10 || !fields[1].endsWith(local) || fields[3] === "0A") continue;
        const peer = parseInt(fields[2].slice(fields[2].lastIndexOf(":") + 1), 16);
        if (inodes.has(fields[9]) && (!peers || peers.has(peer))) held++;
      }
      return held;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Runs a shell command and returns its output. Deno lets only --allow-all read another
 * process's /proc/<pid>/… directly; the shell (through --allow-run) may.
 */
async function shell(command: string): Promise<string> {
  const out = await new Deno.Command("sh", { args: ["-c", command], stderr: "piped" }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  if (!out.success) throw new Error(`${command}: ${decode(out.stderr)}`);
  return decode(out.stdout);
}

/** The open-file limit (`ulimit -n`) this process and the servers it spawns run with. */
export async function openFileLimit(): Promise<number> {
  const limit = (await shell("ulimit -n")).trim();
  return limit === "unlimited" ? Infinity : Number(limit);
}

/** A metric sample by name and labels (0 when the series does not exist yet). */
export function sample(
  samples: Map<string, number>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const entries = Object.entries(labels);
  const key = entries.length === 0
    ? name
    : `${name}{${entries.map(([k, v]) => `${k}="${v}"`).join(",")}}`;
  return samples.get(key) ?? 0;
}

/** The local ports of these client connections (to tell them apart in the server's table). */
export const portsOf = (conns: Deno.TcpConn[]) => new Set(conns.map((conn) => conn.localAddr.port));

/** Opens a TCP connection to 127.0.0.1:`port` and writes `head` (and nothing else). */
export async function connectAndSend(port: number, head: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(head));
  } catch (error) {
    conn.close();
    throw error;
  }
  return conn;
}

/** The request head of `GET path` with these headers. */
export function requestHead(port: number, path: string, headers: Record<string, string>): string {
  const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return lines.join("\r\n") + "\r\n\r\n";
}

/** Runs `fn` over `items` with at most `limit` at a time; results in input order. */
export async function inBatches<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Reads a socket until the peer ends it, within `timeoutMs`: "eof" (FIN), "reset", or
 * "timeout" (still open; the connection is then left for the caller to close).
 */
export async function readUntilEnd(
  conn: Deno.Conn,
  timeoutMs: number,
): Promise<{ end: "eof" | "reset" | "timeout"; bytes: number }> {
  const buffer = new Uint8Array(1 << 16);
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    while (true) {
      const read = conn.read(buffer);
      const n = await Promise.race([read, timeout]);
      if (n === "timeout") {
        // The pending read settles when the caller closes the connection.
        read.catch(() => {});
        return { end: "timeout", bytes };
      }
      if (n === null) return { end: "eof", bytes };
      bytes += n;
    }
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionReset) return { end: "reset", bytes };
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const mb = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;

/**
 * A WebSocket by hand that reads nothing until told to: the upgrade, masked text frames, and at
 * the end a drain that skips data frames without decoding them (1,000 backlogs of ~1.8 MB each)
 * up to the server's close frame.
 */
export class SilentWebSocket {
  private constructor(readonly conn: Deno.TcpConn, private leftover: Uint8Array) {}

  /** Opens the connection and completes the handshake (fails unless the answer is 101). */
  static async connect(
    port: number,
    headers: Record<string, string>,
  ): Promise<SilentWebSocket> {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const conn = await connectAndSend(
      port,
      requestHead(port, "/ws", {
        Upgrade: "websocket",
        Connection: "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
        ...headers,
      }),
    );
    try {
      let received: Uint8Array = new Uint8Array(0);
      while (true) {
        const end = indexOfHeadEnd(received);
        if (end !== -1) {
          const head = new TextDecoder().decode(received.subarray(0, end));
          if (!head.startsWith("HTTP/1.1 101")) throw new Error(`Upgrade refused: ${head}`);
          return new SilentWebSocket(conn, received.slice(end + 4));
        }
        const chunk = new Uint8Array(4096);
        const n = await conn.read(chunk);
        if (n === null) throw new Error("Connection closed during the handshake");
        received = concat(received, chunk.subarray(0, n));
      }
    } catch (error) {
      conn.close();
      throw error;
    }
  }

  /** Sends a masked text frame (payload under 64 KiB). */
  async sendText(text: string): Promise<void> {
    const payload = new TextEncoder().encode(text);
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const header = payload.length < 126
      ? [0x81, 0x80 | payload.length]
      : [0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
    const frame = new Uint8Array(header.length + 4 + payload.length);
    frame.set(header);
    frame.set(mask, header.length);
    for (let i = 0; i < payload.length; i++) {
      frame[header.length + 4 + i] = payload[i] ^ mask[i % 4];
    }
    await this.conn.write(frame);
  }

  /**
   * Reads everything up to the server's close frame: its code and text, and the payload bytes
   * of the data frames before it. `close` is null when the connection ended without one, or
   * none came within `timeoutMs` (the connection is then closed).
   */
  async readUntilClose(timeoutMs = 20_000): Promise<
    { close: { code: number; text: string } | null; dataBytes: number }
  > {
    const timer = setTimeout(() => this.close(), timeoutMs);
    try {
      return await this.#readUntilClose();
    } finally {
      clearTimeout(timer);
    }
  }

  async #readUntilClose(): Promise<
    { close: { code: number; text: string } | null; dataBytes: number }
  > {
    let buffer: Uint8Array = this.leftover;
    this.leftover = new Uint8Array(0);
    let dataBytes = 0;
    /** Payload bytes of the current data frame still to skip. */
    let skip = 0;
    const chunk = new Uint8Array(1 << 16);
    while (true) {
      if (skip > 0) {
        const n = Math.min(skip, buffer.length);
        skip -= n;
        buffer = buffer.subarray(n);
      }
      const frame = skip === 0 ? parseFrameHead(buffer) : null;
      if (frame) {
        if (frame.opcode === 0x8) {
          if (buffer.length >= frame.offset + frame.length) {
            const payload = buffer.subarray(frame.offset, frame.offset + frame.length);
            const code = payload.length >= 2 ? (payload[0] << 8) | payload[1] : 1005;
            const text = new TextDecoder().decode(payload.subarray(2));
            return { close: { code, text }, dataBytes };
          }
        } else {
          dataBytes += frame.length;
          skip = frame.length;
          buffer = buffer.subarray(frame.offset);
          continue;
        }
      }
      let n: number | null;
      try {
        n = await this.conn.read(chunk);
      } catch (error) {
        // Reset by the server, or closed here when the time ran out.
        if (
          error instanceof Deno.errors.ConnectionReset ||
          error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted
        ) return { close: null, dataBytes };
        throw error;
      }
      if (n === null) return { close: null, dataBytes };
      buffer = concat(buffer, chunk.subarray(0, n));
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** A frame's opcode, payload length and where its payload starts, once its header is in. */
function parseFrameHead(
  bytes: Uint8Array,
): { opcode: number; length: number; offset: number } | null {
  if (bytes.length < 2) return null;
  const opcode = bytes[0] & 0x0f;
  const short = bytes[1] & 0x7f; // a server's frames are not masked
  if (short < 126) return { opcode, length: short, offset: 2 };
  if (short === 126) {
    return bytes.length < 4 ? null : { opcode, length: (bytes[2] << 8) | bytes[3], offset: 4 };
  }
  if (bytes.length < 10) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset + 2, 8);
  return { opcode, length: Number(view.getBigUint64(0)), offset: 10 };
}

function indexOfHeadEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
