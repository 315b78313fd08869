/*
 * query.c - the weave's read side: item metadata, the `transactions`
 * query as a leapfrog join over the indexes (each filter is a stream of
 * seqs read from an index one seek at a time; streams are intersected in
 * seq order, so a page costs a few seeks per row, whatever the table
 * size), the `blocks` query, weave info, and Scheduler-Location records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weave/weave_internal.h"

/* ---- metadata ---- */

static char *dup_col(sqlite3_stmt *st, int i, size_t *len)
{
    const unsigned char *p = sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    if (len)
        *len = n;
    char *s = malloc(n + 1);
    if (s) {
        if (n)
            memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

static void copy_col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *p = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", p ? (const char *)p : "");
}

void weave_meta_free(weave_item_meta *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ntags; i++) {
        free(m->tags[i].name);
        free(m->tags[i].value);
    }
    free(m->tags);
    free(m->owner_key);
    free(m->signature);
    free(m->content_type);
    memset(m, 0, sizeof *m);
}

static int load_meta(weave *w, weave_rconn *c, int64_t seq, unsigned fields,
                     weave_item_meta *m, ao_error *err)
{
    memset(m, 0, sizeof *m);
    sqlite3_stmt *st = weave_stmt(c, WQ_META, err);
    if (!st)
        return AO_EIO;
    sqlite3_bind_int64(st, 1, seq);
    int s = sqlite3_step(st);
    if (s != SQLITE_ROW)
        return s == SQLITE_DONE ? ao_err_set(err, AO_ENOTFOUND, "weave: no item at %lld", (long long)seq)
                                : weave_sql_err(c->db, err, "meta");
    m->seq = sqlite3_column_int64(st, 0);
    copy_col(st, 1, m->id, sizeof m->id);
    m->sig_type = (unsigned)sqlite3_column_int(st, 2);
    copy_col(st, 3, m->owner_address, sizeof m->owner_address);
    copy_col(st, 4, m->target, sizeof m->target);
    copy_col(st, 5, m->anchor, sizeof m->anchor);
    m->data_offset = (uint64_t)sqlite3_column_int64(st, 6);
    m->data_size = (uint64_t)sqlite3_column_int64(st, 7);
    m->raw_size = (uint64_t)sqlite3_column_int64(st, 8);
    int r = AO_OK;
    if (sqlite3_column_type(st, 9) != SQLITE_NULL && !(m->content_type = dup_col(st, 9, NULL)))
        r = AO_ENOMEM;
    m->height = sqlite3_column_int64(st, 10);
    copy_col(st, 11, m->bundled_in, sizeof m->bundled_in);
    m->stored_at_ms = sqlite3_column_int64(st, 12);
    weave_loc loc = { sqlite3_column_int64(st, 13),
                      sqlite3_column_type(st, 18) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 18),
                      (uint64_t)sqlite3_column_int64(st, 14), m->raw_size,
                      (uint32_t)sqlite3_column_int64(st, 15) };
    m->block_sealed = sqlite3_column_type(st, 16) != SQLITE_NULL;
    if (m->block_sealed) {
        copy_col(st, 16, m->block_id, sizeof m->block_id);
        m->block_timestamp_ms = sqlite3_column_int64(st, 17);
    }
    weave_cursor_encode(m->seq, m->cursor);
    sqlite3_reset(st);
    if (r)
        return ao_err_set(err, r, "weave: out of memory");

    st = weave_stmt(c, WQ_TAGS, err);
    if (!st)
        return AO_EIO;
    sqlite3_bind_int64(st, 1, seq);
    size_t cap = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (m->ntags == cap) {
            size_t nc = cap ? cap * 2 : 8;
            weave_tag *p = realloc(m->tags, nc * sizeof *p);
            if (!p)
                return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
            m->tags = p;
            cap = nc;
        }
        weave_tag *t = &m->tags[m->ntags];
        t->name = dup_col(st, 0, &t->name_len);
        t->value = dup_col(st, 1, &t->value_len);
        m->ntags++;
        if (!t->name || !t->value)
            return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
    }
    sqlite3_reset(st);
    if (s != SQLITE_DONE)
        return weave_sql_err(c->db, err, "tags");

    if (fields & WEAVE_META_KEYS) {
        ao_buf raw;
        ao_buf_init(&raw);
        r = weave_blob_read(w, c, &loc, m->id, &raw, err);
        item it;
        if (!r && (r = item_decode(raw.data, raw.len, &it, err)) == AO_OK) {
            m->owner_key = ao_b64url_encode(it.owner, it.owner_len);
            m->signature = ao_b64url_encode(it.sig, it.sig_len);
            if (!m->owner_key || !m->signature)
                r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
        }
        ao_buf_free(&raw);
    }
    return r;
}

