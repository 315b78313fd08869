/*
 * su_log.c - an SU's read routes rebuilt from the data layer alone (su.h,
 * "su_log"): the schedule of a process is read back from the signed
 * Assignment items its scheduler put in the data layer, checked (nonces,
 * hash chain, timestamps, one assignment per nonce), cached per process
 * with the cursor of the last row seen, and written as the SU's own JSON
 * through su_json.c, so a Compute Unit can read a schedule without the SU.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "su/su_internal.h"

#define KIND_UNKNOWN (-1)   /* a Message slot not yet told from an assign */

typedef struct log_proc {
    struct log_proc *hnext;           /* hash chain of the su_log's table */
    char id[SU_ID_LEN + 1];
    char scheduler[AO_ADDRESS_MAX];   /* the Scheduler tag of the process */
    pthread_mutex_t mu;               /* guards everything below */
    su_row *rows;                     /* the verified prefix: rows[i].nonce == i */
    bool *checked;                    /* rows[i]'s item signature checked */
    size_t n, cap;
    su_row *held;                     /* slots after a gap, sorted by nonce */
    size_t nheld, capheld;
    uint32_t *index;                  /* message id -> row index + 1 */
    size_t icap;                      /* slots in index (power of 2) */
    char cursor[WEAVE_CURSOR_MAX];    /* last row seen; "" = none yet */
    int fail;                         /* kept AO_EFORMAT, 0 = none */
    char fail_msg[AO_ERRMSG_MAX];
} log_proc;

struct su_log {
    weave_client data;
    pthread_mutex_t mu;               /* guards the table (not the procs) */
    log_proc **buckets;
    size_t nbuckets, nprocs;
};

/* ---- small helpers ---- */

static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return (size_t)h;
}

static bool b64_32(const char *s, size_t n, uint8_t out[32])
{
    ao_buf b;
    ao_buf_init(&b);
    bool ok = n == SU_ID_LEN && ao_b64url_decode(s, n, &b, NULL) == AO_OK && b.len == 32;
    if (ok)
        memcpy(out, b.data, 32);
    ao_buf_free(&b);
    return ok;
}

