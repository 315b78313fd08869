/*
 * cu_store.c - DIR/cu.db, the Compute Unit's SQLite store (WAL,
 * synchronous=FULL unless no_fsync): one row per evaluated message (its
 * result JSON and ordering keys: timestamp, ordinate = nonce, cron index)
 * and the checkpoint index. Results are committed in groups: every batch
 * waiting while a commit runs goes into the next transaction together
 * (one fsync for many messages of many processes). Also the /results
 * cursors.
 *
 *   CREATE TABLE results(pid TEXT, ts INTEGER, ordinate INTEGER,
 *     cron INTEGER, cron_label TEXT, msg_id TEXT, block_height INTEGER,
 *     json TEXT, PRIMARY KEY(pid, ts, ordinate, cron)) WITHOUT ROWID;
 *   CREATE TABLE checkpoints(pid, ts, ordinate, cron, block_height,
 *     sched_ts, cron_next, cron_index, hash_chain, module, sha256, file, mem_len,
 *     PRIMARY KEY(pid, ts, ordinate, cron));
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cu/cu_internal.h"

/* One caller's rows waiting for a commit. */
typedef struct put_req {
    const char *pid;
    const cu_result_row *rows;
    size_t n;
    bool done;
    int rc;
    ao_error err;
    struct put_req *next;
} put_req;

struct cu_store {
    sqlite3 *db;
    pthread_mutex_t mu;          /* the connection */
    sqlite3_stmt *ins, *by_nonce, *ins_ckpt, *ckpt;
    pthread_mutex_t qmu;         /* group commit: waiting puts */
    pthread_cond_t qcv;
    put_req *pending;
    bool committing;
};

static int db_err(cu_store *s, ao_error *err, const char *what)
{
    return ao_err_set(err, AO_EIO, "cu.db: %s: %s", what, sqlite3_errmsg(s->db));
}

int cu_store_open(const char *dir, bool no_fsync, cu_store **out, ao_error *err)
{
    *out = NULL;
    if (mkdir(dir, 0755) != 0) {
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return ao_err_set(err, AO_EIO, "cu: cannot create %s", dir);
    }
    cu_store *s = calloc(1, sizeof *s);
    if (!s) return ao_err_set(err, AO_ENOMEM, "cu: out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->qmu, NULL);
    pthread_cond_init(&s->qcv, NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/cu.db", dir);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        int rc = db_err(s, err, "open");
        cu_store_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, 10000);
    char sql[2048];
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
             "CREATE TABLE IF NOT EXISTS results(pid TEXT NOT NULL, ts INTEGER NOT NULL,"
             " ordinate INTEGER NOT NULL, cron INTEGER NOT NULL, cron_label TEXT,"
             " msg_id TEXT, block_height INTEGER NOT NULL, json TEXT NOT NULL,"
             " PRIMARY KEY(pid, ts, ordinate, cron)) WITHOUT ROWID;"
             "CREATE INDEX IF NOT EXISTS results_nonce ON results(pid, ordinate) WHERE cron = 0;"
             "CREATE TABLE IF NOT EXISTS checkpoints(pid TEXT NOT NULL, ts INTEGER NOT NULL,"
             " ordinate INTEGER NOT NULL, cron INTEGER NOT NULL, block_height INTEGER NOT NULL,"
             " sched_ts INTEGER NOT NULL, cron_next INTEGER NOT NULL, cron_index INTEGER NOT NULL, hash_chain TEXT NOT NULL,"
             " module TEXT NOT NULL, sha256 TEXT NOT NULL, file TEXT NOT NULL, mem_len INTEGER NOT NULL,"
             " PRIMARY KEY(pid, ts, ordinate, cron));",
             no_fsync ? "OFF" : "FULL");
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO results(pid,ts,ordinate,cron,cron_label,msg_id,"
                           "block_height,json) VALUES(?,?,?,?,?,?,?,?)", -1, &s->ins, NULL) != SQLITE_OK ||
        /* INDEXED BY: the planner otherwise walks the primary key over
         * every result of the process (O(results) per /result) */
        sqlite3_prepare_v2(s->db, "SELECT json FROM results INDEXED BY results_nonce WHERE pid=? AND ordinate=? AND cron=0",
                           -1, &s->by_nonce, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO checkpoints VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", -1,
                           &s->ins_ckpt, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db,
                           "SELECT ts,ordinate,cron,block_height,cron_next,cron_index,hash_chain,module,"
                           "sha256,file,mem_len,sched_ts FROM checkpoints WHERE pid=? AND ts<=? "
                           "ORDER BY ts DESC, ordinate DESC, cron DESC LIMIT 1", -1, &s->ckpt,
                           NULL) != SQLITE_OK) {
        int rc = db_err(s, err, "schema");
        cu_store_close(s);
        return rc;
    }
    *out = s;
    return AO_OK;
}

