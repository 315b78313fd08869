/* bench/e2e.c - a whole node (`ao up` as a library, node_start) under load
 * from outside: signed RSA-4096 messages over HTTP through MU, SU and CU to
 * the result. P aos processes each get a small handler (Action=Ping counts
 * the message); M messages, pre-signed round-robin over the processes, are
 * sent by C client threads, each doing POST {MU}/ then GET
 * {CU}/result/{id} until the result is there. Prints messages/s, p50/p99
 * latency (POST start to result), and the CPU time per message split by
 * unit: per-thread CPU (/proc/self/task/TID/schedstat) grouped by thread
 * name (su-writer, cu-worker, mu-worker, {su,cu,mu,gateway}-http), with
 * the in-process calls between units (the ao_node_*_in_*_cpu_us metrics of
 * src/node/node_clients.c) moved from the caller to the callee.
 *
 * The CU runs on the tier `ao up` runs by default, the compiled one (or
 * $AO_WASM_TIER), with the aos module's library built during the setup
 * (AO_WASM_AOT_SYNC=1), not during the timed run.
 *
 * Usage: build/bench/e2e [messages=2000] [processes=50] [clients=32]
 * The peer in the same run: the client's own RSA signing of one message
 * (pre-signed before timing, like a client that signs elsewhere). */
#include <curl/curl.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "item/item.h"
#include "node/node.h"
#include "wasm/wasm.h"

static node_info g_info;
static crypto_wallet *g_user;

typedef struct msg {
    ao_buf raw;
    char id[44];
    const char *pid;
    int64_t lat_us;
    bool ok;
} msg;

static msg *g_msgs;
static size_t g_nmsgs;
static atomic_size_t g_next;
static char (*g_pids)[44];
/* clients keep their connections (and so the CU's per-connection threads)
 * until the main thread has read the CPU times */
static pthread_barrier_t g_done, g_measured;
static atomic_llong g_client_ns;

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    return ao_buf_append(ud, p, size * n) == AO_OK ? size * n : 0;
}

static long http(CURL *c, const char *method, const char *url, const void *body, size_t len,
                 ao_buf *out)
{
    struct curl_slist *h = NULL;
    ao_buf_reset(out);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
        h = curl_slist_append(h, "Content-Type: application/octet-stream");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    long st = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_slist_free_all(h);
    ao_buf_append_byte(out, 0);
    out->len--;
    return st;
}

static void sign(const char *const *kv, size_t n, const char *target, const char *data,
                 ao_buf *out, char id[44])
{
    item_tag tags[12];
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        tags[i].name = (const uint8_t *)kv[i];
        tags[i].name_len = (size_t)(eq - kv[i]);
        tags[i].value = (const uint8_t *)eq + 1;
        tags[i].value_len = strlen(eq + 1);
    }
    ao_buf t;
    ao_buf_init(&t);
    if (target)
        ao_b64url_decode(target, strlen(target), &t, NULL);
    uint8_t anchor[32], raw_id[ITEM_ID_LEN];
    /* a fresh anchor per item (distinct ids for equal fields) */
    static atomic_ulong seq;
    char seed[64];
    int sn = snprintf(seed, sizeof seed, "%lld-%lu", (long long)mono_us(),
                      atomic_fetch_add(&seq, 1));
    crypto_sha256(seed, (size_t)sn, anchor);
    item_fields f = { target ? t.data : NULL, anchor, tags, n, (const uint8_t *)data,
                      strlen(data) };
    ao_buf_init(out);
    ao_error err = { 0 };
    if (item_sign(g_user, &f, out, raw_id, &err) != AO_OK) {
        fprintf(stderr, "item_sign: %s\n", err.msg);
        exit(1);
    }
    ao_b64url_encode_to(raw_id, ITEM_ID_LEN, id);
    ao_buf_free(&t);
}

