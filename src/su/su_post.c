/*
 * su_post.c - POST / and assign: the checks on a posted Process or Message
 * item, de-duplication (by id, by (process, tx) for assignments, by deep
 * hash for MU-pushed items), the slot (nonce, timestamp, block height,
 * hash chain) made under the process lock, the signed Assignment item
 * (PROTOCOL.md §2.3 tag order), and the wait for durability (su.db commit
 * by the writer, then both items in the data layer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "su/su_internal.h"

static bool tag_is(const item_tag *t, const char *name)
{
    size_t n = strlen(name);
    return t->name_len == n && memcmp(t->name, name, n) == 0;
}

static bool val_is(const item_tag *t, const char *v)
{
    size_t n = strlen(v);
    return t->value_len == n && memcmp(t->value, v, n) == 0;
}

static bool ends_link(const uint8_t *p, size_t n)
{
    return n >= 5 && memcmp(p + n - 5, "+link", 5) == 0;
}

static void ack_fill(su_ack *ack, const char *id, const char *assignment, const char *process,
                     int64_t ts, uint64_t nonce, bool dup)
{
    if (!ack)
        return;
    memset(ack, 0, sizeof *ack);
    snprintf(ack->id, sizeof ack->id, "%s", id);
    snprintf(ack->assignment, sizeof ack->assignment, "%s", assignment);
    snprintf(ack->process, sizeof ack->process, "%s", process);
    ack->timestamp = ts;
    ack->nonce = nonce;
    ack->duplicate = dup;
}

/* Sign the Assignment item of t into t->araw and set t->assignment. */
static int build_assignment(su *s, su_ticket *t, char **excl, size_t nexcl, ao_error *err)
{
    item_tag tags[ITEM_MAX_TAGS];
    char nonce[24], height[24], ts[24];
    snprintf(nonce, sizeof nonce, "%llu", (unsigned long long)t->nonce);
    snprintf(height, sizeof height, "%012lld", (long long)t->height);
    snprintf(ts, sizeof ts, "%lld", (long long)t->timestamp);
    size_t n = 0;
#define TAG(nm, v) do { tags[n].name = (const uint8_t *)(nm); tags[n].name_len = strlen(nm); \
        tags[n].value = (const uint8_t *)(v); tags[n].value_len = strlen(v); n++; } while (0)
    TAG("Process", t->process);
    TAG("Epoch", "0");
    TAG("Nonce", nonce);
    TAG("Hash-Chain", t->hash_chain);
    TAG("Block-Height", height);
    TAG("Timestamp", ts);
    TAG("Data-Protocol", "ao");
    TAG("Type", "Assignment");
    TAG("Variant", "ao.TN.1");
    if (t->kind != SU_KIND_PROCESS)
        TAG("Message", t->message);
    for (size_t i = 0; i < nexcl; i++)
        TAG("Exclude", excl[i]);
#undef TAG
    item_fields f = { NULL, NULL, tags, n, NULL, 0 };
    uint8_t id[ITEM_ID_LEN];
    int r = item_sign(s->wallet, &f, &t->araw, id, err);
    if (r)
        return ao_err_wrap(err, "su: signing the assignment");
    ao_b64url_encode_to(id, ITEM_ID_LEN, t->assignment);
    return AO_OK;
}

/* The slot of (process, id) — or of deep hash dh — when already
 * scheduled: waits for an in-flight one, repairs a pending upload.
 * Returns AO_OK with *row set, AO_ENOTFOUND when new (proc lock still
 * held), AO_EBUSY when the caller must start over (lock released). Any
 * other code: lock released, error. */
