/*
 * q_docs.c - see q_docs.h.  Plain EVAL through q_eval: these run a few times
 * a second at most.  Every call takes a q_doc_kind (q_priv.h), so q_plan.c's
 * plans run the same scripts under their own keys.
 */
#include "q_docs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "q_conn.h"
#include "q_priv.h"

/*
 * The archive's `request` event (q_ev.h), when the call gives the stream:
 * ev_rev(text) is the new document's rev as text (read before anything is
 * written: a script that fails half-way keeps its writes), ev_request
 * appends the event.
 */
#define LUA_EV_REQUEST                                                                                       \
    "local function ev_rev(text)\n"                                                                          \
    "  local ok, d = pcall(cjson.decode, text)\n"                                                            \
    "  local rev = ok and type(d) == 'table' and d.rev or 0\n"                                               \
    "  if type(rev) == 'number' then return string.format('%d', rev) end\n"                                  \
    "  return tostring(rev)\n"                                                                               \
    "end\n"                                                                                                  \
    "local function ev_request(ek, id, rev, text, now)\n"                                                    \
    "  redis.call('XADD', ek, '*', 'eid', id .. '.' .. rev, 'kind', 'cert', 'type', 'request', 'at', now,\n" \
    "    'id', id, 'rev', rev, 'doc', text)\n"                                                               \
    "end\n"

/* KEYS: 1 document, 2 index, [3 event stream].  ARGV: 1 text, 2 score, 3 id, [4 now]. */
static const char LUA_CREATE[] =
    LUA_EV_REQUEST "local rev = KEYS[3] and ev_rev(ARGV[1])\n"
                   "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then\n"
                   "  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])\n"
                   "  if rev then ev_request(KEYS[3], ARGV[3], rev, ARGV[1], ARGV[4]) end\n"
                   "  return 'OK'\n"
                   "end\n"
                   "return 'EXISTS'\n";

/*
 * Write the next revision if nobody else did, and in the same step file the
 * id in the runner's index due ARGV[3] (a time in ms), take it out ('-'), or
 * leave the index alone (''). A document that is gone leaves the index.
 * KEYS: 1 document, 2 runner's index, [3 event stream].
 * ARGV: 1 expected rev, 2 text, 3 due, 4 id, [5 now].
 */
static const char LUA_CAS[] =
    LUA_EV_REQUEST "local raw = redis.call('GET', KEYS[1])\n"
                   "if not raw then redis.call('ZREM', KEYS[2], ARGV[4]) return 'NOT_FOUND' end\n"
                   "if tostring(cjson.decode(raw).rev) ~= ARGV[1] then return 'CONFLICT' end\n"
                   "local rev = KEYS[3] and ev_rev(ARGV[2])\n"
                   "redis.call('SET', KEYS[1], ARGV[2])\n"
                   "if ARGV[3] == '-' then redis.call('ZREM', KEYS[2], ARGV[4])\n"
                   "elseif ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4]) end\n"
                   "if rev then ev_request(KEYS[3], ARGV[4], rev, ARGV[2], ARGV[5]) end\n"
                   "return 'OK'\n";

/* Newest first, filtered; returns {matched, doc...}. */
static const char LUA_LIST[] =
    "local ids = redis.call('ZREVRANGE', KEYS[1], 0, -1)\n"
    "local unit, state, form = ARGV[1], ARGV[2], ARGV[3]\n"
    "local offset, limit = tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local out, matched = {}, 0\n"
    "for _, id in ipairs(ids) do\n"
    "  local raw = redis.call('GET', ARGV[6] .. id)\n"
    "  if raw then\n"
    "    local d = cjson.decode(raw)\n"
    "    local r = d.request or {}\n"
    "    if (unit == '' or r.unit == unit) and (state == '' or d.state == state)\n"
    "       and (form == '' or r.form == form) then\n"
    "      matched = matched + 1\n"
    "      if matched > offset and (limit == 0 or #out < limit) then out[#out + 1] = raw end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {matched, out}\n";

