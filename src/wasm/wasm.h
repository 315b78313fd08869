/*
 * wasm.h - the project's WebAssembly engine: decode, validate, instantiate,
 * execute (interpreter), meter, limit, snapshot and restore.
 *
 * It is a general engine: it knows nothing of AO (base only).
 *
 * Supported: WebAssembly 2.0 (MVP, sign extension, non-trapping float-to-int,
 * multi-value, bulk memory, reference types) and memory64 (64-bit memories
 * and tables). SIMD (v128) and threads are refused at load with a clear
 * error.
 *
 * Objects:
 *   wasm_module   decoded + validated + translated code; immutable, may be
 *                 shared by many stores and threads.
 *   wasm_store    owns every instance, function, table, memory and global
 *                 created in it, and the execution limits (gas, call depth,
 *                 memory pages). One thread at a time per store.
 *   wasm_instance an instantiated module inside a store.
 *
 * Values cross the API as bit patterns (f32/f64 too), so NaN payloads are
 * preserved exactly at the boundary.
 *
 * NaN policy (determinism): every floating-point instruction whose result is
 * a NaN produces the canonical NaN of its type with the sign bit clear
 * (f32 0x7fc00000, f64 0x7ff8000000000000). Instructions that only move bits
 * (loads, stores, reinterpret, copysign, abs, neg, select, locals, globals)
 * keep the exact bits as the spec requires.
 *
 * Traps are values: every call returns AO_ETRAP and fills a wasm_trap rather
 * than crashing; this includes call-stack exhaustion (the C stack never
 * overflows), out of gas and out of memory.
 */
#ifndef AO_WASM_H
#define AO_WASM_H

#include "base/base.h"

typedef enum {
    WASM_I32 = 0x7f,
    WASM_I64 = 0x7e,
    WASM_F32 = 0x7d,
    WASM_F64 = 0x7c,
    WASM_FUNCREF = 0x70,
    WASM_EXTERNREF = 0x6f,
} wasm_valtype;

typedef struct wasm_module wasm_module;
typedef struct wasm_store wasm_store;
typedef struct wasm_instance wasm_instance;
typedef struct wasm_func wasm_func;
typedef struct wasm_table wasm_table;
typedef struct wasm_memory wasm_memory;
typedef struct wasm_global wasm_global;
typedef struct wasm_call_ctx wasm_call_ctx;

/* A value. Floats are bit patterns. References: funcref is a wasm_func*
 * (NULL = ref.null func); externref is an opaque host pointer (NULL =
 * ref.null extern). */
typedef struct wasm_val {
    uint8_t type; /* wasm_valtype */
    union {
        uint32_t i32;
        uint64_t i64;
        uint32_t f32;
        uint64_t f64;
        wasm_func *func;
        void *ext;
    } of;
} wasm_val;

typedef struct wasm_functype {
    uint32_t nparams, nresults;
    const uint8_t *params;  /* wasm_valtype each */
    const uint8_t *results;
} wasm_functype;

typedef struct wasm_limits {
    uint64_t min;
    uint64_t max;     /* valid only if has_max */
    bool has_max;
    bool is64;        /* memory64 / table64 index type */
} wasm_limits;

typedef enum {
    WASM_EXTERN_FUNC = 0,
    WASM_EXTERN_TABLE = 1,
    WASM_EXTERN_MEMORY = 2,
    WASM_EXTERN_GLOBAL = 3,
} wasm_extern_kind;

typedef struct wasm_extern {
    wasm_extern_kind kind;
    union {
        wasm_func *func;
        wasm_table *table;
        wasm_memory *memory;
        wasm_global *global;
    } of;
} wasm_extern;

/* Description of one import or export of a module. */
typedef struct wasm_externtype {
    wasm_extern_kind kind;
    wasm_functype func;               /* FUNC */
    struct { uint8_t elem; wasm_limits limits; } table;  /* TABLE */
    wasm_limits memory;               /* MEMORY (min/max in 64 KiB pages) */
    struct { uint8_t type; bool mut; } global;           /* GLOBAL */
} wasm_externtype;

