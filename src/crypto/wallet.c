/*
 * wallet.c - wallets for the three key types: generation, parsing and
 * serialising their JSON files (Arweave RSA JWK, Ed25519 OKP, secp256k1
 * EC), atomic 0600 saves, and addresses (base64url SHA-256 of the owner,
 * or the EIP-55 checksummed Ethereum address).
 */
#include "crypto_internal.h"

#include <cJSON.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static const char *const jwk_names[JWK_COUNT] = { "n", "e", "d", "p", "q", "dp", "dq", "qi" };
static const char *const jwk_params[JWK_COUNT] = {
    OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_D,
    OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
    OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
    OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};

void crypto_wallet_free(crypto_wallet *w)
{
    if (!w)
        return;
    EVP_PKEY_free(w->pkey);
    for (int i = 0; i < JWK_COUNT; i++) {
        if (w->jwk[i]) {
            OPENSSL_cleanse(w->jwk[i], strlen(w->jwk[i]));
            free(w->jwk[i]);
        }
    }
    OPENSSL_cleanse(w, sizeof *w);
    free(w);
}

crypto_key_type crypto_wallet_type(const crypto_wallet *w)
{
    return w->type;
}

const uint8_t *crypto_wallet_owner(const crypto_wallet *w, size_t *len)
{
    if (len)
        *len = w->owner_len;
    return w->owner;
}

/* ---- RSA (Arweave) ---- */

/* Checks that the CRT members belong together: n = p*q, e*d = 1 mod
 * (p-1) and (q-1), dp = d mod (p-1), dq = d mod (q-1), qi*q = 1 mod p. */
static int rsa_check_members(BIGNUM *const bn[JWK_COUNT], ao_error *err)
{
    int rc = AO_ECRYPTO;
    const char *why = "big-number arithmetic failed";
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *t = BN_new(), *p1 = BN_new(), *q1 = BN_new();
    if (!ctx || !t || !p1 || !q1 || !BN_mul(t, bn[JWK_P], bn[JWK_Q], ctx))
        goto out;
    rc = AO_EFORMAT;
    why = "n is not p*q";
    if (BN_cmp(t, bn[JWK_N]) != 0)
        goto out;
    rc = AO_ECRYPTO;
    why = "big-number arithmetic failed";
    if (!BN_sub(p1, bn[JWK_P], BN_value_one()) || !BN_sub(q1, bn[JWK_Q], BN_value_one()) ||
        !BN_mod(t, bn[JWK_D], p1, ctx))
        goto out;
    rc = AO_EFORMAT;
    why = "dp/dq do not match d";
    if (BN_cmp(t, bn[JWK_DP]) != 0)
        goto out;
    if (!BN_mod(t, bn[JWK_D], q1, ctx) || BN_cmp(t, bn[JWK_DQ]) != 0)
        goto out;
    why = "d is not the inverse of e";
    if (!BN_mod_mul(t, bn[JWK_E], bn[JWK_DP], p1, ctx) || !BN_is_one(t) ||
        !BN_mod_mul(t, bn[JWK_E], bn[JWK_DQ], q1, ctx) || !BN_is_one(t))
        goto out;
    why = "qi is not q^-1 mod p";
    if (!BN_mod_mul(t, bn[JWK_QI], bn[JWK_Q], bn[JWK_P], ctx) || !BN_is_one(t))
        goto out;
    rc = AO_OK;
out:
    BN_CTX_free(ctx);
    BN_clear_free(t);
    BN_clear_free(p1);
    BN_clear_free(q1);
    return rc == AO_OK ? AO_OK : ao_err_set(err, rc, "RSA wallet: %s", why);
}

