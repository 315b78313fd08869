/* test_sign.c - RSA-PSS, Ed25519 and Ethereum secp256k1 signatures against
 * the items of the shared ANS-104 vectors (signed by the JS libraries), the
 * strict Ethereum rules (v, low S, recovery), and sign/verify round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/crypto_internal.h"
#include "vectors.h"

static cJSON *vectors;

static int setup(void **state)
{
    (void)state;
    vectors = vec_load();
    return vectors ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    cJSON_Delete(vectors);
    return 0;
}

/* One signed item of the vectors, cut into its parts. */
typedef struct {
    int type;
    ao_buf raw, msg;          /* whole item; deep hash (the signed message) */
    const uint8_t *sig, *owner;
    size_t sig_len, owner_len;
    long salt;                /* rsa_pss_salt_len or -1 */
} vitem;

static void vitem_load(const cJSON *it, vitem *v)
{
    memset(v, 0, sizeof *v);
    v->type = (int)vec_int(it, "sig_type");
    assert_int_equal(vec_b64(vec_str(it, "raw_b64"), &v->raw), AO_OK);
    assert_int_equal(vec_hex(vec_str(it, "deep_hash_hex"), &v->msg), AO_OK);
    assert_int_equal(v->msg.len, 48);
    const cJSON *off = cJSON_GetObjectItem(it, "offsets");
    long so = vec_int(off, "signature"), oo = vec_int(off, "owner"), to = vec_int(off, "target_flag");
    assert_true(so == 2 && oo > so && to > oo && (size_t)to <= v->raw.len);
    /* the signature type is the little-endian u16 at offset 0 */
    assert_int_equal(ao_rd_u16le(v->raw.data), v->type);
    v->sig = v->raw.data + so;
    v->sig_len = (size_t)(oo - so);
    v->owner = v->raw.data + oo;
    v->owner_len = (size_t)(to - oo);
    v->salt = vec_int(it, "rsa_pss_salt_len");
}

static void vitem_free(vitem *v)
{
    ao_buf_free(&v->raw);
    ao_buf_free(&v->msg);
}

static int vitem_verify(const vitem *v, ao_error *err)
{
    return crypto_verify((crypto_key_type)v->type, v->owner, v->owner_len, v->msg.data,
                         v->msg.len, v->sig, v->sig_len, err);
}

/* Every valid item of types 1-3 verifies; all three RSA salt lengths
 * (0, 32, 478) occur among them. */
static void valid_items_verify(void **state)
{
    (void)state;
    int per_type[4] = { 0 };
    bool salt0 = false, salt32 = false, salt478 = false;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(vectors, "valid_items")) {
        long t = vec_int(it, "sig_type");
        if (t < 1 || t > 3)
            continue;
        vitem v;
        vitem_load(it, &v);
        ao_error err;
        int rc = vitem_verify(&v, &err);
        if (rc != AO_OK)
            fail_msg("%s: %s", vec_str(it, "name"), err.msg);
        per_type[t]++;
        salt0 |= v.salt == 0;
        salt32 |= v.salt == 32;
        salt478 |= v.salt == 478;
        vitem_free(&v);
    }
    assert_true(per_type[1] >= 4 && per_type[2] >= 4 && per_type[3] >= 4);
    assert_true(salt0 && salt32 && salt478);
}

/* Changing one bit of the message or of the signature breaks each item. */
static void tampered_items_fail(void **state)
{
    (void)state;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(vectors, "valid_items")) {
        long t = vec_int(it, "sig_type");
        if (t < 1 || t > 3)
            continue;
        vitem v;
        vitem_load(it, &v);
        ao_error err;
        v.msg.data[17] ^= 0x04;
        assert_int_equal(vitem_verify(&v, &err), AO_EVERIFY);
        assert_int_equal(err.code, AO_EVERIFY);
        v.msg.data[17] ^= 0x04;
        v.raw.data[2 + 5] ^= 0x80;   /* inside r / the signature */
        assert_int_equal(vitem_verify(&v, &err), AO_EVERIFY);
        v.raw.data[2 + 5] ^= 0x80;
        assert_int_equal(vitem_verify(&v, NULL), AO_OK);
        vitem_free(&v);
    }
}

