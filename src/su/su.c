/*
 * su.c - the Scheduler Unit's core: opening su.db, the per-process state
 * table, the pool of read connections, the block-height cache, the
 * group-commit writer thread, crash repair at open (re-upload of items
 * whose upload to the data layer was not confirmed) and the publication of
 * the Scheduler-Location record. POST/assign live in su_post.c, the JSON
 * reads in su_read.c.
 *
 * su.db schema:
 *   assignments(process, nonce, timestamp, height, hash_chain, message,
 *               assignment, kind, dh)  PRIMARY KEY(process, nonce)
 *     kind 0 = the process itself (message = process id), 1 = a posted
 *     message, 2 = an assigned existing tx; dh = b64url deep hash of an
 *     MU-pushed item (From-Process), else NULL.
 *   pending(assignment PRIMARY KEY, item BLOB|NULL, araw BLOB)
 *     raw bytes committed with the row and dropped once the data layer
 *     has both items (lazily, in a later commit).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "su/su_internal.h"

static ao_metric *m_commits, *m_assignments, *m_failures;

int64_t su_now(su *s)
{
    return s->now_fn ? s->now_fn(s->clock_ctx) : ao_now_ms();
}

int64_t su_block_height(su *s)
{
    pthread_mutex_lock(&s->hmu);
    int64_t now = ao_mono_ms();
    if (s->height_at == 0 || now - s->height_at >= 1000) {
        weave_info info;
        ao_error e;
        if (s->data.get_info && s->data.get_info(s->data.ctx, &info, &e) == AO_OK)
            s->height = info.height;
        else
            ao_log(AO_LOG_WARN, "su", "block height unavailable, keeping %lld",
                   (long long)s->height);
        s->height_at = now ? now : 1;
    }
    int64_t h = s->height;
    pthread_mutex_unlock(&s->hmu);
    return h;
}

/* ---- process table ---- */

static size_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 1099511628211ull;
    return (size_t)h;
}

static su_proc *find_locked(su *s, const char *pid)
{
    for (su_proc *p = s->buckets[hash_id(pid) & (s->nbuckets - 1)]; p; p = p->hnext)
        if (strcmp(p->id, pid) == 0)
            return p;
    return NULL;
}

su_proc *su_proc_find(su *s, const char *pid)
{
    pthread_rwlock_rdlock(&s->plock);
    su_proc *p = find_locked(s, pid);
    pthread_rwlock_unlock(&s->plock);
    return p;
}

su_proc *su_proc_get_or_add(su *s, const char *pid, ao_error *err)
{
    su_proc *p = su_proc_find(s, pid);
    if (p)
        return p;
    pthread_rwlock_wrlock(&s->plock);
    p = find_locked(s, pid);
    if (!p) {
        if (s->nprocs >= s->nbuckets) {   /* grow x2 */
            size_t nb = s->nbuckets * 2;
            su_proc **b = calloc(nb, sizeof *b);
            if (!b) {
                pthread_rwlock_unlock(&s->plock);
                ao_err_set(err, AO_ENOMEM, "su: out of memory");
                return NULL;
            }
            for (size_t i = 0; i < s->nbuckets; i++)
                for (su_proc *q = s->buckets[i], *n; q; q = n) {
                    n = q->hnext;
                    size_t k = hash_id(q->id) & (nb - 1);
                    q->hnext = b[k];
                    b[k] = q;
                }
            free(s->buckets);
            s->buckets = b;
            s->nbuckets = nb;
        }
        p = calloc(1, sizeof *p);
        if (!p) {
            pthread_rwlock_unlock(&s->plock);
            ao_err_set(err, AO_ENOMEM, "su: out of memory");
            return NULL;
        }
        snprintf(p->id, sizeof p->id, "%s", pid);
        pthread_mutex_init(&p->mu, NULL);
        size_t k = hash_id(pid) & (s->nbuckets - 1);
        p->hnext = s->buckets[k];
        s->buckets[k] = p;
        s->nprocs++;
    }
    pthread_rwlock_unlock(&s->plock);
    return p;
}

