/*
 * push.c - what the Messenger Unit pushes: reads a result's outbox
 * (PROTOCOL.md §4.2) and builds the MU-signed items it asks for (§3):
 * Messages with rebuilt tags, Spawns as Process items followed by their
 * Spawned notice, Assignments; and runs one queued job (post, store in the
 * data layer, assign, or pull a result) against the SU, CU and data layer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "item/item.h"
#include "mu/mu_internal.h"

/* ---- process records (cached: a process's tags never change) ---- */

void mu_proc_info_free(mu_proc_info *p)
{
    free(p->module);
    free(p->scheduler);
    memset(p, 0, sizeof *p);
}

static int proc_copy(const mu_proc_info *src, mu_proc_info *dst)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst->pid, src->pid, sizeof dst->pid);
    dst->module = src->module ? strdup(src->module) : NULL;
    dst->scheduler = src->scheduler ? strdup(src->scheduler) : NULL;
    if ((src->module && !dst->module) || (src->scheduler && !dst->scheduler)) {
        mu_proc_info_free(dst);
        return AO_ENOMEM;
    }
    return AO_OK;
}

static const char *json_tag(const cJSON *tags, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "value");
        if (cJSON_IsString(n) && cJSON_IsString(v) && strcmp(n->valuestring, name) == 0)
            return v->valuestring;
    }
    return NULL;
}

int mu_proc_lookup(mu *m, const char *pid, mu_proc_info *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    if (strlen(pid) >= sizeof out->pid)
        return ao_err_set(err, AO_ENOTFOUND, "%s is not a process id", pid);
    pthread_mutex_lock(&m->cache_lock);
    for (size_t i = 0; i < m->nprocs; i++)
        if (strcmp(m->procs[i].pid, pid) == 0) {
            int rc = proc_copy(&m->procs[i], out);
            pthread_mutex_unlock(&m->cache_lock);
            return rc ? ao_err_set(err, rc, "out of memory") : AO_OK;
        }
    pthread_mutex_unlock(&m->cache_lock);

    ao_buf b;
    ao_buf_init(&b);
    int rc = m->opt.su.process(m->opt.su.ctx, pid, &b, err);
    if (rc) {
        ao_buf_free(&b);
        return rc;
    }
    cJSON *root = cJSON_ParseWithLength((const char *)b.data, b.len);
    ao_buf_free(&b);
    if (!root)
        return ao_err_set(err, AO_EFORMAT, "process record of %s is not JSON", pid);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(root, "tags");
    mu_proc_info p = {0};
    snprintf(p.pid, sizeof p.pid, "%s", pid);
    const char *mod = json_tag(tags, "Module"), *sch = json_tag(tags, "Scheduler");
    p.module = mod ? strdup(mod) : NULL;
    p.scheduler = sch ? strdup(sch) : NULL;
    cJSON_Delete(root);
    if ((mod && !p.module) || (sch && !p.scheduler)) {
        mu_proc_info_free(&p);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    rc = proc_copy(&p, out);
    pthread_mutex_lock(&m->cache_lock);
    if (m->nprocs == m->capprocs && m->capprocs < 65536) {
        size_t nc = m->capprocs ? m->capprocs * 2 : 64;
        mu_proc_info *v = realloc(m->procs, nc * sizeof *v);
        if (v) {
            m->procs = v;
            m->capprocs = nc;
        }
    }
    bool cached = false;
    if (m->nprocs < m->capprocs) {
        bool dup = false;
        for (size_t i = 0; i < m->nprocs && !dup; i++)
            dup = strcmp(m->procs[i].pid, pid) == 0;
        if (!dup) {
            m->procs[m->nprocs++] = p;
            cached = true;
        }
    }
    pthread_mutex_unlock(&m->cache_lock);
    if (!cached)
        mu_proc_info_free(&p);
    return rc ? ao_err_set(err, rc, "out of memory") : AO_OK;
}

/* ---- tag lists ---- */

typedef struct tagv {
    item_tag t[ITEM_MAX_TAGS + 16];
    size_t n;
    char *own[ITEM_MAX_TAGS + 16];   /* strings this list allocated */
    size_t nown;
    bool overflow;
} tagv;

static void tagv_add(tagv *v, const char *name, const char *value)
{
    if (v->n >= sizeof v->t / sizeof v->t[0]) {
        v->overflow = true;
        return;
    }
    v->t[v->n].name = (const uint8_t *)name;
    v->t[v->n].name_len = strlen(name);
    v->t[v->n].value = (const uint8_t *)value;
    v->t[v->n].value_len = strlen(value);
    v->n++;
}

static void tagv_free(tagv *v)
{
    for (size_t i = 0; i < v->nown; i++)
        free(v->own[i]);
    v->nown = 0;
}

static bool tag_is(const item_tag *t, const char *name)
{
    return t->name_len == strlen(name) && memcmp(t->name, name, t->name_len) == 0;
}

static bool name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return true;
    return false;
}

