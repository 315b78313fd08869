/* bench/item.c - ANS-104 verify throughput per signature type beside the
 * raw signature primitive on the same (precomputed) message, and deep hash
 * throughput beside plain SHA-384 over the same bytes. Single thread.
 * Items come from shared/vectors/ans104.json (AO_SHARED, ../shared or
 * $AO_SHARED). Times are this thread's CPU time, so other load on the
 * machine does not skew the rates. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "item/item.h"
#include "vectors.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}


/* raw bytes of a valid vector item by name (standard base64 in the file) */
static int load_item(const cJSON *root, const char *name, ao_buf *out)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "valid_items")) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(v, "name");
        if (!cJSON_IsString(n) || strcmp(n->valuestring, name))
            continue;
        const char *s = cJSON_GetObjectItemCaseSensitive(v, "raw_b64")->valuestring;
        size_t k = strlen(s);
        char *t = malloc(k + 1);
        size_t m = 0;
        for (size_t i = 0; i < k && s[i] != '='; i++)
            t[m++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
        int rc = ao_b64url_decode(t, m, out, NULL);
        free(t);
        return rc;
    }
    return AO_ENOTFOUND;
}

/* the raw primitive on the item's own (precomputed) message */
static int raw_verify(const item *it, const uint8_t dh[ITEM_DH_LEN])
{
    switch (it->sig_type) {
    case ITEM_SIG_ARWEAVE:
        return crypto_rsa_pss_verify(it->owner, it->owner_len, dh, ITEM_DH_LEN, it->sig,
                                     it->sig_len, NULL);
    case ITEM_SIG_ED25519:
        return crypto_ed25519_verify(it->owner, dh, ITEM_DH_LEN, it->sig, NULL);
    case ITEM_SIG_ETHEREUM: {
        uint8_t d[32];
        crypto_eip191_digest(dh, ITEM_DH_LEN, d);
        return crypto_secp256k1_verify_digest(it->owner, d, it->sig, NULL);
    }
    }
    return AO_EUNSUPPORTED;
}

#define MIN_TIME 1.0

/* the whole type-3 policy on the precomputed message: EIP-191 digest,
 * low-S, v in {27,28}, ecrecover == owner (what item verify runs) */
static int policy_verify(const item *it, const uint8_t dh[ITEM_DH_LEN])
{
    return crypto_verify((crypto_key_type)it->sig_type, it->owner, it->owner_len, dh,
                         ITEM_DH_LEN, it->sig, it->sig_len, NULL);
}

static int bench_verify(const cJSON *root, const char *name, const char *prim)
{
    ao_buf raw;
    ao_buf_init(&raw);
    if (load_item(root, name, &raw)) {
        fprintf(stderr, "item bench: vector %s missing\n", name);
        return 1;
    }
    item *it = malloc(sizeof *it);
    uint8_t dh[ITEM_DH_LEN];
    ao_error err;
    if (item_verify(raw.data, raw.len, it, &err)) {
        fprintf(stderr, "item bench: %s does not verify: %s\n", name, err.msg);
        return 1;
    }
    item_deep_hash(it, dh);
    if (raw_verify(it, dh)) {
        fprintf(stderr, "item bench: raw primitive rejects %s\n", name);
        return 1;
    }
    /* alternate short rounds of both so frequency drift hits both alike */
    double t_item = 0, t_raw = 0;
    long n_item = 0, n_raw = 0;
    while (t_item < MIN_TIME || t_raw < MIN_TIME) {
        double t0 = now();
        for (int i = 0; i < 50; i++)
            if (item_verify(raw.data, raw.len, it, NULL))
                return 1;
        double t1 = now();
        for (int i = 0; i < 50; i++)
            if (raw_verify(it, dh))
                return 1;
        double t2 = now();
        t_item += t1 - t0;
        t_raw += t2 - t1;
        n_item += 50;
        n_raw += 50;
    }
    double a = n_item / t_item, b = n_raw / t_raw;
    printf("verify %-10s %6zu B item: %9.0f items/s   %-32s %9.0f /s   ratio %.3f\n",
           item_sig_name(it->sig_type), raw.len, a, prim, b, a / b);
    if (it->sig_type == ITEM_SIG_ETHEREUM) {
        /* the strict policy recovers the key; recovery costs more than a
         * plain verify, so also compare with the policy on its own */
        double t_pol = 0;
        long n_pol = 0;
        while (t_pol < MIN_TIME) {
            double t0 = now();
            for (int i = 0; i < 50; i++)
                if (policy_verify(it, dh))
                    return 1;
            t_pol += now() - t0;
            n_pol += 50;
        }
        double c = n_pol / t_pol;
        printf("verify %-10s %6zu B item: %9.0f items/s   %-32s %9.0f /s   ratio %.3f\n",
               item_sig_name(it->sig_type), raw.len, a, "crypto_verify (ecrecover policy):", c,
               a / c);
    }
    free(it);
    ao_buf_free(&raw);
    return 0;
}

