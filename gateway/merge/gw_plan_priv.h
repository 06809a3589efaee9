/*
 * gw_plan_priv.h - what the plan resource's modules share: gw_plan.c (the
 * routes, building, override, approval), gw_plan_view.c (the read-only
 * views: rows, units, open, report, exports, bundle) and gw_plan_run.c (the
 * batch runner).
 */
#ifndef SIMPKI_GW_PLAN_PRIV_H
#define SIMPKI_GW_PLAN_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gw_enrol_import.h"
#include "gw_plan.h"
#include "q.h"

#define PLAN_ID_LEN 14 /* "p" + 12 hex + NUL */

struct event;
struct build;

struct gw_plan {
    struct event_base *base;
    const struct cfg *cfg;
    struct q *q;
    struct gw_metrics *metrics;
    struct event *tick; /* the runner's timer (gw_plan_run.c) */
    int stepping;       /* a runner step is under way: the next tick waits for it */
    unsigned builds;    /* builds under way, for gw_plan_free's log */
    /*
     * Work under way that will still call back (HTTP operations, builds,
     * runner steps) holds a reference: gw_plan_free runs before q_free, whose
     * answers then reach that work, which must not start more (dead) and
     * releases; the last release frees the struct.
     */
    unsigned refs;
    int dead;
};

void plan_hold(struct gw_plan *p);
void plan_release(struct gw_plan *p);

/* 1 when id is a plan id ("p" + 12 lowercase hex). */
int plan_id_valid(const char *id);

/*
 * A stored row as served: the plan's override of it (plan "overrides",
 * keyed by row number) copied in, its final "action", and once the plan is
 * approved the fixed "request_id" of a row that files one.  In place.
 */
void plan_row_effective(const json_t *plan, json_t *row);

/* The plan document's "rows" count (summary.rows). */
size_t plan_row_count(const json_t *plan);

/*
 * Load a plan and, with rows, all its rows (effective, in order) in chunks
 * of Q_PLAN_ROWS_MAX.  cb gets new references to hand on or drop (NULL on
 * error); err Q_ERR_NOT_FOUND for no such plan.
 */
typedef void plan_load_cb(void *arg, enum q_err err, json_t *plan, json_t *rows);
void plan_load(struct gw_plan *p, const char *id, int with_rows, plan_load_cb *cb, void *arg);

/*
 * The live state of up to Q_PLAN_ROWS_MAX requests by id: cb gets an
 * object id -> request document (absent where none).  New reference.
 */
typedef void plan_states_cb(void *arg, enum q_err err, json_t *docs);
void plan_request_docs(struct gw_plan *p, const char *const *ids, size_t n, plan_states_cb *cb, void *arg);

/*
 * What a request's document says of its progress, for a plan's row:
 * "waiting_pin" while the SIM asks the official, "waiting_device" for a
 * handover not yet closed, else the request's state.
 */
const char *plan_request_state(const json_t *doc);

/* 1 when a request state is final (done, failed, rejected). */
int plan_state_final(const char *state);

/* 503 with Retry-After for Redis away, 500 otherwise; 404 for Q_ERR_NOT_FOUND. */
void plan_storage_error(struct evhttp_request *req, enum q_err err);

/* ---- gw_plan_build.c -------------------------------------------------- */

/* POST /v1/plans: answered 202 and built in the background, or refused (400 with the findings). */
void plan_build_create(struct gw_plan *p, struct evhttp_request *req, const char *rp);

/* ---- gw_plan_view.c --------------------------------------------------- */

/* GET /v1/plans/{id}/<what>: rows, units, open, report, export, bundle.  1 when handled. */
int plan_view_handle(struct gw_plan *p, struct evhttp_request *req, const char *id, const char *what);

/* ---- gw_plan_run.c ---------------------------------------------------- */

int plan_run_start(struct gw_plan *p); /* the timer; -1 on failure */
void plan_run_stop(struct gw_plan *p);

#endif /* SIMPKI_GW_PLAN_PRIV_H */
