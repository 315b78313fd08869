/*
 * mu.c - the Messenger Unit's routes (mu.h): opening the queue and the
 * workers, POST / (verify, check the ao tags, rate limits, forward to the
 * SU, queue the crank), assign, monitors, dead letters, queue depth.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "item/item.h"
#include "mu/mu_internal.h"

static int copy_wallet(const crypto_wallet *w, crypto_wallet **out, ao_error *err)
{
    char *json = NULL;
    int rc = crypto_wallet_to_json(w, &json, err);
    if (rc)
        return rc;
    rc = crypto_wallet_parse(json, strlen(json), out, err);
    memset(json, 0, strlen(json));
    free(json);
    return rc;
}

int mu_open(const mu_options *opt, mu **out, ao_error *err)
{
    *out = NULL;
    if (!opt || !opt->dir || !opt->wallet)
        return ao_err_set(err, AO_EINVAL, "mu: dir and wallet are required");
    if (!opt->su.post || !opt->su.assign || !opt->su.process || !opt->cu.result ||
        !opt->data.put)
        return ao_err_set(err, AO_EINVAL,
                          "mu: su post/assign/process, cu result and data put are required");
    if (mkdir(opt->dir, 0700) != 0 && errno != EEXIST)
        return ao_err_set(err, AO_EIO, "mu: cannot create %s: %s", opt->dir, strerror(errno));
    mu *m = calloc(1, sizeof *m);
    if (!m)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    m->opt = *opt;
    m->opt.dir = strdup(opt->dir);
    if (!m->opt.workers)
        m->opt.workers = 4;
    if (!m->opt.max_attempts)
        m->opt.max_attempts = 20;
    if (!m->opt.backoff_ms)
        m->opt.backoff_ms = 100;
    if (!m->opt.backoff_max_ms)
        m->opt.backoff_max_ms = 30000;
    if (!m->opt.intake_hold_ms)
        m->opt.intake_hold_ms = MU_INTAKE_HOLD_MS;
    if (m->opt.backoff_max_ms < m->opt.backoff_ms)
        m->opt.backoff_max_ms = m->opt.backoff_ms;
    if (!m->opt.cron_poll_ms)
        m->opt.cron_poll_ms = 10000;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    pthread_mutex_init(&m->cache_lock, NULL);
    pthread_mutex_init(&m->rate_lock, NULL);
    pthread_mutex_init(&m->gc_lock, NULL);
    pthread_cond_init(&m->gc_cond, NULL);
    int rc = m->opt.dir ? AO_OK : ao_err_set(err, AO_ENOMEM, "out of memory");
    if (rc == AO_OK)
        rc = copy_wallet(opt->wallet, &m->wallet, err);
    if (rc == AO_OK) {
        m->opt.wallet = m->wallet;
        size_t olen;
        const uint8_t *owner = crypto_wallet_owner(m->wallet, &olen);
        rc = crypto_address(crypto_wallet_type(m->wallet), owner, olen, m->address, err);
    }
    if (rc == AO_OK) {
        pthread_mutex_lock(&m->lock);
        rc = mu_q_open(m, err);
        pthread_mutex_unlock(&m->lock);
    }
    if (rc == AO_OK)
        rc = mu_workers_start(m, err);
    if (rc) {
        mu_close(m);
        return rc;
    }
    ao_log(AO_LOG_INFO, MU_UNIT, "messenger %s open, %llu pushes pending, %u workers",
           m->address, (unsigned long long)m->pending, m->opt.workers);
    *out = m;
    return AO_OK;
}

void mu_close(mu *m)
{
    if (!m)
        return;
    mu_workers_stop(m);
    if (m->db)
        mu_q_close(m);
    free(m->threads);
    free(m->running);
    for (size_t i = 0; i < m->nprocs; i++)
        mu_proc_info_free(&m->procs[i]);
    free(m->procs);
    free(m->rates);
    crypto_wallet_free(m->wallet);
    free((char *)m->opt.dir);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->cache_lock);
    pthread_mutex_destroy(&m->rate_lock);
    mu_jobs_free(&m->gc_queue);
    pthread_mutex_destroy(&m->gc_lock);
    pthread_cond_destroy(&m->gc_cond);
    free(m);
}

const char *mu_address(const mu *m)
{
    return m->address;
}

/* ---- rate limits: fixed one-minute windows per key ---- */

