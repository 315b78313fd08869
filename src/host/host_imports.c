/*
 * host_imports.c - the emscripten imports a process module may use
 * (MODULES.md §1): longjmp glue (invoke_*, _emscripten_throw_longjmp),
 * heap growth, memcpy, stdout capture, deterministic time, an empty
 * environment, and stubs for the file system and process calls (no files
 * exist; every syscall fails with ENOSYS/ENOENT). Names are looked up per
 * Module-Format; closure-minified names of "wasm32-unknown-emscripten" map
 * to the canonical ones.
 */
#include "host/host_internal.h"

#include <math.h>
#include <string.h>

/* errno values of emscripten's libc (WASI numbering) */
#define H_EBADF 8
#define H_ENOENT 44
#define H_ENOSYS 52
#define H_ESPIPE 70

#define OUT_CAP (1u << 20)   /* captured stdout/stderr per message */

static uint8_t *mem_at(host_process *p, uint64_t addr, uint64_t len)
{
    uint64_t size = wasm_memory_size(p->mem);
    if (addr > size || len > size - addr)
        return NULL;
    return wasm_memory_data(p->mem) + addr;
}

static int oob(wasm_call_ctx *ctx)
{
    (void)ctx;
    return WASM_TRAP_MEMORY_OOB;
}

static void put_u32(uint8_t *d, uint32_t v) { memcpy(d, &v, 4); }
static void put_u64(uint8_t *d, uint64_t v) { memcpy(d, &v, 8); }

/* pointers, size_t and long: 4 bytes in wasm32 modules, 8 in wasm64 */
static uint32_t ptr_size(const host_process *p) { return p->m->ptr64 ? 8 : 4; }

static uint64_t get_ptr(const host_process *p, const uint8_t *d)
{
    if (p->m->ptr64) { uint64_t v; memcpy(&v, d, 8); return v; }
    uint32_t v;
    memcpy(&v, d, 4);
    return v;
}

static void put_ptr(const host_process *p, uint8_t *d, uint64_t v)
{
    if (p->m->ptr64) put_u64(d, v);
    else put_u32(d, (uint32_t)v);
}

/* A result of the import's own type holding integer v. */
static void set_result(const wasm_functype *ft, wasm_val *results, int64_t v)
{
    if (ft->nresults == 0)
        return;
    switch (ft->results[0]) {
    case WASM_I32: results[0].of.i32 = (uint32_t)v; break;
    case WASM_I64: results[0].of.i64 = (uint64_t)v; break;
    case WASM_F32: { float f = (float)v; memcpy(&results[0].of.f32, &f, 4); break; }
    case WASM_F64: { double d = (double)v; memcpy(&results[0].of.f64, &d, 8); break; }
    default: break;
    }
}

static uint64_t arg_u(const wasm_functype *ft, const wasm_val *args, uint32_t i)
{
    if (i >= ft->nparams)
        return 0;
    return ft->params[i] == WASM_I64 ? args[i].of.i64 : args[i].of.i32;
}

/* ---- longjmp ---- */

static int imp_throw_longjmp(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                             const wasm_val *args, wasm_val *results)
{
    return wasm_ctx_trap(ctx, HOST_LONGJMP_CODE, "longjmp");
}

/* invoke_X(idx, args...): call table[idx](args...); a longjmp out of it
 * restores the stack pointer and sets setThrew(1, 0). */
