/* gw_metrics.c - see gw_metrics.h. */
#include "gw_metrics.h"

#include <event2/buffer.h>
#include <inttypes.h>

void gw_metrics_render(const struct gw_metrics *m, struct evbuffer *out)
{
    static const char *const names[] = {
#define GW_X(id, name, help) name,
        GW_COUNTERS(GW_X)
#undef GW_X
    };
    static const char *const helps[] = {
#define GW_X(id, name, help) help,
        GW_COUNTERS(GW_X)
#undef GW_X
    };
    for (int i = 0; i < GW_M_COUNT; i++)
        evbuffer_add_printf(out, "# HELP simpki_%s %s\n# TYPE simpki_%s counter\nsimpki_%s %" PRIu64 "\n", names[i],
                            helps[i], names[i], names[i], m->c[i]);
    if (m->extra)
        m->extra(m->extra_arg, out);
}

void gw_metrics_gauge(struct evbuffer *out, const char *name, const char *help, const char *labels, double v)
{
    if (help)
        evbuffer_add_printf(out, "# HELP simpki_%s %s\n# TYPE simpki_%s gauge\n", name, help, name);
    evbuffer_add_printf(out, "simpki_%s%s%s%s %.17g\n", name, labels ? "{" : "", labels ? labels : "",
                        labels ? "}" : "", v);
}
