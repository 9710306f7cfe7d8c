// The Lua scripts that change the cluster's state in Redis. Each runs atomically and publishes
// the event it causes from inside the script, so the event stream and the state can never
// disagree: whatever a snapshot shows, the events before it in the stream led there.
//
// Every script takes ARGV[1] = the key prefix and ARGV[2] = the calling node's id. Keys are
// built inside the scripts, so this needs one Redis (or Sentinel), not Redis Cluster.
import { createHash } from 'node:crypto';

/** The data model, under one prefix (see README, "Running more than one process"):
 *    PREFIX room            channel: every room event, JSON
 *    PREFIX node:ID         channel: the snapshot a node asked for, to that node only
 *    PREFIX nodes           set: the registered nodes
 *    PREFIX alive:ID        string with a TTL: the node's heartbeat
 *    PREFIX members:ID      hash: member id → "SEQ NICK", the node's members
 *    PREFIX nick:LOWERNICK  string: "NODE ID", who holds the nick (ignoring case)
 *    PREFIX joins           counter: the cluster join order, and guest numbers */
export const KEY_PREFIX = 'selectchat:';

/** Shared functions, prepended to every script. */
const PRELUDE = `
local P, node = ARGV[1], ARGV[2]
local function nickKey(nick) return P .. 'nick:' .. string.lower(nick) end
local function parse(entry) local seq, nick = string.match(entry, '^(%d+) (.*)$'); return tonumber(seq), nick end
local function registered() return redis.call('SISMEMBER', P .. 'nodes', node) == 1 end
-- A fresh guest nick and join number for owner: skips guest-N nicks someone took with /nick.
local function claimGuest(owner)
  while true do
    local seq = redis.call('INCR', P .. 'joins')
    local nick = 'guest-' .. seq
    if redis.call('SET', nickKey(nick), owner, 'NX') then return seq, nick end
  end
end
-- Frees every nick node n holds, forgets its members and the node; returns how many it had.
local function forget(n)
  local members = P .. 'members:' .. n
  local held = redis.call('HGETALL', members)
  for i = 1, #held, 2 do
    local _, nick = parse(held[i + 1])
    if redis.call('GET', nickKey(nick)) == n .. ' ' .. held[i] then redis.call('DEL', nickKey(nick)) end
  end
  redis.call('DEL', members, P .. 'alive:' .. n)
  redis.call('SREM', P .. 'nodes', n)
  return #held / 2
end
local function publish(event) redis.call('PUBLISH', P .. 'room', cjson.encode(event)) end
`;

/** A script and its SHA1: run by EVALSHA, sent whole only when Redis does not know it. */
export class Script {
  readonly source: string;
  readonly sha: string;

  constructor(body: string) {
    this.source = PRELUDE + body;
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }
}

/** ARGV[3] = member id. Claims a guest nick and the next join number; returns {seq, nick}. */
export const JOIN = new Script(`
if not registered() then return redis.error_reply('NOTREGISTERED this node was reaped') end
local id = ARGV[3]
local seq, nick = claimGuest(node .. ' ' .. id)
redis.call('HSET', P .. 'members:' .. node, id, seq .. ' ' .. nick)
publish({k = 'join', node = node, id = tonumber(id), nick = nick, seq = seq})
return {seq, nick}
`);

/** ARGV[3] = member id, ARGV[4] = new nick. Claims it and frees the old one: 1, or 0 if taken. */
export const RENAME = new Script(`
if not registered() then return redis.error_reply('NOTREGISTERED this node was reaped') end
local id, to = ARGV[3], ARGV[4]
local members = P .. 'members:' .. node
local entry = redis.call('HGET', members, id)
if not entry then return redis.error_reply('NOTREGISTERED no such member') end
local seq, from = parse(entry)
local owner = node .. ' ' .. id
local holder = redis.call('GET', nickKey(to))
if holder and holder ~= owner then return 0 end
if nickKey(from) ~= nickKey(to) and redis.call('GET', nickKey(from)) == owner then redis.call('DEL', nickKey(from)) end
redis.call('SET', nickKey(to), owner)
redis.call('HSET', members, id, seq .. ' ' .. to)
publish({k = 'rename', node = node, id = tonumber(id), from = from, to = to})
return 1
`);