static void edge_eth_rejected(const char *name, const char *reason)
{
    const cJSON *it = vec_find(vectors, "edge_items", name);
    assert_non_null(it);
    vitem v;
    vitem_load(it, &v);
    assert_int_equal(v.type, 3);
    ao_error err;
    assert_int_equal(vitem_verify(&v, &err), AO_EVERIFY);
    if (!strstr(err.msg, reason))
        fail_msg("%s: reason \"%s\" lacks \"%s\"", name, err.msg, reason);
    vitem_free(&v);
}

/* v byte 27<->28: the recovered key is another key. */
static void eth_v_flipped_rejected(void **state)
{
    (void)state;
    edge_eth_rejected("edge/eth_v_flipped", "not the owner");
}

/* v as 0/1 instead of 27/28. */
static void eth_v_0_1_rejected(void **state)
{
    (void)state;
    edge_eth_rejected("edge/eth_v_0_1", "27 or 28");
}

/* s replaced by n - s. */
static void eth_high_s_rejected(void **state)
{
    (void)state;
    edge_eth_rejected("edge/eth_high_s", "high S");
}

/* The digest-level primitive accepts the low-S vector signature over the
 * published personal-sign hash and rejects the high-S one. */
static void secp256k1_verify_digest_low_s(void **state)
{
    (void)state;
    const cJSON *ok = vec_find(vectors, "valid_items", "secp256k1/target_anchor_5tags_unicode_binary");
    const cJSON *hi = vec_find(vectors, "edge_items", "edge/eth_high_s");
    assert_non_null(ok);
    assert_non_null(hi);
    ao_buf digest = { 0 };
    assert_int_equal(vec_hex(vec_str(ok, "eth_personal_sign_hash_hex"), &digest), AO_OK);
    vitem a, b;
    vitem_load(ok, &a);
    vitem_load(hi, &b);
    assert_memory_equal(a.msg.data, b.msg.data, 48);   /* same message */
    ao_error err;
    assert_int_equal(crypto_secp256k1_verify_digest(a.owner, digest.data, a.sig, &err), AO_OK);
    assert_int_equal(crypto_secp256k1_verify_digest(b.owner, digest.data, b.sig, &err), AO_EVERIFY);
    digest.data[0] ^= 1;
    assert_int_equal(crypto_secp256k1_verify_digest(a.owner, digest.data, a.sig, &err), AO_EVERIFY);
    vitem_free(&a);
    vitem_free(&b);
    ao_buf_free(&digest);
}

static crypto_wallet *wallet_from_key(const char *keyname)
{
    const cJSON *key = vec_find(vectors, "keys", keyname);
    assert_non_null(key);
    char *json = NULL;
    if (!strcmp(keyname, "rsa4096")) {
        json = cJSON_PrintUnformatted(cJSON_GetObjectItem(key, "jwk"));
    } else {
        const char *hex = vec_str(key, !strcmp(keyname, "ed25519") ? "seed_hex" : "private_key_hex");
        ao_buf d = { 0 };
        assert_int_equal(vec_hex(hex, &d), AO_OK);
        char *b = ao_b64url_encode(d.data, d.len);
        json = malloc(256);
        snprintf(json, 256, !strcmp(keyname, "ed25519")
                 ? "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"%s\"}"
                 : "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"d\":\"%s\"}", b);
        free(b);
        ao_buf_free(&d);
    }
    crypto_wallet *w = NULL;
    ao_error err;
    int rc = crypto_wallet_parse(json, strlen(json), &w, &err);
    if (rc != AO_OK)
        fail_msg("%s: %s", keyname, err.msg);
    free(json);
    return w;
}

/* Ed25519 and RFC 6979 ECDSA are deterministic: signing the vectors'
 * deep hashes with the vectors' keys reproduces the JS signatures. */
