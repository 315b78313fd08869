/*
 * worker.c - the Messenger Unit's threads: `workers` threads take ready
 * jobs from the queue, run them without the lock, and record the outcome:
 * done (with the jobs it leads to, in the same transaction), retry with
 * exponential backoff (unit unreachable or busy), or dead letter (refused,
 * or out of attempts). One more thread polls the CU's cron results of the
 * monitored processes and queues their outboxes with the new cursor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mu/mu_internal.h"

static void deadline_in(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static bool retryable(int rc)
{
    return rc == AO_EIO || rc == AO_EBUSY || rc == AO_ENOMEM;
}

static void running_del(mu *m, int64_t id)
{
    for (size_t i = 0; i < m->nrunning; i++)
        if (m->running[i] == id) {
            m->running[i] = m->running[--m->nrunning];
            return;
        }
}

/* Records the outcome of job j (lock held). */
static void finish(mu *m, const mu_job *j, int rc, const ao_error *why, mu_jobs *next)
{
    ao_error e = {0};
    const char *reason = why->msg[0] ? why->msg : ao_strerror(rc);
    if (rc == AO_OK) {
        uint64_t added = 0;
        /* New signed pushes must be on disk before their first attempt;
         * a lost done mark only runs an idempotent job again. */
        bool durable = false;
        for (size_t i = 0; i < next->n && !durable; i++)
            durable = next->v[i].raw != NULL;
        mu_q_durable(m, durable);
        int r = mu_q_begin(m, &e);
        for (size_t i = 0; r == AO_OK && i < next->n; i++)
            r = mu_q_insert(m, &next->v[i], &added, &e);
        if (r == AO_OK)
            r = mu_q_mark_done(m, j->rowid, &e);
        if (r == AO_OK)
            r = mu_q_commit(m, &e);
        else
            mu_q_rollback(m);
        if (r == AO_OK) {
            m->pending += added;
            if (m->pending)
                m->pending--;
            return;
        }
        /* Could not record it: the job stays pending and runs again (its
         * pushes are idempotent by id), after a pause so that a failing
         * disk does not turn into a loop of re-posts. */
        ao_log(AO_LOG_ERROR, MU_UNIT, "recording %s/%s done failed: %s", j->source, j->kind,
               e.msg);
        m->stall_until = ao_mono_ms() + 1000;
        rc = AO_EIO;
        reason = "recording the outcome failed";
    }
    uint32_t attempts = j->attempts + 1;
    uint32_t max = m->opt.max_attempts;
    if (retryable(rc) && attempts < max) {
        uint64_t delay = m->opt.backoff_ms;
        for (uint32_t i = 1; i < attempts && delay < m->opt.backoff_max_ms; i++)
            delay *= 2;
        if (delay > m->opt.backoff_max_ms)
            delay = m->opt.backoff_max_ms;
        ao_log(AO_LOG_WARN, MU_UNIT, "retry %u/%u of %s %s (%s/%lld) in %llu ms: %s",
               attempts, max, j->kind, j->item_id ? j->item_id : "", j->source,
               (long long)j->idx, (unsigned long long)delay, reason);
        ao_metric_add(ao_metric_get("ao_mu_push_retries_total",
                                    "Pushes and pulls retried after a failure", false), 1);
        mu_q_durable(m, false);
        if (mu_q_mark_retry(m, j->rowid, attempts, ao_now_ms() + (int64_t)delay, reason, &e)) {
            ao_log(AO_LOG_ERROR, MU_UNIT, "recording a retry failed: %s", e.msg);
            m->stall_until = ao_mono_ms() + (int64_t)delay;
        }
        return;
    }
    ao_log(AO_LOG_WARN, MU_UNIT, "dead letter: %s %s (%s/%lld, process %s) after %u attempts: %s",
           j->kind, j->item_id ? j->item_id : "", j->source, (long long)j->idx, j->process,
           attempts, reason);
    ao_metric_add(ao_metric_get("ao_mu_dead_letters_total", "Pushes given up (dead letters)",
                                false), 1);
    mu_q_durable(m, false);
    int r = mu_q_begin(m, &e);
    if (r == AO_OK)
        r = mu_q_mark_dead(m, j->rowid, attempts, reason, &e);
    if (r == AO_OK && strcmp(j->kind, "spawn") == 0)
        r = mu_q_kill_notice(m, j, &e);
    if (r == AO_OK)
        r = mu_q_commit(m, &e);
    else
        mu_q_rollback(m);
    if (r == AO_OK) {
        if (m->pending)
            m->pending--;
    } else {
        ao_log(AO_LOG_ERROR, MU_UNIT, "recording a dead letter failed: %s", e.msg);
        m->stall_until = ao_mono_ms() + 1000;
    }
}

