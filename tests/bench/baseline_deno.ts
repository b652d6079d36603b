/**
 * The runtime's own limit: a minimal `Deno.serve` server that does the least work each benchmark
 * operation needs, so Liveboard can be compared with it in the same run.
 *
 * - `GET /ws`: a WebSocket added to one set; `GET /sse`: a `ReadableStream` SSE response (a
 *   `connected` frame, then events); `GET /poll`: a parked long poll.
 * - `POST /broadcast` (body: one event's JSON): encoded once, then sent to every WebSocket, SSE
 *   stream and parked poll in one synchronous loop — the naive broadcaster.
 * - `POST /tasks`: one task row and one event row inserted in one `node:sqlite` transaction (WAL,
 *   synchronous=NORMAL, as Liveboard), answered with the task as JSON.
 * - `GET /count`: how many of each are open.
 *
 * Usage: deno run -A tests/bench/baseline_deno.ts <database file>; prints "listening <port>".
 */
import { DatabaseSync } from "node:sqlite";

const encoder = new TextEncoder();
const sockets = new Set<WebSocket>();
const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
let polls: ((body: Uint8Array<ArrayBuffer>) => void)[] = [];
let seq = 0;

const db = new DatabaseSync(Deno.args[0] ?? ":memory:");
db.exec("PRAGMA journal_mode = WAL");
db.exec("PRAGMA synchronous = NORMAL");
db.exec(`CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, board_id TEXT NOT NULL,
  list_id TEXT NOT NULL, title TEXT NOT NULL, position INTEGER NOT NULL,
  created_at TEXT NOT NULL) STRICT`);
db.exec(`CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT,
  board_id TEXT NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, created_at TEXT NOT NULL)
  STRICT`);
const insertTask = db.prepare(
  "INSERT INTO tasks (id, board_id, list_id, title, position, created_at) VALUES (?, ?, ?, ?, ?, ?)",
);
const insertEvent = db.prepare(
  "INSERT INTO events (board_id, type, payload, created_at) VALUES (?, ?, ?, ?)",
);

const CONNECTED = encoder.encode('data: {"type":"connected"}\n\n');

/**
 * An SSE response. `variant` (for sse_memory.ts only) picks other ways to build the body:
 * "bytes" (a byte stream), "transform" (the readable side of a TransformStream), "empty" (no
 * first chunk).
 */
function openSse(variant: string | null): Response {
  let body: ReadableStream<Uint8Array>;
  if (variant === "transform") {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const sink = { enqueue: (chunk: Uint8Array) => void writer.write(chunk) };
    streams.add(sink as ReadableStreamDefaultController<Uint8Array>);
    writer.closed.catch(() => streams.delete(sink as ReadableStreamDefaultController<Uint8Array>));
    sink.enqueue(CONNECTED);
    body = readable;
  } else {
    let self: ReadableStreamDefaultController<Uint8Array>;
    body = new ReadableStream<Uint8Array>({
      type: variant === "bytes" ? "bytes" : undefined,
      start(controller) {
        self = controller as ReadableStreamDefaultController<Uint8Array>;
        streams.add(self);
        if (variant !== "empty") controller.enqueue(CONNECTED.slice());
      },
      cancel() {
        streams.delete(self);
      },
    } as UnderlyingDefaultSource<Uint8Array>);
  }
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

function openWebSocket(request: Request): Response {
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.onopen = () => sockets.add(socket);
  socket.onclose = () => sockets.delete(socket);
  socket.onerror = () => sockets.delete(socket);
  return response;
}

function broadcast(json: string): void {
  const id = ++seq;
  const frame = encoder.encode(`id: ${id}\nevent: task_created\ndata: ${json}\n\n`);
  for (const socket of sockets) socket.send(json);
  for (const stream of streams) stream.enqueue(frame);
  const answer = encoder.encode(`{"data":[${json}],"cursor":${id},"timeout":false}`);
  const waiting = polls;
  polls = [];
  for (const resolve of waiting) resolve(answer);
}

function createTask(input: { listId: string; title: string }): Response {
  const id = crypto.randomUUID();
  const at = new Date().toISOString();
  const task = { id, boardId: "board-1", listId: input.listId, title: input.title, at };
  db.exec("BEGIN IMMEDIATE");
  try {
    insertTask.run(id, "board-1", input.listId, input.title, 0, at);
    insertEvent.run("board-1", "task_created", JSON.stringify({ task }), at);
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
  return Response.json(task, { status: 201 });
}

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, async (request) => {
  const { pathname, searchParams } = new URL(request.url);
  if (pathname === "/ws") return openWebSocket(request);
  if (pathname === "/sse") return openSse(searchParams.get("variant"));
  if (pathname === "/poll") {
    const body = await new Promise<Uint8Array<ArrayBuffer>>((resolve) => polls.push(resolve));
    return new Response(body, { headers: { "content-type": "application/json" } });
  }
  if (pathname === "/broadcast") {
    broadcast(await request.text());
    return new Response(null, { status: 204 });
  }
  if (pathname === "/tasks") return createTask(await request.json());
  if (pathname === "/count") {
    return Response.json({ websocket: sockets.size, sse: streams.size, longpoll: polls.length });
  }
  return new Response("not found", { status: 404 });
});