static void decode32(const char *b64, uint8_t out[32])
{
    ao_buf b;
    ao_buf_init(&b);
    memset(out, 0, 32);
    if (ao_b64url_decode(b64, strlen(b64), &b, NULL) == AO_OK && b.len == 32)
        memcpy(out, b.data, 32);
    ao_buf_free(&b);
}

/* Set p's state from its newest row (db = any connection). */
static int proc_reload(sqlite3 *db, su_proc *p)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT nonce, timestamp, hash_chain, assignment FROM assignments"
                               " WHERE process=?1 ORDER BY nonce DESC LIMIT 1", -1, &st, NULL))
        return AO_EIO;
    sqlite3_bind_text(st, 1, p->id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        p->next_nonce = (uint64_t)sqlite3_column_int64(st, 0) + 1;
        p->last_ts = sqlite3_column_int64(st, 1);
        decode32((const char *)sqlite3_column_text(st, 2), p->last_chain);
        decode32((const char *)sqlite3_column_text(st, 3), p->last_assignment);
        atomic_store(&p->committed, true);
    } else {
        p->next_nonce = 0;
        p->last_ts = 0;
        atomic_store(&p->committed, false);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? AO_OK : AO_EIO;
}

/* ---- read connections ---- */

#define ROW_COLS "process, nonce, timestamp, height, hash_chain, message, assignment, kind"

void su_row_from_stmt(sqlite3_stmt *st, su_row *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->process, sizeof row->process, "%s", (const char *)sqlite3_column_text(st, 0));
    row->nonce = (uint64_t)sqlite3_column_int64(st, 1);
    row->timestamp = sqlite3_column_int64(st, 2);
    row->height = sqlite3_column_int64(st, 3);
    snprintf(row->hash_chain, sizeof row->hash_chain, "%s", (const char *)sqlite3_column_text(st, 4));
    snprintf(row->message, sizeof row->message, "%s", (const char *)sqlite3_column_text(st, 5));
    snprintf(row->assignment, sizeof row->assignment, "%s", (const char *)sqlite3_column_text(st, 6));
    row->kind = sqlite3_column_int(st, 7);
}

su_reader *su_reader_take(su *s)
{
    pthread_mutex_lock(&s->rmu);
    for (;;) {
        for (int i = 0; i < SU_READERS; i++)
            if (!s->readers[i].busy) {
                s->readers[i].busy = true;
                pthread_mutex_unlock(&s->rmu);
                return &s->readers[i];
            }
        pthread_cond_wait(&s->rcv, &s->rmu);
    }
}

void su_reader_give(su *s, su_reader *r)
{
    pthread_mutex_lock(&s->rmu);
    r->busy = false;
    pthread_cond_signal(&s->rcv);
    pthread_mutex_unlock(&s->rmu);
}

int su_lookup(su *s, su_reader *r, const char *process, const char *message,
              const char *dh, su_row *row, ao_error *err)
{
    sqlite3_stmt *st = dh ? r->by_dh : r->by_msg;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (dh) {
        sqlite3_bind_text(st, 1, process, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, dh, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_text(st, 1, message, -1, SQLITE_STATIC);
        if (process)
            sqlite3_bind_text(st, 2, process, -1, SQLITE_STATIC);
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        su_row_from_stmt(st, row);
        sqlite3_reset(st);
        return AO_OK;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return ao_err_set(err, AO_ENOTFOUND, "Message or Process not found");
    return ao_err_set(err, AO_EIO, "su: lookup failed: %s", sqlite3_errmsg(r->db));
}

static int upload(su *s, const uint8_t *item, size_t ilen, const uint8_t *araw, size_t alen,
                  ao_error *err)
{
    const uint8_t *raws[2];
    size_t lens[2], n = 0;
    raws[n] = araw; lens[n++] = alen;
    if (item) {
        raws[n] = item; lens[n++] = ilen;
    }
    int r = s->data.put_many(s->data.ctx, raws, lens, n, NULL, err);
    if (r)
        ao_err_wrap(err, "su: storing in the data layer");
    return r;
}

int su_repair_one(su *s, su_reader *r, const char *assignment, ao_error *err)
{
    sqlite3_stmt *st = r->pending;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, assignment, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? AO_OK : ao_err_set(err, AO_EIO, "su: pending lookup failed");
    }
    int res = upload(s, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                     sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), err);
    sqlite3_reset(st);
    if (!res)
        su_mark_uploaded(s, assignment);
    return res;
}

