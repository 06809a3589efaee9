/* gw_txn_metrics.c - the engine's Prometheus text (gw_engine_render_metrics, gw_txn.h). */
#include "gw_txn_priv.h"

#include <event2/buffer.h>
#include <stdio.h>

#include "gw_metrics.h"
#include "sig_revoc.h"
#include "sig_vcache.h"

static void counter(struct evbuffer *out, const char *name, const char *help, const char *labels, uint64_t v)
{
    if (help)
        evbuffer_add_printf(out, "# HELP simpki_%s %s\n# TYPE simpki_%s counter\n", name, help, name);
    evbuffer_add_printf(out, "simpki_%s%s%s%s %llu\n", name, labels ? "{" : "", labels ? labels : "", labels ? "}" : "",
                        (unsigned long long)v);
}

/* Revocation checker, verification cache, timestamps, binding: this instance's counters. */
static void render_signer_metrics(const struct gw_engine *e, struct evbuffer *out)
{
    counter(out, "revocation_results_total", "revocation outcomes of verified signatures (unknown: hard-fail)",
            "result=\"good\"", e->revoc_good);
    counter(out, "revocation_results_total", NULL, "result=\"revoked\"", e->revoc_revoked);
    counter(out, "revocation_results_total", NULL, "result=\"unknown\"", e->revoc_unknown);
    if (e->revoc) {
        struct sig_revoc_stats rs;
        sig_revoc_get_stats(e->revoc, &rs);
        counter(out, "revocation_checks_total", "certificate status checks started", NULL, rs.checks);
        counter(out, "revocation_cache_hits_total", "answers taken from the Redis or in-process cache", NULL,
                rs.cache_hits);
        counter(out, "revocation_ocsp_fetches_total", "OCSP requests sent to a responder", NULL, rs.ocsp_fetches);
        counter(out, "revocation_crl_fetches_total", "CRL downloads (fallback when OCSP gives no answer)", NULL,
                rs.crl_fetches);
        counter(out, "revocation_unknown_total", "checks no source could answer", NULL, rs.unknown);
        counter(out, "revocation_soft_failed_total", "unknown status accepted under a soft-fail policy", NULL,
                rs.soft_failed);
    }
    if (e->vc) {
        struct sig_vcache_stats vs;
        sig_vcache_get_stats(e->vc, &vs);
        counter(out, "vcache_lookups_total", "verification cache lookups by table and outcome",
                "table=\"cert\",outcome=\"hit\"", vs.cert_hits);
        counter(out, "vcache_lookups_total", NULL, "table=\"cert\",outcome=\"miss\"", vs.cert_misses);
        counter(out, "vcache_lookups_total", NULL, "table=\"path\",outcome=\"hit\"", vs.path_hits);
        counter(out, "vcache_lookups_total", NULL, "table=\"path\",outcome=\"miss\"", vs.path_misses);
        counter(out, "vcache_lookups_total", NULL, "table=\"revocation\",outcome=\"hit\"", vs.revoc_hits);
        counter(out, "vcache_lookups_total", NULL, "table=\"revocation\",outcome=\"miss\"", vs.revoc_misses);
        counter(out, "vcache_evictions_total", "verification cache entries evicted at the bound", NULL, vs.evictions);
        gw_metrics_gauge(out, "vcache_entries", "verification cache entries now", "table=\"cert\"", (double)vs.certs);
        gw_metrics_gauge(out, "vcache_entries", NULL, "table=\"revocation\"", (double)vs.revocs);
    }
    if (e->tsa) {
        counter(out, "timestamps_total", "CAdES-B-T timestamps by outcome", "result=\"ok\"", e->tsa_ok);
        counter(out, "timestamps_total", NULL, "result=\"failed\"", e->tsa_failed);
    }
    counter(out, "cert_mismatch_total", "signatures refused: registered certificate differs from the pinned one", NULL,
            e->cert_mismatch);
}

void gw_engine_render_metrics(const struct gw_engine *e, struct evbuffer *out)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } fields[] = {
        {"link_submitted_total", "requests given to the link (SMPP: submit_sm)",
         offsetof(struct car_link_stats, submitted)},
        {"link_submit_ok_total", "requests the carrier accepted", offsetof(struct car_link_stats, submit_ok)},
        {"link_submit_error_total", "requests refused", offsetof(struct car_link_stats, submit_err)},
        {"link_throttled_total", "throttling answers (SMPP)", offsetof(struct car_link_stats, throttled)},
        {"link_resent_total", "requests sent again", offsetof(struct car_link_stats, resent)},
        {"link_mo_total", "answers from SIMs or the signature service", offsetof(struct car_link_stats, mo_received)},
        {"link_receipts_total", "delivery receipts (SMPP), HTTP answers (ETSI)",
         offsetof(struct car_link_stats, receipts)},
        {"link_malformed_total", "malformed PDUs, messages or SOAP answers",
         offsetof(struct car_link_stats, mo_malformed)},
        {"link_reconnects_total", "reconnections (SMPP), circuit openings (ETSI)",
         offsetof(struct car_link_stats, reconnects)},
    };
    struct car_link_stats st[MAX_LINKS];
    char labels[96];

    for (size_t i = 0; i < e->n_links; i++)
        car_link_stats(e->links[i].link, &st[i]);
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        evbuffer_add_printf(out, "# HELP simpki_%s %s\n# TYPE simpki_%s counter\n", fields[f].name, fields[f].help,
                            fields[f].name);
        for (size_t i = 0; i < e->n_links; i++) {
            snprintf(labels, sizeof(labels), "link=\"%s\"", car_link_name(e->links[i].link));
            gw_metrics_gauge(out, fields[f].name, NULL, labels,
                             (double)*(const uint64_t *)(const void *)((const char *)&st[i] + fields[f].off));
        }
    }
    gw_metrics_gauge(out, "parked", "commands waiting for a carrier link to come up", NULL, (double)e->n_parked);
    render_signer_metrics(e, out);
    for (size_t i = 0; i < e->n_links; i++) {
        snprintf(labels, sizeof(labels), "link=\"%s\"", car_link_name(e->links[i].link));
        gw_metrics_gauge(out, "link_up", i == 0 ? "1 when the link is bound (SMPP) or its circuit closed (ETSI)" : NULL,
                         labels, e->links[i].up);
        gw_metrics_gauge(out, "link_in_flight", i == 0 ? "requests awaiting a response" : NULL, labels,
                         st[i].in_flight);
        gw_metrics_gauge(out, "link_queued", i == 0 ? "commands waiting for the window" : NULL, labels, st[i].queued);
    }
}