static int rate_take(mu *m, const char *kind, const char *key, uint32_t limit, ao_error *err)
{
    if (!limit || !key)
        return AO_OK;
    char k[96];
    snprintf(k, sizeof k, "%s:%s", kind, key);
    int64_t minute = ao_now_ms() / 60000;
    int rc = AO_OK;
    pthread_mutex_lock(&m->rate_lock);
    if (minute != m->rate_minute) {
        m->rate_minute = minute;
        m->nrates = 0;
    }
    mu_rate_entry *e = NULL;
    for (size_t i = 0; i < m->nrates && !e; i++)
        if (strcmp(m->rates[i].key, k) == 0)
            e = &m->rates[i];
    if (!e) {
        if (m->nrates == m->caprates) {
            size_t nc = m->caprates ? m->caprates * 2 : 32;
            mu_rate_entry *v = realloc(m->rates, nc * sizeof *v);
            if (!v) {
                pthread_mutex_unlock(&m->rate_lock);
                return ao_err_set(err, AO_ENOMEM, "out of memory");
            }
            m->rates = v;
            m->caprates = nc;
        }
        e = &m->rates[m->nrates++];
        snprintf(e->key, sizeof e->key, "%s", k);
        e->count = 0;
    }
    if (e->count >= limit)
        rc = ao_err_set(err, AO_EDENIED, "rate limit: more than %u items per minute from %s %s",
                        limit, kind, key);
    else
        e->count++;
    pthread_mutex_unlock(&m->rate_lock);
    if (rc) {
        ao_log(AO_LOG_WARN, MU_UNIT, "%s", err ? err->msg : "rate limited");
        ao_metric_add(ao_metric_get("ao_mu_rate_limited_total", "Items refused by rate limits",
                                    false), 1);
    }
    return rc;
}

/* ---- routes ---- */

static bool tag_eq(const item_tag *t, const char *s)
{
    return t->value_len == strlen(s) && memcmp(t->value, s, t->value_len) == 0;
}

static bool tag_named(const item_tag *t, const char *s)
{
    return t->name_len == strlen(s) && memcmp(t->name, s, t->name_len) == 0;
}

/* Stores the jobs of js (moved out of it) durably before returning.
 * Callers that arrive while a commit is in flight are committed together
 * by the next leader (one fsync for the batch). */
static int queue_jobs(mu *m, mu_jobs *js, ao_error *err)
{
    pthread_mutex_lock(&m->gc_lock);
    int rc = AO_OK;
    for (size_t i = 0; i < js->n && !rc; i++)
        rc = mu_jobs_push(&m->gc_queue, &js->v[i]);
    mu_jobs_free(js);
    if (rc) {
        pthread_mutex_unlock(&m->gc_lock);
        return ao_err_set(err, rc, "out of memory");
    }
    uint64_t mine = ++m->gc_enq;
    while (m->gc_done < mine) {
        if (m->gc_busy) {
            pthread_cond_wait(&m->gc_cond, &m->gc_lock);
            continue;
        }
        /* Lead: commit everything queued so far. */
        m->gc_busy = true;
        mu_jobs batch = m->gc_queue;
        memset(&m->gc_queue, 0, sizeof m->gc_queue);
        uint64_t from = m->gc_done, upto = m->gc_enq;
        pthread_mutex_unlock(&m->gc_lock);
        ao_error e = {0};
        pthread_mutex_lock(&m->lock);
        int r = mu_q_insert_all(m, &batch, &e);
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
        mu_jobs_free(&batch);
        pthread_mutex_lock(&m->gc_lock);
        if (r) {
            m->gc_fail_from = from;
            m->gc_fail_to = upto;
            m->gc_err = e;
        }
        m->gc_done = upto;
        m->gc_busy = false;
        pthread_cond_broadcast(&m->gc_cond);
    }
    if (mine > m->gc_fail_from && mine <= m->gc_fail_to) {
        rc = m->gc_err.code ? m->gc_err.code : AO_EIO;
        if (err)
            *err = m->gc_err;
    }
    pthread_mutex_unlock(&m->gc_lock);
    return rc;
}

/* Queues the crank of msg on pid durably (and, for an item taken in by
 * POST /, deletes its intake job in the same commit). */
static int queue_crank(mu *m, const char *msg, const char *pid, const char *initial,
                       bool drop_intake, ao_error *err)
{
    mu_jobs js = {0};
    if (mu_job_crank(&js, msg, pid, initial))
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    js.v[0].drop_intake = drop_intake;
    return queue_jobs(m, &js, err);
}

