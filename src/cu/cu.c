/*
 * cu.c - the Compute Unit (cu.h): the process table, the worker pool that
 * evaluates schedules (one process on at most one worker), loading a
 * process (SU record, Module item, checkpoint), evaluating messages and
 * crons in order, durable results, LRU eviction under the memory budget,
 * and the routes' functions (/result, /results, /dry-run, /state, /cron).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cu/cu_internal.h"
#include "item/item.h"

#define CU_SU_PAGE 1000
#define CU_BATCH 512

static ao_metric *m_evaluated, *m_errors, *m_resumes, *m_resume_us;

/* ---------------------------------------------------------------- table */

static size_t hash_pid(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Under c->mu. */
static cu_proc *proc_get(cu *c, const char *pid, bool create)
{
    size_t b = hash_pid(pid) % c->table_size;
    for (cu_proc *p = c->table[b]; p; p = p->hnext)
        if (strcmp(p->pid, pid) == 0) return p;
    if (!create || strlen(pid) >= CU_ID_MAX) return NULL;
    cu_proc *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    snprintf(p->pid, sizeof p->pid, "%s", pid);
    p->served_ts = INT64_MIN;
    p->want_ts = INT64_MIN;
    p->hnext = c->table[b];
    c->table[b] = p;
    c->nprocs++;
    return p;
}

static bool needs_work(const cu_proc *p)
{
    return p->want_ts > p->served_ts || p->want_latest > p->served_latest || p->want_now;
}

/* Under c->mu: queue p for a worker if it has work and is free. */
static void proc_kick(cu *c, cu_proc *p)
{
    if (p->queued || p->running || !needs_work(p)) return;
    p->queued = true;
    p->qnext = NULL;
    if (c->qtail) c->qtail->qnext = p;
    else c->qhead = p;
    c->qtail = p;
    pthread_cond_signal(&c->work_cv);
}

/* Under c->mu: take p for exclusive use (waits while a worker has it). */
static void proc_claim(cu *c, cu_proc *p)
{
    while (p->running) pthread_cond_wait(&c->done_cv, &c->mu);
    p->running = true;
}

/* Under c->mu. */
static void proc_release(cu *c, cu_proc *p)
{
    p->running = false;
    p->lru = ++c->lru_clock;
    pthread_cond_broadcast(&c->done_cv);
    proc_kick(c, p);
}

static void set_live(cu *c, cu_proc *p, uint64_t bytes)
{
    pthread_mutex_lock(&c->mu);
    if (p->mem_bytes) { c->live_bytes -= p->mem_bytes; c->live_procs--; }
    p->mem_bytes = bytes;
    if (bytes) { c->live_bytes += bytes; c->live_procs++; }
    pthread_mutex_unlock(&c->mu);
}

static void update_live(cu *c, cu_proc *p)
{
    if (p->shadow) return;
    size_t len = 0;
    if (p->hp) {
        host_process_memory(p->hp, &len);
        __atomic_store_n(&p->mod->last_size, (uint64_t)len, __ATOMIC_RELAXED);
    }
    set_live(c, p, p->hp ? (uint64_t)len : 0);
}

/* ---------------------------------------------------------------- loading */

static int load_module(cu *c, const char *id, cu_mod **out, ao_error *err)
{
    pthread_mutex_lock(&c->mod_mu);
    for (cu_mod *m = c->mods; m; m = m->next)
        if (strcmp(m->id, id) == 0) {
            *out = m;
            pthread_mutex_unlock(&c->mod_mu);
            return AO_OK;
        }
    int rc;
    weave_item_meta meta;
    memset(&meta, 0, sizeof meta);
    cu_mod *m = calloc(1, sizeof *m);
    if (!m) { rc = ao_err_set(err, AO_ENOMEM, "cu: out of memory"); goto fail; }
    snprintf(m->id, sizeof m->id, "%s", id);
    ao_buf_init(&m->wasm);
    rc = c->opt.data.get_meta(c->opt.data.ctx, id, WEAVE_META_KEYS, &meta, err);
    if (rc != AO_OK) { ao_err_wrap(err, "cu: module %s", id); goto fail; }
    const char *format = NULL, *mem = NULL, *gas = NULL, *in = NULL, *outenc = NULL;
    for (size_t i = 0; i < meta.ntags; i++) {
        const char *n = meta.tags[i].name, *v = meta.tags[i].value;
        if (!strcmp(n, "Module-Format")) format = v;
        else if (!strcmp(n, "Memory-Limit")) mem = v;
        else if (!strcmp(n, "Compute-Limit")) gas = v;
        else if (!strcmp(n, "Input-Encoding")) in = v;
        else if (!strcmp(n, "Output-Encoding")) outenc = v;
    }
    if ((in && strcmp(in, "JSON-1") && strcmp(in, "JSON-V1")) ||
        (outenc && strcmp(outenc, "JSON-1") && strcmp(outenc, "JSON-V1"))) {
        rc = ao_err_set(err, AO_EUNSUPPORTED, "cu: module %s: unsupported Input/Output-Encoding %s/%s",
                        id, in ? in : "-", outenc ? outenc : "-");
        goto fail;
    }
    uint64_t max_mem = c->opt.max_memory_limit ? c->opt.max_memory_limit : (1ULL << 30);
    uint64_t max_gas = c->opt.max_compute_limit ? c->opt.max_compute_limit : 9000000000000ULL;
    if (mem) {
        rc = host_parse_memory_limit(mem, &m->limits.memory_limit, err);
        if (rc != AO_OK) { ao_err_wrap(err, "cu: module %s Memory-Limit", id); goto fail; }
        if (m->limits.memory_limit > max_mem) {
            rc = ao_err_set(err, AO_ELIMIT, "cu: module %s: Memory-Limit %s is above this CU's maximum %llu",
                            id, mem, (unsigned long long)max_mem);
            goto fail;
        }
    } else
        m->limits.memory_limit = max_mem;
    if (gas) {
        char *end;
        unsigned long long g = strtoull(gas, &end, 10);
        if (!*gas || *end) {
            rc = ao_err_set(err, AO_EINVAL, "cu: module %s: bad Compute-Limit '%s'", id, gas);
            goto fail;
        }
        if (g > max_gas) {
            rc = ao_err_set(err, AO_ELIMIT, "cu: module %s: Compute-Limit %s is above this CU's maximum %llu",
                            id, gas, (unsigned long long)max_gas);
            goto fail;
        }
        m->limits.compute_limit = g;
    } else
        m->limits.compute_limit = max_gas;
    rc = c->opt.data.get_data(c->opt.data.ctx, id, &m->wasm, err);
    if (rc != AO_OK) { ao_err_wrap(err, "cu: module %s bytes", id); goto fail; }
    rc = host_module_new(m->wasm.data, m->wasm.len, format, &m->m, err);
    if (rc != AO_OK) { ao_err_wrap(err, "cu: module %s", id); goto fail; }
    char owner[AO_ADDRESS_MAX];
    rc = cu_owner_address(meta.owner_key, meta.owner_address, owner, err);
    if (rc != AO_OK) goto fail;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Id", id);
    cJSON_AddStringToObject(o, "Owner", owner);
    cJSON *tags = cu_tags_from_meta(&meta);
    if (tags) cJSON_AddItemToObject(o, "Tags", tags);
    m->env_json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!tags || !m->env_json) { rc = ao_err_set(err, AO_ENOMEM, "cu: out of memory"); goto fail; }
    weave_meta_free(&meta);
    m->next = c->mods;
    c->mods = m;
    *out = m;
    pthread_mutex_unlock(&c->mod_mu);
    return AO_OK;
fail:
    weave_meta_free(&meta);
    if (m) {
        host_module_free(m->m);
        ao_buf_free(&m->wasm);
        free(m->env_json);
        free(m);
    }
    pthread_mutex_unlock(&c->mod_mu);
    return rc;
}