static void bench_deep_hash(size_t size)
{
    uint8_t *p = malloc(size);
    for (size_t i = 0; i < size; i++)
        p[i] = (uint8_t)(i * 7 + 1);
    uint8_t h[ITEM_DH_LEN];
    double t_dh = 0, t_sha = 0;
    long n = 0;
    while (t_dh < MIN_TIME || t_sha < MIN_TIME) {
        double t0 = now();
        item_dh_blob(p, size, h);
        double t1 = now();
        crypto_sha384(p, size, h);
        double t2 = now();
        t_dh += t1 - t0;
        t_sha += t2 - t1;
        n++;
    }
    double mb = (double)size * n / 1e6;
    printf("deep hash %5zu MiB blob: %8.1f MB/s   sha384 same bytes: %8.1f MB/s   ratio %.3f\n",
           size >> 20, mb / t_dh, mb / t_sha, t_sha / t_dh);
    free(p);
}

/* streaming deep hash in 64 KiB pieces, as a large upload would be hashed */
static void bench_deep_hash_stream(size_t size)
{
    size_t piece = 65536;
    uint8_t *p = malloc(piece);
    for (size_t i = 0; i < piece; i++)
        p[i] = (uint8_t)(i * 7 + 1);
    uint8_t h[ITEM_DH_LEN];
    double t = 0;
    long n = 0;
    while (t < MIN_TIME) {
        double t0 = now();
        item_dh_stream *s;
        if (item_dh_stream_new(size, &s, NULL))
            break;
        for (size_t off = 0; off < size; off += piece)
            item_dh_stream_update(s, p, piece);
        item_dh_stream_final(s, h, NULL);
        item_dh_stream_free(s);
        t += now() - t0;
        n++;
    }
    printf("deep hash %5zu MiB stream (64 KiB pieces): %8.1f MB/s\n", size >> 20,
           (double)size * n / 1e6 / t);
    free(p);
}

int main(void)
{
    const char *path = vec_shared_path("vectors/ans104.json");
    ao_buf js;
    ao_buf_init(&js);
    if (!path || ao_file_read(path, &js, NULL)) {
        fprintf(stderr, "item bench: shared/vectors/ans104.json not found\n");
        return 1;
    }
    cJSON *root = cJSON_ParseWithLength((const char *)js.data, js.len);
    ao_buf_free(&js);
    if (!root)
        return 1;
    int rc = 0;
    rc |= bench_verify(root, "rsa4096/binanchor_5tags_ao_eval", "crypto_rsa_pss_verify:");
    rc |= bench_verify(root, "ed25519/binanchor_5tags_ao_eval", "crypto_ed25519_verify:");
    rc |= bench_verify(root, "secp256k1/binanchor_5tags_ao_eval", "crypto_secp256k1_verify_digest:");
    cJSON_Delete(root);
    bench_deep_hash(1 << 20);
    bench_deep_hash(64 << 20);
    bench_deep_hash_stream(64 << 20);
    return rc;
}
