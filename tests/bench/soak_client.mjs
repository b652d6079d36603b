/**
 * The soak test's clients (Node + `ws`): many Liveboard clients, each following one board over
 * one of the four transports — WebSocket (`join` with a cursor), SSE (`Last-Event-ID`), long
 * polling (`/poll?cursor=`) and short polling (`/updates?since=`) — and resuming from its own
 * cursor whenever it reconnects. It churns by itself: every `everyMs` a fraction of the clients
 * drops its connection and comes back after a short pause (sometimes on the next transport,
 * sometimes with a cursor from the future, which must be answered by `resync`).
 *
 * Every client keeps the seq of every board event it received, so `verify` can compare them
 * with the board's log exactly: lost, duplicated, out of order, stray. A `resync` is handled as
 * documented — refetch the board's snapshot (`GET /boards/:id`) and carry on — and the events
 * it skips (the ones the snapshot covers) are excused, and counted.
 *
 * Protocol: one JSON command per stdin line, answered by one JSON line on stdout with the same
 * `id`. Commands: start, churn, stats, drain, verify, close (see `handlers`). Closing stdin
 * closes every connection and exits.
 *
 * Usage: node tests/bench/soak_client.mjs <dir holding node_modules>
 */
import http from "node:http";
import { createRequire } from "node:module";
import { monitorEventLoopDelay } from "node:perf_hooks";
import process from "node:process";
import readline from "node:readline";

const require = createRequire(`${process.argv[2]}/`);
const WebSocket = require("ws");

const TRANSPORTS = ["websocket", "sse", "longpoll", "poll"];
/** A cursor from the future (15 digits, the most a cursor may have): the server answers resync. */
const FUTURE_CURSOR = 900_000_000_000_000;
const now = () => performance.timeOrigin + performance.now();

let base = "";
let shortPollMs = 2000;
let churn = { everyMs: 5000, fraction: 0.02, downMs: 2000, switchFraction: 0, resyncFraction: 0 };
let churnTimer = null;
let closing = false;
/** Keep-alive connections for polls and snapshots (SSE streams get a connection each). */
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });
/** Every client; see `makeClient`. */
const clients = [];

/** This process's own event-loop delay: how far its timings can be trusted. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const stats = {
  received: { websocket: 0, sse: 0, longpoll: 0, poll: 0 },
  reconnects: 0,
  churned: 0,
  switches: 0,
  resyncForced: 0,
  resyncUnexpected: 0,
  /** Resyncs by the transport they came on. */
  resyncs: { websocket: 0, sse: 0, longpoll: 0, poll: 0 },
  snapshots: 0,
  snapshotErrors: 0,
  violations: 0,
  stray: 0,
  polls: 0,
  longPolls: 0,
  longPollTimeouts: 0,
  /** "transport code/reason" → count: failures and refusals the client saw. */
  errors: {},
  /** Connections the server ended while the client did not ask for it: "reason" → count. */
  serverCloses: {},
  firstError: "",
};

function countError(key, detail) {
  stats.errors[key] = (stats.errors[key] ?? 0) + 1;
  stats.firstError ||= `${key}: ${String(detail ?? "").slice(0, 300)}`;
}

// ---- histograms ----------------------------------------------------------------------------------
// `latency`: from an event's commit (`at`) to its receipt, for events committed once the client's
// connection was up (not the catch-up after a reconnect). `connect`: from starting a reconnection
// to being up again — WebSocket `presence` after the join, SSE `connected`, the first short-poll answer
// (a long poll is up as soon as it is sent, so it has none).
// Buckets of 1 ms up to 1 s, 10 ms up to 10 s, 100 ms up to 120 s, then one overflow bucket.
const BUCKETS = 1000 + 900 + 1100 + 1;
const bucketOf = (ms) =>
  ms < 1000
    ? Math.max(0, Math.floor(ms))
    : ms < 10_000
    ? 1000 + Math.floor((ms - 1000) / 10)
    : ms < 120_000
    ? 1900 + Math.floor((ms - 10_000) / 100)
    : BUCKETS - 1;
