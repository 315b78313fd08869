/* test_item_verify.c - ANS-104 signatures: every valid, edge and invalid
 * item of shared/vectors/ans104.json gets its strict verdict and reason,
 * the vector bundle (and its bad header id), and sign -> encode -> decode
 * -> verify round trips with the vector keys for types 1, 2 and 3. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "item/item.h"
#include "vectors.h"

static cJSON *V;

static int load_vectors(void **state)
{
    (void)state;
    V = vec_load();
    return V ? 0 : -1;
}

static int free_vectors(void **state)
{
    (void)state;
    cJSON_Delete(V);
    return 0;
}

static void valid_items_verify(void **state)
{
    (void)state;
    const cJSON *v;
    int n = 0;
    ao_buf raw;
    ao_buf_init(&raw);
    item *it = malloc(sizeof *it);
    cJSON_ArrayForEach(v, vec_arr(V, "valid_items")) {
        ao_error err;
        const char *name = vec_str(v, "name");
        assert_int_equal(vec_verdict(v, "arbundles_0_11_2"), 1);
        assert_int_equal(vec_b64(vec_str(v, "raw_b64"), &raw), AO_OK);
        if (item_verify(raw.data, raw.len, it, &err))
            fail_msg("%s: %s", name, err.msg);
        char id[ITEM_ID_B64_LEN + 1];
        item_id_b64(it, id);
        assert_string_equal(id, vec_str(v, "id_b64url"));
        assert_int_equal(it->sig_type, vec_int(v, "sig_type"));
        n++;
    }
    assert_int_equal(n, 17);
    free(it);
    ao_buf_free(&raw);
}

/* The strict verdict of each edge item is the file's independent_strict,
 * except tag_bytes_over_4096: SPEC sets no total, but every deployed
 * implementation (arbundles, DHA) and this one keep the 4096-byte limit. */
static void edge_items_strict_verdict(void **state)
{
    (void)state;
    const cJSON *v;
    int n = 0;
    ao_buf raw;
    ao_buf_init(&raw);
    cJSON_ArrayForEach(v, vec_arr(V, "edge_items")) {
        const char *name = vec_str(v, "name");
        int want = vec_verdict(v, "independent_strict");
        assert_true(want == 0 || want == 1);
        if (!strcmp(name, "edge/tag_bytes_over_4096")) {
            assert_int_equal(want, 1);
            assert_int_equal(vec_verdict(v, "arbundles_0_11_2"), 0);
            want = 0;
        }
        assert_int_equal(vec_b64(vec_str(v, "raw_b64"), &raw), AO_OK);
        ao_error err;
        memset(&err, 0, sizeof err);
        int rc = item_verify(raw.data, raw.len, NULL, &err);
        if ((rc == AO_OK) != want)
            fail_msg("%s: rc %d (%s), strict verdict %d", name, rc, err.msg, want);
        if (rc != AO_OK) {
            assert_true(rc == AO_EFORMAT || rc == AO_ELIMIT || rc == AO_EVERIFY);
            assert_true(strlen(err.msg) > 0);
        }
        n++;
    }
    assert_int_equal(n, 15);
    ao_buf_free(&raw);
}

/* The signature-level edge cases: Ethereum v and S rules (ANS104.md §4). */
static void edge_eth_signature_reasons(void **state)
{
    (void)state;
    const char *names[] = { "edge/eth_v_flipped", "edge/eth_v_0_1", "edge/eth_high_s" };
    ao_buf raw;
    ao_buf_init(&raw);
    for (size_t i = 0; i < 3; i++) {
        const cJSON *v = vec_find(V, "edge_items", names[i]);
        assert_non_null(v);
        assert_int_equal(vec_b64(vec_str(v, "raw_b64"), &raw), AO_OK);
        ao_error err;
        assert_int_equal(item_verify(raw.data, raw.len, NULL, &err), AO_EVERIFY);
        if (!strstr(err.msg, "ethereum signature does not verify"))
            fail_msg("%s: %s", names[i], err.msg);
    }
    ao_buf_free(&raw);
}

typedef struct { const char *name; int code; const char *reason; } expect;

