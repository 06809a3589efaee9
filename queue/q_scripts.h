/*
 * q_scripts.h - the Lua scripts behind every state change (private to q_txn.c,
 * which calls them, and q_conn.c, which loads them and resends on NOSCRIPT).
 *
 * Each script runs atomically in Redis.  Every key it names is in KEYS and
 * carries the shard's hash tag.  Keys that can only be known inside the script
 * (the txn a subscriber's `busy` points to, the ids found in due/outbox) are
 * built from a KEYS entry that is a key *prefix* with the same hash tag, so
 * they hash to the same Redis Cluster slot.
 *
 * Every script answers an array whose first element is a status word ("OK",
 * "EXISTED", "NOTFOUND", "INACTIVE", "BUSY", "CONFLICT", "MISMATCH",
 * "COLLISION"), followed by HGETALL-style flat arrays, so one parser serves
 * create, lookup, get and sweep.  Times are computed by the caller and passed
 * as decimal strings: Lua 5.1 numbers would print 13-digit milliseconds as
 * "1.7e+12".
 */
#ifndef SIMPKI_Q_SCRIPTS_H
#define SIMPKI_Q_SCRIPTS_H

enum q_script {
    QS_CREATE = 0,
    QS_SENT,
    QS_LOOKUP,
    QS_FINISH,
    QS_SWEEP,
    QS_SENT_MANY,
    QS_RESYNC,
    QS_RESENT,
    QS_TRACK,
    QS_RECEIPT,
    QS_CB_CLAIM,
    QS_CB_DONE,
    QS_EV_READ,
    QS_EV_ACK,
    QS_EV_BACKLOG,
    QS_COUNT
};

/*
 * The archive's events (q_ev.h).  A script that finishes a transaction gets
 * the shard's stream (spk:{N}:ev) among its KEYS and a flag ("1" = append)
 * among its ARGV; the event is a `signature`: eid (the txn id), kind, type,
 * at (now, ms), then every field of the txn hash after the write.  Defines
 * ev_signature(stream, txn key, id, now), returning the HGETALL it made.
 */
#define Q_LUA_EV_SIGNATURE                                                      \
    "local function ev_signature(ek, tk, id, now)\n"                            \
    "  local h = redis.call('HGETALL', tk)\n"                                   \
    "  local f = {'eid', id, 'kind', 'sign', 'type', 'signature', 'at', now}\n" \
    "  for i = 1, #h do f[#f + 1] = h[i] end\n"                                 \
    "  redis.call('XADD', ek, '*', unpack(f))\n"                                \
    "  return h\n"                                                              \
    "end\n"

/*
 * KEYS: 1 sub, 2 txn, 3 due, 4 outbox, 5 txn prefix, 6 counter prefix,
 *       7 the shard's event stream, [8 idem]
 * ARGV: 1 id, 2 rp, 3 msisdn, 4 client_ref, 5 digest_alg, 6 digest, 7 vc,
 *       8 display_text, 9 net, 10 created_ms, 11 deadline_ms, 12 lease until,
 *       13 req_hash, 14 format, 15 doc_digest, 16 signing_time, 17 op ("0" =
 *       SIGN), 18 key_alg, 19 payload, 20 cb_url ("" = no callback),
 *       21 cb_kind, 22 cb_ctx, 23 the stream's bound ("" or "0" = none)
 * -> {"OK"|"EXISTED", txn, sub} | {"BUSY", id} | {"NOTFOUND"} | {"INACTIVE"}
 *    | {"MISMATCH"} | {"COLLISION"} | {"BACKLOG"}
 * BACKLOG (nothing written) while the stream holds the bound or more: only
 * a new transaction is refused, an idempotent retry still gets its own.
 * A new txn hash holds only the fields with a value (the parser reads an absent
 * field as empty / 0; result, signature, cert... come with finish), and OK
 * answers with the field list it wrote, not an HGETALL, and only the
 * subscriber fields the submit uses (measured: the two HGETALLs, the
 * subscriber's certificate included, were a third of create's cost).
 * The OTA counter is one above both the subscriber's `cntr` and the ICCID's
 * floor (counter prefix .. iccid), and both are moved to it: a counter never
 * goes down for a SIM, whatever happens to the subscriber's record.
 */