const perTransport = () => Object.fromEntries(TRANSPORTS.map((t) => [t, new Uint32Array(BUCKETS)]));
const histograms = { latency: perTransport(), connect: perTransport() };

/** Sparse [bucket, count] pairs of each histogram since the last call; resets them. */
function takeHistograms() {
  const out = {};
  for (const [kind, byTransport] of Object.entries(histograms)) {
    out[kind] = {};
    for (const t of TRANSPORTS) {
      const h = byTransport[t];
      const pairs = [];
      for (let i = 0; i < BUCKETS; i++) if (h[i]) pairs.push([i, h[i]]);
      h.fill(0);
      out[kind][t] = pairs;
    }
  }
  return out;
}

// ---- clients ------------------------------------------------------------------------------------

function makeClient(spec, cursor) {
  return {
    id: spec.id,
    board: spec.board,
    headers: { authorization: `Bearer ${spec.token}` },
    transport: spec.transport,
    /** down | connecting | up */
    state: "down",
    /** Bumped at every connect and drop: callbacks of an older connection do nothing. */
    epoch: 0,
    /** Where the next (re)connection resumes from. */
    resume: cursor,
    /** The newest event seq received (or skipped by a resync): the order check. */
    last: cursor,
    /** Every board event seq received, in order of receipt. */
    seqs: [],
    /** Seq ranges (from, to] a resync skipped: covered by a snapshot, not delivered. */
    excused: [],
    /** Reconnecting with a future cursor on purpose: the resync it gets is expected. */
    forcing: false,
    /** Up at least once: later connects are reconnects. */
    wasUp: false,
    /** When the current connection was up (Infinity until then): live events count from here. */
    sessionStart: Infinity,
    /** Closes the current connection (set by each transport). */
    close: () => {},
    timer: null,
    reconnects: 0,
    history: [spec.transport],
  };
}

function onEvent(c, event) {
  if (event.boardId !== c.board) {
    stats.stray++;
    return;
  }
  if (event.id <= c.last) stats.violations++;
  else c.last = event.id;
  c.resume = Math.max(c.resume, event.id);
  c.seqs.push(event.id);
  stats.received[c.transport]++;
  const at = Date.parse(event.at);
  if (at >= c.sessionStart) {
    const t = now();
    histograms.latency[c.transport][bucketOf(t - at)]++;
  }
}

function request(path, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { headers, agent }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => body += chunk);
      response.on("end", () => resolve({ status: response.statusCode, body }));
      response.on("error", reject);
    });
    req.on("error", reject);
  });
}

/** The documented answer to resync: refetch the board; resolves with the snapshot's cursor. */
async function fetchSnapshot(c) {
  stats.snapshots++;
  try {
    const { status, body } = await request(`/boards/${c.board}`, c.headers);
    if (status !== 200) throw new Error(`status ${status}: ${body.slice(0, 200)}`);
    const snapshot = JSON.parse(body);
    if (!Array.isArray(snapshot.tasks) || typeof snapshot.cursor !== "number") {
      throw new Error("snapshot without tasks or cursor");
    }
    return snapshot.cursor;
  } catch (error) {
    stats.snapshotErrors++;
    countError("snapshot", error?.message ?? error);
    return null;
  }
}

/**
 * A resync at `cursor`. Streams (WebSocket, SSE) carry on live after `cursor`; polls carry on
 * from the snapshot's cursor. Either way the events up to there are excused (the snapshot has
 * them). Resolves with the cursor to continue from.
 */