int cu_cron_parse(const char *s, int64_t *every, bool *blocks, ao_error *err)
{
    char *end;
    long long n = strtoll(s, &end, 10);
    if (end == s || n <= 0 || *end != '-')
        return ao_err_set(err, AO_EINVAL, "cu: bad Cron-Interval '%s'", s);
    const char *u = end + 1;
    static const struct { const char *u; int64_t ms; } units[] = {
        {"second", 1000}, {"seconds", 1000}, {"minute", 60000}, {"minutes", 60000},
        {"hour", 3600000}, {"hours", 3600000}, {"day", 86400000}, {"days", 86400000},
        {"block", -1}, {"blocks", -1}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(u, units[i].u) == 0) {
            *blocks = units[i].ms < 0;
            *every = *blocks ? n : n * units[i].ms;
            return AO_OK;
        }
    return ao_err_set(err, AO_EINVAL, "cu: bad Cron-Interval unit '%s'", u);
}

static int proc_load(cu *c, cu_proc *p, ao_error *err)
{
    ao_buf b;
    ao_buf_init(&b);
    int rc = c->opt.su.process(c->opt.su.ctx, p->pid, &b, err);
    cJSON *j = NULL;
    if (rc != AO_OK) goto out;
    ao_buf_append_byte(&b, 0);
    j = cJSON_Parse((const char *)b.data);
    const cJSON *owner = cJSON_GetObjectItemCaseSensitive(j, "owner");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(j, "tags");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(j, "timestamp");
    const cJSON *block = cJSON_GetObjectItemCaseSensitive(j, "block");
    if (!j || !cJSON_IsArray(tags)) {
        rc = ao_err_set(err, AO_EFORMAT, "cu: bad process record of %s", p->pid);
        goto out;
    }
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(owner, "key");
    const cJSON *addr = cJSON_GetObjectItemCaseSensitive(owner, "address");
    rc = cu_owner_address(cJSON_IsString(key) ? key->valuestring : NULL,
                          cJSON_IsString(addr) ? addr->valuestring : NULL, p->owner, err);
    if (rc != AO_OK) goto out;
    p->origin_ts = cJSON_IsNumber(ts) ? (int64_t)ts->valuedouble
                   : cJSON_IsString(ts) ? strtoll(ts->valuestring, NULL, 10) : 0;
    p->origin_height = cJSON_IsString(block) ? strtoll(block->valuestring, NULL, 10)
                       : cJSON_IsNumber(block) ? (int64_t)block->valuedouble : 0;
    const char *module = cu_tag_value(tags, "Module");
    if (!module) {
        rc = ao_err_set(err, AO_EFORMAT, "cu: process %s has no Module tag", p->pid);
        goto out;
    }
    rc = load_module(c, module, &p->mod, err);
    if (rc != AO_OK) goto out;
    /* env */
    cJSON *pt = cu_tags_copy(tags, false);
    cJSON *po = cJSON_CreateObject();
    cJSON_AddStringToObject(po, "Id", p->pid);
    cJSON_AddStringToObject(po, "Owner", p->owner);
    if (pt) cJSON_AddItemToObject(po, "Tags", pt);
    char *ps = cJSON_PrintUnformatted(po);
    cJSON_Delete(po);
    if (!pt || !ps) { free(ps); rc = ao_err_set(err, AO_EFORMAT, "cu: bad process tags"); goto out; }
    ao_buf e;
    ao_buf_init(&e);
    ao_buf_printf(&e, "{\"Process\":%s,\"Module\":%s}", ps, p->mod->env_json);
    free(ps);
    free(p->env_json);
    p->env_json = (char *)ao_buf_take(&e, NULL);
    /* cron */
    const char *ci = cu_tag_value(tags, "Cron-Interval");
    p->cron_every = 0;
    if (ci) {
        rc = cu_cron_parse(ci, &p->cron_every, &p->cron_blocks, err);
        if (rc != AO_OK) goto out;
        free(p->cron_interval);
        p->cron_interval = strdup(ci);
        cJSON *ct = cJSON_CreateArray();
        const cJSON *t;
        cJSON_ArrayForEach(t, tags) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "value");
            if (cJSON_IsString(n) && cJSON_IsString(v) && strncmp(n->valuestring, "Cron-Tag-", 9) == 0 &&
                n->valuestring[9]) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "name", n->valuestring + 9);
                cJSON_AddStringToObject(o, "value", v->valuestring);
                cJSON_AddItemToArray(ct, o);
            }
        }
        free(p->cron_tags_json);
        p->cron_tags_json = cJSON_PrintUnformatted(ct);
        cJSON_Delete(ct);
    }
    p->loaded = true;
out:
    cJSON_Delete(j);
    ao_buf_free(&b);
    return rc;
}

/* A live instance: from the latest checkpoint, or fresh (genesis). */
static void enforce_budget(cu *c, cu_proc *keep, uint64_t extra);

