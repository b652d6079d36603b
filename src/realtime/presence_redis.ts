/**
 * Presence across instances, in Redis. Per board: `p:{board}:c` (connection → instance, user,
 * name), `p:{board}:u` (user → live connections cluster-wide, so two tabs on two instances are
 * one viewer), `p:{board}:o` (users in first-join order); per instance: `i:{instance}` (the
 * board/connection pairs it owns) and `instances` (a sorted set of heartbeats, in Redis `TIME`
 * milliseconds, so no instance clock matters). Every change is one Lua script, so "first" and
 * "last" are decided atomically cluster-wide. A survivor reaps an instance whose heartbeat is
 * older than the TTL: the script removes its connections and returns each user who thereby left,
 * once, to that one survivor, which announces `user_left`. Redis keeps this in memory only: after
 * a Redis restart each instance adds its connections again (`restore`).
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

// KEYS: c, u, o, i:{instance}; ARGV: connectionId, userId, boardId
const REMOVE = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SREM', KEYS[4], ARGV[3] .. '\\n' .. ARGV[1])
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  redis.call('LREM', KEYS[3], 0, ARGV[2])
  return 1
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
  /** This instance's own entries, to add again after a Redis restart. */
  #mine = new Map<string, Map<string, PresenceEntry>>();
  #expired: (boardId: string, user: ExpiredUser) => void = () => {};
  #restored: (firsts: Map<string, PresenceEntry[]>) => void = () => {};
  #registered = false;
  #timer?: ReturnType<typeof setInterval>;

  constructor(readonly link: RedisLink, readonly options: RedisPresenceOptions) {}

  #keys(boardId: string): string[] {
    const base = this.link.key(`p:${boardId}`);
    return [`${base}:c`, `${base}:u`, `${base}:o`, this.link.key(`i:${this.options.instanceId}`)];
  }

  /** Starts heartbeats and the reaping sweep (a fifth of the TTL each). */
  start(): void {
    const tick = Math.max(20, Math.floor(this.options.ttlMs / 5));
    void this.#heartbeat();
    this.#timer = setInterval(() => {
      void this.#heartbeat();
      void this.#reap("");
    }, tick);
  }

  async #heartbeat(): Promise<void> {
    if (!this.link.up) return;
    try {
      const added = await this.link.eval(
        HEARTBEAT,
        [this.link.key("instances")],
        [this.options.instanceId],
      );
      const lost = added === 1 && this.#registered;
      this.#registered = true;
      if (lost) {
        log.info("presence was lost (Redis restarted, or this instance was reaped): restoring");
        this.#restored(await this.#restore());
      }
    } catch (error) {
      log.debug(`presence heartbeat failed: ${error}`);
    }
  }

  async #reap(forced: string): Promise<void> {
    if (!this.link.up) return;
    try {
      const left = await this.link.eval(
        REAP,
        [this.link.key("instances")],
        [this.link.prefix, String(this.options.ttlMs), forced],
      ) as [string, string, string][];
      for (const [boardId, userId, name] of left) {
        this.#expired(boardId, { userId, name });
      }
    } catch (error) {
      log.debug(`presence reap failed: ${error}`);
    }
  }

  onExpire(listener: (boardId: string, user: ExpiredUser) => void): void {
    this.#expired = listener;
  }

  onRestore(listener: (firsts: Map<string, PresenceEntry[]>) => void): void {
    this.#restored = listener;
  }

  async add(boardId: string, entry: PresenceEntry): Promise<boolean> {
    let mine = this.#mine.get(boardId);
    if (!mine) this.#mine.set(boardId, mine = new Map());
    if (mine.get(entry.connectionId) === undefined) mine.set(entry.connectionId, entry);
    if (!this.link.up) return false; // Added again when Redis is back (restore).
    const first = await this.link.eval(ADD, this.#keys(boardId), [
      entry.connectionId,
      entry.userId,
      entry.name,
      this.options.instanceId,
      boardId,
    ]).catch((error) => {
      log.debug(`presence add failed: ${error}`);
      return 0;
    });
    return first === 1;
  }

  async remove(boardId: string, entry: PresenceEntry): Promise<boolean> {
    const mine = this.#mine.get(boardId);
    mine?.delete(entry.connectionId);
    if (mine?.size === 0) this.#mine.delete(boardId);
    if (!this.link.up) return false;
    const last = await this.link.eval(REMOVE, this.#keys(boardId), [
      entry.connectionId,
      entry.userId,
      boardId,
    ]).catch((error) => {
      log.debug(`presence remove failed: ${error}`);
      return 0;
    });
    return last === 1;
  }

  async list(boardId: string): Promise<PresenceUser[]> {
    if (this.link.up) {
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

  /**
   * Adds this instance's connections again. Returns every board it has viewers on, each with
   * the entries that were their user's first connection again.
   */
  async #restore(): Promise<Map<string, PresenceEntry[]>> {
    const firsts = new Map<string, PresenceEntry[]>();
    for (const [boardId, entries] of [...this.#mine]) {
      for (const entry of [...entries.values()]) {
        if (await this.add(boardId, entry)) {
          firsts.set(boardId, [...firsts.get(boardId) ?? [], entry]);
        } else if (!firsts.has(boardId)) firsts.set(boardId, []);
      }
    }
    return firsts;
  }

  /** Removes this instance's entries at once (announcing who left), then stops the timers. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#reap(this.options.instanceId);
    this.#mine.clear();
  }
}
