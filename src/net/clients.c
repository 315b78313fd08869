/*
 * clients.c - the HTTP clients of the units' client tables: the CU's and
 * the MU's SU clients (cu_su_client, mu_su_client) and the MU's CU client
 * (mu_cu_client), over net_http_request.
 *
 * Locating a process's SU (as scheduler-utils does, PROTOCOL.md §5): the
 * process item's Scheduler tag through the data client
 * (transactions(ids:[pid], tags:[Data-Protocol=ao])), then that address's
 * Scheduler-Location record (its Url). Both answers are cached for the
 * record's Time-To-Live; an SU that cannot be reached drops the cached
 * entry so the next call looks it up again. A fixed SU URL skips all this.
 */
#include "net/net.h"
#include "net/net_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "item/item.h"

/* ---- the SU locator ---- */

#define LOC_CACHE 256

typedef struct loc_entry {
    char key[WEAVE_ID_MAX + 24];    /* "p:<pid>" or "a:<address>" */
    char url[WEAVE_URL_MAX];
    int64_t expires_ms;             /* monotonic */
} loc_entry;

typedef struct su_locator {
    weave_client data;
    char *fixed;                    /* NULL = look up */
    pthread_mutex_t mu;
    loc_entry cache[LOC_CACHE];
    size_t next;                    /* round-robin replacement */
} su_locator;

static int loc_init(su_locator *l, const weave_client *data, const char *fixed, ao_error *err)
{
    memset(l, 0, sizeof *l);
    if (fixed) {
        if (strncmp(fixed, "http://", 7) && strncmp(fixed, "https://", 8))
            return ao_err_set(err, AO_EINVAL, "SU URL must start with http:// or https://");
        size_t n = strlen(fixed);
        while (n > 0 && fixed[n - 1] == '/')
            n--;
        if (n >= WEAVE_URL_MAX)
            return ao_err_set(err, AO_EINVAL, "SU URL too long");
        if (!(l->fixed = strndup(fixed, n)))
            return ao_err_set(err, AO_ENOMEM, "out of memory");
    } else if (!data || !data->query_transactions || !data->scheduler_location_resolve) {
        return ao_err_set(err, AO_EINVAL, "an SU client needs a data client or a fixed SU URL");
    }
    if (data)
        l->data = *data;
    pthread_mutex_init(&l->mu, NULL);
    return AO_OK;
}

static void loc_free(su_locator *l)
{
    free(l->fixed);
    pthread_mutex_destroy(&l->mu);
}

static bool cache_get(su_locator *l, const char *key, char url[WEAVE_URL_MAX])
{
    bool hit = false;
    int64_t now = ao_mono_ms();
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < LOC_CACHE; i++)
        if (l->cache[i].key[0] && !strcmp(l->cache[i].key, key)) {
            if (l->cache[i].expires_ms > now) {
                memcpy(url, l->cache[i].url, WEAVE_URL_MAX);
                hit = true;
            } else {
                l->cache[i].key[0] = 0;
            }
            break;
        }
    pthread_mutex_unlock(&l->mu);
    return hit;
}

static void cache_put(su_locator *l, const char *key, const char *url, uint64_t ttl_ms)
{
    if (ttl_ms == 0)
        return;
    pthread_mutex_lock(&l->mu);
    loc_entry *e = NULL;
    for (size_t i = 0; i < LOC_CACHE && !e; i++)
        if (l->cache[i].key[0] && !strcmp(l->cache[i].key, key))
            e = &l->cache[i];
    if (!e) {
        e = &l->cache[l->next];
        l->next = (l->next + 1) % LOC_CACHE;
    }
    snprintf(e->key, sizeof e->key, "%s", key);
    snprintf(e->url, sizeof e->url, "%s", url);
    e->expires_ms = ao_mono_ms() + (int64_t)(ttl_ms > (1ull << 40) ? (1ull << 40) : ttl_ms);
    pthread_mutex_unlock(&l->mu);
}

