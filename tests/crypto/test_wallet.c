/* test_wallet.c - wallet files of the three key types (parse, serialise,
 * save with mode 0600, generate), their addresses against the shared
 * vectors and EIP-55, and the rejection of malformed or inconsistent keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto.h"
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

static char *rsa_jwk_text(void)
{
    const cJSON *key = vec_find(vectors, "keys", "rsa4096");
    assert_non_null(key);
    char *s = cJSON_PrintUnformatted(cJSON_GetObjectItem(key, "jwk"));
    assert_non_null(s);
    return s;
}

static char *okp_text(const char *kty_crv, const char *hexkey)
{
    ao_buf d = { 0 };
    assert_int_equal(vec_hex(hexkey, &d), AO_OK);
    char *b = ao_b64url_encode(d.data, d.len);
    char *s = malloc(512);
    snprintf(s, 512, "{%s,\"d\":\"%s\"}", kty_crv, b);
    free(b);
    ao_buf_free(&d);
    return s;
}

static crypto_wallet *parse_ok(const char *text)
{
    crypto_wallet *w = NULL;
    ao_error err;
    int rc = crypto_wallet_parse(text, strlen(text), &w, &err);
    if (rc != AO_OK)
        fail_msg("parse: %s", err.msg);
    return w;
}

static void expect_reject(const char *text, int code, const char *reason)
{
    crypto_wallet *w = (crypto_wallet *)1;
    ao_error err;
    int rc = crypto_wallet_parse(text, strlen(text), &w, &err);
    if (rc != code)
        fail_msg("expected %s, got %s (%s) for %.80s", ao_strerror(code), ao_strerror(rc),
                 rc ? err.msg : "", text);
    assert_null(w);
    if (!strstr(err.msg, reason))
        fail_msg("reason \"%s\" lacks \"%s\"", err.msg, reason);
}

/* The vectors' RSA JWK loads as an Arweave wallet whose owner and address
 * are the published ones. */
static void rsa_jwk_owner_and_address(void **state)
{
    (void)state;
    char *text = rsa_jwk_text();
    crypto_wallet *w = parse_ok(text);
    const cJSON *key = vec_find(vectors, "keys", "rsa4096");
    assert_int_equal(crypto_wallet_type(w), CRYPTO_KEY_ARWEAVE);
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(w, &olen);
    assert_int_equal(olen, 512);
    char *ob = ao_b64url_encode(owner, olen);
    assert_string_equal(ob, vec_str(key, "owner_b64url"));
    free(ob);
    char addr[AO_ADDRESS_MAX];
    assert_int_equal(crypto_address(CRYPTO_KEY_ARWEAVE, owner, olen, addr, NULL), AO_OK);
    assert_string_equal(addr, vec_str(key, "address_b64url"));
    assert_int_equal(strlen(addr), 43);
    crypto_wallet_free(w);
    free(text);
}

static void ed25519_owner_and_address(void **state)
{
    (void)state;
    const cJSON *key = vec_find(vectors, "keys", "ed25519");
    char *text = okp_text("\"kty\":\"OKP\",\"crv\":\"Ed25519\"", vec_str(key, "seed_hex"));
    crypto_wallet *w = parse_ok(text);
    assert_int_equal(crypto_wallet_type(w), CRYPTO_KEY_ED25519);
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(w, &olen);
    char hex[65];
    assert_int_equal(olen, 32);
    ao_hex_encode_to(owner, 32, hex);
    assert_string_equal(hex, vec_str(key, "public_key_hex"));
    char addr[AO_ADDRESS_MAX];
    assert_int_equal(crypto_address(CRYPTO_KEY_ED25519, owner, olen, addr, NULL), AO_OK);
    assert_string_equal(addr, vec_str(key, "owner_sha256_address_b64url"));
    crypto_wallet_free(w);
    free(text);
}

