/*
 * q_txn.c - the transaction calls of q.h (create, sent, lookup, finish, get,
 * sweep, resync, resent, track, receipt): each checks its arguments, builds one q_call for a
 * script of q_scripts.h (or an HGETALL) and parses the script's answer into
 * the caller's callback.  Connections, submission, NOSCRIPT fallback and
 * deferred failure are q_conn.c's, through q_conn.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "q_conn.h"
#include "q_priv.h"
#include "q_scripts.h"

#define DEFAULT_SWEEP_LIMIT 100

struct q_sweep_run {
    unsigned left;
    unsigned expired, resubmitted;
    enum q_err err;
    q_resubmit_cb *resubmit;
    q_sweep_cb *done;
    void *arg;
};

/* Wall-clock ms, for the times the callers do not pass (sent_ms). */
static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "1" when the scripts append events (q_ev_enable), else "". */
static const char *ev_flag(struct q *q)
{
    return q_ev_state(q)->on ? "1" : "";
}

/* ---- replies ---- */

static enum q_err status_err(const redisReply *s)
{
    if (q_reply_is(s, "OK") || q_reply_is(s, "EXISTED"))
        return Q_OK;
    if (q_reply_is(s, "NOTFOUND"))
        return Q_ERR_NOT_FOUND;
    if (q_reply_is(s, "INACTIVE"))
        return Q_ERR_INACTIVE;
    if (q_reply_is(s, "BUSY"))
        return Q_ERR_BUSY;
    if (q_reply_is(s, "CONFLICT"))
        return Q_ERR_CONFLICT;
    if (q_reply_is(s, "MISMATCH"))
        return Q_ERR_IDEM_MISMATCH;
    if (q_reply_is(s, "COLLISION"))
        return Q_ERR_AGAIN; /* a 96-bit id collided: a retry draws a new one */
    if (q_reply_is(s, "BACKLOG"))
        return Q_ERR_BACKLOG;
    return Q_ERR_PROTO;
}

/* A script's answer: an array starting with a status word.  *st gets the word's error. */
static enum q_err script_reply(const redisReply *r, size_t min_elems, enum q_err *st)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 || !r->element[0])
        return Q_ERR_PROTO;
    *st = status_err(r->element[0]);
    if (*st == Q_ERR_PROTO)
        return Q_ERR_PROTO;
    if (*st == Q_OK && r->elements < min_elems)
        return Q_ERR_PROTO;
    return Q_OK;
}

static void complete_create(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q_txn t;
    struct q_sub s;
    enum q_err st = Q_OK;
    int existed = 0;

    memset(&t, 0, sizeof t);
    memset(&s, 0, sizeof s);
    if (err != Q_OK)
        goto out;
    if ((err = script_reply(r, 3, &st)) != Q_OK)
        goto out;
    err = st;
    if (st == Q_ERR_BUSY) {
        if (r->elements < 2 || !r->element[1] || r->element[1]->type != REDIS_REPLY_STRING ||
            r->element[1]->len != Q_ID_LEN - 1) {
            err = Q_ERR_PROTO;
            goto out;
        }
        memcpy(t.id, r->element[1]->str, Q_ID_LEN - 1);
        goto out;
    }
    if (st != Q_OK)
        goto out;
    existed = q_reply_is(r->element[0], "EXISTED");
    if ((err = q_parse_txn(r->element[1], &t)) != Q_OK) {
        err = Q_ERR_PROTO;
        goto out;
    }
    err = q_parse_sub(r->element[2], &s);
    if (err == Q_ERR_NOT_FOUND && existed) {
        err = Q_OK; /* the subscriber was deleted since: the txn itself is what the retry wants */
    } else if (err != Q_OK) {
        err = Q_ERR_PROTO;
        goto out;
    }
    if (!s.msisdn[0])
        memcpy(s.msisdn, t.msisdn, sizeof s.msisdn);
out:
    c->cb.create(c->arg, err, (err == Q_OK || err == Q_ERR_BUSY) ? &t : NULL, err == Q_OK ? &s : NULL, existed);
}

