/* deephash.c - the Arweave deep hash (ANS104.md §3): blobs, lists, a
 * streaming blob for large data, and the data item signature message with
 * its constant prefix computed once. */
#include "item.h"
#include "item_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SHA384(tag || decimal(n)) with tag "blob" or "list". */
static void dh_tag(const char *tag, uint64_t n, uint8_t out[ITEM_DH_LEN])
{
    char t[32];
    int k = snprintf(t, sizeof t, "%s%llu", tag, (unsigned long long)n);
    crypto_sha384(t, (size_t)k, out);
}

/* SHA384(a || b), both 48 bytes. */
static void dh_pair(const uint8_t a[ITEM_DH_LEN], const uint8_t b[ITEM_DH_LEN],
                    uint8_t out[ITEM_DH_LEN])
{
    uint8_t t[2 * ITEM_DH_LEN];
    memcpy(t, a, ITEM_DH_LEN);
    memcpy(t + ITEM_DH_LEN, b, ITEM_DH_LEN);
    crypto_sha384(t, sizeof t, out);
}

/* SHA384("blob" || decimal(n)) for n up to the tag-bytes limit, filled on
 * first use: a typical item needs five of these, a quarter of its hashes.
 * A racing first use computes the same bytes twice, harmlessly. */
#define BLOB_CACHE (ITEM_MAX_TAG_BYTES + 1)
static uint8_t blob_tag_hash[BLOB_CACHE][ITEM_DH_LEN];
static atomic_uchar blob_tag_ready[BLOB_CACHE];

static void dh_blob_tag(uint64_t n, uint8_t out[ITEM_DH_LEN])
{
    if (n >= BLOB_CACHE) {
        dh_tag("blob", n, out);
        return;
    }
    if (!atomic_load_explicit(&blob_tag_ready[n], memory_order_acquire)) {
        uint8_t h[ITEM_DH_LEN];
        dh_tag("blob", n, h);
        /* only one writer publishes; the bytes are the same for everyone */
        unsigned char expect = 0;
        if (atomic_compare_exchange_strong(&blob_tag_ready[n], &expect, 2)) {
            memcpy(blob_tag_hash[n], h, ITEM_DH_LEN);
            atomic_store_explicit(&blob_tag_ready[n], 1, memory_order_release);
        }
        memcpy(out, h, ITEM_DH_LEN);
        return;
    }
    if (atomic_load_explicit(&blob_tag_ready[n], memory_order_acquire) != 1) {
        dh_tag("blob", n, out);   /* being published by another thread */
        return;
    }
    memcpy(out, blob_tag_hash[n], ITEM_DH_LEN);
}

void item_dh_blob(const void *p, size_t n, uint8_t out[ITEM_DH_LEN])
{
    uint8_t tag[ITEM_DH_LEN], body[ITEM_DH_LEN];
    dh_blob_tag(n, tag);
    crypto_sha384(n ? p : "", n, body);
    dh_pair(tag, body, out);
}

void item_dh_list_begin(item_dh_list *l, size_t count)
{
    dh_tag("list", count, l->acc);
    l->expected = count;
    l->added = 0;
}

void item_dh_list_add_hash(item_dh_list *l, const uint8_t dh[ITEM_DH_LEN])
{
    dh_pair(l->acc, dh, l->acc);
    l->added++;
}

void item_dh_list_add_blob(item_dh_list *l, const void *p, size_t n)
{
    uint8_t h[ITEM_DH_LEN];
    item_dh_blob(p, n, h);
    item_dh_list_add_hash(l, h);
}

int item_dh_list_end(item_dh_list *l, uint8_t out[ITEM_DH_LEN], ao_error *err)
{
    if (l->added != l->expected)
        return ao_err_set(err, AO_EINVAL, "deep hash list: %zu elements announced, %zu added",
                          l->expected, l->added);
    memcpy(out, l->acc, ITEM_DH_LEN);
    return AO_OK;
}

/* ---- streaming blob ---- */

struct item_dh_stream {
    crypto_hash *h;
    uint64_t total, fed;
};

int item_dh_stream_new(uint64_t total_len, item_dh_stream **out, ao_error *err)
{
    item_dh_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->h = crypto_hash_new(CRYPTO_SHA384))) {
        free(s);
        return ao_err_set(err, AO_ENOMEM, "deep hash stream: out of memory");
    }
    s->total = total_len;
    *out = s;
    return AO_OK;
}