static const char q_lua_create[] =
    "local idem = KEYS[8]\n"
    "if idem then\n"
    "  local v = redis.call('GET', idem)\n"
    "  if v then\n"
    "    local sep = string.find(v, ':', 1, true)\n"
    "    local oid, oh = v, ''\n"
    "    if sep then oid = string.sub(v, 1, sep - 1); oh = string.sub(v, sep + 1) end\n"
    "    if oh ~= ARGV[13] then return {'MISMATCH'} end\n"
    "    local t = redis.call('HGETALL', KEYS[5] .. oid)\n"
    "    if #t > 0 then return {'EXISTED', t, redis.call('HGETALL', KEYS[1])} end\n"
    "  end\n"
    "end\n"
    "if ARGV[23] ~= '' and ARGV[23] ~= '0' and redis.call('XLEN', KEYS[7]) >= tonumber(ARGV[23]) then\n"
    "  return {'BACKLOG'}\n"
    "end\n"
    "local s = redis.call('HMGET', KEYS[1], 'status', 'busy', 'cntr', 'iccid')\n"
    "if not s[1] then\n"
    "  if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOTFOUND'} end\n"
    "  return {'INACTIVE'}\n"
    "end\n"
    "if s[1] ~= 'active' and (ARGV[17] == '0' or s[1] ~= 'enrolling') then return {'INACTIVE'} end\n"
    "if s[2] and s[2] ~= '' then\n"
    "  if redis.call('HGET', KEYS[5] .. s[2], 'state') == 'pending' then return {'BUSY', s[2]} end\n"
    "  redis.call('HDEL', KEYS[1], 'busy')\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then return {'COLLISION'} end\n"
    "local c = tonumber(s[3] or '0') or 0\n"
    "local ck = nil\n"
    "if s[4] and s[4] ~= '' then\n"
    "  ck = KEYS[6] .. s[4]\n"
    "  local fl = tonumber(redis.call('GET', ck) or '0') or 0\n"
    "  if fl > c then c = fl end\n"
    "end\n"
    "c = c + 1\n"
    "local cs = string.format('%d', c)\n"
    "redis.call('HSET', KEYS[1], 'cntr', cs)\n"
    "if ck then redis.call('SET', ck, cs) end\n"
    "local f = {'id', ARGV[1], 'rp', ARGV[2], 'msisdn', ARGV[3], 'state', 'pending', 'digest_alg', ARGV[5],\n"
    "  'digest', ARGV[6], 'vc', ARGV[7], 'display_text', ARGV[8], 'cntr', cs, 'net', ARGV[9],\n"
    "  'created_ms', ARGV[10], 'deadline_ms', ARGV[11]}\n"
    "local function opt(k, v, none) if v ~= none then f[#f + 1] = k; f[#f + 1] = v end end\n"
    "opt('client_ref', ARGV[4], '')\n"
    "opt('format', ARGV[14], '0')\n"
    "opt('doc_digest', ARGV[15], '')\n"
    "opt('signing_time', ARGV[16], '0')\n"
    "if ARGV[17] ~= '0' then\n"
    "  opt('op', ARGV[17], '0'); opt('key_alg', ARGV[18], ''); opt('payload', ARGV[19], '')\n"
    "end\n"
    "if ARGV[20] ~= '' then\n"
    "  opt('cb_url', ARGV[20], ''); opt('cb_kind', ARGV[21], ''); opt('cb_ctx', ARGV[22], '')\n"
    "end\n"
    "redis.call('HSET', KEYS[2], unpack(f))\n"
    "redis.call('ZADD', KEYS[3], ARGV[11], ARGV[1])\n"
    "redis.call('ZADD', KEYS[4], ARGV[12], ARGV[1])\n"
    "redis.call('HSET', KEYS[1], 'busy', ARGV[1])\n"
    "if idem then redis.call('SET', idem, ARGV[1] .. ':' .. ARGV[13], 'EX', " Q_IDEM_TTL_S ") end\n"
    "local sv = redis.call('HMGET', KEYS[1], 'msisdn', 'net', 'iccid', 'kv', 'status')\n"
    "local sub = {}\n"
    "for i, k in ipairs({'msisdn', 'net', 'iccid', 'kv', 'status'}) do\n"
    "  if sv[i] then sub[#sub + 1] = k; sub[#sub + 1] = sv[i] end\n"
    "end\n"
    "return {'OK', f, sub}\n";