async function onResync(c, cursor, epoch) {
  if (c.forcing) stats.resyncForced++;
  else stats.resyncUnexpected++;
  stats.resyncs[c.transport]++;
  c.forcing = false;
  const streaming = c.transport === "websocket" || c.transport === "sse";
  const from = c.last;
  if (streaming) {
    if (cursor > from) c.excused.push([from, cursor]);
    c.last = Math.max(c.last, cursor);
    c.resume = Math.max(c.resume, cursor);
    fetchSnapshot(c); // refetched while live events keep coming
    return cursor;
  }
  const snapshotCursor = (await fetchSnapshot(c)) ?? cursor;
  if (epoch !== c.epoch) return null;
  const to = Math.max(cursor, snapshotCursor);
  if (to > from) c.excused.push([from, to]);
  c.last = Math.max(c.last, to);
  c.resume = to;
  return to;
}

/** The server (or the network) ended a connection the client did not close: come back soon. */
function lost(c, epoch, reason) {
  if (epoch !== c.epoch || closing) return;
  stats.serverCloses[reason] = (stats.serverCloses[reason] ?? 0) + 1;
  drop(c);
  scheduleConnect(c, 1000 + Math.random() * 1000);
}

function drop(c) {
  c.epoch++;
  c.state = "down";
  clearTimeout(c.timer);
  c.timer = null;
  const close = c.close;
  c.close = () => {};
  close();
}

function scheduleConnect(c, delayMs) {
  clearTimeout(c.timer);
  c.timer = setTimeout(() => {
    c.timer = null;
    connect(c);
  }, delayMs);
}

/** (Re)connects from `c.resume` (or a future cursor when forcing a resync). */
function connect(c, onUp) {
  if (closing) return;
  const epoch = ++c.epoch;
  c.state = "connecting";
  c.sessionStart = Infinity;
  const connectAt = now();
  const cursor = c.forcing ? FUTURE_CURSOR : c.resume;
  let settled = false;
  const up = () => {
    if (epoch !== c.epoch) return;
    c.state = "up";
    if (!settled) {
      settled = true;
      c.sessionStart = Date.now();
      // Reconnects only: the first opens come all at once and measure the ramp instead.
      if (c.transport !== "longpoll" && c.wasUp) {
        histograms.connect[c.transport][bucketOf(now() - connectAt)]++;
      }
      c.wasUp = true;
      onUp?.(true);
    }
  };
  const failed = (key, detail) => {
    if (epoch !== c.epoch || closing) return;
    countError(key, detail);
    if (!settled) {
      settled = true;
      onUp?.(false);
    }
    drop(c);
    scheduleConnect(c, 1000 + Math.random() * 2000);
  };
  // A (re)connection that is not up within 30 s is given up and tried again (and counted).
  if (c.transport !== "longpoll") {
    setTimeout(() => {
      if (epoch === c.epoch && !settled) failed(`${c.transport} connect timeout`, "30 s");
    }, 30_000);
  }
  if (c.transport === "websocket") openWebSocket(c, epoch, cursor, up, failed);
  else if (c.transport === "sse") openSse(c, epoch, cursor, up, failed);
  else if (c.transport === "longpoll") {
    longPoll(c, epoch, cursor, failed);
    up(); // parked at the server; nothing to wait for
  } else shortPoll(c, epoch, cursor, up, failed);
}

function openWebSocket(c, epoch, cursor, up, failed) {
  const socket = new WebSocket(`${base.replace(/^http/, "ws")}/ws`, {
    headers: c.headers,
    perMessageDeflate: false,
  });
  c.close = () => {
    if (closing) socket.close(1000);
    else socket.terminate();
  };
  socket.on("open", () => {
    socket.send(JSON.stringify({ type: "join", boardId: c.board, cursor }));
  });
  socket.on("message", (data) => {
    if (epoch !== c.epoch) return;
    const message = JSON.parse(data.toString());
    if (typeof message.id === "number" && typeof message.boardId === "string") {
      return onEvent(c, message);
    }
    switch (message.type) {
      case "presence":
        if (message.boardId === c.board) up();
        return;
      case "resync":
        onResync(c, message.cursor, epoch);
        return up();
      case "error":
        return countError(`websocket error ${message.code}`, message.message);
    }
  });
  socket.on("error", (error) => failed("websocket socket error", error?.message));
  socket.on("close", (code, reason) => {
    if (c.state === "up") lost(c, epoch, `websocket ${code} ${reason.toString()}`.trim());
    else failed(`websocket closed before join ${code}`, reason.toString());
  });
}