/* Drop every cached entry pointing at url (it could not be reached). */
static void cache_drop_url(su_locator *l, const char *url)
{
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < LOC_CACHE; i++)
        if (l->cache[i].key[0] && !strcmp(l->cache[i].url, url))
            l->cache[i].key[0] = 0;
    pthread_mutex_unlock(&l->mu);
}

/* The SU URL of the scheduler whose wallet address is addr. */
static int loc_by_address(su_locator *l, const char *addr, char url[WEAVE_URL_MAX],
                          uint64_t *ttl, ao_error *err)
{
    if (l->fixed) {
        snprintf(url, WEAVE_URL_MAX, "%s", l->fixed);
        return AO_OK;
    }
    char key[WEAVE_ID_MAX + 24];
    snprintf(key, sizeof key, "a:%.60s", addr);
    if (cache_get(l, key, url)) {
        if (ttl)
            *ttl = 0;
        return AO_OK;
    }
    weave_scheduler_location loc;
    int rc = l->data.scheduler_location_resolve(l->data.ctx, addr, &loc, err);
    if (rc)
        return rc;
    snprintf(url, WEAVE_URL_MAX, "%s", loc.url);
    cache_put(l, key, loc.url, loc.ttl_ms);
    if (ttl)
        *ttl = loc.ttl_ms;
    return AO_OK;
}

/* The SU URL of process pid. AO_ENOTFOUND when pid is no ao process. */
static int loc_by_process(su_locator *l, const char *pid, char url[WEAVE_URL_MAX], ao_error *err)
{
    if (l->fixed) {
        snprintf(url, WEAVE_URL_MAX, "%s", l->fixed);
        return AO_OK;
    }
    if (!net_is_id(pid, strlen(pid)))
        return ao_err_set(err, AO_EINVAL, "not a process id: %.64s", pid);
    char key[WEAVE_ID_MAX + 24];
    snprintf(key, sizeof key, "p:%s", pid);
    if (cache_get(l, key, url))
        return AO_OK;
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    const char *ids[1] = { pid };
    const char *dp[1] = { "ao" };
    weave_tag_filter tf[1] = { { "Data-Protocol", dp, 1 } };
    f.ids = ids;
    f.nids = 1;
    f.tags = tf;
    f.ntags = 1;
    f.first = 1;
    weave_tx_page p;
    int rc = l->data.query_transactions(l->data.ctx, &f, &p, err);
    if (rc)
        return rc;
    char sched[AO_ADDRESS_MAX] = "";
    for (size_t i = 0; p.n && i < p.rows[0].ntags; i++)
        if (!strcmp(p.rows[0].tags[i].name, "Scheduler")) {
            snprintf(sched, sizeof sched, "%s", p.rows[0].tags[i].value);
            break;
        }
    bool found = p.n > 0;
    weave_tx_page_free(&p);
    if (!found)
        return ao_err_set(err, AO_ENOTFOUND, "no ao process %s in the data layer", pid);
    if (!sched[0])
        return ao_err_set(err, AO_ENOTFOUND, "process %s has no Scheduler tag", pid);
    uint64_t ttl = 0;
    rc = loc_by_address(l, sched, url, &ttl, err);
    if (rc == AO_ENOTFOUND)
        return ao_err_set(err, AO_ENOTFOUND, "scheduler %s of process %s has no "
                          "Scheduler-Location record", sched, pid);
    if (rc)
        return rc;
    /* the process -> scheduler binding never changes; the URL may: keep
     * the pair as long as the location record says */
    cache_put(l, key, url, ttl ? ttl : 60000);
    return AO_OK;
}

/* ---- requests ---- */

/* The SU answers 400 "Message or Process not found" for unknown ids. */
static int su_code(const net_http_answer *a, const char *what, ao_error *err)
{
    int rc = net_http_code(a, what, err);
    if (rc == AO_EINVAL && err && strcasestr(err->msg, "not found"))
        err->code = AO_ENOTFOUND, rc = AO_ENOTFOUND;
    return rc;
}