static void *worker_main(void *arg)
{
    mu *m = arg;
    pthread_setname_np(pthread_self(), "mu-worker");   /* per-thread CPU (bench/e2e) */
    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        mu_job j;
        int64_t wake = 0;
        ao_error e = {0};
        int64_t stall = m->stall_until - ao_mono_ms();
        if (stall > 0) {
            struct timespec ts;
            deadline_in(&ts, stall);
            pthread_cond_timedwait(&m->cond, &m->lock, &ts);
            continue;
        }
        int got = mu_q_claim(m, ao_now_ms(), &j, &wake, &e);
        if (got < 0)
            m->stall_until = ao_mono_ms() + 1000;
        if (got <= 0) {
            if (got < 0)
                ao_log(AO_LOG_ERROR, MU_UNIT, "queue: %s", e.msg);
            int64_t wait = 1000;
            if (wake > 0) {
                int64_t d = wake - ao_now_ms();
                if (d < wait)
                    wait = d < 1 ? 1 : d;
            }
            struct timespec ts;
            deadline_in(&ts, wait);
            pthread_cond_timedwait(&m->cond, &m->lock, &ts);
            continue;
        }
        m->running[m->nrunning++] = j.rowid;
        pthread_mutex_unlock(&m->lock);

        mu_jobs next = {0};
        ao_error why = {0};
        int rc = mu_job_run(m, &j, &next, &why);

        pthread_mutex_lock(&m->lock);
        finish(m, &j, rc, &why, &next);
        mu_q_gauge(m);
        running_del(m, j.rowid);
        pthread_cond_broadcast(&m->cond);
        mu_jobs_free(&next);
        mu_job_free(&j);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

/* ---- cron monitors ---- */

/* One page of pid's cron results from cursor; *more when there is another. */
static int poll_one(mu *m, const char *pid, const char *cursor, bool *more)
{
    *more = false;
    ao_buf b;
    ao_buf_init(&b);
    ao_error e = {0};
    int rc = m->opt.cu.cron(m->opt.cu.ctx, pid, cursor, 50, &b, &e);
    if (rc) {
        ao_buf_free(&b);
        ao_log(AO_LOG_WARN, MU_UNIT, "cron of %s: %s", pid, e.msg);
        return rc;
    }
    cJSON *root = cJSON_ParseWithLength((const char *)b.data, b.len);
    ao_buf_free(&b);
    const cJSON *edges = cJSON_GetObjectItemCaseSensitive(root, "edges");
    if (!cJSON_IsArray(edges)) {
        cJSON_Delete(root);
        ao_log(AO_LOG_WARN, MU_UNIT, "cron of %s: answer has no edges", pid);
        return AO_EFORMAT;
    }
    mu_jobs jobs = {0};
    const char *last = NULL;
    const cJSON *edge;
    rc = AO_OK;
    cJSON_ArrayForEach(edge, edges) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(edge, "cursor");
        cJSON *node = cJSON_GetObjectItemCaseSensitive(edge, "node");
        if (!cJSON_IsString(c))
            continue;
        if (!cJSON_IsObject(node)) {
            /* nothing to push, but move past it */
            ao_log(AO_LOG_WARN, MU_UNIT, "cron of %s: edge %s has no result", pid,
                   c->valuestring);
            last = c->valuestring;
            continue;
        }
        char src[512];
        snprintf(src, sizeof src, "cron:%s", c->valuestring);
        cJSON *copy = cJSON_Duplicate(node, 1);
        if (!copy) {
            rc = AO_ENOMEM;
            break;
        }
        rc = mu_outbox_jobs_json(m, copy, src, pid, NULL, &jobs, &e);
        if (rc)
            break;
        last = c->valuestring;
    }
    if (rc == AO_OK && last) {
        pthread_mutex_lock(&m->lock);
        uint64_t added = 0;
        mu_q_durable(m, true);
        int r = mu_q_begin(m, &e);
        for (size_t i = 0; r == AO_OK && i < jobs.n; i++)
            r = mu_q_insert(m, &jobs.v[i], &added, &e);
        if (r == AO_OK)
            r = mu_q_monitor_cursor(m, pid, last, &e);
        if (r == AO_OK)
            r = mu_q_commit(m, &e);
        else
            mu_q_rollback(m);
        if (r == AO_OK) {
            m->pending += added;
            mu_q_gauge(m);
            pthread_cond_broadcast(&m->cond);
            const cJSON *pi = cJSON_GetObjectItemCaseSensitive(root, "pageInfo");
            *more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pi, "hasNextPage"));
            ao_log(AO_LOG_DEBUG, MU_UNIT, "cron of %s: %zu pushes queued", pid, jobs.n);
        }
        rc = r;
        pthread_mutex_unlock(&m->lock);
    }
    if (rc)
        ao_log(AO_LOG_WARN, MU_UNIT, "cron of %s: %s", pid, e.msg);
    mu_jobs_free(&jobs);
    cJSON_Delete(root);
    return rc;
}