static void deterministic_signatures_match_vectors(void **state)
{
    (void)state;
    crypto_wallet *ed = wallet_from_key("ed25519");
    crypto_wallet *eth = wallet_from_key("secp256k1");
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(vectors, "valid_items")) {
        long t = vec_int(it, "sig_type");
        if (t != 2 && t != 3)
            continue;
        vitem v;
        vitem_load(it, &v);
        crypto_wallet *w = t == 2 ? ed : eth;
        size_t olen;
        const uint8_t *owner = crypto_wallet_owner(w, &olen);
        if (olen != v.owner_len || memcmp(owner, v.owner, olen) != 0) {
            vitem_free(&v);
            continue;   /* an item signed with another key */
        }
        uint8_t sig[AO_SIG_MAX];
        size_t sig_len = 0;
        assert_int_equal(crypto_sign(w, v.msg.data, v.msg.len, sig, &sig_len, NULL), AO_OK);
        assert_int_equal(sig_len, v.sig_len);
        if (memcmp(sig, v.sig, sig_len) != 0)
            fail_msg("%s: signature differs from the JS one", vec_str(it, "name"));
        vitem_free(&v);
        n++;
    }
    assert_true(n >= 8);
    crypto_wallet_free(ed);
    crypto_wallet_free(eth);
}

/* RSA signing uses salt 32: OpenSSL verifies it with the salt length
 * fixed at 32, and not with 0. */
static void rsa_sign_uses_salt_32(void **state)
{
    (void)state;
    crypto_wallet *w = wallet_from_key("rsa4096");
    uint8_t msg[48], sig[AO_SIG_MAX], digest[32];
    memset(msg, 0x5a, sizeof msg);
    size_t sig_len = 0;
    assert_int_equal(crypto_sign(w, msg, sizeof msg, sig, &sig_len, NULL), AO_OK);
    assert_int_equal(sig_len, 512);
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(w, &olen);
    assert_int_equal(crypto_verify(CRYPTO_KEY_ARWEAVE, owner, olen, msg, sizeof msg, sig, sig_len, NULL), AO_OK);
    crypto_sha256(msg, sizeof msg, digest);
    EVP_PKEY *pk = NULL;
    assert_int_equal(crypto_rsa_pub_from_n(owner, olen, &pk, NULL), AO_OK);
    int salts[2] = { 32, 0 }, want[2] = { 1, 0 };
    for (int i = 0; i < 2; i++) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
        assert_non_null(ctx);
        assert_true(EVP_PKEY_verify_init(ctx) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salts[i]) > 0);
        assert_int_equal(EVP_PKEY_verify(ctx, sig, sig_len, digest, 32) == 1, want[i]);
        EVP_PKEY_CTX_free(ctx);
    }
    EVP_PKEY_free(pk);
    crypto_wallet_free(w);
}

/* Ethereum signatures are 65 bytes with v in {27, 28} and low S. */
static void eth_sign_shape(void **state)
{
    (void)state;
    static const uint8_t half_n[32] = {
        0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
    };
    crypto_wallet *w = NULL;
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ETHEREUM, &w, NULL), AO_OK);
    bool seen27 = false, seen28 = false;
    for (int i = 0; i < 64; i++) {
        uint8_t msg[48], sig[AO_SIG_MAX];
        size_t sig_len = 0;
        memset(msg, i, sizeof msg);
        assert_int_equal(crypto_sign(w, msg, sizeof msg, sig, &sig_len, NULL), AO_OK);
        assert_int_equal(sig_len, 65);
        assert_true(sig[64] == 27 || sig[64] == 28);
        seen27 |= sig[64] == 27;
        seen28 |= sig[64] == 28;
        assert_true(memcmp(sig + 32, half_n, 32) <= 0);
        size_t olen;
        const uint8_t *owner = crypto_wallet_owner(w, &olen);
        assert_int_equal(crypto_verify(CRYPTO_KEY_ETHEREUM, owner, olen, msg, sizeof msg, sig, 65, NULL), AO_OK);
    }
    assert_true(seen27 && seen28);
    crypto_wallet_free(w);
}

/* Round trip for generated Ed25519 and Ethereum keys and the vectors' RSA
 * key, over messages of several lengths; another key does not verify. */
