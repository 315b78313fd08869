/* bench/gateway.c - cost of the GraphQL layer and of HTTP over the weave's
 * own queries. On a weave of BENCH_GW_ITEMS items (default 20,000, built
 * through the unverified put path with fsync off), for three query shapes
 * of PROTOCOL.md it measures per query: the direct weave query (the peer:
 * same filter, rows only), the GraphQL executor (parse, execute, JSON out)
 * and POST /graphql through the gateway on loopback (one connection per
 * request, as the units' clients do), and prints the ratios. Wall-clock
 * times; the data dir lives under BENCH_DIR (default /tmp), removed after. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "item/item.h"
#include "net/net.h"
#include "weave/gql.h"
#include "weave/weave.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what, const ao_error *err)
{
    fprintf(stderr, "bench/gateway: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

/* One POST /graphql on a new connection; returns bytes of the answer. */
static size_t http_post(uint16_t port, const char *body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("connect", NULL);
    char head[256];
    int hl = snprintf(head, sizeof head, "POST /graphql HTTP/1.1\r\nHost: b\r\nContent-Type: "
                      "application/json\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n",
                      strlen(body));
    if (write(fd, head, (size_t)hl) != hl ||
        write(fd, body, strlen(body)) != (ssize_t)strlen(body))
        die("write", NULL);
    char buf[65536];
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += (size_t)n;
    close(fd);
    if (total < 12 || memcmp(buf, "HTTP/1.1 200", 12) != 0)
        die("http answer not 200", NULL);
    return total;
}

typedef struct {
    const char *name;
    const char *query;      /* GraphQL text (JSON-safe: no quotes to escape but \") */
    weave_tx_filter filter; /* the same query for the weave directly */
} shape;