/*
 * KEYS: 1 txn, 2 outbox.  ARGV: 1 id, 2 now.  -> {"OK"} | {"NOTFOUND"} | {"CONFLICT"}
 * sent_ms is the first acceptance's time: a copy sent later leaves it.
 */
static const char q_lua_sent[] = "local st = redis.call('HGET', KEYS[1], 'state')\n"
                                 "redis.call('ZREM', KEYS[2], ARGV[1])\n"
                                 "if not st then return {'NOTFOUND'} end\n"
                                 "if st ~= 'pending' then return {'CONFLICT'} end\n"
                                 "redis.call('HSET', KEYS[1], 'sent', '1')\n"
                                 "redis.call('HSETNX', KEYS[1], 'sent_ms', ARGV[2])\n"
                                 "return {'OK'}\n";

/*
 * sent for several ids of one shard at once (the engine batches them).
 * KEYS: 1 outbox, 2 txn prefix.  ARGV: 1 now, then the ids.  -> {"OK"}
 * Per id exactly what q_lua_sent does; an id no longer pending is only
 * dropped from the outbox.
 */
static const char q_lua_sent_many[] = "for i = 2, #ARGV do\n"
                                      "  local id = ARGV[i]\n"
                                      "  redis.call('ZREM', KEYS[1], id)\n"
                                      "  if redis.call('HGET', KEYS[2] .. id, 'state') == 'pending' then\n"
                                      "    redis.call('HSET', KEYS[2] .. id, 'sent', '1')\n"
                                      "    redis.call('HSETNX', KEYS[2] .. id, 'sent_ms', ARGV[1])\n"
                                      "  end\n"
                                      "end\n"
                                      "return {'OK'}\n";

/* KEYS: 1 sub, 2 txn prefix.  -> {"OK", sub, txn or {}} | {"NOTFOUND"} */
static const char q_lua_lookup[] =
    "local s = redis.call('HGETALL', KEYS[1])\n"
    "if #s == 0 then return {'NOTFOUND'} end\n"
    "local busy = redis.call('HGET', KEYS[1], 'busy')\n"
    "if busy and busy ~= '' and redis.call('HGET', KEYS[2] .. busy, 'state') == 'pending' then\n"
    "  return {'OK', s, redis.call('HGETALL', KEYS[2] .. busy)}\n"
    "end\n"
    "return {'OK', s, {}}\n";

/*
 * KEYS: 1 txn, 2 due, 3 outbox, 4 sub prefix, 5 callback queue, 6 event stream
 * ARGV: 1 id, 2 expect cntr ("0" = any), 3 state, 4 result, 5 etsi_status,
 *       6 detail, 7 signature, 8 cert, 9 now, 10 retention ms, 11 ocsp,
 *       12 pin serial ("" = leave the pin), 13 pin spki (hex), 14 "1" = answer
 *       the finished txn, 15 "1" = append the signature event, 16 transport,
 *       17 link (each "" = not known, not written), 18 sent_ms ("0" = none:
 *       a carrier's acceptance the engine had not recorded yet; HSETNX)
 * -> {"OK"} | {"OK", txn} | {"NOTFOUND"} | {"CONFLICT"}
 * The pin is written (and repin cleared) only while the subscriber's cert is
 * still the one the signature was checked with (ARGV 8).  A txn with a
 * cb_url is queued for its callback, due now, in the same script.  The
 * event's HGETALL also answers want_txn: one read for both.
 */