static int proc_resume(cu *c, cu_proc *p, ao_error *err)
{
    if (p->hp) return AO_OK;
    /* make room first: the new instance is about as big as the last one
     * of its module */
    enforce_budget(c, p, __atomic_load_n(&p->mod->last_size, __ATOMIC_RELAXED));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = cu_ckpt_resume(c, p, INT64_MAX, err);
    if (rc == AO_OK) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ao_metric_add(m_resumes, 1);
        ao_metric_add(m_resume_us, (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
    }
    if (rc != AO_OK && rc != AO_ENOTFOUND && rc != AO_ENOMEM) {
        /* a lost or damaged checkpoint: the log rebuilds everything */
        ao_log(AO_LOG_WARN, "cu", "%s: checkpoint unusable (%s); replaying from the process message", p->pid,
               err ? err->msg : "");
        rc = AO_ENOTFOUND;
    }
    if (rc == AO_ENOTFOUND) {
        if (err) ao_err_clear(err);
        rc = host_process_new(p->mod->m, &p->mod->limits, &p->hp, err);
        p->started = false;
        memset(&p->last, 0, sizeof p->last);
        p->sched_ts = 0;
        p->cron_index = 0;
        p->cron_next = p->cron_blocks ? p->origin_height + p->cron_every : p->origin_ts + p->cron_every;
        p->dirty = false;
    }
    if (rc == AO_OK) update_live(c, p);
    return rc;
}

/* ---------------------------------------------------------------- evaluation */

typedef struct batch {
    cu_result_row rows[CU_BATCH];
    char *jsons[CU_BATCH];
    char *labels[CU_BATCH];
    size_t n;
} batch;

static void batch_clear(batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->jsons[i]);
        free(b->labels[i]);
    }
    b->n = 0;
}

static int batch_flush(cu *c, cu_proc *p, batch *b, ao_error *err)
{
    if (!b->n) return AO_OK;
    if (p->shadow) {
        batch_clear(b);
        return AO_OK;
    }
    int rc = cu_store_put(c->store, p->pid, b->rows, b->n, err);
    if (rc == AO_OK) {
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < b->n; i++)
            if (b->rows[i].ord.cron == 0) {
                p->done_nonce = b->rows[i].ord.ordinate;
                p->done_any = true;
            }
        p->done_ts = b->rows[b->n - 1].ord.timestamp;
        pthread_cond_broadcast(&c->done_cv);
        pthread_mutex_unlock(&c->mu);
    }
    batch_clear(b);
    return rc;
}

static int eval_one(cu *c, cu_proc *p, const char *msg, const cu_order *ord, const char *label,
                    batch *b, ao_error *err)
{
    host_result r;
    int64_t t0 = ao_mono_ms();
    int rc = host_process_handle(p->hp, msg, p->env_json, &r, err);
    if (rc != AO_OK) {
        /* the host itself failed (not the message): its instance may be
         * unusable, so it is dropped; the next run resumes from the
         * latest checkpoint or the process message */
        host_process_free(p->hp);
        p->hp = NULL;
        p->dirty = false;
        return ao_err_wrap(err, "cu: %s message %s", p->pid, ord->msg_id);
    }
    p->eval_ms_since_ckpt += ao_mono_ms() - t0;
    p->last = *ord;
    p->dirty = true;
    p->since_ckpt++;
    if (r.error) ao_metric_add(m_errors, 1);
    ao_metric_add(m_evaluated, 1);
    __atomic_add_fetch(&c->evaluated, 1, __ATOMIC_RELAXED);
    size_t i = b->n++;
    b->jsons[i] = r.json;
    r.json = NULL;
    b->labels[i] = label ? strdup(label) : NULL;
    b->rows[i].ord = *ord;
    b->rows[i].json = b->jsons[i];
    b->rows[i].cron_label = b->labels[i];
    host_result_free(&r);
    if (b->n == CU_BATCH) return batch_flush(c, p, b, err);
    return AO_OK;
}

/* Evaluate the cron messages due after the last message and before
 * `until` (exclusive, or inclusive when incl). */
static int run_crons(cu *c, cu_proc *p, int64_t until, bool incl, batch *b, ao_error *err)
{
    if (!p->cron_every || !p->started) return AO_OK;
    for (;;) {
        int64_t ts, height;
        if (p->cron_blocks) {
            if (!c->opt.data.query_blocks) return AO_OK;
            weave_block_filter f;
            weave_block_filter_init(&f);
            f.height_min = f.height_max = p->cron_next;
            f.first = 1;
            weave_block_page pg;
            memset(&pg, 0, sizeof pg);
            int rc = c->opt.data.query_blocks(c->opt.data.ctx, &f, &pg, err);
            if (rc != AO_OK) return rc;
            bool have = pg.n == 1;
            ts = have ? pg.rows[0].timestamp_ms : 0;
            height = p->cron_next;
            weave_block_page_free(&pg);
            if (!have) return AO_OK;
            if (ts < p->last.timestamp) {    /* block before the last message: skip it */
                p->cron_next += p->cron_every;
                continue;
            }
        } else {
            ts = p->cron_next;
            height = p->last.block_height;
        }
        if (incl ? ts > until : ts >= until) return AO_OK;
        p->cron_index++;
        cu_order ord;
        memset(&ord, 0, sizeof ord);
        ord.timestamp = ts;
        ord.ordinate = p->last.ordinate;
        ord.cron = (p->last.cron ? p->last.cron : 0) + 1;
        ord.block_height = height;
        snprintf(ord.hash_chain, sizeof ord.hash_chain, "%s", p->last.hash_chain);
        char label[96];
        snprintf(label, sizeof label, "%lld-%s", (long long)ord.cron, p->cron_interval);
        ao_buf m;
        ao_buf_init(&m);
        ao_buf_printf(&m, "{\"Owner\":\"%s\",\"Target\":\"%s\",\"From\":\"%s\",\"Tags\":%s,"
                          "\"Timestamp\":%lld,\"Block-Height\":%lld,\"Cron\":true,\"Read-Only\":false}",
                      p->owner, p->pid, p->owner, p->cron_tags_json ? p->cron_tags_json : "[]",
                      (long long)ts, (long long)height);
        if (ao_buf_append_byte(&m, 0) != AO_OK) { ao_buf_free(&m); return ao_err_set(err, AO_ENOMEM, "cu: oom"); }
        p->cron_next += p->cron_every;
        int rc = eval_one(c, p, (const char *)m.data, &ord, label, b, err);
        ao_buf_free(&m);
        if (rc != AO_OK) return rc;
    }
}

static bool ckpt_due(cu *c, cu_proc *p)
{
    if (p->shadow) return false;
    uint32_t every = c->opt.checkpoint_every ? c->opt.checkpoint_every : 1000;
    uint32_t ms = c->opt.checkpoint_ms ? c->opt.checkpoint_ms : 60000;
    return p->dirty && (p->since_ckpt >= every || p->eval_ms_since_ckpt >= (int64_t)ms);
}

