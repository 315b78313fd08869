/*
 * mirror.c - the weave's side of the upstream mirror: the durable queue of
 * top-level items still to be written to an upstream Arweave (weave.h,
 * "mirror queue"). Rows are added by the writer thread in the commit that
 * stores an item (store.c); this file takes batches for the uploader,
 * marks them posted, settles posted transactions and counts. Its updates
 * go through one connection of their own, serialised by w->mmu.
 */
#include "weave/weave_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The mirror's connection, opened on first use. Called with w->mmu held. */
static int mdb_get(weave *w, sqlite3 **db, ao_error *err)
{
    if (!w->mdb) {
        int r = weave_open_db(w, &w->mdb, true, err);
        if (r)
            return r;
    }
    *db = w->mdb;
    return AO_OK;
}

void weave_mirror_close(weave *w)
{
    if (w->mdb)
        sqlite3_close(w->mdb);
    w->mdb = NULL;
}

int weave_mirror_backlog(weave *w, ao_error *err)
{
    /* runs at open, on the writer connection, before the writer starts:
     * the first time, every top-level item; after an open without the
     * mirror, the items stored since (mirror_off_from) */
    const char *sql =
        "BEGIN;"
        "INSERT OR IGNORE INTO mirror(seq) SELECT seq FROM items WHERE bundled_in IS NULL"
        " AND (NOT EXISTS (SELECT 1 FROM meta WHERE key='mirror_since')"
        "  OR seq > (SELECT CAST(value AS INTEGER) FROM meta WHERE key='mirror_off_from'));"
        "DELETE FROM meta WHERE key='mirror_off_from';"
        "INSERT OR IGNORE INTO meta(key, value) VALUES('mirror_since',"
        " (SELECT COALESCE(MAX(seq), 0) FROM items));"
        "COMMIT;";
    if (sqlite3_exec(w->wdb, sql, NULL, NULL, NULL) != SQLITE_OK) {
        int r = weave_sql_err(w->wdb, err, "mirror backlog");
        sqlite3_exec(w->wdb, "ROLLBACK", NULL, NULL, NULL);
        return r;
    }
    return AO_OK;
}

int weave_mirror_note_off(weave *w, ao_error *err)
{
    /* opened without the mirror after it was on: remember from where, so
     * that turning it on again queues what is stored meanwhile */
    const char *sql =
        "INSERT OR IGNORE INTO meta(key, value) SELECT 'mirror_off_from',"
        " (SELECT COALESCE(MAX(seq), 0) FROM items)"
        " WHERE EXISTS (SELECT 1 FROM meta WHERE key='mirror_since');";
    if (sqlite3_exec(w->wdb, sql, NULL, NULL, NULL) != SQLITE_OK)
        return weave_sql_err(w->wdb, err, "mirror off");
    return AO_OK;
}

/* A read connection with sql prepared on it; give both back with
 * reader_done. */
static int reader_prepare(weave *w, const char *sql, const char *what, weave_rconn **c,
                          sqlite3_stmt **st, ao_error *err)
{
    *st = NULL;
    int r = weave_rconn_get(w, c, err);
    if (r)
        return r;
    if (sqlite3_prepare_v2((*c)->db, sql, -1, st, NULL) != SQLITE_OK) {
        r = weave_sql_err((*c)->db, err, what);
        weave_rconn_put(w, *c);
        return r;
    }
    return AO_OK;
}

static void reader_done(weave *w, weave_rconn *c, sqlite3_stmt *st)
{
    sqlite3_finalize(st);
    weave_rconn_put(w, c);
}

void weave_mirror_batch_free(weave_mirror_batch *b)
{
    if (!b)
        return;
    free(b->seqs);
    free(b->raws);
    free(b->lens);
    ao_buf_free(&b->buf);
    memset(b, 0, sizeof *b);
}

