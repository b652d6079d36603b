/**
 * Presence across instances, in Redis. Per board: `p:{board}:c` (connection → instance, user,
 * name), `p:{board}:u` (user → live connections cluster-wide, so two tabs on two instances are
 * one viewer), `p:{board}:o` (users in first-join order); per instance: `i:{instance}` (the
 * board/connection pairs it owns) and `instances` (a sorted set of heartbeats, in Redis `TIME`
 * milliseconds, so no instance clock matters). Every change is one Lua script, so "first" and
 * "last" are decided atomically cluster-wide. A survivor reaps an instance whose heartbeat is
 * older than the TTL: the script removes its connections and returns each user who thereby left,
 * once, to that one survivor, which announces `user_left`. Each instance keeps its own entries
 * too: whenever Redis may not match them (it was down, restarted empty, or the others reaped
 * this instance) the next heartbeat repairs Redis from them (`#resync`), announcing who joined or
 * left meanwhile. Starting reaps what a previous process with the same INSTANCE_ID left.
 */
import { log } from "../log.ts";
import type { ExpiredUser, Presence, PresenceEntry, PresenceUser } from "./presence.ts";
import type { RedisLink } from "./redis.ts";

// KEYS: c, u, o, i:{instance}; ARGV: connectionId, userId, name, instanceId, boardId
const ADD = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({ARGV[4], ARGV[2], ARGV[3]}))
redis.call('SADD', KEYS[4], ARGV[5] .. '\\n' .. ARGV[1])
if redis.call('HINCRBY', KEYS[2], ARGV[2], 1) == 1 then
  redis.call('RPUSH', KEYS[3], ARGV[2])
  return 1
end
return 0`;

// KEYS: c, u, o, i:{instance}; ARGV: connectionId, boardId. Returns {userId, name} when it was
// the user's last connection, else 0.
const REMOVE = `
local value = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[2] .. '\\n' .. ARGV[1])
if not value then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local entry = cjson.decode(value)
if redis.call('HINCRBY', KEYS[2], entry[2], -1) <= 0 then
  redis.call('HDEL', KEYS[2], entry[2])
  redis.call('LREM', KEYS[3], 0, entry[2])
  return {entry[2], entry[3]}
end
return 0`;

// KEYS: c, u, o; returns {userId, name, connections} per user in join order
const LIST = `
local out = {}
local names = {}
for _, value in ipairs(redis.call('HVALS', KEYS[1])) do
  local entry = cjson.decode(value)
  names[entry[2]] = entry[3]
end
for _, user in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  local n = redis.call('HGET', KEYS[2], user)
  if n and names[user] then table.insert(out, {user, names[user], n}) end
end
return out`;

// KEYS: instances; ARGV: instanceId. Returns 1 when the instance was not registered (Redis
// restarted, or the others took it for dead and reaped it): its entries must be added again.
const HEARTBEAT = `
local t = redis.call('TIME')
return redis.call('ZADD', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[1])`;

// KEYS: instances; ARGV: prefix, ttlMs, forcedInstance ('' = none). Reaps the instances whose
// heartbeat is older than ttl (or the forced one: a clean shutdown) and returns
// {boardId, userId, name} for each user whose last connection went.
const REAP = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if ARGV[3] ~= '' then table.insert(dead, ARGV[3]) end
local left = {}
for _, instance in ipairs(dead) do
  local owned = ARGV[1] .. 'i:' .. instance
  for _, pair in ipairs(redis.call('SMEMBERS', owned)) do
    local cut = string.find(pair, '\\n', 1, true)
    local board = string.sub(pair, 1, cut - 1)
    local conn = string.sub(pair, cut + 1)
    local base = ARGV[1] .. 'p:' .. board
    local value = redis.call('HGET', base .. ':c', conn)
    if value then
      redis.call('HDEL', base .. ':c', conn)
      local entry = cjson.decode(value)
      if redis.call('HINCRBY', base .. ':u', entry[2], -1) <= 0 then
        redis.call('HDEL', base .. ':u', entry[2])
        redis.call('LREM', base .. ':o', 0, entry[2])
        table.insert(left, {board, entry[2], entry[3]})
      end
    end
  end
  redis.call('DEL', owned)
  redis.call('ZREM', KEYS[1], instance)
end
return left`;

export interface RedisPresenceOptions {
  instanceId: string;
  /** An instance silent this long is reaped; heartbeats go every fifth of it. */
  ttlMs: number;
}

export class RedisPresence implements Presence {
  /** This instance's own entries: what Redis must hold for it (see `#resync`). */
  #mine = new Map<string, Map<string, PresenceEntry>>();
  #expired: (boardId: string, user: ExpiredUser) => void = () => {};
  #restored: (firsts: Map<string, PresenceEntry[]>) => void = () => {};
  /** Redis may not match `#mine` (a change was skipped or failed, or Redis came back). */
  #needsResync = false;
  #registered = false;
  #timer?: ReturnType<typeof setInterval>;
  /** Heartbeats, sweeps and repairs run one after another (and close waits for them). */
  #chain: Promise<void> = Promise.resolve();

  constructor(readonly link: RedisLink, readonly options: RedisPresenceOptions) {
    link.onUp(() => this.#needsResync = true);
  }

  #keys(boardId: string): string[] {
    const base = this.link.key(`p:${boardId}`);
    return [`${base}:c`, `${base}:u`, `${base}:o`, this.link.key(`i:${this.options.instanceId}`)];
  }

