/*
 * su_json.c - the JSON writers of the SU's read routes (PROTOCOL.md §2.2),
 * shared by the SU's own reads (su_read.c, rows from su.db) and by su_log
 * (su_log.c, rows rebuilt from the data layer), so both write the same
 * bytes for the same stored items: items as M / A objects, the node
 * {"message","assignment"}, a schedule page, the process record, and the
 * parsing of the page queries. JSON is written by hand: item data is
 * arbitrary bytes, rendered as lossy UTF-8 with every control character
 * (NUL too) escaped.
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
int su_json_str(ao_buf *b, const void *vp, size_t n)
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

int su_json_b64(ao_buf *b, const uint8_t *p, size_t n)
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
int su_json_owner(ao_buf *b, const item *it)
{
    char addr[AO_ADDRESS_MAX];
    item_owner_address(it, addr);
    int r = ao_buf_printf(b, "{\"address\":\"%s\",\"key\":", addr);
    if (!r)
        r = su_json_b64(b, it->owner, it->owner_len);
    return r ? r : ao_buf_append_byte(b, '}');
}

int su_json_tags(ao_buf *b, const item *it)
{
    int r = ao_buf_append_byte(b, '[');
    for (size_t i = 0; i < it->ntags && !r; i++) {
        r = ao_buf_append_str(b, i ? ",{\"name\":" : "{\"name\":");
        if (!r) r = su_json_str(b, it->tags[i].name, it->tags[i].name_len);
        if (!r) r = ao_buf_append_str(b, ",\"value\":");
        if (!r) r = su_json_str(b, it->tags[i].value, it->tags[i].value_len);
        if (!r) r = ao_buf_append_byte(b, '}');
    }
    return r ? r : ao_buf_append_byte(b, ']');
}

int su_json_anchor(ao_buf *b, const item *it, bool show_anchor)
{
    if (!it->anchor)
        return ao_buf_append_str(b, "null");
    if (utf8_valid(it->anchor, ITEM_ANCHOR_LEN))
        return su_json_str(b, it->anchor, ITEM_ANCHOR_LEN);
    if (show_anchor)
        return su_json_b64(b, it->anchor, ITEM_ANCHOR_LEN);
    return ao_buf_append_str(b, "null");
}

/* M = {id, owner, data, tags, signature, anchor, target}; A = {id, owner,
 * tags, signature, anchor:null, target:""}. */