/* Names are validated UTF-8 and NUL-terminated for convenience; since a
 * name may itself hold U+0000, the lengths are the authority. */
typedef struct wasm_import_desc {
    const char *module;
    const char *name;
    size_t module_len, name_len;
    wasm_externtype type;
} wasm_import_desc;

typedef struct wasm_export_desc {
    const char *name;
    size_t name_len;
    wasm_externtype type;
} wasm_export_desc;

typedef enum {
    WASM_TRAP_NONE = 0,
    WASM_TRAP_UNREACHABLE,          /* "unreachable" */
    WASM_TRAP_MEMORY_OOB,           /* "out of bounds memory access" */
    WASM_TRAP_TABLE_OOB,            /* "out of bounds table access" / "undefined element" */
    WASM_TRAP_UNINITIALIZED,        /* "uninitialized element" (null in call_indirect) */
    WASM_TRAP_INDIRECT_TYPE,        /* "indirect call type mismatch" */
    WASM_TRAP_DIV_ZERO,             /* "integer divide by zero" */
    WASM_TRAP_INT_OVERFLOW,         /* "integer overflow" */
    WASM_TRAP_INVALID_CONVERSION,   /* "invalid conversion to integer" */
    WASM_TRAP_STACK_EXHAUSTED,      /* "call stack exhausted" */
    WASM_TRAP_OUT_OF_GAS,           /* "out of gas" */
    WASM_TRAP_OUT_OF_MEMORY,        /* the engine could not allocate */
    WASM_TRAP_HOST,                 /* raised by a host function */
} wasm_trap_code;

typedef struct wasm_trap {
    wasm_trap_code code;
    int64_t host_code;        /* for WASM_TRAP_HOST: the value the host gave */
    char msg[AO_ERRMSG_MAX];
} wasm_trap;

const char *wasm_trap_name(wasm_trap_code code);   /* the spec's text */
/* "i32", "i64", "f32", "f64", "funcref", "externref", or "unknown". */
const char *wasm_valtype_name(uint8_t type);

/* ---- modules ---- */

/* Decode and validate a binary module and translate its code for
 * execution. On failure returns AO_EFORMAT (malformed: bad binary),
 * AO_EINVAL (invalid: fails validation) or AO_EUNSUPPORTED (SIMD, threads,
 * other unsupported proposals), with the reason in err. */
int wasm_module_new(const uint8_t *bytes, size_t len, wasm_module **out, ao_error *err);
void wasm_module_free(wasm_module *m);   /* after every store using it is gone */

size_t wasm_module_import_count(const wasm_module *m);
void wasm_module_import(const wasm_module *m, size_t i, wasm_import_desc *out);
size_t wasm_module_export_count(const wasm_module *m);
void wasm_module_export(const wasm_module *m, size_t i, wasm_export_desc *out);

/* ---- stores and limits ---- */

int wasm_store_new(wasm_store **out, ao_error *err);
void wasm_store_free(wasm_store *s);   /* frees everything created in it */

/* Gas: a deterministic count of executed instructions (see docs/wasm.md for
 * the exact weighting). Calls made while gas_used would exceed the limit trap
 * with WASM_TRAP_OUT_OF_GAS. UINT64_MAX (the default) means no limit. */
void wasm_store_set_gas_limit(wasm_store *s, uint64_t limit);
uint64_t wasm_store_gas_used(const wasm_store *s);
void wasm_store_set_gas_used(wasm_store *s, uint64_t used);
/* Maximum pages any memory in this store may have (on top of the memory's
 * own maximum): growth beyond it returns -1 as the spec says, and a memory
 * whose initial size is already above it cannot be created (instantiation
 * fails with AO_ELIMIT). Default: no extra limit. Applies to memories
 * created after the call. */
