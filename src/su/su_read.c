/*
 * su_read.c - the SU's reads as the real SU's JSON (PROTOCOL.md §2.2):
 * GET / info, /timestamp, schedule pages of GET /{process} (timestamp or
 * nonce cursors, the process as edge 0, has_next_page from a limit+1
 * fetch), the node of one message or assigned tx, /{pid}/latest and
 * /processes/{pid}. Items are read back from the data layer (or, for a
 * row whose upload is not yet confirmed, from su.db's pending bytes); the
 * JSON itself is written by su_json.c (shared with su_log.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "su/su_internal.h"

/* Raw bytes of an item of row: from the data layer, else from the pending
 * bytes (column 0 = the message item, 1 = the assignment). */
static int fetch(su *s, su_reader *rd, const su_row *row, bool assignment, ao_buf *out,
                 ao_error *err)
{
    const char *id = assignment ? row->assignment : row->message;
    int r = s->data.get(s->data.ctx, id, out, err);
    if (r != AO_ENOTFOUND)
        return r;
    sqlite3_stmt *st = rd->pending;
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, row->assignment, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, assignment ? 1 : 0) == SQLITE_BLOB) {
        int c = assignment ? 1 : 0;
        r = ao_buf_append(out, sqlite3_column_blob(st, c), (size_t)sqlite3_column_bytes(st, c));
        sqlite3_reset(st);
        return r;
    }
    sqlite3_reset(st);
    /* the pending row is dropped once the upload is done: if it went
     * between the two looks above, the data layer has the item now */
    r = s->data.get(s->data.ctx, id, out, err);
    if (r != AO_ENOTFOUND)
        return r;
    return ao_err_set(err, AO_EIO, "su: item %s of %s/%llu missing from the data layer", id,
                      row->process, (unsigned long long)row->nonce);
}

/* {"message":M|null,"assignment":A} of row (an su_node_fn, ctx = reader) */
typedef struct node_ctx {
    su *s;
    su_reader *rd;
} node_ctx;

static int json_node(void *ctx, const su_row *row, bool show_anchor, ao_buf *b, ao_error *err)
{
    node_ctx *nc = ctx;
    ao_buf msg, asg;
    ao_buf_init(&msg);
    ao_buf_init(&asg);
    int r = AO_OK;
    if (row->kind != SU_KIND_ASSIGN)
        r = fetch(nc->s, nc->rd, row, false, &msg, err);
    if (!r)
        r = fetch(nc->s, nc->rd, row, true, &asg, err);
    if (!r)
        r = su_json_node(b, row->kind == SU_KIND_ASSIGN ? NULL : msg.data ? msg.data
                                                                          : (const uint8_t *)"",
                         msg.len, asg.data ? asg.data : (const uint8_t *)"", asg.len,
                         show_anchor, err);
    ao_buf_free(&msg);
    ao_buf_free(&asg);
    return r;
}

/* ---- the routes ---- */

static int page_json(su *s, const char *pid, const su_page_q *pq, bool show_anchor,
                     ao_buf *body, ao_error *err)
{
    su_reader *rd = su_reader_take(s);
    sqlite3_stmt *st;
    const char *sql = pq->nonce_mode
        ? "SELECT process, nonce, timestamp, height, hash_chain, message, assignment, kind"
          " FROM assignments WHERE process=?1 AND nonce>?2 AND nonce<=?3 ORDER BY nonce LIMIT ?4"
        : "SELECT process, nonce, timestamp, height, hash_chain, message, assignment, kind"
          " FROM assignments WHERE process=?1 AND timestamp>?2 AND timestamp<=?3"
          " ORDER BY timestamp LIMIT ?4";
    if (sqlite3_prepare_v2(rd->db, sql, -1, &st, NULL)) {
        su_reader_give(s, rd);
        return ao_err_set(err, AO_EIO, "su: page query: %s", sqlite3_errmsg(rd->db));
    }
    sqlite3_bind_text(st, 1, pid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, pq->from);
    sqlite3_bind_int64(st, 3, pq->to);
    sqlite3_bind_int64(st, 4, pq->limit + 1);
    su_row *rows = malloc((size_t)(pq->limit + 1) * sizeof *rows);
    size_t n = 0;
    int rc = SQLITE_DONE;
    if (rows)
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            su_row_from_stmt(st, &rows[n++]);
    sqlite3_finalize(st);
    int r = AO_OK;
    if (!rows)
        r = ao_err_set(err, AO_ENOMEM, "su: out of memory");
    else if (rc != SQLITE_DONE)
        r = ao_err_set(err, AO_EIO, "su: page query failed");
    node_ctx nc = { s, rd };
    if (!r)
        r = su_json_page(body, rows, n, pq, show_anchor, json_node, &nc, err);
    free(rows);
    su_reader_give(s, rd);
    return r;
}