static const char q_lua_finish[] = Q_LUA_EV_SIGNATURE
    "local t = redis.call('HMGET', KEYS[1], 'state', 'cntr', 'msisdn', 'cb_url')\n"
    "if not t[1] then return {'NOTFOUND'} end\n"
    "if t[1] ~= 'pending' then return {'CONFLICT'} end\n"
    "if ARGV[2] ~= '0' and t[2] ~= ARGV[2] then return {'CONFLICT'} end\n"
    "redis.call('HSET', KEYS[1], 'state', ARGV[3], 'result', ARGV[4], 'etsi_status', ARGV[5],\n"
    "  'detail', ARGV[6], 'signature', ARGV[7], 'cert', ARGV[8], 'finished_ms', ARGV[9], 'ocsp', ARGV[11])\n"
    "if ARGV[16] ~= '' then redis.call('HSET', KEYS[1], 'transport', ARGV[16]) end\n"
    "if ARGV[17] ~= '' then redis.call('HSET', KEYS[1], 'link', ARGV[17]) end\n"
    "if ARGV[18] ~= '0' then redis.call('HSETNX', KEYS[1], 'sent_ms', ARGV[18]) end\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "if t[3] then\n"
    "  local sk = KEYS[4] .. t[3]\n"
    "  if redis.call('HGET', sk, 'busy') == ARGV[1] then redis.call('HDEL', sk, 'busy') end\n"
    "  if ARGV[12] ~= '' and redis.call('HGET', sk, 'cert') == ARGV[8] then\n"
    "    redis.call('HSET', sk, 'pin_serial', ARGV[12], 'pin_spki', ARGV[13])\n"
    "    redis.call('HDEL', sk, 'repin')\n"
    "  end\n"
    "end\n"
    "if t[4] then\n"
    "  redis.call('HSET', KEYS[1], 'cb_state', 'pending')\n"
    "  redis.call('ZADD', KEYS[5], ARGV[9], ARGV[1])\n"
    "end\n"
    "local h = nil\n"
    "if ARGV[15] == '1' then h = ev_signature(KEYS[6], KEYS[1], ARGV[1], ARGV[9]) end\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[10])\n"
    "redis.call('PUBLISH', '" Q_DONE_CHANNEL "', ARGV[1])\n"
    "if ARGV[14] == '1' then return {'OK', h or redis.call('HGETALL', KEYS[1])} end\n"
    "return {'OK'}\n";

/*
 * KEYS: 1 due, 2 outbox, 3 txn prefix, 4 sub prefix, 5 callback queue,
 *       6 event stream
 * ARGV: 1 now, 2 lease until, 3 limit, 4 retention ms, 5 "1" = append a
 *       signature event for each expiry
 * -> {"OK", expired, {txn1, sub1, txn2, sub2, ...}}
 * Expiry first, so an expired txn is never handed out for resubmission; an
 * outbox entry past its deadline but beyond this run's limit is left for the
 * next run's expiry rather than resent.  A resubmitted txn counts the copy
 * (`resent`): the SIM answers a copy's counter CNTR low (q_txn_resync).
 * An expired txn with a cb_url is queued for its callback, as finish does.
 */
