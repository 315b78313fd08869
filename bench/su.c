/*
 * bench/su.c - durable SU assignments per second, in-process: many client
 * threads post pre-signed messages over many processes to an SU over a
 * local weave (fsync on: every answer is durable in su.db and in the
 * weave). Runs with an Ed25519 and an RSA SU wallet, with the weave
 * re-verifying both items (weave_client_local) and with a data layer that
 * trusts the SU's own checks (WEAVE_PUT_NOVERIFY). The floor is measured in
 * the same run: signing the same Assignment items alone (and verifying a
 * message plus signing) on 64 threads over every core, and the ratios are
 * printed. The HTTP rows post the same messages through
 * the SU's face (net_su_start) with the MU's HTTP SU client
 * (net_mu_su_client_http, libcurl). Usage: su [messages] (default 20000).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "su/su.h"
#include "item/item.h"
#include "net/net.h"

#define PROCS 100

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int trusted_put(void *ctx, const uint8_t *raw, size_t len, weave_put_result *res,
                       ao_error *err)
{
    return weave_put(ctx, raw, len, WEAVE_PUT_NOVERIFY, res, err);
}

static int trusted_put_many(void *ctx, const uint8_t *const *raws, const size_t *lens, size_t n,
                            weave_put_result *res, ao_error *err)
{
    return weave_put_many(ctx, raws, lens, n, WEAVE_PUT_NOVERIFY, res, err);
}

static int sign_item(const crypto_wallet *w, const item_tag *tags, size_t n, const uint8_t *target,
                     const char *data, ao_buf *out)
{
    item_fields f = { target, NULL, tags, n, (const uint8_t *)data, data ? strlen(data) : 0 };
    return item_sign(w, &f, out, NULL, NULL);
}

#define T(n, v) { (const uint8_t *)(n), sizeof(n) - 1, (const uint8_t *)(v), strlen(v) }

typedef struct {
    su *s;
    const mu_su_client *http;   /* post over HTTP instead, or NULL */
    ao_buf *msgs;
    atomic_long *next;
    long total;
    int failures;
} worker;

static void *post_worker(void *p)
{
    worker *w = p;
    ao_buf out;
    ao_buf_init(&out);
    for (;;) {
        long i = atomic_fetch_add(w->next, 1);
        if (i >= w->total)
            break;
        su_ack ack;
        ao_error err;
        int r;
        if (w->http) {
            ao_buf_reset(&out);
            r = w->http->post(w->http->ctx, w->msgs[i].data, w->msgs[i].len, &out, &err);
        } else {
            r = su_post_item(w->s, w->msgs[i].data, w->msgs[i].len, &ack, NULL, &err);
        }
        if (r) {
            if (w->failures++ == 0)
                fprintf(stderr, "post: %s\n", err.msg);
        }
    }
    ao_buf_free(&out);
    return NULL;
}

typedef struct {
    const crypto_wallet *w;
    long n;
    const ao_buf *verify;   /* also verify this message first, or NULL */
} signer;

