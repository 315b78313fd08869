/*
 * cu_fake_su.h - test-side helpers for the CU (header only, static
 * functions): a small in-memory scheduler that renders the SU's JSON of
 * PROTOCOL.md §2.2 (process record, schedule pages with the process as
 * edge 0, message nodes, latest) from signed items and assignments, as a
 * cu_su_client; and builders for signed Module / Process / Message items
 * in a temporary local weave (the Module is build/aos.wasm).
 */
#ifndef CU_FAKE_SU_H
#define CU_FAKE_SU_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "cu/cu.h"
#include "item/item.h"
#include "weave/weave.h"

typedef struct fsu_entry {
    char id[44];        /* message id, or the assigned tx id */
    char *m_json;       /* the M object, NULL for an assignment of a stored tx */
    int64_t ts, nonce, height;
    char hash_chain[64];
} fsu_entry;

typedef struct fsu_proc {
    char pid[44];
    char *record;       /* /processes/{pid} body */
    fsu_entry *e;       /* e[0] = the process */
    size_t n, cap;
} fsu_proc;

typedef struct fsu {
    pthread_mutex_t mu;
    fsu_proc *p;
    size_t n, cap;
    unsigned process_calls, schedule_calls;
} fsu;

static __attribute__((unused)) void fsu_init(fsu *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
}

static __attribute__((unused)) void fsu_free(fsu *s)
{
    for (size_t i = 0; i < s->n; i++) {
        for (size_t k = 0; k < s->p[i].n; k++) free(s->p[i].e[k].m_json);
        free(s->p[i].e);
        free(s->p[i].record);
    }
    free(s->p);
    pthread_mutex_destroy(&s->mu);
}

/* The M object of a raw item (SU style: lossy data as text, b64url keys). */
static __attribute__((unused)) char *fsu_m_json(const uint8_t *raw, size_t len, cJSON **tags_out)
{
    item it;
    if (item_decode(raw, len, &it, NULL) != AO_OK) return NULL;
    char id[ITEM_ID_B64_LEN + 1], addr[AO_ADDRESS_MAX];
    item_id_b64(&it, id);
    crypto_owner_address_b64(it.owner, it.owner_len, addr);
    char *key = ao_b64url_encode(it.owner, it.owner_len);
    char *sig = ao_b64url_encode(it.sig, it.sig_len);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON *ow = cJSON_AddObjectToObject(o, "owner");
    cJSON_AddStringToObject(ow, "address", addr);
    cJSON_AddStringToObject(ow, "key", key);
    char *data = malloc(it.data_len + 1);
    memcpy(data, it.data, it.data_len);
    data[it.data_len] = 0;
    cJSON_AddStringToObject(o, "data", data);
    free(data);
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    for (size_t i = 0; i < it.ntags; i++) {
        cJSON *t = cJSON_CreateObject();
        char *n = strndup((const char *)it.tags[i].name, it.tags[i].name_len);
        char *v = strndup((const char *)it.tags[i].value, it.tags[i].value_len);
        cJSON_AddStringToObject(t, "name", n);
        cJSON_AddStringToObject(t, "value", v);
        free(n);
        free(v);
        cJSON_AddItemToArray(tags, t);
    }
    cJSON_AddStringToObject(o, "signature", sig);
    if (it.anchor) {
        char *a = strndup((const char *)it.anchor, 32);
        cJSON_AddStringToObject(o, "anchor", a);
        free(a);
    } else
        cJSON_AddNullToObject(o, "anchor");
    if (it.target) {
        char t[44];
        ao_b64url_encode_to(it.target, 32, t);
        cJSON_AddStringToObject(o, "target", t);
    } else
        cJSON_AddStringToObject(o, "target", "");
    if (tags_out) *tags_out = cJSON_Duplicate(tags, 1);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    free(key);
    free(sig);
    return s;
}

static __attribute__((unused)) fsu_proc *fsu_find(fsu *s, const char *pid)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->p[i].pid, pid) == 0) return &s->p[i];
    return NULL;
}