static const char q_lua_sweep[] = Q_LUA_EV_SIGNATURE
    "local now = ARGV[1]\n"
    "local nown = tonumber(now)\n"
    "local expired = 0\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[3])) do\n"
    "  local tk = KEYS[3] .. id\n"
    "  redis.call('ZREM', KEYS[1], id)\n"
    "  redis.call('ZREM', KEYS[2], id)\n"
    "  local t = redis.call('HMGET', tk, 'state', 'msisdn', 'cb_url')\n"
    "  if t[1] == 'pending' then\n"
    "    redis.call('HSET', tk, 'state', 'failed', 'result', 'EXPIRED', 'etsi_status', '208',\n"
    "      'detail', 'no answer before the deadline', 'finished_ms', now)\n"
    "    if t[3] then\n"
    "      redis.call('HSET', tk, 'cb_state', 'pending')\n"
    "      redis.call('ZADD', KEYS[5], now, id)\n"
    "    end\n"
    "    if t[2] then\n"
    "      local sk = KEYS[4] .. t[2]\n"
    "      if redis.call('HGET', sk, 'busy') == id then redis.call('HDEL', sk, 'busy') end\n"
    "    end\n"
    "    if ARGV[5] == '1' then ev_signature(KEYS[6], tk, id, now) end\n"
    "    redis.call('PEXPIRE', tk, ARGV[4])\n"
    "    redis.call('PUBLISH', '" Q_DONE_CHANNEL "', id)\n"
    "    expired = expired + 1\n"
    "  end\n"
    "end\n"
    "local out = {}\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, ARGV[3])) do\n"
    "  local tk = KEYS[3] .. id\n"
    "  local t = redis.call('HMGET', tk, 'state', 'msisdn', 'deadline_ms')\n"
    "  if t[1] ~= 'pending' or not t[2] then\n"
    "    redis.call('ZREM', KEYS[2], id)\n"
    "  elseif (tonumber(t[3] or '0') or 0) > nown then\n"
    "    local s = redis.call('HGETALL', KEYS[4] .. t[2])\n"
    "    if #s > 0 then\n"
    "      redis.call('ZADD', KEYS[2], ARGV[2], id)\n"
    "      redis.call('HINCRBY', tk, 'resent', 1)\n"
    "      out[#out + 1] = redis.call('HGETALL', tk)\n"
    "      out[#out + 1] = s\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {'OK', expired, out}\n";

/*
 * The SIM refused a command's counter as not above its own (CNTR low) and the
 * command was sent once: the SIM is ahead.  Move the txn, the subscriber and
 * the ICCID's floor to the highest of the three plus ARGV 3, mark the txn
 * resynced, forget its copies and put it back in the outbox to be sent again.
 * KEYS: 1 txn, 2 sub prefix, 3 counter prefix, 4 outbox
 * ARGV: 1 id, 2 expect cntr, 3 step, 4 lease until
 * -> {"OK", sub, txn} | {"NOTFOUND"} | {"CONFLICT"}: no longer pending, or
 *    another counter (someone resynced or finished it first), or resynced
 *    once already, or a copy was sent (`resent`, perhaps marked after the
 *    caller read the txn): then the CNTR low answered a duplicate.
 */
static const char q_lua_resync[] =
    "local t = redis.call('HMGET', KEYS[1], 'state', 'cntr', 'msisdn', 'resync', 'resent')\n"
    "if not t[1] then return {'NOTFOUND'} end\n"
    "if t[1] ~= 'pending' or t[2] ~= ARGV[2] or not t[3] or t[4] or t[5] then return {'CONFLICT'} end\n"
    "local sk = KEYS[2] .. t[3]\n"
    "local s = redis.call('HMGET', sk, 'cntr', 'iccid')\n"
    "local c = tonumber(t[2]) or 0\n"
    "local sc = tonumber(s[1] or '0') or 0\n"
    "if sc > c then c = sc end\n"
    "local ck = nil\n"
    "if s[2] and s[2] ~= '' then\n"
    "  ck = KEYS[3] .. s[2]\n"
    "  local fl = tonumber(redis.call('GET', ck) or '0') or 0\n"
    "  if fl > c then c = fl end\n"
    "end\n"
    "local cs = string.format('%d', c + tonumber(ARGV[3]))\n"
    "redis.call('HSET', KEYS[1], 'cntr', cs, 'resync', '1')\n"
    "redis.call('HDEL', KEYS[1], 'sent', 'resent')\n"
    "redis.call('HSET', sk, 'cntr', cs)\n"
    "if ck then redis.call('SET', ck, cs) end\n"
    "redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])\n"
    "return {'OK', redis.call('HGETALL', sk), redis.call('HGETALL', KEYS[1])}\n";

/*
 * A carrier link sent the command again (lost connection, late submit
 * response): count the copy, so that the SIM's CNTR low for it is ignored.
 * KEYS: 1 txn.  ARGV: 1 expect cntr.  -> {"OK"} | {"NOTFOUND"} | {"CONFLICT"}
 */