/* Canonical unsigned decimal (no sign, no leading zero) up to INT64_MAX. */
static bool parse_u63(const char *s, size_t n, int64_t *out)
{
    if (!n || n > 19 || (n > 1 && s[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

static bool bytes_are(const void *p, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(p, s, n) == 0;
}

static int missing(const su_row *row, const char *id, ao_error *err)
{
    return ao_err_set(err, AO_EIO, "su: item %s of %s/%llu missing from the data layer", id,
                      row->process, (unsigned long long)row->nonce);
}

/* Keep the error of p (p->mu held): every later call answers it. */
static int proc_fail(log_proc *p, ao_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int proc_fail(log_proc *p, ao_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->fail_msg, sizeof p->fail_msg, fmt, ap);
    va_end(ap);
    p->fail = AO_EFORMAT;
    return ao_err_set(err, AO_EFORMAT, "%s", p->fail_msg);
}

/* ---- the message index of a process ---- */

/* Row index + 1 of message id in p, or 0. */
static size_t index_find(const log_proc *p, const char *id)
{
    if (!p->icap)
        return 0;
    for (size_t k = hash_str(id) & (p->icap - 1);; k = (k + 1) & (p->icap - 1)) {
        uint32_t v = p->index[k];
        if (!v)
            return 0;
        if (strcmp(p->rows[v - 1].message, id) == 0)
            return v;
    }
}

static void index_put(uint32_t *index, size_t icap, const su_row *rows, size_t i)
{
    size_t k = hash_str(rows[i].message) & (icap - 1);
    while (index[k])
        k = (k + 1) & (icap - 1);
    index[k] = (uint32_t)(i + 1);
}

/* Room for one more row in rows and index (load kept under 1/2). */
static int grow(log_proc *p, ao_error *err)
{
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 64;
        su_row *r = realloc(p->rows, nc * sizeof *r);
        if (r)
            p->rows = r;
        bool *c = r ? realloc(p->checked, nc * sizeof *c) : NULL;
        if (!c)
            return ao_err_set(err, AO_ENOMEM, "su: out of memory");
        p->checked = c;
        p->cap = nc;
    }
    if (p->n >= UINT32_MAX - 1)
        return ao_err_set(err, AO_ELIMIT, "su_log: schedule of %s too long", p->id);
    if ((p->n + 1) * 2 > p->icap) {
        size_t nc = p->icap ? p->icap * 2 : 128;
        uint32_t *ix = calloc(nc, sizeof *ix);
        if (!ix)
            return ao_err_set(err, AO_ENOMEM, "su: out of memory");
        for (size_t i = 0; i < p->n; i++)
            index_put(ix, nc, p->rows, i);
        free(p->index);
        p->index = ix;
        p->icap = nc;
    }
    return AO_OK;
}

/* ---- building the cache ---- */

typedef struct atags {
    const weave_tag *dp, *type, *process, *nonce, *ts, *height, *chain, *message;
    bool exclude;
} atags;

static void scan_tags(const weave_item_meta *m, atags *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < m->ntags; i++) {
        const weave_tag *g = &m->tags[i];
        const weave_tag **slot = NULL;
        if (bytes_are(g->name, g->name_len, "Data-Protocol")) slot = &t->dp;
        else if (bytes_are(g->name, g->name_len, "Type")) slot = &t->type;
        else if (bytes_are(g->name, g->name_len, "Process")) slot = &t->process;
        else if (bytes_are(g->name, g->name_len, "Nonce")) slot = &t->nonce;
        else if (bytes_are(g->name, g->name_len, "Timestamp")) slot = &t->ts;
        else if (bytes_are(g->name, g->name_len, "Block-Height")) slot = &t->height;
        else if (bytes_are(g->name, g->name_len, "Hash-Chain")) slot = &t->chain;
        else if (bytes_are(g->name, g->name_len, "Message")) slot = &t->message;
        else if (bytes_are(g->name, g->name_len, "Exclude")) t->exclude = true;
        if (slot && !*slot)
            *slot = g;
    }
}

/* Index in p->held of the first slot with nonce >= nonce. */
static size_t held_pos(const log_proc *p, uint64_t nonce)
{
    size_t lo = 0, hi = p->nheld;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->held[mid].nonce < nonce)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* One row of the query: an Assignment of the scheduler becomes a held
 * slot; rows that are not (another owner, another process) are skipped. */
static int take_row(log_proc *p, const weave_item_meta *m, ao_error *err)
{
    if (strcmp(m->owner_address, p->scheduler) != 0)
        return AO_OK;
    atags t;
    scan_tags(m, &t);
    if (!t.dp || !bytes_are(t.dp->value, t.dp->value_len, "ao") || !t.type ||
        !bytes_are(t.type->value, t.type->value_len, "Assignment") || !t.process ||
        !bytes_are(t.process->value, t.process->value_len, p->id))
        return AO_OK;
    su_row row;
    memset(&row, 0, sizeof row);
    snprintf(row.process, sizeof row.process, "%s", p->id);
    snprintf(row.assignment, sizeof row.assignment, "%s", m->id);
    int64_t nonce, height;
    uint8_t chain[32];
    if (!t.nonce || !parse_u63(t.nonce->value, t.nonce->value_len, &nonce))
        return proc_fail(p, err, "su_log: assignment %s of %s: bad or no Nonce tag", m->id, p->id);
    row.nonce = (uint64_t)nonce;
    if (!t.ts || !su_parse_i64(t.ts->value, &row.timestamp) || row.timestamp < 0 ||
        strlen(t.ts->value) != t.ts->value_len)
        return proc_fail(p, err, "su_log: assignment %s of %s: bad or no Timestamp tag", m->id,
                         p->id);
    if (!t.height || !t.height->value_len || t.height->value_len > 19 ||
        strspn(t.height->value, "0123456789") != t.height->value_len ||
        !su_parse_i64(t.height->value, &height))
        return proc_fail(p, err, "su_log: assignment %s of %s: bad or no Block-Height tag", m->id,
                         p->id);
    row.height = height;
    if (!t.chain || !b64_32(t.chain->value, t.chain->value_len, chain))
        return proc_fail(p, err, "su_log: assignment %s of %s: bad or no Hash-Chain tag", m->id,
                         p->id);
    memcpy(row.hash_chain, t.chain->value, SU_ID_LEN);
    uint8_t mid[32];
    if (nonce == 0) {
        if (t.message && !bytes_are(t.message->value, t.message->value_len, p->id))
            return proc_fail(p, err, "su_log: assignment %s of %s: nonce 0 names another message",
                             m->id, p->id);
        snprintf(row.message, sizeof row.message, "%s", p->id);
        row.kind = SU_KIND_PROCESS;
    } else {
        if (!t.message || !b64_32(t.message->value, t.message->value_len, mid))
            return proc_fail(p, err, "su_log: assignment %s of %s: bad or no Message tag", m->id,
                             p->id);
        memcpy(row.message, t.message->value, SU_ID_LEN);
        row.kind = t.exclude ? SU_KIND_ASSIGN : KIND_UNKNOWN;
    }
    const su_row *same = NULL;
    size_t at = 0;
    if (row.nonce < p->n) {
        same = &p->rows[row.nonce];
    } else {
        at = held_pos(p, row.nonce);
        if (at < p->nheld && p->held[at].nonce == row.nonce)
            same = &p->held[at];
    }
    if (same) {
        if (strcmp(same->assignment, row.assignment) == 0)
            return AO_OK;   /* seen before */
        return proc_fail(p, err, "su_log: equivocation: nonce %llu of %s has two assignments, %s and %s",
                         (unsigned long long)row.nonce, p->id, same->assignment, row.assignment);
    }
    if (p->nheld == p->capheld) {
        size_t nc = p->capheld ? p->capheld * 2 : 64;
        su_row *h = realloc(p->held, nc * sizeof *h);
        if (!h)
            return ao_err_set(err, AO_ENOMEM, "su: out of memory");
        p->held = h;
        p->capheld = nc;
    }
    memmove(&p->held[at + 1], &p->held[at], (p->nheld - at) * sizeof *p->held);
    p->held[at] = row;
    p->nheld++;
    return AO_OK;
}

/* Move the held slots that continue the prefix into it, checking the hash
 * chain, the timestamps and that no message is scheduled twice. */
static int advance(log_proc *p, ao_error *err)
{
    size_t k = 0;
    int r = AO_OK;
    while (k < p->nheld && p->held[k].nonce == p->n) {
        const su_row *row = &p->held[k];
        uint8_t expect[32], got[32];
        if (p->n == 0) {
            uint8_t pid[32];
            if (!b64_32(p->id, strlen(p->id), pid)) {
                r = proc_fail(p, err, "su_log: %s is not an id", p->id);
                break;
            }
            crypto_sha256(pid, 32, expect);
        } else {
            const su_row *prev = &p->rows[p->n - 1];
            uint8_t cat[64];
            b64_32(prev->assignment, SU_ID_LEN, cat);
            b64_32(prev->hash_chain, SU_ID_LEN, cat + 32);
            crypto_sha256(cat, 64, expect);
        }
        b64_32(row->hash_chain, SU_ID_LEN, got);
        if (memcmp(expect, got, 32) != 0) {
            r = proc_fail(p, err, "su_log: hash chain mismatch at nonce %llu of %s (assignment %s)",
                          (unsigned long long)row->nonce, p->id, row->assignment);
            break;
        }
        if (p->n && row->timestamp < p->rows[p->n - 1].timestamp) {
            r = proc_fail(p, err, "su_log: timestamp goes back at nonce %llu of %s",
                          (unsigned long long)row->nonce, p->id);
            break;
        }
        size_t dup = index_find(p, row->message);
        if (dup) {
            r = proc_fail(p, err, "su_log: message %s scheduled twice on %s (nonces %llu and %llu)",
                          row->message, p->id, (unsigned long long)p->rows[dup - 1].nonce,
                          (unsigned long long)row->nonce);
            break;
        }
        if ((r = grow(p, err)))
            break;
        p->rows[p->n] = *row;
        p->checked[p->n] = false;
        index_put(p->index, p->icap, p->rows, p->n);
        p->n++;
        k++;
    }
    if (k) {
        memmove(p->held, p->held + k, (p->nheld - k) * sizeof *p->held);
        p->nheld -= k;
    }
    return r;
}

/* Ask the data layer for the rows after p's cursor (p->mu held). */
static int refresh(su_log *l, log_proc *p, ao_error *err)
{
    if (p->fail)
        return ao_err_set(err, p->fail, "%s", p->fail_msg);
    const char *type[] = { "Assignment" };
    const char *proc[] = { p->id };
    const char *owners[] = { p->scheduler };
    weave_tag_filter tags[2] = { { "Type", type, 1 }, { "Process", proc, 1 } };
    int r = AO_OK;
    for (;;) {
        weave_tx_filter f;
        weave_tx_filter_init(&f);
        f.tags = tags;
        f.ntags = 2;
        f.owners = owners;
        f.nowners = 1;
        f.sort = WEAVE_HEIGHT_ASC;
        f.first = WEAVE_PAGE_MAX;
        f.after = p->cursor[0] ? p->cursor : NULL;
        f.fields = 0;
        weave_tx_page page;
        memset(&page, 0, sizeof page);
        r = l->data.query_transactions(l->data.ctx, &f, &page, err);
        if (r) {
            ao_err_wrap(err, "su_log: reading the assignments of %s", p->id);
            break;
        }
        for (size_t i = 0; i < page.n && !r; i++)
            r = take_row(p, &page.rows[i], err);
        bool more = page.has_next_page && page.n;
        if (!r && page.n)
            snprintf(p->cursor, sizeof p->cursor, "%s", page.rows[page.n - 1].cursor);
        weave_tx_page_free(&page);
        if (r || !more)
            break;
    }
    return r ? r : advance(p, err);
}

/* ---- the process table ---- */

static log_proc *find_locked(su_log *l, const char *pid)
{
    for (log_proc *p = l->buckets[hash_str(pid) & (l->nbuckets - 1)]; p; p = p->hnext)
        if (strcmp(p->id, pid) == 0)
            return p;
    return NULL;
}

static int insert_locked(su_log *l, log_proc *p, ao_error *err)
{
    if (l->nprocs >= l->nbuckets) {
        size_t nb = l->nbuckets * 2;
        log_proc **b = calloc(nb, sizeof *b);
        if (!b)
            return ao_err_set(err, AO_ENOMEM, "su: out of memory");
        for (size_t i = 0; i < l->nbuckets; i++)
            for (log_proc *q = l->buckets[i], *nx; q; q = nx) {
                nx = q->hnext;
                size_t k = hash_str(q->id) & (nb - 1);
                q->hnext = b[k];
                b[k] = q;
            }
        free(l->buckets);
        l->buckets = b;
        l->nbuckets = nb;
    }
    size_t k = hash_str(p->id) & (l->nbuckets - 1);
    p->hnext = l->buckets[k];
    l->buckets[k] = p;
    l->nprocs++;
    return AO_OK;
}

static void proc_free(log_proc *p)
{
    pthread_mutex_destroy(&p->mu);
    free(p->rows);
    free(p->checked);
    free(p->held);
    free(p->index);
    free(p);
}

/* The entry of process pid, made from its item on first use.
 * AO_ENOTFOUND "Process not found" when pid is no item with a Scheduler
 * tag. Entries live until su_log_close. */
static int get_proc(su_log *l, const char *pid, log_proc **out, ao_error *err)
{
    *out = NULL;
    if (!pid || strlen(pid) != SU_ID_LEN)
        return ao_err_set(err, AO_ENOTFOUND, "Process not found");
    pthread_mutex_lock(&l->mu);
    log_proc *p = find_locked(l, pid);
    pthread_mutex_unlock(&l->mu);
    if (p) {
        *out = p;
        return AO_OK;
    }
    ao_buf raw;
    ao_buf_init(&raw);
    int r = l->data.get(l->data.ctx, pid, &raw, err);
    item *it = NULL;
    const item_tag *sched = NULL;
    if (!r && !(it = malloc(sizeof *it)))
        r = ao_err_set(err, AO_ENOMEM, "su: out of memory");
    if (!r && (item_decode(raw.data, raw.len, it, NULL) != AO_OK ||
               !(sched = item_find_tag(it, "Scheduler")) || sched->value_len != SU_ID_LEN))
        r = AO_ENOTFOUND;
    if (r == AO_ENOTFOUND)
        ao_err_set(err, AO_ENOTFOUND, "Process not found");
    if (!r && !(p = calloc(1, sizeof *p)))
        r = ao_err_set(err, AO_ENOMEM, "su: out of memory");
    if (!r) {
        snprintf(p->id, sizeof p->id, "%s", pid);
        memcpy(p->scheduler, sched->value, SU_ID_LEN);
        p->scheduler[SU_ID_LEN] = 0;
        pthread_mutex_init(&p->mu, NULL);
    }
    free(it);
    ao_buf_free(&raw);
    if (r)
        return r;
    pthread_mutex_lock(&l->mu);
    log_proc *q = find_locked(l, pid);
    if (!q && (r = insert_locked(l, p, err)) == AO_OK)
        q = p;
    pthread_mutex_unlock(&l->mu);
    if (q != p)
        proc_free(p);
    *out = q;
    return r;
}

/* Entry of pid, locked and refreshed (unlocked again on failure). */
static int open_proc(su_log *l, const char *pid, log_proc **out, ao_error *err)
{
    int r = get_proc(l, pid, out, err);
    if (r)
        return r;
    pthread_mutex_lock(&(*out)->mu);
    r = refresh(l, *out, err);
    if (r) {
        pthread_mutex_unlock(&(*out)->mu);
        *out = NULL;
    }
    return r;
}

/* A copy of the entries (they live until close). Caller frees. */
static log_proc **all_procs(su_log *l, size_t *n)
{
    pthread_mutex_lock(&l->mu);
    log_proc **v = malloc((l->nprocs ? l->nprocs : 1) * sizeof *v);
    *n = 0;
    if (v)
        for (size_t i = 0; i < l->nbuckets; i++)
            for (log_proc *p = l->buckets[i]; p; p = p->hnext)
                v[(*n)++] = p;
    pthread_mutex_unlock(&l->mu);
    return v;
}

/* ---- nodes ---- */

/* Would the SU's POST / have scheduled item `it` as a Message of pid? */
static bool postable_message(const item *it, const char *pid)
{
    const item_tag *dp = NULL, *type = NULL;
    for (size_t i = 0; i < it->ntags; i++) {
        const item_tag *t = &it->tags[i];
        if ((t->name_len >= 5 && memcmp(t->name + t->name_len - 5, "+link", 5) == 0) ||
            (t->value_len >= 5 && memcmp(t->value + t->value_len - 5, "+link", 5) == 0))
            return false;
        if (!dp && bytes_are(t->name, t->name_len, "Data-Protocol"))
            dp = t;
        else if (!type && (bytes_are(t->name, t->name_len, "Type") ||
                           bytes_are(t->name, t->name_len, "type")))
            type = t;
    }
    if (!dp || !bytes_are(dp->value, dp->value_len, "ao") || !type ||
        !bytes_are(type->value, type->value_len, "Message") || !it->target)
        return false;
    char target[SU_ID_LEN + 1];
    ao_b64url_encode_to(it->target, 32, target);
    return strcmp(target, pid) == 0;
}

static bool tag_equals(const item *it, const char *name, const char *value)
{
    const item_tag *t = item_find_tag(it, name);
    return t && bytes_are(t->value, t->value_len, value);
}

/* The Assignment item of row: its own id, owned by the scheduler, its
 * tags those of the cached slot, and (verify) its signature valid. */
static int check_assignment(const log_proc *p, const su_row *row, const uint8_t *raw, size_t len,
                            item *it, bool verify, ao_error *err)
{
    int r = verify ? item_verify(raw, len, it, err) : item_decode(raw, len, it, err);
    if (r)
        return ao_err_wrap(err, "su_log: assignment %s of %s/%llu", row->assignment, p->id,
                           (unsigned long long)row->nonce);
    char id[SU_ID_LEN + 1], owner[AO_ADDRESS_MAX], nonce[24], ts[24];
    item_id_b64(it, id);
    item_owner_address(it, owner);
    snprintf(nonce, sizeof nonce, "%llu", (unsigned long long)row->nonce);
    snprintf(ts, sizeof ts, "%lld", (long long)row->timestamp);
    if (strcmp(id, row->assignment) != 0 || strcmp(owner, p->scheduler) != 0 ||
        !tag_equals(it, "Nonce", nonce) || !tag_equals(it, "Timestamp", ts) ||
        !tag_equals(it, "Hash-Chain", row->hash_chain) || !tag_equals(it, "Process", p->id) ||
        (row->kind != SU_KIND_PROCESS && !tag_equals(it, "Message", row->message)))
        return ao_err_set(err, AO_EFORMAT,
                          "su_log: the data layer's item %s is not the assignment indexed for %s/%llu",
                          row->assignment, p->id, (unsigned long long)row->nonce);
    return AO_OK;
}

typedef struct node_ctx {
    su_log *l;
    log_proc *p;
    su_row *rows;      /* the copy being written; kinds found are set here */
    bool *checked;     /* and the assignments checked */
} node_ctx;

/* su_node_fn: {"message":M|null,"assignment":A} of a slot, as su_read.c
 * writes it; an undecided kind is decided from the message item. */
static int log_node(void *vctx, const su_row *crow, bool show_anchor, ao_buf *b, ao_error *err)
{
    node_ctx *c = vctx;
    size_t at = (size_t)(crow - c->rows);
    su_row *row = &c->rows[at];
    ao_buf msg, asg;
    ao_buf_init(&msg);
    ao_buf_init(&asg);
    item *it = malloc(sizeof *it);
    int r = it ? AO_OK : ao_err_set(err, AO_ENOMEM, "su: out of memory");
    if (!r && row->kind != SU_KIND_ASSIGN) {
        r = c->l->data.get(c->l->data.ctx, row->message, &msg, err);
        if (r == AO_ENOTFOUND && row->kind == KIND_UNKNOWN && c->l->data.get_meta) {
            /* known to the data layer but not as a data item (an L1 tx) */
            weave_item_meta m;
            if (c->l->data.get_meta(c->l->data.ctx, row->message, 0, &m, NULL) == AO_OK) {
                weave_meta_free(&m);
                row->kind = SU_KIND_ASSIGN;
                r = AO_OK;
            }
        }
        if (r == AO_ENOTFOUND)
            r = missing(row, row->message, err);
        if (!r && row->kind != SU_KIND_ASSIGN) {
            char id[SU_ID_LEN + 1] = "";
            bool ok = item_decode(msg.data, msg.len, it, NULL) == AO_OK;
            if (ok)
                item_id_b64(it, id);
            if (ok && strcmp(id, row->message) != 0)
                r = ao_err_set(err, AO_EFORMAT, "su_log: the data layer's item %s is not %s", id,
                               row->message);
            else if (row->kind == KIND_UNKNOWN)
                row->kind = ok && postable_message(it, c->p->id) ? SU_KIND_MESSAGE : SU_KIND_ASSIGN;
        }
    }
    if (!r) {
        r = c->l->data.get(c->l->data.ctx, row->assignment, &asg, err);
        if (r == AO_ENOTFOUND)
            r = missing(row, row->assignment, err);
    }
    /* the signature is verified once per slot; the rest on every read */
    if (!r && !(r = check_assignment(c->p, row, asg.data, asg.len, it, !c->checked[at], err)))
        c->checked[at] = true;
    if (!r)
        r = su_json_node(b, row->kind == SU_KIND_ASSIGN ? NULL : msg.data ? msg.data
                                                                         : (const uint8_t *)"",
                         msg.len, asg.data, asg.len, show_anchor, err);
    free(it);
    ao_buf_free(&msg);
    ao_buf_free(&asg);
    return r;
}

/* Remember what writing rows[0..n) (copies of p's) found: the kinds
 * decided, the assignments checked. */
static void keep_found(log_proc *p, const su_row *rows, const bool *checked, size_t n)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = rows[i].nonce;
        if (k >= p->n)
            continue;
        if (rows[i].kind != KIND_UNKNOWN && p->rows[k].kind == KIND_UNKNOWN)
            p->rows[k].kind = rows[i].kind;
        if (checked[i])
            p->checked[k] = true;
    }
    pthread_mutex_unlock(&p->mu);
}