/* A JSON tag value as text: strings as is, numbers and booleans printed. */
static const char *json_value_text(tagv *v, const cJSON *val)
{
    if (cJSON_IsString(val))
        return val->valuestring;
    char *s = NULL;
    if (cJSON_IsBool(val))
        s = strdup(cJSON_IsTrue(val) ? "true" : "false");
    else if (cJSON_IsNumber(val)) {
        char tmp[64];
        double d = val->valuedouble;
        /* in range before the cast: a double beyond long long is UB to cast */
        if (d < 1e18 && d > -1e18 && d == (double)(long long)d)
            snprintf(tmp, sizeof tmp, "%lld", (long long)d);
        else   /* the shortest form that reads back the same, as JS prints */
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(tmp, sizeof tmp, "%.*g", prec, d);
                if (strtod(tmp, NULL) == d)
                    break;
            }
        s = strdup(tmp);
    }
    if (!s || v->nown >= sizeof v->own / sizeof v->own[0]) {
        free(s);
        return NULL;
    }
    v->own[v->nown++] = s;
    return s;
}

/* Copies the entry's JSON tags except those named in drop (NULL-ended).
 * Returns false if a tag is malformed. */
static bool tagv_copy_json(tagv *v, const cJSON *tags, const char *const *drop)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(t, "value");
        if (!cJSON_IsString(n))
            return false;
        if (drop && name_in(n->valuestring, drop))
            continue;
        const char *s = json_value_text(v, val);
        if (!s)
            return false;
        tagv_add(v, n->valuestring, s);
    }
    return true;
}

static const char *tagv_find(const tagv *v, const char *name)
{
    for (size_t i = 0; i < v->n; i++)
        if (tag_is(&v->t[i], name))
            return (const char *)v->t[i].value;
    return NULL;
}

/* ---- building items ---- */

static int decode_id(const char *s, uint8_t out[32])
{
    if (!s || strlen(s) != ITEM_ID_B64_LEN)
        return AO_EINVAL;
    ao_buf b;
    ao_buf_init(&b);
    int rc = ao_b64url_decode(s, strlen(s), &b, NULL);
    if (rc == AO_OK && b.len == 32)
        memcpy(out, b.data, 32);
    else
        rc = AO_EINVAL;
    ao_buf_free(&b);
    return rc;
}

/* Anchor bytes: 32 bytes as given, shorter left-padded with '0' (as aos
 * pads its Reference), 43 chars of base64url decoded; else none. */
static bool anchor_bytes(const cJSON *a, uint8_t out[32])
{
    if (!cJSON_IsString(a))
        return false;
    size_t n = strlen(a->valuestring);
    if (n == 0)
        return false;
    if (n <= 32) {
        memset(out, '0', 32);
        memcpy(out + 32 - n, a->valuestring, n);
        return true;
    }
    return decode_id(a->valuestring, out) == AO_OK;
}

/* Data of an entry: a string as is, anything else as JSON text; none or
 * empty is a single space, as the real MU signs it. */
static char *entry_data(const cJSON *e, size_t *len)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "Data");
    char *s;
    if (!d || cJSON_IsNull(d) || (cJSON_IsString(d) && !d->valuestring[0]))
        s = strdup(" ");
    else if (cJSON_IsString(d))
        s = strdup(d->valuestring);
    else
        s = cJSON_PrintUnformatted(d);
    *len = s ? strlen(s) : 0;
    return s;
}

