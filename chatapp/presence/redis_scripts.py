"""The Lua scripts of the Redis presence registry: each runs atomically in Redis.

Keys, under a prefix P (one deployment's, or one test run's):
- `P:u:<user>`: hash, the user's record: `rev` (bumped by every change of tabs or
  choices), `ps`/`pv`/`pl` (published status, version, last seen), `end` (when the last
  tab ended), `due` (when the offline falls due), `cm`/`cu`/`ch`/`cl` (choices: chosen,
  until, hide last seen, held at all).
- `P:t:<user>`: hash, the user's open tabs: token -> JSON {sid, idle, inst}.
- `P:tab:<token>`: the user a tab token belongs to.
- `P:closed:<token>`: the user of a tab whose socket closed less than its grace ago
  (expires with the grace, or a mass drop's longer `keep`): it is taken back if it
  reconnects meanwhile.
- `P:c:<user>`: set, the tokens of the user's closed tabs (each counts while its
  `P:closed:<token>` lasts): they still get every change (`TOKENS_OF`), so that a tab
  taken back holds a current state.
- `P:own:<instance>`: set, the tokens of the tabs an instance holds.
- `P:alive:<instance>`: the instance's heartbeat, expiring unless renewed.
- `P:inst`: sorted set, every instance by the time of its last heartbeat.
- `P:due`: sorted set, "g:<user>" (an offline) and "e:<user>" (a chosen status ending)
  by the time they fall due, for whichever instance sweeps first.

Times are integers: microseconds since the epoch (exact in a Lua number and a score).
The scripts build the keys of other users and instances from the prefix, so they need a
single Redis (or Redis Cluster with one hash slot for the prefix); a record's keys are
named by the user, not passed in KEYS.
"""

# A tab's user has no tab left: record when, and when the offline falls due.
# Shared by the scripts below (ARGV of the including script: see each).
_LAST_TAB_GONE = """
local function last_tab_gone(p, uid, at, due)
  redis.call('HSET', p .. ':u:' .. uid, 'end', at, 'due', due)
  redis.call('ZADD', p .. ':due', due, 'g:' .. uid)
end
"""

# ARGV: prefix, token, user, tab JSON, instance, now, due (if the token's previous user
# is left without a tab). Returns the replaced tab {user, JSON} or nil.
REGISTER = (
    _LAST_TAB_GONE
    + """
local p, token, uid = ARGV[1], ARGV[2], ARGV[3]
local tabkey = p .. ':tab:' .. token
local old_uid = redis.call('GET', tabkey)
local old_entry = false
if old_uid then
  old_entry = redis.call('HGET', p .. ':t:' .. old_uid, token)
  if old_entry then
    redis.call('SREM', p .. ':own:' .. cjson.decode(old_entry).inst, token)
    if old_uid ~= uid then
      redis.call('HDEL', p .. ':t:' .. old_uid, token)
      redis.call('HINCRBY', p .. ':u:' .. old_uid, 'rev', 1)
      if redis.call('HLEN', p .. ':t:' .. old_uid) == 0 then
        last_tab_gone(p, old_uid, ARGV[6], ARGV[7])
      end
    end
  end
end
local closedkey = p .. ':closed:' .. token
local closed_uid = redis.call('GET', closedkey)
if closed_uid then
  redis.call('SREM', p .. ':c:' .. closed_uid, token)
  redis.call('DEL', closedkey)
end
redis.call('SET', tabkey, uid)
redis.call('HSET', p .. ':t:' .. uid, token, ARGV[4])
redis.call('SADD', p .. ':own:' .. ARGV[5], token)
redis.call('HINCRBY', p .. ':u:' .. uid, 'rev', 1)
redis.call('HDEL', p .. ':u:' .. uid, 'end', 'due')
redis.call('ZREM', p .. ':due', 'g:' .. uid)
if old_entry then return {old_uid, old_entry} end
return false
"""
)