/* Writes the node of slot k of p (p locked on entry, unlocked on return). */
static int one_node(su_log *l, log_proc *p, size_t k, bool show_anchor, ao_buf *body,
                    ao_error *err)
{
    su_row row = p->rows[k];
    bool checked = p->checked[k];
    pthread_mutex_unlock(&p->mu);
    node_ctx c = { l, p, &row, &checked };
    int r = log_node(&c, &row, show_anchor, body, err);
    keep_found(p, &row, &checked, 1);
    return r;
}

/* ---- the routes ---- */

int su_log_open(const weave_client *data, su_log **out, ao_error *err)
{
    *out = NULL;
    if (!data || !data->get || !data->query_transactions)
        return ao_err_set(err, AO_EINVAL, "su_log: a data layer with get and query_transactions is required");
    su_log *l = calloc(1, sizeof *l);
    if (l)
        l->buckets = calloc(64, sizeof *l->buckets);
    if (!l || !l->buckets) {
        free(l);
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    }
    l->nbuckets = 64;
    l->data = *data;
    pthread_mutex_init(&l->mu, NULL);
    *out = l;
    return AO_OK;
}

void su_log_close(su_log *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->nbuckets; i++)
        for (log_proc *p = l->buckets[i], *nx; p; p = nx) {
            nx = p->hnext;
            proc_free(p);
        }
    free(l->buckets);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int su_log_process_json(su_log *l, const char *pid, ao_buf *body, ao_error *err)
{
    log_proc *p;
    int r = open_proc(l, pid, &p, err);
    if (r)
        return r;
    su_row row0;
    bool have = p->n > 0;
    if (have)
        row0 = p->rows[0];
    pthread_mutex_unlock(&p->mu);
    if (!have)
        return ao_err_set(err, AO_ENOTFOUND, "Process not found");
    ao_buf raw;
    ao_buf_init(&raw);
    r = l->data.get(l->data.ctx, pid, &raw, err);
    if (r == AO_ENOTFOUND)
        r = missing(&row0, pid, err);
    if (!r)
        r = su_json_process(body, pid, row0.height, row0.timestamp, raw.data, raw.len, err);
    ao_buf_free(&raw);
    return r;
}

