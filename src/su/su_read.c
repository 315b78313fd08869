/*
 * su_read.c - the SU's reads as the real SU's JSON (PROTOCOL.md §2.2):
 * GET / info, /timestamp, schedule pages of GET /{process} (timestamp or
 * nonce cursors, the process as edge 0, has_next_page from a limit+1
 * fetch), the node of one message or assigned tx, /{pid}/latest and
 * /processes/{pid}. Items are read back from the data layer (or, for a
 * row whose upload is not yet confirmed, from su.db's pending bytes).
 * JSON is written by hand: item data is arbitrary bytes, rendered as lossy
 * UTF-8 with every control character (NUL too) escaped.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "su/su_internal.h"

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 with *skip = the
 * maximal invalid subpart's length (at least 1). */
static size_t utf8_seq(const uint8_t *p, size_t n, size_t *skip)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) { need = 2; lo = 0xA0; }
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) need = 2;
    else if (c == 0xED) { need = 2; hi = 0x9F; }
    else if (c == 0xF0) { need = 3; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else if (c == 0xF4) { need = 3; hi = 0x8F; }
    else { *skip = 1; return 0; }
    size_t k = 0;
    while (k < need && 1 + k < n) {
        uint8_t b = p[1 + k];
        uint8_t l = k == 0 ? lo : 0x80, h = k == 0 ? hi : 0xBF;
        if (b < l || b > h)
            break;
        k++;
    }
    if (k == need)
        return need + 1;
    *skip = k + 1;
    return 0;
}

static bool utf8_valid(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t skip, l = utf8_seq(p + i, n - i, &skip);
        if (!l)
            return false;
        i += l;
    }
    return true;
}

/* Appends bytes as a JSON string: lossy UTF-8 (U+FFFD per maximal invalid
 * subpart), escapes for '"', '\\' and control characters. */
static int json_str(ao_buf *b, const void *vp, size_t n)
{
    const uint8_t *p = vp;
    int r = ao_buf_append_byte(b, '"');
    for (size_t i = 0; i < n && !r;) {
        size_t skip, l = utf8_seq(p + i, n - i, &skip);
        if (!l) {
            r = ao_buf_append(b, "\xEF\xBF\xBD", 3);
            i += skip;
            continue;
        }
        if (l == 1) {
            uint8_t c = p[i];
            if (c == '"' || c == '\\') {
                uint8_t e[2] = { '\\', c };
                r = ao_buf_append(b, e, 2);
            } else if (c == '\n') r = ao_buf_append(b, "\\n", 2);
            else if (c == '\r') r = ao_buf_append(b, "\\r", 2);
            else if (c == '\t') r = ao_buf_append(b, "\\t", 2);
            else if (c < 0x20 || c == 0x7f) r = ao_buf_printf(b, "\\u%04x", c);
            else r = ao_buf_append_byte(b, c);
        } else {
            r = ao_buf_append(b, p + i, l);
        }
        i += l;
    }
    return r ? r : ao_buf_append_byte(b, '"');
}

char *su_lossy_utf8(const uint8_t *p, size_t n)
{
    ao_buf b;
    ao_buf_init(&b);
    for (size_t i = 0; i < n;) {
        size_t skip, l = utf8_seq(p + i, n - i, &skip);
        if (!l) {
            ao_buf_append(&b, "\xEF\xBF\xBD", 3);
            i += skip;
        } else {
            ao_buf_append(&b, p + i, l);
            i += l;
        }
    }
    ao_buf_append_byte(&b, 0);
    return (char *)ao_buf_take(&b, NULL);
}

static int json_b64(ao_buf *b, const uint8_t *p, size_t n)
{
    char *s = ao_b64url_encode(p, n);
    if (!s)
        return AO_ENOMEM;
    int r = ao_buf_printf(b, "\"%s\"", s);
    free(s);
    return r;
}

/* ---- items ---- */

/* "owner":{..},"tags":[..],"signature":".." pieces of an item. */
static int json_owner(ao_buf *b, const item *it)
{
    char addr[AO_ADDRESS_MAX];
    item_owner_address(it, addr);
    int r = ao_buf_printf(b, "{\"address\":\"%s\",\"key\":", addr);
    if (!r)
        r = json_b64(b, it->owner, it->owner_len);
    return r ? r : ao_buf_append_byte(b, '}');
}

