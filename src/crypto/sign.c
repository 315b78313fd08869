/*
 * sign.c - the three ANS-104 signature schemes: RSA-PSS-4096 with SHA-256
 * (Arweave), Ed25519, and secp256k1 ECDSA over the EIP-191 digest with
 * r||s||v signatures (Ethereum). Signing takes a crypto_wallet; verifying
 * takes the owner bytes as they appear in a data item.
 */
#include "crypto_internal.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <secp256k1_recovery.h>
#include <string.h>

#define RSA_SIGN_SALT 32

/* ---- secp256k1 context ---- */

static secp256k1_context *secp_ctx;
static pthread_once_t secp_once = PTHREAD_ONCE_INIT;

static void secp_init(void)
{
    secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!c)
        return;
    uint8_t seed[32];
    if (RAND_bytes(seed, sizeof seed) == 1 && secp256k1_context_randomize(c, seed) == 1)
        secp_ctx = c;
    else
        secp256k1_context_destroy(c);
}

const secp256k1_context *crypto_secp_ctx(void)
{
    pthread_once(&secp_once, secp_init);
    return secp_ctx;
}

/* ---- RSA-PSS ---- */

int crypto_rsa_pub_from_n(const uint8_t *n, size_t n_len, EVP_PKEY **out, ao_error *err)
{
    *out = NULL;
    if (n_len < 64 || n_len > 1024 || n[0] == 0)
        return ao_err_set(err, AO_EINVAL, "RSA modulus of %zu bytes is not usable", n_len);
    int rc = AO_ECRYPTO;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)n_len, NULL);
    BIGNUM *be = BN_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    if (!bld || !bn || !be || !BN_set_word(be, 65537) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
        EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        ao_err_set(err, AO_ECRYPTO, "cannot build an RSA public key from the modulus");
        *out = NULL;
    } else {
        rc = AO_OK;
    }
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return rc;
}

/* Set PSS padding with SHA-256 and MGF1-SHA-256 on a sign/verify ctx. */
static int rsa_pss_setup(EVP_PKEY_CTX *ctx, int saltlen)
{
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, saltlen) > 0;
}

int crypto_rsa_pss_verify(const uint8_t *n, size_t n_len, const uint8_t *msg, size_t msg_len,
                          const uint8_t *sig, size_t sig_len, ao_error *err)
{
    if (sig_len != n_len)
        return ao_err_set(err, AO_EVERIFY, "RSA signature is %zu bytes, modulus %zu", sig_len, n_len);
    if (n_len < 64 || n_len > 1024 || n[0] == 0)
        return ao_err_set(err, AO_EVERIFY, "RSA modulus of %zu bytes is not usable", n_len);
    EVP_PKEY *pk = NULL;
    int rc = crypto_rsa_pub_from_n(n, n_len, &pk, err);
    if (rc != AO_OK)
        return rc;
    uint8_t digest[AO_SHA256_LEN];
    crypto_sha256(msg, msg_len, digest);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    if (!ctx || EVP_PKEY_verify_init(ctx) <= 0 || !rsa_pss_setup(ctx, RSA_PSS_SALTLEN_AUTO)) {
        rc = ao_err_set(err, AO_ECRYPTO, "cannot set up RSA-PSS verification");
    } else {
        int v = EVP_PKEY_verify(ctx, sig, sig_len, digest, sizeof digest);
        rc = v == 1 ? AO_OK : ao_err_set(err, AO_EVERIFY, "RSA-PSS signature does not match");
    }
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return rc;
}

static int rsa_pss_sign(EVP_PKEY *pk, const uint8_t *msg, size_t msg_len,
                        uint8_t *sig, size_t *sig_len, ao_error *err)
{
    uint8_t digest[AO_SHA256_LEN];
    crypto_sha256(msg, msg_len, digest);
    size_t len = AO_SIG_MAX;
    int rc = AO_OK;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    if (!ctx || EVP_PKEY_sign_init(ctx) <= 0 || !rsa_pss_setup(ctx, RSA_SIGN_SALT) ||
        EVP_PKEY_sign(ctx, sig, &len, digest, sizeof digest) <= 0)
        rc = ao_err_set(err, AO_ECRYPTO, "RSA-PSS signing failed");
    else
        *sig_len = len;
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* ---- Ed25519 ---- */

int crypto_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t msg_len,
                          const uint8_t sig[64], ao_error *err)
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    if (!pk)
        return ao_err_set(err, AO_EVERIFY, "Ed25519 public key is not usable");
    int rc;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) != 1)
        rc = ao_err_set(err, AO_ECRYPTO, "cannot set up Ed25519 verification");
    else if (EVP_DigestVerify(ctx, sig, 64, msg, msg_len) == 1)
        rc = AO_OK;
    else
        rc = ao_err_set(err, AO_EVERIFY, "Ed25519 signature does not match");
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return rc;
}