/* The call's outcome: the transport's error, else the script's status word. */
static enum q_err script_status(enum q_err err, const redisReply *r)
{
    enum q_err st = Q_OK;

    if (err == Q_OK) {
        err = script_reply(r, 1, &st);
        if (err == Q_OK)
            err = st;
    }
    return err;
}

static void complete_done(struct q_call *c, enum q_err err, const redisReply *r)
{
    c->cb.done(c->arg, script_status(err, r));
}

/*
 * A finish that asked for the stored transaction gets it after "OK".  The
 * outcome is recorded whatever that part holds: a reply that does not parse
 * only costs the caller the copy (the watch channel still tells everyone).
 */
static void complete_finish(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q_txn t;
    int have_txn = 0;

    err = script_status(err, r);
    if (err == Q_OK && r->elements >= 2 && q_parse_txn(r->element[1], &t) == Q_OK)
        have_txn = 1;
    c->cb.finish(c->arg, err, have_txn ? &t : NULL);
}

static void complete_lookup(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q_txn t;
    struct q_sub s;
    enum q_err st = Q_OK;
    int have_txn = 0;

    memset(&s, 0, sizeof s);
    if (err != Q_OK)
        goto out;
    if ((err = script_reply(r, 3, &st)) != Q_OK || (err = st) != Q_OK)
        goto out;
    if (q_parse_sub(r->element[1], &s) != Q_OK) {
        err = Q_ERR_PROTO;
        goto out;
    }
    if (!s.msisdn[0])
        memcpy(s.msisdn, c->msisdn, sizeof s.msisdn);
    err = q_parse_txn(r->element[2], &t);
    if (err == Q_OK) {
        have_txn = 1;
    } else if (err == Q_ERR_NOT_FOUND) {
        err = Q_OK;
    } else {
        err = Q_ERR_PROTO;
    }
out:
    c->cb.lookup(c->arg, err, err == Q_OK ? &s : NULL, have_txn && err == Q_OK ? &t : NULL);
}

static void complete_get(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q_txn t;

    if (err == Q_OK)
        err = q_parse_txn(r, &t);
    c->cb.get(c->arg, err, err == Q_OK ? &t : NULL);
}

static void complete_sweep(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q_sweep_run *sw = c->sw;
    enum q_err st = Q_OK;
    const redisReply *list;

    if (err != Q_OK)
        goto out;
    if ((err = script_reply(r, 3, &st)) != Q_OK || (err = st) != Q_OK)
        goto out;
    list = r->element[2];
    if (!r->element[1] || r->element[1]->type != REDIS_REPLY_INTEGER || r->element[1]->integer < 0 || !list ||
        list->type != REDIS_REPLY_ARRAY || list->elements % 2 != 0) {
        err = Q_ERR_PROTO;
        goto out;
    }
    sw->expired += (unsigned)r->element[1]->integer;
    for (size_t i = 0; i < list->elements; i += 2) {
        struct q_txn t;
        struct q_sub s;
        if (q_parse_txn(list->element[i], &t) != Q_OK || q_parse_sub(list->element[i + 1], &s) != Q_OK) {
            /* One bad entry must not hide the others: its lease was renewed, it comes back later. */
            err = Q_ERR_PROTO;
            continue;
        }
        if (!s.msisdn[0])
            memcpy(s.msisdn, t.msisdn, sizeof s.msisdn);
        sw->resubmitted++;
        if (sw->resubmit)
            sw->resubmit(sw->arg, &t, &s);
    }
out:
    if (err != Q_OK && sw->err == Q_OK)
        sw->err = err;
    if (--sw->left == 0) {
        if (sw->done)
            sw->done(sw->arg, sw->err, sw->expired, sw->resubmitted);
        free(sw);
    }
}

