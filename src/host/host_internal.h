/*
 * host_internal.h - shared between the files of src/host: the module and
 * process structures and the import table (host_imports.c).
 */
#ifndef AO_HOST_INTERNAL_H
#define AO_HOST_INTERNAL_H

#include "host/host.h"
#include "wasm/wasm.h"

typedef enum {
    HOST_FMT_OWN = 0,        /* emscripten-3.1.6: this project's build */
    HOST_FMT_EMSCRIPTEN1,    /* wasm32-unknown-emscripten (minified) */
    HOST_FMT_EMSCRIPTEN2,
    HOST_FMT_EMSCRIPTEN3,
    HOST_FMT_EMSCRIPTEN4,
} host_format;

/* The largest heap emscripten's glue grows to (getHeapMax): 4 GiB - 64 KiB
 * for wasm32, 16 GiB for wasm64. */
#define HOST_HEAP_MAX32 4294901760ull
#define HOST_HEAP_MAX64 17179869184ull

/* Host code of the longjmp marker trap raised by _emscripten_throw_longjmp. */
#define HOST_LONGJMP_CODE 0x4c4a4d50   /* "LJMP" */

typedef struct host_process host_process;
typedef int (*host_import_fn)(host_process *p, wasm_call_ctx *ctx, const wasm_functype *ft,
                              const wasm_val *args, wasm_val *results);

typedef struct host_import_def {
    const char *name;        /* canonical (unminified) name */
    const char *sig;         /* "params:results" (i I f F; p = pointer or size_t:
                                i in wasm32 formats, I in wasm64), NULL = any */
    host_import_fn fn;
} host_import_def;

/* The definition for one import of a module of the given format, or NULL
 * (unknown: the module is refused). invoke_* gets the shared invoke def. */
const host_import_def *host_import_find(host_format fmt, const char *module, const char *name);

struct host_module {
    wasm_module *wm;
    host_format fmt;
    bool ptr64;               /* a wasm64 format: 64-bit memory, i64 pointers */
    char *format;
    size_t nimports;
    const host_import_def **defs;
    uint64_t mem_max_pages;   /* the memory's declared maximum */
};

typedef struct host_import_ctx {
    host_process *p;
    const host_import_def *def;
    wasm_functype type;
} host_import_ctx;

struct host_process {
    const host_module *m;
    host_limits lim;
    wasm_store *s;
    wasm_instance *inst;
    wasm_memory *mem;
    wasm_table *table;
    host_import_ctx *ictx;
    wasm_func *f_handle, *f_stack_save, *f_stack_restore, *f_stack_alloc;
    wasm_func *f_set_threw, *f_ctors, *f_main, *f_stack_init, *f_stack_end;
    wasm_global *g_sp_get, *g_sp_set;   /* the stack pointer, when stackSave/stackRestore
                                           only read/write it: used without a call */
    bool no_rollback;       /* host_process_set_rollback(p, false) */
    uint32_t temp_ret0;
    uint64_t now_ms;        /* deterministic clock */
    uint64_t metered_gas;   /* metering.usegas of build-time metered modules */
    ao_buf out;             /* captured stdout/stderr */
};

/* Call an export with integer arguments, each passed as the function's own
 * parameter type (i32 or i64: pointers are i64 in wasm64 modules); *r gets
 * the first result zero-extended (r may be NULL). A function whose
 * parameters are not integers is a trap ("unexpected signature"). */
int host__call(host_process *p, wasm_func *f, const uint64_t *a, size_t na, uint64_t *r,
               wasm_trap *trap);

/* Stack helpers through the module's exports (used by invoke_*). */
int host__stack_save(host_process *p, uint64_t *sp, wasm_trap *trap);
int host__stack_restore(host_process *p, uint64_t sp, wasm_trap *trap);

#endif