int main(void)
{
    const char *e = getenv("BENCH_GW_ITEMS");
    size_t nitems = e ? strtoul(e, NULL, 10) : 20000;
    const char *base = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp";
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ao-bench-gateway-XXXXXX", base);
    if (!mkdtemp(dir))
        die("mkdtemp", NULL);
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 1000;
    o.no_fsync = true;
    ao_error err;
    weave *w;
    if (weave_open(dir, &o, &w, &err))
        die("weave_open", &err);
    crypto_wallet *wl[4];
    char addr[4][AO_ADDRESS_MAX];
    for (int i = 0; i < 4; i++) {
        if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &wl[i], &err))
            die("wallet", &err);
        size_t ol;
        const uint8_t *owner = crypto_wallet_owner(wl[i], &ol);
        uint8_t h[32];
        crypto_sha256(owner, ol, h);
        ao_b64url_encode_to(h, 32, addr[i]);
    }
    static const char *const types[] = { "Message", "Message", "Message", "Process",
                                         "Module", "Scheduler-Location" };
    char an_id[WEAVE_ID_MAX] = "";
    double t0 = now();
    for (size_t i = 0; i < nitems; i++) {
        const char *type = types[i % 6];
        char n[24];
        snprintf(n, sizeof n, "%zu", i);
        item_tag tags[4] = {
            { (const uint8_t *)"Data-Protocol", 13, (const uint8_t *)"ao", 2 },
            { (const uint8_t *)"Type", 4, (const uint8_t *)type, strlen(type) },
            { (const uint8_t *)"Variant", 7, (const uint8_t *)"ao.TN.1", 7 },
            { (const uint8_t *)"N", 1, (const uint8_t *)n, strlen(n) },
        };
        item_fields f = { NULL, NULL, tags, 4, (const uint8_t *)"data data data", 14 };
        ao_buf b;
        ao_buf_init(&b);
        uint8_t id[32];
        if (item_sign(wl[i % 4], &f, &b, id, &err) ||
            weave_put(w, b.data, b.len, WEAVE_PUT_NOVERIFY, NULL, &err))
            die("put", &err);
        if (i == nitems / 2)
            ao_b64url_encode_to(id, 32, an_id);
        ao_buf_free(&b);
    }
    printf("weave of %zu items built in %.1f s\n", nitems, now() - t0);

    const char *ids1[] = { an_id };
    const char *ao_v[] = { "ao" }, *sl_v[] = { "Scheduler-Location" }, *msg_v[] = { "Message" };
    weave_tag_filter sl_tags[2] = { { "Data-Protocol", ao_v, 1 }, { "Type", sl_v, 1 } };
    weave_tag_filter msg_tags[1] = { { "Type", msg_v, 1 } };
    const char *owners[] = { addr[1] };
    char q_ids[512], q_sl[512];
    snprintf(q_ids, sizeof q_ids,
             "{ transactions(ids: [\\\"%s\\\"]) { edges { node { id signature anchor owner "
             "{ address key } tags { name value } recipient } } } }", an_id);
    snprintf(q_sl, sizeof q_sl,
             "{ transactions(owners: [\\\"%s\\\"], tags: [{name: \\\"Data-Protocol\\\", values: "
             "[\\\"ao\\\"]}, {name: \\\"Type\\\", values: [\\\"Scheduler-Location\\\"]}], sort: "
             "HEIGHT_DESC, first: 1) { edges { node { tags { name value } } } } }", addr[1]);
    shape shapes[3];
    memset(shapes, 0, sizeof shapes);
    shapes[0].name = "SU/CU ids (1 row, keys)";
    shapes[0].query = q_ids;
    weave_tx_filter_init(&shapes[0].filter);
    shapes[0].filter.ids = ids1;
    shapes[0].filter.nids = 1;
    shapes[0].filter.fields = WEAVE_META_KEYS;
    shapes[1].name = "Scheduler-Location (owner+2 tags, first 1)";
    shapes[1].query = q_sl;
    weave_tx_filter_init(&shapes[1].filter);
    shapes[1].filter.owners = owners;
    shapes[1].filter.nowners = 1;
    shapes[1].filter.tags = sl_tags;
    shapes[1].filter.ntags = 2;
    shapes[1].filter.first = 1;
    shapes[2].name = "tag Type=Message, first 100, full node";
    shapes[2].query = "{ transactions(tags: [{name: \\\"Type\\\", values: [\\\"Message\\\"]}], "
                      "first: 100) { pageInfo { hasNextPage } edges { cursor node { id anchor "
                      "signature recipient owner { address key } data { size type } tags { name "
                      "value } block { id timestamp height } bundledIn { id } } } } }";
    weave_tx_filter_init(&shapes[2].filter);
    shapes[2].filter.tags = msg_tags;
    shapes[2].filter.ntags = 1;
    shapes[2].filter.first = 100;
    shapes[2].filter.fields = WEAVE_META_KEYS;

    net_gateway *gw;
    net_gateway_options no = { 0 };
    if (net_gateway_start(w, &no, &gw, &err))
        die("gateway", &err);
    uint16_t port = net_gateway_port(gw);

    printf("%-44s %12s %12s %12s %8s %8s\n", "query", "weave us", "graphql us", "http us",
           "gql/weave", "http/gql");
    for (int s = 0; s < 3; s++) {
        const int reps = s == 2 ? 200 : 2000;
        double a = now();
        for (int r = 0; r < reps; r++) {
            weave_tx_page page;
            if (weave_query_transactions(w, &shapes[s].filter, &page, &err))
                die("query", &err);
            if (page.n == 0)
                die("no rows", NULL);
            weave_tx_page_free(&page);
        }
        double t_weave = (now() - a) / reps * 1e6;
        /* the executor takes the query text unescaped */
        char q[1024];
        size_t k = 0;
        for (const char *p = shapes[s].query; *p && k + 1 < sizeof q; p++)
            if (!(p[0] == '\\' && p[1] == '"'))
                q[k++] = *p;
        q[k] = 0;
        a = now();
        for (int r = 0; r < reps; r++) {
            ao_buf out;
            ao_buf_init(&out);
            bool failed;
            if (weave_gql_execute(w, q, k, NULL, 0, NULL, &out, &failed, &err) || failed)
                die("graphql", &err);
            ao_buf_free(&out);
        }
        double t_gql = (now() - a) / reps * 1e6;
        char body[1200];
        snprintf(body, sizeof body, "{\"query\":\"%s\"}", shapes[s].query);
        a = now();
        for (int r = 0; r < reps / 4; r++)
            http_post(port, body);
        double t_http = (now() - a) / (reps / 4) * 1e6;
        printf("%-44s %12.1f %12.1f %12.1f %8.2f %8.2f\n", shapes[s].name, t_weave, t_gql, t_http,
               t_gql / t_weave, t_http / t_gql);
    }
    net_gateway_stop(gw);
    weave_close(w);
    for (int i = 0; i < 4; i++)
        crypto_wallet_free(wl[i]);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