static int ed25519_sign(EVP_PKEY *pk, const uint8_t *msg, size_t msg_len,
                        uint8_t *sig, size_t *sig_len, ao_error *err)
{
    size_t len = 64;
    int rc = AO_OK;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) != 1 ||
        EVP_DigestSign(ctx, sig, &len, msg, msg_len) != 1 || len != 64)
        rc = ao_err_set(err, AO_ECRYPTO, "Ed25519 signing failed");
    else
        *sig_len = 64;
    EVP_MD_CTX_free(ctx);
    return rc;
}

/* ---- secp256k1 ---- */

static int secp_parse_owner(const secp256k1_context *ctx, const uint8_t *owner, size_t len,
                            secp256k1_pubkey *pk, ao_error *err)
{
    if (len != 65 || owner[0] != 0x04)
        return ao_err_set(err, AO_EVERIFY, "secp256k1 owner must be a 65-byte uncompressed key");
    if (!secp256k1_ec_pubkey_parse(ctx, pk, owner, len))
        return ao_err_set(err, AO_EVERIFY, "secp256k1 owner is not a point on the curve");
    return AO_OK;
}

int crypto_secp256k1_verify_digest(const uint8_t pub[65], const uint8_t digest[32],
                                   const uint8_t rs[64], ao_error *err)
{
    const secp256k1_context *ctx = crypto_secp_ctx();
    if (!ctx)
        return ao_err_set(err, AO_ECRYPTO, "no secp256k1 context");
    secp256k1_pubkey pk;
    int rc = secp_parse_owner(ctx, pub, 65, &pk, err);
    if (rc != AO_OK)
        return rc;
    secp256k1_ecdsa_signature sig, norm;
    if (!secp256k1_ecdsa_signature_parse_compact(ctx, &sig, rs))
        return ao_err_set(err, AO_EVERIFY, "ECDSA r or s is out of range");
    if (secp256k1_ecdsa_signature_normalize(ctx, &norm, &sig))
        return ao_err_set(err, AO_EVERIFY, "ECDSA signature has a high S value");
    if (secp256k1_ecdsa_verify(ctx, &sig, digest, &pk) != 1)
        return ao_err_set(err, AO_EVERIFY, "ECDSA signature does not match");
    return AO_OK;
}

/* Strict Ethereum verification: v in {27,28}, low S, and the key
 * recovered from (r, s, v) over the EIP-191 digest equals the owner. */
static int eth_verify(const uint8_t *owner, size_t owner_len, const uint8_t *msg, size_t msg_len,
                      const uint8_t *sig, size_t sig_len, ao_error *err)
{
    const secp256k1_context *ctx = crypto_secp_ctx();
    if (!ctx)
        return ao_err_set(err, AO_ECRYPTO, "no secp256k1 context");
    if (sig_len != 65)
        return ao_err_set(err, AO_EVERIFY, "Ethereum signature must be 65 bytes, got %zu", sig_len);
    secp256k1_pubkey want;
    int rc = secp_parse_owner(ctx, owner, owner_len, &want, err);
    if (rc != AO_OK)
        return rc;
    uint8_t v = sig[64];
    if (v != 27 && v != 28)
        return ao_err_set(err, AO_EVERIFY, "Ethereum signature v is %u, must be 27 or 28", v);
    secp256k1_ecdsa_signature plain, norm;
    if (!secp256k1_ecdsa_signature_parse_compact(ctx, &plain, sig))
        return ao_err_set(err, AO_EVERIFY, "ECDSA r or s is out of range");
    if (secp256k1_ecdsa_signature_normalize(ctx, &norm, &plain))
        return ao_err_set(err, AO_EVERIFY, "ECDSA signature has a high S value");
    secp256k1_ecdsa_recoverable_signature rsig;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rsig, sig, v - 27))
        return ao_err_set(err, AO_EVERIFY, "ECDSA signature cannot be parsed");
    uint8_t digest[32];
    crypto_eip191_digest(msg, msg_len, digest);
    secp256k1_pubkey got;
    if (!secp256k1_ecdsa_recover(ctx, &got, &rsig, digest))
        return ao_err_set(err, AO_EVERIFY, "no public key recovers from the signature");
    uint8_t ser[65];
    size_t ser_len = sizeof ser;
    secp256k1_ec_pubkey_serialize(ctx, ser, &ser_len, &got, SECP256K1_EC_UNCOMPRESSED);
    if (ser_len != 65 || memcmp(ser, owner, 65) != 0)
        return ao_err_set(err, AO_EVERIFY, "recovered key is not the owner");
    return AO_OK;
}