static bool is_process(su *s, const char *id)
{
    su_proc *p = strlen(id) == SU_ID_LEN ? su_proc_find(s, id) : NULL;
    return p && atomic_load(&p->committed);
}

int su_get_json(su *s, const char *id, const su_query *q, ao_buf *body, ao_error *err)
{
    su_page_q pq;
    int r = su_parse_query(q, &pq, err);
    if (r)
        return r;
    if (!id || strlen(id) != SU_ID_LEN)
        return ao_err_set(err, AO_ENOTFOUND, "Message or Process not found");
    const char *pid = q ? q->process_id : NULL;
    if (is_process(s, id) && (!pid || strcmp(pid, id) == 0))
        return page_json(s, id, &pq, q && q->show_anchor, body, err);
    su_reader *rd = su_reader_take(s);
    su_row row;
    r = su_lookup(s, rd, pid, id, NULL, &row, err);
    node_ctx nc = { s, rd };
    if (!r)
        r = json_node(&nc, &row, q && q->show_anchor, body, err);
    su_reader_give(s, rd);
    return r;
}

int su_latest_json(su *s, const char *process_id, ao_buf *body, ao_error *err)
{
    if (!process_id || !is_process(s, process_id))
        return ao_err_set(err, AO_ENOTFOUND, "Process not found");
    su_reader *rd = su_reader_take(s);
    sqlite3_stmt *st;
    int r = AO_OK;
    if (sqlite3_prepare_v2(rd->db, "SELECT process, nonce, timestamp, height, hash_chain, message,"
                                   " assignment, kind FROM assignments WHERE process=?1"
                                   " ORDER BY nonce DESC LIMIT 1", -1, &st, NULL)) {
        su_reader_give(s, rd);
        return ao_err_set(err, AO_EIO, "su: %s", sqlite3_errmsg(rd->db));
    }
    sqlite3_bind_text(st, 1, process_id, -1, SQLITE_STATIC);
    su_row row;
    if (sqlite3_step(st) == SQLITE_ROW)
        su_row_from_stmt(st, &row);
    else
        r = ao_err_set(err, AO_ENOTFOUND, "Process not found");
    sqlite3_finalize(st);
    node_ctx nc = { s, rd };
    if (!r)
        r = json_node(&nc, &row, false, body, err);
    su_reader_give(s, rd);
    return r;
}

int su_process_json(su *s, const char *process_id, ao_buf *body, ao_error *err)
{
    if (!process_id || !is_process(s, process_id))
        return ao_err_set(err, AO_ENOTFOUND, "Process not found");
    su_reader *rd = su_reader_take(s);
    su_row row;
    int r = su_lookup(s, rd, process_id, process_id, NULL, &row, err);
    ao_buf raw;
    ao_buf_init(&raw);
    if (!r)
        r = fetch(s, rd, &row, false, &raw, err);
    su_reader_give(s, rd);
    if (!r)
        r = su_json_process(body, process_id, row.height, row.timestamp, raw.data, raw.len, err);
    ao_buf_free(&raw);
    return r;
}

int su_info_json(su *s, ao_buf *body, ao_error *err)
{
    if (ao_buf_printf(body, "{\"timestamp\":\"%lld\",\"address\":\"%s\"}", (long long)su_now(s),
                      s->address))
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    return AO_OK;
}

int su_timestamp_json(su *s, const char *process_id, ao_buf *body, ao_error *err)
{
    int64_t now = su_now(s);
    su_proc *p = process_id && strlen(process_id) == SU_ID_LEN ? su_proc_find(s, process_id) : NULL;
    if (p) {   /* never behind the process's own newest timestamp */
        pthread_mutex_lock(&p->mu);
        if (p->last_ts > now)
            now = p->last_ts;
        pthread_mutex_unlock(&p->mu);
    }
    if (ao_buf_printf(body, "{\"timestamp\":\"%lld\",\"block_height\":\"%012lld\"}", (long long)now,
                      (long long)su_block_height(s)))
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    return AO_OK;
}
