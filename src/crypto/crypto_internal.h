/*
 * crypto_internal.h - declarations shared between the files of src/crypto
 * only (not part of the public crypto.h contract).
 */
#ifndef AO_CRYPTO_INTERNAL_H
#define AO_CRYPTO_INTERNAL_H

#include "crypto/crypto.h"

#define KECCAK256_RATE 136

typedef struct crypto_keccak_state {
    uint64_t a[25];
    uint8_t buf[KECCAK256_RATE];
    size_t fill;
} crypto_keccak_state;

void crypto_keccak_init(crypto_keccak_state *k);
void crypto_keccak_update(crypto_keccak_state *k, const void *p, size_t n);
void crypto_keccak_final(crypto_keccak_state *k, uint8_t out[AO_KECCAK256_LEN]);
/* Final with a chosen first padding byte: 0x01 is Keccak-256 (what
 * crypto_keccak_final uses), 0x06 gives FIPS-202 SHA3-256 over the same
 * permutation (lets tests check the sponge against OpenSSL's SHA3). */
void crypto_keccak_final_pad(crypto_keccak_state *k, uint8_t out[AO_KECCAK256_LEN],
                             uint8_t pad);

#endif
