/*
 * mu_fakes.h - fake SU, CU and data layer for the Messenger Unit's tests
 * (header-only, static). The fake SU keeps posted items (de-duplicated by
 * id, as the real SU), known processes with their tags, and assignments;
 * it can be told to fail. The fake CU answers scripted result JSON per
 * message id (or through a hook) and scripted cron pages. The fake data
 * layer keeps what it is given.
 */
#ifndef TESTS_MU_FAKES_H
#define TESTS_MU_FAKES_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "item/item.h"
#include "mu/mu.h"

#define FAKE_MAX 4096

typedef struct fake_item {
    uint8_t *raw;
    size_t len;
    char id[44];
    int64_t at_ms;
} fake_item;

typedef struct fake_su {
    pthread_mutex_t lock;
    fake_item posted[FAKE_MAX];        /* accepted, distinct ids, in order */
    size_t nposted;
    size_t post_calls;
    size_t duplicates;
    int64_t attempt_ms[64];            /* time of each post call (first 64) */
    char attempt_id[64][44];
    char procs[FAKE_MAX][44];          /* known processes */
    char *proc_tags[FAKE_MAX];         /* their tags as JSON text */
    size_t nprocs;
    char assigns[FAKE_MAX][2][44];     /* (pid, tx) */
    size_t nassigns;
    int fail_posts;                    /* next N posts fail with fail_code */
    int fail_code;                     /* 0 = AO_EIO */
    int refuse_code;                   /* every post refused with this code */
    int refuse_process_code;           /* every Process item refused with this code */
} fake_su;

static inline void fake_su_init(fake_su *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
}

static inline void fake_su_free(fake_su *s)
{
    for (size_t i = 0; i < s->nposted; i++)
        free(s->posted[i].raw);
    for (size_t i = 0; i < s->nprocs; i++)
        free(s->proc_tags[i]);
    pthread_mutex_destroy(&s->lock);
}

/* tags_json: [{"name","value"}...] */
static inline void fake_su_add_process(fake_su *s, const char *pid, const char *tags_json)
{
    pthread_mutex_lock(&s->lock);
    snprintf(s->procs[s->nprocs], 44, "%s", pid);
    s->proc_tags[s->nprocs] = strdup(tags_json);
    s->nprocs++;
    pthread_mutex_unlock(&s->lock);
}

static inline int fake_su_find_proc(fake_su *s, const char *pid)
{
    for (size_t i = 0; i < s->nprocs; i++)
        if (strcmp(s->procs[i], pid) == 0)
            return (int)i;
    return -1;
}