/* POST to the MU (202), then the result from the CU; true if it has no Error. */
static bool round_trip(CURL *c, const ao_buf *raw, const char *id, const char *pid, ao_buf *b)
{
    char url[512];
    snprintf(url, sizeof url, "%s/", g_info.mu_url);
    long st = http(c, "POST", url, raw->data, raw->len, b);
    if (st != 202) {
        fprintf(stderr, "MU answered %ld: %.200s\n", st, (char *)b->data);
        return false;
    }
    snprintf(url, sizeof url, "%s/result/%s?process-id=%s", g_info.cu_url, id, pid);
    for (int tries = 0; tries < 600; tries++) {
        st = http(c, "GET", url, NULL, 0, b);
        if (st == 200)
            return strstr((char *)b->data, "\"Error\"") == NULL;
        if (st != 202) {
            fprintf(stderr, "CU answered %ld: %.200s\n", st, (char *)b->data);
            return false;
        }
        usleep(5000);
    }
    return false;
}

static void *client_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "e2e-client");
    CURL *c = curl_easy_init();
    ao_buf b;
    ao_buf_init(&b);
    for (;;) {
        size_t i = atomic_fetch_add(&g_next, 1);
        if (i >= g_nmsgs)
            break;
        msg *m = &g_msgs[i];
        int64_t t0 = mono_us();
        m->ok = round_trip(c, &m->raw, m->id, m->pid, &b);
        m->lat_us = mono_us() - t0;
    }
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    atomic_fetch_add(&g_client_ns, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    pthread_barrier_wait(&g_done);
    pthread_barrier_wait(&g_measured);
    ao_buf_free(&b);
    curl_easy_cleanup(c);
    return NULL;
}

static void *signer_main(void *arg)
{
    size_t k = (size_t)(uintptr_t)arg;
    for (size_t i = k; i < g_nmsgs; i += 2) {
        const char *kv[] = { "Data-Protocol=ao", "Variant=ao.TN.1", "Type=Message",
                             "Action=Ping", "SDK=ao-bench" };
        g_msgs[i].pid = g_pids[i % (size_t)atoi(getenv("E2E_NPROCS"))];
        sign(kv, 5, g_msgs[i].pid, "ping", &g_msgs[i].raw, g_msgs[i].id);
    }
    return NULL;
}

/* ---- per-unit CPU ---- */

/* "other": threads no unit names (the weave's writer and block sealer,
 * MHD listeners, the main thread) */
enum { U_MU, U_SU, U_CU, U_GW, U_CLIENT, U_OTHER, U_N };
static const char *unit_names[U_N] = { "MU", "SU", "CU", "gateway", "clients", "weave/other" };

static int unit_of(const char *comm)
{
    if (!strncmp(comm, "mu-", 3)) return U_MU;
    if (!strncmp(comm, "su-", 3)) return U_SU;
    if (!strncmp(comm, "cu-", 3)) return U_CU;
    if (!strncmp(comm, "gateway", 7)) return U_GW;
    if (!strncmp(comm, "e2e-client", 10)) return U_CLIENT;
    return U_OTHER;
}

/* CPU ns of each unit's threads so far (live and exited threads are not
 * both visible: threads here live for the whole run). */
static void cpu_by_unit(int64_t out[U_N])
{
    memset(out, 0, sizeof(int64_t) * U_N);
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[300], comm[64] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fgets(comm, sizeof comm, f))
                comm[strcspn(comm, "\n")] = 0;
            fclose(f);
        }
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
        f = fopen(path, "r");
        long long ns = 0;
        if (f) {
            if (fscanf(f, "%lld", &ns) != 1)
                ns = 0;
            fclose(f);
        }
        if (getenv("E2E_THREADS"))
            fprintf(stderr, "thread %s %s %lld ns\n", e->d_name, comm, ns);
        if (unit_of(comm) != U_CLIENT)   /* clients: their own clock */
            out[unit_of(comm)] += ns;
    }
    closedir(d);
}