function openSse(c, epoch, cursor, up, failed) {
  let ended = false;
  const req = http.get(`${base}/boards/${c.board}/events`, {
    headers: { ...c.headers, accept: "text/event-stream", "last-event-id": String(cursor) },
    agent: false,
  }, (response) => {
    if (response.statusCode !== 200) {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => body += chunk);
      response.on("end", () => failed(`sse status ${response.statusCode}`, body));
      return;
    }
    response.setEncoding("utf8");
    let buffer = "";
    let disconnect = "";
    response.on("data", (chunk) => {
      if (epoch !== c.epoch) return;
      buffer += chunk;
      const end = buffer.lastIndexOf("\n\n");
      if (end === -1) return;
      const frames = buffer.slice(0, end).split("\n\n");
      buffer = buffer.slice(end + 2);
      for (const frame of frames) {
        let event = "", data = "";
        for (const line of frame.split("\n")) {
          if (line.startsWith("data: ")) data = line.slice(6);
          else if (line.startsWith("event: ")) event = line.slice(7);
        }
        if (!data) continue; // retry hint, heartbeat comment
        const message = JSON.parse(data);
        if (event === "resync") {
          onResync(c, message.cursor, epoch);
          up();
        } else if (event === "disconnect") {
          disconnect = `sse disconnect ${message.reason}`;
        } else if (message.type === "connected") {
          up();
        } else if (typeof message.id === "number") {
          onEvent(c, message);
        }
      }
    });
    const end = () => {
      if (ended) return;
      ended = true;
      if (c.state === "up") lost(c, epoch, disconnect || "sse stream ended");
      else failed("sse ended before connected", disconnect);
    };
    response.on("end", end);
    response.on("close", end);
    response.on("error", end);
  });
  req.on("error", (error) => {
    if (epoch !== c.epoch) return;
    if (c.state === "up") lost(c, epoch, `sse ${error?.code ?? error?.message}`);
    else failed("sse request error", error?.message);
  });
  c.close = () => req.destroy();
}

function longPoll(c, epoch, cursor, failed) {
  if (epoch !== c.epoch || closing) return;
  stats.longPolls++;
  const req = http.get(`${base}/boards/${c.board}/poll?cursor=${cursor}`, {
    headers: c.headers,
    agent,
  }, (response) => {
    let body = "";
    response.setEncoding("utf8");
    response.on("data", (chunk) => body += chunk);
    response.on("end", async () => {
      if (epoch !== c.epoch) return;
      if (response.statusCode !== 200) {
        return failed(`longpoll status ${response.statusCode}`, body.slice(0, 200));
      }
      const answer = JSON.parse(body);
      let next = answer.cursor;
      if (answer.resync) {
        next = await onResync(c, answer.cursor, epoch);
        if (next === null) return;
      } else {
        for (const event of answer.data) onEvent(c, event);
        if (answer.timeout) stats.longPollTimeouts++;
      }
      c.resume = next;
      longPoll(c, epoch, next, failed);
    });
  });
  req.on("error", (error) => {
    if (epoch !== c.epoch) return;
    failed("longpoll request error", error?.message);
  });
  c.close = () => req.destroy();
}