/* The intake job of id: held (stored) before the SU sees the item, or
 * deleted when there is nothing to crank. */
static int queue_intake(mu *m, const char *id, const char *pid, const char *target,
                        const uint8_t *raw, size_t len, ao_error *err)
{
    mu_jobs js = {0};
    if (mu_job_intake(&js, id, pid, target, raw, len, ao_now_ms() + m->opt.intake_hold_ms))
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    return queue_jobs(m, &js, err);
}

static int drop_intake(mu *m, const char *id, ao_error *err)
{
    mu_jobs js = {0};
    if (mu_job_drop_intake(&js, id))
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    return queue_jobs(m, &js, err);
}

int mu_post(mu *m, const uint8_t *raw, size_t len, const char *ip, ao_buf *body, ao_error *err)
{
    item it;
    int rc = item_verify(raw, len, &it, err);
    if (rc)
        return rc;
    bool ao = false;
    const item_tag *type = NULL;
    for (size_t i = 0; i < it.ntags; i++) {
        const item_tag *t = &it.tags[i];
        if (tag_named(t, "Data-Protocol") && tag_eq(t, "ao"))
            ao = true;
        if (!type && tag_named(t, "Type"))
            type = t;
    }
    if (!ao)
        return ao_err_set(err, AO_EINVAL, "Data-Protocol tag must be ao");
    bool is_process = type && tag_eq(type, "Process");
    if (!type || (!is_process && !tag_eq(type, "Message")))
        return ao_err_set(err, AO_EINVAL, "Type tag must be Process or Message");
    if (!is_process && !it.target)
        return ao_err_set(err, AO_EINVAL, "a Message needs a target");

    char id[ITEM_ID_B64_LEN + 1], owner[AO_ADDRESS_MAX], target[ITEM_ID_B64_LEN + 1];
    item_id_b64(&it, id);
    item_owner_address(&it, owner);
    if (it.target)
        ao_b64url_encode_to(it.target, ITEM_TARGET_LEN, target);
    else
        target[0] = 0;
    if ((rc = rate_take(m, "wallet", owner, m->opt.rate_per_wallet, err)) ||
        (rc = rate_take(m, "ip", ip, m->opt.rate_per_ip, err)))
        return rc;

    /* Stored before the SU sees it: a crash after the SU's answer must
     * not leave a scheduled message uncranked. */
    if ((rc = queue_intake(m, id, is_process ? id : target, target, raw, len, err)))
        return rc;
    ao_buf su;
    ao_buf_init(&su);
    rc = m->opt.su.post(m->opt.su.ctx, raw, len, &su, err);
    ao_buf_free(&su);
    bool crank = true;
    if (rc == AO_ENOTFOUND && !is_process) {
        /* The target may be a wallet: store the message, nothing to crank. */
        mu_proc_info pi;
        ao_error e2 = {0};
        int r2 = mu_proc_lookup(m, target, &pi, &e2);
        if (r2 == AO_ENOTFOUND) {
            ao_err_clear(err);
            weave_put_result res;
            rc = m->opt.data.put(m->opt.data.ctx, raw, len, &res, err);
            crank = false;
            if (rc == AO_OK)
                ao_metric_add(ao_metric_get("ao_mu_wallet_messages_total",
                                            "Pushed messages to wallets stored", false), 1);
        } else if (r2 == AO_OK) {
            mu_proc_info_free(&pi);
        }
    }
    /* An SU that could not be reached may still have scheduled the item:
     * its intake job stays and tries again after the hold (the client's
     * own retry meets the same slot). A refusal or a stored wallet
     * message has nothing left to crank. */
    if ((rc && rc != AO_EIO && rc != AO_EBUSY) || (!rc && !crank)) {
        ao_error e2;
        int r2 = drop_intake(m, id, &e2);
        if (r2 && !rc)
            *err = e2;
        rc = rc ? rc : r2;
    }
    if (rc) {
        ao_log(AO_LOG_DEBUG, MU_UNIT, "item %s refused: %s", id, err ? err->msg : "");
        return rc;
    }
    if (crank && (rc = queue_crank(m, id, is_process ? id : target, id, true, err)))
        return rc;
    ao_metric_add(ao_metric_get("ao_mu_posts_total", "Items taken in by POST /", false), 1);
    ao_log(AO_LOG_DEBUG, MU_UNIT, "took %s %s%s%s", is_process ? "process" : "message", id,
           is_process ? "" : " to ", target);
    if (body && ao_buf_printf(body, "{\"message\":\"Processing DataItem\",\"id\":\"%s\"}", id))
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    return AO_OK;
}