/* Evaluate p's schedule up to target_ts (INT64_MAX: all), then crons up
 * to now when asked. The caller has claimed p. */
static int proc_run(cu *c, cu_proc *p, int64_t target_ts, bool crons_now, ao_error *err)
{
    int rc = AO_OK;
    if (!p->loaded && (rc = proc_load(c, p, err)) != AO_OK) return rc;
    if ((rc = proc_resume(c, p, err)) != AO_OK) return rc;
    batch *b = calloc(1, sizeof *b);
    if (!b) return ao_err_set(err, AO_ENOMEM, "cu: out of memory");
    ao_buf page;
    ao_buf_init(&page);
    char to[32];
    snprintf(to, sizeof to, "%lld", (long long)target_ts);
    for (;;) {
        if (p->started && target_ts != INT64_MAX && p->sched_ts >= target_ts) break;
        char from[32];
        snprintf(from, sizeof from, "%lld", (long long)p->sched_ts);
        ao_buf_reset(&page);
        rc = c->opt.su.schedule(c->opt.su.ctx, p->pid, p->started ? from : NULL,
                                target_ts == INT64_MAX ? NULL : to, CU_SU_PAGE, &page, err);
        if (rc != AO_OK) break;
        ao_buf_append_byte(&page, 0);
        cJSON *j = cJSON_Parse((const char *)page.data);
        const cJSON *edges = cJSON_GetObjectItemCaseSensitive(j, "edges");
        const cJSON *pi = cJSON_GetObjectItemCaseSensitive(j, "page_info");
        bool more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pi, "has_next_page"));
        if (!cJSON_IsArray(edges)) {
            cJSON_Delete(j);
            rc = ao_err_set(err, AO_EFORMAT, "cu: bad schedule page of %s", p->pid);
            break;
        }
        size_t fresh = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, edges) {
            char *msg = NULL;
            cu_order ord;
            rc = cu_msg_from_node(cJSON_GetObjectItemCaseSensitive(e, "node"), p->pid, &c->opt.data, &msg,
                                  &ord, err);
            if (rc != AO_OK) break;
            if (p->started && ord.ordinate <= p->last.ordinate) { free(msg); continue; }
            if (!p->started && ord.ordinate != 0) {
                free(msg);
                rc = ao_err_set(err, AO_EFORMAT, "cu: schedule of %s does not start with the process", p->pid);
                break;
            }
            if (p->started && ord.ordinate != p->last.ordinate + 1) {
                free(msg);
                rc = ao_err_set(err, AO_EFORMAT, "cu: schedule of %s skips from nonce %lld to %lld", p->pid,
                                (long long)p->last.ordinate, (long long)ord.ordinate);
                break;
            }
            rc = run_crons(c, p, ord.timestamp, true, b, err);
            if (rc == AO_OK) rc = eval_one(c, p, msg, &ord, NULL, b, err);
            free(msg);
            if (rc != AO_OK) break;
            p->started = true;
            p->sched_ts = ord.timestamp;
            fresh++;
        }
        cJSON_Delete(j);
        if (rc != AO_OK) break;
        if ((rc = batch_flush(c, p, b, err)) != AO_OK) break;
        if (ckpt_due(c, p) && (rc = cu_ckpt_write(c, p, err)) != AO_OK) break;
        if (!more || !fresh) break;
    }
    if (rc == AO_OK && crons_now) rc = run_crons(c, p, ao_now_ms(), true, b, err);
    int frc = batch_flush(c, p, b, rc == AO_OK ? err : NULL);
    if (rc == AO_OK) rc = frc;
    if (rc == AO_OK && ckpt_due(c, p)) rc = cu_ckpt_write(c, p, err);
    update_live(c, p);
    ao_buf_free(&page);
    batch_clear(b);
    free(b);
    return rc;
}

/* Checkpoint (if needed) and drop p's instance. The caller has claimed p. */

static int proc_evict(cu *c, cu_proc *p, ao_error *err)
{
    if (!p->hp) return AO_OK;
    int rc = p->dirty ? cu_ckpt_write(c, p, err) : AO_OK;
    if (rc != AO_OK) return rc;
    host_process_free(p->hp);
    p->hp = NULL;
    update_live(c, p);
    pthread_mutex_lock(&c->mu);
    c->evictions++;
    pthread_mutex_unlock(&c->mu);
    return AO_OK;
}

static uint64_t budget(cu *c)
{
    return c->opt.memory_budget ? c->opt.memory_budget : (2ULL << 30);
}

/* Evict idle processes, least recently used first, while over budget.
 * keep: a process not to evict (the one just used). */
static void enforce_budget(cu *c, cu_proc *keep, uint64_t extra)
{
    for (;;) {
        pthread_mutex_lock(&c->mu);
        if (c->live_bytes + extra <= budget(c)) { pthread_mutex_unlock(&c->mu); return; }
        cu_proc *victim = NULL;
        for (size_t i = 0; i < c->table_size; i++)
            for (cu_proc *p = c->table[i]; p; p = p->hnext)
                if (p != keep && p->mem_bytes && !p->running && !p->queued &&
                    (!victim || p->lru < victim->lru))
                    victim = p;
        if (!victim) { pthread_mutex_unlock(&c->mu); return; }
        victim->running = true;
        pthread_mutex_unlock(&c->mu);
        ao_error e = {0};
        if (proc_evict(c, victim, &e) != AO_OK)
            ao_log(AO_LOG_WARN, "cu", "evicting %s: %s", victim->pid, e.msg);
        pthread_mutex_lock(&c->mu);
        proc_release(c, victim);
        pthread_mutex_unlock(&c->mu);
    }
}

static void *worker(void *arg)
{
    cu *c = arg;
    pthread_setname_np(pthread_self(), "cu-worker");   /* per-thread CPU (bench/e2e) */
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->stop && !c->qhead) pthread_cond_wait(&c->work_cv, &c->mu);
        if (c->stop) break;
        cu_proc *p = c->qhead;
        c->qhead = p->qnext;
        if (!c->qhead) c->qtail = NULL;
        p->queued = false;
        if (p->running) continue;   /* claimed meanwhile; its release re-queues it */
        p->running = true;
        int64_t target = p->want_latest > p->served_latest ? INT64_MAX : p->want_ts;
        uint64_t latest = p->want_latest;
        int64_t want_ts = p->want_ts;
        bool now = p->want_now;
        p->want_now = false;
        pthread_mutex_unlock(&c->mu);
        ao_error e = {0};
        int rc = proc_run(c, p, target, now, &e);
        if (rc != AO_OK) ao_log(AO_LOG_WARN, "cu", "evaluating %s: %s", p->pid, e.msg);
        pthread_mutex_lock(&c->mu);
        p->last_rc = rc;
        p->last_err = e;
        if (want_ts > p->served_ts) p->served_ts = want_ts;
        if (latest > p->served_latest) p->served_latest = latest;
        p->runs++;
        proc_release(c, p);
        pthread_mutex_unlock(&c->mu);
        enforce_budget(c, p, 0);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* ---------------------------------------------------------------- open/close */