static int json_tags(ao_buf *b, const item *it)
{
    int r = ao_buf_append_byte(b, '[');
    for (size_t i = 0; i < it->ntags && !r; i++) {
        r = ao_buf_append_str(b, i ? ",{\"name\":" : "{\"name\":");
        if (!r) r = json_str(b, it->tags[i].name, it->tags[i].name_len);
        if (!r) r = ao_buf_append_str(b, ",\"value\":");
        if (!r) r = json_str(b, it->tags[i].value, it->tags[i].value_len);
        if (!r) r = ao_buf_append_byte(b, '}');
    }
    return r ? r : ao_buf_append_byte(b, ']');
}

static int json_anchor(ao_buf *b, const item *it, bool show_anchor)
{
    if (!it->anchor)
        return ao_buf_append_str(b, "null");
    if (utf8_valid(it->anchor, ITEM_ANCHOR_LEN))
        return json_str(b, it->anchor, ITEM_ANCHOR_LEN);
    if (show_anchor)
        return json_b64(b, it->anchor, ITEM_ANCHOR_LEN);
    return ao_buf_append_str(b, "null");
}

/* M = {id, owner, data, tags, signature, anchor, target}; A = {id, owner,
 * tags, signature, anchor:null, target:""}. */
static int json_item(ao_buf *b, const uint8_t *raw, size_t len, bool assignment,
                     bool show_anchor, ao_error *err)
{
    item *it = malloc(sizeof *it);
    if (!it)
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    int r = item_decode(raw, len, it, err);
    if (r) {
        free(it);
        return ao_err_wrap(err, "su: stored item");
    }
    char id[SU_ID_LEN + 1];
    item_id_b64(it, id);
    r = ao_buf_printf(b, "{\"id\":\"%s\",\"owner\":", id);
    if (!r) r = json_owner(b, it);
    if (!r && !assignment) {
        r = ao_buf_append_str(b, ",\"data\":");
        if (!r) r = json_str(b, it->data, it->data_len);
    }
    if (!r) r = ao_buf_append_str(b, ",\"tags\":");
    if (!r) r = json_tags(b, it);
    if (!r) r = ao_buf_append_str(b, ",\"signature\":");
    if (!r) r = json_b64(b, it->sig, it->sig_len);
    if (assignment) {
        if (!r) r = ao_buf_append_str(b, ",\"anchor\":null,\"target\":\"\"}");
    } else {
        if (!r) r = ao_buf_append_str(b, ",\"anchor\":");
        if (!r) r = json_anchor(b, it, show_anchor);
        if (!r) {
            if (it->target) {
                char t[SU_ID_LEN + 1];
                ao_b64url_encode_to(it->target, 32, t);
                r = ao_buf_printf(b, ",\"target\":\"%s\"}", t);
            } else {
                r = ao_buf_append_str(b, ",\"target\":\"\"}");
            }
        }
    }
    free(it);
    if (r)
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    return AO_OK;
}

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

/* {"message":M|null,"assignment":A} */
static int json_node(su *s, su_reader *rd, const su_row *row, bool show_anchor, ao_buf *b,
                     ao_error *err)
{
    ao_buf raw;
    ao_buf_init(&raw);
    int r = ao_buf_append_str(b, "{\"message\":");
    if (!r) {
        if (row->kind == SU_KIND_ASSIGN) {
            r = ao_buf_append_str(b, "null");
        } else {
            r = fetch(s, rd, row, false, &raw, err);
            if (!r)
                r = json_item(b, raw.data, raw.len, false, show_anchor, err);
        }
    }
    if (!r) r = ao_buf_append_str(b, ",\"assignment\":");
    if (!r) {
        ao_buf_reset(&raw);
        r = fetch(s, rd, row, true, &raw, err);
        if (!r)
            r = json_item(b, raw.data, raw.len, true, show_anchor, err);
    }
    if (!r) r = ao_buf_append_byte(b, '}');
    ao_buf_free(&raw);
    return r;
}

/* ---- query values ---- */

static bool parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    const char *p = s;
    bool neg = *p == '-';
    if (neg)
        p++;
    if (!*p)
        return false;
    uint64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v > (UINT64_C(1) << 62))
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

typedef struct {
    bool nonce_mode, has_from;
    int64_t from, to, limit;
} page_q;

