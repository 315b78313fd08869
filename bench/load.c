/* load.c - load test of a whole node: runs `ao up` as a child process and
 * drives it with many HTTP clients on loopback (one keep-alive libcurl
 * handle each). The request mix, per client in turn: an Eval posted to the
 * MU (signed by the client; the MU forwards it to the SU, the CU evaluates
 * it, the MU cranks the result), GET CU /result of an evaluated message,
 * GET SU /{pid}/latest, GET gateway /info.
 *
 * Phase 1 (LOAD_MAX_SECONDS, default 3) runs unthrottled to measure the
 * maximum request rate, counting the time the MU then takes to finish what
 * it accepted (its ao_mu_queue_depth back to 0); phase 2 (LOAD_SECONDS, default 10; the acceptance
 * run is 600) runs at LOAD_FRACTION (default 0.8) of it. Every second it
 * samples the node's RSS and open descriptors from /proc and prints a line
 * now and then; at the end: throughput, error count, and the growth of RSS
 * and descriptors from the end of the first tenth of phase 2 to the end,
 * and how long the MU's backlog takes to drain after it.
 * Clients: LOAD_CLIENTS (default 16). Argument 1: the build folder. */
#include <cJSON.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "item/item.h"

#define NPROC 4

static char g_dir[64] = "/tmp/ao-load-XXXXXX";
static pid_t g_node = -1;
static char g_gw[128], g_su[128], g_cu[128], g_mu[128], g_module[64], g_su_addr[64], g_mu_addr[64];
static crypto_wallet *g_user;
static char g_pids[NPROC][44], g_first_msg[NPROC][44];

static volatile int g_phase;            /* 0 stop, 1 max, 2 throttled, 3 paused */
static double g_rate_per_client;        /* phase 2 */
static uint64_t g_done[3], g_errors[3], g_busy[3];
static pthread_mutex_t g_mu_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    ao_buf *b = ud;
    return ao_buf_append(b, p, size * n) == AO_OK ? size * n : 0;
}

static long req(CURL *c, const char *method, const char *url, const void *body, size_t len, ao_buf *out)
{
    ao_buf_reset(out);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    struct curl_slist *h = NULL;
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
        h = curl_slist_append(h, "Content-Type: application/octet-stream");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    } else {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    }
    long st = -1;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_slist_free_all(h);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    return st;
}