static const char q_lua_resent[] = "local t = redis.call('HMGET', KEYS[1], 'state', 'cntr')\n"
                                   "if not t[1] then return {'NOTFOUND'} end\n"
                                   "if t[1] ~= 'pending' or t[2] ~= ARGV[1] then return {'CONFLICT'} end\n"
                                   "redis.call('HINCRBY', KEYS[1], 'resent', 1)\n"
                                   "return {'OK'}\n";

/*
 * A far end took the command under its own id and answers only when asked
 * (an MSSP's asynchClientServer mode): keep its id and link with the txn and
 * leave the txn in the outbox, leased, so that when the asking instance dies
 * another one's sweep hands it out again and asks in its place.
 * KEYS: 1 txn, 2 outbox.  ARGV: 1 id, 2 link, 3 far id, 4 lease until
 * -> {"OK"} | {"NOTFOUND"} | {"CONFLICT"} (no longer pending)
 */
static const char q_lua_track[] = "local st = redis.call('HGET', KEYS[1], 'state')\n"
                                  "if not st then return {'NOTFOUND'} end\n"
                                  "if st ~= 'pending' then return {'CONFLICT'} end\n"
                                  "redis.call('HSET', KEYS[1], 'far_link', ARGV[2], 'far_ref', ARGV[3])\n"
                                  "redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])\n"
                                  "return {'OK'}\n";

/*
 * The relying party got the outcome (MSS_Receipt): note when, and its
 * message.  Only its own transaction, only once finished; HSET keeps the
 * finished key's TTL.  With the archive on, a `receipt` event (eid
 * <id>.receipt.<now>).
 * KEYS: 1 txn, 2 event stream.  ARGV: 1 rp, 2 now, 3 message, 4 "1" = append
 * the event, 5 id.
 * -> {"OK"} | {"NOTFOUND"} (gone, or another rp's) | {"CONFLICT"} (pending)
 */
static const char q_lua_receipt[] =
    "local t = redis.call('HMGET', KEYS[1], 'state', 'rp')\n"
    "if not t[1] or t[2] ~= ARGV[1] then return {'NOTFOUND'} end\n"
    "if t[1] == 'pending' then return {'CONFLICT'} end\n"
    "redis.call('HSET', KEYS[1], 'receipt_ms', ARGV[2], 'receipt', ARGV[3])\n"
    "if ARGV[4] == '1' then\n"
    "  redis.call('XADD', KEYS[2], '*', 'eid', ARGV[5] .. '.receipt.' .. ARGV[2], 'kind', 'sign', 'type', 'receipt',\n"
    "    'at', ARGV[2], 'id', ARGV[5], 'rp', ARGV[1], 'receipt', ARGV[3], 'receipt_ms', ARGV[2])\n"
    "end\n"
    "return {'OK'}\n";

/*
 * Callbacks due (q_cb_claim).  KEYS: 1 callback queue, 2 txn prefix.
 * ARGV: 1 now, 2 lease until, 3 limit.  -> {"OK", {txn1, txn2, ...}}
 * An entry whose txn is gone (retention) or not pending-callback is dropped.
 */
static const char q_lua_cb_claim[] =
    "local out = {}\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])) do\n"
    "  local tk = KEYS[2] .. id\n"
    "  if redis.call('HGET', tk, 'cb_state') ~= 'pending' then\n"
    "    redis.call('ZREM', KEYS[1], id)\n"
    "  else\n"
    "    redis.call('ZADD', KEYS[1], ARGV[2], id)\n"
    "    redis.call('HINCRBY', tk, 'cb_tries', 1)\n"
    "    out[#out + 1] = redis.call('HGETALL', tk)\n"
    "  end\n"
    "end\n"
    "return {'OK', out}\n";