static int parse_query(const su_query *q, page_q *pq, ao_error *err)
{
    pq->nonce_mode = false;
    pq->has_from = false;
    pq->from = INT64_MIN;
    pq->to = INT64_MAX;
    pq->limit = 100;
    if (!q)
        return AO_OK;
    if (q->from) {
        if (!parse_i64(q->from, &pq->from) || pq->from < 0)
            return ao_err_set(err, AO_EINVAL, "invalid from: %.64s", q->from);
        pq->has_from = true;
    }
    if (q->to && (!parse_i64(q->to, &pq->to) || pq->to < 0))
        return ao_err_set(err, AO_EINVAL, "invalid to: %.64s", q->to);
    if (q->limit) {
        if (!parse_i64(q->limit, &pq->limit) || pq->limit < 1)
            return ao_err_set(err, AO_EINVAL, "invalid limit: %.64s", q->limit);
        if (pq->limit > 1000)
            pq->limit = 1000;
    }
    if (q->from_nonce || q->to_nonce) {
        if (q->from || q->to)
            return ao_err_set(err, AO_EINVAL, "invalid query: from/to and from-nonce/to-nonce together");
        pq->nonce_mode = true;
        pq->from = -1;
        pq->to = INT64_MAX;
        if (q->from_nonce && (!parse_i64(q->from_nonce, &pq->from) || pq->from < -1))
            return ao_err_set(err, AO_EINVAL, "invalid from-nonce: %.64s", q->from_nonce);
        if (q->to_nonce && (!parse_i64(q->to_nonce, &pq->to) || pq->to < -1))
            return ao_err_set(err, AO_EINVAL, "invalid to-nonce: %.64s", q->to_nonce);
        pq->has_from = q->from_nonce != NULL;
    }
    if (q->process_id && strlen(q->process_id) != SU_ID_LEN)
        return ao_err_set(err, AO_EINVAL, "invalid process-id");
    return AO_OK;
}

/* ---- the routes ---- */

static int page_json(su *s, const char *pid, const page_q *pq, bool show_anchor, ao_buf *body,
                     ao_error *err)
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
    bool more = n > (size_t)pq->limit;
    if (more)
        n = (size_t)pq->limit;
    size_t start = body->len;
    if (!r)
        r = ao_buf_printf(body, "{\"page_info\":{\"has_next_page\":%s},\"edges\":[",
                          more ? "true" : "false");
    for (size_t i = 0; i < n && !r; i++) {
        r = ao_buf_printf(body, "%s{\"cursor\":\"%lld\",\"node\":", i ? "," : "",
                          pq->nonce_mode ? (long long)rows[i].nonce : (long long)rows[i].timestamp);
        if (!r) r = json_node(s, rd, &rows[i], show_anchor, body, err);
        if (!r) r = ao_buf_append_byte(body, '}');
    }
    if (!r)
        r = ao_buf_append_str(body, "]}");
    if (r)
        body->len = start;
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
    page_q pq;
    int r = parse_query(q, &pq, err);
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
    if (!r) {
        size_t start = body->len;
        r = json_node(s, rd, &row, q && q->show_anchor, body, err);
        if (r)
            body->len = start;
    }
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
    if (!r) {
        size_t start = body->len;
        r = json_node(s, rd, &row, false, body, err);
        if (r)
            body->len = start;
    }
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
    item *it = NULL;
    if (!r && !(it = malloc(sizeof *it)))
        r = ao_err_set(err, AO_ENOMEM, "su: out of memory");
    if (!r && (r = item_decode(raw.data, raw.len, it, err)))
        ao_err_wrap(err, "su: stored process");
    size_t start = body->len;
    if (!r) {
        r = ao_buf_printf(body, "{\"process_id\":\"%s\",\"block\":\"%012lld\",\"owner\":",
                          process_id, (long long)row.height);
        if (!r) r = json_owner(body, it);
        if (!r) r = ao_buf_append_str(body, ",\"tags\":");
        if (!r) r = json_tags(body, it);
        if (!r) r = ao_buf_printf(body, ",\"timestamp\":%lld,\"data\":", (long long)row.timestamp);
        if (!r) r = it->data_len ? json_str(body, it->data, it->data_len)
                                 : ao_buf_append_str(body, "null");
        if (!r) r = ao_buf_append_str(body, ",\"anchor\":");
        if (!r) r = json_anchor(body, it, false);
        if (!r) r = ao_buf_append_str(body, ",\"signature\":");
        if (!r) r = json_b64(body, it->sig, it->sig_len);
        if (!r) r = ao_buf_append_str(body, ",\"target\":null}");
        if (r) {
            body->len = start;
            r = ao_err_set(err, AO_ENOMEM, "su: out of memory");
        }
    }
    free(it);
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
