/* tags.c - ANS-104 tags as Avro array<record{name: bytes, value: bytes}>
 * (ANS104.md §2): the canonical writer and a strict but complete reader
 * (several blocks, negative block counts with byte sizes). */
#include "item.h"
#include "item_internal.h"

/* Zigzag varint long. Returns AO_OK and advances *pos, or AO_EFORMAT. */
static int avro_read_long(const uint8_t *p, size_t len, size_t *pos, int64_t *v,
                          ao_error *err)
{
    uint64_t u = 0;
    unsigned shift = 0;
    for (;;) {
        if (*pos >= len)
            return ao_err_set(err, AO_EFORMAT, "avro: truncated varint at byte %zu", *pos);
        uint8_t b = p[(*pos)++];
        if (shift == 63 && (b & 0x7e))
            return ao_err_set(err, AO_EFORMAT, "avro: varint overflows 64 bits");
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        shift += 7;
        if (shift > 63)
            return ao_err_set(err, AO_EFORMAT, "avro: varint longer than 10 bytes");
    }
    *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return AO_OK;
}

static int avro_write_long(ao_buf *out, int64_t v)
{
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    uint8_t t[10];
    size_t k = 0;
    do {
        uint8_t b = u & 0x7f;
        u >>= 7;
        t[k++] = b | (u ? 0x80 : 0);
    } while (u);
    return ao_buf_append(out, t, k);
}

/* Reads one length-prefixed byte string. */
static int avro_read_bytes(const uint8_t *p, size_t len, size_t *pos, const char *what,
                           size_t index, const uint8_t **s, size_t *slen, ao_error *err)
{
    int64_t n;
    int rc = avro_read_long(p, len, pos, &n, err);
    if (rc)
        return ao_err_wrap(err, "tag %zu %s length", index, what);
    if (n < 0)
        return ao_err_set(err, AO_EFORMAT, "avro: tag %zu %s has negative length %lld",
                          index, what, (long long)n);
    if ((uint64_t)n > len - *pos)
        return ao_err_set(err, AO_EFORMAT, "avro: tag %zu %s length %lld runs past the tag bytes",
                          index, what, (long long)n);
    *s = p + *pos;
    *slen = (size_t)n;
    *pos += (size_t)n;
    return AO_OK;
}

static int tag_check_limits(size_t index, size_t name_len, size_t value_len, ao_error *err)
{
    if (name_len == 0)
        return ao_err_set(err, AO_ELIMIT, "tag %zu has an empty name", index);
    if (name_len > ITEM_MAX_NAME_LEN)
        return ao_err_set(err, AO_ELIMIT, "tag %zu name is %zu bytes (limit %d)", index,
                          name_len, ITEM_MAX_NAME_LEN);
    if (value_len > ITEM_MAX_VALUE_LEN)
        return ao_err_set(err, AO_ELIMIT, "tag %zu value is %zu bytes (limit %d)", index,
                          value_len, ITEM_MAX_VALUE_LEN);
    return AO_OK;
}

int item_tags_decode(const uint8_t *p, size_t len, item_tag *tags, size_t max,
                     size_t *n, ao_error *err)
{
    size_t pos = 0, count = 0;
    int rc;
    for (;;) {
        int64_t block;
        if (pos >= len)
            return ao_err_set(err, AO_EFORMAT, "avro: missing terminator (0 block) after %zu tags",
                              count);
        if ((rc = avro_read_long(p, len, &pos, &block, err)))
            return ao_err_wrap(err, "block count");
        if (block == 0)
            break;
        size_t body_start = 0;
        int64_t body_size = -1;
        if (block < 0) {
            if (block == INT64_MIN)
                return ao_err_set(err, AO_EFORMAT, "avro: block count out of range");
            block = -block;
            if ((rc = avro_read_long(p, len, &pos, &body_size, err)))
                return ao_err_wrap(err, "block byte size");
            if (body_size < 0)
                return ao_err_set(err, AO_EFORMAT, "avro: negative block byte size %lld",
                                  (long long)body_size);
            body_start = pos;
        }
        if ((uint64_t)block > max - count)
            return ao_err_set(err, AO_ELIMIT, "more than %zu tags", max);
        for (int64_t i = 0; i < block; i++, count++) {
            item_tag t;
            if ((rc = avro_read_bytes(p, len, &pos, "name", count, &t.name, &t.name_len, err)) ||
                (rc = avro_read_bytes(p, len, &pos, "value", count, &t.value, &t.value_len, err)))
                return rc;
            if ((rc = tag_check_limits(count, t.name_len, t.value_len, err)))
                return rc;
            tags[count] = t;
        }
        if (body_size >= 0 && (uint64_t)body_size != pos - body_start)
            return ao_err_set(err, AO_EFORMAT, "avro: block byte size %lld, but its items take %zu",
                              (long long)body_size, pos - body_start);
    }
    if (pos != len)
        return ao_err_set(err, AO_EFORMAT, "avro: %zu trailing bytes after the terminator",
                          len - pos);
    *n = count;
    return AO_OK;
}

int item_tags_encode(const item_tag *tags, size_t n, ao_buf *out, ao_error *err)
{
    if (n == 0)
        return AO_OK;
    if (n > ITEM_MAX_TAGS)
        return ao_err_set(err, AO_ELIMIT, "%zu tags (limit %d)", n, ITEM_MAX_TAGS);
    size_t start = out->len;
    int rc = avro_write_long(out, (int64_t)n);
    for (size_t i = 0; i < n && !rc; i++) {
        if ((rc = tag_check_limits(i, tags[i].name_len, tags[i].value_len, err))) {
            out->len = start;
            return rc;
        }
        rc = avro_write_long(out, (int64_t)tags[i].name_len);
        if (!rc)
            rc = ao_buf_append(out, tags[i].name, tags[i].name_len);
        if (!rc)
            rc = avro_write_long(out, (int64_t)tags[i].value_len);
        if (!rc)
            rc = ao_buf_append(out, tags[i].value, tags[i].value_len);
    }
    if (!rc)
        rc = ao_buf_append_byte(out, 0);
    if (rc) {
        out->len = start;
        return ao_err_set(err, AO_ENOMEM, "tags: out of memory");
    }
    if (out->len - start > ITEM_MAX_TAG_BYTES) {
        size_t t = out->len - start;
        out->len = start;
        return ao_err_set(err, AO_ELIMIT, "tags take %zu bytes (limit %d)", t, ITEM_MAX_TAG_BYTES);
    }
    return AO_OK;
}