static const expect invalid_verify[] = {
    { "bad/flipped_signature_byte", AO_EVERIFY, "arweave signature does not verify" },
    { "bad/flipped_data_byte", AO_EVERIFY, "ed25519 signature does not verify" },
    { "bad/flipped_tag_byte", AO_EVERIFY, "ethereum signature does not verify" },
    { "bad/truncated_data", AO_EVERIFY, "arweave signature does not verify" },
    { "bad/truncated_in_owner", AO_EFORMAT, "truncated" },
    { "bad/truncated_in_tags", AO_EFORMAT, "truncated" },
    { "bad/truncated_below_min", AO_EFORMAT, "truncated" },
    { "bad/empty_buffer", AO_EFORMAT, "truncated" },
    { "bad/tag_count_lying_down", AO_EFORMAT, "tag count field says 4" },
    { "bad/tag_count_lying_up", AO_EFORMAT, "tag count field says 6" },
    { "bad/tag_bytes_len_lying", AO_EFORMAT, "trailing bytes" },
    { "bad/tag_bytes_len_huge", AO_ELIMIT, "exceeds 4096" },
    { "bad/unknown_signature_type", AO_EFORMAT, "unknown signature type 9" },
    { "bad/sig_type_2_relabelled_4", AO_EVERIFY, "solana signature does not verify" },
    { "bad/oversize_tag_value_5000", AO_ELIMIT, "exceeds 4096" },
};

static void invalid_items_rejected(void **state)
{
    (void)state;
    const cJSON *v;
    size_t n = 0;
    ao_buf raw;
    ao_buf_init(&raw);
    cJSON_ArrayForEach(v, vec_arr(V, "invalid_items")) {
        const char *name = vec_str(v, "name");
        const expect *e = NULL;
        for (size_t i = 0; i < sizeof invalid_verify / sizeof invalid_verify[0]; i++)
            if (!strcmp(invalid_verify[i].name, name))
                e = &invalid_verify[i];
        if (!e)
            fail_msg("no expectation for %s", name);
        assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(v, "expected_valid")));
        assert_int_equal(vec_verdict(v, "independent_strict"), 0);
        assert_int_equal(vec_b64(vec_str(v, "raw_b64"), &raw), AO_OK);
        ao_error err;
        memset(&err, 0, sizeof err);
        int rc = item_verify(raw.data, raw.len, NULL, &err);
        if (rc != e->code || !strstr(err.msg, e->reason))
            fail_msg("%s: rc %d '%s', want %d '%s'", name, rc, err.msg, e->code, e->reason);
        n++;
    }
    assert_int_equal(n, sizeof invalid_verify / sizeof invalid_verify[0]);
    ao_buf_free(&raw);
}

/* Types 5 and 6 decode but are reported as unsupported, not as invalid. */
static void aptos_types_unsupported(void **state)
{
    (void)state;
    uint8_t sig[64] = { 1 }, owner[32] = { 2 };
    item_fields f = { 0 };
    ao_buf out;
    ao_error err;
    ao_buf_init(&out);
    assert_int_equal(item_encode(5, sig, 64, owner, 32, &f, &out, NULL), AO_OK);
    assert_int_equal(item_verify(out.data, out.len, NULL, &err), AO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "injectedAptos"));
    ao_buf_free(&out);
}

/* ---- bundles ---- */

static void bundle_vector(void **state)
{
    (void)state;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(V, "bundle");
    ao_buf raw, id;
    ao_buf_init(&raw);
    ao_buf_init(&id);
    assert_int_equal(vec_b64(vec_str(b, "raw_b64"), &raw), AO_OK);
    assert_int_equal(raw.len, vec_int(b, "raw_len"));
    item_bundle bl;
    assert_int_equal(item_bundle_parse(raw.data, raw.len, &bl, NULL), AO_OK);
    assert_int_equal(bl.count, vec_int(b, "count"));
    const cJSON *sizes = cJSON_GetObjectItemCaseSensitive(b, "sizes");
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(b, "ids_b64url");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(b, "item_names");
    const uint8_t *items[3];
    size_t lens[3];
    assert_int_equal(bl.count, 3);
    for (size_t i = 0; i < bl.count; i++) {
        assert_int_equal(bl.entries[i].len, (size_t)cJSON_GetArrayItem(sizes, (int)i)->valuedouble);
        assert_int_equal(vec_b64url(cJSON_GetArrayItem(ids, (int)i)->valuestring, &id), AO_OK);
        assert_memory_equal(bl.entries[i].header_id, id.data, 32);
        /* the entry is the named vector item, byte for byte */
        const cJSON *v = vec_find(V, "valid_items", cJSON_GetArrayItem(names, (int)i)->valuestring);
        assert_non_null(v);
        assert_int_equal(vec_b64(vec_str(v, "raw_b64"), &id), AO_OK);
        assert_int_equal(id.len, bl.entries[i].len);
        assert_memory_equal(id.data, bl.entries[i].raw, id.len);
        items[i] = bl.entries[i].raw;
        lens[i] = bl.entries[i].len;
    }
    ao_error err;
    if (item_bundle_verify(raw.data, raw.len, &err))
        fail_msg("bundle: %s", err.msg);
    /* writing the same items gives the same bundle */
    ao_buf out;
    ao_buf_init(&out);
    assert_int_equal(item_bundle_write(items, lens, 3, &out, NULL), AO_OK);
    assert_int_equal(out.len, raw.len);
    assert_memory_equal(out.data, raw.data, raw.len);
    ao_buf_free(&out);
    item_bundle_free(&bl);
    ao_buf_free(&raw);
    ao_buf_free(&id);
}

