/* bench/net_clients.c - what the HTTP data client costs over the local one.
 * On a weave of BENCH_NET_ITEMS items (default 2,000, fsync off) served by
 * our gateway on loopback, it runs the same operations through
 * weave_client_local (the peer) and net_weave_client_http (libcurl,
 * connections kept alive through the shared cache) and prints the time per
 * call and the ratio: get_meta with keys, get_data, a tag query of 10 rows,
 * get_info. Then the server core alone: GET /health through the client.
 * Wall-clock times; the data dir lives under BENCH_DIR (default /tmp). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "item/item.h"
#include "net/net.h"
#include "net/net_internal.h"
#include "weave/weave.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what, const ao_error *err)
{
    fprintf(stderr, "bench/net_clients: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

typedef struct {
    const weave_client *c;
    char (*ids)[WEAVE_ID_MAX];
    size_t nids;
} ctx;

enum { OP_META, OP_DATA, OP_QUERY, OP_INFO };

static void run_op(const ctx *x, int op, size_t i)
{
    ao_error err;
    const char *id = x->ids[(i * 7919) % x->nids];
    switch (op) {
    case OP_META: {
        weave_item_meta m;
        if (x->c->get_meta(x->c->ctx, id, WEAVE_META_KEYS, &m, &err))
            die("get_meta", &err);
        weave_meta_free(&m);
        break;
    }
    case OP_DATA: {
        ao_buf b;
        ao_buf_init(&b);
        if (x->c->get_data(x->c->ctx, id, &b, &err))
            die("get_data", &err);
        ao_buf_free(&b);
        break;
    }
    case OP_QUERY: {
        const char *v[1] = { (i & 1) ? "Eval" : "Transfer" };
        weave_tag_filter tf[1] = { { "Action", v, 1 } };
        weave_tx_filter f;
        weave_tx_filter_init(&f);
        f.tags = tf;
        f.ntags = 1;
        f.first = 10;
        weave_tx_page p;
        if (x->c->query_transactions(x->c->ctx, &f, &p, &err))
            die("query", &err);
        if (p.n != 10)
            die("query: short page", NULL);
        weave_tx_page_free(&p);
        break;
    }
    default: {
        weave_info in;
        if (x->c->get_info(x->c->ctx, &in, &err))
            die("get_info", &err);
    }
    }
}

static double per_call_us(const ctx *x, int op, size_t n)
{
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        run_op(x, op, i);
    return (now() - t0) * 1e6 / (double)n;
}

int main(void)
{
    size_t nitems = 2000;
    const char *e = getenv("BENCH_NET_ITEMS");
    if (e && atoi(e) > 20)
        nitems = (size_t)atoi(e);
    const char *base = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp";
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ao-bench-net-XXXXXX", base);
    if (!mkdtemp(dir))
        die("mkdtemp", NULL);
    ao_error err;
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    o.no_fsync = true;
    weave *w;
    if (weave_open(dir, &o, &w, &err))
        die("weave_open", &err);
    crypto_wallet *wl;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &wl, &err))
        die("wallet", &err);
    char (*ids)[WEAVE_ID_MAX] = calloc(nitems, WEAVE_ID_MAX);
    for (size_t i = 0; i < nitems; i++) {
        char n[32];
        snprintf(n, sizeof n, "%zu", i);
        item_tag tags[3] = {
            { (const uint8_t *)"Data-Protocol", 13, (const uint8_t *)"ao", 2 },
            { (const uint8_t *)"Action", 6, (const uint8_t *)((i & 1) ? "Eval" : "Transfer"),
              (i & 1) ? 4 : 8 },
            { (const uint8_t *)"N", 1, (const uint8_t *)n, strlen(n) },
        };
        item_fields f = { NULL, NULL, tags, 3, (const uint8_t *)"some data of the item", 21 };
        ao_buf raw;
        ao_buf_init(&raw);
        uint8_t id[ITEM_ID_LEN];
        if (item_sign(wl, &f, &raw, id, &err))
            die("item_sign", &err);
        ao_b64url_encode_to(id, ITEM_ID_LEN, ids[i]);
        if (weave_put(w, raw.data, raw.len, WEAVE_PUT_NOVERIFY, NULL, &err))
            die("weave_put", &err);
        ao_buf_free(&raw);
    }
    net_gateway *gw;
    if (net_gateway_start(w, NULL, &gw, &err))
        die("gateway", &err);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)net_gateway_port(gw));
    weave_client local, http;
    weave_client_local(w, &local);
    if (net_weave_client_http(url, &http, &err))
        die("http client", &err);
    ctx lx = { &local, ids, nitems }, hx = { &http, ids, nitems };
    static const char *const names[] = { "get_meta (keys)", "get_data", "query tag, 10 rows",
                                         "get_info" };
    size_t n = 500;
    printf("net_clients: %zu items, %zu calls per op, loopback\n", nitems, n);
    printf("%-20s %12s %12s %8s\n", "op", "local us", "http us", "ratio");
    for (int op = 0; op < 4; op++) {
        run_op(&hx, op, 0);   /* warm the connection */
        double l = per_call_us(&lx, op, n), h = per_call_us(&hx, op, n);
        printf("%-20s %12.1f %12.1f %8.1fx\n", names[op], l, h, h / l);
    }
    /* the server core alone */
    char hurl[96];
    snprintf(hurl, sizeof hurl, "%s/health", url);
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        net_http_answer a;
        net_http_answer_init(&a);
        if (net_http_request("GET", hurl, NULL, 0, NULL, NULL, 0, &a, &err) || a.status != 200)
            die("health", &err);
        net_http_answer_free(&a);
    }
    printf("%-20s %12s %12.1f\n", "GET /health", "-", (now() - t0) * 1e6 / (double)n);
    net_weave_client_free(&http);
    net_gateway_stop(gw);
    weave_close(w);
    crypto_wallet_free(wl);
    free(ids);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