static int sign_into(mu *m, const uint8_t *target, const uint8_t *anchor, const tagv *tv,
                     const char *data, size_t dlen, mu_job *j, ao_error *err)
{
    if (tv->overflow)
        return ao_err_set(err, AO_ELIMIT, "too many tags");
    item_fields f = { .target = target, .anchor = anchor, .tags = tv->t, .ntags = tv->n,
                      .data = (const uint8_t *)data, .data_len = dlen };
    ao_buf out;
    ao_buf_init(&out);
    uint8_t id[ITEM_ID_LEN];
    int rc = item_sign(m->wallet, &f, &out, id, err);
    if (rc) {
        ao_buf_free(&out);
        return rc;
    }
    char idb[ITEM_ID_B64_LEN + 1];
    ao_b64url_encode_to(id, ITEM_ID_LEN, idb);
    j->item_id = strdup(idb);
    j->raw = ao_buf_take(&out, &j->raw_len);
    if (!j->item_id || !j->raw)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    return AO_OK;
}

static int job_base(mu_job *j, const char *source, const char *kind, int64_t idx,
                    const char *process, const char *initial)
{
    memset(j, 0, sizeof *j);
    j->source = strdup(source);
    j->kind = strdup(kind);
    j->idx = idx;
    j->process = strdup(process);
    j->initial = initial ? strdup(initial) : NULL;
    if (!j->source || !j->kind || !j->process || (initial && !j->initial))
        return AO_ENOMEM;
    return AO_OK;
}

/* An entry that cannot be built becomes a dead letter row, never lost. */
static int push_dead(mu_jobs *out, mu_job *j, const ao_error *why)
{
    free(j->raw);
    j->raw = NULL;
    j->raw_len = 0;
    j->state = MU_ST_DEAD;
    j->reason = strdup(why->msg[0] ? why->msg : ao_strerror(why->code));
    ao_log(AO_LOG_WARN, MU_UNIT, "dead letter %s/%s/%lld of %s: %s", j->source, j->kind,
           (long long)j->idx, j->process, why->msg);
    ao_metric_add(ao_metric_get("ao_mu_dead_letters_total",
                                "Pushes given up (dead letters)", false), 1);
    return mu_jobs_push(out, j);
}

static const char *const MSG_DROP[] = { "Data-Protocol", "Type", "From-Process", "From-Module",
                                        "Assignments", NULL };
static const char *const SPAWN_DROP[] = { "Data-Protocol", "Type", "From-Process",
                                          "From-Module", "Pushed-For", NULL };
static const char *const NOTICE_DROP[] = { "Data-Protocol", "Type", "Variant", "Action",
                                           "Process", "From-Process", NULL };

static void count_dropped(const char *pid, const char *source, const char *what, size_t i)
{
    ao_log(AO_LOG_WARN, MU_UNIT, "dropped %s %zu of result %s (process %s): %s", "message",
           i, source, pid, what);
    ao_metric_add(ao_metric_get("ao_mu_dropped_total",
                                "Outbox entries dropped (no Target or Tags)", false), 1);
}

static int build_message(mu *m, const cJSON *e, size_t i, const char *source, const char *pid,
                         const mu_proc_info *pi, const char *initial, mu_jobs *out)
{
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(e, "Target");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(e, "Tags");
    uint8_t tbytes[32], abytes[32];
    if (!cJSON_IsString(target) || !cJSON_IsArray(tags)) {
        count_dropped(pid, source, "no Target or Tags", i);
        return AO_OK;
    }
    if (decode_id(target->valuestring, tbytes) != AO_OK) {
        count_dropped(pid, source, "Target is not a 43-character id", i);
        return AO_OK;
    }
    mu_job j;
    if (job_base(&j, source, "message", (int64_t)i, pid, initial) ||
        !(j.target = strdup(target->valuestring))) {
        mu_job_free(&j);
        return AO_ENOMEM;
    }
    j.wait = 1;
    ao_error e2 = {0};
    tagv tv = {0};
    int rc = AO_OK;
    if (!tagv_copy_json(&tv, tags, MSG_DROP)) {
        ao_err_set(&e2, AO_EINVAL, "malformed tag in outbox message");
        rc = AO_EINVAL;
    }
    const char *assignments = json_tag(tags, "Assignments");
    tagv_add(&tv, "Data-Protocol", "ao");
    tagv_add(&tv, "Type", "Message");
    tagv_add(&tv, "From-Process", pid);
    tagv_add(&tv, "From-Module", pi->module ? pi->module : "");
    if (initial)
        tagv_add(&tv, "Pushed-For", initial);
    if (assignments && !(j.arg = strdup(assignments))) {
        tagv_free(&tv);
        mu_job_free(&j);
        return AO_ENOMEM;
    }
    size_t dlen;
    char *data = entry_data(e, &dlen);
    if (!data) {
        tagv_free(&tv);
        mu_job_free(&j);
        return AO_ENOMEM;
    }
    bool has_anchor = anchor_bytes(cJSON_GetObjectItemCaseSensitive(e, "Anchor"), abytes);
    if (rc == AO_OK)
        rc = sign_into(m, tbytes, has_anchor ? abytes : NULL, &tv, data, dlen, &j, &e2);
    free(data);
    tagv_free(&tv);
    if (rc == AO_ENOMEM) {
        mu_job_free(&j);
        return rc;
    }
    if (rc)
        return push_dead(out, &j, &e2);
    return mu_jobs_push(out, &j);
}