int su_log_latest_json(su_log *l, const char *pid, ao_buf *body, ao_error *err)
{
    log_proc *p;
    int r = open_proc(l, pid, &p, err);
    if (r)
        return r;
    if (!p->n) {
        pthread_mutex_unlock(&p->mu);
        return ao_err_set(err, AO_ENOTFOUND, "Process not found");
    }
    return one_node(l, p, p->n - 1, false, body, err);
}

int su_log_timestamp_json(su_log *l, const char *pid, ao_buf *body, ao_error *err)
{
    int64_t ts = 0, height = 0;
    if (pid) {
        log_proc *p;
        int r = open_proc(l, pid, &p, err);
        if (r && r != AO_ENOTFOUND)
            return r;
        if (!r) {
            if (p->n) {
                ts = p->rows[p->n - 1].timestamp;
                height = p->rows[p->n - 1].height;
            }
            pthread_mutex_unlock(&p->mu);
        }
    }
    if (ao_buf_printf(body, "{\"timestamp\":\"%lld\",\"block_height\":\"%012lld\"}", (long long)ts,
                      (long long)height))
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    return AO_OK;
}

/* One schedule page of p (locked on entry, unlocked on return). */
static int page_json(su_log *l, log_proc *p, const su_page_q *pq, bool show_anchor, ao_buf *body,
                     ao_error *err)
{
    /* the range, as su_read.c's SQL: nonce > from AND nonce <= to, or
     * timestamp > from AND timestamp <= to, in order, limit + 1 rows */
    size_t i0, want = (size_t)pq->limit + 1, n = 0;
    if (pq->nonce_mode) {
        i0 = pq->from < 0 ? 0 : pq->from >= (int64_t)p->n ? p->n : (size_t)pq->from + 1;
    } else {
        size_t lo = 0, hi = p->n;   /* first row with timestamp > from */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (p->rows[mid].timestamp <= pq->from)
                lo = mid + 1;
            else
                hi = mid;
        }
        i0 = lo;
    }
    while (i0 + n < p->n && n < want &&
           (pq->nonce_mode ? (int64_t)p->rows[i0 + n].nonce : p->rows[i0 + n].timestamp) <= pq->to)
        n++;
    su_row *rows = malloc((n ? n : 1) * sizeof *rows);
    bool *checked = malloc((n ? n : 1) * sizeof *checked);
    if (rows && checked && n) {
        memcpy(rows, p->rows + i0, n * sizeof *rows);
        memcpy(checked, p->checked + i0, n * sizeof *checked);
    }
    pthread_mutex_unlock(&p->mu);
    int r;
    if (rows && checked) {
        node_ctx c = { l, p, rows, checked };
        r = su_json_page(body, rows, n, pq, show_anchor, log_node, &c, err);
        keep_found(p, rows, checked, n);
    } else {
        r = ao_err_set(err, AO_ENOMEM, "su: out of memory");
    }
    free(rows);
    free(checked);
    return r;
}