int cu_open(const cu_options *opt, cu **out, ao_error *err)
{
    *out = NULL;
    if (!opt || !opt->dir || !opt->wallet || !opt->su.process || !opt->su.schedule ||
        !opt->data.get_meta || !opt->data.get_data)
        return ao_err_set(err, AO_EINVAL, "cu: options need dir, wallet, su and data clients");
    if (!m_evaluated) {
        m_evaluated = ao_metric_get("ao_cu_messages_evaluated_total", "Messages evaluated by the CU", false);
        m_errors = ao_metric_get("ao_cu_message_errors_total", "Messages whose result is an Error", false);
        m_resumes = ao_metric_get("ao_cu_resumes_total", "Processes made live from a checkpoint", false);
        m_resume_us = ao_metric_get("ao_cu_resume_microseconds_total",
                                    "Time spent making processes live from checkpoints", false);
    }
    cu *c = calloc(1, sizeof *c);
    if (!c) return ao_err_set(err, AO_ENOMEM, "cu: out of memory");
    c->opt = *opt;
    c->dir = strdup(opt->dir);
    c->opt.dir = c->dir;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->mod_mu, NULL);
    pthread_mutex_init(&c->zmu, NULL);
    pthread_cond_init(&c->work_cv, NULL);
    pthread_cond_init(&c->done_cv, NULL);
    c->table_size = 4096;
    c->table = calloc(c->table_size, sizeof *c->table);
    int rc = AO_OK;
    if (!c->table || !c->dir) { rc = ao_err_set(err, AO_ENOMEM, "cu: out of memory"); goto fail; }
    /* the wallet is copied through its JSON form */
    char *wj = NULL;
    if ((rc = crypto_wallet_to_json(opt->wallet, &wj, err)) != AO_OK) goto fail;
    rc = crypto_wallet_parse(wj, strlen(wj), &c->wallet, err);
    free(wj);
    if (rc != AO_OK) goto fail;
    c->opt.wallet = c->wallet;
    size_t olen;
    const uint8_t *own = crypto_wallet_owner(c->wallet, &olen);
    if ((rc = crypto_address(crypto_wallet_type(c->wallet), own, olen, c->address, err)) != AO_OK) goto fail;
    c->trusted = calloc(opt->ntrusted_owners + 1, sizeof *c->trusted);
    if (!c->trusted) { rc = ao_err_set(err, AO_ENOMEM, "cu: out of memory"); goto fail; }
    c->trusted[c->ntrusted++] = strdup(c->address);
    for (size_t i = 0; i < opt->ntrusted_owners; i++)
        if (opt->trusted_owners[i]) c->trusted[c->ntrusted++] = strdup(opt->trusted_owners[i]);
    c->opt.trusted_owners = NULL;
    c->opt.ntrusted_owners = 0;
    if ((rc = cu_store_open(c->dir, opt->no_fsync, &c->store, err)) != AO_OK) goto fail;
    char ck[4096];
    snprintf(ck, sizeof ck, "%s/checkpoints", c->dir);
    mkdir(ck, 0755);
    unsigned n = opt->threads;
    if (!n) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (unsigned)cores : 1;
    }
    c->workers = calloc(n, sizeof *c->workers);
    if (!c->workers) { rc = ao_err_set(err, AO_ENOMEM, "cu: out of memory"); goto fail; }
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&c->workers[i], NULL, worker, c) != 0) {
            rc = ao_err_set(err, AO_EIO, "cu: cannot start worker threads");
            goto fail;
        }
        c->nworkers++;
    }
    ao_log(AO_LOG_INFO, "cu", "open %s, %u workers, address %s", c->dir, n, c->address);
    *out = c;
    return AO_OK;
fail:
    cu_close(c);
    return rc;
}

void cu_close(cu *c)
{
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    c->stop = true;
    pthread_cond_broadcast(&c->work_cv);
    pthread_mutex_unlock(&c->mu);
    for (unsigned i = 0; i < c->nworkers; i++) pthread_join(c->workers[i], NULL);
    free(c->workers);
    for (size_t i = 0; c->table && i < c->table_size; i++) {
        cu_proc *p = c->table[i];
        while (p) {
            cu_proc *nx = p->hnext;
            if (p->hp && p->dirty && c->store) {
                ao_error e = {0};
                if (cu_ckpt_write(c, p, &e) != AO_OK)
                    ao_log(AO_LOG_WARN, "cu", "checkpoint of %s at close: %s", p->pid, e.msg);
            }
            host_process_free(p->hp);
            free(p->env_json);
            free(p->cron_interval);
            free(p->cron_tags_json);
            free(p);
            p = nx;
        }
    }
    free(c->table);
    while (c->mods) {
        cu_mod *m = c->mods;
        c->mods = m->next;
        host_module_free(m->m);
        ao_buf_free(&m->wasm);
        free(m->env_json);
        free(m);
    }
    cu_store_close(c->store);
    for (size_t i = 0; i < c->ntrusted; i++) free(c->trusted[i]);
    free(c->trusted);
    crypto_wallet_free(c->wallet);
    pthread_cond_destroy(&c->work_cv);
    pthread_cond_destroy(&c->done_cv);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->mod_mu);
    pthread_mutex_destroy(&c->zmu);
    free(c->zbuf);
    free(c->dir);
    free(c);
}

const char *cu_address(const cu *c) { return c->address; }

int cu_info_json(cu *c, ao_buf *body, ao_error *err)
{
    int rc = ao_buf_printf(body, "{\"address\":\"%s\",\"timestamp\":%lld}", c->address,
                           (long long)ao_now_ms());
    return rc == AO_OK ? AO_OK : ao_err_set(err, rc, "cu: out of memory");
}

void cu_get_stats(cu *c, cu_stats *out)
{
    pthread_mutex_lock(&c->mu);
    out->live_processes = c->live_procs;
    out->live_bytes = c->live_bytes;
    out->evictions = c->evictions;
    out->checkpoints = c->checkpoints;
    out->messages_evaluated = __atomic_load_n(&c->evaluated, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&c->mu);
}