/* GET or POST base+path_query; on success out gets the body. An answer of
 * 202 is AO_EBUSY when busy_202 (the CU's "in progress"). */
static int call(su_locator *l, const char *method, const char *base, const char *path_query,
                const void *body, size_t len, long timeout_ms, bool busy_202, bool su,
                ao_buf *out, ao_error *err)
{
    ao_buf url;
    ao_buf_init(&url);
    if (ao_buf_printf(&url, "%s%s", base, path_query) || ao_buf_append_byte(&url, 0)) {
        ao_buf_free(&url);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    net_http_answer a;
    net_http_answer_init(&a);
    int rc = net_http_request(method, (const char *)url.data, body, len,
                              body ? "application/octet-stream" : NULL, NULL, timeout_ms, &a,
                              err);
    if (rc == AO_EIO && l)
        cache_drop_url(l, base);
    if (!rc) {
        char what[96];
        snprintf(what, sizeof what, "%s %.80s", method, path_query);
        rc = su ? su_code(&a, what, err) : net_http_code(&a, what, err);
        if (!rc && busy_202 && a.status == 202)
            rc = ao_err_set(err, AO_EBUSY, "%s: in progress", what);
        if ((!rc || rc == AO_EBUSY) && out && ao_buf_append(out, a.body.data, a.body.len))
            rc = ao_err_set(err, AO_ENOMEM, "out of memory");
        if (a.status >= 500 && l)
            cache_drop_url(l, base);
    }
    net_http_answer_free(&a);
    ao_buf_free(&url);
    return rc;
}

static int add_param(ao_buf *q, const char *name, const char *value)
{
    int e = ao_buf_printf(q, "%c%s=", memchr(q->data, '?', q->len) ? '&' : '?', name);
    return e ? e : net_url_escape(q, value);
}

/* q starts as a NUL-terminated path; params are appended; the result is
 * NUL-terminated again. */
static int q_start(ao_buf *q, const char *fmt, const char *a, const char *b)
{
    ao_buf_init(q);
    int e = ao_buf_printf(q, fmt, a, b);
    return e ? e : ao_buf_append_byte(q, 0);
}

static int q_param(ao_buf *q, const char *name, const char *value)
{
    if (!value)
        return AO_OK;
    q->len--;   /* drop the NUL */
    int e = add_param(q, name, value);
    return e ? e : ao_buf_append_byte(q, 0);
}

static int q_flag(ao_buf *q, const char *name)
{
    q->len--;
    int e = ao_buf_printf(q, "%c%s", memchr(q->data, '?', q->len) ? '&' : '?', name);
    return e ? e : ao_buf_append_byte(q, 0);
}

static int check_id(const char *what, const char *id, ao_error *err)
{
    if (!id || !net_is_id(id, strlen(id)))
        return ao_err_set(err, AO_EINVAL, "not a valid %s id: %.64s", what, id ? id : "(null)");
    return AO_OK;
}

/* GET on the SU of pid. */
static int su_get(su_locator *l, const char *pid, ao_buf *q, ao_buf *out, ao_error *err)
{
    char base[WEAVE_URL_MAX];
    int rc = loc_by_process(l, pid, base, err);
    if (!rc)
        rc = call(l, "GET", base, (const char *)q->data, NULL, 0, 0, false, true, out, err);
    ao_buf_free(q);
    return rc;
}

/* ---- cu_su_client ---- */

static int cs_process(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    ao_buf q;
    int rc = check_id("process", pid, err);
    if (rc)
        return rc;
    if (q_start(&q, "/processes/%s%s", pid, ""))
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    return su_get(ctx, pid, &q, out, err);
}

static int cs_schedule(void *ctx, const char *pid, const char *from, const char *to,
                       size_t limit, ao_buf *out, ao_error *err)
{
    ao_buf q;
    int rc = check_id("process", pid, err);
    if (rc)
        return rc;
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", limit);
    if (q_start(&q, "/%s%s", pid, "") || q_param(&q, "process-id", pid) ||
        q_param(&q, "from", from) || q_param(&q, "to", to) ||
        (limit && q_param(&q, "limit", lim))) {
        ao_buf_free(&q);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    return su_get(ctx, pid, &q, out, err);
}

static int cs_message(void *ctx, const char *pid, const char *msg_id, ao_buf *out, ao_error *err)
{
    ao_buf q;
    int rc = check_id("process", pid, err);
    rc = rc ? rc : check_id("message", msg_id, err);
    if (rc)
        return rc;
    if (q_start(&q, "/%s%s", msg_id, "") || q_param(&q, "process-id", pid)) {
        ao_buf_free(&q);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    return su_get(ctx, pid, &q, out, err);
}

static int cs_latest(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    ao_buf q;
    int rc = check_id("process", pid, err);
    if (rc)
        return rc;
    if (q_start(&q, "/%s/latest%s", pid, ""))
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    return su_get(ctx, pid, &q, out, err);
}

static int cs_timestamp(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    ao_buf q;
    int rc = check_id("process", pid, err);
    if (rc)
        return rc;
    if (q_start(&q, "/timestamp%s%s", "", "") || q_param(&q, "process-id", pid)) {
        ao_buf_free(&q);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    return su_get(ctx, pid, &q, out, err);
}

int net_cu_su_client_http(const weave_client *data, const char *su_url_fixed,
                          cu_su_client *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    su_locator *l = malloc(sizeof *l);
    if (!l)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    int rc = loc_init(l, data, su_url_fixed, err);
    if (rc) {
        free(l);
        return rc;
    }
    out->ctx = l;
    out->process = cs_process;
    out->schedule = cs_schedule;
    out->message = cs_message;
    out->latest = cs_latest;
    out->timestamp = cs_timestamp;
    return AO_OK;
}

void net_cu_su_client_free(cu_su_client *c)
{
    if (!c || !c->ctx)
        return;
    loc_free(c->ctx);
    free(c->ctx);
    c->ctx = NULL;
}

/* ---- mu_su_client ---- */

static const char *tag_value(const item *it, const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < it->ntags; i++)
        if (it->tags[i].name_len == n && !memcmp(it->tags[i].name, name, n)) {
            size_t v = it->tags[i].value_len < cap - 1 ? it->tags[i].value_len : cap - 1;
            memcpy(buf, it->tags[i].value, v);
            buf[v] = 0;
            return buf;
        }
    return NULL;
}

static int ms_post(void *ctx, const uint8_t *raw, size_t len, ao_buf *out, ao_error *err)
{
    su_locator *l = ctx;
    char base[WEAVE_URL_MAX];
    int rc;
    if (l->fixed) {
        snprintf(base, sizeof base, "%s", l->fixed);
    } else {
        item *it = malloc(sizeof *it);
        if (!it)
            return ao_err_set(err, AO_ENOMEM, "out of memory");
        rc = item_decode(raw, len, it, err);
        if (rc) {
            free(it);
            return rc;
        }
        char type[32], sched[AO_ADDRESS_MAX];
        if (!tag_value(it, "Type", type, sizeof type)) {
            free(it);
            return ao_err_set(err, AO_EINVAL, "the item has no Type tag");
        }
        if (!strcmp(type, "Process")) {
            if (!tag_value(it, "Scheduler", sched, sizeof sched))
                rc = ao_err_set(err, AO_EINVAL, "the Process has no Scheduler tag");
            else
                rc = loc_by_address(l, sched, base, NULL, err);
        } else if (it->target) {
            char pid[WEAVE_ID_MAX];
            ao_b64url_encode_to(it->target, ITEM_TARGET_LEN, pid);
            rc = loc_by_process(l, pid, base, err);
        } else {
            rc = ao_err_set(err, AO_EINVAL, "the Message has no target");
        }
        free(it);
        if (rc)
            return rc;
    }
    return call(l, "POST", base, "/", raw, len, 0, false, true, out, err);
}

static int ms_assign(void *ctx, const char *pid, const char *tx_id, bool base_layer,
                     const char *exclude_csv, ao_buf *out, ao_error *err)
{
    su_locator *l = ctx;
    int rc = check_id("process", pid, err);
    rc = rc ? rc : check_id("transaction", tx_id, err);
    if (rc)
        return rc;
    char base[WEAVE_URL_MAX];
    rc = loc_by_process(l, pid, base, err);
    if (rc)
        return rc;
    ao_buf q;
    if (q_start(&q, "/%s%s", "", "") || q_param(&q, "process-id", pid) ||
        q_param(&q, "assign", tx_id) || (base_layer && q_flag(&q, "base-layer")) ||
        (exclude_csv && *exclude_csv && q_param(&q, "exclude", exclude_csv))) {
        ao_buf_free(&q);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    rc = call(l, "POST", base, (const char *)q.data, NULL, 0, 0, false, true, out, err);
    ao_buf_free(&q);
    return rc;
}

static int ms_process(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    return cs_process(ctx, pid, out, err);
}

int net_mu_su_client_http(const weave_client *data, const char *su_url_fixed,
                          mu_su_client *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    su_locator *l = malloc(sizeof *l);
    if (!l)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    int rc = loc_init(l, data, su_url_fixed, err);
    if (rc) {
        free(l);
        return rc;
    }
    out->ctx = l;
    out->post = ms_post;
    out->assign = ms_assign;
    out->process = ms_process;
    return AO_OK;
}

void net_mu_su_client_free(mu_su_client *c)
{
    if (!c || !c->ctx)
        return;
    loc_free(c->ctx);
    free(c->ctx);
    c->ctx = NULL;
}

/* ---- mu_cu_client ---- */

typedef struct cu_conn {
    char *url;
} cu_conn;

static int mc_result(void *ctx, const char *msg_id, const char *pid, ao_buf *out, ao_error *err)
{
    cu_conn *c = ctx;
    int rc = check_id("process", pid, err);
    rc = rc ? rc : check_id("message", msg_id, err);
    if (rc)
        return rc;
    ao_buf q;
    if (q_start(&q, "/result/%s%s", msg_id, "") || q_param(&q, "process-id", pid) ||
        q_param(&q, "no-busy", "1")) {
        ao_buf_free(&q);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    rc = call(NULL, "GET", c->url, (const char *)q.data, NULL, 0, NET_HTTP_RESULT_TIMEOUT_MS,
              true, false, out, err);
    ao_buf_free(&q);
    return rc;
}

static int mc_cron(void *ctx, const char *pid, const char *from, size_t limit, ao_buf *out,
                   ao_error *err)
{
    cu_conn *c = ctx;
    int rc = check_id("process", pid, err);
    if (rc)
        return rc;
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", limit);
    ao_buf q;
    if (q_start(&q, "/cron/%s%s", pid, "") || q_param(&q, "from", from) ||
        (limit && q_param(&q, "limit", lim))) {
        ao_buf_free(&q);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    rc = call(NULL, "GET", c->url, (const char *)q.data, NULL, 0, NET_HTTP_RESULT_TIMEOUT_MS,
              true, false, out, err);
    ao_buf_free(&q);
    return rc;
}

int net_mu_cu_client_http(const char *cu_url, mu_cu_client *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    if (!cu_url || (strncmp(cu_url, "http://", 7) && strncmp(cu_url, "https://", 8)))
        return ao_err_set(err, AO_EINVAL, "CU URL must start with http:// or https://");
    size_t n = strlen(cu_url);
    while (n > 0 && cu_url[n - 1] == '/')
        n--;
    cu_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->url = strndup(cu_url, n))) {
        free(c);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    out->ctx = c;
    out->result = mc_result;
    out->cron = mc_cron;
    return AO_OK;
}

void net_mu_cu_client_free(mu_cu_client *c)
{
    if (!c || !c->ctx)
        return;
    cu_conn *cc = c->ctx;
    free(cc->url);
    free(cc);
    c->ctx = NULL;
}