void cu_store_close(cu_store *s)
{
    if (!s) return;
    sqlite3_finalize(s->ins);
    sqlite3_finalize(s->by_nonce);
    sqlite3_finalize(s->ins_ckpt);
    sqlite3_finalize(s->ckpt);
    if (s->db) sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->qmu);
    pthread_cond_destroy(&s->qcv);
    free(s);
}

/* Commit a list of requests in one transaction (one fsync). */
static int commit_group(cu_store *s, put_req *list, ao_error *err)
{
    pthread_mutex_lock(&s->mu);
    int rc = AO_OK;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(s, err, "begin");
        goto out;
    }
    for (put_req *q = list; q && rc == AO_OK; q = q->next)
        for (size_t i = 0; i < q->n; i++) {
            const cu_result_row *r = &q->rows[i];
            sqlite3_reset(s->ins);
            sqlite3_bind_text(s->ins, 1, q->pid, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s->ins, 2, r->ord.timestamp);
            sqlite3_bind_int64(s->ins, 3, r->ord.ordinate);
            sqlite3_bind_int64(s->ins, 4, r->ord.cron);
            if (r->cron_label) sqlite3_bind_text(s->ins, 5, r->cron_label, -1, SQLITE_STATIC);
            else sqlite3_bind_null(s->ins, 5);
            if (r->ord.msg_id[0]) sqlite3_bind_text(s->ins, 6, r->ord.msg_id, -1, SQLITE_STATIC);
            else sqlite3_bind_null(s->ins, 6);
            sqlite3_bind_int64(s->ins, 7, r->ord.block_height);
            sqlite3_bind_text(s->ins, 8, r->json, -1, SQLITE_STATIC);
            if (sqlite3_step(s->ins) != SQLITE_DONE) {
                rc = db_err(s, err, "insert result");
                break;
            }
        }
    sqlite3_reset(s->ins);
    sqlite3_clear_bindings(s->ins);
    if (rc != AO_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    else if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_err(s, err, "commit");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    }
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Group commit: the first caller to find no commit running commits every
 * request waiting at that moment; the others wait for theirs. */
int cu_store_put(cu_store *s, const char *pid, const cu_result_row *rows, size_t n, ao_error *err)
{
    if (n == 0) return AO_OK;
    put_req me = {.pid = pid, .rows = rows, .n = n};
    pthread_mutex_lock(&s->qmu);
    me.next = s->pending;
    s->pending = &me;
    while (!me.done) {
        if (s->committing) {
            pthread_cond_wait(&s->qcv, &s->qmu);
            continue;
        }
        s->committing = true;
        put_req *list = s->pending;
        s->pending = NULL;
        pthread_mutex_unlock(&s->qmu);
        ao_error e = {0};
        int rc = commit_group(s, list, &e);
        pthread_mutex_lock(&s->qmu);
        for (put_req *q = list; q; q = q->next) {
            q->rc = rc;
            q->err = e;
            q->done = true;
        }
        s->committing = false;
        pthread_cond_broadcast(&s->qcv);
    }
    pthread_mutex_unlock(&s->qmu);
    if (me.rc != AO_OK && err) *err = me.err;
    return me.rc;
}