int cu_checkpoint_all(cu *c, ao_error *err)
{
    int rc = AO_OK;
    pthread_mutex_lock(&c->mu);
    size_t n = 0;
    cu_proc **ps = malloc((c->nprocs + 1) * sizeof *ps);
    if (!ps) { pthread_mutex_unlock(&c->mu); return ao_err_set(err, AO_ENOMEM, "cu: out of memory"); }
    for (size_t i = 0; i < c->table_size; i++)
        for (cu_proc *p = c->table[i]; p; p = p->hnext) ps[n++] = p;
    for (size_t i = 0; i < n && rc == AO_OK; i++) {
        cu_proc *p = ps[i];
        proc_claim(c, p);
        pthread_mutex_unlock(&c->mu);
        if (p->hp && p->dirty) rc = cu_ckpt_write(c, p, err);
        pthread_mutex_lock(&c->mu);
        proc_release(c, p);
    }
    pthread_mutex_unlock(&c->mu);
    free(ps);
    enforce_budget(c, NULL, 0);
    return rc;
}

/* ---------------------------------------------------------------- shadows */

static void shadow_free(cu_proc *s)
{
    if (!s) return;
    host_process_free(s->hp);
    free(s->env_json);
    free(s->cron_interval);
    free(s->cron_tags_json);
    free(s);
}

/* A copy of loaded p's configuration (the caller has claimed p). */
static cu_proc *shadow_of(const cu_proc *p)
{
    cu_proc *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    snprintf(s->pid, sizeof s->pid, "%s", p->pid);
    s->shadow = true;
    s->loaded = true;
    s->mod = p->mod;
    snprintf(s->owner, sizeof s->owner, "%s", p->owner);
    s->origin_ts = p->origin_ts;
    s->origin_height = p->origin_height;
    s->cron_every = p->cron_every;
    s->cron_blocks = p->cron_blocks;
    s->env_json = p->env_json ? strdup(p->env_json) : NULL;
    s->cron_interval = p->cron_interval ? strdup(p->cron_interval) : NULL;
    s->cron_tags_json = p->cron_tags_json ? strdup(p->cron_tags_json) : NULL;
    if (!s->env_json || (p->cron_interval && !s->cron_interval) || (p->cron_tags_json && !s->cron_tags_json)) {
        shadow_free(s);
        return NULL;
    }
    return s;
}

/* Replay s privately to the state after the scheduled messages at or
 * before to_ts, from the latest checkpoint at or before it. */
static int shadow_replay(cu *c, cu_proc *s, int64_t to_ts, ao_error *err)
{
    int rc = cu_ckpt_resume(c, s, to_ts, NULL);
    if (rc != AO_OK) {
        rc = host_process_new(s->mod->m, &s->mod->limits, &s->hp, err);
        if (rc != AO_OK) return rc;
        s->started = false;
        s->cron_next = s->cron_blocks ? s->origin_height + s->cron_every : s->origin_ts + s->cron_every;
    }
    return proc_run(c, s, to_ts, false, err);
}

/* ---------------------------------------------------------------- routes */

static void deadline_after(struct timespec *ts, uint32_t ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) { ts->tv_sec++; ts->tv_nsec -= 1000000000L; }
}

static int busy(ao_buf *body, const char *pid, ao_error *err)
{
    ao_buf_printf(body, "{\"message\":\"Evaluation of process %s is in progress.\"}", pid);
    return ao_err_set(err, AO_EBUSY, "cu: evaluation of process %s is in progress", pid);
}

/* Ask for evaluation of pid up to ts (INT64_MAX: everything the SU has)
 * and wait until it is durable. */
static int request_eval(cu *c, const char *pid, int64_t ts, int64_t nonce, bool now, bool no_busy,
                        ao_buf *body, ao_error *err)
{
    pthread_mutex_lock(&c->mu);
    cu_proc *p = proc_get(c, pid, true);
    if (!p) { pthread_mutex_unlock(&c->mu); return ao_err_set(err, AO_ENOMEM, "cu: out of memory"); }
    uint64_t seq = 0;
    if (ts == INT64_MAX) seq = ++p->want_latest;
    else if (ts > p->want_ts) p->want_ts = ts;
    if (now) p->want_now = true;
    uint64_t runs0 = p->runs;
    proc_kick(c, p);
    struct timespec dl;
    deadline_after(&dl, c->opt.busy_ms ? c->opt.busy_ms : 10000);
    int rc = AO_OK;
    for (;;) {
        bool idle = !p->queued && !p->running;
        if (seq ? (p->served_latest >= seq && idle) : (p->done_any && p->done_nonce >= nonce)) {
            if (seq && p->last_rc != AO_OK && p->runs > runs0) {
                rc = p->last_rc;
                if (err) *err = p->last_err;
            }
            break;
        }
        if (idle && p->runs > runs0) {
            rc = p->last_rc != AO_OK ? p->last_rc : AO_ENOTFOUND;
            if (err) {
                if (p->last_rc != AO_OK) *err = p->last_err;
                else ao_err_set(err, AO_ENOTFOUND, "cu: message nonce %lld not in the schedule of %s",
                                (long long)nonce, pid);
            }
            break;
        }
        if (no_busy) pthread_cond_wait(&c->done_cv, &c->mu);
        else if (pthread_cond_timedwait(&c->done_cv, &c->mu, &dl) != 0) {
            pthread_mutex_unlock(&c->mu);
            return busy(body, pid, err);
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int i64_tag(const cJSON *tags, const char *name, int64_t *v)
{
    const char *s = cu_tag_value(tags, name);
    if (!s || !*s) return -1;
    char *end;
    *v = strtoll(s, &end, 10);
    return *end ? -1 : 0;
}

int cu_result(cu *c, const char *msg_id, const char *pid, bool no_busy, ao_buf *body, ao_error *err)
{
    if (!msg_id || !pid || !*msg_id || !*pid)
        return ao_err_set(err, AO_EINVAL, "cu: result needs a message id and process-id");
    int64_t ts, nonce;
    ao_buf b;
    ao_buf_init(&b);
    int rc;
    cJSON *j = NULL;
    if (strcmp(msg_id, pid) == 0) {
        rc = c->opt.su.process(c->opt.su.ctx, pid, &b, err);
        if (rc != AO_OK) goto out;
        ao_buf_append_byte(&b, 0);
        j = cJSON_Parse((const char *)b.data);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "timestamp");
        if (!cJSON_IsNumber(t) && !cJSON_IsString(t)) {
            rc = ao_err_set(err, AO_EFORMAT, "cu: bad process record of %s", pid);
            goto out;
        }
        ts = cJSON_IsNumber(t) ? (int64_t)t->valuedouble : strtoll(t->valuestring, NULL, 10);
        nonce = 0;
    } else {
        rc = c->opt.su.message(c->opt.su.ctx, pid, msg_id, &b, err);
        if (rc != AO_OK) goto out;
        ao_buf_append_byte(&b, 0);
        j = cJSON_Parse((const char *)b.data);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "assignment");
        const cJSON *tags = cJSON_GetObjectItemCaseSensitive(a, "tags");
        const char *proc = cu_tag_value(tags, "Process");
        if (i64_tag(tags, "Timestamp", &ts) || i64_tag(tags, "Nonce", &nonce)) {
            /* legacy flat {process_id,timestamp,nonce} */
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "timestamp");
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "nonce");
            if (!cJSON_IsNumber(t) || !cJSON_IsNumber(n)) {
                rc = ao_err_set(err, AO_EFORMAT, "cu: SU answer for %s has no Timestamp/Nonce", msg_id);
                goto out;
            }
            ts = (int64_t)t->valuedouble;
            nonce = (int64_t)n->valuedouble;
        } else if (proc && strcmp(proc, pid) != 0) {
            rc = ao_err_set(err, AO_ENOTFOUND, "cu: message %s is scheduled on %s, not %s", msg_id, proc, pid);
            goto out;
        }
    }
    ao_buf_reset(&b);
    rc = cu_store_get_by_nonce(c->store, pid, nonce, &b, NULL);
    if (rc != AO_OK) {
        rc = request_eval(c, pid, ts, nonce, false, no_busy, body, err);
        if (rc != AO_OK) goto out;
        rc = cu_store_get_by_nonce(c->store, pid, nonce, &b, err);
        if (rc != AO_OK) goto out;
    }
    rc = ao_buf_append(body, b.data, b.len);