/* Take due ids, move each a lease ahead (the claim), return their documents. */
static const char LUA_CLAIM[] = "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, "
                                "tonumber(ARGV[3]))\n"
                                "local out = {}\n"
                                "for _, id in ipairs(ids) do\n"
                                "  local raw = redis.call('GET', ARGV[4] .. id)\n"
                                "  if raw then\n"
                                "    redis.call('ZADD', KEYS[1], ARGV[2], id)\n"
                                "    out[#out + 1] = raw\n"
                                "  else\n"
                                "    redis.call('ZREM', KEYS[1], id)\n"
                                "  end\n"
                                "end\n"
                                "return out\n";

/* The caller's callback and argument, carried through q_eval / q_command. */
struct ctx {
    union {
        q_doc_done_cb *done;
        q_doc_get_cb *get;
        q_doc_list_cb *list;
        q_life_claim_cb *claim;
    } cb;
    void *arg;
    int any; /* done: any reply but an error is Q_OK (not a script word) */
};

static struct ctx *ctx_new(void *cb, void *arg)
{
    struct ctx *c = malloc(sizeof(*c));

    if (!c)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->cb.done = (q_doc_done_cb *)cb;
    c->arg = arg;
    return c;
}

static int id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    return n >= 1 && n < Q_DOC_ID_MAX && strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz") == n;
}

const struct q_doc_kind q_doc_req = {Q_DOC_KEY_PREFIX, Q_DOC_KEY_INDEX, Q_DOC_KEY_LIFE, Q_EV_KEY_ENR};

/* The stream a write of k appends its event to: NULL when the archive is off or k has none (plans). */
static const char *ev_key(struct q *q, const struct q_doc_kind *k)
{
    return q_ev_state(q)->on ? k->ev : NULL;
}

static void now_text(char out[24])
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, 24, "%" PRId64, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int q_docs_key(const struct q_doc_kind *k, char key[Q_DOC_KEY_MAX], const char *id)
{
    if (id_ok(id)) {
        snprintf(key, Q_DOC_KEY_MAX, "%s%s", k->prefix, id);
        return 0;
    }
    key[0] = '\0';
    return -1;
}

int q_doc_key(char key[Q_DOC_KEY_MAX], const char *id)
{
    return q_docs_key(&q_doc_req, key, id);
}

/* A bulk-string array into q_docs (malloc'd; *out NULL when n is 0); other elements are skipped. */
static enum q_err docs_of(const redisReply *r, struct q_doc **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return Q_ERR_PROTO;
    if (r->elements == 0)
        return Q_OK;
    *out = calloc(r->elements, sizeof(**out));
    if (!*out)
        return Q_ERR_NOMEM;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (!e || e->type != REDIS_REPLY_STRING)
            continue;
        (*out)[*n].text = e->str;
        (*out)[(*n)++].len = (size_t)e->len;
    }
    return Q_OK;
}

/* ---- replies ---- */

static void on_done(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;

    free(arg);
    if (err == Q_OK && !c.any)
        err = q_script_word(r);
    if (c.cb.done)
        c.cb.done(c.arg, err);
}

static void on_get(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;
    struct q_doc d;

    free(arg);
    if (err == Q_OK && r->type == REDIS_REPLY_NIL)
        err = Q_ERR_NOT_FOUND;
    else if (err == Q_OK && r->type != REDIS_REPLY_STRING)
        err = Q_ERR_PROTO;
    if (err != Q_OK) {
        c.cb.get(c.arg, err, NULL);
        return;
    }
    d.text = r->str;
    d.len = (size_t)r->len;
    c.cb.get(c.arg, Q_OK, &d);
}

static void on_list(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;
    struct q_doc *docs = NULL;
    size_t n = 0;
    uint64_t matched = 0;

    free(arg);
    if (err == Q_OK && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[0]->integer < 0))
        err = Q_ERR_PROTO;
    if (err == Q_OK) {
        matched = (uint64_t)r->element[0]->integer;
        err = docs_of(r->element[1], &docs, &n);
    }
    if (err != Q_OK)
        c.cb.list(c.arg, err, 0, NULL, 0);
    else
        c.cb.list(c.arg, Q_OK, matched, docs, n);
    free(docs);
}