  /** Presence only needs the command client. */
  get #up(): boolean {
    return this.link.commands.isReady;
  }

  /** Runs `task` after the ones before it; a failure is logged, never thrown. */
  #serial(what: string, task: () => Promise<void>): Promise<void> {
    return this.#chain = this.#chain.then(() => this.#up ? task() : undefined).catch((error) => {
      this.#needsResync = true;
      log.debug(`presence ${what} failed: ${error}`);
    });
  }

  /**
   * Reaps what a previous process with this INSTANCE_ID left (a restart within the TTL would
   * otherwise keep its viewers forever), then heartbeats and sweeps every fifth of the TTL.
   */
  async start(): Promise<void> {
    await this.#serial("start", () => this.#reap(this.options.instanceId));
    const tick = Math.max(20, Math.floor(this.options.ttlMs / 5));
    const beat = () => {
      void this.#serial("heartbeat", () => this.#heartbeat());
      void this.#serial("sweep", () => this.#reap(""));
    };
    beat();
    this.#timer = setInterval(beat, tick);
  }

  async #heartbeat(): Promise<void> {
    const added = await this.link.eval(
      HEARTBEAT,
      [this.link.key("instances")],
      [this.options.instanceId],
    );
    // Not registered any more: Redis restarted, or the others took this instance for dead.
    if (added === 1 && (this.#registered || this.#mine.size > 0)) this.#needsResync = true;
    this.#registered = true;
    if (this.#needsResync) await this.#resync();
  }

  async #reap(forced: string): Promise<void> {
    const left = await this.link.eval(
      REAP,
      [this.link.key("instances")],
      [this.link.prefix, String(this.options.ttlMs), forced],
    ) as [string, string, string][];
    for (const [boardId, userId, name] of left) this.#expired(boardId, { userId, name });
  }

  /**
   * Makes Redis hold exactly this instance's connections again: removes those that closed while
   * it could not say so (reporting users who thereby left), adds those it could not add
   * (reporting users for whom that was a first connection, and every board touched).
   */
  async #resync(): Promise<void> {
    this.#needsResync = false;
    const owned = await this.link.commands.sMembers(this.link.key(`i:${this.options.instanceId}`));
    for (const pair of owned) {
      const [boardId, connectionId] = pair.split("\n");
      if (this.#mine.get(boardId)?.has(connectionId)) continue;
      const last = await this.#removeRaw(boardId, connectionId);
      if (last) this.#expired(boardId, last);
    }
    const firsts = new Map<string, PresenceEntry[]>();
    for (const [boardId, entries] of [...this.#mine]) {
      firsts.set(boardId, []);
      for (const entry of [...entries.values()]) {
        if (!this.#mine.get(boardId)?.has(entry.connectionId)) continue; // closed meanwhile
        if (await this.#addRaw(boardId, entry)) firsts.get(boardId)!.push(entry);
      }
    }
    log.info("presence repaired after Redis was unavailable or lost it");
    this.#restored(firsts);
  }

  onExpire(listener: (boardId: string, user: ExpiredUser) => void): void {
    this.#expired = listener;
  }

  onRestore(listener: (firsts: Map<string, PresenceEntry[]>) => void): void {
    this.#restored = listener;
  }

  async #addRaw(boardId: string, entry: PresenceEntry): Promise<boolean> {
    const first = await this.link.eval(ADD, this.#keys(boardId), [
      entry.connectionId,
      entry.userId,
      entry.name,
      this.options.instanceId,
      boardId,
    ]);
    return first === 1;
  }

  async #removeRaw(boardId: string, connectionId: string): Promise<ExpiredUser | null> {
    const last = await this.link.eval(REMOVE, this.#keys(boardId), [connectionId, boardId]);
    if (!Array.isArray(last)) return null;
    const [userId, name] = last as [string, string];
    return { userId, name };
  }

  async add(boardId: string, entry: PresenceEntry): Promise<boolean> {
    let mine = this.#mine.get(boardId);
    if (!mine) this.#mine.set(boardId, mine = new Map());
    if (!mine.has(entry.connectionId)) mine.set(entry.connectionId, entry);
    try {
      if (this.#up) return await this.#addRaw(boardId, entry);
    } catch (error) {
      log.debug(`presence add failed: ${error}`);
    }
    this.#needsResync = true; // Added when Redis answers again.
    return false;
  }

  async remove(boardId: string, entry: PresenceEntry): Promise<boolean> {
    const mine = this.#mine.get(boardId);
    mine?.delete(entry.connectionId);
    if (mine?.size === 0) this.#mine.delete(boardId);
    try {
      if (this.#up) return (await this.#removeRaw(boardId, entry.connectionId)) !== null;
    } catch (error) {
      log.debug(`presence remove failed: ${error}`);
    }
    this.#needsResync = true; // Removed when Redis answers again.
    return false;
  }

  async list(boardId: string): Promise<PresenceUser[]> {
    if (this.#up) {
      try {
        const rows = await this.link.eval(LIST, this.#keys(boardId).slice(0, 3), []) as [
          string,
          string,
          string,
        ][];
        return rows.map(([userId, name, n]) => ({ userId, name, connections: Number(n) }));
      } catch (error) {
        log.debug(`presence list failed: ${error}`);
      }
    }
    // Redis is down: this instance's own viewers are what it knows.
    const users = new Map<string, PresenceUser>();
    for (const entry of this.#mine.get(boardId)?.values() ?? []) {
      const user = users.get(entry.userId);
      if (user) user.connections++;
      else users.set(entry.userId, { userId: entry.userId, name: entry.name, connections: 1 });
    }
    return [...users.values()];
  }

  /** Removes this instance's entries at once (announcing who left), then stops the timers. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#mine.clear();
    await this.#serial("close", () => this.#reap(this.options.instanceId));
  }
}
