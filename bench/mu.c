/* bench/mu.c - the Messenger Unit's throughput over in-memory fake units
 * (tests/mu/mu_fakes.h), so only the MU is measured: pushes/s of one
 * 2,000-message fan-out (sign, queue, post, crank each) and posts/s of
 * many concurrent clients, each durable (fsync) against the same run with
 * no_fsync, and 8 concurrent posters against 1 (the group commit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mu/mu_fakes.h"

typedef struct env {
    char dir[128];
    crypto_wallet *w, *user;
    fake_su su;
    fake_cu cu;
    fake_data data;
    mu *m;
    char P[44], Q[44];
    char T[50][44];     /* more target processes */
} env;

static void rid(char out[44])
{
    uint8_t b[32];
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(b, 1, 32, f) != 32)
        exit(1);
    fclose(f);
    ao_b64url_encode_to(b, 32, out);
}

static void env_open(env *e, bool durable)
{
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ao-bench-mu-XXXXXX");
    if (!mkdtemp(e->dir))
        exit(1);
    crypto_wallet_generate(CRYPTO_KEY_ED25519, &e->w, NULL);
    crypto_wallet_generate(CRYPTO_KEY_ED25519, &e->user, NULL);
    fake_su_init(&e->su);
    fake_cu_init(&e->cu);
    fake_data_init(&e->data);
    rid(e->P);
    rid(e->Q);
    fake_su_add_process(&e->su, e->P, "[{\"name\":\"Module\",\"value\":\"m\"}]");
    fake_su_add_process(&e->su, e->Q, "[{\"name\":\"Module\",\"value\":\"m\"}]");
    for (int i = 0; i < 50; i++) {
        rid(e->T[i]);
        fake_su_add_process(&e->su, e->T[i], "[{\"name\":\"Module\",\"value\":\"m\"}]");
    }
    mu_options o;
    memset(&o, 0, sizeof o);
    o.dir = e->dir;
    o.wallet = e->w;
    o.su = fake_su_client(&e->su);
    o.cu = fake_cu_client(&e->cu);
    o.data = fake_data_client(&e->data);
    o.workers = 4;
    o.no_fsync = !durable;
    ao_error err = {0};
    if (mu_open(&o, &e->m, &err)) {
        fprintf(stderr, "mu_open: %s\n", err.msg);
        exit(1);
    }
}

static void env_close(env *e)
{
    mu_close(e->m);
    fake_su_free(&e->su);
    fake_cu_free(&e->cu);
    fake_data_free(&e->data);
    crypto_wallet_free(e->w);
    crypto_wallet_free(e->user);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
}

static void user_msg(env *e, ao_buf *raw, char id[44])
{
    ao_buf tb;
    ao_buf_init(&tb);
    ao_b64url_decode(e->P, 43, &tb, NULL);
    uint8_t anchor[32];
    char a[44];
    rid(a);
    memcpy(anchor, a, 32);
    item_tag tags[2] = {
        { (const uint8_t *)"Data-Protocol", 13, (const uint8_t *)"ao", 2 },
        { (const uint8_t *)"Type", 4, (const uint8_t *)"Message", 7 },
    };
    item_fields f = { .target = tb.data, .anchor = anchor, .tags = tags, .ntags = 2,
                      .data = (const uint8_t *)"x", .data_len = 1 };
    uint8_t bid[32];
    item_sign(e->user, &f, raw, bid, NULL);
    ao_b64url_encode_to(bid, 32, id);
    ao_buf_free(&tb);
}

/* pushes/s of one fan-out of n messages over `targets` processes (1: all
 * to Q, pushed in outbox order one after the other) */
static double fanout(bool durable, int n, int targets)
{
    env e;
    env_open(&e, durable);
    ao_buf raw, r;
    ao_buf_init(&raw);
    ao_buf_init(&r);
    char id[44];
    user_msg(&e, &raw, id);
    ao_buf_append_str(&r, "{\"Messages\":[");
    for (int i = 0; i < n; i++)
        ao_buf_printf(&r, "%s{\"Target\":\"%s\",\"Tags\":[{\"name\":\"N\",\"value\":\"%d\"}]}",
                      i ? "," : "", targets > 1 ? e.T[i % targets] : e.Q, i);
    ao_buf_append_str(&r, "]}");
    ao_buf_append_byte(&r, 0);
    fake_cu_script(&e.cu, id, (const char *)r.data);
    int64_t t0 = ao_mono_ms();
    if (mu_post(e.m, raw.data, raw.len, NULL, NULL, NULL) ||
        mu_wait_idle(e.m, 600000, NULL) || e.su.nposted != (size_t)n + 1) {
        fprintf(stderr, "fan-out failed\n");
        exit(1);
    }
    double s = (double)(ao_mono_ms() - t0) / 1000.0;
    ao_buf_free(&raw);
    ao_buf_free(&r);
    env_close(&e);
    return n / s;
}

typedef struct poster {
    env *e;
    int n;
    ao_buf *raws;
} poster;

static void *poster_main(void *arg)
{
    poster *p = arg;
    for (int i = 0; i < p->n; i++)
        if (mu_post(p->e->m, p->raws[i].data, p->raws[i].len, NULL, NULL, NULL))
            exit(1);
    return NULL;
}

/* posts/s (answered, crank queued) of `threads` clients, total posts */
static double posts(bool durable, int threads, int total)
{
    env e;
    env_open(&e, durable);
    poster ps[16];
    pthread_t th[16];
    int per = total / threads;
    for (int t = 0; t < threads; t++) {
        ps[t].e = &e;
        ps[t].n = per;
        ps[t].raws = calloc((size_t)per, sizeof(ao_buf));
        for (int i = 0; i < per; i++) {
            char id[44];
            ao_buf_init(&ps[t].raws[i]);
            user_msg(&e, &ps[t].raws[i], id);
        }
    }
    int64_t t0 = ao_mono_ms();
    for (int t = 0; t < threads; t++)
        pthread_create(&th[t], NULL, poster_main, &ps[t]);
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    double s = (double)(ao_mono_ms() - t0) / 1000.0;
    mu_wait_idle(e.m, 600000, NULL);
    for (int t = 0; t < threads; t++) {
        for (int i = 0; i < per; i++)
            ao_buf_free(&ps[t].raws[i]);
        free(ps[t].raws);
    }
    env_close(&e);
    return per * threads / (s > 0 ? s : 0.001);
}

int main(void)
{
    ao_log_configure(AO_LOG_OFF, false);
    double fd = fanout(true, 2000, 50), fn = fanout(false, 2000, 50);
    double f1 = fanout(true, 2000, 1);
    printf("mu fan-out, 2,000 pushes (sign, queue, post, crank each), 4 workers:\n");
    printf("  50 targets durable   %8.0f pushes/s\n"
           "  50 targets no_fsync  %8.0f pushes/s   (durable/no_fsync %.2fx)\n"
           "  1 target  durable   %8.0f pushes/s   (in outbox order; vs 50 targets %.2fx)\n",
           fd, fn, fd / fn, f1, f1 / fd);
    double p1 = posts(true, 1, 400), p8 = posts(true, 8, 400), pn = posts(false, 8, 400);
    printf("mu POST / (verify, forward, durable crank), 400 posts:\n");
    printf("  1 client   durable  %8.0f posts/s\n", p1);
    printf("  8 clients  durable  %8.0f posts/s   (group commit: 8 vs 1 client %.2fx)\n", p8,
           p8 / p1);
    printf("  8 clients  no_fsync %8.0f posts/s   (durable/no_fsync %.2fx)\n", pn, p8 / pn);
    return 0;
}