static int find_existing(su *s, su_proc *p, const char *id, const char *dh, su_row *row,
                         ao_error *err)
{
    for (su_ticket *t = p->inflight; t; t = t->pnext)
        if (strcmp(t->message, id) == 0 || (dh && t->dh[0] && strcmp(t->dh, dh) == 0)) {
            atomic_fetch_add(&t->refs, 1);
            pthread_mutex_unlock(&p->mu);
            pthread_mutex_lock(&s->qmu);
            while (t->state == SU_T_QUEUED || t->state == SU_T_COMMITTED)
                pthread_cond_wait(&s->dcv, &s->qmu);
            pthread_mutex_unlock(&s->qmu);
            su_ticket_unref(t);
            return AO_EBUSY;
        }
    su_reader *rd = su_reader_take(s);
    int r = su_lookup(s, rd, p->id, id, NULL, row, err);
    if (r == AO_ENOTFOUND && dh)
        r = su_lookup(s, rd, p->id, NULL, dh, row, err);
    if (r == AO_OK)
        r = su_repair_one(s, rd, row->assignment, err);
    su_reader_give(s, rd);
    if (r == AO_ENOTFOUND)
        return r;
    pthread_mutex_unlock(&p->mu);
    return r;
}

static void write_body(ao_buf *body, int64_t ts, const char *id)
{
    if (body)
        ao_buf_printf(body, "{\"timestamp\":%lld,\"id\":\"%s\"}", (long long)ts, id);
}

/* Schedule message `id` (kind) on process p: the heart of POST / and assign. */
static int schedule(su *s, su_proc *p, int kind, const char *id, const char *dh,
                    const uint8_t *raw, size_t len, char **excl, size_t nexcl,
                    su_ack *ack, ao_buf *body, ao_error *err)
{
    su_row row;
    int r;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (kind != SU_KIND_PROCESS && p->next_nonce == 0) {
            pthread_mutex_unlock(&p->mu);
            return ao_err_set(err, AO_ENOTFOUND, "Process not found");
        }
        if (kind == SU_KIND_PROCESS && p->next_nonce == 0)
            break;   /* new process: nothing to find */
        r = find_existing(s, p, id, dh, &row, err);
        if (r == AO_EBUSY)
            continue;
        if (r == AO_ENOTFOUND)
            break;
        if (r)
            return r;
        ack_fill(ack, row.message, row.assignment, row.process, row.timestamp, row.nonce, true);
        write_body(body, row.timestamp, kind == SU_KIND_ASSIGN ? row.assignment : row.message);
        return AO_OK;
    }
    /* a new slot, under p->mu */
    su_ticket *t = calloc(1, sizeof *t);
    if (!t) {
        pthread_mutex_unlock(&p->mu);
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    }
    ao_buf_init(&t->araw);
    atomic_init(&t->refs, 1);
    t->proc = p;
    t->gen = atomic_load(&p->gen);
    t->kind = kind;
    t->nonce = p->next_nonce;
    int64_t now = su_now(s);
    t->timestamp = now > p->last_ts ? now : p->last_ts + 1;
    t->height = su_block_height(s);
    snprintf(t->process, sizeof t->process, "%s", p->id);
    snprintf(t->message, sizeof t->message, "%s", id);
    if (dh)
        snprintf(t->dh, sizeof t->dh, "%s", dh);
    t->item_raw = raw;
    t->item_len = len;
    uint8_t chain[32];
    if (t->nonce == 0) {
        uint8_t pid[32] = { 0 };
        ao_buf b;
        ao_buf_init(&b);
        if (ao_b64url_decode(p->id, strlen(p->id), &b, NULL) == AO_OK && b.len == 32)
            memcpy(pid, b.data, 32);
        ao_buf_free(&b);
        crypto_sha256(pid, 32, chain);
    } else {
        uint8_t cat[64];
        memcpy(cat, p->last_assignment, 32);
        memcpy(cat + 32, p->last_chain, 32);
        crypto_sha256(cat, 64, chain);
    }
    ao_b64url_encode_to(chain, 32, t->hash_chain);
    r = build_assignment(s, t, excl, nexcl, err);
    if (r) {
        pthread_mutex_unlock(&p->mu);
        su_ticket_unref(t);
        return r;
    }
    p->next_nonce++;
    p->last_ts = t->timestamp;
    memcpy(p->last_chain, chain, 32);
    {
        ao_buf b;
        ao_buf_init(&b);
        if (ao_b64url_decode(t->assignment, SU_ID_LEN, &b, NULL) == AO_OK && b.len == 32)
            memcpy(p->last_assignment, b.data, 32);
        ao_buf_free(&b);
    }
    t->pnext = p->inflight;
    if (p->inflight)
        p->inflight->pprev = t;
    p->inflight = t;
    su_enqueue(s, t);
    pthread_mutex_unlock(&p->mu);

    int st = su_wait_commit(s, t);
    if (st == SU_T_COMMITTED) {
        const uint8_t *raws[2] = { t->araw.data, raw };
        size_t lens[2] = { t->araw.len, len };
        r = s->data.put_many(s->data.ctx, raws, lens, raw ? 2 : 1, NULL, err);
        if (r == AO_OK) {
            su_mark_uploaded(s, t->assignment);
        } else {
            ao_err_wrap(err, "su: storing in the data layer");
            ao_log(AO_LOG_WARN, "su", "%s/%llu committed, upload failed (kept pending): %s",
                   t->process, (unsigned long long)t->nonce, err ? err->msg : "");
            r = AO_EIO;
            su_upload_failed(s);
        }
    } else {
        r = ao_err_set(err, AO_EIO, "su: the commit of this assignment failed");
    }
    if (r == AO_OK) {
        ack_fill(ack, id, t->assignment, t->process, t->timestamp, t->nonce, false);
        write_body(body, t->timestamp, kind == SU_KIND_ASSIGN ? t->assignment : id);
    }
    su_ticket_set_state(s, t, st == SU_T_COMMITTED ? SU_T_DONE : SU_T_FAILED);
    pthread_mutex_lock(&p->mu);
    if (t->pprev)
        t->pprev->pnext = t->pnext;
    else
        p->inflight = t->pnext;
    if (t->pnext)
        t->pnext->pprev = t->pprev;
    pthread_mutex_unlock(&p->mu);
    su_ticket_unref(t);
    return r;
}