static inline char *fake_tags_json(const item *it)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < it->ntags; i++) {
        cJSON *o = cJSON_CreateObject();
        char *n = strndup((const char *)it->tags[i].name, it->tags[i].name_len);
        char *v = strndup((const char *)it->tags[i].value, it->tags[i].value_len);
        cJSON_AddStringToObject(o, "name", n);
        cJSON_AddStringToObject(o, "value", v);
        free(n);
        free(v);
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

static inline bool fake_tag_is(const item *it, const char *name, const char *value)
{
    const item_tag *t = item_find_tag(it, name);
    return t && t->value_len == strlen(value) && memcmp(t->value, value, t->value_len) == 0;
}

static inline int fake_su_post(void *ctx, const uint8_t *raw, size_t len, ao_buf *out, ao_error *err)
{
    fake_su *s = ctx;
    item it;
    int rc = item_verify(raw, len, &it, err);
    if (rc)
        return rc;
    char id[44];
    item_id_b64(&it, id);
    pthread_mutex_lock(&s->lock);
    if (s->post_calls < 64) {
        s->attempt_ms[s->post_calls] = ao_mono_ms();
        snprintf(s->attempt_id[s->post_calls], 44, "%s", id);
    }
    s->post_calls++;
    if (s->refuse_code) {
        pthread_mutex_unlock(&s->lock);
        return ao_err_set(err, s->refuse_code, "fake SU refuses this item");
    }
    if (s->fail_posts > 0) {
        s->fail_posts--;
        pthread_mutex_unlock(&s->lock);
        return ao_err_set(err, s->fail_code ? s->fail_code : AO_EIO, "fake SU unreachable");
    }
    for (size_t i = 0; i < s->nposted; i++)
        if (strcmp(s->posted[i].id, id) == 0) {
            s->duplicates++;
            pthread_mutex_unlock(&s->lock);
            ao_buf_printf(out, "{\"timestamp\":1,\"id\":\"%s\"}", id);
            return AO_OK;
        }
    bool process = fake_tag_is(&it, "Type", "Process");
    if (process && s->refuse_process_code) {
        pthread_mutex_unlock(&s->lock);
        return ao_err_set(err, s->refuse_process_code, "fake SU refuses this process");
    }
    if (!process) {
        char t[44] = "";
        if (it.target)
            ao_b64url_encode_to(it.target, 32, t);
        if (fake_su_find_proc(s, t) < 0) {
            pthread_mutex_unlock(&s->lock);
            return ao_err_set(err, AO_ENOTFOUND, "Process %s not found", t);
        }
    }
    if (s->nposted >= FAKE_MAX) {
        pthread_mutex_unlock(&s->lock);
        return ao_err_set(err, AO_ELIMIT, "fake SU full");
    }
    fake_item *f = &s->posted[s->nposted++];
    f->raw = malloc(len);
    memcpy(f->raw, raw, len);
    f->len = len;
    f->at_ms = ao_mono_ms();
    snprintf(f->id, sizeof f->id, "%s", id);
    if (process) {
        snprintf(s->procs[s->nprocs], 44, "%s", id);
        s->proc_tags[s->nprocs] = fake_tags_json(&it);
        s->nprocs++;
    }
    pthread_mutex_unlock(&s->lock);
    ao_buf_printf(out, "{\"timestamp\":1,\"id\":\"%s\"}", id);
    return AO_OK;
}

static inline int fake_su_assign(void *ctx, const char *pid, const char *tx, bool base_layer,
                          const char *exclude, ao_buf *out, ao_error *err)
{
    fake_su *s = ctx;
    pthread_mutex_lock(&s->lock);
    if (s->refuse_code) {
        pthread_mutex_unlock(&s->lock);
        return ao_err_set(err, s->refuse_code, "fake SU refuses this assignment");
    }
    for (size_t i = 0; i < s->nassigns; i++)
        if (!strcmp(s->assigns[i][0], pid) && !strcmp(s->assigns[i][1], tx)) {
            s->duplicates++;
            pthread_mutex_unlock(&s->lock);
            ao_buf_printf(out, "{\"timestamp\":1,\"id\":\"A%042zu\"}", i);
            return AO_OK;
        }
    size_t i = s->nassigns++;
    snprintf(s->assigns[i][0], 44, "%s", pid);
    snprintf(s->assigns[i][1], 44, "%s", tx);
    pthread_mutex_unlock(&s->lock);
    ao_buf_printf(out, "{\"timestamp\":1,\"id\":\"A%042zu\"}", i);
    return AO_OK;
}

static inline int fake_su_process(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    fake_su *s = ctx;
    pthread_mutex_lock(&s->lock);
    int i = fake_su_find_proc(s, pid);
    if (i < 0) {
        pthread_mutex_unlock(&s->lock);
        return ao_err_set(err, AO_ENOTFOUND, "Process %s not found", pid);
    }
    ao_buf_printf(out, "{\"process_id\":\"%s\",\"tags\":%s}", pid, s->proc_tags[i]);
    pthread_mutex_unlock(&s->lock);
    return AO_OK;
}

static inline mu_su_client fake_su_client(fake_su *s)
{
    mu_su_client c = { s, fake_su_post, fake_su_assign, fake_su_process };
    return c;
}

/* Posted item with this tag name=value (first), or NULL. */
static inline const fake_item *fake_su_find_tag(fake_su *s, const char *name, const char *value)
{
    const fake_item *r = NULL;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nposted && !r; i++) {
        item it;
        if (item_decode(s->posted[i].raw, s->posted[i].len, &it, NULL) == AO_OK &&
            fake_tag_is(&it, name, value))
            r = &s->posted[i];
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

/* ---- fake CU ---- */

typedef struct fake_cu fake_cu;
/* Hook: writes a result for (msg, pid) and returns true, or false. */
typedef bool (*fake_cu_hook)(fake_cu *c, const char *msg, const char *pid, ao_buf *out);

struct fake_cu {
    pthread_mutex_t lock;
    char keys[256][44];
    char *results[256];
    size_t n;
    fake_cu_hook hook;
    void *hook_ctx;
    char asked[FAKE_MAX][2][44];       /* (msg, pid) of each result call */
    size_t nasked;
    int busy_results;                  /* next N result calls answer AO_EBUSY */
    /* cron: scripted edges of one process */
    char cron_pid[44];
    char *cron_cursor[256];
    char *cron_node[256];
    size_t ncron;
    char cron_from[64][64];            /* from of each cron call ("" = none) */
    size_t ncron_calls;
};

static inline void fake_cu_init(fake_cu *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
}

static inline void fake_cu_free(fake_cu *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->results[i]);
    for (size_t i = 0; i < c->ncron; i++) {
        free(c->cron_cursor[i]);
        free(c->cron_node[i]);
    }
    pthread_mutex_destroy(&c->lock);
}

static inline void fake_cu_script(fake_cu *c, const char *msg, const char *json)
{
    pthread_mutex_lock(&c->lock);
    snprintf(c->keys[c->n], 44, "%s", msg);
    c->results[c->n++] = strdup(json);
    pthread_mutex_unlock(&c->lock);
}

static inline void fake_cu_cron_edge(fake_cu *c, const char *pid, const char *cursor, const char *node)
{
    pthread_mutex_lock(&c->lock);
    if (c->ncron >= 256) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    snprintf(c->cron_pid, 44, "%s", pid);
    c->cron_cursor[c->ncron] = strdup(cursor);
    c->cron_node[c->ncron++] = strdup(node);
    pthread_mutex_unlock(&c->lock);
}

static inline int fake_cu_result(void *ctx, const char *msg, const char *pid, ao_buf *out,
                          ao_error *err)
{
    fake_cu *c = ctx;
    pthread_mutex_lock(&c->lock);
    if (c->nasked < FAKE_MAX) {
        snprintf(c->asked[c->nasked][0], 44, "%s", msg);
        snprintf(c->asked[c->nasked][1], 44, "%s", pid);
        c->nasked++;
    }
    if (c->busy_results > 0) {
        c->busy_results--;
        pthread_mutex_unlock(&c->lock);
        return ao_err_set(err, AO_EBUSY, "Evaluation of process %s is in progress.", pid);
    }
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->keys[i], msg) == 0) {
            ao_buf_append_str(out, c->results[i]);
            pthread_mutex_unlock(&c->lock);
            return AO_OK;
        }
    fake_cu_hook hook = c->hook;
    pthread_mutex_unlock(&c->lock);
    if (hook && hook(c, msg, pid, out))
        return AO_OK;
    ao_buf_append_str(out, "{\"Messages\":[],\"Spawns\":[],\"Assignments\":[],\"Output\":\"\"}");
    return AO_OK;
}