int weave_mirror_take(weave *w, size_t max_items, size_t max_bytes, weave_mirror_batch *out,
                      ao_error *err)
{
    memset(out, 0, sizeof *out);
    ao_buf_init(&out->buf);
    if (max_items == 0)
        max_items = 1;
    weave_rconn *c;
    sqlite3_stmt *st;
    int r = reader_prepare(w, "SELECT m.seq, i.id, i.raw_size FROM mirror m JOIN items i"
                              " ON i.seq = m.seq WHERE m.tx IS NULL ORDER BY m.seq LIMIT ?1",
                           "mirror take", &c, &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, (int64_t)max_items);
    size_t cap = 0;
    char (*ids)[WEAVE_ID_MAX] = NULL;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        size_t raw_size = (size_t)sqlite3_column_int64(st, 2);
        if (out->n > 0 && out->bytes + raw_size > max_bytes)
            break;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *sq = realloc(out->seqs, cap * sizeof *sq);
            if (sq)
                out->seqs = sq;
            char (*ni)[WEAVE_ID_MAX] = realloc(ids, cap * sizeof *ids);
            if (ni)
                ids = ni;
            if (!sq || !ni) {
                r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
                break;
            }
        }
        out->seqs[out->n] = sqlite3_column_int64(st, 0);
        snprintf(ids[out->n], WEAVE_ID_MAX, "%s", (const char *)sqlite3_column_text(st, 1));
        out->bytes += raw_size;
        out->n++;
    }
    if (!r && s != SQLITE_ROW && s != SQLITE_DONE)
        r = weave_sql_err(c->db, err, "mirror take");
    reader_done(w, c, st);
    size_t *offs = NULL;
    if (!r && out->n) {
        out->raws = calloc(out->n, sizeof *out->raws);
        out->lens = calloc(out->n, sizeof *out->lens);
        offs = calloc(out->n, sizeof *offs);
        if (!out->raws || !out->lens || !offs)
            r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
    }
    out->bytes = 0;
    for (size_t i = 0; i < out->n && !r; i++) {
        offs[i] = out->buf.len;
        r = weave_get(w, ids[i], &out->buf, err);
        out->lens[i] = out->buf.len - offs[i];
        out->bytes += out->lens[i];
    }
    for (size_t i = 0; i < out->n && !r; i++)   /* the buffer moved while growing */
        out->raws[i] = out->buf.data + offs[i];
    free(offs);
    free(ids);
    if (r)
        weave_mirror_batch_free(out);
    return r;
}

/* A write transaction on the mirror connection: mtx_begin takes w->mmu and
 * begins (*db set even on failure, for mtx_end); mtx_end commits when r is
 * AO_OK, else rolls back, and releases the lock. */
