/**
 * The browser scenario of `deno task bench`: a real Chromium shows one board of N cards and
 * measures itself. The page leaves performance marks when its tuning says `performanceMarks: 1`
 * (static/js/views/board_page.js): `liveboard:board-visible` after the first render,
 * `liveboard:event` (detail: the event's seq) as each event reaches the page, and
 * `liveboard:render` (detail: the newest seq drawn) after each render. From them:
 * - board visible: ms from navigation start to the first render (modules, snapshot, render);
 * - one live event: ms from its arrival to the render that drew it (p50/p95 over 30, paced);
 * - a burst of 100 moves: ms from the first one's arrival to the render that drew the last;
 * - the JS heap and DOM node count afterwards (Chromium's own metrics);
 * - the snapshot's size, plain and gzip, and its server time (`Server-Timing`).
 */
import { chromiumAvailable, launchChromium } from "../browser_helpers.ts";
import type { Target } from "./targets.ts";

export interface BrowserResult {
  cards: number;
  snapshotBytes: number;
  snapshotGzipBytes: number;
  /** The server's own time for GET /boards/:id (median of 5, from Server-Timing). */
  snapshotServerMs: number;
  visibleMs: number;
  eventP50: number;
  eventP95: number;
  burst100Ms: number;
  heapMb: number;
  domNodes: number;
}

export const browserAvailable = chromiumAvailable;

interface Mark {
  name: string;
  startTime: number;
  detail: number | null;
}

/** Fills a new board with `cards` cards over its three lists; answers its id and card ids. */
async function fillBoard(target: Target, cards: number) {
  const headers = { ...target.ws.headers, "content-type": "application/json" };
  const call = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${target.url}${path}`, {
      method,
      headers,
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${await response.text()}`);
    return await response.json();
  };
  const snapshot = await call("POST", "/boards", { title: `Bench ${cards} cards` });
  const lists: string[] = snapshot.lists.map((list: { id: string }) => list.id);
  const ids: string[] = new Array(cards);
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = next++; i < cards; i = next++) {
      const task = await call("POST", "/tasks", {
        listId: lists[i % lists.length],
        title: `Card ${i}: a title of a realistic length`,
        ...(i % 3 === 0
          ? { description: "Some words about what this card is for. ".repeat(3) }
          : {}),
      });
      ids[i] = task.id;
    }
  }));
  return { boardId: snapshot.board.id as string, lists, ids, call };
}

async function snapshotFigures(target: Target, boardId: string) {
  const url = `${target.url}/boards/${boardId}`;
  const auth = target.ws.headers;
  const serverMs: number[] = [];
  let plain = 0, zipped = 0;
  for (let i = 0; i < 5; i++) {
    const response = await fetch(url, { headers: { ...auth, "accept-encoding": "identity" } });
    plain = (await response.arrayBuffer()).byteLength;
    const timing = /dur=([\d.]+)/.exec(response.headers.get("server-timing") ?? "");
    if (timing) serverMs.push(Number(timing[1]));
  }
  // Deno's fetch would decompress: count the gzip bytes from the raw answer's Content-Length.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
  const request = [
    `GET /boards/${boardId} HTTP/1.1`,
    `Host: 127.0.0.1`,
    `Authorization: ${auth.authorization}`,
    "Accept-Encoding: gzip",
    "Connection: close",
    "",
    "",
  ].join("\r\n");
  await conn.write(new TextEncoder().encode(request));
  const head = new Uint8Array(4096);
  const n = await conn.read(head) ?? 0;
  conn.close();
  const length = /content-length: (\d+)/i.exec(new TextDecoder().decode(head.subarray(0, n)));
  zipped = length ? Number(length[1]) : NaN;
  serverMs.sort((a, b) => a - b);
  return { plain, zipped, serverMs: serverMs[Math.floor(serverMs.length / 2)] ?? NaN };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p / 100) - 1)];

export async function browserBoard(target: Target, cards: number): Promise<BrowserResult> {
  const board = await fillBoard(target, cards);
  const snapshot = await snapshotFigures(target, board.boardId);
  await using live = await launchChromium();
  const { browser } = live;
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    baseURL: target.url,
  });
  const login = await context.request.post("/login", {
    data: { email: "alice@example.com", password: "liveboard" },
  });
  if (!login.ok()) throw new Error(`login: ${await login.text()}`);
  await context.addInitScript(() => {
    localStorage.setItem("liveboard:tuning", JSON.stringify({ performanceMarks: 1 }));
  });
  const page = await context.newPage();
  const marks = (): Promise<Mark[]> =>
    page.evaluate(() =>
      performance.getEntriesByType("mark")
        .filter((mark) => mark.name.startsWith("liveboard:"))
        .map((mark) => ({
          name: mark.name,
          startTime: mark.startTime,
          detail: (mark as PerformanceMark).detail ?? null,
        }))
    );
  /** Waits until a render has drawn `seq`; answers every mark so far. */
  const renderedThrough = async (seq: number): Promise<Mark[]> => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const all = await marks();
      if (all.some((m) => m.name === "liveboard:render" && (m.detail ?? 0) >= seq)) return all;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`the page never drew event ${seq}`);
  };
  const firstRenderOf = (all: Mark[], seq: number) =>
    all.find((m) => m.name === "liveboard:render" && (m.detail ?? 0) >= seq)!.startTime;
  const arrivalOf = (all: Mark[], seq: number) =>
    all.find((m) => m.name === "liveboard:event" && m.detail === seq)!.startTime;

  await page.goto(`/#/board/${board.boardId}`);
  await page.waitForFunction(
    () => performance.getEntriesByName("liveboard:board-visible").length > 0,
    null,
    {
      timeout: 120_000,
    },
  );
  const visibleMs = (await marks()).find((m) => m.name === "liveboard:board-visible")!.startTime;
  // Live once the badge says so; then a little quiet so the first measurement is not the
  // page's start-up work.
  await page.waitForSelector('#badge[data-state="live"]', { timeout: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, 500));

  const move = async (i: number) => {
    const id = board.ids[(i * 7919) % board.ids.length];
    await board.call("PATCH", `/tasks/${id}/move`, {
      listId: board.lists[i % board.lists.length],
      position: i % 10,
    });
    return await seqOf(target);
  };
  const latencies: number[] = [];
  for (let i = 0; i < 30; i++) {
    const seq = await move(i);
    const all = await renderedThrough(seq);
    latencies.push(firstRenderOf(all, seq) - arrivalOf(all, seq));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  latencies.sort((a, b) => a - b);

  const before = await seqOf(target);
  await Promise.all(Array.from({ length: 100 }, (_, i) => move(1000 + i)));
  const last = await seqOf(target);
  const all = await renderedThrough(last);
  const burst100Ms = firstRenderOf(all, last) - arrivalOf(all, before + 1);

  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  const { metrics } = await cdp.send("Performance.getMetrics");
  const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? NaN;
  return {
    cards,
    snapshotBytes: snapshot.plain,
    snapshotGzipBytes: snapshot.zipped,
    snapshotServerMs: snapshot.serverMs,
    visibleMs,
    eventP50: percentile(latencies, 50),
    eventP95: percentile(latencies, 95),
    burst100Ms,
    heapMb: metric("JSHeapUsedSize") / 1024 / 1024,
    domNodes: metric("Nodes"),
  };
}

async function seqOf(target: Target): Promise<number> {
  return (await (await fetch(`${target.url}/healthz`)).json()).cursor;
}
