/**
 * Metrics in the Prometheus text format (`npm:prom-client`) for `GET /metrics`: HTTP requests by
 * route, method and status with their latency; live connections by transport; events committed
 * here and delivered by each transport; connection closes by transport and reason (slow
 * consumers among them); the time from commit to fan-out; relay lag, Redis and store health when
 * scaled out; process memory.
 * What is counted elsewhere anyway (connections, closes, deliveries, the relay) is read when
 * scraped, so the hot paths pay nothing for it; only requests and commits are counted here.
 */
import client from "prom-client";
import type { ConnectionRegistry } from "./realtime/connections.ts";
import type { RedisLink } from "./realtime/redis.ts";
import type { EventRelay } from "./realtime/relay.ts";
import type { BoardEvent, Store } from "./store/store.ts";

/** What the collectors read when scraped. */
export interface MetricSources {
  registry: ConnectionRegistry;
  store: Store;
  redis?: RedisLink;
  relay?: EventRelay;
}

export class Metrics {
  readonly registry = new client.Registry();
  readonly #requests = new client.Counter({
    name: "liveboard_http_requests_total",
    help: "HTTP requests answered, by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    registers: [this.registry],
  });
  readonly #latency = new client.Histogram({
    name: "liveboard_http_request_duration_seconds",
    help: "Time to answer an HTTP request (streams: to their first byte), by route and method",
    labelNames: ["route", "method"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly #fanout = new client.Histogram({
    name: "liveboard_event_fanout_seconds",
    help: "From an event's commit to its hand-over to every connection following its board " +
      "here (through Redis and the relay for events of other instances)",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly #committed = new client.Counter({
    name: "liveboard_events_committed_total",
    help: "Board events committed by this instance",
    registers: [this.registry],
  });

  constructor(sources: MetricSources) {
    const { registry: connections, store, redis, relay } = sources;
    const registers = [this.registry];
    new client.Gauge({
      name: "liveboard_connections",
      help: "Live connections on this instance, by transport",
      labelNames: ["transport"] as const,
      registers,
      collect() {
        const { byTransport } = connections.counts();
        for (const [transport, n] of Object.entries(byTransport)) this.set({ transport }, n);
      },
    });
    new client.Counter({
      name: "liveboard_events_delivered_total",
      help: "Events sent to clients, by transport",
      labelNames: ["transport"] as const,
      registers,
      collect() {
        this.reset();
        for (const [transport, n] of Object.entries(connections.delivered)) {
          this.inc({ transport }, n);
        }
      },
    });
    new client.Counter({
      name: "liveboard_connection_closes_total",
      help: "Connections closed, by transport and reason (slow: dropped as a slow consumer)",
      labelNames: ["transport", "reason"] as const,
      registers,
      collect() {
        this.reset();
        for (const [key, n] of connections.closes) {
          const [transport, reason] = key.split("\n");
          this.inc({ transport, reason }, n);
        }
      },
    });
    new client.Gauge({
      name: "liveboard_store_up",
      help: "1 when the database answers",
      registers,
      async collect() {
        this.set(await store.ping().then(() => 1, () => 0));
      },
    });
    if (redis) {
      new client.Gauge({
        name: "liveboard_redis_up",
        help: "1 while the Redis link is up",
        registers,
        collect() {
          this.set(redis.up ? 1 : 0);
        },
      });
    }
    if (relay) {
      new client.Gauge({
        name: "liveboard_relay_lag_events",
        help: "Committed events this instance has not delivered yet, as of its last head check",
        registers,
        collect() {
          this.set(relay.lag);
        },
      });
    }
    // Deno's own figures (prom-client's default Node metrics read things Deno does not keep,
    // and report NaN for them).
    new client.Gauge({
      name: "liveboard_process_resident_memory_bytes",
      help: "Resident memory of this process",
      registers,
      collect() {
        this.set(Deno.memoryUsage().rss);
      },
    });
    new client.Gauge({
      name: "liveboard_process_heap_used_bytes",
      help: "JavaScript heap in use",
      registers,
      collect() {
        this.set(Deno.memoryUsage().heapUsed);
      },
    });
  }

  /** One answered request (`route`: the matched pattern, e.g. `/tasks/:id`). */
  request(route: string, method: string, status: number, seconds: number): void {
    this.#requests.inc({ route, method, status: String(status) });
    this.#latency.observe({ route, method }, seconds);
  }

  /** One event handed to every local connection that follows its board. */
  fannedOut(event: BoardEvent): void {
    this.#fanout.observe(Math.max(0, Date.now() - Date.parse(event.at)) / 1000);
  }

  /** One event committed by this instance. */
  committed(): void {
    this.#committed.inc();
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