static void on_claim(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;
    struct q_doc *docs = NULL;
    size_t n = 0;

    free(arg);
    if (err == Q_OK)
        err = docs_of(r, &docs, &n);
    c.cb.claim(c.arg, err, err == Q_OK ? docs : NULL, err == Q_OK ? n : 0);
    free(docs);
}

/* ---- calls ---- */

/* A refused call: an empty command fails with Q_ERR_INVALID from the loop, as every bad call. */
static void refuse(struct q *q, q_raw_cb *on, struct ctx *c)
{
    q_command(q, 0, NULL, NULL, on, c);
}

void q_docs_create(struct q *q, const struct q_doc_kind *k, const char *id, const char *text, size_t len,
                   int64_t created_ms, q_doc_done_cb *cb, void *arg)
{
    struct ctx *c = ctx_new((void *)cb, arg);
    char key[Q_DOC_KEY_MAX], score[24], now[24];
    const char *ek;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    q_docs_key(k, key, id);
    if (!key[0] || !text) {
        refuse(q, on_done, c);
        return;
    }
    snprintf(score, sizeof(score), "%" PRId64, created_ms);
    ek = ev_key(q, k);
    if (ek) {
        now_text(now);
        q_eval(q, LUA_CREATE, 3, 7, (const char *const[]){key, k->index, ek, text, score, id, now},
               (const size_t[]){strlen(key), strlen(k->index), strlen(ek), len, strlen(score), strlen(id), strlen(now)},
               on_done, c);
        return;
    }
    q_eval(q, LUA_CREATE, 2, 5, (const char *const[]){key, k->index, text, score, id},
           (const size_t[]){strlen(key), strlen(k->index), len, strlen(score), strlen(id)}, on_done, c);
}

void q_doc_create(struct q *q, const char *id, const char *text, size_t len, int64_t filed_ms, q_doc_done_cb *cb,
                  void *arg)
{
    q_docs_create(q, &q_doc_req, id, text, len, filed_ms, cb, arg);
}

void q_docs_get(struct q *q, const struct q_doc_kind *k, const char *id, q_doc_get_cb *cb, void *arg)
{
    struct ctx *c = ctx_new((void *)cb, arg);
    char key[Q_DOC_KEY_MAX];

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    q_docs_key(k, key, id);
    if (!key[0]) {
        refuse(q, on_get, c);
        return;
    }
    q_command(q, 2, (const char *const[]){"GET", key}, (const size_t[]){3, strlen(key)}, on_get, c);
}

void q_doc_get(struct q *q, const char *id, q_doc_get_cb *cb, void *arg)
{
    q_docs_get(q, &q_doc_req, id, cb, arg);
}

void q_docs_cas(struct q *q, const struct q_doc_kind *k, const char *id, int64_t expect_rev, const char *text,
                size_t len, int64_t run_due_ms, q_doc_done_cb *cb, void *arg)
{
    struct ctx *c = ctx_new((void *)cb, arg);
    char key[Q_DOC_KEY_MAX], rev[24], due[24] = "", now[24];
    const char *ek;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    q_docs_key(k, key, id);
    if (!key[0] || !text) {
        refuse(q, on_done, c);
        return;
    }
    snprintf(rev, sizeof(rev), "%" PRId64, expect_rev);
    if (run_due_ms > 0)
        snprintf(due, sizeof(due), "%" PRId64, run_due_ms);
    else if (run_due_ms < 0)
        snprintf(due, sizeof(due), "-");
    ek = ev_key(q, k);
    if (ek) {
        now_text(now);
        q_eval(q, LUA_CAS, 3, 8, (const char *const[]){key, k->run, ek, rev, text, due, id, now},
               (const size_t[]){strlen(key), strlen(k->run), strlen(ek), strlen(rev), len, strlen(due), strlen(id),
                                strlen(now)},
               on_done, c);
        return;
    }
    q_eval(q, LUA_CAS, 2, 6, (const char *const[]){key, k->run, rev, text, due, id},
           (const size_t[]){strlen(key), strlen(k->run), strlen(rev), len, strlen(due), strlen(id)}, on_done, c);
}