/* ---- tickets and the writer ---- */

void su_ticket_unref(su_ticket *t)
{
    if (atomic_fetch_sub(&t->refs, 1) == 1) {
        ao_buf_free(&t->araw);
        free(t);
    }
}

void su_enqueue(su *s, su_ticket *t)
{
    pthread_mutex_lock(&s->qmu);
    t->next = NULL;
    t->state = SU_T_QUEUED;
    atomic_fetch_add(&t->refs, 1);       /* the writer's */
    if (s->qtail)
        s->qtail->next = t;
    else
        s->qhead = t;
    s->qtail = t;
    s->qlen++;
    pthread_cond_signal(&s->qcv);
    pthread_mutex_unlock(&s->qmu);
}

int su_wait_commit(su *s, su_ticket *t)
{
    pthread_mutex_lock(&s->qmu);
    while (t->state == SU_T_QUEUED)
        pthread_cond_wait(&s->dcv, &s->qmu);
    int st = t->state;
    pthread_mutex_unlock(&s->qmu);
    return st;
}

void su_ticket_set_state(su *s, su_ticket *t, int state)
{
    pthread_mutex_lock(&s->qmu);
    t->state = state;
    pthread_cond_broadcast(&s->dcv);
    pthread_mutex_unlock(&s->qmu);
}

void su_mark_uploaded(su *s, const char *assignment)
{
    pthread_mutex_lock(&s->qmu);
    if (s->nuploaded == s->capuploaded) {
        size_t nc = s->capuploaded ? s->capuploaded * 2 : 256;
        void *p = realloc(s->uploaded, nc * sizeof *s->uploaded);
        if (!p) {   /* the row stays pending: re-uploaded at the next open */
            pthread_mutex_unlock(&s->qmu);
            return;
        }
        s->uploaded = p;
        s->capuploaded = nc;
    }
    snprintf(s->uploaded[s->nuploaded++], SU_ID_LEN + 1, "%s", assignment);
    pthread_mutex_unlock(&s->qmu);
}

void su_upload_failed(su *s)
{
    pthread_mutex_lock(&s->qmu);
    atomic_store(&s->retry_uploads, true);
    pthread_cond_signal(&s->qcv);   /* the writer may be in an untimed wait */
    pthread_mutex_unlock(&s->qmu);
}

static bool exec(sqlite3 *db, const char *sql);

/* Writer, idle: upload the pending rows again (idempotent) and queue them
 * for removal. A row a caller is uploading right now may be put twice. */
static void retry_pending(su *s)
{
    atomic_store(&s->retry_uploads, false);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->wdb, "SELECT assignment, item, araw FROM pending", -1, &st, NULL))
        return;
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        ao_error err;
        if (upload(s, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                   sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), &err)) {
            atomic_store(&s->retry_uploads, true);   /* still down: later */
            break;
        }
        su_mark_uploaded(s, (const char *)sqlite3_column_text(st, 0));
        n++;
    }
    sqlite3_finalize(st);
    if (n)
        ao_log(AO_LOG_INFO, "su", "uploaded %zu pending assignments again", n);
}

static bool exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        ao_log(AO_LOG_ERROR, "su", "sqlite: %s: %s", sql, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return false;
    }
    return true;
}

/* One transaction: the rows and pending bytes of batch (tickets whose
 * process was reloaded since they were built are left out and failed),
 * and the removal of uploaded pending rows. */