static int64_t metric_us(const char *name)
{
    return ao_metric_value(ao_metric_get(name, "CPU us spent in in-process calls", false));
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t nmsgs = argc > 1 ? (size_t)atol(argv[1]) : 2000;
    size_t nprocs = argc > 2 ? (size_t)atol(argv[2]) : 50;
    size_t nclients = argc > 3 ? (size_t)atol(argv[3]) : 32;
    if (!nmsgs || !nprocs || !nclients || nclients > 1024)
        return 2;
    char envn[32];
    snprintf(envn, sizeof envn, "%zu", nprocs);
    setenv("E2E_NPROCS", envn, 1);
    ao_log_configure(AO_LOG_WARN, false);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *tier = getenv("AO_WASM_TIER");
    if (!tier || !*tier)
        tier = "compiled";
    wasm_tier wt;
    ao_error terr = { 0 };
    if (wasm_tier_parse(tier, &wt, &terr) != AO_OK) {
        fprintf(stderr, "%s\n", terr.msg);
        return 2;
    }
    wasm_tier_set_default(wt);
    if (wt == WASM_TIER_COMPILED)
        setenv("AO_WASM_AOT_SYNC", "1", 0);
    printf("CU tier: %s\n", tier);
    char dir[] = "/tmp/ao-bench-e2e-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    ao_error err = { 0 };
    if (crypto_wallet_generate(CRYPTO_KEY_ARWEAVE, &g_user, &err) != AO_OK) {
        fprintf(stderr, "wallet: %s\n", err.msg);
        return 1;
    }
    node_options o = { 0 };
    o.data_dir = dir;
    o.any_ports = true;
    node *n;
    if (node_start(&o, &n, &err) != AO_OK) {
        fprintf(stderr, "node_start: %s\n", err.msg);
        return 1;
    }
    node_get_info(n, &g_info);
    CURL *c = curl_easy_init();
    ao_buf b;
    ao_buf_init(&b);

    /* P processes, each with the Ping handler */
    int64_t t0 = ao_mono_ms();
    g_pids = calloc(nprocs, sizeof *g_pids);
    char module[80], sched[80], auth[80];
    snprintf(module, sizeof module, "Module=%s", g_info.aos_module);
    snprintf(sched, sizeof sched, "Scheduler=%s", g_info.su_address);
    snprintf(auth, sizeof auth, "Authority=%s", g_info.mu_address);
    for (size_t i = 0; i < nprocs; i++) {
        const char *kv[] = { "Data-Protocol=ao", "Variant=ao.TN.1", "Type=Process", module,
                             sched, auth, "App-Name=aos", "Name=e2e" };
        ao_buf raw;
        sign(kv, 8, NULL, " ", &raw, g_pids[i]);
        char url[256];
        snprintf(url, sizeof url, "%s/", g_info.mu_url);
        if (http(c, "POST", url, raw.data, raw.len, &b) != 202) {
            fprintf(stderr, "spawn failed: %s\n", (char *)b.data);
            return 1;
        }
        ao_buf_free(&raw);
    }
    for (size_t i = 0; i < nprocs; i++) {
        const char *kv[] = { "Data-Protocol=ao", "Variant=ao.TN.1", "Type=Message",
                             "Action=Eval", "SDK=ao-bench" };
        ao_buf raw;
        char id[44];
        sign(kv, 5, g_pids[i],
             "Count = 0; Handlers.add('ping', 'Ping', function(msg) Count = Count + 1 end)",
             &raw, id);
        if (!round_trip(c, &raw, id, g_pids[i], &b)) {
            fprintf(stderr, "handler install failed: %.300s\n", (char *)b.data);
            return 1;
        }
        ao_buf_free(&raw);
    }
    printf("setup: %zu aos processes with the handler in %.1f s\n", nprocs,
           (double)(ao_mono_ms() - t0) / 1000.0);

    /* M messages, signed before timing */
    g_nmsgs = nmsgs;
    g_msgs = calloc(nmsgs, sizeof *g_msgs);
    t0 = mono_us();
    pthread_t st[2];
    for (uintptr_t k = 0; k < 2; k++)
        pthread_create(&st[k], NULL, signer_main, (void *)k);
    for (int k = 0; k < 2; k++)
        pthread_join(st[k], NULL);
    double sign_ms = (double)(mono_us() - t0) / 1000.0 * 2 / (double)nmsgs;
    printf("client RSA-4096 signing: %.2f ms CPU a message (not timed below)\n", sign_ms);

    int64_t cpu0[U_N], cpu1[U_N];
    int64_t mu_su0 = metric_us("ao_node_mu_in_su_cpu_us");
    int64_t mu_cu0 = metric_us("ao_node_mu_in_cu_cpu_us");
    int64_t cu_su0 = metric_us("ao_node_cu_in_su_cpu_us");
    pthread_t *cl = calloc(nclients, sizeof *cl);
    cpu_by_unit(cpu0);
    t0 = mono_us();
    pthread_barrier_init(&g_done, NULL, (unsigned)nclients + 1);
    pthread_barrier_init(&g_measured, NULL, (unsigned)nclients + 1);
    for (size_t i = 0; i < nclients; i++)
        pthread_create(&cl[i], NULL, client_main, NULL);
    pthread_barrier_wait(&g_done);
    int64_t wall_us = mono_us() - t0;
    /* the MU finishes each crank after the result is readable: wait for it */
    ao_metric *depth = ao_metric_get("ao_mu_queue_depth", "", true);
    for (int i = 0; i < 2000 && ao_metric_value(depth) > 0; i++)
        usleep(5000);
    cpu_by_unit(cpu1);
    cpu1[U_CLIENT] = atomic_load(&g_client_ns);
    pthread_barrier_wait(&g_measured);
    for (size_t i = 0; i < nclients; i++)
        pthread_join(cl[i], NULL);
    pthread_barrier_destroy(&g_done);
    pthread_barrier_destroy(&g_measured);
    int64_t mu_su = metric_us("ao_node_mu_in_su_cpu_us") - mu_su0;
    int64_t mu_cu = metric_us("ao_node_mu_in_cu_cpu_us") - mu_cu0;
    int64_t cu_su = metric_us("ao_node_cu_in_su_cpu_us") - cu_su0;

    size_t ok = 0;
    int64_t *lat = calloc(nmsgs, sizeof *lat);
    for (size_t i = 0; i < nmsgs; i++) {
        ok += g_msgs[i].ok;
        lat[i] = g_msgs[i].lat_us;
    }
    qsort(lat, nmsgs, sizeof *lat, cmp64);
    double rate = (double)nmsgs / ((double)wall_us / 1e6);
    printf("e2e: %zu messages, %zu processes, %zu clients: %.1f s, %.0f msgs/s, "
           "p50 %.1f ms, p99 %.1f ms, max %.1f ms, %zu ok\n",
           nmsgs, nprocs, nclients, (double)wall_us / 1e6, rate, lat[nmsgs / 2] / 1000.0,
           lat[(nmsgs * 99) / 100] / 1000.0, lat[nmsgs - 1] / 1000.0, ok);

    double us[U_N];
    for (int u = 0; u < U_N; u++)
        us[u] = (double)(cpu1[u] - cpu0[u]) / 1000.0;
    /* in-process calls run on the caller's thread: move them to the callee */
    us[U_MU] -= (double)(mu_su + mu_cu);
    us[U_SU] += (double)(mu_su + cu_su);
    us[U_CU] += (double)mu_cu - (double)cu_su;
    double total = 0;   /* the node's CPU: every unit but the bench's clients */
    for (int u = 0; u < U_N; u++)
        if (u != U_CLIENT)
            total += us[u];
    printf("CPU a message (ms, %% of the node's):");
    for (int u = 0; u < U_N; u++)
        printf(" %s %.2f (%.0f%%)", unit_names[u], us[u] / 1000.0 / (double)nmsgs,
               total > 0 ? 100.0 * us[u] / total : 0.0);
    printf("; node %.2f ms a message, so %.0f msgs/s would fill 2 idle cores\n",
           total / 1000.0 / (double)nmsgs, total > 0 ? 2e6 * (double)nmsgs / total : 0.0);
    printf("peer: client RSA signing %.2f ms vs node CPU %.2f ms a message (ratio %.2fx)\n",
           sign_ms, total / 1000.0 / (double)nmsgs,
           sign_ms > 0 ? total / 1000.0 / (double)nmsgs / sign_ms : 0.0);

    for (size_t i = 0; i < nmsgs; i++)
        ao_buf_free(&g_msgs[i].raw);
    free(g_msgs);
    free(lat);
    free(cl);
    free(g_pids);
    ao_buf_free(&b);
    curl_easy_cleanup(c);
    node_stop(n);
    crypto_wallet_free(g_user);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    curl_global_cleanup();
    return ok == nmsgs ? 0 : 1;
}
