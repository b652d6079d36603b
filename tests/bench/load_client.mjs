/**
 * The fan-out load generator (Node + `ws`, which costs less CPU per received message than a Deno
 * client). It holds many WebSocket, Socket.IO (engine.io v4 over `ws`) or SSE connections, or
 * parks many long polls, and records when each tagged event arrives on each connection.
 *
 * Events are tagged with a marker `~bk<phase>.<k>~` somewhere in their text; a connection that
 * sees a marker twice counts a duplicate, one that never sees it counts a loss.
 *
 * Protocol: one JSON command per stdin line, answered by one JSON line on stdout with the same
 * `id`. Commands: open, track, wait, report, poll, pollReport, stats, close (see `handlers`).
 *
 * Usage: node tests/bench/load_client.mjs <dir holding node_modules>
 */
import http from "node:http";
import { createRequire } from "node:module";
import process from "node:process";
import readline from "node:readline";

const require = createRequire(`${process.argv[2]}/`);
const WebSocket = require("ws");

const MARKER = /~bk(\d+)\.(\d+)~/;
const now = () => performance.timeOrigin + performance.now();

/** Every connection ever opened by `open`; `index` is its slot in the tracking table. */
const connections = [];
let tracking = null;
const counters = { errors: 0, dropped: 0, stray: 0, firstError: "" };
/** Why the server closed connections the client had not asked to close: "code reason" → count. */
const closeReasons = {};

function fail(error) {
  counters.errors++;
  counters.firstError ||= String(error?.message ?? error);
}

function onPayload(connection, text) {
  const match = MARKER.exec(text);
  if (!match) return;
  const at = now();
  const track = tracking;
  if (!track || Number(match[1]) !== track.phase) {
    counters.stray++;
    return;
  }
  const slot = connection.index * track.k + Number(match[2]);
  if (track.times[slot] !== 0) {
    track.dup++;
    return;
  }
  track.times[slot] = at;
  if (++track.received === track.expected) track.done();
}

/**
 * Opens one connection; resolves with true once it is ready to receive — when a message
 * containing `ready` arrives, or else once it is open — and with false when it fails.
 */
function connect(kind, url, headers, join, ready) {
  const connection = { index: connections.length, closing: false, closed: false, close: () => {} };
  connections.push(connection);
  const dropped = (why = "SSE stream ended") => {
    if (connection.closed) return;
    connection.closed = true;
    if (connection.closing) return;
    counters.dropped++;
    closeReasons[why] = (closeReasons[why] ?? 0) + 1;
  };
  return new Promise((settle) => {
    // A server that never sends the ready message fails the connection rather than hanging.
    const timer = setTimeout(() => {
      fail(new Error(`no message containing ${ready ?? "a handshake"} within 15 s`));
      settle(false);
    }, 15_000);
    const resolve = (ok) => {
      clearTimeout(timer);
      settle(ok);
    };
    const receive = (text) => {
      if (ready && text.includes(ready)) resolve(true);
      onPayload(connection, text);
    };
    if (kind === "sse") {
      const request = http.get(url, { headers, agent: false }, (response) => {
        if (response.statusCode !== 200) {
          fail(new Error(`SSE status ${response.statusCode}`));
          response.resume();
          return resolve(false);
        }
        response.setEncoding("utf8");
        let buffer = "";
        response.on("data", (chunk) => {
          buffer += chunk;
          const end = buffer.lastIndexOf("\n\n");
          if (end === -1) return;
          const frames = buffer.slice(0, end).split("\n\n");
          buffer = buffer.slice(end + 2);
          for (const frame of frames) receive(frame);
        });
        response.on("close", () => {
          dropped();
          resolve(false);
        });
        if (!ready) resolve(true);
      });
      request.on("error", (error) => {
        if (!connection.closing) fail(error);
        resolve(false);
      });
      connection.close = () => request.destroy();
      return;
    }
    const socket = new WebSocket(url, { headers, perMessageDeflate: false });
    connection.close = () => socket.terminate();
    socket.on("open", () => {
      if (join) socket.send(join);
      if (kind === "ws" && !ready) resolve(true);
    });
    socket.on("message", (data) => {
      const text = data.toString();
      if (kind === "sio") {
        // engine.io v4: "0" open → "40" connect to "/"; "2" ping → "3" pong; "42" event.
        if (text === "2") return socket.send("3");
        if (text.startsWith("0{")) return socket.send("40");
        if (text.startsWith("40")) return resolve(true);
      }
      receive(text);
    });
    socket.on("error", (error) => {
      if (!connection.closing) fail(error);
      resolve(false);
    });
    socket.on("close", (code, reason) => {
      dropped(`WebSocket ${code} ${reason.toString()}`.trim());
      resolve(false);
    });
  });
}

