/*
 * aos_state.c - benchmark of what the Compute Unit needs from src/host on
 * the aos module (build/aos.wasm), token process of tests/interop/aos_log.js
 * (spawn, token blueprint, a mint of 1,000 holders, then Transfers):
 *   1. messages/s through host_process_handle with its per-message
 *      rollback mark (an engine transaction: cost per page written), and
 *      the peer in the same run: the same plus a copy of the whole memory
 *      before each message (what the rollback cost before transactions);
 *   2. checkpoint of the process after the log: snapshot bytes and time,
 *      cold resume (host_process_new_from_snapshot) time, against the peer
 *      host_process_new + host_process_restore, and new_from_memory;
 *   3. resident memory per live aos process: N processes each sent one
 *      message (fresh spawns), and N resumed from the token checkpoint.
 * Arguments: [LOG] (default: node tests/interop/aos_log.js transfers 1000
 * 3000). Env: AOS_STATE_PROCS (default 500) processes for part 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "base/base.h"
#include "host/host.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

typedef struct msgs {
    char **msg, **env;
    size_t n, cap;
} msgs;

static int load_log(FILE *f, msgs *m)
{
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *a = cJSON_Parse(line);
        if (!a || cJSON_GetArraySize(a) != 2) { cJSON_Delete(a); continue; }
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 1024;
            m->msg = realloc(m->msg, m->cap * sizeof *m->msg);
            m->env = realloc(m->env, m->cap * sizeof *m->env);
            if (!m->msg || !m->env) return -1;
        }
        m->msg[m->n] = cJSON_PrintUnformatted(cJSON_GetArrayItem(a, 0));
        m->env[m->n] = cJSON_PrintUnformatted(cJSON_GetArrayItem(a, 1));
        m->n++;
        cJSON_Delete(a);
    }
    free(line);
    return m->n ? 0 : -1;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Run every message; with copy_peer, copy the whole memory before each.
 * Returns seconds, or -1. */
static double run_log(host_module *mod, const msgs *m, bool copy_peer, host_process **keep,
                      size_t *errors, double *cpu)
{
    host_process *p = NULL;
    ao_error err = {0};
    if (host_process_new(mod, NULL, &p, &err) != AO_OK) {
        fprintf(stderr, "aos_state: %s\n", err.msg);
        return -1;
    }
    uint8_t *copy = NULL;
    size_t copy_cap = 0;
    *errors = 0;
    double t0 = now_s(), c0 = cpu_s();
    for (size_t i = 0; i < m->n; i++) {
        if (copy_peer) {
            size_t len;
            const uint8_t *mem = host_process_memory(p, &len);
            if (len > copy_cap) {
                free(copy);
                copy = malloc(len);
                copy_cap = len;
            }
            if (copy) memcpy(copy, mem, len);
        }
        host_result r;
        if (host_process_handle(p, m->msg[i], m->env[i], &r, &err) != AO_OK) {
            fprintf(stderr, "aos_state: handle: %s\n", err.msg);
            host_process_free(p);
            free(copy);
            return -1;
        }
        if (r.error) (*errors)++;
        host_result_free(&r);
    }
    double dt = now_s() - t0;
    *cpu = cpu_s() - c0;
    free(copy);
    if (keep) *keep = p;
    else host_process_free(p);
    return dt;
}

/* Median (and 90th percentile) of n timings of one step, in ms. */
typedef enum { STEP_SNAPSHOT, STEP_FROM_SNAPSHOT, STEP_NEW_RESTORE, STEP_FROM_MEMORY } step;