static int build_spawn(mu *m, const cJSON *e, size_t i, const char *source, const char *pid,
                       const mu_proc_info *pi, const char *initial, mu_jobs *out)
{
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(e, "Tags");
    uint8_t abytes[32];
    if (!cJSON_IsArray(tags)) {
        count_dropped(pid, source, "spawn without Tags", i);
        return AO_OK;
    }
    mu_job sp, nt;
    int rc = job_base(&sp, source, "spawn", (int64_t)i, pid, initial);
    if (rc == AO_OK)
        rc = job_base(&nt, source, "spawned", (int64_t)i, pid, initial);
    else
        memset(&nt, 0, sizeof nt);
    if (rc) {
        mu_job_free(&sp);
        mu_job_free(&nt);
        return AO_ENOMEM;
    }
    nt.wait = 1;
    nt.target = strdup(pid);
    ao_error e2 = {0};
    tagv tv = {0};
    if (!tagv_copy_json(&tv, tags, SPAWN_DROP))
        rc = ao_err_set(&e2, AO_EINVAL, "malformed tag in outbox spawn");
    /* copied: tv's own strings are freed before the notice is built */
    char *variant = strdup(tagv_find(&tv, "Variant") ? tagv_find(&tv, "Variant") : "ao.TN.1");
    if (!tagv_find(&tv, "Variant"))
        tagv_add(&tv, "Variant", "ao.TN.1");
    tagv_add(&tv, "Data-Protocol", "ao");
    tagv_add(&tv, "Type", "Process");
    tagv_add(&tv, "From-Process", pid);
    if (pi->module)
        tagv_add(&tv, "From-Module", pi->module);
    if (initial)
        tagv_add(&tv, "Pushed-For", initial);
    if (!tagv_find(&tv, "Scheduler") && pi->scheduler)
        tagv_add(&tv, "Scheduler", pi->scheduler);
    size_t dlen;
    char *data = entry_data(e, &dlen);
    if (!data || !nt.target || !variant) {
        free(variant);
        free(data);
        tagv_free(&tv);
        mu_job_free(&sp);
        mu_job_free(&nt);
        return AO_ENOMEM;
    }
    bool has_anchor = anchor_bytes(cJSON_GetObjectItemCaseSensitive(e, "Anchor"), abytes);
    if (rc == AO_OK)
        rc = sign_into(m, NULL, has_anchor ? abytes : NULL, &tv, data, dlen, &sp, &e2);
    free(data);
    tagv_free(&tv);

    /* The notice (as the real MU builds it): the spawn's tags but its
     * Data-Protocol, Variant, Type (and any Process, Action, From-Process),
     * then Data-Protocol, Type, Process=<new pid>, Action=Spawned, Variant,
     * From-Process=P (the CU then sets From = P). */
    if (rc == AO_OK) {
        tagv nv = {0};
        uint8_t pbytes[32];
        if (!tagv_copy_json(&nv, tags, NOTICE_DROP))
            rc = ao_err_set(&e2, AO_EINVAL, "malformed tag in outbox spawn");
        tagv_add(&nv, "Data-Protocol", "ao");
        tagv_add(&nv, "Type", "Message");
        tagv_add(&nv, "Process", sp.item_id);
        tagv_add(&nv, "Action", "Spawned");
        tagv_add(&nv, "Variant", variant);
        tagv_add(&nv, "From-Process", pid);
        if (rc == AO_OK && decode_id(pid, pbytes) != AO_OK)
            rc = ao_err_set(&e2, AO_EINVAL, "parent %s is not an id", pid);
        if (rc == AO_OK)
            rc = sign_into(m, pbytes, NULL, &nv, " ", 1, &nt, &e2);
        tagv_free(&nv);
    }
    free(variant);
    if (rc == AO_ENOMEM) {
        mu_job_free(&sp);
        mu_job_free(&nt);
        return rc;
    }
    if (rc) {
        mu_job_free(&nt);
        return push_dead(out, &sp, &e2);
    }
    rc = mu_jobs_push(out, &sp);
    if (rc) {
        mu_job_free(&nt);
        return rc;
    }
    return mu_jobs_push(out, &nt);
}