/* ---- calls ---- */

void q_txn_create(struct q *q, const struct q_txn_new *n, q_create_cb *cb, void *arg)
{
    struct q_call *c = q_call_begin(q, complete_create, QS_CREATE);
    enum q_err rc = Q_ERR_INVALID;
    char id[Q_ID_LEN];
    unsigned shard;
    int idem;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL, NULL, 0);
        return;
    }
    c->cb.create = cb;
    c->arg = arg;
    if (!n || !n->rp || !n->rp[0] || strlen(n->rp) >= 64 || !q_msisdn_ok(n->msisdn) ||
        (n->client_ref && strlen(n->client_ref) >= 128) || (n->vc && strlen(n->vc) >= 5) ||
        (n->digest_len && !n->digest) || n->digest_len > 64 ||
        (n->digest_len == 0 && (n->op == Q_OP_SIGN || n->op == Q_OP_CSR)) ||
        (n->display_text && strlen(n->display_text) > Q_DISPLAY_MAX) ||
        (n->idem_key && strlen(n->idem_key) > Q_IDEM_KEY_MAX) ||
        (n->req_hash && strlen(n->req_hash) > Q_REQ_HASH_MAX) || n->deadline_ms <= n->now_ms || n->lease_ms < 0 ||
        n->format > Q_FORMAT_CMS || n->doc_digest_len > 64 || (n->doc_digest_len && !n->doc_digest) ||
        n->op > Q_OP_PUTCERT || n->payload_len > Q_PAYLOAD_MAX || (n->payload_len && !n->payload) ||
        (n->cb_url && (!n->cb_url[0] || strlen(n->cb_url) > Q_CB_URL_MAX)) ||
        (n->cb_ctx && strlen(n->cb_ctx) > Q_CB_CTX_MAX) || n->cb_kind > Q_CB_KIND_SOAP)
        goto fail;
    shard = q_shard_of(n->msisdn, q_shards(q));
    if ((rc = q_id_new(shard, id)) != Q_OK)
        goto fail;
    memcpy(c->msisdn, n->msisdn, strlen(n->msisdn) + 1);
    idem = n->idem_key && n->idem_key[0]; /* an empty header is no key */
    if ((rc = q_arg_script(c, idem ? 8 : 7)) != Q_OK || (rc = q_arg_key(c, shard, "sub", n->msisdn)) != Q_OK ||
        (rc = q_arg_key(c, shard, "txn", id)) != Q_OK || (rc = q_arg_zset(c, shard, "due")) != Q_OK ||
        (rc = q_arg_zset(c, shard, "outbox")) != Q_OK || (rc = q_arg_key(c, shard, "txn", "")) != Q_OK ||
        (rc = q_arg_key(c, shard, "ctr", "")) != Q_OK || (rc = q_arg_zset(c, shard, "ev")) != Q_OK)
        goto fail;
    if (idem) {
        char k[Q_KEY_MAX];
        int len = snprintf(k, sizeof k, "spk:{%u}:idem:%s:%s", shard, n->rp, n->idem_key);
        if (len < 0 || (size_t)len >= sizeof k || (rc = q_arg_add(c, k, (size_t)len)) != Q_OK) {
            rc = rc != Q_OK ? rc : Q_ERR_INVALID;
            goto fail;
        }
    }
    if ((rc = q_arg_str(c, id)) != Q_OK || (rc = q_arg_str(c, n->rp)) != Q_OK ||
        (rc = q_arg_str(c, n->msisdn)) != Q_OK || (rc = q_arg_str(c, n->client_ref)) != Q_OK ||
        (rc = q_arg_u64(c, n->digest_alg)) != Q_OK ||
        (rc = q_arg_add(c, n->digest ? (const void *)n->digest : "", n->digest_len)) != Q_OK ||
        (rc = q_arg_str(c, n->vc)) != Q_OK || (rc = q_arg_str(c, n->display_text)) != Q_OK ||
        (rc = q_arg_i64(c, n->net)) != Q_OK || (rc = q_arg_i64(c, n->now_ms)) != Q_OK ||
        (rc = q_arg_i64(c, n->deadline_ms)) != Q_OK || (rc = q_arg_i64(c, n->now_ms + n->lease_ms)) != Q_OK ||
        (rc = q_arg_str(c, n->req_hash)) != Q_OK || (rc = q_arg_u64(c, n->format)) != Q_OK ||
        (rc = q_arg_add(c, n->doc_digest ? (const void *)n->doc_digest : "", n->doc_digest_len)) != Q_OK ||
        (rc = q_arg_i64(c, n->signing_time)) != Q_OK || (rc = q_arg_u64(c, n->op)) != Q_OK ||
        (rc = q_arg_u64(c, n->key_alg)) != Q_OK ||
        (rc = q_arg_add(c, n->payload ? (const void *)n->payload : "", n->payload_len)) != Q_OK ||
        (rc = q_arg_str(c, n->cb_url)) != Q_OK || (rc = q_arg_u64(c, n->cb_kind)) != Q_OK ||
        (rc = q_arg_str(c, n->cb_ctx)) != Q_OK)
        goto fail;
    if (q_ev_state(q)->on)
        rc = q_arg_u64(c, q_ev_state(q)->max_backlog);
    else
        rc = q_arg_str(c, "");
    if (rc != Q_OK)
        goto fail;
    q_call_submit(c);
    return;