static void bundle_bad_header_id(void **state)
{
    (void)state;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(V, "bundle");
    const cJSON *bad = cJSON_GetObjectItemCaseSensitive(b, "bad_header_id");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(bad, "expected_valid")));
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(vec_b64(vec_str(bad, "raw_b64"), &raw), AO_OK);
    item_bundle bl;
    assert_int_equal(item_bundle_parse(raw.data, raw.len, &bl, NULL), AO_OK);
    item_bundle_free(&bl);
    ao_error err;
    assert_int_equal(item_bundle_verify(raw.data, raw.len, &err), AO_EVERIFY);
    assert_non_null(strstr(err.msg, "bundle item 0: header id is not SHA-256"));
    ao_buf_free(&raw);
}

static void bundle_layout_rejections(void **state)
{
    (void)state;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(V, "bundle");
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(vec_b64(vec_str(b, "raw_b64"), &raw), AO_OK);
    item_bundle bl;
    ao_error err;
    /* truncated by one byte: the last item runs past the end */
    assert_int_equal(item_bundle_parse(raw.data, raw.len - 1, &bl, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "item 2 size runs past"));
    /* a trailing byte */
    uint8_t *p = malloc(raw.len + 1);
    memcpy(p, raw.data, raw.len);
    p[raw.len] = 0;
    assert_int_equal(item_bundle_parse(p, raw.len + 1, &bl, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "1 trailing bytes"));
    /* count larger than the header room */
    memcpy(p, raw.data, raw.len);
    p[0] = 200;
    assert_int_equal(item_bundle_parse(p, raw.len, &bl, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "200 items announced"));
    /* high bytes of the u256 count */
    p[0] = 3;
    p[20] = 1;
    assert_int_equal(item_bundle_parse(p, raw.len, &bl, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "does not fit in 64 bits"));
    /* an item that does not verify names its index */
    p[20] = 0;
    p[raw.len - 1] ^= 1;   /* last data byte of item 2 */
    assert_int_equal(item_bundle_verify(p, raw.len, &err), AO_EVERIFY);
    assert_non_null(strstr(err.msg, "bundle item 2"));
    /* too short for a count; an empty bundle is fine */
    assert_int_equal(item_bundle_parse(p, 31, &bl, &err), AO_EFORMAT);
    memset(p, 0, 32);
    assert_int_equal(item_bundle_parse(p, 32, &bl, NULL), AO_OK);
    assert_int_equal(bl.count, 0);
    item_bundle_free(&bl);
    free(p);
    ao_buf_free(&raw);
}

/* ---- signing round trips ---- */

/* Wallet JSON for a vector key (see crypto_wallet_parse). */
static crypto_wallet *vector_wallet(const char *key)
{
    const cJSON *k = vec_find(V, "keys", key);
    assert_non_null(k);
    char *json = NULL;
    if (!strcmp(key, "rsa4096")) {
        json = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(k, "jwk"));
    } else if (!strcmp(key, "ed25519")) {
        ao_buf seed, pub;
        ao_buf_init(&seed);
        ao_buf_init(&pub);
        assert_int_equal(vec_hex(vec_str(k, "seed_hex"), &seed), AO_OK);
        assert_int_equal(vec_hex(vec_str(k, "public_key_hex"), &pub), AO_OK);
        char *d = ao_b64url_encode(seed.data, seed.len), *x = ao_b64url_encode(pub.data, pub.len);
        json = malloc(256);
        snprintf(json, 256, "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"%s\",\"x\":\"%s\"}", d, x);
        free(d);
        free(x);
        ao_buf_free(&seed);
        ao_buf_free(&pub);
    } else {
        ao_buf priv, pub;
        ao_buf_init(&priv);
        ao_buf_init(&pub);
        assert_int_equal(vec_hex(vec_str(k, "private_key_hex"), &priv), AO_OK);
        assert_int_equal(vec_hex(vec_str(k, "public_key_uncompressed_hex"), &pub), AO_OK);
        char *d = ao_b64url_encode(priv.data, 32), *x = ao_b64url_encode(pub.data + 1, 32),
             *y = ao_b64url_encode(pub.data + 33, 32);
        json = malloc(512);
        snprintf(json, 512, "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"d\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}",
                 d, x, y);
        free(d);
        free(x);
        free(y);
        ao_buf_free(&priv);
        ao_buf_free(&pub);
    }
    crypto_wallet *w = NULL;
    ao_error err;
    if (crypto_wallet_parse(json, strlen(json), &w, &err))
        fail_msg("wallet %s: %s", key, err.msg);
    free(json);
    return w;
}

