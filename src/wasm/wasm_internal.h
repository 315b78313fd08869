/*
 * wasm_internal.h - INTERNAL structures of the engine's back-end: the
 * translated (direct-threaded, slot-addressed) code, and the runtime objects
 * behind the opaque handles of wasm.h (store, instance, func, memory, table,
 * global). See docs/wasm.md for the design.
 */
#ifndef AO_WASM_INTERNAL_H
#define AO_WASM_INTERNAL_H

#include "wasm/wasm_module.h"

/* One word of translated code: a handler address, an immediate, a slot
 * operand (byte offset from the frame base), or a code/function pointer. */
typedef union wcode {
    const void *h;
    uint64_t u;
    int64_t i;
    const union wcode *t;
    const struct wfn *fn;
    const wasm_functype *ft;
    void *p;
} wcode;

/* A translated function of a module (shared by every instance). */
typedef struct wfn {
    wcode *code;
    size_t code_len;           /* words */
    const wcode *entry;        /* where wasm callers enter (past the entry gas) */
    uint64_t entry_gas;        /* charged by the call instruction */
    uint32_t nparams, nlocals; /* nlocals: declared locals, params excluded */
    uint32_t nresults;
    uint32_t frame_slots;      /* params + locals + max operand stack, >= nresults */
    uint32_t funcidx;
    const wasm_functype *type;
} wfn;

typedef struct wasm_back {
    uint32_t nfns;
    wfn *fns;                  /* per defined function */
} wasm_back;

/* Default engine limits (see docs/wasm.md). */
#define WASM_DEFAULT_MAX_DEPTH 10000u
#define WASM_STACK_SLOTS (1u << 20)      /* value stack: 8 MiB per store */
#define WASM_MAX_HOST_NESTING 200u       /* wasm -> host -> wasm C nesting */
#define WASM_MAX_TABLE_ELEMS (1u << 24)  /* engine cap on table growth */
#define WASM_PAGE 65536ull

struct wasm_func {
    const wasm_functype *type;
    wasm_store *store;
    wasm_instance *inst;       /* owning instance (NULL for a host function) */
    const wfn *fn;             /* translated code (NULL for a host function) */
    wasm_host_fn host;
    void *user;
    uint8_t *owned;            /* host functions: storage of the type's arrays */
    wasm_functype owned_type;
};

struct wasm_memory {
    wasm_store *store;
    uint8_t *data;
    uint64_t size;             /* bytes */
    uint64_t pages;
    uint64_t max_pages;        /* effective: own max, index width, store limit */
    size_t reserved;           /* bytes of address space mapped at data */
    wasm_limits lim;           /* declared type (max, is64) */
    /* dirty tracking for delta snapshots (dirty.c) */
    uint8_t *dirty;            /* per tracking page: 1 = written since the last snapshot */
    size_t dirty_cap;          /* entries of dirty */
    int track_slot;            /* fault registry slot + 1; 0 = none */
    bool tracking;             /* committed pages are write-protected; faults mark dirty */
    bool all_dirty;            /* tracking was lost: the next delta carries every page */
    bool hot;                  /* some pages are HOT (dirty.c, txn.c) */
    uint64_t faults;           /* write faults taken (wasm_memory_write_faults) */
    /* an open transaction (txn.c): pre-images of the pages written since
     * it began go to the undo log of the thread that began it */
    struct wasm_undo *txn_log; /* NULL: no transaction, or the whole-copy fallback */
    size_t txn_npages;         /* tracking pages at begin (pre-images kept below) */
    uint64_t txn_pages;        /* wasm pages at begin */
    uint8_t *txn_copy;         /* fallback when untracked: the whole memory */
    bool txn;                  /* a transaction is open */
};

/* A transaction's fault opens the aligned group of 2^this tracking pages
 * around the written one (dirty.c); a commit keeps groups writable (txn.c). */
#ifndef WASM_TXN_GROUP_SHIFT
#define WASM_TXN_GROUP_SHIFT 4   /* 16 pages of 4 KiB */
#endif

