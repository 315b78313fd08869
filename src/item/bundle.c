/* bundle.c - ANS-104 bundles (ANS104.md §5): a u256 LE item count, then
 * per item a u256 LE size and its 32-byte id, then the items back to back.
 * Reading is strict: sizes must fit, the items fill the buffer exactly, and
 * verification checks every header id against SHA-256 of the signature. */
#include "item.h"

#include <stdlib.h>
#include <string.h>

/* A u256 LE that must fit in 64 bits. */
static int rd_u256(const uint8_t *p, uint64_t *v)
{
    for (int i = 8; i < 32; i++)
        if (p[i])
            return -1;
    *v = ao_rd_u64le(p);
    return 0;
}

int item_bundle_parse(const uint8_t *raw, size_t len, item_bundle *b, ao_error *err)
{
    b->count = 0;
    b->entries = NULL;
    uint64_t count;
    if (len < 32)
        return ao_err_set(err, AO_EFORMAT, "bundle: truncated: %zu bytes, no item count", len);
    if (rd_u256(raw, &count))
        return ao_err_set(err, AO_EFORMAT, "bundle: item count does not fit in 64 bits");
    if (count > (len - 32) / 64)
        return ao_err_set(err, AO_EFORMAT, "bundle: %llu items announced, header runs past %zu bytes",
                          (unsigned long long)count, len);
    size_t pos = 32 + (size_t)count * 64;
    item_bundle_entry *e = count ? calloc((size_t)count, sizeof *e) : NULL;
    if (count && !e)
        return ao_err_set(err, AO_ENOMEM, "bundle: out of memory");
    for (size_t i = 0; i < count; i++) {
        const uint8_t *h = raw + 32 + i * 64;
        uint64_t size;
        if (rd_u256(h, &size) || size > len - pos) {
            free(e);
            return ao_err_set(err, AO_EFORMAT, "bundle: item %zu size runs past the end", i);
        }
        e[i].header_id = h + 32;
        e[i].raw = raw + pos;
        e[i].len = (size_t)size;
        pos += (size_t)size;
    }
    if (pos != len) {
        free(e);
        return ao_err_set(err, AO_EFORMAT, "bundle: %zu trailing bytes after the last item",
                          len - pos);
    }
    b->count = (size_t)count;
    b->entries = e;
    return AO_OK;
}

void item_bundle_free(item_bundle *b)
{
    free(b->entries);
    b->entries = NULL;
    b->count = 0;
}

int item_bundle_verify(const uint8_t *raw, size_t len, ao_error *err)
{
    item_bundle b;
    int rc = item_bundle_parse(raw, len, &b, err);
    if (rc)
        return rc;
    item *it = malloc(sizeof *it);
    if (!it) {
        item_bundle_free(&b);
        return ao_err_set(err, AO_ENOMEM, "bundle: out of memory");
    }
    for (size_t i = 0; i < b.count && !rc; i++) {
        if ((rc = item_verify(b.entries[i].raw, b.entries[i].len, it, err))) {
            ao_err_wrap(err, "bundle item %zu", i);
            break;
        }
        uint8_t id[ITEM_ID_LEN];
        item_id(it, id);
        if (memcmp(id, b.entries[i].header_id, ITEM_ID_LEN))
            rc = ao_err_set(err, AO_EVERIFY,
                            "bundle item %zu: header id is not SHA-256 of the item's signature", i);
    }
    free(it);
    item_bundle_free(&b);
    return rc;
}

int item_bundle_write(const uint8_t *const *items, const size_t *lens, size_t n,
                      ao_buf *out, ao_error *err)
{
    size_t start = out->len;
    item *it = malloc(sizeof *it);
    if (!it)
        return ao_err_set(err, AO_ENOMEM, "bundle: out of memory");
    uint8_t word[32] = { 0 };
    int rc = AO_OK;
    ao_wr_u64le(word, n);
    if (ao_buf_append(out, word, 32))
        rc = AO_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        if ((rc = item_decode(items[i], lens[i], it, err))) {
            ao_err_wrap(err, "bundle item %zu", i);
            break;
        }
        memset(word, 0, sizeof word);
        ao_wr_u64le(word, lens[i]);
        uint8_t id[ITEM_ID_LEN];
        item_id(it, id);
        if (ao_buf_append(out, word, 32) || ao_buf_append(out, id, 32))
            rc = AO_ENOMEM;
    }
    for (size_t i = 0; i < n && !rc; i++)
        if (ao_buf_append(out, items[i], lens[i]))
            rc = AO_ENOMEM;
    free(it);
    if (rc) {
        out->len = start;
        if (rc == AO_ENOMEM)
            ao_err_set(err, AO_ENOMEM, "bundle: out of memory");
    }
    return rc;
}