static void ethereum_owner_and_address(void **state)
{
    (void)state;
    const cJSON *key = vec_find(vectors, "keys", "secp256k1");
    char *text = okp_text("\"kty\":\"EC\",\"crv\":\"secp256k1\"", vec_str(key, "private_key_hex"));
    crypto_wallet *w = parse_ok(text);
    assert_int_equal(crypto_wallet_type(w), CRYPTO_KEY_ETHEREUM);
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(w, &olen);
    char hex[131];
    assert_int_equal(olen, 65);
    ao_hex_encode_to(owner, 65, hex);
    assert_string_equal(hex, vec_str(key, "public_key_uncompressed_hex"));
    char addr[AO_ADDRESS_MAX];
    assert_int_equal(crypto_address(CRYPTO_KEY_ETHEREUM, owner, olen, addr, NULL), AO_OK);
    assert_int_equal(strlen(addr), 42);
    /* same address as the vectors, compared case-insensitively, and with
     * the EIP-55 letter case (some letter must be upper: checked below) */
    assert_int_equal(strcasecmp(addr, vec_str(key, "eth_address")), 0);
    char lower[43];
    for (int i = 0; i < 43; i++)
        lower[i] = (char)(addr[i] >= 'A' && addr[i] <= 'F' ? addr[i] + 32 : addr[i]);
    ao_buf raw = { 0 };
    assert_int_equal(vec_hex(lower + 2, &raw), AO_OK);
    char again[43];
    crypto_eth_address_checksum(raw.data, again);
    assert_string_equal(again, addr);
    ao_buf_free(&raw);
    /* the generic owner address is base64url(sha256(owner)) */
    char b64[AO_ADDRESS_MAX];
    crypto_owner_address_b64(owner, olen, b64);
    assert_string_equal(b64, vec_str(key, "owner_sha256_address_b64url"));
    crypto_wallet_free(w);
    free(text);
}

/* Published EIP-55 examples. */
static void eip55_published_examples(void **state)
{
    (void)state;
    static const char *const ex[] = {
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    };
    for (size_t i = 0; i < 4; i++) {
        ao_buf raw = { 0 };
        ao_buf_init(&raw);
        assert_int_equal(ao_hex_decode(ex[i] + 2, 40, &raw, NULL), AO_OK);
        char out[43];
        crypto_eth_address_checksum(raw.data, out);
        assert_string_equal(out, ex[i]);
        ao_buf_free(&raw);
    }
}

/* to_json then parse gives the same key; the RSA JSON keeps every member
 * of the input JWK unchanged. */
static void json_roundtrip_all_types(void **state)
{
    (void)state;
    const cJSON *ked = vec_find(vectors, "keys", "ed25519");
    const cJSON *keth = vec_find(vectors, "keys", "secp256k1");
    char *texts[3] = {
        rsa_jwk_text(),
        okp_text("\"kty\":\"OKP\",\"crv\":\"Ed25519\"", vec_str(ked, "seed_hex")),
        okp_text("\"kty\":\"EC\",\"crv\":\"secp256k1\"", vec_str(keth, "private_key_hex")),
    };
    for (int i = 0; i < 3; i++) {
        crypto_wallet *w = parse_ok(texts[i]);
        char *json = NULL;
        assert_int_equal(crypto_wallet_to_json(w, &json, NULL), AO_OK);
        crypto_wallet *w2 = parse_ok(json);
        size_t l1, l2;
        const uint8_t *o1 = crypto_wallet_owner(w, &l1), *o2 = crypto_wallet_owner(w2, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(o1, o2, l1);
        assert_int_equal(crypto_wallet_type(w), crypto_wallet_type(w2));
        cJSON *a = cJSON_Parse(texts[i]), *b = cJSON_Parse(json);
        const cJSON *m;
        cJSON_ArrayForEach(m, a) {
            const char *bv = vec_str(b, m->string);
            assert_non_null(bv);
            assert_string_equal(bv, m->valuestring);
        }
        if (i == 2) {   /* x and y written out and checked on parse */
            assert_non_null(vec_str(b, "x"));
            assert_non_null(vec_str(b, "y"));
        }
        cJSON_Delete(a);
        cJSON_Delete(b);
        free(json);
        crypto_wallet_free(w);
        crypto_wallet_free(w2);
        free(texts[i]);
    }
}

/* Saved files have mode 0600 and load back to the same key; saving over
 * an existing file replaces it. */
static void save_mode_0600_and_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/ao_wallet_testXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/w.json", dir);
    crypto_wallet *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &a, NULL), AO_OK);
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ETHEREUM, &b, NULL), AO_OK);
    assert_int_equal(crypto_wallet_save(a, path, NULL), AO_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(crypto_wallet_load(path, &c, NULL), AO_OK);
    size_t l1, l2;
    const uint8_t *oa = crypto_wallet_owner(a, &l1), *oc = crypto_wallet_owner(c, &l2);
    assert_int_equal(l1, 32);
    assert_int_equal(l2, 32);
    assert_memory_equal(oa, oc, 32);
    crypto_wallet_free(c);
    assert_int_equal(crypto_wallet_save(b, path, NULL), AO_OK);
    assert_int_equal(crypto_wallet_load(path, &c, NULL), AO_OK);
    assert_int_equal(crypto_wallet_type(c), CRYPTO_KEY_ETHEREUM);
    oa = crypto_wallet_owner(b, &l1);
    oc = crypto_wallet_owner(c, &l2);
    assert_int_equal(l2, 65);
    assert_memory_equal(oa, oc, 65);
    crypto_wallet_free(a);
    crypto_wallet_free(b);
    crypto_wallet_free(c);
    unlink(path);
    rmdir(dir);
}