static int time_step(step s, host_module *mod, host_process *p, const ao_buf *snap,
                     const uint8_t *mem, size_t len, int n, double *med, double *p90)
{
    double *t = calloc((size_t)n, sizeof *t);
    if (!t) return -1;
    for (int i = 0; i < n; i++) {
        host_process *q = NULL;
        ao_buf b;
        ao_buf_init(&b);
        int rc;
        double t0 = now_s();
        switch (s) {
        case STEP_SNAPSHOT: rc = host_process_snapshot(p, &b, NULL); break;
        case STEP_FROM_SNAPSHOT:
            rc = host_process_new_from_snapshot(mod, NULL, snap->data, snap->len, &q, NULL);
            break;
        case STEP_NEW_RESTORE:
            rc = host_process_new(mod, NULL, &q, NULL);
            if (rc == AO_OK) rc = host_process_restore(q, snap->data, snap->len, NULL);
            break;
        default: rc = host_process_new_from_memory(mod, NULL, mem, len, &q, NULL); break;
        }
        t[i] = (now_s() - t0) * 1e3;
        host_process_free(q);
        ao_buf_free(&b);
        if (rc != AO_OK) { free(t); return -1; }
    }
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    *med = t[n / 2];
    *p90 = t[(n * 9) / 10];
    free(t);
    return 0;
}

/* RSS per process of n live processes made by `make` and each sent msg. */
static double rss_per_process(host_module *mod, const ao_buf *snap, const char *msg,
                              const char *env, int n, double *secs)
{
    host_process **ps = calloc((size_t)n, sizeof *ps);
    if (!ps) return -1;
    long before = rss_kib();
    double t0 = now_s();
    int made = 0;
    for (; made < n; made++) {
        int rc = snap ? host_process_new_from_snapshot(mod, NULL, snap->data, snap->len, &ps[made], NULL)
                      : host_process_new(mod, NULL, &ps[made], NULL);
        if (rc != AO_OK) break;
        host_result r;
        if (host_process_handle(ps[made], msg, env, &r, NULL) != AO_OK) { made++; break; }
        host_result_free(&r);
    }
    *secs = now_s() - t0;
    long after = rss_kib();
    for (int i = 0; i < made; i++) host_process_free(ps[i]);
    free(ps);
    if (made < n) {
        fprintf(stderr, "aos_state: only %d of %d processes could be made\n", made, n);
        return -1;
    }
    return (double)(after - before) / n;
}