int weave_get_meta(weave *w, const char *id, unsigned fields, weave_item_meta *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    weave_rconn *c;
    int r = weave_rconn_get(w, &c, err);
    if (r)
        return r;
    sqlite3_stmt *st = weave_stmt(c, WQ_SEQ_OF_ID, err);
    if (!st) {
        weave_rconn_put(w, c);
        return AO_EIO;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        r = load_meta(w, c, seq, fields, out, err);
        if (r)
            weave_meta_free(out);
    } else {
        r = s == SQLITE_DONE ? ao_err_set(err, AO_ENOTFOUND, "weave: no item %.64s", id)
                             : weave_sql_err(c->db, err, "meta");
    }
    weave_rconn_put(w, c);
    return r;
}

/* ---- leapfrog join ---- */

#define SEQ_NONE_DESC (-1)
#define SEQ_NONE_ASC INT64_MAX

typedef struct sub {
    int kind;                 /* WQ_*_DESC (the ASC one is kind + 1) */
    const char *a, *b;        /* key(s) */
    int64_t bound, res;       /* cache: res answers a seek to bound */
    bool cached;
} sub;

typedef struct stream {
    sub *subs;
    size_t nsubs;
    const int64_t *arr;       /* or a sorted array (ids) */
    size_t narr;
    bool is_arr;
} stream;

typedef struct joiner {
    weave_rconn *c;
    bool asc;
    ao_error *err;
    int rc;
} joiner;

/* Seek one sub: desc -> largest seq <= x, asc -> smallest seq >= x. */
static int64_t sub_seek(joiner *j, sub *s, int64_t x)
{
    int64_t none = j->asc ? SEQ_NONE_ASC : SEQ_NONE_DESC;
    if (s->cached) {
        /* candidates only move one way: the cached answer still holds if it
         * is on the right side of x */
        if (!j->asc && x <= s->bound && (s->res <= x))
            return s->res;
        if (j->asc && x >= s->bound && (s->res >= x))
            return s->res;
    }
    sqlite3_stmt *st = weave_stmt(j->c, s->kind + (j->asc ? 1 : 0), j->err);
    if (!st) {
        j->rc = AO_EIO;
        return none;
    }
    if (s->a)
        sqlite3_bind_text(st, 1, s->a, -1, SQLITE_STATIC);
    if (s->b)
        sqlite3_bind_text(st, 2, s->b, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, x);
    int rc = sqlite3_step(st);
    int64_t r = none;
    if (rc == SQLITE_ROW)
        r = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE)
        j->rc = weave_sql_err(j->c->db, j->err, "seek");
    sqlite3_reset(st);
    s->cached = true;
    s->bound = x;
    s->res = r;
    return r;
}

static int64_t stream_seek(joiner *j, stream *s, int64_t x)
{
    if (s->is_arr) {
        /* arr sorted ascending */
        if (!j->asc) {
            for (size_t i = s->narr; i-- > 0;)
                if (s->arr[i] <= x)
                    return s->arr[i];
            return SEQ_NONE_DESC;
        }
        for (size_t i = 0; i < s->narr; i++)
            if (s->arr[i] >= x)
                return s->arr[i];
        return SEQ_NONE_ASC;
    }
    int64_t best = j->asc ? SEQ_NONE_ASC : SEQ_NONE_DESC;
    for (size_t i = 0; i < s->nsubs && !j->rc; i++) {
        int64_t r = sub_seek(j, &s->subs[i], x);
        if (!j->asc ? r > best : r < best)
            best = r;
    }
    return best;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t lookup_seq(weave_rconn *c, int which, int64_t arg, const char *text, bool *found,
                          ao_error *err, int *rc)
{
    sqlite3_stmt *st = weave_stmt(c, which, err);
    *found = false;
    if (!st) {
        *rc = AO_EIO;
        return 0;
    }
    if (text)
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, arg);
    int s = sqlite3_step(st);
    int64_t v = 0;
    if (s == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        *found = true;
    } else if (s != SQLITE_DONE) {
        *rc = weave_sql_err(c->db, err, "lookup");
    }
    sqlite3_reset(st);
    return v;
}