fail:
    q_call_fail(c, rc);
}

/* Validate id, then "EVALSHA sha numkeys" + txn key; returns the shard. */
static enum q_err begin_txn_script(struct q_call *c, const char *id, unsigned numkeys, unsigned *shard)
{
    enum q_err rc;

    if ((rc = q_id_shard(id, q_shards(c->q), shard)) != Q_OK)
        return rc;
    if ((rc = q_arg_script(c, numkeys)) != Q_OK)
        return rc;
    return q_arg_key(c, *shard, "txn", id);
}

void q_txn_sent(struct q *q, const char *id, q_done_cb *cb, void *arg)
{
    struct q_call *c = q_call_begin(q, complete_done, QS_SENT);
    enum q_err rc;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->cb.done = cb;
    c->arg = arg;
    if ((rc = begin_txn_script(c, id, 2, &shard)) != Q_OK || (rc = q_arg_zset(c, shard, "outbox")) != Q_OK ||
        (rc = q_arg_str(c, id)) != Q_OK || (rc = q_arg_i64(c, now_ms())) != Q_OK) {
        q_call_fail(c, rc);
        return;
    }
    q_call_submit(c);
}

void q_txn_sent_many(struct q *q, const char *const *ids, size_t n, q_done_cb *cb, void *arg)
{
    struct q_call *c = q_call_begin(q, complete_done, QS_SENT_MANY);
    enum q_err rc = Q_ERR_INVALID;
    unsigned shard = 0, s;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->cb.done = cb;
    c->arg = arg;
    if (n == 0 || n > Q_SENT_MANY_MAX || (rc = q_id_shard(ids[0], q_shards(q), &shard)) != Q_OK ||
        (rc = q_arg_script(c, 2)) != Q_OK || (rc = q_arg_zset(c, shard, "outbox")) != Q_OK ||
        (rc = q_arg_key(c, shard, "txn", "")) != Q_OK || (rc = q_arg_i64(c, now_ms())) != Q_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if ((rc = q_id_shard(ids[i], q_shards(q), &s)) != Q_OK || s != shard) {
            rc = Q_ERR_INVALID;
            goto fail;
        }
        if ((rc = q_arg_str(c, ids[i])) != Q_OK)
            goto fail;
    }
    q_call_submit(c);
    return;
fail:
    q_call_fail(c, rc == Q_OK ? Q_ERR_INVALID : rc);
}

