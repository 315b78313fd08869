/*
 * metrics.c - process-wide counters and gauges for the units' /metrics
 * pages, rendered in the Prometheus text exposition format. Metrics are
 * registered on first use and live until the process exits; updates are
 * lock-free atomic adds.
 */
#include "base/base.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct ao_metric {
    struct ao_metric *next;
    char *name;
    char *help;
    bool gauge;
    atomic_llong value;
};

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static ao_metric *metrics_head;

static bool name_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++) {
        bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == ':';
        if (!alpha && !(p != s && *p >= '0' && *p <= '9'))
            return false;
    }
    return true;
}

ao_metric *ao_metric_get(const char *name, const char *help, bool gauge)
{
    if (!name_ok(name))
        return NULL;
    pthread_mutex_lock(&metrics_mu);
    ao_metric *m = metrics_head;
    while (m && strcmp(m->name, name) != 0)
        m = m->next;
    if (!m && (m = calloc(1, sizeof *m)) != NULL) {
        m->name = strdup(name);
        m->help = strdup(help ? help : "");
        m->gauge = gauge;
        if (!m->name || !m->help) {
            free(m->name);
            free(m->help);
            free(m);
            m = NULL;
        } else {
            /* keep registration order for a stable page */
            ao_metric **tail = &metrics_head;
            while (*tail)
                tail = &(*tail)->next;
            *tail = m;
        }
    }
    pthread_mutex_unlock(&metrics_mu);
    return m;
}

void ao_metric_add(ao_metric *m, int64_t delta)
{
    if (m)
        atomic_fetch_add(&m->value, delta);
}

void ao_metric_set(ao_metric *m, int64_t value)
{
    if (m)
        atomic_store(&m->value, value);
}

int64_t ao_metric_value(const ao_metric *m)
{
    return m ? atomic_load(&((ao_metric *)m)->value) : 0;
}

int ao_metrics_render(ao_buf *out)
{
    int rc = AO_OK;
    pthread_mutex_lock(&metrics_mu);
    for (ao_metric *m = metrics_head; m && rc == AO_OK; m = m->next) {
        ao_buf_append_str(out, "# HELP ");
        ao_buf_append_str(out, m->name);
        ao_buf_append_byte(out, ' ');
        for (const char *p = m->help; *p; p++) {   /* escape \ and newline */
            if (*p == '\\')
                ao_buf_append_str(out, "\\\\");
            else if (*p == '\n')
                ao_buf_append_str(out, "\\n");
            else
                ao_buf_append_byte(out, (uint8_t)*p);
        }
        rc = ao_buf_printf(out, "\n# TYPE %s %s\n%s %lld\n", m->name,
                           m->gauge ? "gauge" : "counter", m->name,
                           (long long)atomic_load(&m->value));
    }
    pthread_mutex_unlock(&metrics_mu);
    return rc;
}
