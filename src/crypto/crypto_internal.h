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

/* ---- wallets (wallet.c) and signers (sign.c) ---- */
#include <openssl/evp.h>
#include <secp256k1.h>

/* The eight JWK members of an RSA key, in the order they are written. */
enum { JWK_N, JWK_E, JWK_D, JWK_P, JWK_Q, JWK_DP, JWK_DQ, JWK_QI, JWK_COUNT };

struct crypto_wallet {
    crypto_key_type type;
    EVP_PKEY *pkey;            /* arweave (RSA) and ed25519 */
    uint8_t secret[32];        /* ed25519 seed or secp256k1 secret key */
    uint8_t owner[512];        /* public key as an ANS-104 owner */
    size_t owner_len;
    char *jwk[JWK_COUNT];      /* arweave: base64url JWK members */
};

/* The process-wide secp256k1 context (randomised, for signing too); NULL
 * only if it could not be created. */
const secp256k1_context *crypto_secp_ctx(void);
/* RSA public key from a big-endian modulus and e = 65537. */
int crypto_rsa_pub_from_n(const uint8_t *n, size_t n_len, EVP_PKEY **out, ao_error *err);

#endif
