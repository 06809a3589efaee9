/*
 * gw_plan.h - the merger review as an API resource (operator role): a plan
 * built from the reorganisation and the staff list (gw_merge_input.h)
 * against the registry, reviewed row by row, approved, and run as a batch
 * of ordinary certificate requests (gw_enrol.h) that the lifecycle engine
 * carries out.
 *
 *   POST /v1/plans                          build a plan                 -> 202
 *        {"name", "deadline": "YYYY-MM-DD", "by",
 *         "reorg": "<CSV or JSON text>", "staff": "<CSV or JSON text>"}
 *        400 INVALID_INPUT with "findings" when a file has errors (nothing stored)
 *   GET  /v1/plans                          {"plans": [plan documents without findings]}
 *   GET  /v1/plans/{id}                     the plan document
 *   GET  /v1/plans/{id}/rows?unit=&action=&rule=&state=&offset=&limit=
 *        {"matched": N, "rows": [...]} in row order; action is the final one
 *   GET  /v1/plans/{id}/units               [{"unit", "new_unit", "rows", "by_action", "open"}]
 *   POST /v1/plans/{id}/rows/{no}           override: {"action", "reason", "by", "version"}
 *        -> the plan document, version + 1; 409 VERSION_CONFLICT when version is
 *        not the plan's (someone changed it since it was read), 409
 *        PLAN_APPROVED once approved, 400 with "field" for an action the row
 *        cannot take (change/revoke without a certificate, "decide")
 *   GET  /v1/plans/{id}/diff?from=V&to=W    {"from", "to", "changes": gw_merge_diff()}
 *   POST /v1/plans/{id}/approve             {"by", "version"} -> the plan, state
 *        "approved"; 409 DECISIONS_PENDING (with "rows") while a row is "decide",
 *        409 VERSION_CONFLICT as above
 *   GET  /v1/plans/{id}/open?format=json|csv   what is still open, by unit (reminders)
 *   GET  /v1/plans/{id}/report?format=json|csv every row's requests and their states
 *   GET  /v1/plans/{id}/export?format=csv|json the requests for the CA (gw_forms.h export)
 *   GET  /v1/plans/{id}/bundle?unit=U       one unit's printable bundle (HTML)
 *   GET  /ui/plans                          the review page (HTML, no external resources;
 *                                           it asks for an operator key and calls the above)
 *
 * THE PLAN DOCUMENT:
 *   {"id": "p" + 12 hex, "name", "state", "version", "rev", "deadline",
 *    "created_at", "created_by", "basis", "effective",
 *    "build": {"read", "total"},           registry entries read so far (building)
 *    "findings": [...],                    gw_merge_findings_json (warnings)
 *    "summary": {...},                     gw_merge_plan_build's, and as served
 *                                          "final_by_action": the counts after overrides
 *    "overrides": {"<row no>": {"action", "reason", "by", "at", "version"}},
 *    "history": [{"version", "at", "by", "what": "built"|"override"|"approve",
 *                 "row", "from", "to", "reason"}],
 *    "approved": {"by", "at", "version"},
 *    "progress": {"rows", "to_file", "filed", "done", "failed", "waiting_pin",
 *                 "waiting_device", "in_progress"},
 *    "handovers": [{"group", "receiver", "rows", "request_id"}],
 *    "run": {"cursor", "handovers_filed", "in_flight": [{"id", "key"}]},
 *    "errors": [{"key", "error"}]}        rows whose request was refused
 *   state: building -> review -> approved -> running -> finished (| failed: the
 *   build could not read the registry, or its instance stopped: a build
 *   whose heartbeat_ms is two minutes old is served as failed).
 *   Rows are stored as built and never rewritten: an override lives in the
 *   plan document ("overrides"), so overriding is one compare-and-set, and
 *   the history alone says what any version was (the diff).
 *
 * A ROW (gw_merge_rules.h builds it):
 *   {"no", "unit", "new_unit", "kind": "person"|"organisation", "holder",
 *    "msisdn", "serial", "subject", "valid_to", "carrier", "cs", "id_number",
 *    "email", "new_post", "staff_line", "reorg_line",
 *    "action": "keep"|"change"|"revoke"|"decide", "rule", "detail",
 *    "reason", "reason_code", "handover_to", "keeps_device",
 *    "changes": [{"field", "old", "new"}],
 *    "override": {"action", "reason", "by", "at", "version"},   as served
 *    "final_action",                                           as served
 *    "request_id", "state"}       once approved: the request the row files
 *   and (once filed) its state: the request's (confirmed ... done | failed |
 *   rejected), or "waiting_pin" while the SIM asks the official for the PIN.
 *
 * EXECUTION.  Approving hands the plan to the runner (any instance, under a
 * lease, like the lifecycle engine: gw_plan_run.c).  Each row whose final
 * action is change or revoke becomes a request (gw_enrol_file.h) confirmed
 * by the approving operator, whose id is fixed by the plan and the row:
 * "r" + 20 hex of SHA-256("simpki-plan:<plan id>:r<row>"); each handover
 * group one Mẫu 14, ":h<group>", left "submitted" until the devices are
 * received (closed by hand, like any Mẫu 14).  The ids are fixed, so a
 * rerun or a crash between filing and recording finds the request instead
 * of making a second one.
 * At most merge.max_in_flight requests of a plan are unfinished at a time
 * and merge.per_tick are filed per tick.  A failed request is reported and
 * never stops the others; the plan is finished when every request is done,
 * failed or rejected.
 */
#ifndef SIMPKI_GW_PLAN_H
#define SIMPKI_GW_PLAN_H

struct evhttp_request;
struct event_base;
struct cfg;
struct q;
struct gw_metrics;
struct gw_plan;

/* q and metrics are borrowed and outlive the plan module.  NULL on out of memory. */
struct gw_plan *gw_plan_new(struct event_base *base, const struct cfg *cfg, struct q *q, struct gw_metrics *metrics);
void gw_plan_free(struct gw_plan *p); /* NULL does nothing */

/* Paths under /v1/plans, authenticated as relying party rp with the operator role.  1 when handled. */
int gw_plan_handle(struct gw_plan *p, struct evhttp_request *req, const char *path, const char *rp);

/* The review page (GET /ui/plans): static, public; its data needs an operator key. */
void gw_plan_page(struct evhttp_request *req);

#endif /* SIMPKI_GW_PLAN_H */
