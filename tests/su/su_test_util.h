/*
 * su_test_util.h - header-only helpers for the SU tests: a temporary data
 * dir with a local weave and an SU over it (through a weave_client that can
 * be told to fail its puts), signing Process/Message items, reading tags,
 * and an independent check of a process's whole schedule (nonces, hash
 * chain recomputed here, timestamps, assignment signatures) through the
 * SU's own JSON pages. Static functions only.
 */
#ifndef AO_TESTS_SU_TEST_UTIL_H
#define AO_TESTS_SU_TEST_UTIL_H

#include <cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "su/su.h"
#include "item/item.h"

typedef struct sut_env {
    char *dir;
    char wdir[512], sdir[512];
    weave *w;
    weave_client inner;       /* weave_client_local */
    weave_client wc;          /* what the SU gets: inner, or failing */
    atomic_int fail_puts;     /* non-zero: put/put_many answer AO_EIO */
    crypto_wallet *suw;
    su *s;
    int64_t clock;            /* 0 = wall clock, else a frozen clock */
    bool no_fsync;            /* order-only tests: weave and SU skip fsync */
} sut_env;

static inline int sut_put(void *ctx, const uint8_t *raw, size_t len, weave_put_result *res, ao_error *err)
{
    sut_env *e = ctx;
    if (atomic_load(&e->fail_puts))
        return ao_err_set(err, AO_EIO, "test: data layer down");
    return e->inner.put(e->inner.ctx, raw, len, res, err);
}

static inline int sut_put_many(void *ctx, const uint8_t *const *raws, const size_t *lens, size_t n,
                        weave_put_result *res, ao_error *err)
{
    sut_env *e = ctx;
    if (atomic_load(&e->fail_puts))
        return ao_err_set(err, AO_EIO, "test: data layer down");
    return e->inner.put_many(e->inner.ctx, raws, lens, n, res, err);
}

static inline int sut_get(void *ctx, const char *id, ao_buf *out, ao_error *err)
{
    sut_env *e = ctx;
    return e->inner.get(e->inner.ctx, id, out, err);
}

static inline int sut_get_meta(void *ctx, const char *id, unsigned f, weave_item_meta *out, ao_error *err)
{
    sut_env *e = ctx;
    return e->inner.get_meta(e->inner.ctx, id, f, out, err);
}

static inline int sut_info(void *ctx, weave_info *out, ao_error *err)
{
    sut_env *e = ctx;
    return e->inner.get_info(e->inner.ctx, out, err);
}

static inline int64_t sut_clock(void *ctx)
{
    return ((sut_env *)ctx)->clock;
}

static inline int sut_open_su(sut_env *e, const char *url)
{
    su_options o;
    memset(&o, 0, sizeof o);
    o.dir = e->sdir;
    o.data = &e->wc;
    o.wallet = e->suw;
    o.url = url;
    o.no_fsync = e->no_fsync;
    if (e->clock) {
        o.now_ms = sut_clock;
        o.clock_ctx = e;
    }
    ao_error err;
    int r = su_open(&o, &e->s, &err);
    if (r)
        fprintf(stderr, "su_open: %s\n", err.msg);
    return r;
}

/* A fresh env: weave (instant blocks) + SU with a new wallet of type kt;
 * no_fsync only where durability is not what is tested. */
static inline int sut_setup_ex(sut_env *e, crypto_key_type kt, int64_t clock, bool no_fsync)
{
    memset(e, 0, sizeof *e);
    e->no_fsync = no_fsync;
    e->dir = strdup("/tmp/ao-su-test-XXXXXX");
    if (!e->dir || !mkdtemp(e->dir))
        return -1;
    snprintf(e->wdir, sizeof e->wdir, "%s/weave", e->dir);
    snprintf(e->sdir, sizeof e->sdir, "%s/su", e->dir);
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = 0;
    wo.no_fsync = no_fsync;
    if (weave_open(e->wdir, &wo, &e->w, NULL))
        return -1;
    weave_client_local(e->w, &e->inner);
    e->wc = e->inner;
    e->wc.ctx = e;
    e->wc.put = sut_put;
    e->wc.put_many = sut_put_many;
    e->wc.get = sut_get;
    e->wc.get_meta = sut_get_meta;
    e->wc.get_info = sut_info;
    e->wc.get_data = NULL;
    e->wc.query_transactions = NULL;
    e->wc.query_blocks = NULL;
    e->wc.scheduler_location_resolve = NULL;
    e->clock = clock;
    if (crypto_wallet_generate(kt, &e->suw, NULL))
        return -1;
    return sut_open_su(e, NULL);
}