# ARGV: prefix, token, sid ('' for any), now, due, how long (ms) the closed tab is taken
# back and gets changes (0: not at all, a logout). Returns the removed tab {user, JSON}.
UNREGISTER = (
    _LAST_TAB_GONE
    + """
local p, token = ARGV[1], ARGV[2]
local tabkey = p .. ':tab:' .. token
local uid = redis.call('GET', tabkey)
if not uid then return false end
local entry = redis.call('HGET', p .. ':t:' .. uid, token)
if not entry then
  redis.call('DEL', tabkey)
  return false
end
local tab = cjson.decode(entry)
if ARGV[3] ~= '' and tab.sid ~= ARGV[3] then return false end
redis.call('HDEL', p .. ':t:' .. uid, token)
redis.call('DEL', tabkey)
redis.call('SREM', p .. ':own:' .. tab.inst, token)
redis.call('HINCRBY', p .. ':u:' .. uid, 'rev', 1)
if redis.call('HLEN', p .. ':t:' .. uid) == 0 then last_tab_gone(p, uid, ARGV[4], ARGV[5]) end
local keep = tonumber(ARGV[6])
if keep > 0 then
  local closedset = p .. ':c:' .. uid
  redis.call('SET', p .. ':closed:' .. token, uid, 'PX', keep)
  redis.call('SADD', closedset, token)
  if redis.call('PTTL', closedset) < keep then redis.call('PEXPIRE', closedset, keep) end
end
return {uid, entry}
"""
)

# Closed tabs (a mass drop's, closed before it was recognized) are taken back, and get
# changes, for `keep` ms from now at least; a token not closed (back meanwhile) is left.
# ARGV: prefix, keep (ms), token, token, ...
KEEP_CLOSED = """
local p, keep = ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV do
  local closedkey = p .. ':closed:' .. ARGV[i]
  local uid = redis.call('GET', closedkey)
  if uid then
    if redis.call('PTTL', closedkey) < keep then redis.call('PEXPIRE', closedkey, keep) end
    local closedset = p .. ':c:' .. uid
    if redis.call('PTTL', closedset) < keep then redis.call('PEXPIRE', closedset, keep) end
  end
end
return 0
"""

# The tokens of the tabs that changes for these users go to: every open tab, and every
# closed one within its grace (a closed tab whose grace is over leaves the set).
# ARGV: prefix, user, user, ... Returns the tokens.
TOKENS_OF = """
local p = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local uid = ARGV[i]
  for _, token in ipairs(redis.call('HKEYS', p .. ':t:' .. uid)) do table.insert(out, token) end
  local closedset = p .. ':c:' .. uid
  for _, token in ipairs(redis.call('SMEMBERS', closedset)) do
    if redis.call('GET', p .. ':closed:' .. token) == uid then
      table.insert(out, token)
    else
      redis.call('SREM', closedset, token)
    end
  end
end
return out
"""

# ARGV: prefix, token, idle (0 or 1). Returns the updated tab {user, JSON}.
SET_IDLE = """
local p, token = ARGV[1], ARGV[2]
local uid = redis.call('GET', p .. ':tab:' .. token)
if not uid then return false end
local entry = redis.call('HGET', p .. ':t:' .. uid, token)
if not entry then return false end
local tab = cjson.decode(entry)
tab.idle = tonumber(ARGV[3])
entry = cjson.encode(tab)
redis.call('HSET', p .. ':t:' .. uid, token, entry)
redis.call('HINCRBY', p .. ':u:' .. uid, 'rev', 1)
return {uid, entry}
"""

# KEYS: the user's record, the due set. ARGV: user, revision and version read, status,
# new version, last seen ('' for none). Returns 1 if published, 0 if the record changed.
COMMIT = """
local held = redis.call('HMGET', KEYS[1], 'rev', 'pv')
if (held[1] or '0') ~= ARGV[2] or (held[2] or '0') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], 'ps', ARGV[4], 'pv', ARGV[5], 'pl', ARGV[6])
if ARGV[4] == 'offline' then
  redis.call('HDEL', KEYS[1], 'end', 'due')
  redis.call('ZREM', KEYS[2], 'g:' .. ARGV[1])
end
return 1
"""

