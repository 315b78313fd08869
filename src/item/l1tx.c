/* l1tx.c - Arweave L1 transactions, format 2 (ANS104.md §5): the deep hash
 * that is signed, and the merkle data_root over 256 KiB chunks. */
#include "item.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int item_l1_signature_data(const item_l1_tx *tx, uint8_t out[ITEM_DH_LEN], ao_error *err)
{
    if (tx->target_len != 0 && tx->target_len != 32)
        return ao_err_set(err, AO_EINVAL, "l1 tx: target must be empty or 32 bytes, got %zu",
                          tx->target_len);
    if (tx->last_tx_len != 0 && tx->last_tx_len != 32 && tx->last_tx_len != 48)
        return ao_err_set(err, AO_EINVAL, "l1 tx: last_tx must be 32 or 48 bytes, got %zu",
                          tx->last_tx_len);
    if (tx->data_root_len != 0 && tx->data_root_len != 32)
        return ao_err_set(err, AO_EINVAL, "l1 tx: data_root must be empty or 32 bytes, got %zu",
                          tx->data_root_len);
    const char *q = tx->quantity ? tx->quantity : "0";
    const char *r = tx->reward ? tx->reward : "0";
    char size[24];
    int k = snprintf(size, sizeof size, "%llu", (unsigned long long)tx->data_size);

    item_dh_list tags, pair;
    uint8_t h[ITEM_DH_LEN];
    item_dh_list_begin(&tags, tx->ntags);
    for (size_t i = 0; i < tx->ntags; i++) {
        item_dh_list_begin(&pair, 2);
        item_dh_list_add_blob(&pair, tx->tags[i].name, tx->tags[i].name_len);
        item_dh_list_add_blob(&pair, tx->tags[i].value, tx->tags[i].value_len);
        item_dh_list_end(&pair, h, NULL);
        item_dh_list_add_hash(&tags, h);
    }

    item_dh_list l;
    item_dh_list_begin(&l, 9);
    item_dh_list_add_blob(&l, "2", 1);
    item_dh_list_add_blob(&l, tx->owner, tx->owner_len);
    item_dh_list_add_blob(&l, tx->target, tx->target_len);
    item_dh_list_add_blob(&l, q, strlen(q));
    item_dh_list_add_blob(&l, r, strlen(r));
    item_dh_list_add_blob(&l, tx->last_tx, tx->last_tx_len);
    item_dh_list_end(&tags, h, NULL);
    item_dh_list_add_hash(&l, h);
    item_dh_list_add_blob(&l, size, (size_t)k);
    item_dh_list_add_blob(&l, tx->data_root, tx->data_root_len);
    return item_dh_list_end(&l, out, err);
}

/* ---- merkle data_root ---- */

#define CHUNK_MAX (256 * 1024)
#define CHUNK_MIN (32 * 1024)

typedef struct { uint8_t id[32]; uint64_t max; } mnode;

static void u256be(uint64_t v, uint8_t out[32])
{
    memset(out, 0, 32);
    for (int i = 0; i < 8; i++)
        out[31 - i] = (uint8_t)(v >> (8 * i));
}

static void leaf(const uint8_t *chunk, size_t n, uint64_t end, mnode *out)
{
    uint8_t buf[64], h[32], note[32];
    crypto_sha256(n ? chunk : (const uint8_t *)"", n, h);
    crypto_sha256(h, 32, buf);
    u256be(end, note);
    crypto_sha256(note, 32, buf + 32);
    crypto_sha256(buf, 64, out->id);
    out->max = end;
}

static void branch(const mnode *l, const mnode *r, mnode *out)
{
    uint8_t buf[96], note[32];
    crypto_sha256(l->id, 32, buf);
    crypto_sha256(r->id, 32, buf + 32);
    u256be(l->max, note);
    crypto_sha256(note, 32, buf + 64);
    crypto_sha256(buf, 96, out->id);
    out->max = r->max;
}

int item_l1_data_root(const uint8_t *data, size_t len, uint8_t out[32], ao_error *err)
{
    if (len == 0)
        return ao_err_set(err, AO_EINVAL, "l1 data_root: no data (the data_root is empty)");
    /* chunking as arweave-js chunkData: while at least one full chunk is
     * left, cut 256 KiB, or half (rounded up) of the rest when what would
     * remain is under 32 KiB; then the rest (possibly empty) is the last */
    size_t nmax = len / CHUNK_MAX + 2;
    mnode *nodes = malloc(nmax * sizeof *nodes);
    if (!nodes)
        return ao_err_set(err, AO_ENOMEM, "l1 data_root: out of memory");
    size_t n = 0, cur = 0, rest = len;
    while (rest >= CHUNK_MAX) {
        size_t sz = CHUNK_MAX, next = rest - CHUNK_MAX;
        if (next > 0 && next < CHUNK_MIN)
            sz = (rest + 1) / 2;
        leaf(data + cur, sz, cur + sz, &nodes[n++]);
        cur += sz;
        rest -= sz;
    }
    leaf(data + cur, rest, cur + rest, &nodes[n++]);
    while (n > 1) {
        size_t m = 0;
        for (size_t i = 0; i < n; i += 2) {
            if (i + 1 < n)
                branch(&nodes[i], &nodes[i + 1], &nodes[m++]);
            else
                nodes[m++] = nodes[i];
        }
        n = m;
    }
    memcpy(out, nodes[0].id, 32);
    free(nodes);
    return AO_OK;
}