/* Assign jobs of one {Processes,Message,BaseLayer?,Exclude?} entry. */
static int build_assign(const cJSON *e, size_t i, const char *source, const char *pid,
                        const char *initial, mu_jobs *out)
{
    const cJSON *procs = cJSON_GetObjectItemCaseSensitive(e, "Processes");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "Message");
    if (!cJSON_IsArray(procs) || !cJSON_IsString(msg)) {
        count_dropped(pid, source, "assignment without Processes or Message", i);
        return AO_OK;
    }
    const cJSON *bl = cJSON_GetObjectItemCaseSensitive(e, "BaseLayer");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(e, "Exclude");
    ao_buf csv;
    ao_buf_init(&csv);
    if (cJSON_IsString(ex))
        ao_buf_append_str(&csv, ex->valuestring);
    else if (cJSON_IsArray(ex)) {
        const cJSON *x;
        cJSON_ArrayForEach(x, ex) if (cJSON_IsString(x)) {
            if (csv.len)
                ao_buf_append_byte(&csv, ',');
            ao_buf_append_str(&csv, x->valuestring);
        }
    }
    /* Distinct per parent process: two processes may assign alike. */
    char src[256];
    snprintf(src, sizeof src, "%s@%s", source, pid);
    const cJSON *p;
    int rc = AO_OK;
    cJSON_ArrayForEach(p, procs) {
        if (!cJSON_IsString(p))
            continue;
        mu_job j;
        rc = job_base(&j, src, "assign", (int64_t)i, p->valuestring, initial);
        if (rc == AO_OK) {
            j.item_id = strdup(msg->valuestring);
            j.flag = cJSON_IsTrue(bl) || (cJSON_IsString(bl) && strcmp(bl->valuestring, "true") == 0);
            if (csv.len)
                j.arg = strndup((const char *)csv.data, csv.len);
            if (!j.item_id || (csv.len && !j.arg))
                rc = AO_ENOMEM;
        }
        if (rc) {
            mu_job_free(&j);
            break;
        }
        rc = mu_jobs_push(out, &j);
        if (rc)
            break;
    }
    ao_buf_free(&csv);
    return rc;
}

int mu_outbox_jobs(mu *m, const char *json, size_t len, const char *source, const char *pid,
                   const char *initial, mu_jobs *out, ao_error *err)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return ao_err_set(err, AO_EFORMAT, "result of %s on %s is not a JSON object", source,
                          pid);
    }
    return mu_outbox_jobs_json(m, root, source, pid, initial, out, err);
}