static int eth_sign(const uint8_t secret[32], const uint8_t *msg, size_t msg_len,
                    uint8_t *sig, size_t *sig_len, ao_error *err)
{
    const secp256k1_context *ctx = crypto_secp_ctx();
    if (!ctx)
        return ao_err_set(err, AO_ECRYPTO, "no secp256k1 context");
    uint8_t digest[32];
    crypto_eip191_digest(msg, msg_len, digest);
    secp256k1_ecdsa_recoverable_signature rsig;
    int recid = -1;
    /* RFC 6979 nonces; libsecp256k1 always produces low-S signatures. */
    if (!secp256k1_ecdsa_sign_recoverable(ctx, &rsig, digest, secret, NULL, NULL) ||
        !secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx, sig, &recid, &rsig))
        return ao_err_set(err, AO_ECRYPTO, "secp256k1 signing failed");
    if (recid != 0 && recid != 1)   /* r >= n: probability ~2^-127 */
        return ao_err_set(err, AO_ECRYPTO, "signature needs recovery id %d, not expressible as v", recid);
    sig[64] = (uint8_t)(27 + recid);
    *sig_len = 65;
    return AO_OK;
}

/* ---- dispatch ---- */

int crypto_sign(const crypto_wallet *w, const uint8_t *msg, size_t msg_len,
                uint8_t *sig, size_t *sig_len, ao_error *err)
{
    if (!w || !sig || !sig_len || (!msg && msg_len))
        return ao_err_set(err, AO_EINVAL, "crypto_sign: missing argument");
    switch (w->type) {
    case CRYPTO_KEY_ARWEAVE:
        return rsa_pss_sign(w->pkey, msg, msg_len, sig, sig_len, err);
    case CRYPTO_KEY_ED25519:
        return ed25519_sign(w->pkey, msg, msg_len, sig, sig_len, err);
    case CRYPTO_KEY_ETHEREUM:
        return eth_sign(w->secret, msg, msg_len, sig, sig_len, err);
    }
    return ao_err_set(err, AO_EUNSUPPORTED, "unknown key type %d", (int)w->type);
}

int crypto_verify(crypto_key_type type, const uint8_t *owner, size_t owner_len,
                  const uint8_t *msg, size_t msg_len,
                  const uint8_t *sig, size_t sig_len, ao_error *err)
{
    if (!owner || !sig || (!msg && msg_len))
        return ao_err_set(err, AO_EINVAL, "crypto_verify: missing argument");
    switch (type) {
    case CRYPTO_KEY_ARWEAVE:
        if (owner_len != 512)
            return ao_err_set(err, AO_EVERIFY, "Arweave owner must be 512 bytes, got %zu", owner_len);
        return crypto_rsa_pss_verify(owner, owner_len, msg, msg_len, sig, sig_len, err);
    case CRYPTO_KEY_ED25519:
        if (owner_len != 32)
            return ao_err_set(err, AO_EVERIFY, "Ed25519 owner must be 32 bytes, got %zu", owner_len);
        if (sig_len != 64)
            return ao_err_set(err, AO_EVERIFY, "Ed25519 signature must be 64 bytes, got %zu", sig_len);
        return crypto_ed25519_verify(owner, msg, msg_len, sig, err);
    case CRYPTO_KEY_ETHEREUM:
        return eth_verify(owner, owner_len, msg, msg_len, sig, sig_len, err);
    }
    return ao_err_set(err, AO_EUNSUPPORTED, "unknown key type %d", (int)type);
}
