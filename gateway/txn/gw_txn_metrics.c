/* gw_txn_metrics.c - the engine's Prometheus text (gw_engine_render_metrics, gw_txn.h). */
#include "gw_txn_priv.h"

#include <event2/buffer.h>
#include <stdio.h>

#include "gw_metrics.h"
#include "sig_revoc.h"
#include "sig_vcache.h"

/* Revocation checker, verification cache, timestamps, binding: this instance's counters. */
static void render_signer_metrics(const struct gw_engine *e, struct evbuffer *out)
{
    gw_metrics_counter(out, "revocation_results_total",
                       "revocation outcomes of verified signatures (unknown: hard-fail)", "result=\"good\"",
                       e->revoc_good);
    gw_metrics_counter(out, "revocation_results_total", NULL, "result=\"revoked\"", e->revoc_revoked);
    gw_metrics_counter(out, "revocation_results_total", NULL, "result=\"unknown\"", e->revoc_unknown);
    if (e->revoc) {
        struct sig_revoc_stats rs;
        sig_revoc_get_stats(e->revoc, &rs);
        gw_metrics_counter(out, "revocation_checks_total", "certificate status checks started", NULL, rs.checks);
        gw_metrics_counter(out, "revocation_cache_hits_total", "answers taken from the Redis or in-process cache", NULL,
                           rs.cache_hits);
        gw_metrics_counter(out, "revocation_ocsp_fetches_total", "OCSP requests sent to a responder", NULL,
                           rs.ocsp_fetches);
        gw_metrics_counter(out, "revocation_crl_fetches_total", "CRL downloads (fallback when OCSP gives no answer)",
                           NULL, rs.crl_fetches);
        gw_metrics_counter(out, "revocation_unknown_total", "checks no source could answer", NULL, rs.unknown);
        gw_metrics_counter(out, "revocation_soft_failed_total", "unknown status accepted under a soft-fail policy",
                           NULL, rs.soft_failed);
    }
    if (e->vc) {
        struct sig_vcache_stats vs;
        sig_vcache_get_stats(e->vc, &vs);
        gw_metrics_counter(out, "vcache_lookups_total", "verification cache lookups by table and outcome",
                           "table=\"cert\",outcome=\"hit\"", vs.cert_hits);
        gw_metrics_counter(out, "vcache_lookups_total", NULL, "table=\"cert\",outcome=\"miss\"", vs.cert_misses);
        gw_metrics_counter(out, "vcache_lookups_total", NULL, "table=\"path\",outcome=\"hit\"", vs.path_hits);
        gw_metrics_counter(out, "vcache_lookups_total", NULL, "table=\"path\",outcome=\"miss\"", vs.path_misses);
        gw_metrics_counter(out, "vcache_lookups_total", NULL, "table=\"revocation\",outcome=\"hit\"", vs.revoc_hits);
        gw_metrics_counter(out, "vcache_lookups_total", NULL, "table=\"revocation\",outcome=\"miss\"", vs.revoc_misses);
        gw_metrics_counter(out, "vcache_evictions_total", "verification cache entries evicted at the bound", NULL,
                           vs.evictions);
        gw_metrics_gauge(out, "vcache_entries", "verification cache entries now", "table=\"cert\"", (double)vs.certs);
        gw_metrics_gauge(out, "vcache_entries", NULL, "table=\"revocation\"", (double)vs.revocs);
    }
    if (e->tsa) {
        gw_metrics_counter(out, "timestamps_total", "CAdES-B-T timestamps by outcome", "result=\"ok\"", e->tsa_ok);
        gw_metrics_counter(out, "timestamps_total", NULL, "result=\"failed\"", e->tsa_failed);
    }
    gw_metrics_counter(out, "cert_mismatch_total",
                       "signatures refused: registered certificate differs from the pinned one", NULL,
                       e->cert_mismatch);
    gw_metrics_hist(out, "signature_verify_duration_seconds",
                    "time to check a signature a SIM or service answered, on the loop thread: certificate path "
                    "(cached), signature, binding, CMS; an OCSP or CRL fetch and a timestamp it waits for are not "
                    "included",
                    NULL, &e->verify_lat);
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
    char labels[MAX_LINKS][96];

    for (size_t i = 0; i < e->n_links; i++) {
        car_link_stats(e->links[i].link, &st[i]);
        snprintf(labels[i], sizeof(labels[i]), "link=\"%s\"", car_link_name(e->links[i].link));
    }
    /* One family at a time: the text format wants the samples of a name together. */
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        gw_metrics_family(out, fields[f].name, fields[f].help, "counter");
        for (size_t i = 0; i < e->n_links; i++)
            gw_metrics_counter(out, fields[f].name, NULL, labels[i],
                               *(const uint64_t *)(const void *)((const char *)&st[i] + fields[f].off));
    }
    gw_metrics_family(out, "link_up", "1 when the link is bound (SMPP) or its circuit closed (ETSI)", "gauge");
    for (size_t i = 0; i < e->n_links; i++)
        gw_metrics_gauge(out, "link_up", NULL, labels[i], e->links[i].up);
    gw_metrics_family(out, "link_in_flight", "requests awaiting a response", "gauge");
    for (size_t i = 0; i < e->n_links; i++)
        gw_metrics_gauge(out, "link_in_flight", NULL, labels[i], st[i].in_flight);
    gw_metrics_family(out, "link_queued", "commands waiting for the window", "gauge");
    for (size_t i = 0; i < e->n_links; i++)
        gw_metrics_gauge(out, "link_queued", NULL, labels[i], st[i].queued);
    gw_metrics_family(out, "transport_duration_seconds",
                      "one exchange with a carrier: submit_sm written to submit_sm_resp read (smpp), an HTTP "
                      "request to its answer (etsi204)",
                      "histogram");
    for (size_t i = 0; i < e->n_links; i++) {
        char l2[160];
        snprintf(l2, sizeof(l2), "transport=\"%s\",link=\"%s\"", car_link_transport(e->links[i].link),
                 car_link_name(e->links[i].link));
        gw_metrics_hist(out, "transport_duration_seconds", NULL, l2, &e->links[i].rtt);
    }
    gw_metrics_gauge(out, "parked", "commands waiting for a carrier link to come up", NULL, (double)e->n_parked);
    render_signer_metrics(e, out);
}