int su_json_item(ao_buf *b, const uint8_t *raw, size_t len, bool assignment,
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
    if (!r) r = su_json_owner(b, it);
    if (!r && !assignment) {
        r = ao_buf_append_str(b, ",\"data\":");
        if (!r) r = su_json_str(b, it->data, it->data_len);
    }
    if (!r) r = ao_buf_append_str(b, ",\"tags\":");
    if (!r) r = su_json_tags(b, it);
    if (!r) r = ao_buf_append_str(b, ",\"signature\":");
    if (!r) r = su_json_b64(b, it->sig, it->sig_len);
    if (assignment) {
        if (!r) r = ao_buf_append_str(b, ",\"anchor\":null,\"target\":\"\"}");
    } else {
        if (!r) r = ao_buf_append_str(b, ",\"anchor\":");
        if (!r) r = su_json_anchor(b, it, show_anchor);
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

/* ---- query values ---- */

bool su_parse_i64(const char *s, int64_t *out)
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

int su_parse_query(const su_query *q, su_page_q *pq, ao_error *err)
{
    pq->nonce_mode = false;
    pq->has_from = false;
    pq->from = INT64_MIN;
    pq->to = INT64_MAX;
    pq->limit = 100;
    if (!q)
        return AO_OK;
    if (q->from) {
        if (!su_parse_i64(q->from, &pq->from) || pq->from < 0)
            return ao_err_set(err, AO_EINVAL, "invalid from: %.64s", q->from);
        pq->has_from = true;
    }
    if (q->to && (!su_parse_i64(q->to, &pq->to) || pq->to < 0))
        return ao_err_set(err, AO_EINVAL, "invalid to: %.64s", q->to);
    if (q->limit) {
        if (!su_parse_i64(q->limit, &pq->limit) || pq->limit < 1)
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
        if (q->from_nonce && (!su_parse_i64(q->from_nonce, &pq->from) || pq->from < -1))
            return ao_err_set(err, AO_EINVAL, "invalid from-nonce: %.64s", q->from_nonce);
        if (q->to_nonce && (!su_parse_i64(q->to_nonce, &pq->to) || pq->to < -1))
            return ao_err_set(err, AO_EINVAL, "invalid to-nonce: %.64s", q->to_nonce);
        pq->has_from = q->from_nonce != NULL;
    }
    if (q->process_id && strlen(q->process_id) != SU_ID_LEN)
        return ao_err_set(err, AO_EINVAL, "invalid process-id");
    return AO_OK;
}

/* ---- nodes, pages, the process record ---- */

int su_json_node(ao_buf *b, const uint8_t *msg, size_t mlen, const uint8_t *asg, size_t alen,
                 bool show_anchor, ao_error *err)
{
    size_t start = b->len;
    int r = ao_buf_append_str(b, "{\"message\":");
    if (!r)
        r = msg ? su_json_item(b, msg, mlen, false, show_anchor, err) : ao_buf_append_str(b, "null");
    if (!r) r = ao_buf_append_str(b, ",\"assignment\":");
    if (!r) r = su_json_item(b, asg, alen, true, show_anchor, err);
    if (!r) r = ao_buf_append_byte(b, '}');
    if (r) {
        b->len = start;
        if (r == AO_ENOMEM)
            ao_err_set(err, AO_ENOMEM, "su: out of memory");
    }
    return r;
}

int su_json_page(ao_buf *body, const su_row *rows, size_t n, const su_page_q *pq,
                 bool show_anchor, su_node_fn node, void *ctx, ao_error *err)
{
    bool more = n > (size_t)pq->limit;
    if (more)
        n = (size_t)pq->limit;
    size_t start = body->len;
    int r = ao_buf_printf(body, "{\"page_info\":{\"has_next_page\":%s},\"edges\":[",
                          more ? "true" : "false");
    for (size_t i = 0; i < n && !r; i++) {
        r = ao_buf_printf(body, "%s{\"cursor\":\"%lld\",\"node\":", i ? "," : "",
                          pq->nonce_mode ? (long long)rows[i].nonce : (long long)rows[i].timestamp);
        if (!r) r = node(ctx, &rows[i], show_anchor, body, err);
        if (!r) r = ao_buf_append_byte(body, '}');
    }
    if (!r)
        r = ao_buf_append_str(body, "]}");
    if (r) {
        body->len = start;
        if (r == AO_ENOMEM)
            ao_err_set(err, AO_ENOMEM, "su: out of memory");
    }
    return r;
}

int su_json_process(ao_buf *body, const char *pid, int64_t height, int64_t timestamp,
                    const uint8_t *raw, size_t len, ao_error *err)
{
    item *it = malloc(sizeof *it);
    if (!it)
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    int r = item_decode(raw, len, it, err);
    if (r) {
        free(it);
        return ao_err_wrap(err, "su: stored process");
    }
    size_t start = body->len;
    r = ao_buf_printf(body, "{\"process_id\":\"%s\",\"block\":\"%012lld\",\"owner\":", pid,
                      (long long)height);
    if (!r) r = su_json_owner(body, it);
    if (!r) r = ao_buf_append_str(body, ",\"tags\":");
    if (!r) r = su_json_tags(body, it);
    if (!r) r = ao_buf_printf(body, ",\"timestamp\":%lld,\"data\":", (long long)timestamp);
    if (!r) r = it->data_len ? su_json_str(body, it->data, it->data_len)
                             : ao_buf_append_str(body, "null");
    if (!r) r = ao_buf_append_str(body, ",\"anchor\":");
    if (!r) r = su_json_anchor(body, it, false);
    if (!r) r = ao_buf_append_str(body, ",\"signature\":");
    if (!r) r = su_json_b64(body, it->sig, it->sig_len);
    if (!r) r = ao_buf_append_str(body, ",\"target\":null}");
    free(it);
    if (r) {
        body->len = start;
        return ao_err_set(err, AO_ENOMEM, "su: out of memory");
    }
    return AO_OK;
}
