/**
 * WebSocket test helpers: `WsClient` (Deno's WebSocket with a message inbox: wait for the next
 * message of a type, or prove none came with a ping barrier) and `RawWsClient` (a hand-made
 * WebSocket over TCP that can ignore pings or never read, for heartbeat and slow-consumer tests).
 */
import { expectStatus, type TestServer } from "./helpers.ts";

// deno-lint-ignore no-explicit-any
export type Message = { type: string; [field: string]: any };

export interface WsOpenOptions {
  path?: string;
  /** Sent as `Authorization: Bearer`. */
  token?: string;
  headers?: Record<string, string>;
  /** Wait for the `connected` message (default true). */
  connected?: boolean;
}

export function wsUrl(server: TestServer, path = "/ws"): string {
  return server.url.replace(/^http/, "ws") + path;
}

/** The `rooms` part of GET /admin/connections: sockets and users per board room. */
export async function roomCounts(
  server: TestServer,
  token?: string,
): Promise<Record<string, { sockets: number; users: number }>> {
  return (await expectStatus(await server.request("/admin/connections", { token }), 200)).rooms;
}

export class WsClient {
  readonly socket: WebSocket;
  /** Every message received, in order, parsed and as sent. */
  readonly received: Message[] = [];
  readonly raw: string[] = [];
  readonly closed: Promise<CloseEvent>;
  /** True once the handshake succeeded. */
  opened = false;
  #inbox: Message[] = [];
  #wake?: () => void;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers });
    this.socket.addEventListener("open", () => this.opened = true);
    this.closed = new Promise((resolve) => {
      this.socket.addEventListener("close", (event) => {
        resolve(event);
        this.#wake?.();
      });
    });
    this.socket.addEventListener("message", (event) => {
      this.raw.push(event.data);
      const message = JSON.parse(event.data);
      this.received.push(message);
      this.#inbox.push(message);
      this.#wake?.();
    });
  }

  static async open(server: TestServer, options: WsOpenOptions = {}): Promise<WsClient> {
    const headers = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const client = new WsClient(wsUrl(server, options.path), headers);
    if (options.connected !== false) await client.next("connected");
    return client;
  }

  get readyState(): number {
    return this.socket.readyState;
  }

  send(message: Message | string): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /**
   * Takes the first unread message of `type` (and matching `where`), waiting for it. Earlier
   * unread messages of other types stay in the inbox.
   */
  async next(
    type?: string,
    where: (message: Message) => boolean = () => true,
    timeoutMs = 3000,
  ): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const index = this.#inbox.findIndex((m) => (!type || m.type === type) && where(m));
      if (index !== -1) return this.#inbox.splice(index, 1)[0];
      if (this.socket.readyState === WebSocket.CLOSED) {
        throw new Error(`Socket closed while waiting for ${type ?? "a message"}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(
          `Timed out waiting for ${type ?? "a message"}; unread: ${JSON.stringify(this.#inbox)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /**
   * A barrier: sends a ping and waits for its pong, then returns (and removes) the unread
   * messages that arrived before it. The server answers in order, so anything it sent before
   * handling the ping is in the result.
   */
  async drain(): Promise<Message[]> {
    this.send({ type: "ping" });
    await this.next("pong");
    return this.#inbox.splice(0);
  }

  /** Unread messages (without waiting). */
  unread(): Message[] {
    return [...this.#inbox];
  }

  async close(): Promise<CloseEvent> {
    if (this.socket.readyState < WebSocket.CLOSING) this.socket.close();
    return await this.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

// ---- a WebSocket by hand ------------------------------------------------------------------

export interface RawFrame {
  opcode: number;
  payload: Uint8Array;
  text: string;
  /** For a close frame: its code. */
  closeCode?: number;
}

/**
 * A WebSocket client over a raw TCP connection that does only what the test says: it answers
 * no pings, and reads only when asked, so the server's send buffer fills.
 */
export class RawWsClient {
  #buffer = new Uint8Array(0);

  private constructor(readonly conn: Deno.TcpConn) {}

  static async connect(
    server: TestServer,
    path = "/ws",
    headers: Record<string, string> = {},
  ): Promise<RawWsClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${server.port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ];
    await conn.write(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    const client = new RawWsClient(conn);
    const head = await client.#readHead();
    if (!head.startsWith("HTTP/1.1 101")) {
      conn.close();
      throw new Error(`Upgrade refused: ${head}`);
    }
    return client;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    const joined = new Uint8Array(this.#buffer.length + n);
    joined.set(this.#buffer);
    joined.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = joined;
    return true;
  }

  async #readHead(): Promise<string> {
    while (true) {
      const text = new TextDecoder().decode(this.#buffer);
      const end = text.indexOf("\r\n\r\n");
      if (end !== -1) {
        this.#buffer = this.#buffer.subarray(
          new TextEncoder().encode(text.slice(0, end + 4)).length,
        );
        return text.slice(0, end);
      }
      if (!await this.#fill()) throw new Error("Connection closed during the handshake");
    }
  }

  /** Sends a masked text frame (clients must mask). */
  async sendText(text: string): Promise<void> {
    const payload = new TextEncoder().encode(text);
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const length = payload.length;
    const header = length < 126
      ? [0x81, 0x80 | length]
      : [0x81, 0x80 | 126, length >> 8, length & 0xff];
    const frame = new Uint8Array(header.length + 4 + length);
    frame.set(header);
    frame.set(mask, header.length);
    for (let i = 0; i < length; i++) frame[header.length + 4 + i] = payload[i] ^ mask[i % 4];
    await this.conn.write(frame);
  }

  /** Reads the next frame, or null when the server closed the TCP connection. */
  async readFrame(): Promise<RawFrame | null> {
    while (true) {
      const frame = this.#parse();
      if (frame) return frame;
      try {
        if (!await this.#fill()) return null;
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionReset) return null;
        throw error;
      }
    }
  }

  /** Reads until a close frame arrives; returns it and the bytes of data frames before it. */
  async readUntilClose(): Promise<{ close: RawFrame | null; dataBytes: number }> {
    let dataBytes = 0;
    while (true) {
      const frame = await this.readFrame();
      if (!frame || frame.opcode === 0x8) return { close: frame, dataBytes };
      dataBytes += frame.payload.length;
    }
  }

  #parse(): RawFrame | null {
    const b = this.#buffer;
    if (b.length < 2) return null;
    const opcode = b[0] & 0x0f;
    let length = b[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return null;
      length = (b[2] << 8) | b[3];
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return null;
      length = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
      offset = 10;
    }
    if (b.length < offset + length) return null;
    const payload = b.slice(offset, offset + length);
    this.#buffer = b.subarray(offset + length);
    const frame: RawFrame = { opcode, payload, text: "" };
    if (opcode === 0x1) frame.text = new TextDecoder().decode(payload);
    if (opcode === 0x8 && payload.length >= 2) {
      frame.closeCode = (payload[0] << 8) | payload[1];
      frame.text = new TextDecoder().decode(payload.subarray(2));
    }
    return frame;
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