static void load_missing_file(void **state)
{
    (void)state;
    crypto_wallet *w = (crypto_wallet *)1;
    ao_error err;
    int rc = crypto_wallet_load("/nonexistent/dir/wallet.json", &w, &err);
    assert_true(rc < 0);
    assert_null(w);
    assert_true(strlen(err.msg) > 0);
}

/* A fresh RSA-4096 key: 512-byte owner, its JSON parses back (which
 * checks n = p*q and the CRT members), and it signs verifiably. */
static void generate_rsa(void **state)
{
    (void)state;
    crypto_wallet *w = NULL;
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ARWEAVE, &w, NULL), AO_OK);
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(w, &olen);
    assert_int_equal(olen, 512);
    assert_true(owner[0] & 0x80);
    char *json = NULL;
    assert_int_equal(crypto_wallet_to_json(w, &json, NULL), AO_OK);
    crypto_wallet *w2 = parse_ok(json);
    uint8_t sig[AO_SIG_MAX];
    size_t sig_len;
    assert_int_equal(crypto_sign(w2, (const uint8_t *)"m", 1, sig, &sig_len, NULL), AO_OK);
    assert_int_equal(crypto_verify(CRYPTO_KEY_ARWEAVE, owner, olen, (const uint8_t *)"m", 1, sig, sig_len, NULL), AO_OK);
    free(json);
    crypto_wallet_free(w);
    crypto_wallet_free(w2);
}

/* Two generated keys differ. */
static void generate_distinct(void **state)
{
    (void)state;
    for (int t = CRYPTO_KEY_ED25519; t <= CRYPTO_KEY_ETHEREUM; t++) {
        crypto_wallet *a = NULL, *b = NULL;
        assert_int_equal(crypto_wallet_generate((crypto_key_type)t, &a, NULL), AO_OK);
        assert_int_equal(crypto_wallet_generate((crypto_key_type)t, &b, NULL), AO_OK);
        size_t la, lb;
        const uint8_t *oa = crypto_wallet_owner(a, &la), *ob = crypto_wallet_owner(b, &lb);
        assert_int_equal(la, lb);
        assert_memory_not_equal(oa, ob, la);
        crypto_wallet_free(a);
        crypto_wallet_free(b);
    }
    crypto_wallet *w = (crypto_wallet *)1;
    assert_int_equal(crypto_wallet_generate((crypto_key_type)7, &w, NULL), AO_EINVAL);
    assert_null(w);
}