void weave_tx_filter_init(weave_tx_filter *f)
{
    memset(f, 0, sizeof *f);
    f->height_min = f->height_max = -1;
}

void weave_tx_page_free(weave_tx_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        weave_meta_free(&p->rows[i]);
    free(p->rows);
    memset(p, 0, sizeof *p);
}

#define WEAVE_FILTER_MAX 1000   /* values in one filter list */

static int add_key_stream(stream *s, size_t *ns, int kind, const char *const *keys, size_t n)
{
    if (!n)
        return AO_OK;
    sub *subs = calloc(n, sizeof *subs);
    if (!subs)
        return AO_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        subs[i].kind = kind;
        subs[i].a = keys[i];
    }
    s[*ns].subs = subs;
    s[*ns].nsubs = n;
    (*ns)++;
    return AO_OK;
}

int weave_query_transactions(weave *w, const weave_tx_filter *f, weave_tx_page *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    size_t first = f->first ? f->first : 10;
    if (first > WEAVE_PAGE_MAX)
        first = WEAVE_PAGE_MAX;
    if (f->nids > WEAVE_FILTER_MAX || f->nowners > WEAVE_FILTER_MAX ||
        f->nrecipients > WEAVE_FILTER_MAX || f->nbundled_in > WEAVE_FILTER_MAX ||
        f->ntags > 64)
        return ao_err_set(err, AO_ELIMIT, "weave: too many filter values (max %d per list, 64 tags)",
                          WEAVE_FILTER_MAX);
    for (size_t i = 0; i < f->ntags; i++)
        if (f->tags[i].nvalues > WEAVE_FILTER_MAX || !f->tags[i].name)
            return ao_err_set(err, AO_EINVAL, "weave: bad tag filter %zu", i);
    bool asc = f->sort == WEAVE_HEIGHT_ASC;
    int64_t lo = 1, hi = INT64_MAX - 1;
    if (f->after) {
        int64_t cur;
        int r = weave_cursor_decode(f->after, &cur, err);
        if (r)
            return r;
        if (asc)
            lo = cur + 1;
        else
            hi = cur - 1;
    }
    weave_rconn *c;
    int r = weave_rconn_get(w, &c, err);
    if (r)
        return r;
    joiner j = { c, asc, err, AO_OK };
    stream *streams = calloc(6 + f->ntags, sizeof *streams);
    int64_t *ids = NULL, *found = NULL;
    size_t ns = 0, nfound = 0;
    bool empty = false;
    if (!streams) {
        r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
        goto done;
    }
    bool ok;
    if (f->height_min >= 0) {
        int64_t v = lookup_seq(c, WQ_HMIN, f->height_min, NULL, &ok, err, &j.rc);
        if (!ok)
            empty = true;
        else if (v > lo)
            lo = v;
    }
    if (f->height_max >= 0) {
        int64_t v = lookup_seq(c, WQ_HMAX, f->height_max, NULL, &ok, err, &j.rc);
        if (!ok)
            empty = true;
        else if (v < hi)
            hi = v;
    }
    if (f->nids) {
        ids = malloc(f->nids * sizeof *ids);
        if (!ids) {
            r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
            goto done;
        }
        size_t n = 0;
        for (size_t i = 0; i < f->nids && !j.rc; i++) {
            int64_t v = lookup_seq(c, WQ_SEQ_OF_ID, 0, f->ids[i], &ok, err, &j.rc);
            if (ok)
                ids[n++] = v;
        }
        qsort(ids, n, sizeof *ids, cmp_i64);
        if (!n)
            empty = true;
        streams[ns].is_arr = true;
        streams[ns].arr = ids;
        streams[ns].narr = n;
        ns++;
    }
    if (j.rc) {
        r = j.rc;
        goto done;
    }
    if (add_key_stream(streams, &ns, WQ_OWNER_DESC, f->owners, f->nowners) ||
        add_key_stream(streams, &ns, WQ_TARGET_DESC, f->recipients, f->nrecipients) ||
        add_key_stream(streams, &ns, WQ_BUNDLE_DESC, f->bundled_in, f->nbundled_in)) {
        r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
        goto done;
    }
    for (size_t t = 0; t < f->ntags; t++) {
        const weave_tag_filter *tf = &f->tags[t];
        if (!tf->nvalues)
            continue;
        sub *subs = calloc(tf->nvalues, sizeof *subs);
        if (!subs) {
            r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
            goto done;
        }
        for (size_t i = 0; i < tf->nvalues; i++) {
            subs[i].kind = WQ_TAG_DESC;
            subs[i].a = tf->name;
            subs[i].b = tf->values[i];
        }
        streams[ns].subs = subs;
        streams[ns].nsubs = tf->nvalues;
        ns++;
    }
    sub all = { .kind = WQ_ALL_DESC };
    if (!ns) {
        streams[0].subs = &all;
        streams[0].nsubs = 1;
        ns = 1;
    }
    found = malloc((first + 1) * sizeof *found);
    if (!found) {
        r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
        goto done;
    }
    /* leapfrog: the candidate moves in the sort direction until every
     * stream agrees on it */
    int64_t cand = asc ? lo : hi;
    size_t agreed = 0, i = 0;
    while (!empty && nfound < first + 1 && !j.rc && cand >= lo && cand <= hi) {
        int64_t x = stream_seek(&j, &streams[i], cand);
        if (asc ? x > hi : x < lo)
            break;
        if (x != cand) {       /* the stream moved the candidate */
            cand = x;
            agreed = 0;
        }
        if (++agreed == ns) {
            found[nfound++] = cand;
            cand += asc ? 1 : -1;
            agreed = 0;
        }
        i = (i + 1) % ns;
    }
    if (j.rc) {
        r = j.rc;
        goto done;
    }
    out->has_next_page = nfound > first;
    if (nfound > first)
        nfound = first;
    if (nfound) {
        out->rows = calloc(nfound, sizeof *out->rows);
        if (!out->rows) {
            r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
            goto done;
        }
    }
    for (size_t k = 0; k < nfound && !r; k++) {
        r = load_meta(w, c, found[k], f->fields, &out->rows[k], err);
        out->n = k + 1;
    }
done:
    if (streams)
        for (size_t k = 0; k < ns; k++)
            if (!streams[k].is_arr && streams[k].subs != &all)
                free(streams[k].subs);
    free(streams);
    free(ids);
    free(found);
    weave_rconn_put(w, c);
    if (r)
        weave_tx_page_free(out);
    return r;
}