static inline int sut_setup(sut_env *e, crypto_key_type kt, int64_t clock)
{
    return sut_setup_ex(e, kt, clock, false);
}

static inline void sut_teardown(sut_env *e)
{
    su_close(e->s);
    weave_close(e->w);
    crypto_wallet_free(e->suw);
    if (e->dir) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", e->dir);
        free(e->dir);
    }
    memset(e, 0, sizeof *e);
}

/* Sign an item: tags "name=value", target (b64url id or NULL), data. */
static inline int sut_item(const crypto_wallet *wl, const char *const *kv, size_t n, const char *target,
                    const char *data, ao_buf *out, char id_b64[44])
{
    item_tag tags[32];
    if (n > 32)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        tags[i].name = (const uint8_t *)kv[i];
        tags[i].name_len = (size_t)(eq - kv[i]);
        tags[i].value = (const uint8_t *)eq + 1;
        tags[i].value_len = strlen(eq + 1);
    }
    uint8_t tgt[32];
    if (target) {
        ao_buf b;
        ao_buf_init(&b);
        if (ao_b64url_decode(target, strlen(target), &b, NULL) || b.len != 32) {
            ao_buf_free(&b);
            return -1;
        }
        memcpy(tgt, b.data, 32);
        ao_buf_free(&b);
    }
    item_fields f = { target ? tgt : NULL, NULL, tags, n, (const uint8_t *)data,
                      data ? strlen(data) : 0 };
    uint8_t id[ITEM_ID_LEN];
    int r = item_sign(wl, &f, out, id, NULL);
    if (!r && id_b64)
        ao_b64url_encode_to(id, ITEM_ID_LEN, id_b64);
    return r;
}

/* Sign and post a Process naming this SU. */
static inline int sut_spawn(sut_env *e, const crypto_wallet *user, const char *data, su_ack *ack)
{
    char sched[80];
    snprintf(sched, sizeof sched, "Scheduler=%s", su_address(e->s));
    const char *kv[] = { "Data-Protocol=ao", "Variant=ao.TN.1", "Type=Process",
                         "Module=bW9kdWxlbW9kdWxlbW9kdWxlbW9kdWxlbW9kdWxlbW8", sched };
    ao_buf raw;
    ao_buf_init(&raw);
    int r = sut_item(user, kv, 5, NULL, data, &raw, NULL);
    ao_error err;
    if (!r)
        r = su_post_item(e->s, raw.data, raw.len, ack, NULL, &err);
    if (r)
        fprintf(stderr, "spawn: %d %s\n", r, err.msg);
    ao_buf_free(&raw);
    return r;
}

static inline int sut_message(sut_env *e, const crypto_wallet *user, const char *pid, const char *data,
                       su_ack *ack, ao_error *err)
{
    /* a fresh Ref tag per call: Ed25519 signatures are deterministic, so
     * equal fields would otherwise make equal ids */
    static atomic_ulong seq;
    char ref[40];
    snprintf(ref, sizeof ref, "Ref=%lu", atomic_fetch_add(&seq, 1));
    const char *kv[] = { "Data-Protocol=ao", "Variant=ao.TN.1", "Type=Message", "Action=Eval", ref };
    ao_buf raw;
    ao_buf_init(&raw);
    int r = sut_item(user, kv, 5, pid, data, &raw, NULL);
    if (!r)
        r = su_post_item(e->s, raw.data, raw.len, ack, NULL, err);
    ao_buf_free(&raw);
    return r;
}

/* Value of the first tag named name (NUL-terminated copy in out). */
static inline bool sut_tag(const item *it, const char *name, char *out, size_t cap)
{
    const item_tag *t = item_find_tag(it, name);
    if (!t || t->value_len >= cap)
        return false;
    memcpy(out, t->value, t->value_len);
    out[t->value_len] = 0;
    return true;
}

static const char *sut_json_tag(const cJSON *tags, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const cJSON *n = cJSON_GetObjectItem(t, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return cJSON_GetStringValue(cJSON_GetObjectItem(t, "value"));
    }
    return NULL;
}

static inline bool sut_b64_32(const char *s, uint8_t out[32])
{
    ao_buf b;
    ao_buf_init(&b);
    bool ok = s && ao_b64url_decode(s, strlen(s), &b, NULL) == AO_OK && b.len == 32;
    if (ok)
        memcpy(out, b.data, 32);
    ao_buf_free(&b);
    return ok;
}

