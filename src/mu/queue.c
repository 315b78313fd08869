/*
 * queue.c - the Messenger Unit's durable job queue (DIR/mu.db, SQLite WAL,
 * synchronous=FULL): jobs with their UNIQUE identity (source, kind, idx,
 * process), their signed bytes, attempts, backoff time and dead-letter
 * reason; and the monitored processes with their cron cursors. Every
 * function here runs with m->lock held (one connection, one mutex).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "mu/mu_internal.h"

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS jobs("
    " id INTEGER PRIMARY KEY,"
    " source TEXT NOT NULL, kind TEXT NOT NULL, idx INTEGER NOT NULL, process TEXT NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0,"
    " item_id TEXT, target TEXT, initial TEXT, arg TEXT,"
    " flag INTEGER NOT NULL DEFAULT 0, wait INTEGER NOT NULL DEFAULT 0,"
    " raw BLOB, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0,"
    " reason TEXT, time INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE(source, kind, idx, process));"
    "CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, id);"
    "CREATE INDEX IF NOT EXISTS jobs_src ON jobs(source, process, state, id);"
    "CREATE INDEX IF NOT EXISTS jobs_free ON jobs(state, wait, id);"
    "CREATE INDEX IF NOT EXISTS jobs_heads ON jobs(state, wait, source, process, target, id);"
    "CREATE TABLE IF NOT EXISTS monitors("
    " pid TEXT PRIMARY KEY, cursor TEXT, raw BLOB, time INTEGER NOT NULL);";

/* ---- job values ---- */

void mu_job_free(mu_job *j)
{
    if (!j)
        return;
    free(j->source);
    free(j->kind);
    free(j->process);
    free(j->item_id);
    free(j->target);
    free(j->initial);
    free(j->arg);
    free(j->raw);
    free(j->reason);
    memset(j, 0, sizeof *j);
}

int mu_jobs_push(mu_jobs *js, mu_job *j)
{
    if (js->n == js->cap) {
        size_t nc = js->cap ? js->cap * 2 : 8;
        mu_job *v = realloc(js->v, nc * sizeof *v);
        if (!v) {
            mu_job_free(j);
            return AO_ENOMEM;
        }
        js->v = v;
        js->cap = nc;
    }
    js->v[js->n++] = *j;
    memset(j, 0, sizeof *j);
    return AO_OK;
}

