/* ao_run.c - runs a bench/wasm program on the project's engine:
 * ao_run PROGRAM.wasm N  ->  prints "CHECKSUM SECONDS GAS LOAD_SECONDS"
 * where SECONDS is the CPU time of the run(N) call and LOAD_SECONDS that of
 * the decode,
 * validation and translation (wasm_module_new). Built by bench/wasm.sh
 * against the build's libao.a. */
#define _POSIX_C_SOURCE 199309L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "wasm/wasm.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PROGRAM.wasm N\n", argv[0]);
        return 2;
    }
    ao_error err;
    ao_buf b;
    ao_buf_init(&b);
    if (ao_file_read(argv[1], &b, &err) != AO_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    wasm_module *m = NULL;
    wasm_store *s = NULL;
    wasm_instance *inst = NULL;
    wasm_trap trap;
    int status = 1;
    double t0 = now();
    int rc = wasm_module_new(b.data, b.len, &m, &err);
    double tload = now() - t0;
    ao_buf_free(&b);
    if (rc != AO_OK) {
        fprintf(stderr, "load: %s\n", err.msg);
        return 1;
    }
    if (wasm_store_new(&s, &err) != AO_OK ||
        wasm_instantiate(s, m, NULL, 0, &inst, &trap, &err) != AO_OK) {
        fprintf(stderr, "instantiate: %s\n", err.msg);
        goto out;
    }
    wasm_extern ext;
    if (wasm_instance_export(inst, "run", &ext) != AO_OK || ext.kind != WASM_EXTERN_FUNC) {
        fprintf(stderr, "no exported function run\n");
        goto out;
    }
    wasm_val arg, res;
    memset(&arg, 0, sizeof arg);
    memset(&res, 0, sizeof res);
    arg.type = WASM_I32;
    arg.of.i32 = (uint32_t)strtoul(argv[2], NULL, 10);
    t0 = now();
    rc = wasm_func_call(s, ext.of.func, &arg, 1, &res, 1, &trap, &err);
    double trun = now() - t0;
    if (rc == AO_ETRAP) {
        fprintf(stderr, "trap: %s %s\n", wasm_trap_name(trap.code), trap.msg);
        goto out;
    }
    if (rc != AO_OK) {
        fprintf(stderr, "call: %s\n", err.msg);
        goto out;
    }
    printf("%" PRIu32 " %.6f %" PRIu64 " %.6f\n", res.of.i32, trun, wasm_store_gas_used(s), tload);
    status = 0;
out:
    if (s) wasm_store_free(s);
    wasm_module_free(m);
    return status;
}