int mu_outbox_jobs_json(mu *m, cJSON *root, const char *source, const char *pid,
                        const char *initial, mu_jobs *out, ao_error *err)
{
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "Messages");
    const cJSON *spawns = cJSON_GetObjectItemCaseSensitive(root, "Spawns");
    const cJSON *assigns = cJSON_GetObjectItemCaseSensitive(root, "Assignments");
    int rc = AO_OK;
    mu_proc_info pi = {0};
    if (cJSON_GetArraySize(msgs) + cJSON_GetArraySize(spawns) > 0) {
        rc = mu_proc_lookup(m, pid, &pi, err);
        if (rc == AO_ENOTFOUND) {
            /* Not a process an SU knows: push without From-Module. */
            ao_log(AO_LOG_WARN, MU_UNIT, "no process record for %s: %s", pid,
                   err ? err->msg : "");
            ao_err_clear(err);
            rc = AO_OK;
        }
    }
    /* Spawns first: a message of this result may target a child. */
    size_t i = 0;
    const cJSON *e;
    if (rc == AO_OK && cJSON_IsArray(spawns))
        cJSON_ArrayForEach(e, spawns) {
            if ((rc = build_spawn(m, e, i++, source, pid, &pi, initial, out)))
                break;
        }
    i = 0;
    if (rc == AO_OK && cJSON_IsArray(msgs))
        cJSON_ArrayForEach(e, msgs) {
            if ((rc = build_message(m, e, i++, source, pid, &pi, initial, out)))
                break;
        }
    i = 0;
    if (rc == AO_OK && cJSON_IsArray(assigns))
        cJSON_ArrayForEach(e, assigns) {
            if ((rc = build_assign(e, i++, source, pid, initial, out)))
                break;
        }
    mu_proc_info_free(&pi);
    cJSON_Delete(root);
    if (rc && rc != AO_ENOMEM && err && !err->code)
        ao_err_set(err, rc, "building the outbox of %s failed", source);
    if (rc == AO_ENOMEM)
        ao_err_set(err, rc, "out of memory building the outbox of %s", source);
    return rc;
}

/* ---- running one job ---- */

/* Assign jobs for the Assignments tag of an outbox message (kept in
 * j->arg: a comma list or a JSON array of process ids). */
static int tag_assign_jobs(const mu_job *j, mu_jobs *next)
{
    if (!j->arg)
        return AO_OK;
    char *v = strdup(j->arg);
    if (!v)
        return AO_ENOMEM;
    int rc = AO_OK;
    cJSON *arr = NULL;
    if (v[0] == '[')
        arr = cJSON_Parse(v);
    size_t k = 0;
    char *save = NULL;
    const cJSON *a = arr ? arr->child : NULL;
    char *tok = arr ? NULL : strtok_r(v, ", ", &save);
    for (;;) {
        const char *pid = NULL;
        if (arr) {
            if (!a)
                break;
            pid = cJSON_IsString(a) ? a->valuestring : NULL;
            a = a->next;
        } else {
            if (!tok)
                break;
            pid = tok;
            tok = strtok_r(NULL, ", ", &save);
        }
        if (!pid || !*pid)
            continue;
        mu_job n;
        rc = job_base(&n, j->item_id, "assign", (int64_t)k++, pid, j->initial);
        if (rc == AO_OK && !(n.item_id = strdup(j->item_id)))
            rc = AO_ENOMEM;
        if (rc) {
            mu_job_free(&n);
            break;
        }
        if ((rc = mu_jobs_push(next, &n)))
            break;
    }
    cJSON_Delete(arr);
    free(v);
    return rc;
}

static void count(const char *name, const char *help)
{
    ao_metric_add(ao_metric_get(name, help, false), 1);
}

static int run_crank(mu *m, const mu_job *j, mu_jobs *next, ao_error *err)
{
    ao_buf b;
    ao_buf_init(&b);
    int rc = m->opt.cu.result(m->opt.cu.ctx, j->item_id, j->process, &b, err);
    if (rc == AO_OK)
        rc = mu_outbox_jobs(m, (const char *)b.data, b.len, j->item_id, j->process, j->initial,
                            next, err);
    ao_buf_free(&b);
    if (rc == AO_OK) {
        count("ao_mu_cranks_total", "Results pulled from the CU and pushed");
        ao_log(AO_LOG_DEBUG, MU_UNIT, "cranked %s on %s: %zu pushes", j->item_id, j->process,
               next->n);
    }
    return rc;
}

static int post_su(mu *m, const mu_job *j, ao_error *err)
{
    ao_buf b;
    ao_buf_init(&b);
    int rc = m->opt.su.post(m->opt.su.ctx, j->raw, j->raw_len, &b, err);
    ao_buf_free(&b);
    return rc;
}