static int sign(const char *const *kv, size_t n, const char *target, const char *data, ao_buf *out, char id[44])
{
    item_tag tags[12];
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        tags[i] = (item_tag){(const uint8_t *)kv[i], (size_t)(eq - kv[i]), (const uint8_t *)eq + 1, strlen(eq + 1)};
    }
    ao_buf t;
    ao_buf_init(&t);
    if (target && ao_b64url_decode(target, strlen(target), &t, NULL) != AO_OK) return -1;
    static uint64_t seq;
    uint8_t anchor[32];
    char seed[64];
    int sn = snprintf(seed, sizeof seed, "%d-%llu", (int)getpid(),
                      (unsigned long long)__atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
    crypto_sha256(seed, (size_t)sn, anchor);
    item_fields f = {target ? t.data : NULL, anchor, tags, n, (const uint8_t *)data, strlen(data)};
    uint8_t raw_id[ITEM_ID_LEN];
    ao_buf_init(out);
    int rc = item_sign(g_user, &f, out, raw_id, NULL);
    ao_b64url_encode_to(raw_id, ITEM_ID_LEN, id);
    ao_buf_free(&t);
    return rc;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int node_up(const char *ao)
{
    if (!mkdtemp(g_dir)) return -1;
    char log[128];
    snprintf(log, sizeof log, "%s/up.log", g_dir);
    g_node = fork();
    if (g_node == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
        execl(ao, ao, "up", "--data", g_dir, "--any-ports", (char *)NULL);
        _exit(127);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/node.json", g_dir);
    CURL *c = curl_easy_init();
    ao_buf b;
    ao_buf_init(&b);
    for (int i = 0; i < 1200; i++) {
        usleep(50000);
        ao_buf f;
        ao_buf_init(&f);
        if (ao_file_read(path, &f, NULL) != AO_OK) { ao_buf_free(&f); continue; }
        cJSON *j = cJSON_ParseWithLength((const char *)f.data, f.len);
        ao_buf_free(&f);
        const cJSON *p = cJSON_GetObjectItem(j, "pid");
        if (j && cJSON_IsNumber(p) && (pid_t)p->valuedouble == g_node && jstr(j, "mu")) {
            snprintf(g_gw, sizeof g_gw, "%s", jstr(j, "gateway"));
            snprintf(g_su, sizeof g_su, "%s", jstr(j, "su"));
            snprintf(g_cu, sizeof g_cu, "%s", jstr(j, "cu"));
            snprintf(g_mu, sizeof g_mu, "%s", jstr(j, "mu"));
            snprintf(g_module, sizeof g_module, "%s", jstr(j, "aosModule"));
            snprintf(g_su_addr, sizeof g_su_addr, "%s", jstr(j, "suAddress"));
            snprintf(g_mu_addr, sizeof g_mu_addr, "%s", jstr(j, "muAddress"));
            cJSON_Delete(j);
            char url[160];
            snprintf(url, sizeof url, "%s/", g_mu);
            if (req(c, "GET", url, NULL, 0, &b) == 200) { ao_buf_free(&b); curl_easy_cleanup(c); return 0; }
            continue;
        }
        cJSON_Delete(j);
    }
    ao_buf_free(&b);
    curl_easy_cleanup(c);
    return -1;
}

static void node_down(void)
{
    if (g_node > 0) {
        kill(g_node, SIGTERM);
        int st;
        waitpid(g_node, &st, 0);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
}

static long post_mu(CURL *c, const char *const *kv, size_t n, const char *target, const char *data, char id[44],
                    ao_buf *out)
{
    ao_buf raw;
    if (sign(kv, n, target, data, &raw, id) != AO_OK) return -1;
    char url[160];
    snprintf(url, sizeof url, "%s/", g_mu);
    long st = req(c, "POST", url, raw.data, raw.len, out);
    ao_buf_free(&raw);
    return st;
}

static long cu_result_wait(CURL *c, const char *msg, const char *pid, ao_buf *out)
{
    char url[300];
    snprintf(url, sizeof url, "%s/result/%s?process-id=%s", g_cu, msg, pid);
    long st = -1;
    for (int i = 0; i < 600; i++) {
        st = req(c, "GET", url, NULL, 0, out);
        if (st != 202) break;
        usleep(100000);
    }
    return st;
}

static int setup_processes(void)
{
    CURL *c = curl_easy_init();
    ao_buf b;
    ao_buf_init(&b);
    char module[80], sched[80], auth[80];
    snprintf(module, sizeof module, "Module=%s", g_module);
    snprintf(sched, sizeof sched, "Scheduler=%s", g_su_addr);
    snprintf(auth, sizeof auth, "Authority=%s", g_mu_addr);
    for (int i = 0; i < NPROC; i++) {
        const char *kv[] = {"Data-Protocol=ao", "Variant=ao.TN.1", "Type=Process", module, sched, auth,
                            "Name=load"};
        if (post_mu(c, kv, 7, NULL, " ", g_pids[i], &b) != 202) return -1;
        const char *ev[] = {"Data-Protocol=ao", "Variant=ao.TN.1", "Type=Message", "Action=Eval"};
        if (post_mu(c, ev, 4, g_pids[i], "N = 0; return 'ready'", g_first_msg[i], &b) != 202) return -1;
        if (cu_result_wait(c, g_first_msg[i], g_pids[i], &b) != 200) return -1;
    }
    ao_buf_free(&b);
    curl_easy_cleanup(c);
    return 0;
}

static void *client(void *arg)
{
    int id = (int)(intptr_t)arg;
    CURL *c = curl_easy_init();
    ao_buf b;
    ao_buf_init(&b);
    uint64_t k = 0;
    int64_t t2 = 0;
    uint64_t k2 = 0;
    while (g_phase) {
        int ph = g_phase;
        if (ph == 3) {
            usleep(10000);
            continue;
        }
        if (ph == 2) {
            if (!t2) { t2 = ao_mono_ms(); k2 = 0; }
            int64_t due = t2 + (int64_t)(1000.0 * (double)k2 / g_rate_per_client);
            int64_t now = ao_mono_ms();
            if (due > now) usleep((useconds_t)(due - now) * 1000);
            k2++;
        }
        int p = (int)((k + (uint64_t)id) % NPROC);
        char url[300];
        long st;
        switch (k % 4) {
        case 0: {
            const char *ev[] = {"Data-Protocol=ao", "Variant=ao.TN.1", "Type=Message", "Action=Eval"};
            char mid[44];
            st = post_mu(c, ev, 4, g_pids[p], "N = N + 1; return N", mid, &b);
            break;
        }
        case 1:
            snprintf(url, sizeof url, "%s/result/%s?process-id=%s", g_cu, g_first_msg[p], g_pids[p]);
            st = req(c, "GET", url, NULL, 0, &b);
            break;
        case 2:
            snprintf(url, sizeof url, "%s/%s/latest", g_su, g_pids[p]);
            st = req(c, "GET", url, NULL, 0, &b);
            break;
        default:
            snprintf(url, sizeof url, "%s/info", g_gw);
            st = req(c, "GET", url, NULL, 0, &b);
        }
        k++;
        pthread_mutex_lock(&g_mu_lock);
        g_done[ph]++;
        if (st < 200 || st >= 300) g_errors[ph]++;
        if (st == 202 && k % 4 != 1) g_busy[ph]++;
        pthread_mutex_unlock(&g_mu_lock);
        if ((st < 200 || st >= 300) && g_errors[ph] <= 5)
            fprintf(stderr, "load: request kind %llu answered %ld: %.200s\n", (unsigned long long)((k - 1) % 4), st,
                    b.data ? (const char *)b.data : "");
    }
    ao_buf_free(&b);
    curl_easy_cleanup(c);
    return NULL;
}

static long proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

static int proc_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* The MU's queue of jobs not yet done (ao_mu_queue_depth in its /metrics),
 * or -1 if it cannot be read. */
static long mu_depth(CURL *c, ao_buf *b)
{
    char url[200];
    snprintf(url, sizeof url, "%s/metrics", g_mu);
    if (req(c, "GET", url, NULL, 0, b) != 200 || !b->data)
        return -1;
    ao_buf_append(b, "", 1);
    const char *p = strstr((const char *)b->data, "\nao_mu_queue_depth ");
    return p ? atol(p + strlen("\nao_mu_queue_depth ")) : -1;
}

/* Waits until the MU has no job left (every accepted Eval evaluated and
 * cranked); returns the milliseconds it took, or -1 after 10 minutes. */
static int64_t mu_drain(CURL *c, ao_buf *b)
{
    int64_t t = ao_mono_ms();
    while (ao_mono_ms() - t < 600000) {
        if (mu_depth(c, b) == 0)
            return ao_mono_ms() - t;
        usleep(20000);
    }
    return -1;
}

static double envd(const char *name, double def)
{
    const char *v = getenv(name);
    return v && *v ? atof(v) : def;
}

int main(int argc, char **argv)
{
    const char *build = argc > 1 ? argv[1] : getenv("AO_BUILD") ? getenv("AO_BUILD") : "build";
    char ao[512];
    snprintf(ao, sizeof ao, "%s/ao", build);
    int clients = (int)envd("LOAD_CLIENTS", 16);
    double max_s = envd("LOAD_MAX_SECONDS", 3), secs = envd("LOAD_SECONDS", 10), frac = envd("LOAD_FRACTION", 0.8);
    if (clients < 1 || clients > 1024 || secs < 1 || max_s < 1 || frac <= 0 || frac > 1) {
        fprintf(stderr, "load: bad LOAD_* settings\n");
        return 2;
    }
    ao_log_configure(AO_LOG_WARN, false);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_user, NULL) != AO_OK) return 1;
    if (node_up(ao) != 0) {
        fprintf(stderr, "load: ao up did not start (%s/up.log)\n", g_dir);
        node_down();
        return 1;
    }
    if (setup_processes() != 0) {
        fprintf(stderr, "load: could not set up the processes\n");
        node_down();
        return 1;
    }
    printf("load: %d clients, node pid %d; mix: MU Eval post, CU /result, SU latest, gateway /info\n", clients,
           (int)g_node);
    pthread_t *t = calloc((size_t)clients, sizeof *t);
    /* phase 1: the maximum */
    g_phase = 1;
    int64_t t0 = ao_mono_ms();
    for (int i = 0; i < clients; i++) pthread_create(&t[i], NULL, client, (void *)(intptr_t)i);
    usleep((useconds_t)(max_s * 1e6));
    /* The MU answers an Eval before it is evaluated and cranked: the
     * maximum counts the time until that backlog is gone, so that it is a
     * rate the node sustains, not one it only takes in. */
    g_phase = 3;
    pthread_mutex_lock(&g_mu_lock);
    uint64_t max_n = g_done[1];
    pthread_mutex_unlock(&g_mu_lock);
    CURL *mc = curl_easy_init();
    ao_buf mb;
    ao_buf_init(&mb);
    int64_t drain_ms = mu_drain(mc, &mb);
    double max_rps = (double)max_n * 1000.0 / (double)(ao_mono_ms() - t0);
    g_rate_per_client = max_rps * frac / clients;
    printf("load: max %.0f req/s over %.0f s + %.1f s to drain the MU (%llu requests, %llu errors)\n", max_rps,
           max_s, (double)drain_ms / 1000.0, (unsigned long long)max_n, (unsigned long long)g_errors[1]);
    /* phase 2: a fraction of it, sampled every second */
    g_phase = 2;
    int64_t t1 = ao_mono_ms();
    long rss0 = 0, rss_peak = 0, rss_end = 0;
    int fd0 = 0, fd_peak = 0, fd_end = 0;
    int every = (int)(secs / 20) > 0 ? (int)(secs / 20) : 1;
    printf("load: %.0f%% of max = %.0f req/s for %.0f s\n", frac * 100, max_rps * frac, secs);
    printf("%8s %10s %8s %10s %6s %9s\n", "t(s)", "requests", "errors", "rss(kB)", "fds", "mu queue");
    for (int s = 1; s <= (int)secs; s++) {
        usleep(1000000 - (useconds_t)((ao_mono_ms() - t1) % 1000) * 1000);
        long rss = proc_rss_kb(g_node);
        int fds = proc_fds(g_node);
        if (rss > rss_peak) rss_peak = rss;
        if (fds > fd_peak) fd_peak = fds;
        if (s == (int)(secs / 10 > 1 ? secs / 10 : 1)) { rss0 = rss; fd0 = fds; }
        rss_end = rss;
        fd_end = fds;
        if (s % every == 0 || s == (int)secs) {
            pthread_mutex_lock(&g_mu_lock);
            printf("%8d %10llu %8llu %10ld %6d %9ld\n", s, (unsigned long long)g_done[2],
                   (unsigned long long)g_errors[2], rss, fds, mu_depth(mc, &mb));
            pthread_mutex_unlock(&g_mu_lock);
            fflush(stdout);
        }
    }
    g_phase = 0;
    double el = (double)(ao_mono_ms() - t1) / 1000.0;
    for (int i = 0; i < clients; i++) pthread_join(t[i], NULL);
    free(t);
    int64_t drain_end = mu_drain(mc, &mb);
    curl_easy_cleanup(mc);
    ao_buf_free(&mb);
    double rps = (double)g_done[2] / el;
    printf("load: throttled %.0f req/s (%.2fx of max), %llu requests, %llu errors (%.4f%%), %llu MU busy\n", rps,
           rps / max_rps, (unsigned long long)g_done[2], (unsigned long long)g_errors[2],
           g_done[2] ? 100.0 * (double)g_errors[2] / (double)g_done[2] : 0.0, (unsigned long long)g_busy[2]);
    printf("load: RSS %ld kB after the first tenth -> %ld kB at the end (growth %+.1f%%, peak %ld kB)\n", rss0,
           rss_end, rss0 ? 100.0 * (double)(rss_end - rss0) / (double)rss0 : 0.0, rss_peak);
    printf("load: descriptors %d -> %d (peak %d)\n", fd0, fd_end, fd_peak);
    printf("load: MU backlog drained %.1f s after the end\n", (double)drain_end / 1000.0);
    node_down();
    crypto_wallet_free(g_user);
    curl_global_cleanup();
    return g_errors[2] ? 1 : 0;
}