int cu_store_get_by_nonce(cu_store *s, const char *pid, int64_t nonce, ao_buf *json, ao_error *err)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_reset(s->by_nonce);
    sqlite3_bind_text(s->by_nonce, 1, pid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s->by_nonce, 2, nonce);
    int rc = sqlite3_step(s->by_nonce);
    if (rc == SQLITE_ROW) {
        const void *p = sqlite3_column_text(s->by_nonce, 0);
        int n = sqlite3_column_bytes(s->by_nonce, 0);
        rc = ao_buf_append(json, p, (size_t)n);
    } else if (rc == SQLITE_DONE)
        rc = ao_err_set(err, AO_ENOTFOUND, "cu: no result yet for nonce %lld of %s",
                        (long long)nonce, pid);
    else
        rc = db_err(s, err, "read result");
    sqlite3_reset(s->by_nonce);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int64_t cu_store_steps(cu_store *s, const char *sql_part)
{
    pthread_mutex_lock(&s->mu);
    int64_t n = ao_sql_steps(s->db, sql_part);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Standard base64 with padding (JS btoa). */
static char *b64std(const uint8_t *p, size_t n)
{
    static const char *A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc((n + 2) / 3 * 4 + 1), *q = o;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *q++ = A[v >> 18 & 63];
        *q++ = A[v >> 12 & 63];
        *q++ = i + 1 < n ? A[v >> 6 & 63] : '=';
        *q++ = i + 2 < n ? A[v & 63] : '=';
    }
    *q = 0;
    return o;
}

static int b64std_decode(const char *s, ao_buf *out)
{
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        int v;
        char c = *s;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+' || c == '-') v = 62;
        else if (c == '/' || c == '_') v = 63;
        else return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (ao_buf_append_byte(out, (uint8_t)(acc >> bits)) != AO_OK) return -1;
        }
    }
    return 0;
}

char *cu_cursor_make(int64_t ts, int64_t ordinate, const char *cron_label, bool desc)
{
    ao_buf b;
    ao_buf_init(&b);
    ao_buf_printf(&b, "{\"timestamp\":%lld,\"ordinate\":\"%lld\"", (long long)ts, (long long)ordinate);
    if (cron_label) ao_buf_printf(&b, ",\"cron\":\"%s\"", cron_label);
    ao_buf_printf(&b, ",\"sort\":\"%s\"}", desc ? "DESC" : "ASC");
    char *c = b.data ? b64std(b.data, b.len) : NULL;
    ao_buf_free(&b);
    return c;
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

int cu_cursor_parse(const char *s, int64_t fill, int64_t tuple[3], ao_error *err)
{
    if (all_digits(s) && strlen(s) <= 18) {
        tuple[0] = strtoll(s, NULL, 10);
        tuple[1] = tuple[2] = fill;
        return AO_OK;
    }
    ao_buf b;
    ao_buf_init(&b);
    int rc = ao_err_set(err, AO_EINVAL, "cu: bad cursor or timestamp '%.64s'", s);
    if (b64std_decode(s, &b) != 0 || ao_buf_append_byte(&b, 0) != AO_OK) goto out;
    cJSON *j = cJSON_Parse((const char *)b.data);
    if (!j) goto out;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "timestamp");
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, "ordinate");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "cron");
    if (cJSON_IsNumber(t) || (cJSON_IsString(t) && all_digits(t->valuestring))) {
        tuple[0] = cJSON_IsNumber(t) ? (int64_t)t->valuedouble : strtoll(t->valuestring, NULL, 10);
        tuple[1] = cJSON_IsNumber(o) ? (int64_t)o->valuedouble
                   : cJSON_IsString(o) ? strtoll(o->valuestring, NULL, 10) : fill;
        tuple[2] = cJSON_IsString(c) ? strtoll(c->valuestring, NULL, 10) : (o ? 0 : fill);
        rc = AO_OK;
        if (err) ao_err_clear(err);
    }
    cJSON_Delete(j);
out:
    ao_buf_free(&b);
    return rc;
}