/* Walk the whole schedule of pid through nonce-mode pages and check:
 * nonces 0..n-1 without gap or repeat, the Hash-Chain of every assignment
 * recomputed from the previous one, strictly increasing timestamps, each
 * assignment item in the data layer, signed by the SU (verify_every: every
 * k-th one is verified, 0 = none). Returns n, or -1 with a message. */
static inline long sut_check_schedule_ids(sut_env *e, const char *pid, int verify_every,
                                   char (*ids)[44], size_t cap)
{
    long n = 0;
    int64_t last_ts = -1;
    uint8_t prev_assign[32], prev_chain[32];
    char from[32] = "-1";
    for (;;) {
        su_query q = { 0 };
        q.process_id = pid;
        q.from_nonce = from;
        q.limit = "1000";
        ao_buf body;
        ao_buf_init(&body);
        ao_error err;
        if (su_get_json(e->s, pid, &q, &body, &err)) {
            fprintf(stderr, "schedule of %s: %s\n", pid, err.msg);
            ao_buf_free(&body);
            return -1;
        }
        cJSON *j = cJSON_ParseWithLength((const char *)body.data, body.len);
        ao_buf_free(&body);
        if (!j)
            return -1;
        const cJSON *edges = cJSON_GetObjectItem(j, "edges"), *ed;
        bool more = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "page_info"),
                                                     "has_next_page"));
        cJSON_ArrayForEach(ed, edges) {
            const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(ed, "node"), "assignment");
            const cJSON *tags = cJSON_GetObjectItem(a, "tags");
            const char *aid = cJSON_GetStringValue(cJSON_GetObjectItem(a, "id"));
            const char *nonce = sut_json_tag(tags, "Nonce");
            const char *chain = sut_json_tag(tags, "Hash-Chain");
            const char *ts = sut_json_tag(tags, "Timestamp");
            const char *proc = sut_json_tag(tags, "Process");
            uint8_t expect[32], got[32], cur_assign[32];
            if (!nonce || !chain || !ts || !proc || !aid || strcmp(proc, pid) != 0 ||
                strtol(nonce, NULL, 10) != n || !sut_b64_32(chain, got) ||
                !sut_b64_32(aid, cur_assign)) {
                fprintf(stderr, "%s: bad assignment at position %ld (nonce %s)\n", pid, n,
                        nonce ? nonce : "?");
                cJSON_Delete(j);
                return -1;
            }
            if (n == 0) {
                uint8_t p[32];
                sut_b64_32(pid, p);
                crypto_sha256(p, 32, expect);
            } else {
                uint8_t cat[64];
                memcpy(cat, prev_assign, 32);
                memcpy(cat + 32, prev_chain, 32);
                crypto_sha256(cat, 64, expect);
            }
            int64_t t = strtoll(ts, NULL, 10);
            if (memcmp(expect, got, 32) != 0 || t <= last_ts) {
                fprintf(stderr, "%s: chain or timestamp broken at nonce %ld\n", pid, n);
                cJSON_Delete(j);
                return -1;
            }
            if (verify_every && n % verify_every == 0) {
                ao_buf raw;
                ao_buf_init(&raw);
                item it;
                char owner[AO_ADDRESS_MAX];
                int r = weave_get(e->w, aid, &raw, NULL);
                if (!r)
                    r = item_verify(raw.data, raw.len, &it, NULL);
                if (!r) {
                    item_owner_address(&it, owner);
                    if (strcmp(owner, su_address(e->s)) != 0)
                        r = -1;
                }
                ao_buf_free(&raw);
                if (r) {
                    fprintf(stderr, "%s: assignment %s not stored or not the SU's\n", pid, aid);
                    cJSON_Delete(j);
                    return -1;
                }
            }
            const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(ed, "node"), "message");
            const char *mid = cJSON_GetStringValue(cJSON_GetObjectItem(m, "id"));
            if (ids && (size_t)n < cap)
                snprintf(ids[n], 44, "%s", mid ? mid : "");
            if (verify_every && mid && weave_has(e->w, mid, NULL) != AO_OK) {
                fprintf(stderr, "%s: message %s of nonce %ld not in the data layer\n", pid, mid, n);
                cJSON_Delete(j);
                return -1;
            }
            memcpy(prev_assign, cur_assign, 32);
            memcpy(prev_chain, got, 32);
            last_ts = t;
            n++;
        }
        cJSON_Delete(j);
        if (!more)
            break;
        snprintf(from, sizeof from, "%ld", n - 1);
    }
    return n;
}

static inline long sut_check_schedule(sut_env *e, const char *pid, int verify_every)
{
    return sut_check_schedule_ids(e, pid, verify_every, NULL, 0);
}

#endif