static inline bool fake_cu_was_asked(fake_cu *c, const char *msg, const char *pid)
{
    bool r = false;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->nasked && !r; i++)
        r = !strcmp(c->asked[i][0], msg) && !strcmp(c->asked[i][1], pid);
    pthread_mutex_unlock(&c->lock);
    return r;
}

/* Edges after `from` (all when NULL), at most limit, pageInfo honest. */
static inline int fake_cu_cron(void *ctx, const char *pid, const char *from, size_t limit, ao_buf *out,
                        ao_error *err)
{
    fake_cu *c = ctx;
    (void)err;
    pthread_mutex_lock(&c->lock);
    if (c->ncron_calls < 64)
        snprintf(c->cron_from[c->ncron_calls], 64, "%s", from ? from : "");
    c->ncron_calls++;
    size_t start = 0;
    if (strcmp(pid, c->cron_pid) != 0)
        start = c->ncron;
    else if (from)
        for (size_t i = 0; i < c->ncron; i++)
            if (strcmp(c->cron_cursor[i], from) == 0)
                start = i + 1;
    size_t end = start + limit < c->ncron ? start + limit : c->ncron;
    ao_buf_printf(out, "{\"pageInfo\":{\"hasNextPage\":%s},\"edges\":[",
                  end < c->ncron ? "true" : "false");
    for (size_t i = start; i < end; i++)
        ao_buf_printf(out, "%s{\"cursor\":\"%s\",\"node\":%s}", i > start ? "," : "",
                      c->cron_cursor[i], c->cron_node[i]);
    ao_buf_append_str(out, "]}");
    pthread_mutex_unlock(&c->lock);
    return AO_OK;
}

static inline mu_cu_client fake_cu_client(fake_cu *c)
{
    mu_cu_client k = { c, fake_cu_result, fake_cu_cron };
    return k;
}

/* ---- fake data layer (put only) ---- */

typedef struct fake_data {
    pthread_mutex_t lock;
    fake_item items[256];
    size_t n;
} fake_data;

static inline void fake_data_init(fake_data *d)
{
    memset(d, 0, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
}

static inline void fake_data_free(fake_data *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->items[i].raw);
    pthread_mutex_destroy(&d->lock);
}

static inline int fake_data_put(void *ctx, const uint8_t *raw, size_t len, weave_put_result *res,
                         ao_error *err)
{
    fake_data *d = ctx;
    item it;
    int rc = item_verify(raw, len, &it, err);
    if (rc)
        return rc;
    char id[44];
    item_id_b64(&it, id);
    pthread_mutex_lock(&d->lock);
    bool is_new = true;
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->items[i].id, id))
            is_new = false;
    if (is_new && d->n < 256) {
        d->items[d->n].raw = malloc(len);
        memcpy(d->items[d->n].raw, raw, len);
        d->items[d->n].len = len;
        snprintf(d->items[d->n].id, 44, "%s", id);
        d->n++;
    }
    pthread_mutex_unlock(&d->lock);
    if (res) {
        memset(res, 0, sizeof *res);
        snprintf(res->id, sizeof res->id, "%s", id);
        res->is_new = is_new;
    }
    return AO_OK;
}

static inline weave_client fake_data_client(fake_data *d)
{
    weave_client w;
    memset(&w, 0, sizeof w);
    w.ctx = d;
    w.put = fake_data_put;
    return w;
}

#endif