static bool commit_batch(su *s, su_ticket *batch, char (*up)[SU_ID_LEN + 1], size_t nup)
{
    if (!exec(s->wdb, "BEGIN"))
        return false;
    for (su_ticket *t = batch; t; t = t->next) {
        if (t->gen != atomic_load(&t->proc->gen))
            continue;
        sqlite3_stmt *st = s->ins_row;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, t->process, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)t->nonce);
        sqlite3_bind_int64(st, 3, t->timestamp);
        sqlite3_bind_int64(st, 4, t->height);
        sqlite3_bind_text(st, 5, t->hash_chain, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, t->message, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, t->assignment, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 8, t->kind);
        if (t->dh[0])
            sqlite3_bind_text(st, 9, t->dh, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 9);
        if (sqlite3_step(st) != SQLITE_DONE) {
            ao_log(AO_LOG_ERROR, "su", "insert %s/%llu: %s", t->process,
                   (unsigned long long)t->nonce, sqlite3_errmsg(s->wdb));
            sqlite3_reset(st);
            goto fail;
        }
        st = s->ins_pending;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, t->assignment, -1, SQLITE_STATIC);
        if (t->item_raw)
            sqlite3_bind_blob(st, 2, t->item_raw, (int)t->item_len, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 2);
        sqlite3_bind_blob(st, 3, t->araw.data, (int)t->araw.len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            ao_log(AO_LOG_ERROR, "su", "pending %s: %s", t->assignment, sqlite3_errmsg(s->wdb));
            sqlite3_reset(st);
            goto fail;
        }
    }
    for (size_t i = 0; i < nup; i++) {
        sqlite3_stmt *st = s->del_pending;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, up[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_reset(st);
            goto fail;
        }
    }
    sqlite3_reset(s->ins_row);
    sqlite3_reset(s->ins_pending);
    sqlite3_reset(s->del_pending);
    if (!exec(s->wdb, "COMMIT"))
        goto fail;
    return true;
fail:
    sqlite3_reset(s->ins_row);
    sqlite3_reset(s->ins_pending);
    sqlite3_reset(s->del_pending);
    exec(s->wdb, "ROLLBACK");
    return false;
}

static void *writer_main(void *arg)
{
    su *s = arg;
    pthread_setname_np(pthread_self(), "su-writer");   /* per-thread CPU (bench/e2e) */
    int64_t last_retry = 0;
    for (;;) {
        pthread_mutex_lock(&s->qmu);
        while (!s->qhead && !s->stop) {
            if (atomic_load(&s->retry_uploads) && ao_mono_ms() - last_retry >= 500) {
                pthread_mutex_unlock(&s->qmu);
                retry_pending(s);
                last_retry = ao_mono_ms();
                pthread_mutex_lock(&s->qmu);
                continue;
            }
            if (s->nuploaded || atomic_load(&s->retry_uploads)) {
                /* idle: flush the uploaded list / retry after a while */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 200 * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                if (pthread_cond_timedwait(&s->qcv, &s->qmu, &ts) == ETIMEDOUT)
                    break;
            } else {
                pthread_cond_wait(&s->qcv, &s->qmu);
            }
        }
        if (!s->qhead && !s->nuploaded && s->stop) {
            pthread_mutex_unlock(&s->qmu);
            break;
        }
        /* take up to max_batch tickets and the uploaded list */
        su_ticket *batch = s->qhead, *last = NULL;
        size_t n = 0;
        for (su_ticket *t = s->qhead; t && n < s->max_batch; t = t->next) {
            last = t;
            n++;
        }
        if (last) {
            s->qhead = last->next;
            if (!s->qhead)
                s->qtail = NULL;
            last->next = NULL;
        } else {
            batch = NULL;
        }
        s->qlen -= n;
        char (*up)[SU_ID_LEN + 1] = s->uploaded;
        size_t nup = s->nuploaded;
        s->uploaded = NULL;
        s->nuploaded = s->capuploaded = 0;
        pthread_mutex_unlock(&s->qmu);

        bool ok = commit_batch(s, batch, up, nup);
        if (!ok) {
            /* reload every process of the batch: no gap, no reuse */
            ao_log(AO_LOG_ERROR, "su", "commit of %zu assignments failed", n);
            ao_metric_add(m_failures, 1);
            for (su_ticket *t = batch; t; t = t->next) {
                su_proc *p = t->proc;
                pthread_mutex_lock(&p->mu);
                if (t->gen == atomic_load(&p->gen)) {
                    atomic_fetch_add(&p->gen, 1);
                    if (proc_reload(s->wdb, p))
                        ao_log(AO_LOG_ERROR, "su", "reload of %s failed", p->id);
                }
                pthread_mutex_unlock(&p->mu);
            }
        }
        size_t good = 0;
        pthread_mutex_lock(&s->qmu);
        if (!ok && nup) {   /* keep the uploaded ids for the next try */
            for (size_t i = 0; i < nup; i++) {
                if (s->nuploaded == s->capuploaded) {
                    size_t nc = s->capuploaded ? s->capuploaded * 2 : 256;
                    void *p = realloc(s->uploaded, nc * sizeof *s->uploaded);
                    if (!p)
                        break;
                    s->uploaded = p;
                    s->capuploaded = nc;
                }
                memcpy(s->uploaded[s->nuploaded++], up[i], SU_ID_LEN + 1);
            }
        }
        su_ticket *t = batch;
        while (t) {
            su_ticket *next = t->next;
            bool mine = ok && t->gen == atomic_load(&t->proc->gen);
            if (mine) {
                good++;
                if (t->kind == SU_KIND_PROCESS)
                    atomic_store(&t->proc->committed, true);
            }
            t->state = mine ? SU_T_COMMITTED : SU_T_FAILED;
            t = next;
        }
        pthread_cond_broadcast(&s->dcv);
        pthread_mutex_unlock(&s->qmu);
        for (t = batch; t;) {   /* drop the writer's references */
            su_ticket *next = t->next;
            su_ticket_unref(t);
            t = next;
        }
        free(up);
        if (n) {
            ao_metric_add(m_commits, 1);
            ao_metric_add(m_assignments, (int64_t)good);
        }
    }
    return NULL;
}