void mu_jobs_free(mu_jobs *js)
{
    for (size_t i = 0; i < js->n; i++)
        mu_job_free(&js->v[i]);
    free(js->v);
    memset(js, 0, sizeof *js);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int mu_job_intake(mu_jobs *js, const char *id, const char *pid, const char *target,
                  const uint8_t *raw, size_t len, int64_t next_at)
{
    mu_job j = {0};
    j.source = strdup(id);
    j.kind = strdup("intake");
    j.process = strdup(pid);
    j.item_id = strdup(id);
    j.initial = strdup(id);
    j.target = target && *target ? strdup(target) : NULL;
    j.raw = malloc(len ? len : 1);
    j.raw_len = len;
    j.next_at = next_at;
    if (!j.source || !j.kind || !j.process || !j.item_id || !j.initial || !j.raw ||
        (target && *target && !j.target)) {
        mu_job_free(&j);
        return AO_ENOMEM;
    }
    memcpy(j.raw, raw, len);
    return mu_jobs_push(js, &j);
}

int mu_job_drop_intake(mu_jobs *js, const char *id)
{
    mu_job j = {0};
    j.source = strdup(id);
    j.drop_intake = true;
    if (!j.source)
        return AO_ENOMEM;
    return mu_jobs_push(js, &j);
}

int mu_job_crank(mu_jobs *js, const char *msg, const char *pid, const char *initial)
{
    mu_job j = {0};
    j.source = strdup(msg);
    j.kind = strdup("crank");
    j.process = strdup(pid);
    j.item_id = strdup(msg);
    j.initial = dup_or_null(initial);
    if (!j.source || !j.kind || !j.process || !j.item_id || (initial && !j.initial)) {
        mu_job_free(&j);
        return AO_ENOMEM;
    }
    return mu_jobs_push(js, &j);
}

/* ---- SQL plumbing ---- */

static int sql_err(mu *m, ao_error *err, const char *what)
{
    return ao_err_set(err, AO_EIO, "mu.db %s: %s", what, sqlite3_errmsg(m->db));
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

int mu_q_open(mu *m, ao_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/mu.db", m->opt.dir);
    int rc = sqlite3_open_v2(path, &m->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        ao_err_set(err, AO_EIO, "cannot open %s: %s", path,
                   m->db ? sqlite3_errmsg(m->db) : "out of memory");
        sqlite3_close(m->db);
        m->db = NULL;
        return AO_EIO;
    }
    sqlite3_busy_timeout(m->db, 5000);
    const char *pragmas = m->opt.no_fsync
        ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
        : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
    if (sqlite3_exec(m->db, pragmas, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(m->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK)
        return sql_err(m, err, "schema");
    m->sync_full = -1;
    mu_q_durable(m, true);
    struct { sqlite3_stmt **st; const char *sql; } stmts[] = {
        { &m->st_insert,
          "INSERT OR IGNORE INTO jobs(source,kind,idx,process,state,item_id,target,initial,"
          "arg,flag,wait,raw,reason,time,next_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)" },
        /* INDEXED BY: left to itself the planner took jobs_free (state=0)
         * and visited every pending job, O(backlog) per intake */
        { &m->st_drop_intake, "DELETE FROM jobs INDEXED BY jobs_src WHERE source=?1 AND kind='intake' AND state=0" },
        /* Ready: pending, due, and (for ordered pushes) no earlier pending
         * spawn of the same result nor earlier push to the same target.
         * First among the oldest 256 pending jobs (cheap); when
         * none of them is ready (e.g. a long outbox to one target, all
         * waiting behind its first push), st_claim_all below. */
        { &m->st_claim,
          "SELECT id,source,kind,idx,process,item_id,target,initial,arg,flag,wait,raw,attempts"
          " FROM jobs j WHERE state=0 AND next_at<=?1 AND id<=(SELECT MAX(id) FROM"
          "  (SELECT id FROM jobs WHERE state=0 ORDER BY id LIMIT 256))"
          " AND NOT (wait=1 AND EXISTS("
          "  SELECT 1 FROM jobs k WHERE k.source=j.source AND k.process=j.process"
          "  AND k.state=0 AND k.id<j.id AND (k.kind='spawn' OR"
          "  (k.kind IN ('message','spawned') AND k.target=j.target))))"
          " ORDER BY id LIMIT ?2" },
        /* The same over the whole queue, without visiting every waiting
         * job: candidates are only the first due unordered jobs and the
         * first pending ordered job of each (source, process, target);
         * scanning all of them (one correlated subquery each) made a claim
         * cost O(queue) and a 10,000-message crank to one target quadratic.
         * Pushes to one target are all ordered ones, so such a head has
         * none before it: only an earlier spawn can still hold it. */
        { &m->st_claim_all,
          "SELECT id,source,kind,idx,process,item_id,target,initial,arg,flag,wait,raw,attempts"
          " FROM jobs j WHERE id IN ("
          "  SELECT id FROM (SELECT id FROM jobs WHERE state=0 AND wait=0 AND next_at<=?1"
          "   ORDER BY id LIMIT ?2)"
          "  UNION ALL SELECT MIN(id) FROM jobs WHERE state=0 AND wait=1"
          "   GROUP BY source, process, target)"
          " AND state=0 AND next_at<=?1 AND NOT (wait=1 AND EXISTS("
          "  SELECT 1 FROM jobs k WHERE k.source=j.source AND k.process=j.process"
          "  AND k.kind='spawn' AND k.state=0 AND k.id<j.id))"
          " ORDER BY id LIMIT ?2" },
        { &m->st_done, "UPDATE jobs SET state=1, raw=NULL, time=?2 WHERE id=?1" },
        { &m->st_retry,
          "UPDATE jobs SET attempts=?2, next_at=?3, reason=?4, time=?5 WHERE id=?1" },
        { &m->st_dead, "UPDATE jobs SET state=2, attempts=?2, reason=?3, time=?4 WHERE id=?1" },
        { &m->st_next, "SELECT MIN(next_at) FROM jobs WHERE state=0 AND next_at>?1" },
    };
    for (size_t i = 0; i < sizeof stmts / sizeof stmts[0]; i++)
        if (sqlite3_prepare_v2(m->db, stmts[i].sql, -1, stmts[i].st, NULL) != SQLITE_OK)
            return sql_err(m, err, "prepare");
    rc = mu_q_count_pending(m, &m->pending, err);
    mu_q_gauge(m);
    return rc;
}

void mu_q_gauge(mu *m)
{
    if (!m->depth)
        m->depth = ao_metric_get("ao_mu_queue_depth", "MU jobs not yet done (pushes, cranks)",
                                 true);
    if (m->depth)
        ao_metric_set(m->depth, (int64_t)m->pending);
}

void mu_q_close(mu *m)
{
    sqlite3_finalize(m->st_insert);
    sqlite3_finalize(m->st_claim);
    sqlite3_finalize(m->st_claim_all);
    sqlite3_finalize(m->st_done);
    sqlite3_finalize(m->st_retry);
    sqlite3_finalize(m->st_dead);
    sqlite3_finalize(m->st_next);
    sqlite3_finalize(m->st_drop_intake);
    sqlite3_close(m->db);
    m->db = NULL;
}

void mu_q_durable(mu *m, bool full)
{
    int want = full && !m->opt.no_fsync ? 1 : 0;
    if (want == m->sync_full)
        return;
    if (sqlite3_exec(m->db, want ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF", NULL,
                     NULL, NULL) == SQLITE_OK)
        m->sync_full = want;
    else
        m->sync_full = -1;
}

int mu_q_begin(mu *m, ao_error *err)
{
    if (sqlite3_exec(m->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return sql_err(m, err, "begin");
    return AO_OK;
}

int mu_q_commit(mu *m, ao_error *err)
{
    if (sqlite3_exec(m->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = sql_err(m, err, "commit");
        mu_q_rollback(m);
        return rc;
    }
    return AO_OK;
}

void mu_q_rollback(mu *m)
{
    sqlite3_exec(m->db, "ROLLBACK", NULL, NULL, NULL);
}

/* The intake job of source is done with: deleted (it may be gone). */
static int drop_intake(mu *m, const char *source, uint64_t *dropped, ao_error *err)
{
    sqlite3_stmt *st = m->st_drop_intake;
    sqlite3_reset(st);
    bind_text(st, 1, source);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sql_err(m, err, "drop intake");
    *dropped += (uint64_t)sqlite3_changes(m->db);
    return AO_OK;
}

int mu_q_insert(mu *m, const mu_job *j, uint64_t *added, ao_error *err)
{
    sqlite3_stmt *st = m->st_insert;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    bind_text(st, 1, j->source);
    bind_text(st, 2, j->kind);
    sqlite3_bind_int64(st, 3, j->idx);
    bind_text(st, 4, j->process);
    sqlite3_bind_int(st, 5, j->state);
    bind_text(st, 6, j->item_id);
    bind_text(st, 7, j->target);
    bind_text(st, 8, j->initial);
    bind_text(st, 9, j->arg);
    sqlite3_bind_int(st, 10, j->flag);
    sqlite3_bind_int(st, 11, j->wait);
    if (j->raw)
        sqlite3_bind_blob(st, 12, j->raw, (int)j->raw_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 12);
    bind_text(st, 13, j->reason);
    sqlite3_bind_int64(st, 14, ao_now_ms());
    sqlite3_bind_int64(st, 15, j->next_at);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sql_err(m, err, "insert job");
    if (added && sqlite3_changes(m->db) > 0 && j->state == MU_ST_PENDING)
        (*added)++;
    return AO_OK;
}

int mu_q_insert_all(mu *m, const mu_jobs *js, ao_error *err)
{
    uint64_t added = 0, dropped = 0;
    mu_q_durable(m, true);
    int rc = mu_q_begin(m, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < js->n && rc == AO_OK; i++) {
        const mu_job *j = &js->v[i];
        if (j->drop_intake)
            rc = drop_intake(m, j->source, &dropped, err);
        if (rc == AO_OK && j->kind)
            rc = mu_q_insert(m, j, &added, err);
    }
    if (rc) {
        mu_q_rollback(m);
        return rc;
    }
    rc = mu_q_commit(m, err);
    if (rc == AO_OK) {
        m->pending += added;
        m->pending = dropped > m->pending ? 0 : m->pending - dropped;
        mu_q_gauge(m);
    }
    return rc;
}

static bool is_running(const mu *m, int64_t id)
{
    for (size_t i = 0; i < m->nrunning; i++)
        if (m->running[i] == id)
            return true;
    return false;
}

/* 1 and *out from one claim statement, 0 if it has no usable row. */
static int claim_with(mu *m, sqlite3_stmt *st, int64_t now, mu_job *out, ao_error *err)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, (int64_t)m->nrunning + 1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (is_running(m, id))
            continue;
        memset(out, 0, sizeof *out);
        out->rowid = id;
        out->source = col_dup(st, 1);
        out->kind = col_dup(st, 2);
        out->idx = sqlite3_column_int64(st, 3);
        out->process = col_dup(st, 4);
        out->item_id = col_dup(st, 5);
        out->target = col_dup(st, 6);
        out->initial = col_dup(st, 7);
        out->arg = col_dup(st, 8);
        out->flag = sqlite3_column_int(st, 9);
        out->wait = sqlite3_column_int(st, 10);
        int n = sqlite3_column_bytes(st, 11);
        const void *b = sqlite3_column_blob(st, 11);
        if (b && n > 0) {
            out->raw = malloc((size_t)n);
            if (out->raw) {
                memcpy(out->raw, b, (size_t)n);
                out->raw_len = (size_t)n;
            }
        }
        out->attempts = (uint32_t)sqlite3_column_int64(st, 12);
        sqlite3_reset(st);
        if (!out->source || !out->kind || !out->process || (b && n > 0 && !out->raw)) {
            mu_job_free(out);
            return ao_err_set(err, AO_ENOMEM, "out of memory reading a job");
        }
        return 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sql_err(m, err, "claim");
    return 0;
}

int mu_q_claim(mu *m, int64_t now, mu_job *out, int64_t *wake, ao_error *err)
{
    *wake = 0;
    int rc = claim_with(m, m->st_claim, now, out, err);
    if (rc == 0)
        rc = claim_with(m, m->st_claim_all, now, out, err);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = m->st_next;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, now);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        *wake = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

static int step_once(mu *m, sqlite3_stmt *st, ao_error *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sql_err(m, err, what);
    return AO_OK;
}

int mu_q_mark_done(mu *m, int64_t rowid, ao_error *err)
{
    sqlite3_stmt *st = m->st_done;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_int64(st, 2, ao_now_ms());
    return step_once(m, st, err, "mark done");
}

int mu_q_mark_retry(mu *m, int64_t rowid, uint32_t attempts, int64_t next_at,
                    const char *reason, ao_error *err)
{
    sqlite3_stmt *st = m->st_retry;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_int64(st, 2, attempts);
    sqlite3_bind_int64(st, 3, next_at);
    bind_text(st, 4, reason);
    sqlite3_bind_int64(st, 5, ao_now_ms());
    return step_once(m, st, err, "mark retry");
}

int mu_q_mark_dead(mu *m, int64_t rowid, uint32_t attempts, const char *reason, ao_error *err)
{
    sqlite3_stmt *st = m->st_dead;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, rowid);
    sqlite3_bind_int64(st, 2, attempts);
    bind_text(st, 3, reason);
    sqlite3_bind_int64(st, 4, ao_now_ms());
    return step_once(m, st, err, "mark dead");
}

int mu_q_kill_notice(mu *m, const mu_job *spawn, ao_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(m->db,
                           "UPDATE jobs SET state=2, reason='its spawn failed', time=?4"
                           " WHERE source=?1 AND process=?2 AND idx=?3 AND kind='spawned'"
                           " AND state=0", -1, &st, NULL) != SQLITE_OK)
        return sql_err(m, err, "prepare");
    bind_text(st, 1, spawn->source);
    bind_text(st, 2, spawn->process);
    sqlite3_bind_int64(st, 3, spawn->idx);
    sqlite3_bind_int64(st, 4, ao_now_ms());
    int rc = sqlite3_step(st);
    int changed = sqlite3_changes(m->db);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sql_err(m, err, "kill notice");
    if (changed > 0 && m->pending >= (uint64_t)changed)
        m->pending -= (uint64_t)changed;
    return AO_OK;
}

int mu_q_count_pending(mu *m, uint64_t *out, ao_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(m->db, "SELECT COUNT(*) FROM jobs WHERE state=0", -1, &st, NULL)
        != SQLITE_OK)
        return sql_err(m, err, "prepare");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? AO_OK : sql_err(m, err, "count");
}

int mu_q_dead_json(mu *m, ao_buf *body, ao_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(m->db,
                           "SELECT item_id,source,kind,idx,process,reason,attempts,time"
                           " FROM jobs WHERE state=2 ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return sql_err(m, err, "prepare");
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "deadLetters");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        const char *names[] = { "id", "source", "kind" };
        for (int i = 0; i < 3; i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            cJSON_AddStringToObject(o, names[i], t ? (const char *)t : "");
        }
        cJSON_AddNumberToObject(o, "index", (double)sqlite3_column_int64(st, 3));
        const unsigned char *p = sqlite3_column_text(st, 4);
        cJSON_AddStringToObject(o, "process", p ? (const char *)p : "");
        const unsigned char *r = sqlite3_column_text(st, 5);
        cJSON_AddStringToObject(o, "reason", r ? (const char *)r : "");
        cJSON_AddNumberToObject(o, "attempts", (double)sqlite3_column_int64(st, 6));
        cJSON_AddNumberToObject(o, "time", (double)sqlite3_column_int64(st, 7));
        cJSON_AddItemToArray(arr, o);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(root);
        return sql_err(m, err, "dead letters");
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    int r2 = ao_buf_append_str(body, s);
    free(s);
    return r2 ? ao_err_set(err, AO_ENOMEM, "out of memory") : AO_OK;
}

int mu_q_monitor_add(mu *m, const char *pid, const uint8_t *raw, size_t len, ao_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(m->db,
                           "INSERT INTO monitors(pid,cursor,raw,time) VALUES(?1,NULL,?2,?3)"
                           " ON CONFLICT(pid) DO UPDATE SET raw=excluded.raw", -1, &st, NULL)
        != SQLITE_OK)
        return sql_err(m, err, "prepare");
    bind_text(st, 1, pid);
    if (raw && len)
        sqlite3_bind_blob(st, 2, raw, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int64(st, 3, ao_now_ms());
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AO_OK : sql_err(m, err, "add monitor");
}

int mu_q_monitor_del(mu *m, const char *pid, ao_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(m->db, "DELETE FROM monitors WHERE pid=?1", -1, &st, NULL)
        != SQLITE_OK)
        return sql_err(m, err, "prepare");
    bind_text(st, 1, pid);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AO_OK : sql_err(m, err, "delete monitor");
}

int mu_q_monitors(mu *m, char ***pids, char ***cursors, size_t *n, ao_error *err)
{
    *pids = NULL;
    *cursors = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(m->db, "SELECT pid,cursor FROM monitors ORDER BY pid", -1, &st,
                           NULL) != SQLITE_OK)
        return sql_err(m, err, "prepare");
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **a = realloc(*pids, nc * sizeof *a);
            if (!a)
                break;
            *pids = a;
            char **b = realloc(*cursors, nc * sizeof *b);
            if (!b)
                break;
            *cursors = b;
            cap = nc;
        }
        (*pids)[*n] = col_dup(st, 0);
        (*cursors)[*n] = col_dup(st, 1);
        (*n)++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        for (size_t i = 0; i < *n; i++) {
            free((*pids)[i]);
            free((*cursors)[i]);
        }
        free(*pids);
        free(*cursors);
        *pids = *cursors = NULL;
        *n = 0;
        return ao_err_set(err, AO_EIO, "reading monitors failed");
    }
    return AO_OK;
}

int mu_q_monitor_cursor(mu *m, const char *pid, const char *cursor, ao_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(m->db, "UPDATE monitors SET cursor=?2 WHERE pid=?1", -1, &st, NULL)
        != SQLITE_OK)
        return sql_err(m, err, "prepare");
    bind_text(st, 1, pid);
    bind_text(st, 2, cursor);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? AO_OK : sql_err(m, err, "monitor cursor");
}