int cu_store_page(cu_store *s, const char *pid, const cu_page_q *q, ao_buf *body, ao_error *err)
{
    char sql[512];
    const char *lo_op = q->desc ? ">=" : ">", *hi_op = q->desc ? "<" : "<=";
    /* asc: from < row <= to; desc: to <= row < from */
    const int64_t *lo = q->desc ? q->to : q->from, *hi = q->desc ? q->from : q->to;
    bool have_lo = q->desc ? q->have_to : q->have_from, have_hi = q->desc ? q->have_from : q->have_to;
    snprintf(sql, sizeof sql,
             "SELECT ts, ordinate, cron, cron_label, json FROM results WHERE pid=?1%s%s%s%s%s%s%s "
             "ORDER BY ts %s, ordinate %s, cron %s LIMIT ?8",
             q->cron_only ? " AND cron > 0" : "", have_lo ? " AND (ts,ordinate,cron) " : "",
             have_lo ? lo_op : "", have_lo ? " (?2,?3,?4)" : "",
             have_hi ? " AND (ts,ordinate,cron) " : "", have_hi ? hi_op : "",
             have_hi ? " (?5,?6,?7)" : "", q->desc ? "DESC" : "ASC", q->desc ? "DESC" : "ASC",
             q->desc ? "DESC" : "ASC");
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = AO_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = db_err(s, err, "page");
        goto out;
    }
    sqlite3_bind_text(st, 1, pid, -1, SQLITE_STATIC);
    if (have_lo)
        for (int i = 0; i < 3; i++) sqlite3_bind_int64(st, 2 + i, lo[i]);
    if (have_hi)
        for (int i = 0; i < 3; i++) sqlite3_bind_int64(st, 5 + i, hi[i]);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)q->limit + 1);
    ao_buf edges;
    ao_buf_init(&edges);
    size_t n = 0;
    bool more = false;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == q->limit) { more = true; break; }
        const char *label = (const char *)sqlite3_column_text(st, 3);
        char *cur = cu_cursor_make(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), label,
                                   q->desc);
        if (!cur) { rc = ao_err_set(err, AO_ENOMEM, "cu: out of memory"); break; }
        ao_buf_printf(&edges, "%s{\"cursor\":\"%s\",\"node\":", n ? "," : "", cur);
        free(cur);
        ao_buf_append(&edges, sqlite3_column_text(st, 4), (size_t)sqlite3_column_bytes(st, 4));
        ao_buf_append_byte(&edges, '}');
        n++;
    }
    if (rc == AO_OK && step != SQLITE_ROW && step != SQLITE_DONE) rc = db_err(s, err, "page step");
    if (rc == AO_OK) {
        ao_buf_printf(body, "{\"pageInfo\":{\"hasNextPage\":%s},\"edges\":[", more ? "true" : "false");
        if (edges.len) ao_buf_append(body, edges.data, edges.len);
        rc = ao_buf_append_str(body, "]}");
    }
    ao_buf_free(&edges);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int cu_store_put_ckpt(cu_store *s, const char *pid, const cu_ckpt_row *r, ao_error *err)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->ins_ckpt;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, pid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, r->timestamp);
    sqlite3_bind_int64(st, 3, r->ordinate);
    sqlite3_bind_int64(st, 4, r->cron);
    sqlite3_bind_int64(st, 5, r->block_height);
    sqlite3_bind_int64(st, 6, r->sched_ts);
    sqlite3_bind_int64(st, 7, r->cron_next);
    sqlite3_bind_int64(st, 8, r->cron_index);
    sqlite3_bind_text(st, 9, r->hash_chain, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 10, r->module, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 11, r->sha256, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 12, r->file, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)r->mem_len);
    int rc = sqlite3_step(st) == SQLITE_DONE ? AO_OK : db_err(s, err, "insert checkpoint");
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int cu_store_latest_ckpt(cu_store *s, const char *pid, int64_t before, cu_ckpt_row *r, ao_error *err)
{
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = s->ckpt;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, pid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, before);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(r, 0, sizeof *r);
        r->timestamp = sqlite3_column_int64(st, 0);
        r->ordinate = sqlite3_column_int64(st, 1);
        r->cron = sqlite3_column_int64(st, 2);
        r->block_height = sqlite3_column_int64(st, 3);
        r->cron_next = sqlite3_column_int64(st, 4);
        r->cron_index = sqlite3_column_int64(st, 5);
        snprintf(r->hash_chain, sizeof r->hash_chain, "%s", (const char *)sqlite3_column_text(st, 6));
        snprintf(r->module, sizeof r->module, "%s", (const char *)sqlite3_column_text(st, 7));
        snprintf(r->sha256, sizeof r->sha256, "%s", (const char *)sqlite3_column_text(st, 8));
        snprintf(r->file, sizeof r->file, "%s", (const char *)sqlite3_column_text(st, 9));
        r->mem_len = (uint64_t)sqlite3_column_int64(st, 10);
        r->sched_ts = sqlite3_column_int64(st, 11);
        rc = AO_OK;
    } else if (rc == SQLITE_DONE)
        rc = ao_err_set(err, AO_ENOTFOUND, "cu: no checkpoint of %s", pid);
    else
        rc = db_err(s, err, "read checkpoint");
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