static int imp_invoke(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                      const wasm_val *args, wasm_val *results)
{
    if (ft->nparams < 1 || !p->table)
        return wasm_ctx_trap(ctx, 0, "invoke: no table");
    uint64_t idx = arg_u(ft, args, 0);
    wasm_val fv;
    if (wasm_table_get(p->table, idx, &fv) != AO_OK)
        return WASM_TRAP_TABLE_OOB;
    if (!fv.of.func)
        return WASM_TRAP_UNINITIALIZED;
    wasm_functype tt;
    wasm_func_type(fv.of.func, &tt);
    if (tt.nparams != ft->nparams - 1 || tt.nresults != ft->nresults ||
        memcmp(tt.params, ft->params + 1, tt.nparams) != 0 ||
        memcmp(tt.results, ft->results, tt.nresults) != 0)
        return WASM_TRAP_INDIRECT_TYPE;
    wasm_trap trap;
    uint64_t sp;
    int rc = host__stack_save(p, &sp, &trap);
    if (rc == AO_OK)
        rc = wasm_func_call(p->s, fv.of.func, args + 1, ft->nparams - 1, results, ft->nresults,
                            &trap, NULL);
    if (rc == AO_OK)
        return 0;
    if (rc != AO_ETRAP)
        return wasm_ctx_trap(ctx, 0, "invoke: call failed");
    if (trap.code == WASM_TRAP_HOST && trap.host_code == HOST_LONGJMP_CODE) {
        wasm_trap t2;
        if (host__stack_restore(p, sp, &t2) != AO_OK)
            return wasm_ctx_trap(ctx, 0, "invoke: stackRestore failed: %s", t2.msg);
        const uint64_t a[2] = {1, 0};   /* setThrew(uintptr_t threw, int value) */
        if (!p->f_set_threw || host__call(p, p->f_set_threw, a, 2, NULL, &t2) != AO_OK)
            return wasm_ctx_trap(ctx, 0, "invoke: setThrew failed");
        for (uint32_t i = 0; i < ft->nresults; i++)
            set_result(ft, results, 0);
        return 0;
    }
    if (trap.code == WASM_TRAP_HOST)
        return wasm_ctx_trap(ctx, trap.host_code, "%s", trap.msg);
    return (int)trap.code;
}

/* ---- memory ---- */

/* emscripten's growth policy: up to +20% (then +10%, +5%, +2.5%) of the old
 * size, at most requested+96 MiB, aligned to 64 KiB, within the maximum. */
static int imp_resize_heap(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                           const wasm_val *args, wasm_val *results)
{
    uint64_t requested = arg_u(ft, args, 0);
    uint64_t old = wasm_memory_size(p->mem);
    uint64_t maxb = p->m->mem_max_pages * 65536ull;
    uint64_t heap_max = p->m->ptr64 ? HOST_HEAP_MAX64 : HOST_HEAP_MAX32;
    if (maxb > heap_max) maxb = heap_max;
    if (p->lim.memory_limit && p->lim.memory_limit < maxb) maxb = p->lim.memory_limit & ~65535ull;
    set_result(ft, results, 0);
    if (requested > maxb)
        return 0;
    for (int cut = 1; cut <= 4; cut *= 2) {
        double over = (double)old * (1.0 + 0.2 / cut);
        double cap = (double)requested + 100663296.0;
        if (over > cap) over = cap;
        double want = (double)requested > over ? (double)requested : over;
        uint64_t size = (uint64_t)(ceil(want / 65536.0) * 65536.0);
        if (size > maxb) size = maxb;
        if (size <= old) { set_result(ft, results, 1); return 0; }
        if (wasm_memory_grow(p->mem, (size - old) / 65536) >= 0) {
            set_result(ft, results, 1);
            return 0;
        }
    }
    return 0;
}

static int imp_memcpy(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                      const wasm_val *args, wasm_val *results)
{
    uint64_t dst = arg_u(ft, args, 0), src = arg_u(ft, args, 1), n = arg_u(ft, args, 2);
    uint8_t *d = mem_at(p, dst, n), *s = mem_at(p, src, n);
    if (!d || !s) return oob(ctx);
    memmove(d, s, n);
    set_result(ft, results, (int64_t)dst);
    return 0;
}

/* ---- output ---- */

/* fd_write(fd, iovs, iovcnt, *nwritten): fd 1 and 2 are captured (bounded);
 * other descriptors do not exist. An iovec is {ptr, size_t}: 8 bytes, or 16
 * in wasm64; *nwritten is a size_t. */