static bool is_id(const char *s)
{
    if (!s || strlen(s) != ITEM_ID_B64_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

int mu_assign(mu *m, const char *pid, const char *tx_id, bool base_layer,
              const char *exclude_csv, ao_buf *body, ao_error *err)
{
    if (!is_id(pid) || !is_id(tx_id))
        return ao_err_set(err, AO_EINVAL, "process-id and assign must be 43-character ids");
    ao_buf out;
    ao_buf_init(&out);
    int rc = m->opt.su.assign(m->opt.su.ctx, pid, tx_id, base_layer, exclude_csv, &out, err);
    if (rc) {
        ao_buf_free(&out);
        return rc;
    }
    cJSON *root = cJSON_ParseWithLength((const char *)out.data, out.len);
    ao_buf_free(&out);
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(root, "id");
    char aid[ITEM_ID_B64_LEN + 1] = "";
    if (cJSON_IsString(idj))
        snprintf(aid, sizeof aid, "%s", idj->valuestring);
    cJSON_Delete(root);
    if (!aid[0])
        return ao_err_set(err, AO_EFORMAT, "the SU's assign answer has no id");
    if ((rc = queue_crank(m, tx_id, pid, tx_id, false, err)))
        return rc;
    ao_metric_add(ao_metric_get("ao_mu_posts_total", "Items taken in by POST /", false), 1);
    if (body &&
        ao_buf_printf(body, "{\"message\":\"Processing Assignment\",\"id\":\"%s\"}", aid))
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    return AO_OK;
}

int mu_monitor(mu *m, const char *pid, const uint8_t *raw, size_t len, ao_error *err)
{
    if (!is_id(pid))
        return ao_err_set(err, AO_EINVAL, "process id must be 43 characters");
    if (raw && len) {
        item it;
        int rc = item_verify(raw, len, &it, err);
        if (rc)
            return rc;
        char t[ITEM_ID_B64_LEN + 1] = "";
        if (it.target)
            ao_b64url_encode_to(it.target, ITEM_TARGET_LEN, t);
        if (strcmp(t, pid) != 0)
            return ao_err_set(err, AO_EINVAL, "the monitor item must target %s", pid);
    }
    pthread_mutex_lock(&m->lock);
    mu_q_durable(m, true);
    int rc = mu_q_monitor_add(m, pid, raw, len, err);
    pthread_mutex_unlock(&m->lock);
    if (rc == AO_OK)
        ao_log(AO_LOG_INFO, MU_UNIT, "monitoring %s", pid);
    return rc;
}

int mu_unmonitor(mu *m, const char *pid, ao_error *err)
{
    pthread_mutex_lock(&m->lock);
    mu_q_durable(m, true);
    int rc = mu_q_monitor_del(m, pid, err);
    pthread_mutex_unlock(&m->lock);
    if (rc == AO_OK)
        ao_log(AO_LOG_INFO, MU_UNIT, "stopped monitoring %s", pid);
    return rc;
}

int mu_dead_letters_json(mu *m, ao_buf *body, ao_error *err)
{
    pthread_mutex_lock(&m->lock);
    int rc = mu_q_dead_json(m, body, err);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

uint64_t mu_pending(mu *m)
{
    pthread_mutex_lock(&m->lock);
    uint64_t n = m->pending;
    pthread_mutex_unlock(&m->lock);
    return n;
}

int mu_wait_idle(mu *m, uint32_t timeout_ms, ao_error *err)
{
    int64_t end = ao_mono_ms() + timeout_ms;
    pthread_mutex_lock(&m->lock);
    while (m->pending > 0) {
        int64_t left = end - ao_mono_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t step = left < 50 ? left : 50;
        ts.tv_nsec += step * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&m->cond, &m->lock, &ts);
    }
    uint64_t n = m->pending;
    pthread_mutex_unlock(&m->lock);
    if (n)
        return ao_err_set(err, AO_EBUSY, "%llu pushes still pending", (unsigned long long)n);
    return AO_OK;
}