void wasm_store_set_max_memory_pages(wasm_store *s, uint64_t pages);
/* Maximum depth of nested wasm calls before "call stack exhausted". */
void wasm_store_set_max_call_depth(wasm_store *s, uint32_t depth);

/* ---- host objects (for imports) ---- */

/* A host function. Return 0 to return normally (results filled), or a
 * wasm_trap_code (usually WASM_TRAP_HOST, after wasm_ctx_trap) to trap.
 * A host function may call back into wasm (wasm_func_call) with the same
 * store; a trap in that nested call is returned to it as a value. */
typedef int (*wasm_host_fn)(wasm_call_ctx *ctx, void *user,
                            const wasm_val *args, wasm_val *results);

int wasm_func_new_host(wasm_store *s, const wasm_functype *type, wasm_host_fn fn,
                       void *user, wasm_func **out, ao_error *err);
int wasm_table_new(wasm_store *s, uint8_t elem, const wasm_limits *lim,
                   wasm_table **out, ao_error *err);
int wasm_memory_new(wasm_store *s, const wasm_limits *lim, wasm_memory **out, ao_error *err);
int wasm_global_new(wasm_store *s, const wasm_val *init, bool mut,
                    wasm_global **out, ao_error *err);

/* Inside a host function: the instance whose code called it (NULL if the
 * host function was called directly from C), and a way to raise a trap. */
