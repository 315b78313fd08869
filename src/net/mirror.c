/*
 * mirror.c - net_mirror: writes what a weave stores through to an upstream
 * Arweave. A thread takes the weave's mirror queue in store order (weave.h,
 * "mirror queue"), packs a batch into an ANS-104 bundle, wraps it in a
 * signed L1 format-2 transaction (tags Bundle-Format=binary,
 * Bundle-Version=2.0.0, data inline), posts it to UPSTREAM/tx and marks the
 * batch posted; then it polls UPSTREAM/tx/{id}/status until the
 * transaction is mined (confirmed: the items leave the queue) or until
 * repost_ms have passed (the items are queued again and go out in a new
 * transaction). Failures are retried with a doubling backoff; the last
 * error, the counts and the address paying for the transactions are in
 * net_mirror_status_json and in /metrics (ao_mirror_*).
 */
#include "net/net.h"
#include "net/net_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>

#include "item/item.h"

struct net_mirror {
    weave *w;
    net_mirror_options o;
    char *upstream;                 /* no trailing '/' */
    crypto_wallet *wallet;          /* own copy */
    char address[AO_ADDRESS_MAX];
    pthread_t thr;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    /* status (under mu) */
    char last_error[512];
    int64_t last_error_ms, last_post_ms, last_confirm_ms;
    uint64_t txs_posted, txs_confirmed, txs_reposted, post_errors;
    ao_metric *m_pending, *m_posted, *m_confirmed, *m_txs, *m_errors;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_error(net_mirror *m, const char *what, const ao_error *e)
{
    pthread_mutex_lock(&m->mu);
    snprintf(m->last_error, sizeof m->last_error, "%s: %s", what, e->msg);
    m->last_error_ms = now_ms();
    m->post_errors++;
    pthread_mutex_unlock(&m->mu);
    ao_metric_add(m->m_errors, 1);
    ao_log(AO_LOG_WARN, "mirror", "%s: %s", what, e->msg);
}

/* GET UPSTREAM{path}: the body as a trimmed string (malloc'd). */
static int get_text(net_mirror *m, const char *path, char **out, ao_error *err)
{
    *out = NULL;
    char url[WEAVE_URL_MAX + 128];
    snprintf(url, sizeof url, "%s%s", m->upstream, path);
    net_http_answer a;
    net_http_answer_init(&a);
    int r = net_http_request("GET", url, NULL, 0, NULL, NULL, 0, &a, err);
    if (!r)
        r = net_http_code(&a, path, err);
    if (!r) {
        size_t n = a.body.len;
        while (n && (a.body.data[n - 1] == '\n' || a.body.data[n - 1] == '\r' ||
                     a.body.data[n - 1] == ' '))
            n--;
        *out = strndup((const char *)a.body.data, n);
        if (!*out)
            r = ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    net_http_answer_free(&a);
    return r;
}

static bool all_digits(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static int b64_field(ao_buf *b, const char *name, const uint8_t *p, size_t n, bool comma)
{
    char *s = ao_b64url_encode(p, n);
    if (!s)
        return AO_ENOMEM;
    int r = ao_buf_printf(b, "%s\"%s\":\"%s\"", comma ? "," : "", name, s);
    free(s);
    return r;
}

/* Build, sign and post one L1 transaction carrying `bundle`. tx_id gets
 * its id. */
static int post_bundle(net_mirror *m, const ao_buf *bundle, char tx_id[WEAVE_ID_MAX],
                       ao_error *err)
{
    char *anchor = NULL, *reward = NULL;
    char path[64];
    snprintf(path, sizeof path, "/price/%zu", bundle->len);
    int r = get_text(m, "/tx_anchor", &anchor, err);
    if (!r)
        r = get_text(m, path, &reward, err);
    ao_buf last_tx;
    ao_buf_init(&last_tx);
    if (!r && (ao_b64url_decode(anchor, strlen(anchor), &last_tx, NULL) ||
               (last_tx.len != 32 && last_tx.len != 48)))
        r = ao_err_set(err, AO_EIO, "upstream /tx_anchor answered no anchor: %.64s", anchor);
    if (!r && !all_digits(reward))
        r = ao_err_set(err, AO_EIO, "upstream /price answered no price: %.64s", reward);
    uint8_t root[32], dh[ITEM_DH_LEN], sig[1024], hash[32];
    size_t sig_len = sizeof sig;
    size_t owner_len;
    const uint8_t *owner = crypto_wallet_owner(m->wallet, &owner_len);
    static const char *const names[] = { "Bundle-Format", "Bundle-Version" };
    static const char *const values[] = { "binary", "2.0.0" };
    item_tag tags[2];
    for (int i = 0; i < 2; i++) {
        tags[i].name = (const uint8_t *)names[i];
        tags[i].name_len = strlen(names[i]);
        tags[i].value = (const uint8_t *)values[i];
        tags[i].value_len = strlen(values[i]);
    }
    if (!r)
        r = item_l1_data_root(bundle->data, bundle->len, root, err);
    if (!r) {
        item_l1_tx tx = { owner, owner_len, NULL, 0, "0", reward, last_tx.data, last_tx.len,
                          tags, 2, bundle->len, root, 32 };
        r = item_l1_signature_data(&tx, dh, err);
    }
    if (!r)
        r = crypto_sign(m->wallet, dh, sizeof dh, sig, &sig_len, err);
    if (!r)
        crypto_sha256(sig, sig_len, hash);
    ao_buf b;
    ao_buf_init(&b);
    if (!r) {
        ao_b64url_encode_to(hash, 32, tx_id);
        int e = ao_buf_printf(&b, "{\"format\":2,\"id\":\"%s\",\"last_tx\":\"%s\"", tx_id, anchor);
        e = e ? e : b64_field(&b, "owner", owner, owner_len, true);
        e = e ? e : ao_buf_append_str(&b, ",\"tags\":[");
        for (int i = 0; i < 2 && !e; i++) {
            e = ao_buf_append_str(&b, i ? ",{" : "{");
            e = e ? e : b64_field(&b, "name", tags[i].name, tags[i].name_len, false);
            e = e ? e : b64_field(&b, "value", tags[i].value, tags[i].value_len, true);
            e = e ? e : ao_buf_append_byte(&b, '}');
        }
        e = e ? e : ao_buf_printf(&b, "],\"target\":\"\",\"quantity\":\"0\",\"data_size\":\"%zu\"",
                                  bundle->len);
        e = e ? e : b64_field(&b, "data_root", root, 32, true);
        e = e ? e : ao_buf_printf(&b, ",\"reward\":\"%s\"", reward);
        e = e ? e : b64_field(&b, "signature", sig, sig_len, true);
        e = e ? e : b64_field(&b, "data", bundle->data, bundle->len, true);
        e = e ? e : ao_buf_append_byte(&b, '}');
        if (e)
            r = ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    if (!r) {
        char url[WEAVE_URL_MAX + 8];
        snprintf(url, sizeof url, "%s/tx", m->upstream);
        net_http_answer a;
        net_http_answer_init(&a);
        r = net_http_request("POST", url, b.data, b.len, "application/json", NULL, 0, &a, err);
        /* 208: the upstream has this transaction already */
        if (!r && a.status != 208)
            r = net_http_code(&a, "POST /tx", err);
        net_http_answer_free(&a);
    }
    ao_buf_free(&b);
    ao_buf_free(&last_tx);
    free(anchor);
    free(reward);
    return r;
}

/* Post one batch from the queue. *idle = true when there was nothing. */
static int post_one(net_mirror *m, bool *idle, ao_error *err)
{
    weave_mirror_batch b;
    int r = weave_mirror_take(m->w, m->o.max_items, m->o.max_bytes, &b, err);
    if (r)
        return r;
    *idle = b.n == 0;
    if (b.n == 0)
        return AO_OK;
    ao_buf bundle;
    ao_buf_init(&bundle);
    char tx[WEAVE_ID_MAX];
    r = item_bundle_write(b.raws, b.lens, b.n, &bundle, err);
    if (!r)
        r = post_bundle(m, &bundle, tx, err);
    if (!r)
        r = weave_mirror_posted(m->w, &b, tx, now_ms(), err);
    if (!r) {
        pthread_mutex_lock(&m->mu);
        m->txs_posted++;
        m->last_post_ms = now_ms();
        pthread_mutex_unlock(&m->mu);
        ao_metric_add(m->m_txs, 1);
        ao_log(AO_LOG_DEBUG, "mirror", "posted %s (%zu items, %zu bytes)", tx, b.n, bundle.len);
    }
    ao_buf_free(&bundle);
    weave_mirror_batch_free(&b);
    return r;
}

/* Settle what the upstream has mined; requeue what it lost. */
static int check_posted(net_mirror *m, ao_error *err)
{
    weave_mirror_tx *txs;
    size_t n;
    int r = weave_mirror_unconfirmed(m->w, 64, &txs, &n, err);
    for (size_t i = 0; i < n && !r; i++) {
        char url[WEAVE_URL_MAX + 80];
        snprintf(url, sizeof url, "%s/tx/%s/status", m->upstream, txs[i].tx);
        net_http_answer a;
        net_http_answer_init(&a);
        r = net_http_request("GET", url, NULL, 0, NULL, NULL, 0, &a, err);
        long st = a.status;
        /* mined: 200 with {"block_height",..}; pending: 202 "Pending" (some
         * gateways answer 200 "Pending") */
        cJSON *j = st == 200 ? cJSON_ParseWithLength((const char *)a.body.data, a.body.len) : NULL;
        bool mined = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "block_height"));
        cJSON_Delete(j);
        net_http_answer_free(&a);
        if (r)
            break;
        if (mined) {
            r = weave_mirror_settle(m->w, txs[i].tx, true, err);
            pthread_mutex_lock(&m->mu);
            m->txs_confirmed++;
            m->last_confirm_ms = now_ms();
            pthread_mutex_unlock(&m->mu);
        } else if (now_ms() - txs[i].posted_at_ms >= (int64_t)m->o.repost_ms) {
            ao_log(AO_LOG_WARN, "mirror", "%s not mined after %u ms (status %ld): posting its "
                   "items again", txs[i].tx, m->o.repost_ms, st);
            r = weave_mirror_settle(m->w, txs[i].tx, false, err);
            pthread_mutex_lock(&m->mu);
            m->txs_reposted++;
            pthread_mutex_unlock(&m->mu);
        }
    }
    free(txs);
    return r;
}

static void update_gauges(net_mirror *m)
{
    weave_mirror_stats s;
    ao_error e;
    if (weave_mirror_get_stats(m->w, &s, &e) == AO_OK) {
        ao_metric_set(m->m_pending, (int64_t)s.pending);
        ao_metric_set(m->m_posted, (int64_t)s.posted);
        ao_metric_set(m->m_confirmed, (int64_t)s.confirmed);
    }
}

/* Wait up to ms or until stopped; true if stopping. */
static bool wait_ms(net_mirror *m, uint32_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&m->mu);
    while (!m->stop && pthread_cond_timedwait(&m->cv, &m->mu, &ts) == 0)
        ;
    bool stop = m->stop;
    pthread_mutex_unlock(&m->mu);
    return stop;
}

static void *mirror_main(void *arg)
{
    net_mirror *m = arg;
    pthread_setname_np(pthread_self(), "mirror");
    uint32_t backoff = 0;
    int64_t next_check = 0;
    for (;;) {
        ao_error err;
        ao_err_clear(&err);
        bool idle = true;
        int r = post_one(m, &idle, &err);
        if (r)
            set_error(m, "upload", &err);
        if (!r && (idle || now_ms() >= next_check)) {
            r = check_posted(m, &err);
            if (r)
                set_error(m, "confirmation", &err);
            next_check = now_ms() + m->o.poll_ms;
        }
        update_gauges(m);
        if (r)
            backoff = backoff ? (backoff * 2 > m->o.backoff_max_ms ? m->o.backoff_max_ms
                                                                    : backoff * 2)
                              : 100;
        else
            backoff = 0;
        if (wait_ms(m, r ? backoff : idle ? m->o.poll_ms : 0))
            break;
    }
    return NULL;
}

int net_mirror_start(weave *w, const net_mirror_options *o, net_mirror **out, ao_error *err)
{
    *out = NULL;
    if (!w || !o || !o->upstream || !o->wallet)
        return ao_err_set(err, AO_EINVAL, "mirror: weave, upstream and wallet are required");
    if (strncmp(o->upstream, "http://", 7) && strncmp(o->upstream, "https://", 8))
        return ao_err_set(err, AO_EINVAL, "mirror: upstream URL must start with http:// or https://");
    if (crypto_wallet_type(o->wallet) != CRYPTO_KEY_ARWEAVE)
        return ao_err_set(err, AO_EINVAL, "mirror: L1 transactions need an Arweave (RSA) wallet");
    net_mirror *m = calloc(1, sizeof *m);
    if (!m)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    m->w = w;
    m->o = *o;
    m->o.upstream = NULL;
    m->o.wallet = NULL;
    if (!m->o.max_items)
        m->o.max_items = 1000;
    if (!m->o.max_bytes)
        m->o.max_bytes = 4u << 20;
    if (!m->o.poll_ms)
        m->o.poll_ms = 500;
    if (!m->o.repost_ms)
        m->o.repost_ms = 30u * 60 * 1000;
    if (!m->o.backoff_max_ms)
        m->o.backoff_max_ms = 30000;
    size_t n = strlen(o->upstream);
    while (n && o->upstream[n - 1] == '/')
        n--;
    m->upstream = strndup(o->upstream, n);
    char *jwk = NULL;
    int r = m->upstream ? AO_OK : ao_err_set(err, AO_ENOMEM, "out of memory");
    if (!r)
        r = crypto_wallet_to_json(o->wallet, &jwk, err);
    if (!r)
        r = crypto_wallet_parse(jwk, strlen(jwk), &m->wallet, err);
    free(jwk);
    size_t owner_len;
    const uint8_t *owner = m->wallet ? crypto_wallet_owner(m->wallet, &owner_len) : NULL;
    if (!r)
        r = crypto_address(CRYPTO_KEY_ARWEAVE, owner, owner_len, m->address, err);
    if (r) {
        free(m->upstream);
        crypto_wallet_free(m->wallet);
        free(m);
        return r;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->m_pending = ao_metric_get("ao_mirror_pending_items", "items waiting for an upstream transaction", true);
    m->m_posted = ao_metric_get("ao_mirror_posted_items", "items in posted, unmined upstream transactions", true);
    m->m_confirmed = ao_metric_get("ao_mirror_confirmed_items", "items mined upstream", true);
    m->m_txs = ao_metric_get("ao_mirror_transactions_posted_total", "L1 transactions posted upstream", false);
    m->m_errors = ao_metric_get("ao_mirror_errors_total", "failed upstream uploads or checks", false);
    update_gauges(m);
    if (pthread_create(&m->thr, NULL, mirror_main, m) != 0) {
        net_mirror_stop(m);
        return ao_err_set(err, AO_EIO, "mirror: cannot start its thread");
    }
    m->started = true;
    *out = m;
    return AO_OK;
}

void net_mirror_stop(net_mirror *m)
{
    if (!m)
        return;
    if (m->started) {
        pthread_mutex_lock(&m->mu);
        m->stop = true;
        pthread_cond_broadcast(&m->cv);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->thr, NULL);
    }
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    crypto_wallet_free(m->wallet);
    free(m->upstream);
    free(m);
}

const char *net_mirror_address(const net_mirror *m)
{
    return m->address;
}

int net_mirror_status_json(net_mirror *m, ao_buf *out, ao_error *err)
{
    weave_mirror_stats s;
    int r = weave_mirror_get_stats(m->w, &s, err);
    if (r)
        return r;
    pthread_mutex_lock(&m->mu);
    size_t start = out->len;
    int e = ao_buf_printf(out, "{\"upstream\":\"%s\",\"address\":\"%s\",\"pending\":%llu,"
                          "\"posted\":%llu,\"confirmed\":%llu,\"unconfirmedTransactions\":%llu,"
                          "\"oldestPendingMs\":%lld,\"transactionsPosted\":%llu,"
                          "\"transactionsConfirmed\":%llu,\"transactionsReposted\":%llu,"
                          "\"errors\":%llu,\"lastPostMs\":%lld,\"lastConfirmMs\":%lld,"
                          "\"lastErrorMs\":%lld,\"lastError\":",
                          m->upstream, m->address, (unsigned long long)s.pending,
                          (unsigned long long)s.posted, (unsigned long long)s.confirmed,
                          (unsigned long long)s.txs_posted, (long long)s.oldest_pending_ms,
                          (unsigned long long)m->txs_posted, (unsigned long long)m->txs_confirmed,
                          (unsigned long long)m->txs_reposted, (unsigned long long)m->post_errors,
                          (long long)m->last_post_ms, (long long)m->last_confirm_ms,
                          (long long)m->last_error_ms);
    if (!e) {
        if (m->last_error[0]) {
            cJSON *str = cJSON_CreateString(m->last_error);
            char *txt = str ? cJSON_PrintUnformatted(str) : NULL;
            e = txt ? ao_buf_append_str(out, txt) : AO_ENOMEM;
            free(txt);
            cJSON_Delete(str);
        } else {
            e = ao_buf_append_str(out, "null");
        }
    }
    e = e ? e : ao_buf_append_byte(out, '}');
    pthread_mutex_unlock(&m->mu);
    if (e) {
        out->len = start;
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    return AO_OK;
}

/* ---- reads that fall back to the upstream ---- */

typedef struct fb {
    weave_client local;     /* the wrapped client (its ctx is not ours) */
    weave *w;               /* where fetched items are kept */
    weave_client up;        /* HTTP client of the upstream */
} fb;

/* Fetch id upstream (verified by the put), keep it locally, append it. */
static int fb_fetch(fb *f, const char *id, ao_buf *out, ao_error *err)
{
    ao_buf raw;
    ao_buf_init(&raw);
    ao_error e2;
    int r = f->up.get(f->up.ctx, id, &raw, &e2);
    if (r == AO_ENOTFOUND) {
        r = ao_err_set(err, AO_ENOTFOUND, "no item %.64s here nor upstream", id);
    } else if (r) {
        r = ao_err_set(err, r, "no item %.64s here; upstream: %s", id, e2.msg);
    } else {
        weave_put_result pr;
        r = weave_put(f->w, raw.data, raw.len, WEAVE_PUT_NOMIRROR, &pr, err);
        if (!r && strcmp(pr.id, id) != 0)
            r = ao_err_set(err, AO_EVERIFY, "upstream answered item %s for %.64s", pr.id, id);
        if (!r && out && ao_buf_append(out, raw.data, raw.len))
            r = ao_err_set(err, AO_ENOMEM, "out of memory");
        if (!r)
            ao_log(AO_LOG_DEBUG, "mirror", "read %s from upstream", id);
    }
    ao_buf_free(&raw);
    return r;
}

static int fb_get(void *ctx, const char *id, ao_buf *out, ao_error *err)
{
    fb *f = ctx;
    int r = f->local.get(f->local.ctx, id, out, err);
    return r == AO_ENOTFOUND ? fb_fetch(f, id, out, err) : r;
}

static int fb_get_data(void *ctx, const char *id, ao_buf *out, ao_error *err)
{
    fb *f = ctx;
    int r = f->local.get_data(f->local.ctx, id, out, err);
    if (r == AO_ENOTFOUND && (r = fb_fetch(f, id, NULL, err)) == AO_OK)
        r = f->local.get_data(f->local.ctx, id, out, err);
    return r;
}

static int fb_get_meta(void *ctx, const char *id, unsigned fields, weave_item_meta *out,
                       ao_error *err)
{
    fb *f = ctx;
    int r = f->local.get_meta(f->local.ctx, id, fields, out, err);
    if (r == AO_ENOTFOUND && (r = fb_fetch(f, id, NULL, err)) == AO_OK)
        r = f->local.get_meta(f->local.ctx, id, fields, out, err);
    return r;
}

/* everything else goes to the wrapped client */
static int fb_put(void *ctx, const uint8_t *raw, size_t len, weave_put_result *res, ao_error *err)
{
    fb *f = ctx;
    return f->local.put(f->local.ctx, raw, len, res, err);
}

static int fb_put_many(void *ctx, const uint8_t *const *raws, const size_t *lens, size_t n,
                       weave_put_result *res, ao_error *err)
{
    fb *f = ctx;
    return f->local.put_many(f->local.ctx, raws, lens, n, res, err);
}

static int fb_query_tx(void *ctx, const weave_tx_filter *q, weave_tx_page *out, ao_error *err)
{
    fb *f = ctx;
    return f->local.query_transactions(f->local.ctx, q, out, err);
}

static int fb_query_blocks(void *ctx, const weave_block_filter *q, weave_block_page *out,
                           ao_error *err)
{
    fb *f = ctx;
    return f->local.query_blocks(f->local.ctx, q, out, err);
}

static int fb_info(void *ctx, weave_info *out, ao_error *err)
{
    fb *f = ctx;
    return f->local.get_info(f->local.ctx, out, err);
}

static int fb_location(void *ctx, const char *address, weave_scheduler_location *out,
                       ao_error *err)
{
    fb *f = ctx;
    return f->local.scheduler_location_resolve(f->local.ctx, address, out, err);
}

int net_weave_client_fallback(const weave_client *local, weave *w, const char *upstream,
                              weave_client *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    fb *f = calloc(1, sizeof *f);
    if (!f)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    int r = net_weave_client_http(upstream, &f->up, err);
    if (r) {
        free(f);
        return r;
    }
    f->local = *local;
    f->w = w;
    out->ctx = f;
    out->put = fb_put;
    out->put_many = fb_put_many;
    out->get = fb_get;
    out->get_data = fb_get_data;
    out->get_meta = fb_get_meta;
    out->query_transactions = fb_query_tx;
    out->query_blocks = fb_query_blocks;
    out->get_info = fb_info;
    out->scheduler_location_resolve = fb_location;
    return AO_OK;
}

void net_weave_client_fallback_free(weave_client *c)
{
    if (!c || !c->ctx)
        return;
    fb *f = c->ctx;
    net_weave_client_free(&f->up);
    free(f);
    c->ctx = NULL;
}