/* Replace member `name` of the vectors' JWK with `value` (NULL: drop it). */
static char *jwk_with(const char *name, const char *value)
{
    const cJSON *key = vec_find(vectors, "keys", "rsa4096");
    cJSON *j = cJSON_Duplicate(cJSON_GetObjectItem(key, "jwk"), 1);
    cJSON_DeleteItemFromObject(j, name);
    if (value)
        cJSON_AddStringToObject(j, name, value);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static void rsa_rejects_inconsistent(void **state)
{
    (void)state;
    const cJSON *jwk = cJSON_GetObjectItem(vec_find(vectors, "keys", "rsa4096"), "jwk");
    /* n with one changed character: n != p*q */
    char *n = strdup(vec_str(jwk, "n"));
    n[10] = n[10] == 'A' ? 'B' : 'A';
    char *t = jwk_with("n", n);
    expect_reject(t, AO_EFORMAT, "n is not p*q");
    free(t);
    free(n);
    /* dp taken from dq */
    t = jwk_with("dp", vec_str(jwk, "dq"));
    expect_reject(t, AO_EFORMAT, "dp/dq");
    free(t);
    t = jwk_with("qi", "Aw");
    expect_reject(t, AO_EFORMAT, "qi");
    free(t);
    t = jwk_with("e", "Aw");   /* e = 3 */
    expect_reject(t, AO_EFORMAT, "65537");
    free(t);
    t = jwk_with("d", NULL);
    expect_reject(t, AO_EFORMAT, "\"d\"");
    free(t);
    t = jwk_with("p", "not base64!");
    expect_reject(t, AO_EINVAL, "\"p\"");
    free(t);
    /* a 2048-bit modulus is not an Arweave key */
    t = jwk_with("n", "AQAB");
    expect_reject(t, AO_EFORMAT, "4096");
    free(t);
}

static void okp_ec_reject(void **state)
{
    (void)state;
    const char *seed = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";   /* 0..31 */
    char buf[512];
    snprintf(buf, sizeof buf, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"%s\",\"x\":\"%s\"}", seed, seed);
    expect_reject(buf, AO_EFORMAT, "\"x\" does not match");
    expect_reject("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"AAEC\"}", AO_EFORMAT, "32 bytes");
    expect_reject("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"d\":\"AAEC\"}", AO_EUNSUPPORTED, "unknown key kind");
    /* secp256k1 secret 0 and secret = n are out of range */
    expect_reject("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"d\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
                  AO_EFORMAT, "out of range");
    expect_reject("{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"d\":\"_____________________rqu3OavSKA7v9JejNA2QUE\"}",
                  AO_EFORMAT, "out of range");
    snprintf(buf, sizeof buf, "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"d\":\"%s\",\"y\":\"%s\"}", seed, seed);
    expect_reject(buf, AO_EFORMAT, "\"y\" does not match");
    expect_reject("{\"kty\":\"EC\",\"crv\":\"P-256\",\"d\":\"AAEC\"}", AO_EUNSUPPORTED, "unknown key kind");
    expect_reject("[1,2]", AO_EFORMAT, "not a JSON object");
    expect_reject("{\"kty\":", AO_EFORMAT, "not a JSON object");
    expect_reject("{}", AO_EUNSUPPORTED, "unknown key kind");
    expect_reject("{\"kty\":5}", AO_EUNSUPPORTED, "unknown key kind");
}

static void address_rejects_bad_owner(void **state)
{
    (void)state;
    uint8_t owner[512] = { 0 };
    char out[AO_ADDRESS_MAX];
    ao_error err;
    assert_int_equal(crypto_address(CRYPTO_KEY_ARWEAVE, owner, 511, out, &err), AO_EINVAL);
    assert_int_equal(crypto_address(CRYPTO_KEY_ED25519, owner, 33, out, &err), AO_EINVAL);
    assert_int_equal(crypto_address(CRYPTO_KEY_ETHEREUM, owner, 65, out, &err), AO_EINVAL);   /* no 0x04 */
    assert_int_equal(crypto_address((crypto_key_type)0, owner, 32, out, &err), AO_EINVAL);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rsa_jwk_owner_and_address),
        cmocka_unit_test(ed25519_owner_and_address),
        cmocka_unit_test(ethereum_owner_and_address),
        cmocka_unit_test(eip55_published_examples),
        cmocka_unit_test(json_roundtrip_all_types),
        cmocka_unit_test(save_mode_0600_and_load),
        cmocka_unit_test(load_missing_file),
        cmocka_unit_test(generate_rsa),
        cmocka_unit_test(generate_distinct),
        cmocka_unit_test(rsa_rejects_inconsistent),
        cmocka_unit_test(okp_ec_reject),
        cmocka_unit_test(address_rejects_bad_owner),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