int su_post_item(su *s, const uint8_t *raw, size_t len, su_ack *ack, ao_buf *body,
                 ao_error *err)
{
    if (!raw || !len)
        return ao_err_set(err, AO_EFORMAT, "su: empty body");
    item *it = malloc(sizeof *it);
    if (!it)
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    int r = item_verify(raw, len, it, err);
    if (r) {
        free(it);
        return r;
    }
    const item_tag *dp = NULL, *type = NULL;
    bool has_module = false, has_from = false;
    const item_tag *sched = NULL;
    for (size_t i = 0; i < it->ntags; i++) {
        const item_tag *t = &it->tags[i];
        if (ends_link(t->name, t->name_len) || ends_link(t->value, t->value_len)) {
            free(it);
            return ao_err_set(err, AO_EINVAL, "tags ending in +link are not allowed");
        }
        if (!dp && tag_is(t, "Data-Protocol"))
            dp = t;
        else if (!type && (tag_is(t, "Type") || tag_is(t, "type")))
            type = t;
        else if (tag_is(t, "Module"))
            has_module = true;
        else if (!sched && tag_is(t, "Scheduler"))
            sched = t;
        else if (tag_is(t, "From-Process"))
            has_from = true;
    }
    char id[SU_ID_LEN + 1];
    item_id_b64(it, id);
    r = AO_OK;
    if (!dp || !val_is(dp, "ao"))
        r = ao_err_set(err, AO_EINVAL, "Data-Protocol tag must be ao");
    else if (!type || (!val_is(type, "Process") && !val_is(type, "Message")))
        r = ao_err_set(err, AO_EINVAL, "Type tag must be Process or Message");
    if (r) {
        free(it);
        return r;
    }
    bool is_process = val_is(type, "Process");
    su_proc *p = NULL;
    char dhs[65] = "";
    if (is_process) {
        if (!has_module)
            r = ao_err_set(err, AO_EINVAL, "a Process needs a Module tag");
        else if (!sched || sched->value_len != strlen(s->address) ||
                 memcmp(sched->value, s->address, sched->value_len) != 0)
            r = ao_err_set(err, AO_EINVAL, "the Scheduler tag does not name this SU (%s)",
                           s->address);
        else if (!(p = su_proc_get_or_add(s, id, err)))
            r = AO_ENOMEM;
    } else {
        if (!it->target) {
            r = ao_err_set(err, AO_EINVAL, "a Message needs a target");
        } else {
            char pid[SU_ID_LEN + 1];
            ao_b64url_encode_to(it->target, 32, pid);
            p = su_proc_find(s, pid);
            if (!p)
                r = ao_err_set(err, AO_ENOTFOUND, "Process not found");
        }
        if (!r && has_from) {
            uint8_t dh[ITEM_DH_LEN];
            item_deep_hash(it, dh);
            ao_b64url_encode_to(dh, ITEM_DH_LEN, dhs);
        }
    }
    free(it);
    if (r)
        return r;
    return schedule(s, p, is_process ? SU_KIND_PROCESS : SU_KIND_MESSAGE, id,
                    dhs[0] ? dhs : NULL, raw, len, NULL, 0, ack, body, err);
}