/*
 * One delivery attempt ended (q_cb_done).  KEYS: 1 txn, 2 callback queue.
 * ARGV: 1 id, 2 outcome ("delivered" | "retry" | "failed"), 3 next due or
 * now, 4 detail, 5 attempt.  -> {"OK"} | {"NOTFOUND"} | {"CONFLICT"}
 * The txn hash is only written while it exists: an HSET on a key that
 * expired would bring it back without a TTL.
 */
static const char q_lua_cb_done[] =
    "local t = redis.call('HMGET', KEYS[1], 'cb_state', 'cb_tries')\n"
    "if not t[1] then redis.call('ZREM', KEYS[2], ARGV[1]); return {'NOTFOUND'} end\n"
    "if ARGV[2] == 'delivered' then\n"
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "  redis.call('HSET', KEYS[1], 'cb_state', 'delivered', 'cb_at', ARGV[3])\n"
    "  return {'OK'}\n"
    "end\n"
    "if t[1] ~= 'pending' or t[2] ~= ARGV[5] or not redis.call('ZSCORE', KEYS[2], ARGV[1]) then\n"
    "  return {'CONFLICT'}\n"
    "end\n"
    "if ARGV[2] == 'retry' then\n"
    "  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])\n"
    "  redis.call('HSET', KEYS[1], 'cb_error', ARGV[4])\n"
    "else\n"
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "  redis.call('HSET', KEYS[1], 'cb_state', 'failed', 'cb_error', ARGV[4], 'cb_at', ARGV[3])\n"
    "end\n"
    "return {'OK'}\n";

/*
 * q_ev_read, one stream (q_ev.c sends one per stream, all at once: each
 * script stays in its stream's slot).  KEYS: 1 stream.  ARGV: 1 group,
 * 2 consumer, 3 min idle ms, 4 count.
 * -> {entry, ...}, each {id, {field, value, ...}}: first those claimed from
 * a consumer that kept them past the idle time (XAUTOCLAIM), then new ones
 * (XREADGROUP >), count in all.  The group is made (MKSTREAM, from the
 * stream's start: events appended before any reader are read too) where
 * it is missing.  XREADGROUP without BLOCK: never waits.
 */
static const char q_lua_ev_read[] =
    "local n = tonumber(ARGV[4])\n"
    "local out = {}\n"
    "local r = redis.pcall('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', n)\n"
    "if type(r) == 'table' and r.err then\n"
    "  if not string.find(r.err, 'NOGROUP', 1, true) then return r end\n"
    "  redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')\n"
    "else\n"
    "  for _, e in ipairs(r[2]) do\n"
    "    if type(e) == 'table' and e[1] then out[#out + 1] = e end\n"
    "  end\n"
    "end\n"
    "if #out < n then\n"
    "  local g = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', n - #out, 'STREAMS', KEYS[1], '>')\n"
    "  if g and g[1] then\n"
    "    for _, e in ipairs(g[1][2]) do out[#out + 1] = e end\n"
    "  end\n"
    "end\n"
    "return out\n";

/* q_ev_ack, one stream.  KEYS: 1 stream.  ARGV: 1 group, then entry ids.  -> acknowledged count */
static const char q_lua_ev_ack[] = "local ids = {}\n"
                                   "for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end\n"
                                   "local n = redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))\n"
                                   "redis.call('XDEL', KEYS[1], unpack(ids))\n"
                                   "return n\n";

/* q_ev_backlog, one stream.  KEYS: 1 stream.  -> {length, oldest entry id or ""} */
static const char q_lua_ev_backlog[] = "local f = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)\n"
                                       "return {redis.call('XLEN', KEYS[1]), f[1] and f[1][1] or ''}\n";

static const char *const q_scripts[QS_COUNT] = {q_lua_create,  q_lua_sent,      q_lua_lookup,    q_lua_finish,
                                                q_lua_sweep,   q_lua_sent_many, q_lua_resync,    q_lua_resent,
                                                q_lua_track,   q_lua_receipt,   q_lua_cb_claim,  q_lua_cb_done,
                                                q_lua_ev_read, q_lua_ev_ack,    q_lua_ev_backlog};

#endif /* SIMPKI_Q_SCRIPTS_H */