/* ---- open / close ---- */

static int open_db(su *s, const char *path, sqlite3 **db, ao_error *err)
{
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        ao_err_set(err, AO_EIO, "su: cannot open %s: %s", path, *db ? sqlite3_errmsg(*db) : "no memory");
        sqlite3_close(*db);
        *db = NULL;
        return AO_EIO;
    }
    sqlite3_busy_timeout(*db, 10000);
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", s->no_fsync ? "OFF" : "FULL");
    if (!exec(*db, sql))
        return ao_err_set(err, AO_EIO, "su: cannot configure %s", path);
    return AO_OK;
}

static const char *SCHEMA =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS assignments("
    " process TEXT NOT NULL, nonce INTEGER NOT NULL, timestamp INTEGER NOT NULL,"
    " height INTEGER NOT NULL, hash_chain TEXT NOT NULL, message TEXT NOT NULL,"
    " assignment TEXT NOT NULL UNIQUE, kind INTEGER NOT NULL, dh TEXT,"
    " PRIMARY KEY(process, nonce)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX IF NOT EXISTS assignments_msg ON assignments(message, process);"
    "CREATE INDEX IF NOT EXISTS assignments_ts ON assignments(process, timestamp);"
    "CREATE INDEX IF NOT EXISTS assignments_dh ON assignments(process, dh) WHERE dh IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS pending(assignment TEXT PRIMARY KEY, item BLOB, araw BLOB NOT NULL);";

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st, ao_error *err)
{
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return ao_err_set(err, AO_EIO, "su: prepare failed: %s", sqlite3_errmsg(db));
    return AO_OK;
}

static int load_procs(su *s, ao_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->wdb, "SELECT process, max(nonce), timestamp, hash_chain, assignment"
                                   " FROM assignments GROUP BY process", -1, &st, NULL))
        return ao_err_set(err, AO_EIO, "su: %s", sqlite3_errmsg(s->wdb));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        su_proc *p = su_proc_get_or_add(s, (const char *)sqlite3_column_text(st, 0), err);
        if (!p) {
            sqlite3_finalize(st);
            return AO_ENOMEM;
        }
        p->next_nonce = (uint64_t)sqlite3_column_int64(st, 1) + 1;
        p->last_ts = sqlite3_column_int64(st, 2);
        decode32((const char *)sqlite3_column_text(st, 3), p->last_chain);
        decode32((const char *)sqlite3_column_text(st, 4), p->last_assignment);
        atomic_store(&p->committed, true);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return ao_err_set(err, AO_EIO, "su: loading processes: %s", sqlite3_errmsg(s->wdb));
    return AO_OK;
}