/* Bits of wasm_memory.dirty[page] */
#define WASM_DIRTY_SNAP 1u     /* written since the last snapshot (delta) */
#define WASM_DIRTY_TXN 2u      /* written (writable) in the open transaction */
#define WASM_DIRTY_REPROT 4u   /* SNAP page made read-only again by a transaction's end */
#define WASM_DIRTY_CHG 8u      /* its bytes changed in the transaction being committed */
#define WASM_DIRTY_HOT 16u     /* left writable by a transaction's end (txn.c hot groups) */
/* With tracking on and no transaction open, a page is writable exactly when
 * it is HOT, or SNAP and not REPROT (opened by a write outside a
 * transaction). HOT pages exist only between transactions: anything that
 * may write memory outside a transaction first protects them again
 * (wasm__track_cool), since such writes would not fault. */

/* Undo log of one thread (dirty.c): page pre-images, appended by the fault
 * handler; capacity reserved before the transaction starts. */
typedef struct wasm_undo {
    uint8_t *data;             /* cap tracking pages (mmap, reserve only) */
    struct wasm_undo_ent { wasm_memory *mem; size_t pg; } *ent;
    size_t n, cap;
    size_t hw;                 /* most entries used since the last trim */
} wasm_undo;

struct wasm_table {
    uint8_t elem;
    wasm_limits lim;           /* declared type (max, is64) */
    uint64_t size;
    uint64_t cap;
    void **elems;              /* wasm_func* or externref */
    uint64_t epoch;            /* +1 at every change of elems or size (the
                                  compiled tier's mirror is rebuilt on change) */
};

struct wasm_global {
    uint64_t v;                /* bits; references as pointer bits */
    uint8_t type;
    bool mut;
};

struct wasm_instance {
    wasm_store *store;
    const wasm_module *m;
    wasm_func **funcs;         /* function space */
    wasm_func *own_funcs;      /* defined functions */
    wasm_table **tables;
    wasm_memory **mems;
    wasm_global **globals;
    void ***elem_items;        /* per element segment: evaluated references */
    uint64_t *elem_len;        /* 0 once dropped */
    uint8_t *data_dropped;
    wasm_memory *mem0;
    /* the last snapshot taken or restored (delta chain head) */
    bool snap_head;            /* false: no snapshot yet, or a restore failed midway */
    uint64_t snap_id;          /* hash of that snapshot (see snapshot.c) */
    uint64_t snap_seq;         /* 0 = full snapshot, n = n-th delta after it */
    void *snap_zctx;           /* ZSTD_CCtx kept between delta snapshots */
    ao_buf snap_scratch;       /* delta body buffer kept between deltas */
    /* an open transaction (txn.c): the small state at its start */
    bool txn;
    uint64_t *txn_globals;     /* per defined global */
    uint64_t *txn_tsize;       /* per defined table: size */
    void ***txn_telems;        /* per defined table: elements */
    uint64_t *txn_tcap;        /* per defined table: capacity of txn_telems[i] */
    uint64_t *txn_elem_len;
    uint8_t *txn_data_dropped;
    /* compiled tier (aot.c): non-NULL while the instance runs compiled */
    struct aot_ictx *aot;
    bool tier_pinned;          /* wasm_instance_set_tier chose: no automatic tier-up */
};

typedef struct wframe {
    const wcode *ret;
    uint64_t *fp;
    wasm_instance *inst;
} wframe;

typedef struct wobj {
    int kind;                  /* 0 func, 1 table, 2 memory, 3 global, 4 instance */
    void *p;
} wobj;

struct wasm_store {
    uint64_t gas_used, gas_limit;
    uint64_t max_pages;
    uint32_t max_depth;
    uint64_t *stack, *stack_end;
    uint64_t *sp;              /* first free slot for a new entry call */
    wframe *frames;
    uint32_t nframes, frames_cap;
    uint32_t host_nesting;
    uint64_t mem_epoch;        /* bumped by every memory growth */
    uint8_t tier;              /* wasm_tier of instances instantiated in it */
    wobj *objs;
    size_t nobjs, objs_cap;
};

struct wasm_call_ctx {
    wasm_store *s;
    wasm_instance *inst;
    wasm_trap *trap;
};