# Put off an offline: KEYS: the user's record, the due set. ARGV: user, due time held,
# new due time. Returns 1 if moved, 0 if the offline is no longer due at that time.
POSTPONE = """
local held = redis.call('HGET', KEYS[1], 'due')
if not held or tonumber(held) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'due', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], 'g:' .. ARGV[1])
return 1
"""

# KEYS: the user's record. ARGV: field, value, ... (choices). A change: bumps `rev`.
STORE_CHOICES = """
redis.call('HSET', KEYS[1], 'cl', '1', unpack(ARGV))
redis.call('HINCRBY', KEYS[1], 'rev', 1)
return 1
"""

# KEYS: the user's record. ARGV: chosen, until, hide (read from the database). Holds them
# unless choices are held already; returns those held.
SEED_CHOICES = """
if redis.call('HGET', KEYS[1], 'cl') ~= '1' then
  redis.call('HSET', KEYS[1], 'cm', ARGV[1], 'cu', ARGV[2], 'ch', ARGV[3], 'cl', '1')
end
return redis.call('HMGET', KEYS[1], 'cm', 'cu', 'ch')
"""

# KEYS: the instance's heartbeat, the instances set. ARGV: instance, now, TTL in ms,
# first (1 on the first beat). Returns 0 if the instance was declared dead meanwhile
# (its tabs were ended: it must register them again), else 1.
HEARTBEAT = """
if ARGV[4] ~= '1' and not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# End an instance's tabs: a dead one's (its heartbeat expired: only one sweeper claims
# it), or this one's on shutdown (force). KEYS: the instances set, the instance's
# heartbeat, its tab set. ARGV: prefix, instance, grace, force (1/0), now (with force).
# Users left without a tab were last seen at the instance's last heartbeat (or now).
# Returns {time used, users left without a tab...}, or nil if not claimed.
REAP = (
    _LAST_TAB_GONE
    + """
local p, inst = ARGV[1], ARGV[2]
local at = ARGV[5]
if ARGV[4] ~= '1' then
  if redis.call('EXISTS', KEYS[2]) == 1 then return false end
  at = redis.call('ZSCORE', KEYS[1], inst)
  if not at then return false end
end
redis.call('ZREM', KEYS[1], inst)
redis.call('DEL', KEYS[2])
local due = string.format('%.0f', tonumber(at) + tonumber(ARGV[3]))
local result = {at}
for _, token in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local tabkey = p .. ':tab:' .. token
  local uid = redis.call('GET', tabkey)
  if uid then
    local entry = redis.call('HGET', p .. ':t:' .. uid, token)
    if entry and cjson.decode(entry).inst == inst then
      redis.call('HDEL', p .. ':t:' .. uid, token)
      redis.call('DEL', tabkey)
      redis.call('HINCRBY', p .. ':u:' .. uid, 'rev', 1)
      if redis.call('HLEN', p .. ':t:' .. uid) == 0 then
        last_tab_gone(p, uid, at, due)
        table.insert(result, uid)
      end
    end
  end
end
redis.call('DEL', KEYS[3])
return result
"""
)

# Done with a due entry: remove it unless it was moved to another time meanwhile.
# KEYS: the due set, the user's record. ARGV: member, time, 1 for an offline (its due
# time in the record goes too).
FINISH_DUE = """
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if held and tonumber(held) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
if ARGV[3] == '1' then
  local due = redis.call('HGET', KEYS[2], 'due')
  if due and tonumber(due) == tonumber(ARGV[2]) then redis.call('HDEL', KEYS[2], 'due') end
end
return 1
"""