static bool is_id(const char *s)
{
    if (!s || strlen(s) != SU_ID_LEN)
        return false;
    ao_buf b;
    ao_buf_init(&b);
    bool ok = ao_b64url_decode(s, SU_ID_LEN, &b, NULL) == AO_OK && b.len == 32;
    ao_buf_free(&b);
    return ok;
}

int su_assign(su *s, const char *process_id, const char *tx_id, bool base_layer,
              const char *exclude_csv, su_ack *ack, ao_buf *body, ao_error *err)
{
    if (!is_id(process_id))
        return ao_err_set(err, AO_EINVAL, "invalid process-id");
    if (!is_id(tx_id))
        return ao_err_set(err, AO_EINVAL, "invalid assign: the id must be 43 characters of base64url");
    su_proc *p = su_proc_find(s, process_id);
    if (!p)
        return ao_err_set(err, AO_ENOTFOUND, "Process not found");
    weave_item_meta meta;
    memset(&meta, 0, sizeof meta);
    int r;
    if (s->data.get_meta)
        r = s->data.get_meta(s->data.ctx, tx_id, 0, &meta, err);
    else {
        ao_buf b;
        ao_buf_init(&b);
        r = s->data.get(s->data.ctx, tx_id, &b, err);
        ao_buf_free(&b);
        meta.block_sealed = true;
    }
    if (r) {
        if (s->data.get_meta)
            weave_meta_free(&meta);
        if (r == AO_ENOTFOUND)
            return ao_err_set(err, AO_ENOTFOUND, "assigned transaction %s not found", tx_id);
        return r;
    }
    bool sealed = meta.block_sealed;
    if (s->data.get_meta)
        weave_meta_free(&meta);
    if (base_layer && !sealed)
        return ao_err_set(err, AO_EINVAL, "base-layer transaction %s is not in a sealed block yet",
                          tx_id);
    /* the Exclude values */
    char *copy = NULL;
    char *excl[ITEM_MAX_TAGS];
    size_t nexcl = 0;
    if (exclude_csv && *exclude_csv) {
        copy = strdup(exclude_csv);
        if (!copy)
            return ao_err_set(err, AO_ENOMEM, "su: out of memory");
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (nexcl >= ITEM_MAX_TAGS - 10) {
                free(copy);
                return ao_err_set(err, AO_ELIMIT, "too many exclude values");
            }
            excl[nexcl++] = tok;
        }
    }
    r = schedule(s, p, SU_KIND_ASSIGN, tx_id, NULL, NULL, 0, excl, nexcl, ack, body, err);
    free(copy);
    return r;
}
