/*
 * gw_lat.h - the API's answers and added latency, per operation
 * (gw_metrics.h GW_API_OPS): simpki_api_request_duration_seconds and
 * simpki_api_responses_total.
 *
 * route() starts the clock once libevent has read a whole request and names
 * the operation from the method, path and query; libevent stops it when the
 * answer has been written (evhttp_request_set_on_complete_cb), whichever of
 * the many answering paths wrote it, synchronously or after Redis answered.
 * An answer never written (the client went away first) is not counted.
 *
 * The start time travels with the request itself, as an input header whose
 * name no client can send (it holds a ':', where the HTTP parser splits a
 * line): libevent frees it with the request on every path, so nothing of ours
 * can leak when a client vanishes.  Cost per request: one clock read and
 * three small allocations at the start, one clock read and a short header
 * scan at the end (docs/metrics.md has the measured figure).
 *
 * Loop thread only.
 */
#ifndef SIMPKI_GW_LAT_H
#define SIMPKI_GW_LAT_H

#include "gw_metrics.h"

struct evhttp_request;

/* The request was read: start its clock under the operation its method, path (never NULL) and query name. */
void gw_lat_start(struct gw_metrics *m, struct evhttp_request *req, const char *path);

/*
 * A front end knows better once it has read the body: count the answer
 * under op instead (e.g. a synch MSS_Signature, which holds the client until
 * the transaction ends and is therefore not timed).
 */
void gw_lat_reclass(struct gw_metrics *m, struct evhttp_request *req, enum gw_api_op op);

/* The operation gw_lat_start names (exposed for the unit test). */
enum gw_api_op gw_lat_classify(int is_get, const char *path, const char *query);

#endif /* SIMPKI_GW_LAT_H */