static void sign_verify_roundtrip(void **state)
{
    (void)state;
    crypto_wallet *ws[3] = { wallet_from_key("rsa4096"), NULL, NULL };
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &ws[1], NULL), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ETHEREUM, &ws[2], NULL), AO_OK);
    crypto_wallet *other[3] = { NULL, NULL, NULL };
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &other[1], NULL), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ETHEREUM, &other[2], NULL), AO_OK);
    static const size_t lens[] = { 0, 1, 48, 200 };
    uint8_t msg[200];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i ^ 0x3c);
    for (int k = 0; k < 3; k++) {
        crypto_key_type type = crypto_wallet_type(ws[k]);
        assert_int_equal(type, k + 1);
        size_t olen;
        const uint8_t *owner = crypto_wallet_owner(ws[k], &olen);
        for (size_t li = 0; li < 4; li++) {
            uint8_t sig[AO_SIG_MAX];
            size_t sig_len = 0;
            ao_error err;
            assert_int_equal(crypto_sign(ws[k], msg, lens[li], sig, &sig_len, &err), AO_OK);
            assert_int_equal(crypto_verify(type, owner, olen, msg, lens[li], sig, sig_len, &err), AO_OK);
            if (other[k]) {
                size_t ol2;
                const uint8_t *o2 = crypto_wallet_owner(other[k], &ol2);
                assert_int_equal(crypto_verify(type, o2, ol2, msg, lens[li], sig, sig_len, &err), AO_EVERIFY);
            }
        }
    }
    for (int k = 0; k < 3; k++) {
        crypto_wallet_free(ws[k]);
        crypto_wallet_free(other[k]);
    }
}

/* Wrong sizes, types and junk keys give AO_EVERIFY or AO_EUNSUPPORTED
 * with a reason, never a crash. */
static void verify_rejects_bad_shapes(void **state)
{
    (void)state;
    uint8_t owner[600], sig[600], msg[48] = { 0 };
    memset(owner, 0xab, sizeof owner);
    memset(sig, 0x11, sizeof sig);
    ao_error err;
    struct { int type; size_t olen, slen; } cases[] = {
        { 1, 511, 512 }, { 1, 512, 511 }, { 1, 512, 512 }, { 1, 0, 0 },
        { 2, 31, 64 }, { 2, 32, 63 }, { 2, 32, 64 },
        { 3, 64, 65 }, { 3, 65, 64 }, { 3, 65, 65 }, { 3, 33, 65 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err.msg[0] = 0;
        int rc = crypto_verify((crypto_key_type)cases[i].type, owner, cases[i].olen, msg,
                               sizeof msg, sig, cases[i].slen, &err);
        if (rc != AO_EVERIFY)
            fail_msg("case %zu: rc %d (%s)", i, rc, err.msg);
        assert_true(strlen(err.msg) > 0);
    }
    assert_int_equal(crypto_verify((crypto_key_type)9, owner, 32, msg, 48, sig, 64, &err), AO_EUNSUPPORTED);
    /* zero modulus prefix */
    owner[0] = 0;
    assert_int_equal(crypto_rsa_pss_verify(owner, 512, msg, 48, sig, 512, &err), AO_EVERIFY);
}

/* A valid signature checked as another type is rejected. */
static void verify_wrong_type(void **state)
{
    (void)state;
    const cJSON *it = vec_find(vectors, "valid_items", "ed25519/empty");
    assert_non_null(it);
    vitem v;
    vitem_load(it, &v);
    assert_int_equal(crypto_verify(CRYPTO_KEY_ETHEREUM, v.owner, v.owner_len, v.msg.data, 48,
                                   v.sig, v.sig_len, NULL), AO_EVERIFY);
    assert_int_equal(crypto_verify(CRYPTO_KEY_ARWEAVE, v.owner, v.owner_len, v.msg.data, 48,
                                   v.sig, v.sig_len, NULL), AO_EVERIFY);
    vitem_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_items_verify),
        cmocka_unit_test(tampered_items_fail),
        cmocka_unit_test(eth_v_flipped_rejected),
        cmocka_unit_test(eth_v_0_1_rejected),
        cmocka_unit_test(eth_high_s_rejected),
        cmocka_unit_test(secp256k1_verify_digest_low_s),
        cmocka_unit_test(deterministic_signatures_match_vectors),
        cmocka_unit_test(rsa_sign_uses_salt_32),
        cmocka_unit_test(eth_sign_shape),
        cmocka_unit_test(sign_verify_roundtrip),
        cmocka_unit_test(verify_rejects_bad_shapes),
        cmocka_unit_test(verify_wrong_type),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
