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

#define ROTL64(v, r) (((v) << (r)) | ((v) >> (64 - (r))))

/* Keccak-f[1600]; lane (x, y) is a[x + 5*y]. One round is written out
 * step by step (theta, rho+pi, chi, iota) with the rotation offsets
 * r[x, y] of the Keccak reference folded in, so every index is a constant:
 *   r = { 0  1 62 28 27 / 36 44  6 55 20 /  3 10 43 25 39 /
 *        41 45 15 21  8 / 18  2 61 56 14 }   (rows y = 0..4, x = 0..4) */
static void keccak_f1600(uint64_t a[25])
{
    for (int round = 0; round < 24; round++) {
        uint64_t c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;
        uint64_t b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12;
        uint64_t b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24;
        /* theta */
        c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20];
        c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21];
        c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22];
        c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23];
        c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24];
        d0 = c4 ^ ROTL64(c1, 1);
        d1 = c0 ^ ROTL64(c2, 1);
        d2 = c1 ^ ROTL64(c3, 1);
        d3 = c2 ^ ROTL64(c4, 1);
        d4 = c3 ^ ROTL64(c0, 1);
        /* rho and pi: B[y, 2x+3y] = rot(A[x, y] ^ D[x], r[x, y]) */
        b0 = a[0] ^ d0;
        b10 = ROTL64(a[1] ^ d1, 1);
        b20 = ROTL64(a[2] ^ d2, 62);
        b5 = ROTL64(a[3] ^ d3, 28);
        b15 = ROTL64(a[4] ^ d4, 27);
        b16 = ROTL64(a[5] ^ d0, 36);
        b1 = ROTL64(a[6] ^ d1, 44);
        b11 = ROTL64(a[7] ^ d2, 6);
        b21 = ROTL64(a[8] ^ d3, 55);
        b6 = ROTL64(a[9] ^ d4, 20);
        b7 = ROTL64(a[10] ^ d0, 3);
        b17 = ROTL64(a[11] ^ d1, 10);
        b2 = ROTL64(a[12] ^ d2, 43);
        b12 = ROTL64(a[13] ^ d3, 25);
        b22 = ROTL64(a[14] ^ d4, 39);
        b23 = ROTL64(a[15] ^ d0, 41);
        b8 = ROTL64(a[16] ^ d1, 45);
        b18 = ROTL64(a[17] ^ d2, 15);
        b3 = ROTL64(a[18] ^ d3, 21);
        b13 = ROTL64(a[19] ^ d4, 8);
        b14 = ROTL64(a[20] ^ d0, 18);
        b24 = ROTL64(a[21] ^ d1, 2);
        b9 = ROTL64(a[22] ^ d2, 61);
        b19 = ROTL64(a[23] ^ d3, 56);
        b4 = ROTL64(a[24] ^ d4, 14);
        /* chi */
        a[0] = b0 ^ (~b1 & b2);
        a[1] = b1 ^ (~b2 & b3);
        a[2] = b2 ^ (~b3 & b4);
        a[3] = b3 ^ (~b4 & b0);
        a[4] = b4 ^ (~b0 & b1);
        a[5] = b5 ^ (~b6 & b7);
        a[6] = b6 ^ (~b7 & b8);
        a[7] = b7 ^ (~b8 & b9);
        a[8] = b8 ^ (~b9 & b5);
        a[9] = b9 ^ (~b5 & b6);
        a[10] = b10 ^ (~b11 & b12);
        a[11] = b11 ^ (~b12 & b13);
        a[12] = b12 ^ (~b13 & b14);
        a[13] = b13 ^ (~b14 & b10);
        a[14] = b14 ^ (~b10 & b11);
        a[15] = b15 ^ (~b16 & b17);
        a[16] = b16 ^ (~b17 & b18);
        a[17] = b17 ^ (~b18 & b19);
        a[18] = b18 ^ (~b19 & b15);
        a[19] = b19 ^ (~b15 & b16);
        a[20] = b20 ^ (~b21 & b22);
        a[21] = b21 ^ (~b22 & b23);
        a[22] = b22 ^ (~b23 & b24);
        a[23] = b23 ^ (~b24 & b20);
        a[24] = b24 ^ (~b20 & b21);
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
