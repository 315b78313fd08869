/*
 * host_aos.c - benchmark of src/host running the aos modules on the
 * project's engine, against native Lua 5.3 (Debian's lua5.3) doing the same
 * Lua work in the same run:
 *   - one message per workload through build/aos-test.wasm (Eval of the
 *     workload), time per message, best of 3 runs;
 *   - the same workload as a function in lua5.3, timed with os.clock;
 *   - the ratio (module on the engine / native); engine times include the
 *     per-message cost (JSON, loader, the memory copy for rollback), shown
 *     alone by the "empty message" row;
 *   - an aos message (build/aos.wasm: an Eval from the owner) per second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "host/host.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const struct { const char *name, *code; } WORK[] = {
    {"table fill+sum 100k", "local t = {} for i = 1, 100000 do t[i] = i * 2 end "
                            "local s = 0 for i = 1, #t do s = s + t[i] end return s"},
    {"string build 20k", "local p = {} for i = 1, 20000 do p[#p + 1] = tostring(i) .. ',' end "
                         "return #table.concat(p)"},
    {"json encode/decode", "local j = require('json') local t = {} for i = 1, 2000 do "
                           "t[i] = {id = i, name = 'n' .. i, ok = true} end "
                           "return #j.encode(j.decode(j.encode(t)))"},
    {"empty message", "1"},
};

static host_module *load(const char *path)
{
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = {0};
    host_module *m = NULL;
    if (ao_file_read(path, &b, &err) != AO_OK || host_module_new(b.data, b.len, NULL, &m, &err) != AO_OK)
        fprintf(stderr, "%s: %s\n", path, err.msg);
    ao_buf_free(&b);
    return m;
}

/* Seconds per message of an Eval of code (best of 3 runs of n). */
static double time_module(host_module *m, const char *code, int n)
{
    host_process *p = NULL;
    if (host_process_new(m, NULL, &p, NULL) != AO_OK) return -1;
    char *msg = malloc(strlen(code) + 256);
    sprintf(msg, "{\"Id\":\"b\",\"Timestamp\":1,\"Tags\":[{\"name\":\"Action\",\"value\":\"Eval\"}],"
                 "\"Data\":\"%s\"}", code);
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            host_result r;
            if (host_process_handle(p, msg, "{}", &r, NULL) != AO_OK || r.error) {
                fprintf(stderr, "error: %s\n", r.error ? r.error : "handle");
                host_result_free(&r);
                best = -1;
                goto out;
            }
            host_result_free(&r);
        }
        double dt = (now_s() - t0) / n;
        if (dt < best) best = dt;
    }
out:
    free(msg);
    host_process_free(p);
    return best;
}

/* The same code natively: lua5.3 prints seconds per run (best of 3). */
static double time_native(const char *code, int n)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "lua5.3 -e \"package.cpath='build/aos-native/?.so' "
             "local c = [==[%s]==] local f = load('return ' .. c) or assert(load(c)) local best = 1e30 "
             "for r = 1, 3 do local t0 = os.clock() for i = 1, %d do f() end "
             "local dt = (os.clock() - t0) / %d if dt < best then best = dt end end print(best)\" 2>/dev/null",
             code, n, n);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    double v = -1;
    if (fscanf(f, "%lf", &v) != 1) v = -1;
    pclose(f);
    return v;
}

int main(void)
{
    host_module *m = load("build/aos-test.wasm");
    host_module *aos = load("build/aos.wasm");
    if (!m || !aos) return 1;
    (void)!system("make --no-print-directory build/aos-native/json.so >/dev/null 2>&1");
    printf("%-22s %14s %14s %10s\n", "workload", "engine ms/msg", "native ms", "ratio");
    for (size_t i = 0; i < sizeof WORK / sizeof WORK[0]; i++) {
        int n = i == 3 ? 200 : 5;
        double e = time_module(m, WORK[i].code, n);
        double nat = i == 3 ? -1 : time_native(WORK[i].code, n);
        if (nat > 0)
            printf("%-22s %14.3f %14.3f %9.1fx\n", WORK[i].name, e * 1e3, nat * 1e3, e / nat);
        else
            printf("%-22s %14.3f %14s %10s\n", WORK[i].name, e * 1e3, i == 3 ? "(overhead)" : "(no lua5.3)", "-");
    }
    /* a whole aos message: spawn, then Evals from the owner */
    host_process *p = NULL;
    if (host_process_new(aos, NULL, &p, NULL) == AO_OK) {
        const char *env = "{\"Process\":{\"Id\":\"P\",\"Owner\":\"O\",\"Tags\":[]},\"Module\":{\"Id\":\"M\",\"Owner\":\"O\",\"Tags\":[]}}";
        host_result r;
        if (host_process_handle(p, "{\"Id\":\"P\",\"Owner\":\"O\",\"From\":\"O\",\"Module\":\"M\",\"Block-Height\":1,"
                                   "\"Timestamp\":1,\"Tags\":[{\"name\":\"Type\",\"value\":\"Process\"}]}", env, &r,
                                NULL) == AO_OK)
            host_result_free(&r);
        const char *ev = "{\"Id\":\"e\",\"Owner\":\"O\",\"From\":\"O\",\"Target\":\"P\",\"Timestamp\":2,\"Block-Height\":1,"
                         "\"Tags\":[{\"name\":\"Action\",\"value\":\"Eval\"}],\"Data\":\"1 + 1\"}";
        int n = 100;
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            if (host_process_handle(p, ev, env, &r, NULL) == AO_OK) host_result_free(&r);
        }
        double dt = (now_s() - t0) / n;
        size_t ml = 0;
        host_process_memory(p, &ml);
        printf("aos Eval message: %.3f ms (%.0f messages/s; %zu MiB of memory copied per message)\n",
               dt * 1e3, 1.0 / dt, ml >> 20);
        host_process_free(p);
    }
    host_module_free(m);
    host_module_free(aos);
    return 0;
}
