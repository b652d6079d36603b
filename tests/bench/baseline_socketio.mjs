/**
 * The peer users would pick instead: Socket.IO 4 on Node, one room, websocket transport only.
 * Every socket joins the room "board-1"; `POST /broadcast` (body: one event's JSON) emits it to
 * the room as the "event" event; `GET /count` answers how many sockets are connected.
 *
 * Usage: node tests/bench/baseline_socketio.mjs <dir holding node_modules>; prints
 * "listening <port>".
 */
import http from "node:http";
import { createRequire } from "node:module";
import process from "node:process";

const require = createRequire(`${process.argv[2]}/`);
const { Server } = require("socket.io");

const server = http.createServer((request, response) => {
  if (request.url === "/count") {
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ websocket: io.engine.clientsCount }));
    return;
  }
  if (request.url === "/broadcast" && request.method === "POST") {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk) => body += chunk);
    request.on("end", () => {
      io.to("board-1").emit("event", JSON.parse(body));
      response.statusCode = 204;
      response.end();
    });
    return;
  }
  if (!request.url.startsWith("/socket.io/")) {
    response.statusCode = 404;
    response.end();
  }
});

const io = new Server(server, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
});
io.on("connection", (socket) => socket.join("board-1"));

server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