void q_txn_resync(struct q *q, const char *id, uint64_t cntr, uint64_t step, int64_t lease_until_ms, q_lookup_cb *cb,
                  void *arg)
{
    struct q_call *c = q_call_begin(q, complete_lookup, QS_RESYNC);
    enum q_err rc = Q_ERR_INVALID;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL, NULL);
        return;
    }
    c->cb.lookup = cb;
    c->arg = arg;
    if (cntr == 0 || step == 0 || step > Q_CNTR_MAX || cntr > Q_CNTR_MAX - step)
        goto fail;
    if ((rc = begin_txn_script(c, id, 4, &shard)) != Q_OK || (rc = q_arg_key(c, shard, "sub", "")) != Q_OK ||
        (rc = q_arg_key(c, shard, "ctr", "")) != Q_OK || (rc = q_arg_zset(c, shard, "outbox")) != Q_OK ||
        (rc = q_arg_str(c, id)) != Q_OK || (rc = q_arg_u64(c, cntr)) != Q_OK || (rc = q_arg_u64(c, step)) != Q_OK ||
        (rc = q_arg_i64(c, lease_until_ms)) != Q_OK)
        goto fail;
    q_call_submit(c);
    return;
fail:
    q_call_fail(c, rc);
}

void q_txn_resent(struct q *q, const char *id, uint64_t cntr, q_done_cb *cb, void *arg)
{
    struct q_call *c = q_call_begin(q, complete_done, QS_RESENT);
    enum q_err rc;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->cb.done = cb;
    c->arg = arg;
    if ((rc = begin_txn_script(c, id, 1, &shard)) != Q_OK || (rc = q_arg_u64(c, cntr)) != Q_OK) {
        q_call_fail(c, rc);
        return;
    }
    q_call_submit(c);
}

void q_txn_track(struct q *q, const char *id, const char *link, const char *far_ref, int64_t lease_until_ms,
                 q_done_cb *cb, void *arg)
{
    struct q_call *c = q_call_begin(q, complete_done, QS_TRACK);
    enum q_err rc;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->cb.done = cb;
    c->arg = arg;
    if (!link || !far_ref || strlen(link) >= Q_FAR_LINK_LEN || strlen(far_ref) >= Q_FAR_REF_LEN) {
        q_call_fail(c, Q_ERR_INVALID);
        return;
    }
    if ((rc = begin_txn_script(c, id, 2, &shard)) != Q_OK || (rc = q_arg_zset(c, shard, "outbox")) != Q_OK ||
        (rc = q_arg_str(c, id)) != Q_OK || (rc = q_arg_str(c, link)) != Q_OK || (rc = q_arg_str(c, far_ref)) != Q_OK ||
        (rc = q_arg_i64(c, lease_until_ms)) != Q_OK) {
        q_call_fail(c, rc);
        return;
    }
    q_call_submit(c);
}

void q_por_lookup(struct q *q, const char *msisdn, q_lookup_cb *cb, void *arg)
{
    struct q_call *c = q_call_begin(q, complete_lookup, QS_LOOKUP);
    enum q_err rc = Q_ERR_INVALID;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL, NULL);
        return;
    }
    c->cb.lookup = cb;
    c->arg = arg;
    if (!q_msisdn_ok(msisdn))
        goto fail;
    memcpy(c->msisdn, msisdn, strlen(msisdn) + 1);
    shard = q_shard_of(msisdn, q_shards(q));
    if ((rc = q_arg_script(c, 2)) != Q_OK || (rc = q_arg_key(c, shard, "sub", msisdn)) != Q_OK ||
        (rc = q_arg_key(c, shard, "txn", "")) != Q_OK)
        goto fail;
    q_call_submit(c);
    return;
fail:
    q_call_fail(c, rc);
}