static int imp_fd_write(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                        const wasm_val *args, wasm_val *results)
{
    uint64_t fd = arg_u(ft, args, 0), iov = arg_u(ft, args, 1), cnt = arg_u(ft, args, 2);
    uint64_t pn = arg_u(ft, args, 3);
    if (fd != 1 && fd != 2) { set_result(ft, results, H_EBADF); return 0; }
    uint64_t total = 0, ps = ptr_size(p);
    if (cnt > wasm_memory_size(p->mem) / (2 * ps)) return oob(ctx);
    for (uint64_t i = 0; i < cnt; i++) {
        uint8_t *e = mem_at(p, iov + i * 2 * ps, 2 * ps);
        if (!e) return oob(ctx);
        uint64_t ptr = get_ptr(p, e), len = get_ptr(p, e + ps);
        uint8_t *d = mem_at(p, ptr, len);
        if (!d) return oob(ctx);
        size_t room = p->out.len < OUT_CAP ? OUT_CAP - p->out.len : 0;
        if (room && ao_buf_append(&p->out, d, len < room ? len : room) != AO_OK)
            return WASM_TRAP_OUT_OF_MEMORY;
        total += len;
    }
    uint8_t *n = mem_at(p, pn, ps);
    if (!n) return oob(ctx);
    put_ptr(p, n, total);
    set_result(ft, results, 0);
    return 0;
}

/* ---- time: a counter from 10000 ms, +1 per read ---- */

static uint64_t tick(host_process *p) { return p->now_ms++; }

static void set_f64(wasm_val *r, double d) { memcpy(&r->of.f64, &d, 8); }

static int imp_date_now(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                        const wasm_val *args, wasm_val *results)
{
    if (ft->nresults == 1 && ft->results[0] == WASM_F64) set_f64(&results[0], (double)tick(p));
    else set_result(ft, results, (int64_t)tick(p));
    return 0;
}

static int imp_time(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                    const wasm_val *args, wasm_val *results)
{
    uint64_t t = tick(p) / 1000, ptr = arg_u(ft, args, 0);
    if (ptr) {
        /* time_t is 64-bit in this libc when the result is i64, else 32 */
        int wide = ft->nresults && ft->results[0] == WASM_I64;
        uint8_t *d = mem_at(p, ptr, wide ? 8 : 4);
        if (!d) return oob(ctx);
        if (wide) put_u64(d, t); else put_u32(d, (uint32_t)t);
    }
    set_result(ft, results, (int64_t)t);
    return 0;
}

/* __clock_gettime(clk, *timespec{i64 sec; long nsec}) -> 0 */
static int imp_clock_gettime(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                             const wasm_val *args, wasm_val *results)
{
    uint64_t ms = tick(p);
    uint8_t *d = mem_at(p, arg_u(ft, args, 1), 8 + ptr_size(p));
    if (!d) return oob(ctx);
    put_u64(d, ms / 1000);
    put_ptr(p, d + 8, (ms % 1000) * 1000000u);
    set_result(ft, results, 0);
    return 0;
}

/* WASI clock_time_get(id, precision i64, *u64 ns) -> errno */
static int imp_clock_time_get(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                              const wasm_val *args, wasm_val *results)
{
    uint8_t *d = mem_at(p, arg_u(ft, args, 2), 8);
    if (!d) return oob(ctx);
    put_u64(d, tick(p) * 1000000ull);
    set_result(ft, results, 0);
    return 0;
}

static int imp_difftime(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                        const wasm_val *args, wasm_val *results)
{
    double a = (double)(int64_t)arg_u(ft, args, 0), b = (double)(int64_t)arg_u(ft, args, 1);
    if (ft->nparams == 2 && ft->params[0] == WASM_I32) {
        a = (double)(int32_t)arg_u(ft, args, 0);
        b = (double)(int32_t)arg_u(ft, args, 1);
    }
    if (ft->nresults == 1 && ft->results[0] == WASM_F64) set_f64(&results[0], a - b);
    else set_result(ft, results, (int64_t)(a - b));
    return 0;
}

/* ---- misc ---- */

static int imp_get_temp_ret0(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                             const wasm_val *args, wasm_val *results)
{
    set_result(ft, results, p->temp_ret0);
    return 0;
}