int main(int argc, char **argv)
{
    msgs m = {0};
    FILE *f = argc > 1 ? fopen(argv[1], "r")
                       : popen("node tests/interop/aos_log.js transfers 1000 3000", "r");
    if (!f || load_log(f, &m) != 0) {
        fprintf(stderr, "aos_state: no message log (node, or argument 1)\n");
        return 1;
    }
    if (argc > 1) fclose(f); else pclose(f);
    ao_buf wasm;
    ao_buf_init(&wasm);
    ao_error err = {0};
    host_module *mod = NULL;
    if (ao_file_read("build/aos.wasm", &wasm, &err) != AO_OK ||
        host_module_new(wasm.data, wasm.len, NULL, &mod, &err) != AO_OK) {
        fprintf(stderr, "aos_state: build/aos.wasm: %s\n", err.msg);
        return 1;
    }
    /* 1. throughput */
    size_t e1 = 0, e2 = 0;
    host_process *p = NULL;
    double cpu_peer, cpu_ours;
    double peer = run_log(mod, &m, true, NULL, &e2, &cpu_peer);
    double ours = run_log(mod, &m, false, &p, &e1, &cpu_ours);
    if (ours < 0 || peer < 0) return 1;
    printf("aos token log: %zu messages (%zu Errors)\n", m.n, e1);
    printf("%-44s %8s %8s %10s %10s\n", "run (one process, whole log)", "wall s", "CPU s", "msg/s wall",
           "msg/s CPU");
    printf("%-44s %8.2f %8.2f %10.0f %10.0f\n", "rollback mark by transaction (host now)", ours,
           cpu_ours, m.n / ours, m.n / cpu_ours);
    printf("%-44s %8.2f %8.2f %10.0f %10.0f\n", "peer: + whole-memory copy per message", peer,
           cpu_peer, m.n / peer, m.n / cpu_peer);
    printf("ratio transaction/copy (CPU time): %.2fx\n", cpu_ours / cpu_peer);

    /* 2. checkpoint and cold resume */
    size_t len;
    const uint8_t *mem = host_process_memory(p, &len);
    size_t nz = 0;
    for (size_t off = 0; off < len; off += 4096) {
        for (size_t k = 0; k < 4096; k++)
            if (mem[off + k]) { nz++; break; }
    }
    uint8_t *image = malloc(len);
    if (!image) return 1;
    memcpy(image, mem, len);
    ao_buf snap;
    ao_buf_init(&snap);
    if (host_process_snapshot(p, &snap, &err) != AO_OK) {
        fprintf(stderr, "aos_state: snapshot: %s\n", err.msg);
        return 1;
    }
    double s_med, s_90, r_med, r_90, n_med, n_90, m_med, m_90;
    if (time_step(STEP_SNAPSHOT, mod, p, NULL, NULL, 0, 21, &s_med, &s_90) ||
        time_step(STEP_FROM_SNAPSHOT, mod, NULL, &snap, NULL, 0, 51, &r_med, &r_90) ||
        time_step(STEP_NEW_RESTORE, mod, NULL, &snap, NULL, 0, 21, &n_med, &n_90) ||
        time_step(STEP_FROM_MEMORY, mod, NULL, NULL, image, len, 21, &m_med, &m_90)) {
        fprintf(stderr, "aos_state: checkpoint steps failed\n");
        return 1;
    }
    /* the resumed process answers the next message like the original */
    host_process *q = NULL;
    host_result ra, rb;
    const char *next = m.msg[m.n - 1], *nenv = m.env[m.n - 1];
    if (host_process_new_from_snapshot(mod, NULL, snap.data, snap.len, &q, &err) != AO_OK ||
        host_process_handle(q, next, nenv, &ra, &err) != AO_OK ||
        host_process_handle(p, next, nenv, &rb, &err) != AO_OK) {
        fprintf(stderr, "aos_state: resume: %s\n", err.msg);
        return 1;
    }
    bool same = strcmp(ra.json, rb.json) == 0;
    host_result_free(&ra);
    host_result_free(&rb);
    host_process_free(q);
    printf("checkpoint after the log: memory %zu bytes, %zu non-zero 4 KiB units (%.1f MiB); "
           "resumed process answers like the original: %s\n",
           len, nz, nz * 4096.0 / 1048576, same ? "yes" : "NO");
    printf("%-48s %9s %9s\n", "step (ms)", "median", "p90");
    printf("%-48s %9.2f %9.2f   (%zu bytes)\n", "host_process_snapshot", s_med, s_90, snap.len);
    printf("%-48s %9.2f %9.2f\n", "cold resume: host_process_new_from_snapshot", r_med, r_90);
    printf("%-48s %9.2f %9.2f\n", "peer: host_process_new + host_process_restore", n_med, n_90);
    printf("%-48s %9.2f %9.2f\n", "host_process_new_from_memory (image)", m_med, m_90);
    printf("ratio cold resume / (new + restore): %.2fx\n", r_med / n_med);

    /* 3. resident memory per live process */
    const char *np = getenv("AOS_STATE_PROCS");
    int n = np ? atoi(np) : 500;
    if (n < 1) n = 1;
    double t_fresh = 0, t_res = 0;
    double kf = rss_per_process(mod, NULL, m.msg[1], m.env[1], n, &t_fresh);
    double kr = rss_per_process(mod, &snap, next, nenv, n, &t_res);
    if (kf < 0 || kr < 0) return 1;
    printf("%d live processes, each sent one message:\n", n);
    printf("  fresh spawns (Eval):            %7.0f KiB RSS per process, %.2f ms per spawn+message\n",
           kf, t_fresh * 1e3 / n);
    printf("  resumed token state (Transfer): %7.0f KiB RSS per process, %.2f ms per resume+message\n",
           kr, t_res * 1e3 / n);
    printf("  -> processes in 2 GiB: %.0f fresh, %.0f token (1,000 holders)\n",
           2.0 * 1048576 / kf, 2.0 * 1048576 / kr);
    ao_buf_free(&snap);
    free(image);
    host_process_free(p);
    host_module_free(mod);
    ao_buf_free(&wasm);
    for (size_t i = 0; i < m.n; i++) { free(m.msg[i]); free(m.env[i]); }
    free(m.msg);
    free(m.env);
    return same ? 0 : 1;
}