/* runtime.c */
int wasm__store_track(wasm_store *s, int kind, void *p);
int wasm__memory_create(wasm_store *s, const wasm_limits *lim, wasm_memory **out, ao_error *err);
int wasm__table_create(wasm_store *s, uint8_t elem, const wasm_limits *lim, wasm_table **out, ao_error *err);
int64_t wasm__table_grow(wasm_table *t, uint64_t delta, void *init);
void wasm__trap_set(wasm_trap *trap, wasm_trap_code code, const char *msg);
bool wasm__functype_eq(const wasm_functype *a, const wasm_functype *b);

/* dirty.c: write tracking of memories by page protection */
unsigned wasm__track_shift(void);                 /* log2 of the tracking page size */
int wasm__track_start(wasm_memory *mem);          /* protect all, clear marks */
void wasm__track_handler_check(void);             /* our SIGSEGV handler in front again */
bool wasm__fault_handler_ready(void);             /* installs it; false if it cannot be */
void wasm__track_stop(wasm_memory *mem);          /* unprotect; next delta is whole */
void wasm__track_release(wasm_memory *mem);       /* before the memory is unmapped */
void wasm__track_moved(wasm_memory *mem);         /* after data/reserved changed */
/* dirty.c: transactions */
int wasm__undo_reserve(wasm_memory *mem, ao_error *err); /* this thread's log, for mem's txn */
void wasm__undo_drop(wasm_memory *mem);           /* forget mem's log entries */
void wasm__undo_mark_changed(wasm_memory *mem);   /* SNAP|CHG on saved pages that changed */
int wasm__undo_open_writable(wasm_memory *mem);   /* pre-images of the writable pages */
void wasm__track_cool(wasm_memory *mem);          /* HOT pages read-only again */
int wasm__track_resume(wasm_memory *mem);         /* (re)start tracking, keeping all_dirty */
/* aot.c: a fault the handler did not take; does not return (a trap) when
 * it is an access of the running compiled code beyond its memory's size */
void wasm__aot_fault(uintptr_t addr);
/* txn.c */
void wasm__txn_free(wasm_instance *inst);
/* snapshot.c */
void wasm__snap_free(wasm_instance *inst);        /* the delta scratch state */

/* translate.c */
int wasm__translate(wasm_module *m, ao_error *err);
const void *const *wasm__handlers(void);
/* A gas charge of a function body for the compiled tier: n units charged
 * at the instruction at byte offset off of the body: before it (HEAD),
 * when it is reached (ALWAYS: br, else), when its condition is nonzero
 * (TRUE) or zero (FALSE) (br_if, if), or for br_table target tag >= 0
 * (the default is the last index). */
typedef struct wasm_gas_site {
    uint32_t off;
    int32_t tag;
    uint64_t n;
} wasm_gas_site;
enum { WASM_GS_HEAD = -1, WASM_GS_ALWAYS = -2, WASM_GS_TRUE = -3, WASM_GS_FALSE = -4 };
int wasm__gas_sites(const wasm_module *m, uint32_t fidx, wasm_gas_site **out, size_t *n,
                    ao_error *err);

/* interp.c */
/* Run f (wasm or host) with its arguments already in slots at fp; results
 * are left at fp. Returns 0 or a trap code (trap filled). */
int wasm__run(wasm_store *s, wasm_func *f, uint64_t *fp, wasm_trap *trap);
int wasm__call_host(wasm_store *s, wasm_func *f, wasm_instance *caller, uint64_t *slots,
                    wasm_trap *trap);
/* aot.c: the compiled tier */
int wasm__aot_run(wasm_store *s, wasm_func *f, uint64_t *fp, wasm_trap *trap);
void wasm__aot_instance_free(wasm_instance *inst);
/* default tier compiled: load m's library from the cache now, or build it
 * in the background (instances move to it at their next outermost call) */
void wasm__aot_start(wasm_module *m);
void wasm__aot_tier_up(wasm_instance *inst);
int wasm__aot_instrument(const wasm_module *m, ao_buf *out, ao_error *err);

#endif