/* The node of message id in p (locked on entry, unlocked on return);
 * AO_ENOTFOUND (reason not set) when p has no such slot. */
static int find_node(su_log *l, log_proc *p, const char *id, bool show_anchor, ao_buf *body,
                     ao_error *err)
{
    size_t k = index_find(p, id);
    if (!k) {
        pthread_mutex_unlock(&p->mu);
        return AO_ENOTFOUND;
    }
    return one_node(l, p, k - 1, show_anchor, body, err);
}

int su_log_get_json(su_log *l, const char *id, const su_query *q, ao_buf *body, ao_error *err)
{
    su_page_q pq;
    int r = su_parse_query(q, &pq, err);
    if (r)
        return r;
    if (!id || strlen(id) != SU_ID_LEN)
        return ao_err_set(err, AO_ENOTFOUND, "Message or Process not found");
    const char *pid = q ? q->process_id : NULL;
    bool show_anchor = q && q->show_anchor;
    log_proc *p;
    if (!pid || strcmp(pid, id) == 0) {   /* id may be a process */
        r = open_proc(l, id, &p, err);
        if (r && r != AO_ENOTFOUND)
            return r;
        if (!r) {
            if (p->n)
                return page_json(l, p, &pq, show_anchor, body, err);
            pthread_mutex_unlock(&p->mu);
        }
    }
    if (pid) {
        r = open_proc(l, pid, &p, err);
        if (!r)
            r = find_node(l, p, id, show_anchor, body, err);
        if (r == AO_ENOTFOUND)
            return ao_err_set(err, AO_ENOTFOUND, "Message or Process not found");
        return r;
    }
    /* no process named: the processes in the cache, as they are, then
     * refreshed */
    size_t n;
    log_proc **all = all_procs(l, &n);
    if (!all)
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    r = AO_ENOTFOUND;
    for (int pass = 0; pass < 2 && r == AO_ENOTFOUND; pass++)
        for (size_t i = 0; i < n && r == AO_ENOTFOUND; i++) {
            log_proc *q = all[i];
            pthread_mutex_lock(&q->mu);
            if (pass == 1 && !q->fail)
                refresh(l, q, NULL);   /* a failure is kept in q->fail */
            if (q->fail) {   /* a process in error answers its error */
                if (index_find(q, id))
                    r = ao_err_set(err, q->fail, "%s", q->fail_msg);
                pthread_mutex_unlock(&q->mu);
                continue;
            }
            r = find_node(l, q, id, show_anchor, body, err);
        }
    free(all);
    if (r == AO_ENOTFOUND)
        return ao_err_set(err, AO_ENOTFOUND, "Message or Process not found");
    return r;
}