/* ---- blocks ---- */

void weave_block_filter_init(weave_block_filter *f)
{
    memset(f, 0, sizeof *f);
    f->height_min = f->height_max = -1;
}

void weave_block_page_free(weave_block_page *p)
{
    if (!p)
        return;
    free(p->rows);
    memset(p, 0, sizeof *p);
}

static void read_block(sqlite3_stmt *st, weave_block *b)
{
    memset(b, 0, sizeof *b);
    b->height = sqlite3_column_int64(st, 0);
    copy_col(st, 1, b->id, sizeof b->id);
    copy_col(st, 2, b->previous, sizeof b->previous);
    b->timestamp_ms = sqlite3_column_int64(st, 3);
    b->tx_count = (uint64_t)sqlite3_column_int64(st, 4);
    weave_cursor_encode(b->height, b->cursor);
}

int weave_query_blocks(weave *w, const weave_block_filter *f, weave_block_page *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    size_t first = f->first ? f->first : 10;
    if (first > WEAVE_PAGE_MAX)
        first = WEAVE_PAGE_MAX;
    if (f->nids > WEAVE_FILTER_MAX)
        return ao_err_set(err, AO_ELIMIT, "weave: too many block ids (max %d)", WEAVE_FILTER_MAX);
    bool asc = f->sort == WEAVE_HEIGHT_ASC;
    int64_t lo = f->height_min >= 0 ? f->height_min : 0;
    int64_t hi = f->height_max >= 0 ? f->height_max : INT64_MAX;
    if (f->after) {
        int64_t cur;
        int r = weave_cursor_decode(f->after, &cur, err);
        if (r)
            return r;
        if (asc && cur + 1 > lo)
            lo = cur + 1;
        if (!asc && cur - 1 < hi)
            hi = cur - 1;
    }
    ao_buf sql;
    ao_buf_init(&sql);
    ao_buf_append_str(&sql, "SELECT height, id, previous, timestamp, tx_count FROM blocks"
                            " WHERE height >= ?1 AND height <= ?2");
    if (f->nids) {
        ao_buf_append_str(&sql, " AND id IN (");
        for (size_t i = 0; i < f->nids; i++)
            ao_buf_printf(&sql, "%s?%zu", i ? "," : "", i + 4);
        ao_buf_append_str(&sql, ")");
    }
    ao_buf_printf(&sql, " ORDER BY height %s LIMIT ?3", asc ? "ASC" : "DESC");
    if (ao_buf_append_byte(&sql, 0)) {
        ao_buf_free(&sql);
        return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
    }
    weave_rconn *c;
    int r = weave_rconn_get(w, &c, err);
    if (r) {
        ao_buf_free(&sql);
        return r;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, (const char *)sql.data, -1, &st, NULL) != SQLITE_OK) {
        r = weave_sql_err(c->db, err, "blocks query");
        goto done;
    }
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    sqlite3_bind_int64(st, 3, (int64_t)first + 1);
    for (size_t i = 0; i < f->nids; i++)
        sqlite3_bind_text(st, (int)i + 4, f->ids[i], -1, SQLITE_STATIC);
    out->rows = calloc(first + 1, sizeof *out->rows);
    if (!out->rows) {
        r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
        goto done;
    }
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW)
        read_block(st, &out->rows[out->n++]);
    if (s != SQLITE_DONE)
        r = weave_sql_err(c->db, err, "blocks query");
    out->has_next_page = out->n > first;
    if (out->n > first)
        out->n = first;