static int imp_set_temp_ret0(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                             const wasm_val *args, wasm_val *results)
{
    p->temp_ret0 = (uint32_t)arg_u(ft, args, 0);
    return 0;
}

/* environ_sizes_get(size_t *count, size_t *size): the environment is empty */
static int imp_environ_sizes(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                             const wasm_val *args, wasm_val *results)
{
    uint32_t ps = ptr_size(p);
    uint8_t *a = mem_at(p, arg_u(ft, args, 0), ps), *b = mem_at(p, arg_u(ft, args, 1), ps);
    if (!a || !b) return oob(ctx);
    put_ptr(p, a, 0);
    put_ptr(p, b, 0);
    set_result(ft, results, 0);
    return 0;
}

static int imp_abort(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                     const wasm_val *args, wasm_val *results)
{
    return wasm_ctx_trap(ctx, 0, "abort");
}

static int imp_exit(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                    const wasm_val *args, wasm_val *results)
{
    return wasm_ctx_trap(ctx, 0, "exit(%d)", (int)arg_u(ft, args, 0));
}

static int imp_usegas(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                      const wasm_val *args, wasm_val *results)
{
    p->metered_gas += arg_u(ft, args, 0);
    if (p->lim.compute_limit && p->metered_gas > p->lim.compute_limit)
        return WASM_TRAP_OUT_OF_GAS;
    return 0;
}

static int imp_gas_used(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                        const wasm_val *args, wasm_val *results)
{
    set_result(ft, results, (int64_t)p->metered_gas);
    return 0;
}

/* A call the sandbox does not offer: -ENOSYS for syscalls, the WASI errno
 * for fd_*, -ENOENT for opens, 0 for the rest (nothing written). */
static int imp_nosys(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                     const wasm_val *args, wasm_val *results)
{
    set_result(ft, results, -H_ENOSYS);
    return 0;
}
static int imp_noent(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                     const wasm_val *args, wasm_val *results)
{
    set_result(ft, results, -H_ENOENT);
    return 0;
}
static int imp_ebadf(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                     const wasm_val *args, wasm_val *results)
{
    set_result(ft, results, H_EBADF);
    return 0;
}
static int imp_espipe(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                      const wasm_val *args, wasm_val *results)
{
    set_result(ft, results, H_ESPIPE);
    return 0;
}
static int imp_zero(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                    const wasm_val *args, wasm_val *results)
{
    set_result(ft, results, 0);
    return 0;
}
static int imp_minus1(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                      const wasm_val *args, wasm_val *results)
{
    set_result(ft, results, -1);
    return 0;
}

static const host_import_def host_invoke_def = {"invoke_*", NULL, imp_invoke};

