/*
 * cu_memory.c - the CU's memory bound (issue #7, acceptance 3, scaled by
 * env): N aos processes (CU_MEM_PROCS, default 1000), each spawned and sent
 * one Eval, through one CU with memory_budget CU_MEM_BUDGET_MB (default
 * 256) and 2 workers. Prints the peak resident size of this program
 * (getrusage) against the budget, the CU's live bytes, evictions and
 * checkpoints, and the rate. The peer: the same processes kept all live
 * (no eviction) would need N x the instance size, printed for comparison.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cu/cu_fake_su.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

int main(void)
{
    int n = getenv("CU_MEM_PROCS") ? atoi(getenv("CU_MEM_PROCS")) : 1000;
    long budget_mb = getenv("CU_MEM_BUDGET_MB") ? atol(getenv("CU_MEM_BUDGET_MB")) : 256;
    ao_log_configure(AO_LOG_WARN, false);
    char dir[64] = "/tmp/ao-cu-mem-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char d[128];
    snprintf(d, sizeof d, "%s/weave", dir);
    weave *w = NULL;
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = 0;
    wo.no_fsync = true;
    if (weave_open(d, &wo, &w, NULL) != AO_OK) return 1;
    weave_client data;
    weave_client_local(w, &data);
    crypto_wallet *owner = NULL, *cuw = NULL;
    crypto_wallet_generate(CRYPTO_KEY_ED25519, &owner, NULL);
    crypto_wallet_generate(CRYPTO_KEY_ED25519, &cuw, NULL);
    char module[44];
    if (fsu_put_module(w, owner, "emscripten-3.1.6", "1-gb", NULL, module) != 0) return 1;
    fsu su;
    fsu_init(&su);
    char (*pids)[44] = calloc((size_t)n, 44), (*ids)[44] = calloc((size_t)n, 44);
    int64_t ts = 1700000000000LL;
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "p%d", i);
        ktag pk[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Process"}, {"Module", module},
                     {"Scheduler", "SU"}, {"Name", name}, {NULL, NULL}};
        ktag mk[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"}, {"Action", "Eval"},
                     {NULL, NULL}};
        ao_buf raw;
        ao_buf_init(&raw);
        fsu_sign(owner, pk, NULL, "", 0, &raw);
        fsu_add_process(&su, raw.data, raw.len, ++ts, 3, pids[i]);
        ao_buf_reset(&raw);
        fsu_sign(owner, mk, pids[i], "X = 1; return Name", 18, &raw);
        fsu_add_message(&su, pids[i], raw.data, raw.len, ++ts, 3, ids[i]);
        ao_buf_free(&raw);
    }
    snprintf(d, sizeof d, "%s/cu", dir);
    cu_options o;
    memset(&o, 0, sizeof o);
    o.dir = d;
    o.wallet = cuw;
    o.su = fsu_client(&su);
    o.data = data;
    o.threads = 2;
    o.memory_budget = (uint64_t)budget_mb << 20;
    cu *c = NULL;
    ao_error err = {0};
    if (cu_open(&o, &c, &err) != AO_OK) { fprintf(stderr, "cu_open: %s\n", err.msg); return 1; }
    long rss0 = rss_mb();
    double t0 = now_s();
    uint64_t max_live = 0;
    for (int i = 0; i < n; i++) {
        ao_buf b;
        ao_buf_init(&b);
        if (cu_result(c, ids[i], pids[i], true, &b, &err) != AO_OK) {
            fprintf(stderr, "process %d: %s\n", i, err.msg);
            return 1;
        }
        ao_buf_free(&b);
        cu_stats st;
        cu_get_stats(c, &st);
        if (st.live_bytes > max_live) max_live = st.live_bytes;
    }
    double t = now_s() - t0;
    cu_stats st;
    cu_get_stats(c, &st);
    printf("cu memory: %d aos processes, each spawned and sent one Eval, budget %ld MiB, 2 workers\n", n, budget_mb);
    printf("%-44s %10.2f s (%.0f processes/s, %.0f msgs/s)\n", "time", t, n / t, 2 * n / t);
    printf("%-44s %10llu MiB (now %llu MiB in %llu processes)\n", "peak live instance memory (CU count)",
           (unsigned long long)(max_live >> 20), (unsigned long long)(st.live_bytes >> 20),
           (unsigned long long)st.live_processes);
    printf("%-44s %10ld MiB (before evaluating: %ld MiB)\n", "peak resident size of the program", rss_mb(), rss0);
    printf("%-44s %10llu / %llu\n", "evictions / checkpoints", (unsigned long long)st.evictions,
           (unsigned long long)st.checkpoints);
    printf("%-44s %10llu MiB\n", "all live, no budget (N x 16 MiB instances)", (unsigned long long)n * 16);
    cu_close(c);
    fsu_free(&su);
    weave_close(w);
    crypto_wallet_free(owner);
    crypto_wallet_free(cuw);
    free(pids);
    free(ids);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
