/* test_hash.c - SHA-256, SHA-384, Keccak-256 (one-shot and streaming) and
 * the EIP-191 digest, against published vectors, OpenSSL's SHA3-256 (same
 * sponge, other padding) and values from the shared ANS-104 vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/crypto_internal.h"
#include "vectors.h"

static void assert_hex(const uint8_t *p, size_t n, const char *hex)
{
    char buf[256];
    assert_true(2 * n < sizeof buf);
    ao_hex_encode_to(p, n, buf);
    assert_string_equal(buf, hex);
}

static void sha256_known(void **state)
{
    (void)state;
    uint8_t h[32];
    crypto_sha256("", 0, h);
    assert_hex(h, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    crypto_sha256("abc", 3, h);
    assert_hex(h, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    crypto_sha256(m, strlen(m), h);
    assert_hex(h, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void sha384_known(void **state)
{
    (void)state;
    uint8_t h[48];
    crypto_sha384("", 0, h);
    assert_hex(h, 48, "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da"
                      "274edebfe76f65fbd51ad2f14898b95b");
    crypto_sha384("abc", 3, h);
    assert_hex(h, 48, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                      "8086072ba1e7cc2358baeca134c825a7");
}

static void keccak256_known(void **state)
{
    (void)state;
    uint8_t h[32];
    crypto_keccak256("", 0, h);
    assert_hex(h, 32, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    crypto_keccak256("abc", 3, h);
    assert_hex(h, 32, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    const char *fox = "The quick brown fox jumps over the lazy dog";
    crypto_keccak256(fox, strlen(fox), h);
    assert_hex(h, 32, "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

/* Keccak-256 is not SHA3-256: the padding byte differs. */
static void keccak256_differs_from_sha3(void **state)
{
    (void)state;
    uint8_t k[32], s[32];
    unsigned int len = 0;
    crypto_keccak256("", 0, k);
    assert_int_equal(EVP_Digest("", 0, s, &len, EVP_sha3_256(), NULL), 1);
    assert_memory_not_equal(k, s, 32);
}

static void fill_pattern(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 131 + 7);
}

/* The same sponge with the SHA3 padding byte must equal OpenSSL's
 * SHA3-256 for every length from 0 to 3 blocks + 1, which covers the
 * block boundaries 135/136/137 and 271/272/273. */
static void keccak_sponge_matches_openssl_sha3(void **state)
{
    (void)state;
    uint8_t msg[3 * KECCAK256_RATE + 2];
    fill_pattern(msg, sizeof msg);
    for (size_t n = 0; n <= sizeof msg; n++) {
        crypto_keccak_state k;
        uint8_t mine[32], ref[32];
        unsigned int len = 0;
        crypto_keccak_init(&k);
        crypto_keccak_update(&k, msg, n);
        crypto_keccak_final_pad(&k, mine, 0x06);
        assert_int_equal(EVP_Digest(msg, n, ref, &len, EVP_sha3_256(), NULL), 1);
        if (memcmp(mine, ref, 32) != 0)
            fail_msg("sponge differs from SHA3-256 at length %zu", n);
    }
}

/* Streaming in every split and byte-by-byte equals one-shot, for the
 * multi-block lengths 135, 136, 137 and 272. */
static void keccak_streaming_splits(void **state)
{
    (void)state;
    static const size_t lens[] = { 135, 136, 137, 272 };
    uint8_t msg[300];
    fill_pattern(msg, sizeof msg);
    crypto_hash *h = crypto_hash_new(CRYPTO_KECCAK256);
    assert_non_null(h);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        uint8_t one[32], part[32];
        crypto_keccak256(msg, n, one);
        for (size_t cut = 0; cut <= n; cut++) {
            crypto_hash_update(h, msg, cut);
            crypto_hash_update(h, msg + cut, n - cut);
            crypto_hash_final(h, part);
            if (memcmp(one, part, 32) != 0)
                fail_msg("length %zu split at %zu differs", n, cut);
        }
        for (size_t i = 0; i < n; i++)
            crypto_hash_update(h, msg + i, 1);
        crypto_hash_final(h, part);
        assert_memory_equal(one, part, 32);
    }
    crypto_hash_free(h);
}