/* Crash repair: put every pending item into the data layer, then drop the
 * pending rows. Idempotent. */
static int repair_pending(su *s, ao_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->wdb, "SELECT assignment, item, araw FROM pending", -1, &st, NULL))
        return ao_err_set(err, AO_EIO, "su: %s", sqlite3_errmsg(s->wdb));
    int rc, r = AO_OK;
    size_t n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        r = upload(s, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                   sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), err);
        if (r)
            break;
        n++;
    }
    sqlite3_finalize(st);
    if (r)
        return r;
    if (rc != SQLITE_DONE)
        return ao_err_set(err, AO_EIO, "su: reading pending: %s", sqlite3_errmsg(s->wdb));
    if (!exec(s->wdb, "DELETE FROM pending"))
        return ao_err_set(err, AO_EIO, "su: clearing pending rows failed");
    if (n)
        ao_log(AO_LOG_INFO, "su", "repaired %zu assignments not confirmed in the data layer", n);
    return AO_OK;
}

static int publish_location(su *s, const char *url, uint64_t ttl, ao_error *err)
{
    char ttls[24];
    snprintf(ttls, sizeof ttls, "%llu", (unsigned long long)ttl);
    item_tag tags[4] = {
        { (const uint8_t *)"Data-Protocol", 13, (const uint8_t *)"ao", 2 },
        { (const uint8_t *)"Type", 4, (const uint8_t *)"Scheduler-Location", 18 },
        { (const uint8_t *)"Url", 3, (const uint8_t *)url, strlen(url) },
        { (const uint8_t *)"Time-To-Live", 12, (const uint8_t *)ttls, strlen(ttls) },
    };
    uint8_t anchor[32];   /* fresh per record: two records never share an id */
    struct { int64_t now, mono; const void *self; } seed = { su_now(s), ao_mono_ms(), s };
    crypto_sha256(&seed, sizeof seed, anchor);
    item_fields f = { NULL, anchor, tags, 4, NULL, 0 };
    ao_buf raw;
    ao_buf_init(&raw);
    int r = item_sign(s->wallet, &f, &raw, NULL, err);
    if (!r)
        r = s->data.put(s->data.ctx, raw.data, raw.len, NULL, err);
    ao_buf_free(&raw);
    if (r)
        ao_err_wrap(err, "su: publishing the Scheduler-Location record");
    return r;
}