static void *sign_worker(void *p)
{
    signer *sg = p;
    char nonce[24], ts[24];
    for (long i = 0; i < sg->n; i++) {
        if (sg->verify && item_verify(sg->verify->data, sg->verify->len, NULL, NULL))
            abort();
        snprintf(nonce, sizeof nonce, "%ld", i);
        snprintf(ts, sizeof ts, "%lld", (long long)(1700000000000LL + i));
        item_tag tags[] = {
            T("Process", "bWVzc2FnZW1lc3NhZ2VtZXNzYWdlbWVzc2FnZW1lc3M"), T("Epoch", "0"),
            T("Nonce", nonce), T("Hash-Chain", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"),
            T("Block-Height", "000000000012"), T("Timestamp", ts), T("Data-Protocol", "ao"),
            T("Type", "Assignment"), T("Variant", "ao.TN.1"),
            T("Message", "bWVzc2FnZW1lc3NhZ2VtZXNzYWdlbWVzc2FnZW1lc3M"),
        };
        ao_buf out;
        ao_buf_init(&out);
        sign_item(sg->w, tags, 10, NULL, NULL, &out);
        ao_buf_free(&out);
    }
    return NULL;
}

/* Assignment signatures per second on `cores` threads (at most 64; each
 * preceded by the verification of a message when verify != NULL). */
static double sign_floor(const crypto_wallet *w, long n, int cores, const ao_buf *verify)
{
    if (cores > 64)
        cores = 64;
    pthread_t th[64];
    signer sg[64];
    double t0 = now_s();
    for (int i = 0; i < cores; i++) {
        sg[i] = (signer){ w, n / cores, verify };
        pthread_create(&th[i], NULL, sign_worker, &sg[i]);
    }
    for (int i = 0; i < cores; i++)
        pthread_join(th[i], NULL);
    return (double)(n / cores * cores) / (now_s() - t0);
}

/* One run: fresh dirs, PROCS processes, n messages from `threads` clients. */
static double run(const crypto_wallet *suw, const crypto_wallet *user, long n, int threads,
                  bool trusted, bool no_fsync, bool http)
{
    char dir[] = "/tmp/ao-bench-su-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    char wdir[256], sdir[256];
    snprintf(wdir, sizeof wdir, "%s/weave", dir);
    snprintf(sdir, sizeof sdir, "%s/su", dir);
    weave_options wo;
    weave_options_default(&wo);
    wo.no_fsync = no_fsync;
    weave *wv;
    ao_error err;
    if (weave_open(wdir, &wo, &wv, &err)) {
        fprintf(stderr, "weave: %s\n", err.msg);
        return -1;
    }
    weave_client wc;
    weave_client_local(wv, &wc);
    if (trusted) {
        wc.put = trusted_put;
        wc.put_many = trusted_put_many;
    }
    su_options o;
    memset(&o, 0, sizeof o);
    o.dir = sdir;
    o.data = &wc;
    o.wallet = suw;
    o.no_fsync = no_fsync;
    su *s;
    if (su_open(&o, &s, &err)) {
        fprintf(stderr, "su: %s\n", err.msg);
        return -1;
    }
    /* processes, then n pre-signed messages round-robin over them */
    uint8_t pids[PROCS][32];
    for (int i = 0; i < PROCS; i++) {
        char d[32];
        snprintf(d, sizeof d, "process %d", i);
        item_tag tags[] = { T("Data-Protocol", "ao"), T("Type", "Process"),
                            T("Module", "bW9kdWxlbW9kdWxlbW9kdWxlbW9kdWxlbW9kdWxlbW8"),
                            T("Scheduler", su_address(s)) };
        ao_buf raw;
        ao_buf_init(&raw);
        su_ack a;
        sign_item(user, tags, 4, NULL, d, &raw);
        if (su_post_item(s, raw.data, raw.len, &a, NULL, &err)) {
            fprintf(stderr, "spawn: %s\n", err.msg);
            return -1;
        }
        ao_buf_free(&raw);
        ao_buf b;
        ao_buf_init(&b);
        ao_b64url_decode(a.id, 43, &b, NULL);
        memcpy(pids[i], b.data, 32);
        ao_buf_free(&b);
    }
    ao_buf *msgs = calloc((size_t)n, sizeof *msgs);
    for (long i = 0; i < n; i++) {
        char d[48];
        snprintf(d, sizeof d, "message %ld", i);
        item_tag tags[] = { T("Data-Protocol", "ao"), T("Type", "Message"), T("Action", "Eval") };
        ao_buf_init(&msgs[i]);
        sign_item(user, tags, 3, pids[i % PROCS], d, &msgs[i]);
    }
    net_server *srv = NULL;
    mu_su_client cl;
    memset(&cl, 0, sizeof cl);
    if (http) {
        net_server_options so;
        memset(&so, 0, sizeof so);
        so.threads = (unsigned)threads;
        char url[64];
        if (net_su_start(s, &so, &srv, &err)) {
            fprintf(stderr, "net_su_start: %s\n", err.msg);
            return -1;
        }
        snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)net_server_port(srv));
        if (net_mu_su_client_http(&wc, url, &cl, &err)) {
            fprintf(stderr, "client: %s\n", err.msg);
            return -1;
        }
    }
    atomic_long next = 0;
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    worker *ws = calloc((size_t)threads, sizeof *ws);
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        ws[i] = (worker){ s, http ? &cl : NULL, msgs, &next, n, 0 };
        pthread_create(&th[i], NULL, post_worker, &ws[i]);
    }
    int failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        failures += ws[i].failures;
    }
    double dt = now_s() - t0;
    if (http) {
        net_mu_su_client_free(&cl);
        net_server_stop(srv);
    }
    su_close(s);
    weave_close(wv);
    for (long i = 0; i < n; i++)
        ao_buf_free(&msgs[i]);
    free(msgs);
    free(th);
    free(ws);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (failures) {
        fprintf(stderr, "%d posts failed\n", failures);
        return -1;
    }
    return (double)n / dt;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    /* the floors run on as many threads as the SU runs have clients (64):
     * on a shared machine the scheduler gives CPU per thread, so fewer
     * threads would understate the floor */
    int floor_threads = 64;
    ao_log_configure(AO_LOG_WARN, false);
    crypto_wallet *ed, *rsa, *user;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &ed, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ARWEAVE, &rsa, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &user, NULL))
        return 1;
    printf("su bench: %ld messages over %d processes, %d cores, fsync on unless said\n", n,
           PROCS, cores);
    uint8_t tgt[32] = { 1 };
    item_tag mt[] = { T("Data-Protocol", "ao"), T("Type", "Message"), T("Action", "Eval") };
    ao_buf msg;
    ao_buf_init(&msg);
    sign_item(user, mt, 3, tgt, "message 1", &msg);
    double ed_floor = sign_floor(ed, n, floor_threads, NULL);
    printf("floor: Ed25519 assignment signing alone      %9.0f /s\n", ed_floor);
    double ed_vfloor = sign_floor(ed, n, floor_threads, &msg);
    printf("floor: Ed25519 message verify + signing      %9.0f /s\n", ed_vfloor);
    const char *only = getenv("SU_BENCH_ONLY");
    struct { const char *name; int threads; bool trusted, no_fsync, http; } cfg[] = {
        { "in-process: Ed25519, weave verifies, 64 clients ", 64, false, false, false },
        { "in-process: Ed25519, trusted put,   64 clients ", 64, true, false, false },
        { "in-process: Ed25519, trusted put,  256 clients ", 256, true, false, false },
        { "in-process: Ed25519, trusted put, 256, no fsync", 256, true, true, false },
        { "HTTP:       Ed25519, trusted put,   64 clients ", 64, true, false, true },
    };
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        if (only && atoi(only) != (int)i)
            continue;
        double r = run(ed, user, n, cfg[i].threads, cfg[i].trusted, cfg[i].no_fsync, cfg[i].http);
        printf("su %s %9.0f /s  (%.2fx of signing alone, %.2fx of verify+sign)\n",
               cfg[i].name, r, r / ed_floor, r / ed_vfloor);
    }
    ao_buf_free(&msg);
    if (only)
        goto out;
    long nr = n / 20 > 200 ? n / 20 : 200;
    double rsa_floor = sign_floor(rsa, nr, floor_threads, NULL);
    printf("floor: RSA-4096 assignment signing alone     %9.0f /s\n", rsa_floor);
    double r = run(rsa, user, nr, 64, true, false, false);
    printf("su in-process: RSA, trusted put,       64 clients  %9.0f /s  (%.2fx of the signing floor)\n",
           r, r / rsa_floor);
out:
    crypto_wallet_free(ed);
    crypto_wallet_free(rsa);
    crypto_wallet_free(user);
    return 0;
}
