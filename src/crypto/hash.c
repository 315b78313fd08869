/*
 * hash.c - SHA-256 and SHA-384 through OpenSSL 3 EVP, and the streaming
 * hash object (crypto_hash_*) that also covers Keccak-256.
 */
#include "crypto_internal.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Explicitly fetched digests: avoids the per-call implicit fetch of
 * EVP_sha256() on hot paths (deep hashes call SHA-384 many times). */
static EVP_MD *md_sha256, *md_sha384;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
    md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

static const EVP_MD *md_get(crypto_hash_alg alg)
{
    pthread_once(&md_once, md_fetch);
    if (alg == CRYPTO_SHA256)
        return md_sha256 ? md_sha256 : EVP_sha256();
    return md_sha384 ? md_sha384 : EVP_sha384();
}

static void evp_oneshot(crypto_hash_alg alg, const void *p, size_t n, uint8_t *out, size_t outlen)
{
    unsigned int len = 0;
    if (!EVP_Digest(p, n, out, &len, md_get(alg), NULL) || len != outlen)
        memset(out, 0, outlen);   /* only on allocation failure inside OpenSSL */
}

void crypto_sha256(const void *p, size_t n, uint8_t out[AO_SHA256_LEN])
{
    evp_oneshot(CRYPTO_SHA256, p, n, out, AO_SHA256_LEN);
}

void crypto_sha384(const void *p, size_t n, uint8_t out[AO_SHA384_LEN])
{
    evp_oneshot(CRYPTO_SHA384, p, n, out, AO_SHA384_LEN);
}

struct crypto_hash {
    crypto_hash_alg alg;
    EVP_MD_CTX *ctx;            /* SHA-2 */
    crypto_keccak_state keccak; /* Keccak-256 */
    bool failed;                /* an OpenSSL call failed: final gives zeros */
};

crypto_hash *crypto_hash_new(crypto_hash_alg alg)
{
    if (alg != CRYPTO_SHA256 && alg != CRYPTO_SHA384 && alg != CRYPTO_KECCAK256)
        return NULL;
    crypto_hash *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->alg = alg;
    if (alg != CRYPTO_KECCAK256) {
        h->ctx = EVP_MD_CTX_new();
        if (!h->ctx) {
            free(h);
            return NULL;
        }
    }
    crypto_hash_reset(h);
    return h;
}

void crypto_hash_reset(crypto_hash *h)
{
    if (!h)
        return;
    h->failed = false;
    if (h->alg == CRYPTO_KECCAK256)
        crypto_keccak_init(&h->keccak);
    else if (!EVP_DigestInit_ex(h->ctx, md_get(h->alg), NULL))
        h->failed = true;
}

void crypto_hash_update(crypto_hash *h, const void *p, size_t n)
{
    if (!h || h->failed)
        return;
    if (h->alg == CRYPTO_KECCAK256)
        crypto_keccak_update(&h->keccak, p, n);
    else if (n && !EVP_DigestUpdate(h->ctx, p, n))
        h->failed = true;
}

static size_t hash_len(crypto_hash_alg alg)
{
    return alg == CRYPTO_SHA384 ? AO_SHA384_LEN : 32;
}

void crypto_hash_final(crypto_hash *h, uint8_t *out)
{
    if (!h)
        return;
    if (h->alg == CRYPTO_KECCAK256) {
        crypto_keccak_final(&h->keccak, out);
        crypto_keccak_init(&h->keccak);
        return;
    }
    unsigned int len = 0;
    if (h->failed || !EVP_DigestFinal_ex(h->ctx, out, &len) || len != hash_len(h->alg))
        memset(out, 0, hash_len(h->alg));
    /* leave the object ready for another message, as after _reset */
    crypto_hash_reset(h);
}

void crypto_hash_free(crypto_hash *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}