void q_txn_finish(struct q *q, const char *id, uint64_t expect_cntr, const struct q_finish *f, q_finish_cb *cb,
                  void *arg)
{
    struct q_call *c = q_call_begin(q, complete_finish, QS_FINISH);
    enum q_err rc = Q_ERR_INVALID;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    c->cb.finish = cb;
    c->arg = arg;
    if (!f || (f->state != Q_COMPLETED && f->state != Q_FAILED) || !f->result || strlen(f->result) >= 32 ||
        (f->detail && strlen(f->detail) >= 160) || f->sig_len > Q_BLOB_MAX || f->cert_len > Q_BLOB_MAX ||
        (f->sig_len && !f->signature) || (f->cert_len && !f->cert) || f->ocsp_len > Q_BLOB_MAX ||
        (f->ocsp_len && !f->ocsp) || f->retention_ms <= 0 || f->etsi_status < 0 || f->etsi_status > 999 ||
        (f->transport && strlen(f->transport) >= Q_FAR_LINK_LEN) || (f->link && strlen(f->link) >= Q_FAR_LINK_LEN))
        goto fail;
    if (f->pin_serial && (f->state != Q_COMPLETED || !f->cert_len || !f->pin_serial[0] || strlen(f->pin_serial) >= 80 ||
                          !f->pin_spki_hex || strlen(f->pin_spki_hex) != 64))
        goto fail;
    if ((rc = begin_txn_script(c, id, 6, &shard)) != Q_OK || (rc = q_arg_zset(c, shard, "due")) != Q_OK ||
        (rc = q_arg_zset(c, shard, "outbox")) != Q_OK || (rc = q_arg_key(c, shard, "sub", "")) != Q_OK ||
        (rc = q_arg_zset(c, shard, "cbq")) != Q_OK || (rc = q_arg_zset(c, shard, "ev")) != Q_OK ||
        (rc = q_arg_str(c, id)) != Q_OK || (rc = q_arg_u64(c, expect_cntr)) != Q_OK ||
        (rc = q_arg_str(c, q_state_name(f->state))) != Q_OK || (rc = q_arg_str(c, f->result)) != Q_OK ||
        (rc = q_arg_i64(c, f->etsi_status)) != Q_OK || (rc = q_arg_str(c, f->detail)) != Q_OK ||
        (rc = q_arg_add(c, f->signature ? (const void *)f->signature : "", f->sig_len)) != Q_OK ||
        (rc = q_arg_add(c, f->cert ? (const void *)f->cert : "", f->cert_len)) != Q_OK ||
        (rc = q_arg_i64(c, f->now_ms)) != Q_OK || (rc = q_arg_i64(c, f->retention_ms)) != Q_OK ||
        (rc = q_arg_add(c, f->ocsp ? (const void *)f->ocsp : "", f->ocsp_len)) != Q_OK ||
        (rc = q_arg_str(c, f->pin_serial)) != Q_OK ||
        (rc = q_arg_str(c, f->pin_serial ? f->pin_spki_hex : NULL)) != Q_OK ||
        (rc = q_arg_str(c, f->want_txn ? "1" : "0")) != Q_OK || (rc = q_arg_str(c, ev_flag(q))) != Q_OK ||
        (rc = q_arg_str(c, f->transport)) != Q_OK || (rc = q_arg_str(c, f->link)) != Q_OK ||
        (rc = q_arg_i64(c, f->sent_ms)) != Q_OK)
        goto fail;
    q_call_submit(c);
    return;
fail:
    q_call_fail(c, rc);
}