void q_doc_cas(struct q *q, const char *id, int64_t expect_rev, const char *text, size_t len, int64_t life_due_ms,
               q_doc_done_cb *cb, void *arg)
{
    q_docs_cas(q, &q_doc_req, id, expect_rev, text, len, life_due_ms > 0 ? life_due_ms : 0, cb, arg);
}

void q_docs_list(struct q *q, const struct q_doc_kind *k, const struct q_doc_filter *f, q_doc_list_cb *cb, void *arg)
{
    struct ctx *c = ctx_new((void *)cb, arg);
    char offset[24], limit[24];

    if (!c) {
        cb(arg, Q_ERR_NOMEM, 0, NULL, 0);
        return;
    }
    if (!f) {
        refuse(q, on_list, c);
        return;
    }
    snprintf(offset, sizeof(offset), "%" PRIu64, f->offset);
    snprintf(limit, sizeof(limit), "%" PRIu64, f->limit);
    q_eval(q, LUA_LIST, 1, 7,
           (const char *const[]){k->index, f->unit ? f->unit : "", f->state ? f->state : "", f->form ? f->form : "",
                                 offset, limit, k->prefix},
           NULL, on_list, c);
}

void q_doc_list(struct q *q, const struct q_doc_filter *f, q_doc_list_cb *cb, void *arg)
{
    q_docs_list(q, &q_doc_req, f, cb, arg);
}

void q_docs_claim(struct q *q, const struct q_doc_kind *k, int64_t now_ms, int64_t until_ms, unsigned limit,
                  q_life_claim_cb *cb, void *arg)
{
    struct ctx *c = ctx_new((void *)cb, arg);
    char now[24], until[24], lim[16];

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL, 0);
        return;
    }
    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    snprintf(until, sizeof(until), "%" PRId64, until_ms);
    snprintf(lim, sizeof(lim), "%u", limit);
    q_eval(q, LUA_CLAIM, 1, 5, (const char *const[]){k->run, now, until, lim, k->prefix}, NULL, on_claim, c);
}

void q_life_claim(struct q *q, int64_t now_ms, int64_t until_ms, unsigned limit, q_life_claim_cb *cb, void *arg)
{
    q_docs_claim(q, &q_doc_req, now_ms, until_ms, limit, cb, arg);
}

void q_life_save(struct q *q, const char *id, int64_t expect_rev, const char *text, size_t len, int64_t due_ms,
                 q_doc_done_cb *cb, void *arg)
{
    q_docs_cas(q, &q_doc_req, id, expect_rev, text, len, due_ms > 0 ? due_ms : -1, cb, arg);
}

/* ZADD XX / ZREM on the engine's index: any answer but an error is done. */
static void index_cmd(struct q *q, const char *id, int64_t due_ms, q_doc_done_cb *cb, void *arg)
{
    struct ctx *c = ctx_new((void *)cb, arg);
    char due[24];

    if (!c) {
        if (cb)
            cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->any = 1;
    if (!id_ok(id)) {
        refuse(q, on_done, c);
        return;
    }
    snprintf(due, sizeof(due), "%" PRId64, due_ms);
    if (due_ms > 0)
        q_command(q, 5, (const char *const[]){"ZADD", Q_DOC_KEY_LIFE, "XX", due, id},
                  (const size_t[]){4, strlen(Q_DOC_KEY_LIFE), 2, strlen(due), strlen(id)}, on_done, c);
    else
        q_command(q, 3, (const char *const[]){"ZREM", Q_DOC_KEY_LIFE, id},
                  (const size_t[]){4, strlen(Q_DOC_KEY_LIFE), strlen(id)}, on_done, c);
}

void q_life_wait(struct q *q, const char *id, int64_t due_ms, q_doc_done_cb *cb, void *arg)
{
    index_cmd(q, id, due_ms > 0 ? due_ms : 1, cb, arg);
}

void q_life_drop(struct q *q, const char *id, q_doc_done_cb *cb, void *arg)
{
    index_cmd(q, id, 0, cb, arg);
}