/* An item taken in by POST / whose crank was never queued (the MU died
 * after the SU's answer, or the SU could not be reached then): posted to
 * the SU again (a scheduled one keeps its slot), or stored if its target
 * is a wallet; then its crank. */
static int run_intake(mu *m, const mu_job *j, mu_jobs *next, ao_error *err)
{
    int rc = post_su(m, j, err);
    if (rc == AO_ENOTFOUND && j->target) {
        mu_proc_info pi;
        ao_error e2;
        int r2 = mu_proc_lookup(m, j->target, &pi, &e2);
        if (r2 == AO_OK)
            mu_proc_info_free(&pi);
        if (r2 != AO_ENOTFOUND)
            return rc;
        ao_err_clear(err);
        weave_put_result res;
        return m->opt.data.put(m->opt.data.ctx, j->raw, j->raw_len, &res, err);
    }
    if (rc)
        return rc;
    count("ao_mu_intakes_resumed_total", "Items taken in whose crank was queued after a restart");
    ao_log(AO_LOG_INFO, MU_UNIT, "resumed the intake of %s on %s", j->item_id, j->process);
    return mu_job_crank(next, j->item_id, j->process, j->initial);
}

int mu_job_run(mu *m, const mu_job *j, mu_jobs *next, ao_error *err)
{
    const char *k = j->kind;
    int rc;
    if (strcmp(k, "crank") == 0)
        return run_crank(m, j, next, err);
    if (strcmp(k, "assign") == 0) {
        ao_buf b;
        ao_buf_init(&b);
        rc = m->opt.su.assign(m->opt.su.ctx, j->process, j->item_id, j->flag != 0, j->arg, &b,
                              err);
        ao_buf_free(&b);
        if (rc == AO_OK) {
            count("ao_mu_pushes_total", "Items pushed to an SU (messages, spawns, assignments)");
            ao_log(AO_LOG_DEBUG, MU_UNIT, "assigned %s to %s", j->item_id, j->process);
            rc = mu_job_crank(next, j->item_id, j->process, j->initial);
        }
        return rc;
    }
    if (!j->raw)
        return ao_err_set(err, AO_EINVAL, "job %s/%s has no signed bytes", j->source, k);
    if (strcmp(k, "intake") == 0)
        return run_intake(m, j, next, err);
    if (strcmp(k, "message") == 0) {
        mu_proc_info pi;
        rc = mu_proc_lookup(m, j->target, &pi, err);
        if (rc == AO_ENOTFOUND) {
            /* A wallet: store the message in the data layer. */
            ao_err_clear(err);
            weave_put_result res;
            rc = m->opt.data.put(m->opt.data.ctx, j->raw, j->raw_len, &res, err);
            if (rc == AO_OK) {
                count("ao_mu_wallet_messages_total", "Pushed messages to wallets stored");
                ao_log(AO_LOG_DEBUG, MU_UNIT, "stored %s to wallet %s", j->item_id, j->target);
            }
            return rc;
        }
        if (rc)
            return rc;
        mu_proc_info_free(&pi);
        rc = post_su(m, j, err);
        if (rc == AO_OK) {
            count("ao_mu_pushes_total", "Items pushed to an SU (messages, spawns, assignments)");
            ao_log(AO_LOG_DEBUG, MU_UNIT, "pushed message %s from %s to %s", j->item_id,
                   j->process, j->target);
            rc = mu_job_crank(next, j->item_id, j->target, j->initial);
            if (rc == AO_OK)
                rc = tag_assign_jobs(j, next);
        }
        return rc;
    }
    if (strcmp(k, "spawn") == 0 || strcmp(k, "spawned") == 0) {
        rc = post_su(m, j, err);
        if (rc)
            return rc;
        count("ao_mu_pushes_total", "Items pushed to an SU (messages, spawns, assignments)");
        bool spawn = k[5] == 0;
        ao_log(AO_LOG_DEBUG, MU_UNIT, "pushed %s %s from %s", spawn ? "spawn" : "notice",
               j->item_id, j->process);
        /* A child's first result; the notice's result on the parent. */
        return spawn ? mu_job_crank(next, j->item_id, j->item_id, j->initial)
                     : mu_job_crank(next, j->item_id, j->target, j->initial);
    }
    return ao_err_set(err, AO_EINVAL, "unknown job kind %s", k);
}