function shortPoll(c, epoch, cursor, up, failed) {
  let req = null;
  c.close = () => req?.destroy();
  const once = (since) => {
    if (epoch !== c.epoch || closing) return;
    stats.polls++;
    req = http.get(`${base}/boards/${c.board}/updates?since=${since}`, {
      headers: c.headers,
      agent,
    }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => body += chunk);
      response.on("end", async () => {
        req = null;
        if (epoch !== c.epoch) return;
        if (response.statusCode !== 200) {
          return failed(`poll status ${response.statusCode}`, body.slice(0, 200));
        }
        const answer = JSON.parse(body);
        let next = answer.cursor;
        if (answer.resync) {
          next = await onResync(c, answer.cursor, epoch);
          if (next === null) return;
        } else {
          for (const event of answer.data) onEvent(c, event);
        }
        c.resume = next;
        up();
        // A full page: more are waiting, ask at once; otherwise at the next interval.
        const full = !answer.resync && answer.data.length === 500;
        c.timer = setTimeout(
          () => once(next),
          full ? 0 : shortPollMs * (0.8 + Math.random() * 0.4),
        );
      });
    });
    req.on("error", (error) => {
      if (epoch !== c.epoch) return;
      failed("poll request error", error?.message);
    });
  };
  once(cursor);
}

/** One round of churn: a fraction of the clients that are up drop and come back later. */
function churnOnce() {
  const candidates = clients.filter((c) => c.state === "up");
  const count = Math.round(clients.length * churn.fraction);
  for (let i = 0; i < count && candidates.length > 0; i++) {
    const c = candidates.splice(Math.floor(Math.random() * candidates.length), 1)[0];
    drop(c);
    stats.churned++;
    c.reconnects++;
    stats.reconnects++;
    if (Math.random() < churn.switchFraction) {
      c.transport = TRANSPORTS[(TRANSPORTS.indexOf(c.transport) + 1) % TRANSPORTS.length];
      c.history.push(c.transport);
      stats.switches++;
    }
    if (Math.random() < churn.resyncFraction) c.forcing = true;
    scheduleConnect(c, Math.random() * churn.downMs);
  }
}

const round = (x) => Math.round(x * 1000) / 1000;

