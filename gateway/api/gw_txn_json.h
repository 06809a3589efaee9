/*
 * gw_txn_json.h - a transaction as the JSON API shows it: the body of
 * GET /v1/signatures/{id}, of POST's answer, and of the JSON callback
 * (gw_callback.h), so that a receiver reads what a poller reads.
 */
#ifndef SIMPKI_GW_TXN_JSON_H
#define SIMPKI_GW_TXN_JSON_H

#include <stdint.h>

#include "gw_util.h"
#include "q.h"

struct evbuffer;

/*
 * Write t into j (gw_json_begin .. gw_json_end: the caller frees j->buf).
 * With a callback, a "callback" object: url, state ("pending" until
 * delivered or given up, also while the transaction is), attempts.
 * 0, or -1 when out of memory.
 */
int gw_txn_json(const struct q_txn *t, struct gw_json *j) __attribute__((warn_unused_result));

/*
 * gw_callback.h's body builder for Q_CB_KIND_JSON: gw_txn_json into out,
 * *content_type "application/json".  arg is unused.  0, or -1.
 */
int gw_txn_json_body(void *arg, const struct q_txn *t, struct evbuffer *out, const char **content_type);

#endif /* SIMPKI_GW_TXN_JSON_H */