void item_dh_stream_update(item_dh_stream *s, const void *p, size_t n)
{
    crypto_hash_update(s->h, p, n);
    s->fed += n;
}

int item_dh_stream_final(item_dh_stream *s, uint8_t out[ITEM_DH_LEN], ao_error *err)
{
    if (s->fed != s->total)
        return ao_err_set(err, AO_EINVAL, "deep hash stream: %llu bytes announced, %llu fed",
                          (unsigned long long)s->total, (unsigned long long)s->fed);
    uint8_t tag[ITEM_DH_LEN], body[ITEM_DH_LEN];
    crypto_hash_final(s->h, body);
    dh_blob_tag(s->total, tag);
    dh_pair(tag, body, out);
    return AO_OK;
}

void item_dh_stream_free(item_dh_stream *s)
{
    if (!s)
        return;
    crypto_hash_free(s->h);
    free(s);
}

/* ---- the data item message ---- */

#define DH_TYPES 8   /* precomputed prefixes for types 0..7 */

static struct {
    uint8_t empty[ITEM_DH_LEN];               /* DH of the empty blob */
    uint8_t prefix[DH_TYPES][ITEM_DH_LEN];    /* acc after "dataitem","1",type */
} dh_const;
static pthread_once_t dh_once = PTHREAD_ONCE_INIT;

static void dh_prefix_compute(unsigned type, uint8_t out[ITEM_DH_LEN])
{
    item_dh_list l;
    char t[8];
    int k = snprintf(t, sizeof t, "%u", type);
    item_dh_list_begin(&l, 8);
    item_dh_list_add_blob(&l, "dataitem", 8);
    item_dh_list_add_blob(&l, "1", 1);
    item_dh_list_add_blob(&l, t, (size_t)k);
    memcpy(out, l.acc, ITEM_DH_LEN);
}

static void dh_const_init(void)
{
    item_dh_blob("", 0, dh_const.empty);
    for (unsigned t = 0; t < DH_TYPES; t++)
        dh_prefix_compute(t, dh_const.prefix[t]);
}

/* DH(owner) with a one-entry per-thread cache: a stream of items mostly
 * comes from few signers (an MU signs every pushed message). */
#define OWNER_CACHE_MAX 1025
static _Thread_local struct {
    size_t len;
    uint8_t owner[OWNER_CACHE_MAX];
    uint8_t dh[ITEM_DH_LEN];
} owner_cache;

static void dh_owner(const uint8_t *owner, size_t n, uint8_t out[ITEM_DH_LEN])
{
    if (n && n <= OWNER_CACHE_MAX && owner_cache.len == n && !memcmp(owner_cache.owner, owner, n)) {
        memcpy(out, owner_cache.dh, ITEM_DH_LEN);
        return;
    }
    item_dh_blob(owner, n, out);
    if (n && n <= OWNER_CACHE_MAX) {
        owner_cache.len = n;
        memcpy(owner_cache.owner, owner, n);
        memcpy(owner_cache.dh, out, ITEM_DH_LEN);
    }
}

void item_dh_message(unsigned sig_type, const uint8_t *owner, size_t owner_len,
                     const uint8_t *target, const uint8_t *anchor,
                     const uint8_t *tag_bytes, size_t tag_bytes_len,
                     const uint8_t *data, size_t data_len, uint8_t out[ITEM_DH_LEN])
{
    pthread_once(&dh_once, dh_const_init);
    uint8_t acc[ITEM_DH_LEN], h[ITEM_DH_LEN];
    if (sig_type < DH_TYPES)
        memcpy(acc, dh_const.prefix[sig_type], ITEM_DH_LEN);
    else
        dh_prefix_compute(sig_type, acc);
    dh_owner(owner, owner_len, h);
    dh_pair(acc, h, acc);
    if (target)
        item_dh_blob(target, ITEM_TARGET_LEN, h);
    dh_pair(acc, target ? h : dh_const.empty, acc);
    if (anchor)
        item_dh_blob(anchor, ITEM_ANCHOR_LEN, h);
    dh_pair(acc, anchor ? h : dh_const.empty, acc);
    item_dh_blob(tag_bytes, tag_bytes_len, h);
    dh_pair(acc, h, acc);
    item_dh_blob(data, data_len, h);
    dh_pair(acc, h, out);
}

void item_deep_hash(const item *it, uint8_t out[ITEM_DH_LEN])
{
    item_dh_message(it->sig_type, it->owner, it->owner_len, it->target, it->anchor,
                    it->tag_bytes, it->tag_bytes_len, it->data, it->data_len, out);
}