/* Fill w from the eight members; takes nothing, frees nothing of bn. */
static int rsa_wallet_from_bn(crypto_wallet *w, BIGNUM *const bn[JWK_COUNT], ao_error *err)
{
    if (BN_num_bytes(bn[JWK_N]) != 512)
        return ao_err_set(err, AO_EFORMAT, "RSA wallet: modulus is %d bits, must be 4096",
                          BN_num_bits(bn[JWK_N]));
    if (!BN_is_word(bn[JWK_E], 65537))
        return ao_err_set(err, AO_EFORMAT, "RSA wallet: public exponent must be 65537");
    int rc = rsa_check_members(bn, err);
    if (rc != AO_OK)
        return rc;
    BN_bn2bin(bn[JWK_N], w->owner);
    w->owner_len = 512;
    for (int i = 0; i < JWK_COUNT; i++) {
        uint8_t tmp[512];
        int len = BN_bn2bin(bn[i], tmp);
        if (len < 0 || len > 512)
            return ao_err_set(err, AO_EFORMAT, "RSA wallet: member %s too large", jwk_names[i]);
        w->jwk[i] = ao_b64url_encode(tmp, (size_t)len);
        OPENSSL_cleanse(tmp, sizeof tmp);
        if (!w->jwk[i])
            return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    if (w->pkey)
        return AO_OK;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    rc = AO_OK;
    int pushed = bld != NULL;
    for (int i = 0; pushed && i < JWK_COUNT; i++)
        pushed = OSSL_PARAM_BLD_push_BN(bld, jwk_params[i], bn[i]);
    if (!pushed || !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
        EVP_PKEY_fromdata_init(pctx) <= 0 ||
        EVP_PKEY_fromdata(pctx, &w->pkey, EVP_PKEY_KEYPAIR, params) <= 0) {
        w->pkey = NULL;
        rc = ao_err_set(err, AO_ECRYPTO, "RSA wallet: OpenSSL rejected the key");
    }
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

static int rsa_generate(crypto_wallet *w, ao_error *err)
{
    w->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
    if (!w->pkey)
        return ao_err_set(err, AO_ECRYPTO, "RSA-4096 key generation failed");
    BIGNUM *bn[JWK_COUNT] = { 0 };
    int rc = AO_OK;
    for (int i = 0; i < JWK_COUNT && rc == AO_OK; i++)
        if (!EVP_PKEY_get_bn_param(w->pkey, jwk_params[i], &bn[i]))
            rc = ao_err_set(err, AO_ECRYPTO, "RSA key lacks member %s", jwk_names[i]);
    if (rc == AO_OK)
        rc = rsa_wallet_from_bn(w, bn, err);
    for (int i = 0; i < JWK_COUNT; i++)
        BN_clear_free(bn[i]);
    return rc;
}

/* A base64url member of a JSON object, decoded into out (initialised). */
static int json_b64_member(const cJSON *o, const char *name, ao_buf *out, ao_error *err)
{
    ao_buf_init(out);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v))
        return ao_err_set(err, AO_EFORMAT, "wallet: member \"%s\" missing or not a string", name);
    int rc = ao_b64url_decode(v->valuestring, strlen(v->valuestring), out, err);
    if (rc != AO_OK)
        return ao_err_wrap(err, "wallet: member \"%s\"", name);
    return AO_OK;
}

static void buf_wipe_free(ao_buf *b)
{
    if (b->data)
        OPENSSL_cleanse(b->data, b->cap);
    ao_buf_free(b);
}

static int rsa_parse(crypto_wallet *w, const cJSON *o, ao_error *err)
{
    BIGNUM *bn[JWK_COUNT] = { 0 };
    int rc = AO_OK;
    for (int i = 0; i < JWK_COUNT && rc == AO_OK; i++) {
        ao_buf b;
        rc = json_b64_member(o, jwk_names[i], &b, err);
        if (rc == AO_OK && b.len == 0)
            rc = ao_err_set(err, AO_EFORMAT, "wallet: member \"%s\" is empty", jwk_names[i]);
        if (rc == AO_OK && b.len > 1024)
            rc = ao_err_set(err, AO_EFORMAT, "wallet: member \"%s\" is too long", jwk_names[i]);
        if (rc == AO_OK && !(bn[i] = BN_bin2bn(b.data, (int)b.len, NULL)))
            rc = ao_err_set(err, AO_ENOMEM, "out of memory");
        buf_wipe_free(&b);
    }
    if (rc == AO_OK)
        rc = rsa_wallet_from_bn(w, bn, err);
    for (int i = 0; i < JWK_COUNT; i++)
        BN_clear_free(bn[i]);
    return rc;
}

/* ---- Ed25519 ---- */

static int ed25519_from_seed(crypto_wallet *w, ao_error *err)
{
    w->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, w->secret, 32);
    size_t len = 32;
    if (!w->pkey || EVP_PKEY_get_raw_public_key(w->pkey, w->owner, &len) != 1 || len != 32)
        return ao_err_set(err, AO_ECRYPTO, "Ed25519 key setup failed");
    w->owner_len = 32;
    return AO_OK;
}

/* ---- secp256k1 ---- */

