/*
 * node_clients.c - the in-process client tables of `ao up`: they bind the
 * SU's and the CU's functions (su.h, cu.h) into the tables the other units
 * read through (cu_su_client, mu_su_client, mu_cu_client), so a unit calls
 * its neighbour directly, with the same bodies and codes as over HTTP, and
 * the units never include one another. A cu_su_client can also be bound
 * to an su_log: the SU's reads rebuilt from the data layer, without an SU.
 */
#include "node/node.h"
#include "node/node_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* CPU time the calling thread spends inside a neighbour unit, counted by
 * the metrics ao_node_{mu,cu}_in_{su,cu}_cpu_us, so per-thread CPU time can
 * be split by unit even though the in-process calls run on the caller's
 * thread (bench/e2e). */
static int64_t thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#define TIMED(metric_name, call)                                                         \
    do {                                                                                 \
        static ao_metric *m_;                                                            \
        if (!m_)                                                                         \
            m_ = ao_metric_get(metric_name, "CPU us spent in in-process calls", false);  \
        int64_t t0_ = thread_cpu_us();                                                   \
        int r_ = (call);                                                                 \
        if (m_)                                                                          \
            ao_metric_add(m_, thread_cpu_us() - t0_);                                    \
        return r_;                                                                       \
    } while (0)

/* ---- cu_su_client over an SU ---- */

static int cs_process(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    TIMED("ao_node_cu_in_su_cpu_us", su_process_json(ctx, pid, out, err));
}

/* The query of a schedule page (GET /{pid}?process-id=&from=&to=&limit=). */
static void schedule_query(su_query *q, char lim[24], const char *pid, const char *from,
                           const char *to, size_t limit)
{
    memset(q, 0, sizeof *q);
    q->process_id = pid;
    q->from = from;
    q->to = to;
    if (limit) {
        snprintf(lim, 24, "%zu", limit);
        q->limit = lim;
    }
}

static int cs_schedule(void *ctx, const char *pid, const char *from, const char *to, size_t limit,
                       ao_buf *out, ao_error *err)
{
    char lim[24];
    su_query q;
    schedule_query(&q, lim, pid, from, to, limit);
    TIMED("ao_node_cu_in_su_cpu_us", su_get_json(ctx, pid, &q, out, err));
}

static int cs_message(void *ctx, const char *pid, const char *msg_id, ao_buf *out, ao_error *err)
{
    su_query q = { 0 };
    q.process_id = pid;
    TIMED("ao_node_cu_in_su_cpu_us", su_get_json(ctx, msg_id, &q, out, err));
}

static int cs_latest(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    TIMED("ao_node_cu_in_su_cpu_us", su_latest_json(ctx, pid, out, err));
}

static int cs_timestamp(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    TIMED("ao_node_cu_in_su_cpu_us", su_timestamp_json(ctx, pid, out, err));
}

void node_cu_su_client_local(su *s, cu_su_client *out)
{
    out->ctx = s;
    out->process = cs_process;
    out->schedule = cs_schedule;
    out->message = cs_message;
    out->latest = cs_latest;
    out->timestamp = cs_timestamp;
}

/* ---- cu_su_client over an su_log (the SU's reads from the data layer) ---- */

static int cl_process(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    TIMED("ao_node_cu_in_su_cpu_us", su_log_process_json(ctx, pid, out, err));
}

static int cl_schedule(void *ctx, const char *pid, const char *from, const char *to, size_t limit,
                       ao_buf *out, ao_error *err)
{
    char lim[24];
    su_query q;
    schedule_query(&q, lim, pid, from, to, limit);
    TIMED("ao_node_cu_in_su_cpu_us", su_log_get_json(ctx, pid, &q, out, err));
}

static int cl_message(void *ctx, const char *pid, const char *msg_id, ao_buf *out, ao_error *err)
{
    su_query q = { 0 };
    q.process_id = pid;
    TIMED("ao_node_cu_in_su_cpu_us", su_log_get_json(ctx, msg_id, &q, out, err));
}

static int cl_latest(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    TIMED("ao_node_cu_in_su_cpu_us", su_log_latest_json(ctx, pid, out, err));
}

static int cl_timestamp(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    TIMED("ao_node_cu_in_su_cpu_us", su_log_timestamp_json(ctx, pid, out, err));
}

void node_cu_su_client_log(su_log *l, cu_su_client *out)
{
    out->ctx = l;
    out->process = cl_process;
    out->schedule = cl_schedule;
    out->message = cl_message;
    out->latest = cl_latest;
    out->timestamp = cl_timestamp;
}

/* ---- mu_su_client over an SU ---- */

static int ms_post(void *ctx, const uint8_t *raw, size_t len, ao_buf *out, ao_error *err)
{
    TIMED("ao_node_mu_in_su_cpu_us", su_post_item(ctx, raw, len, NULL, out, err));
}

static int ms_assign(void *ctx, const char *pid, const char *tx_id, bool base_layer,
                     const char *exclude_csv, ao_buf *out, ao_error *err)
{
    TIMED("ao_node_mu_in_su_cpu_us", su_assign(ctx, pid, tx_id, base_layer, exclude_csv, NULL, out, err));
}

static int ms_process(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    TIMED("ao_node_mu_in_su_cpu_us", su_process_json(ctx, pid, out, err));
}

void node_mu_su_client_local(su *s, mu_su_client *out)
{
    out->ctx = s;
    out->post = ms_post;
    out->assign = ms_assign;
    out->process = ms_process;
}

/* ---- mu_cu_client over a CU ---- */

static int mc_result(void *ctx, const char *msg_id, const char *pid, ao_buf *out, ao_error *err)
{
    /* the MU asks with no-busy=1: wait for the evaluation */
    TIMED("ao_node_mu_in_cu_cpu_us", cu_result(ctx, msg_id, pid, true, out, err));
}

static int mc_cron(void *ctx, const char *pid, const char *from, size_t limit, ao_buf *out,
                   ao_error *err)
{
    char lim[24];
    const char *l = NULL;
    if (limit) {
        snprintf(lim, sizeof lim, "%zu", limit);
        l = lim;
    }
    TIMED("ao_node_mu_in_cu_cpu_us", cu_cron(ctx, pid, from, NULL, l, out, err));
}

void node_mu_cu_client_local(cu *c, mu_cu_client *out)
{
    out->ctx = c;
    out->result = mc_result;
    out->cron = mc_cron;
}
