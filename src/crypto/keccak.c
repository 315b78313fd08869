/*
 * keccak.c - Keccak-256 as used by Ethereum: the Keccak-f[1600] permutation
 * with rate 136 bytes and the original Keccak padding (0x01 ... 0x80), which
 * differs from FIPS-202 SHA3-256 (0x06). OpenSSL 3.0 ships no Keccak-256, so
 * it is written here from the Keccak reference description.
 */
#include "crypto_internal.h"

#include <stdio.h>
#include <string.h>

static const uint64_t keccak_rc[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
    0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
    0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
    0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
    0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
    0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
    0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* Rotation offsets r[x][y], indexed as x + 5*y. */
static const unsigned keccak_rot[25] = {
     0,  1, 62, 28, 27,
    36, 44,  6, 55, 20,
     3, 10, 43, 25, 39,
    41, 45, 15, 21,  8,
    18,  2, 61, 56, 14,
};

static inline uint64_t rotl64(uint64_t v, unsigned r)
{
    return r ? (v << r) | (v >> (64 - r)) : v;
}

/* Keccak-f[1600]; lane (x, y) is a[x + 5*y]. */
static void keccak_f1600(uint64_t a[25])
{
    for (int round = 0; round < 24; round++) {
        uint64_t c[5], d[5], b[25];
        /* theta */
        for (int x = 0; x < 5; x++)
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++)
            d[x] = c[(x + 4) % 5] ^ rotl64(c[(x + 1) % 5], 1);
        for (int i = 0; i < 25; i++)
            a[i] ^= d[i % 5];
        /* rho and pi: B[y, 2x+3y] = rot(A[x, y], r[x, y]) */
        for (int x = 0; x < 5; x++)
            for (int y = 0; y < 5; y++)
                b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl64(a[x + 5 * y], keccak_rot[x + 5 * y]);
        /* chi */
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 5; x++)
                a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]);
        /* iota */
        a[0] ^= keccak_rc[round];
    }
}

static void keccak_absorb_block(crypto_keccak_state *k, const uint8_t *blk)
{
    for (int i = 0; i < KECCAK256_RATE / 8; i++)
        k->a[i] ^= ao_rd_u64le(blk + 8 * i);
    keccak_f1600(k->a);
}

void crypto_keccak_init(crypto_keccak_state *k)
{
    memset(k, 0, sizeof *k);
}

void crypto_keccak_update(crypto_keccak_state *k, const void *p, size_t n)
{
    const uint8_t *in = p;
    if (k->fill) {
        size_t take = KECCAK256_RATE - k->fill;
        if (take > n)
            take = n;
        memcpy(k->buf + k->fill, in, take);
        k->fill += take;
        in += take;
        n -= take;
        if (k->fill < KECCAK256_RATE)
            return;
        keccak_absorb_block(k, k->buf);
        k->fill = 0;
    }
    while (n >= KECCAK256_RATE) {
        keccak_absorb_block(k, in);
        in += KECCAK256_RATE;
        n -= KECCAK256_RATE;
    }
    if (n) {
        memcpy(k->buf, in, n);
        k->fill = n;
    }
}

void crypto_keccak_final_pad(crypto_keccak_state *k, uint8_t out[AO_KECCAK256_LEN],
                             uint8_t pad)
{
    /* pad after the message, 0x80 in the last byte of the block (both in
     * one byte if only one is left). */
    memset(k->buf + k->fill, 0, KECCAK256_RATE - k->fill);
    k->buf[k->fill] ^= pad;
    k->buf[KECCAK256_RATE - 1] ^= 0x80;
    keccak_absorb_block(k, k->buf);
    for (int i = 0; i < AO_KECCAK256_LEN / 8; i++)
        ao_wr_u64le(out + 8 * i, k->a[i]);
    k->fill = 0;
}

void crypto_keccak_final(crypto_keccak_state *k, uint8_t out[AO_KECCAK256_LEN])
{
    crypto_keccak_final_pad(k, out, 0x01);   /* original Keccak padding */
}

void crypto_keccak256(const void *p, size_t n, uint8_t out[AO_KECCAK256_LEN])
{
    crypto_keccak_state k;
    crypto_keccak_init(&k);
    crypto_keccak_update(&k, p, n);
    crypto_keccak_final(&k, out);
}

void crypto_eip191_digest(const uint8_t *msg, size_t msg_len, uint8_t out[32])
{
    static const char prefix[] = "\x19" "Ethereum Signed Message:\n";
    char dec[24];
    int dn = snprintf(dec, sizeof dec, "%zu", msg_len);
    crypto_keccak_state k;
    crypto_keccak_init(&k);
    crypto_keccak_update(&k, prefix, sizeof prefix - 1);
    crypto_keccak_update(&k, dec, (size_t)dn);
    crypto_keccak_update(&k, msg, msg_len);
    crypto_keccak_final(&k, out);
}