static const host_import_def host_imports[] = {
    {"_emscripten_throw_longjmp", ":", imp_throw_longjmp},
    {"emscripten_resize_heap", "p:i", imp_resize_heap},
    {"emscripten_memcpy_big", NULL, imp_memcpy},
    {"emscripten_memcpy_js", NULL, imp_memcpy},
    {"_emscripten_memcpy_js", NULL, imp_memcpy},
    {"fd_write", "ippp:i", imp_fd_write},
    {"fd_read", "ippp:i", imp_ebadf},
    {"fd_close", "i:i", imp_zero},
    {"fd_seek", NULL, imp_espipe},
    {"environ_sizes_get", "pp:i", imp_environ_sizes},
    {"environ_get", "pp:i", imp_zero},
    {"emscripten_date_now", ":F", imp_date_now},
    {"_emscripten_date_now", ":F", imp_date_now},
    {"emscripten_get_now", ":F", imp_date_now},
    {"_emscripten_get_now_is_monotonic", ":i", imp_zero},
    {"time", NULL, imp_time},
    {"clock", ":i", imp_zero},
    {"difftime", NULL, imp_difftime},
    {"__clock_gettime", "ip:i", imp_clock_gettime},
    {"clock_time_get", "iIp:i", imp_clock_time_get},
    {"getTempRet0", ":i", imp_get_temp_ret0},
    {"setTempRet0", "i:", imp_set_temp_ret0},
    {"abort", ":", imp_abort},
    {"_abort_js", ":", imp_abort},
    {"exit", "i:", imp_exit},
    {"proc_exit", "i:", imp_exit},
    {"system", "p:i", imp_minus1},
    {"_emscripten_system", "p:i", imp_minus1},
    {"strftime", "pppp:p", imp_zero},
    {"strftime_l", "ppppp:p", imp_zero},
    {"_tzset_js", NULL, imp_zero},
    {"_mktime_js", NULL, imp_minus1},
    {"_localtime_js", NULL, imp_zero},
    {"_gmtime_js", NULL, imp_zero},
    {"__syscall_open", NULL, imp_noent},
    {"__syscall_openat", NULL, imp_noent},
    {"__syscall_lstat64", NULL, imp_noent},
    {"__syscall_stat64", NULL, imp_noent},
    {"__syscall_fcntl64", NULL, imp_nosys},
    {"__syscall_ioctl", NULL, imp_nosys},
    {"__syscall_dup3", NULL, imp_nosys},
    {"__syscall_unlink", NULL, imp_nosys},
    {"__syscall_unlinkat", NULL, imp_nosys},
    {"__syscall_rmdir", NULL, imp_nosys},
    {"__syscall_rename", NULL, imp_nosys},
    {"__syscall_renameat", NULL, imp_nosys},
    {"__syscall_readlinkat", NULL, imp_nosys},
    {"__asyncjs__weavedrive_open", NULL, imp_zero},
    {"__asyncjs__weavedrive_read", NULL, imp_zero},
    {"__asyncjs__weavedrive_close", NULL, imp_zero},
    {"metering_gasUsed", NULL, imp_gas_used},
    {"usegas", NULL, imp_usegas},
    {NULL, NULL, NULL},
};

/* closure-minified names of wasm32-unknown-emscripten (module "a") */
static const char *const host_minified[][2] = {
    {"w", "__syscall_dup3"}, {"d", "__syscall_fcntl64"}, {"z", "__syscall_ioctl"},
    {"r", "__syscall_lstat64"}, {"g", "__syscall_openat"}, {"s", "__syscall_renameat"},
    {"t", "__syscall_rmdir"}, {"e", "__syscall_unlinkat"}, {"a", "_emscripten_date_now"},
    {"A", "_emscripten_get_now_is_monotonic"}, {"p", "_emscripten_throw_longjmp"},
    {"B", "_gmtime_js"}, {"C", "_localtime_js"}, {"i", "_mktime_js"}, {"j", "_tzset_js"},
    {"D", "abort"}, {"k", "emscripten_memcpy_big"}, {"q", "emscripten_resize_heap"},
    {"u", "environ_get"}, {"v", "environ_sizes_get"}, {"l", "exit"}, {"c", "fd_close"},
    {"y", "fd_read"}, {"o", "fd_seek"}, {"f", "fd_write"}, {"h", "getTempRet0"},
    {"x", "invoke_vii"}, {"b", "setTempRet0"}, {"n", "strftime"}, {"m", "system"},
    {NULL, NULL},
};

const host_import_def *host_import_find(host_format fmt, const char *module, const char *name)
{
    if (strcmp(module, "metering") == 0)
        return strcmp(name, "usegas") == 0 ? &host_imports[sizeof host_imports / sizeof host_imports[0] - 2]
                                           : NULL;
    if (fmt == HOST_FMT_EMSCRIPTEN1 && strcmp(module, "a") == 0) {
        const char *canon = NULL;
        for (int i = 0; host_minified[i][0]; i++)
            if (strcmp(host_minified[i][0], name) == 0) canon = host_minified[i][1];
        if (!canon) return NULL;
        name = canon;
    } else if (strcmp(module, "env") != 0 && strcmp(module, "wasi_snapshot_preview1") != 0) {
        return NULL;
    }
    if (strncmp(name, "invoke_", 7) == 0 && name[7])
        return &host_invoke_def;
    for (const host_import_def *d = host_imports; d->name; d++)
        if (strcmp(d->name, name) == 0 && d->fn != imp_usegas)
            return d;
    return NULL;
}