/* Fields of a vector item's input (buffers kept in bufs[]). */
typedef struct { item_fields f; item_tag tags[8]; ao_buf bufs[20]; } vec_fields;

static void vector_fields(const cJSON *v, vec_fields *vf)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(v, "input");
    memset(vf, 0, sizeof *vf);
    for (int i = 0; i < 20; i++)
        ao_buf_init(&vf->bufs[i]);
    if (vec_str(in, "target_b64url")) {
        assert_int_equal(vec_b64url(vec_str(in, "target_b64url"), &vf->bufs[0]), AO_OK);
        vf->f.target = vf->bufs[0].data;
    }
    if (vec_str(in, "anchor_hex")) {
        assert_int_equal(vec_hex(vec_str(in, "anchor_hex"), &vf->bufs[1]), AO_OK);
        vf->f.anchor = vf->bufs[1].data;
    }
    assert_int_equal(vec_b64(vec_str(in, "data_b64"), &vf->bufs[2]), AO_OK);
    vf->f.data = vf->bufs[2].data;
    vf->f.data_len = vf->bufs[2].len;
    const cJSON *t;
    size_t n = 0;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(in, "tags")) {
        assert_true(n < 8);
        ao_buf *nb = &vf->bufs[3 + 2 * n], *vb = &vf->bufs[4 + 2 * n];
        assert_int_equal(vec_hex(vec_str(t, "name_hex"), nb), AO_OK);
        assert_int_equal(vec_hex(vec_str(t, "value_hex"), vb), AO_OK);
        vf->tags[n] = (item_tag){ nb->data, nb->len, vb->data, vb->len };
        n++;
    }
    vf->f.tags = vf->tags;
    vf->f.ntags = n;
}

static void vector_fields_free(vec_fields *vf)
{
    for (int i = 0; i < 20; i++)
        ao_buf_free(&vf->bufs[i]);
}

static void round_trip(const char *key, const char *vec_name, int deterministic)
{
    crypto_wallet *w = vector_wallet(key);
    const cJSON *v = vec_find(V, "valid_items", vec_name);
    assert_non_null(v);
    vec_fields vf;
    vector_fields(v, &vf);
    ao_buf out, want;
    ao_buf_init(&out);
    ao_buf_init(&want);
    uint8_t id[ITEM_ID_LEN];
    ao_error err;
    if (item_sign(w, &vf.f, &out, id, &err))
        fail_msg("%s: sign: %s", vec_name, err.msg);
    item *it = malloc(sizeof *it);
    if (item_verify(out.data, out.len, it, &err))
        fail_msg("%s: verify of own item: %s", vec_name, err.msg);
    uint8_t id2[ITEM_ID_LEN];
    item_id(it, id2);
    assert_memory_equal(id, id2, sizeof id);
    assert_int_equal(it->sig_type, (unsigned)crypto_wallet_type(w));
    size_t ol;
    const uint8_t *owner = crypto_wallet_owner(w, &ol);
    assert_int_equal(it->owner_len, ol);
    assert_memory_equal(it->owner, owner, ol);
    /* same layout as the vector apart from the signature bytes */
    assert_int_equal(vec_b64(vec_str(v, "raw_b64"), &want), AO_OK);
    assert_int_equal(out.len, want.len);
    size_t so = 2 + it->sig_len;
    assert_memory_equal(out.data + so, want.data + so, out.len - so);
    if (deterministic)   /* deterministic signers reproduce the vector */
        assert_memory_equal(out.data, want.data, want.len);
    /* any flipped byte after the signature type breaks it (sampled) */
    for (size_t i = 2; i < out.len; i += 1 + out.len / 40) {
        out.data[i] ^= 0x01;
        int rc = item_verify(out.data, out.len, NULL, NULL);
        bool counted = !(i >= 2 + it->sig_len + it->owner_len + 2 + (it->target ? 32 : 0) +
                             (it->anchor ? 32 : 0) &&
                         i < 2 + it->sig_len + it->owner_len + 2 + (it->target ? 32 : 0) +
                                 (it->anchor ? 32 : 0) + 8);
        if (counted && rc == AO_OK)
            fail_msg("%s: flipping byte %zu still verifies", vec_name, i);
        out.data[i] ^= 0x01;
    }
    free(it);
    ao_buf_free(&out);
    ao_buf_free(&want);
    vector_fields_free(&vf);
    crypto_wallet_free(w);
}