const polls = { times: [], marked: 0, failed: 0, answered: 0, count: 0, done: null };

function poll(url, headers) {
  const slot = polls.times.length;
  polls.times.push(0);
  http.get(url, { headers, agent: false }, (response) => {
    let body = "";
    response.setEncoding("utf8");
    response.on("data", (chunk) => body += chunk);
    response.on("end", () => {
      polls.times[slot] = now();
      if (response.statusCode === 200 && MARKER.test(body)) polls.marked++;
      else polls.failed++;
      if (++polls.answered === polls.count) polls.done?.();
    });
  }).on("error", (error) => {
    fail(error);
    polls.failed++;
    if (++polls.answered === polls.count) polls.done?.();
  });
}

const round = (ms) => Math.round(ms * 1000) / 1000;

const handlers = {
  /** Opens `count` connections, at most `concurrency` handshakes at a time. */
  async open({ kind, url, headers = {}, count, join, ready, concurrency = 100 }) {
    const started = now();
    let next = 0, opened = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        if (await connect(kind, url, headers, join, ready)) opened++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return { opened, failed: count - opened, ms: round(now() - started), ...counters };
  },
  /** Starts counting receipts of phase `phase`, events 0..k-1, on every open connection. */
  track({ phase, k }) {
    const expected = connections.filter((c) => !c.closing).length * k;
    let done;
    const finished = new Promise((resolve) => done = resolve);
    tracking = {
      phase,
      k,
      expected,
      received: 0,
      dup: 0,
      times: new Float64Array(connections.length * k),
      finished,
      done,
    };
    return { expected };
  },
  /** Resolves when every connection has every event of the tracked phase, or at the timeout. */
  async wait({ timeoutMs }) {
    let timer;
    const timeout = new Promise((resolve) => timer = setTimeout(resolve, timeoutMs));
    await Promise.race([tracking.finished, timeout]);
    clearTimeout(timer);
    return { complete: tracking.received === tracking.expected, received: tracking.received };
  },
  /** Latencies per event (`t0s[k]` = when event k's mutation was requested), losses, duplicates. */
  report({ t0s }) {
    const { k, times, dup, received, expected } = tracking;
    const latencies = Array.from({ length: k }, () => []);
    for (const connection of connections) {
      if (connection.closing) continue;
      for (let j = 0; j < k; j++) {
        const at = times[connection.index * k + j];
        if (at !== 0) latencies[j].push(round(at - t0s[j]));
      }
    }
    const lastAt = times.reduce((max, t) => Math.max(max, t), 0);
    return {
      received,
      expected,
      lost: expected - received,
      dup,
      lastAt,
      latencies,
      closeReasons,
      ...counters,
    };
  },
  /** Parks `count` long polls; answers once they are all sent. */
  poll({ url, headers = {}, count }) {
    Object.assign(polls, { times: [], marked: 0, failed: 0, answered: 0, count });
    for (let i = 0; i < count; i++) poll(url, headers);
    return { sent: count };
  },
  /** Waits for every parked poll to answer; latencies from `t0`. */
  async pollReport({ t0, timeoutMs }) {
    let timer;
    if (polls.answered < polls.count) {
      await Promise.race([
        new Promise((resolve) => polls.done = resolve),
        new Promise((resolve) => timer = setTimeout(resolve, timeoutMs)),
      ]);
    }
    clearTimeout(timer);
    const latencies = polls.times.filter((t) => t !== 0).map((t) => round(t - t0));
    return { answered: polls.answered, marked: polls.marked, failed: polls.failed, latencies };
  },
  /** Connections open now, and the counters (for a diagnosis when something is missing). */
  stats() {
    const open = connections.filter((c) => !c.closing && !c.closed).length;
    return { open, connections: connections.length, closeReasons, ...counters };
  },
  /** Closes every connection. */
  close() {
    for (const connection of connections) {
      if (connection.closing) continue;
      connection.closing = true;
      connection.close();
    }
    return { closed: true };
  },
};

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const command = JSON.parse(line);
  let reply;
  try {
    reply = await handlers[command.cmd](command);
  } catch (error) {
    reply = { error: String(error?.stack ?? error) };
  }
  process.stdout.write(JSON.stringify({ id: command.id, ...reply }) + "\n");
});
lines.on("close", () => {
  handlers.close();
  setTimeout(() => process.exit(0), 100);
});