static int secp_from_secret(crypto_wallet *w, ao_error *err)
{
    const secp256k1_context *ctx = crypto_secp_ctx();
    if (!ctx)
        return ao_err_set(err, AO_ECRYPTO, "no secp256k1 context");
    secp256k1_pubkey pk;
    if (!secp256k1_ec_seckey_verify(ctx, w->secret) ||
        !secp256k1_ec_pubkey_create(ctx, &pk, w->secret))
        return ao_err_set(err, AO_EFORMAT, "secp256k1 secret key is out of range");
    size_t len = 65;
    secp256k1_ec_pubkey_serialize(ctx, w->owner, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
    w->owner_len = len;
    return AO_OK;
}

/* ---- type-independent ---- */

int crypto_wallet_generate(crypto_key_type type, crypto_wallet **out, ao_error *err)
{
    *out = NULL;
    crypto_wallet *w = calloc(1, sizeof *w);
    if (!w)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    w->type = type;
    int rc;
    switch (type) {
    case CRYPTO_KEY_ARWEAVE:
        rc = rsa_generate(w, err);
        break;
    case CRYPTO_KEY_ED25519:
        rc = RAND_priv_bytes(w->secret, 32) == 1 ? ed25519_from_seed(w, err)
                                                 : ao_err_set(err, AO_ECRYPTO, "no randomness");
        break;
    case CRYPTO_KEY_ETHEREUM:
        rc = AO_ECRYPTO;
        /* a random 32-byte string is out of range with probability ~2^-128 */
        for (int tries = 0; tries < 8 && rc != AO_OK; tries++) {
            if (RAND_priv_bytes(w->secret, 32) != 1) {
                rc = ao_err_set(err, AO_ECRYPTO, "no randomness");
                break;
            }
            rc = secp_from_secret(w, err);
        }
        break;
    default:
        rc = ao_err_set(err, AO_EINVAL, "unknown key type %d", (int)type);
    }
    if (rc != AO_OK) {
        crypto_wallet_free(w);
        return rc;
    }
    ao_err_clear(err);
    *out = w;
    return AO_OK;
}

/* Decode a base64url member that must be exactly 32 bytes into dst. */
static int json_fixed32(const cJSON *o, const char *name, uint8_t dst[32], ao_error *err)
{
    ao_buf b;
    int rc = json_b64_member(o, name, &b, err);
    if (rc == AO_OK && b.len != 32)
        rc = ao_err_set(err, AO_EFORMAT, "wallet: member \"%s\" must be 32 bytes, is %zu",
                        name, b.len);
    if (rc == AO_OK)
        memcpy(dst, b.data, 32);
    buf_wipe_free(&b);
    return rc;
}

/* The public members present in the file must match the derived key. */
static int check_public(const cJSON *o, const char *name, const uint8_t *want, ao_error *err)
{
    if (!cJSON_GetObjectItemCaseSensitive(o, name))
        return AO_OK;
    uint8_t got[32];
    int rc = json_fixed32(o, name, got, err);
    if (rc == AO_OK && memcmp(got, want, 32) != 0)
        rc = ao_err_set(err, AO_EFORMAT, "wallet: \"%s\" does not match the private key", name);
    return rc;
}

static const char *json_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int crypto_wallet_parse(const char *json, size_t len, crypto_wallet **out, ao_error *err)
{
    *out = NULL;
    if (!json)
        return ao_err_set(err, AO_EINVAL, "wallet: no text");
    cJSON *o = cJSON_ParseWithLength(json, len);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return ao_err_set(err, AO_EFORMAT, "wallet: not a JSON object");
    }
    crypto_wallet *w = calloc(1, sizeof *w);
    if (!w) {
        cJSON_Delete(o);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    const char *kty = json_str(o, "kty"), *crv = json_str(o, "crv");
    int rc;
    if (kty && !strcmp(kty, "RSA")) {
        w->type = CRYPTO_KEY_ARWEAVE;
        rc = rsa_parse(w, o, err);
    } else if (kty && !strcmp(kty, "OKP") && crv && !strcmp(crv, "Ed25519")) {
        w->type = CRYPTO_KEY_ED25519;
        rc = json_fixed32(o, "d", w->secret, err);
        if (rc == AO_OK)
            rc = ed25519_from_seed(w, err);
        if (rc == AO_OK)
            rc = check_public(o, "x", w->owner, err);
    } else if (kty && !strcmp(kty, "EC") && crv && !strcmp(crv, "secp256k1")) {
        w->type = CRYPTO_KEY_ETHEREUM;
        rc = json_fixed32(o, "d", w->secret, err);
        if (rc == AO_OK)
            rc = secp_from_secret(w, err);
        if (rc == AO_OK)
            rc = check_public(o, "x", w->owner + 1, err);
        if (rc == AO_OK)
            rc = check_public(o, "y", w->owner + 33, err);
    } else {
        rc = ao_err_set(err, AO_EUNSUPPORTED,
                        "wallet: unknown key kind (kty \"%s\", crv \"%s\"); expected RSA, "
                        "OKP/Ed25519 or EC/secp256k1", kty ? kty : "", crv ? crv : "");
    }
    cJSON_Delete(o);
    if (rc != AO_OK) {
        crypto_wallet_free(w);
        return rc;
    }
    *out = w;
    return AO_OK;
}

int crypto_wallet_load(const char *path, crypto_wallet **out, ao_error *err)
{
    *out = NULL;
    ao_buf b;
    ao_buf_init(&b);
    int rc = ao_file_read(path, &b, err);
    if (rc == AO_OK) {
        rc = crypto_wallet_parse((const char *)b.data, b.len, out, err);
        if (rc != AO_OK)
            ao_err_wrap(err, "%s", path);
    }
    buf_wipe_free(&b);
    return rc;
}

static bool add_b64(cJSON *o, const char *name, const uint8_t *p, size_t n)
{
    char *s = ao_b64url_encode(p, n);
    if (!s)
        return false;
    bool ok = cJSON_AddStringToObject(o, name, s) != NULL;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
    return ok;
}

int crypto_wallet_to_json(const crypto_wallet *w, char **json, ao_error *err)
{
    *json = NULL;
    cJSON *o = cJSON_CreateObject();
    bool ok = o != NULL;
    switch (w->type) {
    case CRYPTO_KEY_ARWEAVE:
        ok = ok && cJSON_AddStringToObject(o, "kty", "RSA");
        for (int i = 0; ok && i < JWK_COUNT; i++)
            ok = cJSON_AddStringToObject(o, jwk_names[i], w->jwk[i]) != NULL;
        break;
    case CRYPTO_KEY_ED25519:
        ok = ok && cJSON_AddStringToObject(o, "kty", "OKP") &&
             cJSON_AddStringToObject(o, "crv", "Ed25519") &&
             add_b64(o, "d", w->secret, 32) && add_b64(o, "x", w->owner, 32);
        break;
    case CRYPTO_KEY_ETHEREUM:
        ok = ok && cJSON_AddStringToObject(o, "kty", "EC") &&
             cJSON_AddStringToObject(o, "crv", "secp256k1") &&
             add_b64(o, "d", w->secret, 32) && add_b64(o, "x", w->owner + 1, 32) &&
             add_b64(o, "y", w->owner + 33, 32);
        break;
    default:
        ok = false;
    }
    char *text = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return ao_err_set(err, AO_ENOMEM, "wallet: cannot serialise");
    size_t n = strlen(text);
    char *s = malloc(n + 2);
    if (s) {
        memcpy(s, text, n);
        s[n] = '\n';
        s[n + 1] = 0;
    }
    OPENSSL_cleanse(text, n);
    cJSON_free(text);
    if (!s)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    *json = s;
    return AO_OK;
}

int crypto_wallet_save(const crypto_wallet *w, const char *path, ao_error *err)
{
    char *json;
    int rc = crypto_wallet_to_json(w, &json, err);
    if (rc != AO_OK)
        return rc;
    size_t n = strlen(json);
    rc = ao_file_write_atomic(path, json, n, 0600, err);
    OPENSSL_cleanse(json, n);
    free(json);
    return rc;
}

/* ---- addresses ---- */

void crypto_owner_address_b64(const uint8_t *owner, size_t owner_len, char out[AO_ADDRESS_MAX])
{
    uint8_t h[AO_SHA256_LEN];
    crypto_sha256(owner, owner_len, h);
    ao_b64url_encode_to(h, sizeof h, out);
}

void crypto_eth_address_checksum(const uint8_t addr[20], char out[43])
{
    char hex[41];
    ao_hex_encode_to(addr, 20, hex);
    uint8_t h[32];
    crypto_keccak256(hex, 40, h);
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 40; i++) {
        int nibble = (h[i / 2] >> (i % 2 ? 0 : 4)) & 0xf;
        char c = hex[i];
        out[2 + i] = (c >= 'a' && c <= 'f' && nibble >= 8) ? (char)(c - 'a' + 'A') : c;
    }
    out[42] = 0;
}

int crypto_address(crypto_key_type type, const uint8_t *owner, size_t owner_len,
                   char out[AO_ADDRESS_MAX], ao_error *err)
{
    out[0] = 0;
    switch (type) {
    case CRYPTO_KEY_ARWEAVE:
        if (owner_len != 512)
            return ao_err_set(err, AO_EINVAL, "Arweave owner must be 512 bytes, got %zu", owner_len);
        break;
    case CRYPTO_KEY_ED25519:
        if (owner_len != 32)
            return ao_err_set(err, AO_EINVAL, "Ed25519 owner must be 32 bytes, got %zu", owner_len);
        break;
    case CRYPTO_KEY_ETHEREUM: {
        if (owner_len != 65 || owner[0] != 0x04)
            return ao_err_set(err, AO_EINVAL, "Ethereum owner must be a 65-byte uncompressed key");
        uint8_t h[32];
        crypto_keccak256(owner + 1, 64, h);
        crypto_eth_address_checksum(h + 12, out);
        return AO_OK;
    }
    default:
        return ao_err_set(err, AO_EINVAL, "unknown key type %d", (int)type);
    }
    crypto_owner_address_b64(owner, owner_len, out);
    return AO_OK;
}