out:
    cJSON_Delete(j);
    ao_buf_free(&b);
    return rc;
}

static int parse_limit(const char *s, size_t def, size_t *out, ao_error *err)
{
    if (!s || !*s) { *out = def; return AO_OK; }
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end || v <= 0) return ao_err_set(err, AO_EINVAL, "cu: bad limit '%.32s'", s);
    *out = v > 1000 ? 1000 : (size_t)v;
    return AO_OK;
}

static int page_query(cu *c, const char *pid, const char *from, const char *to, const char *sort,
                      const char *limit, size_t def, bool cron, ao_buf *body, ao_error *err)
{
    if (!pid || !*pid) return ao_err_set(err, AO_EINVAL, "cu: process id required");
    cu_page_q q;
    memset(&q, 0, sizeof q);
    q.cron_only = cron;
    if (sort && *sort) {
        if (!strcasecmp(sort, "DESC")) q.desc = true;
        else if (strcasecmp(sort, "ASC")) return ao_err_set(err, AO_EINVAL, "cu: bad sort '%.16s'", sort);
    }
    int rc = parse_limit(limit, def, &q.limit, err);
    if (rc != AO_OK) return rc;
    /* a bare timestamp covers every row of that timestamp on the "to" side
     * and none on the "from" side */
    if (from && *from) {
        if ((rc = cu_cursor_parse(from, q.desc ? INT64_MIN : INT64_MAX, q.from, err)) != AO_OK) return rc;
        q.have_from = true;
    }
    if (to && *to) {
        if ((rc = cu_cursor_parse(to, q.desc ? INT64_MIN : INT64_MAX, q.to, err)) != AO_OK) return rc;
        q.have_to = true;
    }
    return cu_store_page(c->store, pid, &q, body, err);
}

int cu_results(cu *c, const char *pid, const char *from, const char *to, const char *sort,
               const char *limit, ao_buf *body, ao_error *err)
{
    return page_query(c, pid, from, to, sort, limit, 25, false, body, err);
}

int cu_cron(cu *c, const char *pid, const char *from, const char *to, const char *limit, ao_buf *body,
            ao_error *err)
{
    if (!pid || !*pid) return ao_err_set(err, AO_EINVAL, "cu: process id required");
    ao_buf tmp;
    ao_buf_init(&tmp);
    int rc = request_eval(c, pid, INT64_MAX, 0, true, false, &tmp, err);
    ao_buf_free(&tmp);
    if (rc != AO_OK && rc != AO_EBUSY) return rc;
    return page_query(c, pid, from, to, "ASC", limit, 500, true, body, err);
}