static int mtx_begin(weave *w, sqlite3 **db, ao_error *err)
{
    pthread_mutex_lock(&w->mmu);
    *db = NULL;
    int r = mdb_get(w, db, err);
    if (!r && sqlite3_exec(*db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        r = weave_sql_err(*db, err, "mirror begin");
    return r;
}

static int mtx_end(weave *w, sqlite3 *db, int r, ao_error *err)
{
    if (!r && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        r = weave_sql_err(db, err, "mirror commit");
    if (r && db)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&w->mmu);
    return r;
}

/* One statement with ?1 = text. */
static int exec_text(sqlite3 *db, const char *sql, const char *text, ao_error *err)
{
    sqlite3_stmt *st = NULL;
    int r = AO_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        r = weave_sql_err(db, err, "mirror");
    } else {
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            r = weave_sql_err(db, err, "mirror");
    }
    sqlite3_finalize(st);
    return r;
}

int weave_mirror_posted(weave *w, const weave_mirror_batch *b, const char *tx, int64_t now_ms,
                        ao_error *err)
{
    if (!tx || strlen(tx) >= WEAVE_ID_MAX)
        return ao_err_set(err, AO_EINVAL, "weave: bad transaction id");
    sqlite3 *db;
    int r = mtx_begin(w, &db, err);
    sqlite3_stmt *st = NULL;
    if (!r && sqlite3_prepare_v2(db, "UPDATE mirror SET tx=?1, posted_at=?2 WHERE seq=?3"
                                     " AND tx IS NULL", -1, &st, NULL) != SQLITE_OK)
        r = weave_sql_err(db, err, "mirror posted");
    for (size_t i = 0; i < b->n && !r; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, tx, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now_ms);
        sqlite3_bind_int64(st, 3, b->seqs[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            r = weave_sql_err(db, err, "mirror posted");
    }
    sqlite3_finalize(st);
    return mtx_end(w, db, r, err);
}

int weave_mirror_settle(weave *w, const char *tx, bool confirmed, ao_error *err)
{
    if (!tx || strlen(tx) >= WEAVE_ID_MAX)
        return ao_err_set(err, AO_EINVAL, "weave: bad transaction id");
    sqlite3 *db;
    int r = mtx_begin(w, &db, err);
    if (!r && !confirmed)
        r = exec_text(db, "UPDATE mirror SET tx=NULL, posted_at=NULL WHERE tx=?1", tx, err);
    if (!r && confirmed)
        r = exec_text(db, "INSERT INTO meta(key, value) VALUES('mirror_confirmed',"
                          " (SELECT COUNT(*) FROM mirror WHERE tx=?1)) ON CONFLICT(key) DO UPDATE"
                          " SET value = CAST(value AS INTEGER) + excluded.value", tx, err);
    if (!r && confirmed)
        r = exec_text(db, "DELETE FROM mirror WHERE tx=?1", tx, err);
    return mtx_end(w, db, r, err);
}

int weave_mirror_unconfirmed(weave *w, size_t max, weave_mirror_tx **out, size_t *n,
                             ao_error *err)
{
    *out = NULL;
    *n = 0;
    weave_rconn *c;
    sqlite3_stmt *st;
    int r = reader_prepare(w, "SELECT tx, MIN(posted_at), COUNT(*) FROM mirror WHERE tx IS"
                              " NOT NULL GROUP BY tx ORDER BY MIN(posted_at), tx LIMIT ?1",
                           "mirror unconfirmed", &c, &st, err);
    if (r)
        return r;
    sqlite3_bind_int64(st, 1, (int64_t)(max ? max : 1));
    weave_mirror_tx *v = calloc(max ? max : 1, sizeof *v);
    int s = SQLITE_DONE;
    if (!v)
        r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
    while (!r && (s = sqlite3_step(st)) == SQLITE_ROW) {
        weave_mirror_tx *t = &v[(*n)++];
        snprintf(t->tx, sizeof t->tx, "%s", (const char *)sqlite3_column_text(st, 0));
        t->posted_at_ms = sqlite3_column_int64(st, 1);
        t->items = (uint64_t)sqlite3_column_int64(st, 2);
    }
    if (!r && s != SQLITE_DONE)
        r = weave_sql_err(c->db, err, "mirror unconfirmed");
    reader_done(w, c, st);
    if (r) {
        free(v);
        *n = 0;
        return r;
    }
    *out = v;
    return AO_OK;
}

int weave_mirror_get_stats(weave *w, weave_mirror_stats *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    weave_rconn *c;
    sqlite3_stmt *st;
    const char *sql =
        "SELECT (SELECT COUNT(*) FROM mirror WHERE tx IS NULL),"
        " (SELECT COUNT(*) FROM mirror WHERE tx IS NOT NULL),"
        " (SELECT COUNT(DISTINCT tx) FROM mirror WHERE tx IS NOT NULL),"
        " (SELECT CAST(value AS INTEGER) FROM meta WHERE key='mirror_confirmed'),"
        " (SELECT i.stored_at FROM mirror m JOIN items i ON i.seq = m.seq WHERE m.tx IS NULL"
        "  ORDER BY m.seq LIMIT 1)";
    int r = reader_prepare(w, sql, "mirror stats", &c, &st, err);
    if (r)
        return r;
    if (sqlite3_step(st) != SQLITE_ROW) {
        r = weave_sql_err(c->db, err, "mirror stats");
    } else {
        out->pending = (uint64_t)sqlite3_column_int64(st, 0);
        out->posted = (uint64_t)sqlite3_column_int64(st, 1);
        out->txs_posted = (uint64_t)sqlite3_column_int64(st, 2);
        out->confirmed = (uint64_t)sqlite3_column_int64(st, 3);
        out->oldest_pending_ms = sqlite3_column_int64(st, 4);
    }
    reader_done(w, c, st);
    return r;
}