static __attribute__((unused)) fsu_entry *fsu_push(fsu_proc *p)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->e = realloc(p->e, p->cap * sizeof *p->e);
    }
    fsu_entry *e = &p->e[p->n];
    memset(e, 0, sizeof *e);
    e->nonce = (int64_t)p->n;
    snprintf(e->hash_chain, sizeof e->hash_chain, "HC%lld", (long long)p->n);
    p->n++;
    return e;
}

/* Schedule a Process item; returns its id in pid_out. */
static __attribute__((unused)) int fsu_add_process(fsu *s, const uint8_t *raw, size_t len, int64_t ts, int64_t height,
                           char pid_out[44])
{
    cJSON *tags = NULL;
    char *m = fsu_m_json(raw, len, &tags);
    if (!m) return -1;
    pthread_mutex_lock(&s->mu);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->p = realloc(s->p, s->cap * sizeof *s->p);
    }
    fsu_proc *p = &s->p[s->n++];
    memset(p, 0, sizeof *p);
    cJSON *mj = cJSON_Parse(m);
    snprintf(p->pid, sizeof p->pid, "%s", cJSON_GetObjectItem(mj, "id")->valuestring);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "process_id", p->pid);
    char block[16];
    snprintf(block, sizeof block, "%012lld", (long long)height);
    cJSON_AddStringToObject(r, "block", block);
    cJSON_AddItemToObject(r, "owner", cJSON_Duplicate(cJSON_GetObjectItem(mj, "owner"), 1));
    cJSON_AddItemToObject(r, "tags", tags);
    cJSON_AddNumberToObject(r, "timestamp", (double)ts);
    cJSON_AddItemToObject(r, "data", cJSON_Duplicate(cJSON_GetObjectItem(mj, "data"), 1));
    cJSON_AddItemToObject(r, "anchor", cJSON_Duplicate(cJSON_GetObjectItem(mj, "anchor"), 1));
    cJSON_AddItemToObject(r, "signature", cJSON_Duplicate(cJSON_GetObjectItem(mj, "signature"), 1));
    cJSON_AddNullToObject(r, "target");
    p->record = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    cJSON_Delete(mj);
    fsu_entry *e = fsu_push(p);
    snprintf(e->id, sizeof e->id, "%s", p->pid);
    e->m_json = m;
    e->ts = ts;
    e->height = height;
    snprintf(pid_out, 44, "%s", p->pid);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Schedule a message item on pid (ts must increase); id_out may be NULL. */