static void sha_streaming_equals_oneshot(void **state)
{
    (void)state;
    uint8_t msg[1000];
    fill_pattern(msg, sizeof msg);
    crypto_hash *h256 = crypto_hash_new(CRYPTO_SHA256);
    crypto_hash *h384 = crypto_hash_new(CRYPTO_SHA384);
    assert_non_null(h256);
    assert_non_null(h384);
    for (size_t n = 0; n <= sizeof msg; n += 37) {
        uint8_t a[48], b[48];
        for (size_t i = 0; i < n; i += 50) {
            size_t c = n - i < 50 ? n - i : 50;
            crypto_hash_update(h256, msg + i, c);
            crypto_hash_update(h384, msg + i, c);
        }
        crypto_hash_final(h256, a);
        crypto_sha256(msg, n, b);
        assert_memory_equal(a, b, 32);
        crypto_hash_final(h384, a);
        crypto_sha384(msg, n, b);
        assert_memory_equal(a, b, 48);
    }
    crypto_hash_free(h256);
    crypto_hash_free(h384);
}

/* After updates, reset discards them. */
static void hash_reset_discards(void **state)
{
    (void)state;
    crypto_hash_alg algs[] = { CRYPTO_SHA256, CRYPTO_SHA384, CRYPTO_KECCAK256 };
    for (size_t i = 0; i < 3; i++) {
        crypto_hash *h = crypto_hash_new(algs[i]);
        assert_non_null(h);
        uint8_t a[48], b[48];
        crypto_hash_update(h, "garbage", 7);
        crypto_hash_reset(h);
        crypto_hash_update(h, "abc", 3);
        crypto_hash_final(h, a);
        if (algs[i] == CRYPTO_SHA256) crypto_sha256("abc", 3, b);
        else if (algs[i] == CRYPTO_SHA384) crypto_sha384("abc", 3, b);
        else crypto_keccak256("abc", 3, b);
        assert_memory_equal(a, b, algs[i] == CRYPTO_SHA384 ? 48 : 32);
        crypto_hash_free(h);
    }
    crypto_hash_free(NULL);
    assert_null(crypto_hash_new((crypto_hash_alg)99));
}

/* keys[2].eth_address = "0x" + hex(keccak256(X||Y)[12:]). */
static void keccak_eth_address_from_vectors(void **state)
{
    (void)state;
    cJSON *v = vec_load();
    assert_non_null(v);
    const cJSON *key = vec_find(v, "keys", "secp256k1");
    assert_non_null(key);
    ao_buf pub = { 0 };
    assert_int_equal(vec_hex(vec_str(key, "public_key_uncompressed_hex"), &pub), AO_OK);
    assert_int_equal(pub.len, 65);
    uint8_t h[32];
    crypto_keccak256(pub.data + 1, 64, h);
    char hex[41];
    ao_hex_encode_to(h + 12, 20, hex);
    const char *want = vec_str(key, "eth_address");
    assert_non_null(want);
    assert_string_equal(hex, want + 2);
    ao_buf_free(&pub);
    cJSON_Delete(v);
}

/* Every type-3 valid item: eth_personal_sign_hash_hex equals
 * keccak256("\x19Ethereum Signed Message:\n48" || deep_hash). */
static void eip191_digest_from_vectors(void **state)
{
    (void)state;
    cJSON *v = vec_load();
    assert_non_null(v);
    const cJSON *it;
    int checked = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(v, "valid_items")) {
        const char *want = vec_str(it, "eth_personal_sign_hash_hex");
        if (!want)
            continue;
        ao_buf dh = { 0 };
        assert_int_equal(vec_hex(vec_str(it, "deep_hash_hex"), &dh), AO_OK);
        assert_int_equal(dh.len, 48);
        uint8_t d[32], d2[32];
        crypto_eip191_digest(dh.data, dh.len, d);
        assert_hex(d, 32, want);
        /* the same through the plain hash with a written-out prefix */
        uint8_t pre[28 + 48];
        memcpy(pre, "\x19" "Ethereum Signed Message:\n48", 28);
        memcpy(pre + 28, dh.data, 48);
        crypto_keccak256(pre, sizeof pre, d2);
        assert_memory_equal(d, d2, 32);
        ao_buf_free(&dh);
        checked++;
    }
    assert_true(checked >= 4);
    cJSON_Delete(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_known),
        cmocka_unit_test(sha384_known),
        cmocka_unit_test(keccak256_known),
        cmocka_unit_test(keccak256_differs_from_sha3),
        cmocka_unit_test(keccak_sponge_matches_openssl_sha3),
        cmocka_unit_test(keccak_streaming_splits),
        cmocka_unit_test(sha_streaming_equals_oneshot),
        cmocka_unit_test(hash_reset_discards),
        cmocka_unit_test(keccak_eth_address_from_vectors),
        cmocka_unit_test(eip191_digest_from_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