/** ARGV[3] = member id, ARGV[4] = reason. Frees its nick and announces the leave: 1, or 0 if unknown. */
export const LEAVE = new Script(`
local id, reason = ARGV[3], ARGV[4]
local members = P .. 'members:' .. node
local entry = redis.call('HGET', members, id)
if not entry then return 0 end
local _, nick = parse(entry)
if redis.call('GET', nickKey(nick)) == node .. ' ' .. id then redis.call('DEL', nickKey(nick)) end
redis.call('HDEL', members, id)
publish({k = 'leave', node = node, id = tonumber(id), nick = nick, reason = reason})
return 1
`);

/**
 * ARGV[3] = heartbeat TTL (ms), ARGV[4] = the highest join number this node knows, ARGV[5] =
 * JSON [[id, nick, seq], ...]: this node's members now. Replaces whatever Redis held for this node
 * (after an outage, or a Redis that restarted empty), re-claims the nicks (a nick taken meanwhile
 * becomes a fresh guest nick), announces the node's members (sync), publishes a snapshot of every
 * node to this node alone, and returns JSON [[id, from, to], ...]: the members it renamed.
 */
export const REGISTER = new Script(`
local ttl, highest, list = ARGV[3], tonumber(ARGV[4]), cjson.decode(ARGV[5])
forget(node)
local joins = tonumber(redis.call('GET', P .. 'joins') or '0')
if joins < highest then redis.call('SET', P .. 'joins', highest) end
local members = P .. 'members:' .. node
local now, renamed = {}, {}
for _, m in ipairs(list) do
  local id, nick, seq = m[1], m[2], m[3]
  local owner = node .. ' ' .. id
  if not redis.call('SET', nickKey(nick), owner, 'NX') then
    local _, fresh = claimGuest(owner)
    table.insert(renamed, {id, nick, fresh})
    nick = fresh
  end
  redis.call('HSET', members, id, seq .. ' ' .. nick)
  table.insert(now, {id, nick, seq})
end
redis.call('SADD', P .. 'nodes', node)
redis.call('SET', P .. 'alive:' .. node, '1', 'PX', ttl)
publish({k = 'sync', node = node, members = now})
local snapshot = {}
for _, n in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  local held, list = redis.call('HGETALL', P .. 'members:' .. n), {}
  for i = 1, #held, 2 do
    local seq, nick = parse(held[i + 1])
    table.insert(list, {tonumber(held[i]), nick, seq})
  end
  snapshot[n] = list
end
redis.call('PUBLISH', P .. 'node:' .. node, cjson.encode({k = 'snapshot', nodes = snapshot}))
return cjson.encode(renamed)
`);

/** ARGV[3] = TTL (ms). Renews this node's heartbeat: 1, or 0 when the node was reaped meanwhile.
 *  Also echoes a beat to the node's own channel, so it knows its subscription still hears. */
export const HEARTBEAT = new Script(`
redis.call('PUBLISH', P .. 'node:' .. node, '{"k":"beat"}')
if not registered() then return 0 end
redis.call('SET', P .. 'alive:' .. node, '1', 'PX', ARGV[3])
return 1
`);

/** Reaps every registered node whose heartbeat expired (announcing it lost); returns the live ones. */
export const SCAN = new Script(`
local alive = {}
for _, n in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  if redis.call('EXISTS', P .. 'alive:' .. n) == 1 then
    table.insert(alive, n)
  else
    forget(n)
    publish({k = 'lost', node = n})
  end
end
return alive
`);

/** ARGV[3] = a node known dead (a restarted worker's predecessor): reaped now, announced lost. */
export const REAP = new Script(`
local dead = ARGV[3]
forget(dead)
publish({k = 'lost', node = dead})
return 1
`);

/** ARGV[3] = reason. This node leaves the cluster: every member leaves with reason. */
export const DEPART = new Script(`
forget(node)
publish({k = 'down', node = node, reason = ARGV[3]})
return 1
`);

export const ALL_SCRIPTS = [JOIN, RENAME, LEAVE, REGISTER, HEARTBEAT, SCAN, REAP, DEPART];