void q_txn_receipt(struct q *q, const char *id, const char *rp, const char *message, int64_t now_ms, q_done_cb *cb,
                   void *arg)
{
    struct q_call *c = q_call_begin(q, complete_done, QS_RECEIPT);
    enum q_err rc = Q_ERR_INVALID;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->cb.done = cb;
    c->arg = arg;
    if (!rp || !rp[0] || strlen(rp) >= sizeof(((struct q_txn *)0)->rp) || now_ms <= 0 ||
        (message && strlen(message) > Q_RECEIPT_MAX))
        goto fail;
    if ((rc = begin_txn_script(c, id, 2, &shard)) != Q_OK || (rc = q_arg_zset(c, shard, "ev")) != Q_OK ||
        (rc = q_arg_str(c, rp)) != Q_OK || (rc = q_arg_i64(c, now_ms)) != Q_OK ||
        (rc = q_arg_str(c, message)) != Q_OK || (rc = q_arg_str(c, ev_flag(q))) != Q_OK ||
        (rc = q_arg_str(c, id)) != Q_OK)
        goto fail;
    q_call_submit(c);
    return;
fail:
    q_call_fail(c, rc);
}

void q_txn_get(struct q *q, const char *id, q_get_cb *cb, void *arg)
{
    struct q_call *c = q_call_begin(q, complete_get, -1);
    enum q_err rc;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    c->cb.get = cb;
    c->arg = arg;
    /* A read needs no script: one HGETALL. */
    if ((rc = q_id_shard(id, q_shards(q), &shard)) != Q_OK || (rc = q_arg_str(c, "HGETALL")) != Q_OK ||
        (rc = q_arg_key(c, shard, "txn", id)) != Q_OK) {
        q_call_fail(c, rc);
        return;
    }
    q_call_submit(c);
}

void q_sweep(struct q *q, int64_t now_ms, int64_t lease_ms, unsigned limit, q_resubmit_cb *resubmit, q_sweep_cb *done,
             void *arg)
{
    struct q_sweep_run *sw = calloc(1, sizeof *sw);
    unsigned shards = q_shards(q);

    q_stat_call(q);
    if (!sw) {
        q_stat_error(q);
        if (done)
            done(arg, Q_ERR_NOMEM, 0, 0);
        return;
    }
    sw->resubmit = resubmit;
    sw->done = done;
    sw->arg = arg;
    /* All shards in flight at once; `left` is set first so an early completion cannot finish the run. */
    sw->left = shards;
    if (limit == 0)
        limit = DEFAULT_SWEEP_LIMIT;
    for (unsigned s = 0; s < shards; s++) {
        struct q_call *c = q_call_new(q, complete_sweep, QS_SWEEP);
        enum q_err rc;
        if (!c) {
            /* Account for this shard without a call: fail it like a deferred one would. */
            struct q_call fake = {.q = q, .complete = complete_sweep, .script = -1, .sw = sw};
            if (sw->err == Q_OK)
                sw->err = Q_ERR_NOMEM;
            q_cb_enter(q);
            complete_sweep(&fake, Q_ERR_NOMEM, NULL);
            q_cb_leave(q);
            continue;
        }
        c->sw = sw;
        if ((rc = q_arg_script(c, 6)) != Q_OK || (rc = q_arg_zset(c, s, "due")) != Q_OK ||
            (rc = q_arg_zset(c, s, "outbox")) != Q_OK || (rc = q_arg_key(c, s, "txn", "")) != Q_OK ||
            (rc = q_arg_key(c, s, "sub", "")) != Q_OK || (rc = q_arg_zset(c, s, "cbq")) != Q_OK ||
            (rc = q_arg_zset(c, s, "ev")) != Q_OK || (rc = q_arg_i64(c, now_ms)) != Q_OK ||
            (rc = q_arg_i64(c, now_ms + (lease_ms > 0 ? lease_ms : 0))) != Q_OK || (rc = q_arg_u64(c, limit)) != Q_OK ||
            (rc = q_arg_i64(c, q_retention(q))) != Q_OK || (rc = q_arg_str(c, ev_flag(q))) != Q_OK) {
            q_call_fail(c, rc);
            continue;
        }
        q_call_submit(c);
    }
}