const handlers = {
  /** Opens every client (at most `concurrency` handshakes at a time) from `cursor`. */
  async start(command) {
    base = command.url;
    shortPollMs = command.shortPollMs ?? shortPollMs;
    churn = { ...churn, ...command.churn };
    for (const spec of command.clients) clients.push(makeClient(spec, command.cursor));
    const started = now();
    let next = 0, opened = 0;
    const worker = async () => {
      while (next < clients.length) {
        const c = clients[next++];
        const ready = await new Promise((resolve) => {
          const timer = setTimeout(() => resolve(false), 15_000);
          connect(c, (ok) => {
            clearTimeout(timer);
            resolve(ok);
          });
        });
        if (ready) opened++;
      }
    };
    await Promise.all(Array.from({ length: command.concurrency ?? 50 }, worker));
    return { opened, failed: clients.length - opened, ms: round(now() - started) };
  },
  /** Starts (`on: true`) or stops the churn. */
  churn({ on }) {
    clearInterval(churnTimer);
    churnTimer = on ? setInterval(churnOnce, churn.everyMs) : null;
    return { on };
  },
  /** Counters so far, clients up per transport, and the latency histograms since the last call. */
  stats() {
    const up = { websocket: 0, sse: 0, longpoll: 0, poll: 0 };
    const of = { websocket: 0, sse: 0, longpoll: 0, poll: 0 };
    let down = 0;
    for (const c of clients) {
      of[c.transport]++;
      if (c.state === "up") up[c.transport]++;
      else down++;
    }
    const memory = process.memoryUsage();
    return {
      clients: clients.length,
      up,
      of,
      down,
      ...stats,
      histograms: takeHistograms(),
      rssMB: round(memory.rss / 1e6),
      loopDelayMs: {
        p50: round(loopDelay.percentile(50) / 1e6),
        p99: round(loopDelay.percentile(99) / 1e6),
        max: round(loopDelay.max / 1e6),
      },
      cpuSeconds: round((process.cpuUsage().user + process.cpuUsage().system) / 1e6),
    };
  },
  /**
   * Stops the churn, reconnects every client that is down, and waits (up to `timeoutMs`) until
   * every client has received its board's newest event, `last[board]`.
   */
  async drain({ last, timeoutMs }) {
    clearInterval(churnTimer);
    churnTimer = null;
    for (const c of clients) {
      if (c.state === "down") {
        clearTimeout(c.timer);
        connect(c);
      }
    }
    const behind = () => clients.filter((c) => c.last < (last[c.board] ?? 0));
    const deadline = now() + timeoutMs;
    while (behind().length > 0 && now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const late = behind();
    return {
      caughtUp: clients.length - late.length,
      behind: late.length,
      sample: late.slice(0, 5).map((c) => ({
        id: c.id,
        board: c.board,
        transport: c.transport,
        state: c.state,
        last: c.last,
        want: last[c.board],
      })),
    };
  },
  /**
   * Compares each client's receipts with its board's log (`expected[board]`: every seq after the
   * start cursor, ascending). Lost: in the log, never received and not excused by a resync;
   * duplicated: received more than once; out of order: received after a higher seq; stray: not
   * in the log of the client's board.
   */
  verify({ expected }) {
    const sets = new Map(Object.entries(expected).map(([board, seqs]) => [board, new Set(seqs)]));
    const totals = {
      clients: clients.length,
      delivered: 0,
      expected: 0,
      lost: 0,
      duplicated: 0,
      outOfOrder: 0,
      stray: 0,
      excused: 0,
      clientsWithResync: 0,
      reconnectsMax: 0,
      transportsUsedMax: 0,
    };
    const problems = [];
    for (const c of clients) {
      const want = expected[c.board] ?? [];
      const wanted = sets.get(c.board) ?? new Set();
      const excused = (seq) => c.excused.some(([from, to]) => seq > from && seq <= to);
      const seen = new Set();
      let duplicated = 0, outOfOrder = 0, stray = 0, previous = -1;
      for (const seq of c.seqs) {
        if (seen.has(seq)) duplicated++;
        else seen.add(seq);
        if (seq < previous) outOfOrder++;
        previous = Math.max(previous, seq);
        if (!wanted.has(seq)) stray++;
      }
      let lost = 0, excusedCount = 0;
      const lostSample = [];
      for (const seq of want) {
        if (seen.has(seq)) continue;
        if (excused(seq)) excusedCount++;
        else {
          lost++;
          if (lostSample.length < 10) lostSample.push(seq);
        }
      }
      totals.delivered += c.seqs.length;
      totals.expected += want.length;
      totals.lost += lost;
      totals.duplicated += duplicated;
      totals.outOfOrder += outOfOrder;
      totals.stray += stray;
      totals.excused += excusedCount;
      if (c.excused.length) totals.clientsWithResync++;
      totals.reconnectsMax = Math.max(totals.reconnectsMax, c.reconnects);
      totals.transportsUsedMax = Math.max(totals.transportsUsedMax, new Set(c.history).size);
      if ((lost || duplicated || outOfOrder || stray) && problems.length < 20) {
        problems.push({
          id: c.id,
          board: c.board,
          history: c.history,
          reconnects: c.reconnects,
          lost,
          lostSample,
          duplicated,
          outOfOrder,
          stray,
          excused: c.excused,
          received: c.seqs.length,
        });
      }
    }
    return { ...totals, problems };
  },
  /** Closes every connection (WebSockets with a close frame) and waits for the sockets to end. */
  async close() {
    closing = true;
    clearInterval(churnTimer);
    for (const c of clients) {
      clearTimeout(c.timer);
      c.epoch++;
      c.state = "down";
      c.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    agent.destroy();
    return { closed: clients.length };
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
lines.on("close", async () => {
  if (!closing) await handlers.close();
  process.exit(0);
});