static __attribute__((unused)) int fsu_add_message(fsu *s, const char *pid, const uint8_t *raw, size_t len, int64_t ts,
                           int64_t height, char id_out[44])
{
    char *m = fsu_m_json(raw, len, NULL);
    if (!m) return -1;
    pthread_mutex_lock(&s->mu);
    fsu_proc *p = fsu_find(s, pid);
    if (!p) { pthread_mutex_unlock(&s->mu); free(m); return -1; }
    fsu_entry *e = fsu_push(p);
    cJSON *mj = cJSON_Parse(m);
    snprintf(e->id, sizeof e->id, "%s", cJSON_GetObjectItem(mj, "id")->valuestring);
    cJSON_Delete(mj);
    e->m_json = m;
    e->ts = ts;
    e->height = height;
    if (id_out) snprintf(id_out, 44, "%s", e->id);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* Assign an existing (stored) transaction to pid. */
static __attribute__((unused)) int fsu_assign(fsu *s, const char *pid, const char *tx, int64_t ts, int64_t height)
{
    pthread_mutex_lock(&s->mu);
    fsu_proc *p = fsu_find(s, pid);
    if (!p) { pthread_mutex_unlock(&s->mu); return -1; }
    fsu_entry *e = fsu_push(p);
    snprintf(e->id, sizeof e->id, "%s", tx);
    e->ts = ts;
    e->height = height;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static __attribute__((unused)) void fsu_node(ao_buf *b, const fsu_proc *p, const fsu_entry *e)
{
    ao_buf_printf(b, "{\"message\":%s,\"assignment\":{\"id\":\"A%039lld\",\"owner\":{\"address\":\"SU\",\"key\":\"\"},"
                     "\"tags\":[{\"name\":\"Process\",\"value\":\"%s\"},{\"name\":\"Epoch\",\"value\":\"0\"},"
                     "{\"name\":\"Nonce\",\"value\":\"%lld\"},{\"name\":\"Hash-Chain\",\"value\":\"%s\"},"
                     "{\"name\":\"Block-Height\",\"value\":\"%012lld\"},{\"name\":\"Timestamp\",\"value\":\"%lld\"},"
                     "{\"name\":\"Data-Protocol\",\"value\":\"ao\"},{\"name\":\"Type\",\"value\":\"Assignment\"},"
                     "{\"name\":\"Variant\",\"value\":\"ao.TN.1\"}",
                  e->m_json ? e->m_json : "null", (long long)e->nonce, p->pid, (long long)e->nonce,
                  e->hash_chain, (long long)e->height, (long long)e->ts);
    if (e->nonce > 0) ao_buf_printf(b, ",{\"name\":\"Message\",\"value\":\"%s\"}", e->id);
    ao_buf_printf(b, "],\"signature\":\"S\",\"anchor\":null,\"target\":\"\"}}");
}

static __attribute__((unused)) int fsu_c_process(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    fsu *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->process_calls++;
    fsu_proc *p = fsu_find(s, pid);
    int rc = p ? ao_buf_append_str(out, p->record) : ao_err_set(err, AO_ENOTFOUND, "Process not found");
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static __attribute__((unused)) int fsu_c_schedule(void *ctx, const char *pid, const char *from, const char *to, size_t limit,
                          ao_buf *out, ao_error *err)
{
    fsu *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->schedule_calls++;
    fsu_proc *p = fsu_find(s, pid);
    if (!p) { pthread_mutex_unlock(&s->mu); return ao_err_set(err, AO_ENOTFOUND, "Process not found"); }
    int64_t f = from ? strtoll(from, NULL, 10) : INT64_MIN, t = to ? strtoll(to, NULL, 10) : INT64_MAX;
    if (!limit || limit > 1000) limit = 1000;
    ao_buf_append_str(out, "{\"page_info\":{\"has_next_page\":");
    ao_buf edges;
    ao_buf_init(&edges);
    size_t n = 0;
    bool more = false;
    for (size_t i = 0; i < p->n; i++) {
        const fsu_entry *e = &p->e[i];
        if (from && e->ts <= f) continue;
        if (e->ts > t) break;
        if (n == limit) { more = true; break; }
        ao_buf_printf(&edges, "%s{\"cursor\":\"%lld\",\"node\":", n ? "," : "", (long long)e->ts);
        fsu_node(&edges, p, e);
        ao_buf_append_byte(&edges, '}');
        n++;
    }
    ao_buf_printf(out, "%s},\"edges\":[", more ? "true" : "false");
    if (edges.len) ao_buf_append(out, edges.data, edges.len);
    ao_buf_append_str(out, "]}");
    ao_buf_free(&edges);
    pthread_mutex_unlock(&s->mu);
    return AO_OK;
}

static __attribute__((unused)) int fsu_c_message(void *ctx, const char *pid, const char *msg, ao_buf *out, ao_error *err)
{
    fsu *s = ctx;
    pthread_mutex_lock(&s->mu);
    fsu_proc *p = fsu_find(s, pid);
    int rc = ao_err_set(err, AO_ENOTFOUND, "Message or Process not found");
    for (size_t i = 0; p && i < p->n; i++)
        if (strcmp(p->e[i].id, msg) == 0) {
            fsu_node(out, p, &p->e[i]);
            rc = AO_OK;
            if (err) ao_err_clear(err);
            break;
        }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static __attribute__((unused)) int fsu_c_latest(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    fsu *s = ctx;
    pthread_mutex_lock(&s->mu);
    fsu_proc *p = fsu_find(s, pid);
    int rc = p ? AO_OK : ao_err_set(err, AO_ENOTFOUND, "Process not found");
    if (p) fsu_node(out, p, &p->e[p->n - 1]);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static __attribute__((unused)) int fsu_c_timestamp(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    (void)ctx; (void)pid; (void)err;
    return ao_buf_printf(out, "{\"timestamp\":\"%lld\",\"block_height\":\"000000000001\"}", (long long)ao_now_ms());
}

static __attribute__((unused)) cu_su_client fsu_client(fsu *s)
{
    cu_su_client c = {s, fsu_c_process, fsu_c_schedule, fsu_c_message, fsu_c_latest, fsu_c_timestamp};
    return c;
}

/* ---- items ---- */

typedef struct ktag { const char *n, *v; } ktag;

/* Sign an item: tags as name/value pairs ending at {NULL}, target b64url or NULL. */
static __attribute__((unused)) int fsu_sign(const crypto_wallet *w, const ktag *kt, const char *target_b64, const void *data,
                    size_t dlen, ao_buf *out)
{
    item_tag tags[64];
    size_t n = 0;
    for (; kt && kt[n].n; n++) {
        tags[n].name = (const uint8_t *)kt[n].n;
        tags[n].name_len = strlen(kt[n].n);
        tags[n].value = (const uint8_t *)kt[n].v;
        tags[n].value_len = strlen(kt[n].v);
    }
    ao_buf t;
    ao_buf_init(&t);
    if (target_b64 && ao_b64url_decode(target_b64, strlen(target_b64), &t, NULL) != AO_OK) return -1;
    /* a unique anchor: ed25519 signatures are deterministic, so two equal
     * messages would otherwise share an id */
    static unsigned long long counter;
    char anchor[33];
    snprintf(anchor, sizeof anchor, "%032llu", __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
    item_fields f = {.target = target_b64 ? t.data : NULL, .anchor = (const uint8_t *)anchor, .tags = tags,
                     .ntags = n, .data = data, .data_len = dlen};
    uint8_t id[ITEM_ID_LEN];
    int rc = item_sign(w, &f, out, id, NULL);
    ao_buf_free(&t);
    return rc;
}

/* Put the wasm file at path in the weave as a Module item; the tags after
 * path may be NULL. */
static __attribute__((unused)) int fsu_put_module_file(weave *wv, const crypto_wallet *w, const char *path,
                                                       const char *format, const char *mem_limit,
                                                       const char *compute_limit, char id_out[44])
{
    ao_buf wasm, raw;
    ao_buf_init(&wasm);
    ao_buf_init(&raw);
    if (ao_file_read(path, &wasm, NULL) != AO_OK) return -1;
    ktag kt[10] = {{"Data-Protocol", "ao"}, {"Type", "Module"}, {"Variant", "ao.TN.1"},
                   {"Content-Type", "application/wasm"}, {"Input-Encoding", "JSON-1"},
                   {"Output-Encoding", "JSON-1"}};
    size_t n = 6;
    if (format) kt[n++] = (ktag){"Module-Format", format};
    if (mem_limit) kt[n++] = (ktag){"Memory-Limit", mem_limit};
    if (compute_limit) kt[n++] = (ktag){"Compute-Limit", compute_limit};
    kt[n] = (ktag){NULL, NULL};
    int rc = fsu_sign(w, kt, NULL, wasm.data, wasm.len, &raw);
    weave_put_result pr;
    if (rc == AO_OK) rc = weave_put(wv, raw.data, raw.len, 0, &pr, NULL);
    if (rc == AO_OK) snprintf(id_out, 44, "%s", pr.id);
    ao_buf_free(&wasm);
    ao_buf_free(&raw);
    return rc;
}

/* Put build/aos.wasm (or $AO_AOS_WASM) in the weave as a Module item. */
static __attribute__((unused)) int fsu_put_module(weave *wv, const crypto_wallet *w, const char *format, const char *mem_limit,
                          const char *compute_limit, char id_out[44])
{
    const char *path = getenv("AO_AOS_WASM");
    return fsu_put_module_file(wv, w, path ? path : "build/aos.wasm", format, mem_limit, compute_limit, id_out);
}

#endif