done:
    sqlite3_finalize(st);
    weave_rconn_put(w, c);
    ao_buf_free(&sql);
    if (r)
        weave_block_page_free(out);
    return r;
}

int weave_get_block(weave *w, int64_t height, weave_block *out, ao_error *err)
{
    weave_rconn *c;
    int r = weave_rconn_get(w, &c, err);
    if (r)
        return r;
    sqlite3_stmt *st = weave_stmt(c, WQ_BLOCK, err);
    if (!st) {
        weave_rconn_put(w, c);
        return AO_EIO;
    }
    sqlite3_bind_int64(st, 1, height);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        read_block(st, out);
    else
        r = s == SQLITE_DONE ? ao_err_set(err, AO_ENOTFOUND, "weave: no block at height %lld",
                                          (long long)height)
                             : weave_sql_err(c->db, err, "block");
    sqlite3_reset(st);
    weave_rconn_put(w, c);
    return r;
}

int weave_get_info(weave *w, weave_info *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->network, sizeof out->network, "%s", w->network);
    weave_rconn *c;
    int r = weave_rconn_get(w, &c, err);
    if (r)
        return r;
    sqlite3_stmt *st = NULL;
    /* one read transaction so the numbers agree */
    sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    if (sqlite3_prepare_v2(c->db, "SELECT height, id, timestamp FROM blocks ORDER BY height DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        r = weave_sql_err(c->db, err, "info");
        goto done;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->height = sqlite3_column_int64(st, 0);
        copy_col(st, 1, out->current, sizeof out->current);
        out->timestamp_ms = sqlite3_column_int64(st, 2);
        out->blocks = (uint64_t)out->height + 1;
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(c->db, "SELECT (SELECT coalesce(max(seq), 0) FROM items),"
                           " (SELECT count(*) FROM items WHERE height > ?1)", -1, &st, NULL) != SQLITE_OK) {
        st = NULL;
        r = weave_sql_err(c->db, err, "info");
        goto done;
    }
    sqlite3_bind_int64(st, 1, out->height);
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->items = (uint64_t)sqlite3_column_int64(st, 0);
        out->pending = (uint64_t)sqlite3_column_int64(st, 1);
    } else {
        r = weave_sql_err(c->db, err, "info");
    }
