/*
 * crypto.c - benchmark of the crypto component against its peers in the
 * same run: our Keccak-256 against OpenSSL's SHA3-256 (the same Keccak-f
 * permutation, different padding) on long and address-sized inputs, and
 * the signature schemes per operation: sign and verify for RSA-PSS-4096,
 * Ed25519 and Ethereum, plus strict Ethereum verification (recovery)
 * against a plain ECDSA verify of the same digest.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile uint8_t sink;

/* Seconds per call of fn, best of 3 runs of n calls. */
#define TIME_BEST(n, body)                                   \
    ({                                                       \
        double best_ = 1e30;                                 \
        for (int rep_ = 0; rep_ < 3; rep_++) {               \
            double t0_ = now_s();                            \
            for (long i_ = 0; i_ < (n); i_++) { body; }      \
            double dt_ = (now_s() - t0_) / (double)(n);      \
            if (dt_ < best_) best_ = dt_;                    \
        }                                                    \
        best_;                                               \
    })

static void bench_hashes(void)
{
    size_t big = 1 << 20;
    uint8_t *buf = malloc(big);
    if (!buf)
        exit(1);
    for (size_t i = 0; i < big; i++)
        buf[i] = (uint8_t)(i * 7);
    uint8_t out[32];
    unsigned int len;
    const EVP_MD *sha3 = EVP_sha3_256();
    struct { const char *label; size_t n; long iters; } cases[] = {
        { "1 MiB", big, 30 }, { "64 B", 64, 200000 },
    };
    printf("%-22s %14s %14s %8s\n", "hash", "keccak256", "openssl sha3", "ratio");
    for (size_t c = 0; c < 2; c++) {
        size_t n = cases[c].n;
        double tk = TIME_BEST(cases[c].iters, { crypto_keccak256(buf, n, out); sink ^= out[0]; });
        double ts = TIME_BEST(cases[c].iters, { EVP_Digest(buf, n, out, &len, sha3, NULL); sink ^= out[0]; });
        if (n >= 4096)
            printf("%-22s %10.1f MB/s %10.1f MB/s %7.2fx\n", cases[c].label, n / tk / 1e6,
                   n / ts / 1e6, tk / ts);
        else
            printf("%-22s %11.0f ns %11.0f ns %7.2fx\n", cases[c].label, tk * 1e9, ts * 1e9, tk / ts);
    }
    printf("(ratio = keccak256 time / openssl sha3 time; < 1 means ours is faster)\n\n");
    free(buf);
}

static void bench_signatures(void)
{
    static const char *names[4] = { "", "rsa-pss-4096", "ed25519", "ethereum" };
    static const long iters[4] = { 0, 200, 2000, 2000 };
    uint8_t msg[48];
    memset(msg, 0x42, sizeof msg);
    printf("%-22s %12s %12s\n", "signature (48-byte msg)", "sign us", "verify us");
    double eth_verify = 0;
    const uint8_t *eth_owner = NULL;
    uint8_t eth_sig[AO_SIG_MAX];
    crypto_wallet *ws[4] = { 0 };
    for (int t = 1; t <= 3; t++) {
        ao_error err;
        if (crypto_wallet_generate((crypto_key_type)t, &ws[t], &err) != AO_OK) {
            fprintf(stderr, "bench: %s\n", err.msg);
            exit(1);
        }
        uint8_t sig[AO_SIG_MAX];
        size_t sig_len = 0, olen;
        const uint8_t *owner = crypto_wallet_owner(ws[t], &olen);
        double tsg = TIME_BEST(iters[t], { crypto_sign(ws[t], msg, sizeof msg, sig, &sig_len, NULL); });
        double tv = TIME_BEST(iters[t], {
            if (crypto_verify((crypto_key_type)t, owner, olen, msg, sizeof msg, sig, sig_len, NULL))
                exit(1);
        });
        printf("%-22s %12.1f %12.1f\n", names[t], tsg * 1e6, tv * 1e6);
        if (t == 3) {
            eth_verify = tv;
            eth_owner = owner;
            memcpy(eth_sig, sig, 65);
        }
    }
    uint8_t digest[32];
    crypto_eip191_digest(msg, sizeof msg, digest);
    double tp = TIME_BEST(2000, {
        if (crypto_secp256k1_verify_digest(eth_owner, digest, eth_sig, NULL))
            exit(1);
    });
    printf("%-22s %12s %12.1f\n", "secp256k1 plain verify", "-", tp * 1e6);
    printf("strict ethereum verify (recover) / plain ECDSA verify: %.2fx\n", eth_verify / tp);
    for (int t = 1; t <= 3; t++)
        crypto_wallet_free(ws[t]);
}

int main(void)
{
    bench_hashes();
    bench_signatures();
    return (int)(sink & 0);
}