/* Claim p with a live, evaluated instance (latest state). */
static int claim_latest(cu *c, const char *pid, cu_proc **out, ao_buf *body, ao_error *err)
{
    int rc = request_eval(c, pid, INT64_MAX, 0, false, false, body, err);
    if (rc != AO_OK) return rc;
    pthread_mutex_lock(&c->mu);
    cu_proc *p = proc_get(c, pid, false);
    proc_claim(c, p);
    pthread_mutex_unlock(&c->mu);
    rc = p->loaded ? proc_resume(c, p, err) : ao_err_set(err, AO_ESTATE, "cu: %s not loaded", pid);
    if (rc != AO_OK) {
        pthread_mutex_lock(&c->mu);
        proc_release(c, p);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    *out = p;
    return AO_OK;
}

static void unclaim(cu *c, cu_proc *p)
{
    pthread_mutex_lock(&c->mu);
    proc_release(c, p);
    pthread_mutex_unlock(&c->mu);
    enforce_budget(c, p, 0);
}

int cu_state(cu *c, const char *pid, const char *to, ao_buf *memory, cu_state_meta *meta, ao_error *err)
{
    if (!pid || !*pid) return ao_err_set(err, AO_EINVAL, "cu: process id required");
    int64_t t = INT64_MAX;
    if (to && *to) {
        char *end;
        long long v = strtoll(to, &end, 10);
        if (*end || v < 0) return ao_err_set(err, AO_EINVAL, "cu: bad 'to' timestamp '%.32s'", to);
        t = v;
    }
    cu_proc *p;
    ao_buf tmp;
    ao_buf_init(&tmp);
    int rc = claim_latest(c, pid, &p, &tmp, err);
    ao_buf_free(&tmp);
    if (rc != AO_OK) return rc;
    cu_proc *s = NULL;
    host_process *hp = p->hp;
    cu_order last = p->last;
    if (t < p->sched_ts) {   /* an older state: replayed privately */
        s = shadow_of(p);
        unclaim(c, p);
        p = NULL;
        rc = s ? shadow_replay(c, s, t, err) : ao_err_set(err, AO_ENOMEM, "cu: out of memory");
        if (rc == AO_OK && !s->started) rc = ao_err_set(err, AO_ENOTFOUND, "cu: no state of %s at %s", pid, to);
        if (rc != AO_OK) { shadow_free(s); return rc; }
        hp = s->hp;
        last = s->last;
    }
    size_t len;
    const uint8_t *m = host_process_memory(hp, &len);
    rc = ao_buf_append(memory, m, len);
    if (meta) {
        meta->timestamp = last.timestamp;
        meta->ordinate = last.ordinate;
        meta->block_height = last.block_height;
    }
    if (p) unclaim(c, p);
    shadow_free(s);
    return rc == AO_OK ? AO_OK : ao_err_set(err, rc, "cu: out of memory");
}

int cu_dry_run(cu *c, const char *pid, const char *to, const char *msg_json, size_t len, ao_buf *body,
               ao_error *err)
{
    if (!pid || !*pid || !msg_json) return ao_err_set(err, AO_EINVAL, "cu: dry-run needs process-id and a body");
    cJSON *in = cJSON_ParseWithLength(msg_json, len);
    if (!cJSON_IsObject(in)) {
        cJSON_Delete(in);
        return ao_err_set(err, AO_EINVAL, "cu: dry-run body is not a JSON object");
    }
    cu_proc *p;
    ao_buf tmp;
    ao_buf_init(&tmp);
    int rc = claim_latest(c, pid, &p, body, err);
    if (rc != AO_OK) { cJSON_Delete(in); ao_buf_free(&tmp); return rc; }
    host_process *hp = NULL;
    cu_proc *shadow = NULL;
    int64_t ts = -1;
    if (to && *to) {
        ao_buf sb;
        ao_buf_init(&sb);
        int64_t nonce = -1;
        if (strcmp(to, pid) == 0) nonce = 0;
        else if (c->opt.su.message(c->opt.su.ctx, pid, to, &sb, NULL) == AO_OK) {
            ao_buf_append_byte(&sb, 0);
            cJSON *j = cJSON_Parse((const char *)sb.data);
            const cJSON *at = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "assignment"), "tags");
            int64_t v, w;
            if (!i64_tag(at, "Nonce", &v) && !i64_tag(at, "Timestamp", &w)) {
                nonce = v;
                ts = w;
            }
            cJSON_Delete(j);
        }
        ao_buf_free(&sb);
        if (nonce == 0) ts = p->origin_ts;
        if (nonce < 0 || nonce > p->last.ordinate) {
            unclaim(c, p);
            cJSON_Delete(in);
            return ao_err_set(err, AO_ENOTFOUND, "cu: dry-run 'to' %.64s is not a message of %s", to, pid);
        }
        if (nonce != p->last.ordinate || p->last.cron) {   /* an older state: replayed privately */
            shadow = shadow_of(p);
            if (!shadow) rc = ao_err_set(err, AO_ENOMEM, "cu: out of memory");
        }
    }
    char *env = p->env_json ? strdup(p->env_json) : NULL;
    cu_order last = p->last;
    char owner[AO_ADDRESS_MAX];
    snprintf(owner, sizeof owner, "%s", p->owner);
    if (!shadow && rc == AO_OK) {
        size_t mlen;
        const uint8_t *mem = host_process_memory(p->hp, &mlen);
        rc = host_process_new_from_memory(p->mod->m, &p->mod->limits, mem, mlen, &hp, err);
    }
    unclaim(c, p);
    if (shadow && rc == AO_OK) {
        rc = shadow_replay(c, shadow, ts, err);
        if (rc == AO_OK) {
            hp = shadow->hp;
            shadow->hp = NULL;
            last = shadow->last;
        }
        shadow_free(shadow);
        shadow = NULL;
    }
    if (rc != AO_OK || !env) {
        free(env);
        host_process_free(hp);
        shadow_free(shadow);
        cJSON_Delete(in);
        return rc != AO_OK ? rc : ao_err_set(err, AO_ENOMEM, "cu: out of memory");
    }
    /* the msg: the body's fields, Read-Only, From = From-Process or Owner */
    cJSON *m = cJSON_CreateObject();
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, "Tags");
    cJSON *t = cu_tags_copy(tags, true);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(in, "Owner");
    const char *own = cJSON_IsString(o) ? o->valuestring : owner;
    const char *fp = t ? cu_tag_value(t, "From-Process") : NULL;
    const cJSON *f;
    cJSON_ArrayForEach(f, in) {
        if (!strcmp(f->string, "Tags") || !strcmp(f->string, "From") || !strcmp(f->string, "Read-Only") ||
            !strcmp(f->string, "Cron") || !strcmp(f->string, "Owner") || !strcmp(f->string, "Forwarded-By"))
            continue;
        cJSON_AddItemToObject(m, f->string, cJSON_Duplicate(f, 1));
    }
    if (!cJSON_GetObjectItemCaseSensitive(m, "Id")) cJSON_AddStringToObject(m, "Id", "dry-run");
    if (!cJSON_GetObjectItemCaseSensitive(m, "Target")) cJSON_AddStringToObject(m, "Target", pid);
    if (!cJSON_GetObjectItemCaseSensitive(m, "Data")) cJSON_AddStringToObject(m, "Data", "");
    if (!cJSON_GetObjectItemCaseSensitive(m, "Timestamp"))
        cJSON_AddNumberToObject(m, "Timestamp", (double)last.timestamp);
    if (!cJSON_GetObjectItemCaseSensitive(m, "Block-Height"))
        cJSON_AddNumberToObject(m, "Block-Height", (double)last.block_height);
    cJSON_AddStringToObject(m, "Owner", own);
    cJSON_AddStringToObject(m, "From", fp ? fp : own);
    if (fp) cJSON_AddStringToObject(m, "Forwarded-By", own);
    cJSON_AddItemToObject(m, "Tags", t ? t : cJSON_CreateArray());
    cJSON_AddFalseToObject(m, "Cron");
    cJSON_AddTrueToObject(m, "Read-Only");
    char *ms = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    cJSON_Delete(in);
    host_result r;
    rc = ms ? host_process_handle(hp, ms, env, &r, err) : ao_err_set(err, AO_ENOMEM, "cu: out of memory");
    if (rc == AO_OK) {
        rc = ao_buf_append_str(body, r.json);
        host_result_free(&r);
    }
    free(ms);
    free(env);
    host_process_free(hp);
    ao_buf_free(&tmp);
    return rc;
}