done:
    sqlite3_finalize(st);
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    weave_rconn_put(w, c);
    return r;
}

/* ---- Scheduler-Location (PROTOCOL.md §5) ---- */

int weave_scheduler_location_publish(weave *w, const crypto_wallet *su, const char *url,
                                     uint64_t ttl_ms, char id_out[WEAVE_ID_MAX], ao_error *err)
{
    if (!url || !*url || strlen(url) >= WEAVE_URL_MAX)
        return ao_err_set(err, AO_EINVAL, "weave: scheduler location needs a Url (under %d bytes)",
                          WEAVE_URL_MAX);
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%llu", (unsigned long long)ttl_ms);
    item_tag tags[4] = {
        { (const uint8_t *)"Data-Protocol", 13, (const uint8_t *)"ao", 2 },
        { (const uint8_t *)"Type", 4, (const uint8_t *)"Scheduler-Location", 18 },
        { (const uint8_t *)"Url", 3, (const uint8_t *)url, strlen(url) },
        { (const uint8_t *)"Time-To-Live", 12, (const uint8_t *)ttl, strlen(ttl) },
    };
    /* a fresh anchor keeps two records with the same fields distinct */
    uint8_t anchor[32];
    int64_t now = weave_now_ms();
    crypto_sha256(&now, sizeof now, anchor);
    item_fields f = { NULL, anchor, tags, 4, NULL, 0 };
    ao_buf raw;
    ao_buf_init(&raw);
    int r = item_sign(su, &f, &raw, NULL, err);
    weave_put_result res;
    if (!r)
        r = weave_put(w, raw.data, raw.len, 0, &res, err);
    if (!r && id_out)
        memcpy(id_out, res.id, WEAVE_ID_MAX);
    ao_buf_free(&raw);
    return r;
}

static bool name_is(const weave_tag *t, const char *name)
{
    return t->name_len == strlen(name) && strncasecmp(t->name, name, t->name_len) == 0;
}

int weave_scheduler_location_resolve(weave *w, const char *address,
                                     weave_scheduler_location *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    const char *owners[1] = { address };
    const char *dp[1] = { "ao" }, *ty[1] = { "Scheduler-Location" };
    weave_tag_filter tf[2] = { { "Data-Protocol", dp, 1 }, { "Type", ty, 1 } };
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    f.owners = owners;
    f.nowners = 1;
    f.tags = tf;
    f.ntags = 2;
    f.first = 1;
    f.sort = WEAVE_HEIGHT_DESC;
    weave_tx_page p;
    int r = weave_query_transactions(w, &f, &p, err);
    if (r)
        return r;
    if (!p.n) {
        weave_tx_page_free(&p);
        return ao_err_set(err, AO_ENOTFOUND, "weave: no Scheduler-Location record for %.64s", address);
    }
    weave_item_meta *m = &p.rows[0];
    const weave_tag *url = NULL, *ttl = NULL;
    for (size_t i = 0; i < m->ntags; i++) {
        if (!url && name_is(&m->tags[i], "Url"))
            url = &m->tags[i];
        if (!ttl && name_is(&m->tags[i], "Time-To-Live"))
            ttl = &m->tags[i];
    }
    char *end = NULL;
    unsigned long long t = 0;
    if (ttl)
        t = strtoull(ttl->value, &end, 10);
    if (!url || !ttl || !url->value_len || url->value_len >= WEAVE_URL_MAX || !ttl->value_len ||
        *end) {
        r = ao_err_set(err, AO_EFORMAT, "weave: Scheduler-Location %s lacks a valid %s", m->id,
                       !url || !url->value_len || url->value_len >= WEAVE_URL_MAX ? "Url" : "Time-To-Live");
    } else {
        memcpy(out->url, url->value, url->value_len);
        size_t n = url->value_len;
        while (n > 0 && out->url[n - 1] == '/')
            out->url[--n] = 0;
        out->ttl_ms = t;
        snprintf(out->address, sizeof out->address, "%s", m->owner_address);
        memcpy(out->id, m->id, WEAVE_ID_MAX);
        out->height = m->height;
    }
    weave_tx_page_free(&p);
    return r;
}
