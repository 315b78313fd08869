/*
 * aot.h - INTERNAL interface of the compiled tier (aot*.c): the ABI between
 * the engine and a module's compiled library, and the per-module and
 * per-instance state. docs/wasm.md, "Compiled tier".
 *
 * The library is wasm2c's output for the rewritten module (aot_instr.c)
 * plus generated glue (aot_build.c). It has no undefined symbols but libc:
 * everything it needs from the engine comes through aot_host, and it gives
 * the engine an aot_lib. The layouts below match wabt's wasm-rt.h
 * (wasm_rt_memory_t, wasm_rt_funcref_t, the table structs); the glue
 * repeats them in its own text (aot_build.c) and checks the sizes.
 */
#ifndef AO_WASM_AOT_H
#define AO_WASM_AOT_H

#include "wasm/wasm_internal.h"

#define AOT_ABI_VERSION 4

typedef struct aot_rt_mem { uint8_t *data; uint32_t pages, max_pages, size; } aot_rt_mem;
typedef struct aot_rt_ref { uint32_t func_type; void (*func)(void); void *module_instance; } aot_rt_ref;
typedef struct aot_rt_tab { void *data; uint32_t max_size, size; } aot_rt_tab;

/* Trap codes the library raises: wasm-rt's, and these */
enum {
    AOT_TRAP_OOB = 1, AOT_TRAP_INT_OVERFLOW = 2, AOT_TRAP_DIV_BY_ZERO = 3,
    AOT_TRAP_INVALID_CONVERSION = 4, AOT_TRAP_UNREACHABLE = 5, AOT_TRAP_CALL_INDIRECT = 6,
    AOT_TRAP_EXHAUSTION = 8,
    AOT_TRAP_UNDEFINED_ELEMENT = 101, AOT_TRAP_UNINITIALIZED = 102, AOT_TRAP_TYPE = 103,
    AOT_TRAP_FILLED = 200,   /* engine: a callee filled the trap already */
};

typedef struct aot_host {
    void (*trap)(int code) __attribute__((noreturn));
    uint32_t (*functype)(uint32_t np, uint32_t nr, const int *types);
    uint32_t (*grow)(aot_rt_mem *m, uint32_t delta);
    void (*call)(void *ctx, uint32_t idx, uint64_t *io);   /* imported function idx */
    void (*call_ref)(void *func, uint64_t *io);           /* any wasm_func (tables) */
    void (*minit)(void *ctx, uint32_t seg, uint32_t d, uint32_t s, uint32_t n);
    void (*ddrop)(void *ctx, uint32_t seg);
} aot_host;

/* The start of the context the library sees as `struct Z_aot_instance_t`. */
typedef struct aot_ctx_hdr {
    uint64_t gas, lim;
    aot_rt_mem *mem;
    aot_rt_tab **tabs;
    uint64_t **globals;
    uint32_t depth, maxd;     /* compiled frames of this entry, their limit */
    uintptr_t slim;           /* lowest native frame address allowed */
} aot_ctx_hdr;

typedef struct aot_lib {
    uint32_t abi;
    const char *key;
    size_t inst_size;
    void (*instantiate)(void *w2c, void *ctx);
    uint32_t nfuncs;                          /* defined functions */
    void (*const *entry)(void *w2c, uint64_t *io);
    void (*const *fptr)(void);                /* per defined function */
    uint32_t ntypes;
    void (*const *tramp)(void);               /* per type index */
} aot_lib;

typedef int (*aot_init_fn)(const aot_host *h, aot_lib *out);

/* A loaded library of a module (wasm_module.aot). */
typedef struct aot_mod {
    void *dl;
    aot_lib lib;
    uint32_t *type_ids;       /* per module type: registered id */
} aot_mod;

typedef struct aot_tab {
    aot_rt_tab rt;
    wasm_table *t;
    uint64_t nseen;           /* t->size when refs were built */
    uint64_t epoch;           /* and t->epoch */
    aot_rt_ref *refs;
} aot_tab;

/* An instance running compiled (wasm_instance.aot). */
typedef struct aot_ictx {
    aot_ctx_hdr h;            /* first: the library's view */
    wasm_instance *inst;
    const aot_mod *am;
    void *w2c;                /* the library's instance struct */
    aot_rt_mem mem;
    aot_tab *tabs;
    aot_rt_tab **tabp;
    uint64_t **globals;
} aot_ictx;

/* aot.c */
const aot_host *wasm__aot_host(void);
uint32_t wasm__aot_type_id(const wasm_functype *ft);
/* aot_build.c: produce (or find in the cache) the library of m; path out */
/* aot_build.c: a library to build - everything taken from the module
 * (the rewritten module, the glue text, the key), so that the build itself
 * no longer needs the module */
typedef struct aot_job {
    char cache[3800], key[128], path[4096];
    int olev;
    ao_buf wasm, glue;
} aot_job;
int wasm__aot_prepare(const wasm_module *m, const wasm_aot_opts *opts, aot_job *j, ao_error *err);
bool wasm__aot_cached(const aot_job *j);
int wasm__aot_run_job(aot_job *j, ao_error *err);    /* wasm2c + cc into j->path */
void wasm__aot_job_free(aot_job *j);

#endif