/* RSA-PSS salts are random: same layout, different signature bytes */
static void round_trip_arweave(void **state)
{
    (void)state;
    round_trip("rsa4096", "rsa4096/target_anchor_5tags_unicode_binary", 0);
    round_trip("rsa4096", "rsa4096/empty", 0);
}

/* Ed25519 is deterministic: signing the vector's fields with the vector
 * key reproduces the arbundles item byte for byte */
static void round_trip_ed25519(void **state)
{
    (void)state;
    round_trip("ed25519", "ed25519/target_anchor_5tags_unicode_binary", 1);
    round_trip("ed25519", "ed25519/binanchor_5tags_ao_eval", 1);
    round_trip("ed25519", "ed25519/empty", 1);
}

/* RFC 6979 nonces (libsecp256k1 and ethers alike): byte-identical items */
static void round_trip_ethereum(void **state)
{
    (void)state;
    round_trip("secp256k1", "secp256k1/target_anchor_5tags_unicode_binary", 1);
    round_trip("secp256k1", "secp256k1/binanchor_5tags_ao_eval", 1);
}

/* The tag count field is not signed: changing it must still be caught by
 * the decoder (count vs decoded Avro). */
static void unsigned_tag_count_is_checked(void **state)
{
    (void)state;
    crypto_wallet *w = vector_wallet("ed25519");
    item_tag t[2] = { { (const uint8_t *)"A", 1, (const uint8_t *)"1", 1 },
                      { (const uint8_t *)"B", 1, (const uint8_t *)"", 0 } };
    item_fields f = { NULL, NULL, t, 2, (const uint8_t *)"x", 1 };
    ao_buf out;
    ao_buf_init(&out);
    assert_int_equal(item_sign(w, &f, &out, NULL, NULL), AO_OK);
    assert_int_equal(item_verify(out.data, out.len, NULL, NULL), AO_OK);
    size_t count_off = 2 + 64 + 32 + 2;
    out.data[count_off] = 1;
    ao_error err;
    assert_int_equal(item_verify(out.data, out.len, NULL, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "tag count field says 1, the tags hold 2"));
    ao_buf_free(&out);
    crypto_wallet_free(w);
}

static void sign_rejects_bad_tags(void **state)
{
    (void)state;
    crypto_wallet *w = vector_wallet("ed25519");
    item_tag t = { (const uint8_t *)"", 0, (const uint8_t *)"v", 1 };
    item_fields f = { NULL, NULL, &t, 1, NULL, 0 };
    ao_buf out;
    ao_error err;
    ao_buf_init(&out);
    assert_int_equal(item_sign(w, &f, &out, NULL, &err), AO_ELIMIT);
    assert_non_null(strstr(err.msg, "empty name"));
    assert_int_equal(out.len, 0);
    ao_buf_free(&out);
    crypto_wallet_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_items_verify),
        cmocka_unit_test(edge_items_strict_verdict),
        cmocka_unit_test(edge_eth_signature_reasons),
        cmocka_unit_test(invalid_items_rejected),
        cmocka_unit_test(aptos_types_unsupported),
        cmocka_unit_test(bundle_vector),
        cmocka_unit_test(bundle_bad_header_id),
        cmocka_unit_test(bundle_layout_rejections),
        cmocka_unit_test(round_trip_arweave),
        cmocka_unit_test(round_trip_ed25519),
        cmocka_unit_test(round_trip_ethereum),
        cmocka_unit_test(unsigned_tag_count_is_checked),
        cmocka_unit_test(sign_rejects_bad_tags),
    };
    return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
