/*
 * cu_msg.c - the msg a module is given (PROTOCOL.md §4.3), built from one
 * node of the SU's schedule JSON (§2.2): Id, Signature, Data, Owner (an
 * address; Ethereum keys map to 0x keccak addresses), Target (the process),
 * Anchor, From (From-Process, else Owner), Forwarded-By, Tags (without tags
 * named From/Owner), Epoch/Nonce/Timestamp/Block-Height as numbers,
 * Hash-Chain, Cron and Read-Only false. Assignments of existing
 * transactions are read from the data layer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu/cu_internal.h"
#include "item/item.h"

int cu_owner_address(const char *key_b64, const char *fallback, char out[AO_ADDRESS_MAX],
                     ao_error *err)
{
    if (key_b64 && *key_b64) {
        ao_buf k;
        ao_buf_init(&k);
        if (ao_b64url_decode(key_b64, strlen(key_b64), &k, NULL) == AO_OK) {
            int rc = AO_OK;
            if (k.len == 65 && k.data[0] == 0x04)
                rc = crypto_address(CRYPTO_KEY_ETHEREUM, k.data, k.len, out, err);
            else if (k.len == 42 && k.data[0] == '0' && k.data[1] == 'x') {
                memcpy(out, k.data, 42);
                out[42] = 0;
            } else
                crypto_owner_address_b64(k.data, k.len, out);
            ao_buf_free(&k);
            return rc;
        }
        ao_buf_free(&k);
    }
    if (fallback && strlen(fallback) < AO_ADDRESS_MAX) {
        strcpy(out, fallback);
        return AO_OK;
    }
    return ao_err_set(err, AO_EFORMAT, "cu: message has no owner key or address");
}

char *cu_lossy_utf8(const uint8_t *p, size_t n)
{
    char *o = malloc(n * 3 + 1);
    if (!o) return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t len = 0;
        uint32_t min = 0;
        if (c < 0x80) { o[j++] = (char)c; i++; continue; }
        if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; }
        bool ok = len && i + len <= n;
        uint32_t cp = len ? (uint32_t)(c & (0x7F >> len)) : 0;
        for (size_t k = 1; ok && k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) ok = false;
            else cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
        if (ok) {
            memcpy(o + j, p + i, len);
            j += len;
            i += len;
        } else {
            o[j++] = (char)0xEF; o[j++] = (char)0xBF; o[j++] = (char)0xBD;
            i++;
        }
    }
    o[j] = 0;
    return o;
}

const char *cu_tag_value(const cJSON *tags, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "value");
        if (cJSON_IsString(n) && cJSON_IsString(v) && strcmp(n->valuestring, name) == 0)
            return v->valuestring;
    }
    return NULL;
}

cJSON *cu_tags_copy(const cJSON *tags, bool strip)
{
    cJSON *a = cJSON_CreateArray();
    if (!a) return NULL;
    if (!tags || cJSON_IsNull(tags)) return a;
    if (!cJSON_IsArray(tags)) { cJSON_Delete(a); return NULL; }
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "value");
        if (!cJSON_IsString(n) || !cJSON_IsString(v)) { cJSON_Delete(a); return NULL; }
        if (strip && (strcmp(n->valuestring, "From") == 0 || strcmp(n->valuestring, "Owner") == 0))
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!o) { cJSON_Delete(a); return NULL; }
        cJSON_AddStringToObject(o, "name", n->valuestring);
        cJSON_AddStringToObject(o, "value", v->valuestring);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

cJSON *cu_tags_from_meta(const weave_item_meta *m)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < m->ntags; i++) {
        cJSON *o = cJSON_CreateObject();
        char *n = cu_lossy_utf8((const uint8_t *)m->tags[i].name, m->tags[i].name_len);
        char *v = cu_lossy_utf8((const uint8_t *)m->tags[i].value, m->tags[i].value_len);
        if (!o || !n || !v) { free(n); free(v); cJSON_Delete(o); cJSON_Delete(a); return NULL; }
        cJSON_AddStringToObject(o, "name", n);
        cJSON_AddStringToObject(o, "value", v);
        free(n);
        free(v);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static int parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s) return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end) return -1;
    *out = v;
    return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fields of the message an edge carries, from the SU JSON or the data layer. */
typedef struct msg_src {
    const char *id, *signature, *anchor;
    const char *target;  /* the item's own target, NULL/"" when absent */
    char *data;          /* owned */
    cJSON *tags;         /* owned, From/Owner stripped */
    char owner[AO_ADDRESS_MAX];
} msg_src;

static int src_from_data(const char *id, const weave_client *data, msg_src *s,
                         weave_item_meta *meta, ao_error *err)
{
    if (!data || !data->get_meta)
        return ao_err_set(err, AO_ENOTFOUND, "cu: no data layer to read assigned tx %s", id);
    int rc = data->get_meta(data->ctx, id, WEAVE_META_KEYS, meta, err);
    if (rc != AO_OK) return ao_err_wrap(err, "cu: assigned tx %s", id);
    rc = cu_owner_address(meta->owner_key, meta->owner_address, s->owner, err);
    if (rc != AO_OK) return rc;
    ao_buf d;
    ao_buf_init(&d);
    rc = data->get_data(data->ctx, id, &d, err);
    if (rc != AO_OK) { ao_buf_free(&d); return ao_err_wrap(err, "cu: data of assigned tx %s", id); }
    s->data = cu_lossy_utf8(d.data, d.len);
    ao_buf_free(&d);
    cJSON *t = cu_tags_from_meta(meta);
    s->tags = t ? cu_tags_copy(t, true) : NULL;
    cJSON_Delete(t);
    if (!s->data || !s->tags) return ao_err_set(err, AO_ENOMEM, "cu: out of memory");
    s->id = meta->id;
    s->signature = meta->signature;
    s->anchor = meta->anchor[0] ? meta->anchor : NULL;
    s->target = meta->target;
    return AO_OK;
}