static void poll_all(mu *m)
{
    char **pids, **cursors;
    size_t n;
    ao_error e = {0};
    pthread_mutex_lock(&m->lock);
    int rc = mu_q_monitors(m, &pids, &cursors, &n, &e);
    pthread_mutex_unlock(&m->lock);
    if (rc) {
        ao_log(AO_LOG_ERROR, MU_UNIT, "monitors: %s", e.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        /* Follow pages, re-reading the cursor just stored. */
        char *cur = cursors[i];
        cursors[i] = NULL;
        for (int page = 0; page < 20; page++) {
            bool more = false;
            if (poll_one(m, pids[i], cur, &more) || !more)
                break;
            char **p2, **c2;
            size_t n2;
            pthread_mutex_lock(&m->lock);
            rc = mu_q_monitors(m, &p2, &c2, &n2, &e);
            pthread_mutex_unlock(&m->lock);
            if (rc)
                break;
            free(cur);
            cur = NULL;
            for (size_t k = 0; k < n2; k++) {
                if (strcmp(p2[k], pids[i]) == 0) {
                    cur = c2[k];
                    c2[k] = NULL;
                }
                free(p2[k]);
                free(c2[k]);
            }
            free(p2);
            free(c2);
        }
        free(cur);
        pthread_mutex_lock(&m->lock);
        bool stop = m->stop;
        pthread_mutex_unlock(&m->lock);
        if (stop)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        free(pids[i]);
        free(cursors[i]);
    }
    free(pids);
    free(cursors);
}

static void *cron_main(void *arg)
{
    mu *m = arg;
    pthread_setname_np(pthread_self(), "mu-cron");
    pthread_mutex_lock(&m->lock);
    while (!m->stop) {
        struct timespec ts;
        deadline_in(&ts, m->opt.cron_poll_ms);
        int64_t until = ao_mono_ms() + m->opt.cron_poll_ms;
        while (!m->stop && ao_mono_ms() < until)
            if (pthread_cond_timedwait(&m->cond, &m->lock, &ts) == ETIMEDOUT)
                break;
        if (m->stop)
            break;
        pthread_mutex_unlock(&m->lock);
        poll_all(m);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

int mu_workers_start(mu *m, ao_error *err)
{
    m->threads = calloc(m->opt.workers, sizeof *m->threads);
    m->running = calloc(m->opt.workers + 1, sizeof *m->running);
    if (!m->threads || !m->running)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    for (unsigned i = 0; i < m->opt.workers; i++) {
        if (pthread_create(&m->threads[i], NULL, worker_main, m) != 0)
            return ao_err_set(err, AO_EIO, "cannot start a worker thread");
        m->nthreads++;
    }
    if (m->opt.cu.cron) {
        if (pthread_create(&m->cron_thread, NULL, cron_main, m) != 0)
            return ao_err_set(err, AO_EIO, "cannot start the cron poller");
        m->cron_started = true;
    }
    return AO_OK;
}

void mu_workers_stop(mu *m)
{
    pthread_mutex_lock(&m->lock);
    m->stop = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < m->nthreads; i++)
        pthread_join(m->threads[i], NULL);
    m->nthreads = 0;
    if (m->cron_started)
        pthread_join(m->cron_thread, NULL);
    m->cron_started = false;
}