wasm_instance *wasm_ctx_instance(wasm_call_ctx *ctx);
wasm_store *wasm_ctx_store(wasm_call_ctx *ctx);
int wasm_ctx_trap(wasm_call_ctx *ctx, int64_t host_code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- instances ---- */

/* imports[i] matches wasm_module_import(m, i). Link errors (wrong kind,
 * incompatible type or limits) return AO_EINVAL with the reason ("unknown
 * import", "incompatible import type"). A trap during initialisation
 * (segment out of bounds, start function trap) returns AO_ETRAP with *trap
 * filled; writes made before it stay, as the spec says. */
int wasm_instantiate(wasm_store *s, const wasm_module *m, const wasm_extern *imports,
                     size_t nimports, wasm_instance **out, wasm_trap *trap, ao_error *err);

/* Export by name: AO_OK, or AO_ENOTFOUND. The _n form takes a length, for
 * names that hold U+0000. */
int wasm_instance_export(wasm_instance *inst, const char *name, wasm_extern *out);
int wasm_instance_export_n(wasm_instance *inst, const char *name, size_t len,
                           wasm_extern *out);
const wasm_module *wasm_instance_module(const wasm_instance *inst);
/* Memory number idx of the instance (imported or defined), or NULL. */
wasm_memory *wasm_instance_memory(wasm_instance *inst, uint32_t idx);

/* ---- calling ---- */

void wasm_func_type(const wasm_func *f, wasm_functype *out);
/* The global that f only reads (its body is `global.get g`: no parameters,
 * one result, no locals) or only writes (`local.get 0; global.set g`: one
 * parameter, no result), such as emscripten's stackSave and stackRestore;
 * NULL for any other function. A caller may use the global instead of the
 * call: the same state change, without the call's cost (nor its gas). */
wasm_global *wasm_func_global_getter(const wasm_func *f);
wasm_global *wasm_func_global_setter(const wasm_func *f);
/* Call f. Returns AO_OK, AO_ETRAP (trap filled), or AO_EINVAL on argument
 * count/type mismatch. Gas used accumulates in the store. */
int wasm_func_call(wasm_store *s, wasm_func *f, const wasm_val *args, size_t nargs,
                   wasm_val *results, size_t nresults, wasm_trap *trap, ao_error *err);

/* ---- memories, tables, globals ---- */

/* The data pointer may change after any grow (including one done by wasm
 * code): fetch it again after each call. */
uint8_t *wasm_memory_data(wasm_memory *mem);
/* The bytes for reading only (no effect on write tracking, see the
 * transactions below). */
const uint8_t *wasm_memory_view(const wasm_memory *mem);
uint64_t wasm_memory_size(const wasm_memory *mem);    /* bytes */
uint64_t wasm_memory_pages(const wasm_memory *mem);
/* Returns the old size in pages, or -1 if the growth is refused. */
int64_t wasm_memory_grow(wasm_memory *mem, uint64_t delta_pages);

uint64_t wasm_table_size(const wasm_table *t);
int wasm_table_get(const wasm_table *t, uint64_t i, wasm_val *out);
int wasm_table_set(wasm_table *t, uint64_t i, const wasm_val *v);

void wasm_global_get(const wasm_global *g, wasm_val *out);
int wasm_global_set(wasm_global *g, const wasm_val *v);   /* AO_EINVAL if immutable */

/* ---- snapshot / restore ----
 * A snapshot holds the instance's mutable state: its defined memories,
 * globals and tables, and which data/element segments were dropped,
 * compressed with zstd. Restoring into a fresh instance of the same module
 * (in any store, on any machine) continues identically. Tables may only
 * hold null or functions of the same instance. */
int wasm_instance_snapshot(wasm_instance *inst, ao_buf *out, ao_error *err);
int wasm_instance_restore(wasm_instance *inst, const uint8_t *snap, size_t len, ao_error *err);

/* Delta snapshots: the state changed since the instance's previous snapshot
 * (full or delta, taken or restored): the memory pages written since then
 * (4 KiB granularity), memory sizes, and the small state (globals, tables,
 * segment state) whole. AO_EINVAL if the instance has no previous snapshot.
 *
 * Restore a chain with wasm_instance_restore: the full snapshot, then each
 * delta in order (wasm_instance_restore accepts both; _delta is the same
 * call, for readability). A delta names its parent (a hash of the parent's
 * body) and its position; it is refused with AO_EINVAL, the instance
 * untouched, unless the instance's last snapshot taken or restored is
 * exactly that parent. A restored instance can continue the chain with
 * wasm_instance_snapshot_delta. If a restore fails after it began writing
 * (out of memory), the instance accepts no delta until a full restore.
 *
 * Writes are tracked by page protection: after a snapshot the committed
 * pages of the instance's own memories are read-only, and the first write
 * to a page (by wasm code or by host C code through wasm_memory_data())
 * takes one fault that marks it (a few microseconds, once per page per
 * snapshot interval); the engine installs a SIGSEGV handler that passes on
 * every other fault to the handler installed before it. Writes by the
 * kernel (read(2) into wasm memory) do NOT fault but fail with EFAULT:
 * before handing wasm memory to a system call that writes it, call
 * wasm_memory_mark_dirty for that range. */
int wasm_instance_snapshot_delta(wasm_instance *inst, ao_buf *out, ao_error *err);
int wasm_instance_restore_delta(wasm_instance *inst, const uint8_t *delta, size_t len,
                                ao_error *err);
/* Mark [offset, offset+len) of mem as written for the next delta and make
 * it writable (clipped to the memory's size; a no-op when untracked). */
void wasm_memory_mark_dirty(wasm_memory *mem, uint64_t offset, uint64_t len);
/* Times the tracking of mem opened pages for writing so far: write faults
 * and wasm_memory_mark_dirty calls that found them protected (tests). */
uint64_t wasm_memory_write_faults(const wasm_memory *mem);

/* ---- transactions ----
 * wasm_instance_txn_begin marks the instance's state; _commit keeps what
 * happened since; _rollback puts back exactly the state at begin: the
 * bytes and sizes of its defined memories (pages a memory.grow added are
 * dropped, and zero when grown again), its mutable globals, its tables
 * (size and elements) and its segment state. Imported objects are not
 * covered. The cost is proportional to the pages written in between (the
 * write tracking above: one fault per 64 KiB group written, and a 4 KiB
 * copy per page of it into an undo log of the thread that began), not to
 * the memory's size; a memory
 * that cannot be tracked is copied whole at begin instead.
 * A commit leaves the groups whose bytes changed writable ("hot"), and the
 * next begin copies their pages into the undo log at once: transactions
 * that keep writing the same groups take no faults and no mprotect calls
 * for them. Calls and wasm_memory_data() outside a transaction protect hot
 * groups again first, so a pointer from wasm_memory_data() taken during a
 * transaction must not be written through after it ends.
 *
 * One transaction at a time per instance; snapshot and restore refuse
 * (AO_ESTATE) while one is open. Writes during the transaction must be
 * made on the thread that began it, or by another thread while that one
 * waits. Delta snapshots stay exact across transactions. */
int wasm_instance_txn_begin(wasm_instance *inst, ao_error *err);
void wasm_instance_txn_commit(wasm_instance *inst);
void wasm_instance_txn_rollback(wasm_instance *inst);
bool wasm_instance_txn_open(const wasm_instance *inst);

/* ---- compiled tier ----
 * A module can also run as native code: it is rewritten (gas charged at
 * exactly the interpreter's points, NaN results canonicalised), translated
 * to C by wabt's wasm2c, compiled by the system C compiler into a shared
 * library cached per module (and compiler options) in a cache directory,
 * and loaded. Every call of this header behaves the same on both tiers:
 * results, traps, gas used (also at out of gas), memory, globals, tables,
 * snapshots, deltas and transactions; the state lives in the engine's
 * objects, so an instance may switch tiers between calls. Not taken (the
 * module stays on the interpreter, AO_EUNSUPPORTED with the reason):
 * memory64, table64, reference-typed globals or function parameters and
 * results, and table.get/set/grow/fill/copy/init, elem.drop. See
 * docs/wasm.md. */
typedef enum { WASM_TIER_INTERP = 0, WASM_TIER_COMPILED = 1 } wasm_tier;

typedef struct wasm_aot_opts {
    const char *cache_dir;   /* NULL: the default (below) */
    int opt_level;           /* C compiler -O level 0..3; < 0: the default (2) */
} wasm_aot_opts;

/* Process-wide defaults, read once from the environment: AO_WASM_TIER
 * ("interp" or "compiled"; default interp) is the tier of new stores, and
 * with "compiled" wasm_module_new also prepares each module: it loads its
 * library if the cache has it, else builds it in a background thread
 * while the interpreter serves; an instance of a compiled store moves to
 * the compiled tier at its next outermost call once the library is built
 * (unless wasm_instance_set_tier chose its tier; a build still running
 * when the module is freed finishes into the cache on its own). A module
 * the tier does not take stays
 * interpreted. AO_WASM_AOT_SYNC=1 builds in wasm_module_new instead (tests,
 * tools). AO_WASM_CACHE is the default
 * cache directory (else $XDG_CACHE_HOME/ao/wasm, ~/.cache/ao/wasm, or
 * /tmp/ao-wasm); AO_WASM_AOT_OPT (0..3) the default C optimisation level. */
wasm_tier wasm_tier_default(void);
void wasm_tier_set_default(wasm_tier tier);
/* "interp" / "compiled" -> tier (AO_EINVAL otherwise). */
int wasm_tier_parse(const char *s, wasm_tier *out, ao_error *err);

/* Compile m for the compiled tier (or load it from the cache). Call before
 * m is shared between threads. AO_EUNSUPPORTED: the tier does not take the
 * module, or wasm2c / the C compiler is missing or failed (reason in err). */
int wasm_module_compile(wasm_module *m, const wasm_aot_opts *opts, ao_error *err);
bool wasm_module_compiled(const wasm_module *m);

/* The tier of instances instantiated in s from now on (compiled applies
 * only to compiled modules). */
void wasm_store_set_tier(wasm_store *s, wasm_tier tier);
/* Switch an instance between calls (not from inside a call of it):
 * AO_EUNSUPPORTED if its module is not compiled. */
int wasm_instance_set_tier(wasm_instance *inst, wasm_tier tier, ao_error *err);
wasm_tier wasm_instance_tier(const wasm_instance *inst);

#endif