int cu_msg_from_node(const cJSON *node, const char *pid, const weave_client *data,
                     char **msg_json, cu_order *ord, ao_error *err)
{
    *msg_json = NULL;
    memset(ord, 0, sizeof *ord);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(node, "message");
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(node, "assignment");
    const cJSON *atags = a ? cJSON_GetObjectItemCaseSensitive(a, "tags") : NULL;
    if (!cJSON_IsArray(atags))
        return ao_err_set(err, AO_EFORMAT, "cu: schedule node without assignment tags");
    const char *nonce = cu_tag_value(atags, "Nonce"), *ts = cu_tag_value(atags, "Timestamp");
    const char *bh = cu_tag_value(atags, "Block-Height"), *epoch = cu_tag_value(atags, "Epoch");
    const char *hc = cu_tag_value(atags, "Hash-Chain"), *assigned = cu_tag_value(atags, "Message");
    int64_t v_nonce, v_ts, v_bh = 0, v_epoch = 0;
    if (parse_i64(nonce, &v_nonce) || parse_i64(ts, &v_ts) || (bh && parse_i64(bh, &v_bh)) ||
        (epoch && parse_i64(epoch, &v_epoch)))
        return ao_err_set(err, AO_EFORMAT, "cu: assignment with a bad Nonce/Timestamp/Block-Height/Epoch");

    msg_src s;
    memset(&s, 0, sizeof s);
    weave_item_meta meta;
    memset(&meta, 0, sizeof meta);
    int rc = AO_OK;
    const char *mid = cJSON_IsObject(m) ? jstr(m, "id") : NULL;
    if (cJSON_IsObject(m) && (!assigned || (mid && strcmp(mid, assigned) == 0))) {
        const cJSON *owner = cJSON_GetObjectItemCaseSensitive(m, "owner");
        rc = cu_owner_address(jstr(owner, "key"), jstr(owner, "address"), s.owner, err);
        if (rc != AO_OK) goto out;
        s.id = mid;
        s.signature = jstr(m, "signature");
        s.anchor = jstr(m, "anchor");
        s.target = jstr(m, "target");
        const char *d = jstr(m, "data");
        s.data = strdup(d ? d : "");
        s.tags = cu_tags_copy(cJSON_GetObjectItemCaseSensitive(m, "tags"), true);
        if (!s.data || !s.tags) { rc = ao_err_set(err, AO_EFORMAT, "cu: message with bad tags"); goto out; }
        if (!s.id) { rc = ao_err_set(err, AO_EFORMAT, "cu: message without id"); goto out; }
    } else if (assigned) {
        rc = src_from_data(assigned, data, &s, &meta, err);
        if (rc != AO_OK) goto out;
    } else {
        rc = ao_err_set(err, AO_EFORMAT, "cu: schedule node without message");
        goto out;
    }

    const char *from_process = cu_tag_value(s.tags, "From-Process");
    cJSON *o = cJSON_CreateObject();
    if (!o) { rc = ao_err_set(err, AO_ENOMEM, "cu: out of memory"); goto out; }
    cJSON_AddStringToObject(o, "Id", s.id);
    if (s.signature) cJSON_AddStringToObject(o, "Signature", s.signature);
    cJSON_AddStringToObject(o, "Data", s.data);
    cJSON_AddStringToObject(o, "Owner", s.owner);
    /* an assigned tx keeps its own recipient (aos then sees it as an
     * assignment: Target ~= ao.id) */
    cJSON_AddStringToObject(o, "Target", s.target && s.target[0] ? s.target : pid);
    if (s.anchor) cJSON_AddStringToObject(o, "Anchor", s.anchor);
    else cJSON_AddNullToObject(o, "Anchor");
    cJSON_AddStringToObject(o, "From", from_process ? from_process : s.owner);
    if (from_process) cJSON_AddStringToObject(o, "Forwarded-By", s.owner);
    cJSON_AddItemToObject(o, "Tags", s.tags);
    s.tags = NULL;
    cJSON_AddNumberToObject(o, "Epoch", (double)v_epoch);
    cJSON_AddNumberToObject(o, "Nonce", (double)v_nonce);
    cJSON_AddNumberToObject(o, "Timestamp", (double)v_ts);
    cJSON_AddNumberToObject(o, "Block-Height", (double)v_bh);
    if (hc) cJSON_AddStringToObject(o, "Hash-Chain", hc);
    cJSON_AddFalseToObject(o, "Cron");
    cJSON_AddFalseToObject(o, "Read-Only");
    *msg_json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!*msg_json) { rc = ao_err_set(err, AO_ENOMEM, "cu: out of memory"); goto out; }
    ord->timestamp = v_ts;
    ord->ordinate = v_nonce;
    ord->cron = 0;
    ord->block_height = v_bh;
    snprintf(ord->msg_id, sizeof ord->msg_id, "%s", s.id);
    snprintf(ord->hash_chain, sizeof ord->hash_chain, "%s", hc ? hc : "");
out:
    free(s.data);
    cJSON_Delete(s.tags);
    weave_meta_free(&meta);
    return rc;
}