int su_open(const su_options *opt, su **out, ao_error *err)
{
    *out = NULL;
    if (!opt || !opt->dir || !opt->data || !opt->wallet || !opt->data->put_many ||
        !opt->data->put || !opt->data->get)
        return ao_err_set(err, AO_EINVAL, "su: dir, data layer and wallet are required");
    if (!m_commits) {
        m_commits = ao_metric_get("ao_su_commits_total", "SU group commits", false);
        m_assignments = ao_metric_get("ao_su_assignments_total", "assignments made durable", false);
        m_failures = ao_metric_get("ao_su_commit_failures_total", "failed SU commits", false);
    }
    if (mkdir(opt->dir, 0755) != 0 && errno != EEXIST)
        return ao_err_set(err, AO_EIO, "su: cannot create %s: %s", opt->dir, strerror(errno));
    su *s = calloc(1, sizeof *s);
    if (!s)
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    s->dir = strdup(opt->dir);
    s->data = *opt->data;
    s->max_batch = opt->max_batch ? opt->max_batch : 1024;
    s->no_fsync = opt->no_fsync;
    s->now_fn = opt->now_ms;
    s->clock_ctx = opt->clock_ctx;
    pthread_rwlock_init(&s->plock, NULL);
    pthread_mutex_init(&s->hmu, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rcv, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    pthread_cond_init(&s->dcv, NULL);
    s->nbuckets = 256;
    s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
    int r = AO_OK;
    if (!s->dir || !s->buckets) {
        r = ao_err_set(err, AO_ENOMEM, "su: out of memory");
        goto fail;
    }
    char *json = NULL;
    if ((r = crypto_wallet_to_json(opt->wallet, &json, err)) == AO_OK) {
        r = crypto_wallet_parse(json, strlen(json), &s->wallet, err);
        free(json);
    }
    if (r)
        goto fail;
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(s->wallet, &olen);
    crypto_owner_address_b64(owner, olen, s->address);

    char path[4096];
    snprintf(path, sizeof path, "%s/su.db", opt->dir);
    if ((r = open_db(s, path, &s->wdb, err)))
        goto fail;
    if (!exec(s->wdb, SCHEMA)) {
        r = ao_err_set(err, AO_EIO, "su: cannot create the schema in %s", path);
        goto fail;
    }
    if ((r = prep(s->wdb, "INSERT INTO assignments(" ROW_COLS ", dh)"
                          " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)", &s->ins_row, err)) ||
        (r = prep(s->wdb, "INSERT OR REPLACE INTO pending(assignment, item, araw) VALUES(?1,?2,?3)",
                  &s->ins_pending, err)) ||
        (r = prep(s->wdb, "DELETE FROM pending WHERE assignment=?1", &s->del_pending, err)))
        goto fail;
    for (int i = 0; i < SU_READERS; i++) {
        su_reader *rd = &s->readers[i];
        if ((r = open_db(s, path, &rd->db, err)) ||
            (r = prep(rd->db, "SELECT " ROW_COLS " FROM assignments WHERE message=?1"
                              " AND (?2 IS NULL OR process=?2) LIMIT 1", &rd->by_msg, err)) ||
            (r = prep(rd->db, "SELECT " ROW_COLS " FROM assignments WHERE process=?1 AND dh=?2"
                              " LIMIT 1", &rd->by_dh, err)) ||
            (r = prep(rd->db, "SELECT item, araw FROM pending WHERE assignment=?1",
                      &rd->pending, err)))
            goto fail;
    }
    if ((r = load_procs(s, err)) || (r = repair_pending(s, err)))
        goto fail;
    if (opt->url && (r = publish_location(s, opt->url,
                                          opt->location_ttl_ms ? opt->location_ttl_ms : 86400000ull,
                                          err)))
        goto fail;
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        r = ao_err_set(err, AO_ENOMEM, "su: cannot start the writer thread");
        goto fail;
    }
    s->writer_started = true;
    ao_log(AO_LOG_INFO, "su", "open %s: %zu processes, address %s", opt->dir, s->nprocs, s->address);
    *out = s;
    return AO_OK;
fail:
    su_close(s);
    return r;
}

void su_close(su *s)
{
    if (!s)
        return;
    if (s->writer_started) {
        pthread_mutex_lock(&s->qmu);
        s->stop = true;
        pthread_cond_signal(&s->qcv);
        pthread_mutex_unlock(&s->qmu);
        pthread_join(s->writer, NULL);
    }
    free(s->uploaded);
    for (int i = 0; i < SU_READERS; i++) {
        sqlite3_finalize(s->readers[i].by_msg);
        sqlite3_finalize(s->readers[i].by_dh);
        sqlite3_finalize(s->readers[i].pending);
        sqlite3_close(s->readers[i].db);
    }
    sqlite3_finalize(s->ins_row);
    sqlite3_finalize(s->ins_pending);
    sqlite3_finalize(s->del_pending);
    sqlite3_close(s->wdb);
    if (s->buckets)
        for (size_t i = 0; i < s->nbuckets; i++)
            for (su_proc *p = s->buckets[i], *n; p; p = n) {
                n = p->hnext;
                pthread_mutex_destroy(&p->mu);
                free(p);
            }
    free(s->buckets);
    crypto_wallet_free(s->wallet);
    pthread_rwlock_destroy(&s->plock);
    pthread_mutex_destroy(&s->hmu);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->rcv);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcv);
    pthread_cond_destroy(&s->dcv);
    free(s->dir);
    free(s);
}

const char *su_address(const su *s)
{
    return s->address;
}

int su_has_process(su *s, const char *process_id, ao_error *err)
{
    su_proc *p = process_id ? su_proc_find(s, process_id) : NULL;
    if (p && atomic_load(&p->committed))
        return AO_OK;
    return ao_err_set(err, AO_ENOTFOUND, "Process not found");
}
