/*
 * wasm_module.h - INTERNAL contract between the engine's front-end (binary
 * decoder decode.c, validator validate.c) and its back-end (translation,
 * interpreter, instantiation). Not part of the public API (that is wasm.h).
 *
 * Life of a module:
 *   wasm__decode()    bytes -> struct wasm_module: structure and the
 *                     syntax of every instruction; indices are NOT range
 *                     checked and nothing is typed yet.
 *                                                malformed -> AO_EFORMAT
 *   wasm__validate()  full typing of every function body and constant
 *                     expression; fills wasm_code.max_stack / max_depth.
 *                                                invalid   -> AO_EINVAL
 *   (back-end)        translation into m->back, with m->back_free set.
 *   wasm__destroy()   calls m->back_free(m) if set, then frees the rest.
 * SIMD and threads (and the opcodes, types and sections of other later
 * proposals) are refused by the decoder with AO_EUNSUPPORTED.
 * Engine limits (e.g. WASM_MAX_LOCALS) are refused with AO_ELIMIT.
 *
 * After wasm__validate() succeeded the back-end may rely on everything the
 * WebAssembly 2.0 + memory64 validation rules guarantee: every index is in
 * range, every body is well typed and ends with its `end`, every LEB128 in
 * a body is well formed (so the unchecked readers of wasm_read.h are safe).
 *
 * Every pointer into the input points into m->bytes (the module's own copy),
 * so it stays valid for the module's lifetime.
 *
 * This header is the whole contract: the back-end needs nothing else from
 * the front-end. It only grows additively; any other change is listed in
 * the change log below with its date. What the front-end checks and why:
 * docs/wasm_front.md.
 *
 * CHANGE LOG (only non-additive changes are listed here):
 *   2026-11-24 04:20 UTC  first version.
 */
#ifndef AO_WASM_MODULE_H
#define AO_WASM_MODULE_H

#include "wasm/wasm.h"

/* ---- engine limits (all refused with AO_ELIMIT, documented here) ---- */
/* Locals per function, parameters included. The spec only asks that the
 * total fit in u32 (larger is malformed: "too many locals", AO_EFORMAT). */
#define WASM_MAX_LOCALS 50000u
/* Parameters or results of one function type. */
#define WASM_MAX_FUNC_VALUES 1000u
/* Sizes and counts of a module, the implementation limits of the
 * WebAssembly JS API (which V8 and SpiderMonkey apply too). They keep every
 * allocation of the decoder a small multiple of limits real modules never
 * reach. */
#define WASM_MAX_MODULE_SIZE (1u << 30)      /* bytes of the binary */
#define WASM_MAX_TYPES 1000000u
#define WASM_MAX_FUNCS 1000000u              /* imported + defined */
#define WASM_MAX_IMPORTS 100000u
#define WASM_MAX_EXPORTS 100000u
#define WASM_MAX_GLOBALS 1000000u            /* imported + defined */
#define WASM_MAX_TABLES 100000u              /* imported + defined */
#define WASM_MAX_MEMORIES 100u               /* decoded; 2.0 validates <= 1 */
#define WASM_MAX_ELEM_SEGMENTS 100000u
#define WASM_MAX_ELEM_ITEMS 10000000u        /* all element segments together */
#define WASM_MAX_DATA_SEGMENTS 100000u
#define WASM_MAX_BODY_SIZE 7654321u          /* bytes of one function body */
/* Pages of a 32-bit memory (4 GiB) and of a 64-bit memory (2^48, the most
 * a 64-bit address space can hold); both are spec rules -> AO_EINVAL. */
#define WASM_MAX_PAGES32 65536ull
#define WASM_MAX_PAGES64 (1ull << 48)

/* Block type of block/loop/if as decoded from its s33 immediate. */
#define WASM_BLOCKTYPE_EMPTY 0x40

/* ---- constant expressions ----
 * WebAssembly 2.0: exactly one instruction then `end`. */
typedef enum {
    WASM_CE_I32_CONST = 0x41,   /* value in bits (low 32 bits) */
    WASM_CE_I64_CONST = 0x42,   /* value in bits */
    WASM_CE_F32_CONST = 0x43,   /* bit pattern in bits (low 32 bits) */
    WASM_CE_F64_CONST = 0x44,   /* bit pattern in bits */
    WASM_CE_GLOBAL_GET = 0x23,  /* value of global `idx` */
    WASM_CE_REF_NULL = 0xd0,    /* null reference of type `type` */
    WASM_CE_REF_FUNC = 0xd2,    /* reference to function `idx` */
} wasm_ce_op;

typedef struct wasm_constexpr {
    uint8_t op;           /* wasm_ce_op */
    uint8_t type;         /* wasm_valtype of the produced value (for
                             GLOBAL_GET: filled by the validator) */
    uint32_t idx;         /* GLOBAL_GET: global index; REF_FUNC: func index */
    uint64_t bits;        /* *_CONST: the value (i32/f32 zero-extended) */
    const uint8_t *code;  /* the raw expression in m->bytes, `end` included;
                             NULL for element items given as plain function
                             indices (element segment flags 0-3) */
    size_t code_len;
} wasm_constexpr;

/* ---- types and spaces ---- */

/* types[i] uses the public wasm_functype: nparams/nresults and pointers to
 * arrays of wasm_valtype bytes (owned by the module, in m->typepool). */

typedef struct wasm_tabletype {
    uint8_t elem;         /* WASM_FUNCREF or WASM_EXTERNREF */
    wasm_limits limits;   /* min/max in elements; is64 = table64 (i64 index) */
} wasm_tabletype;

/* memories use wasm_limits directly: min/max in 64 KiB pages, is64 =
 * memory64 (i64 addresses). Shared memories are refused. */

typedef struct wasm_globaldef {
    uint8_t type;         /* wasm_valtype */
    bool mut;
    wasm_constexpr init;  /* defined globals only (index >= nglobals_imported) */
} wasm_globaldef;

typedef struct wasm_import {
    char *module;         /* NUL-terminated copy (valid UTF-8; a name may
                             contain U+0000, so module_len is the truth) */
    char *name;
    uint32_t module_len, name_len;
    uint8_t kind;         /* wasm_extern_kind */
    /* Index of the imported entity in its own space (func, table, memory or
     * global index). Its type is in that space: m->func_types[index],
     * m->tables[index], m->mems[index], m->globals[index]. Imports of one
     * kind take indices 0, 1, 2... in import order. */
    uint32_t index;
} wasm_import;

typedef struct wasm_export {
    char *name;           /* NUL-terminated copy, valid UTF-8 */
    uint32_t name_len;
    uint8_t kind;         /* wasm_extern_kind */
    uint32_t index;       /* index in that kind's space */
} wasm_export;

typedef enum {
    WASM_SEG_ACTIVE = 0,
    WASM_SEG_PASSIVE = 1,
    WASM_SEG_DECLARATIVE = 2,   /* element segments only */
} wasm_segmode;

typedef struct wasm_elem {
    uint8_t mode;         /* wasm_segmode */
    uint8_t type;         /* WASM_FUNCREF or WASM_EXTERNREF */
    uint32_t table;       /* ACTIVE: table index */
    wasm_constexpr offset;/* ACTIVE: offset (i32, or i64 for a table64) */
    uint32_t nitems;
    /* Every item as a constant expression: segments written as plain
     * function indices (flags 0-3) are given as WASM_CE_REF_FUNC items. */
    wasm_constexpr *items;
} wasm_elem;

typedef struct wasm_data {
    uint8_t mode;         /* WASM_SEG_ACTIVE or WASM_SEG_PASSIVE */
    uint32_t mem;         /* ACTIVE: memory index */
    wasm_constexpr offset;/* ACTIVE: offset (i32, or i64 for a memory64) */
    const uint8_t *bytes; /* the segment's bytes inside m->bytes */
    size_t len;
} wasm_data;

typedef struct wasm_localgroup {
    uint32_t count;       /* locals in this group (> 0) */
    uint8_t type;         /* wasm_valtype */
    uint32_t first;       /* local index of the first one (params counted) */
} wasm_localgroup;

typedef struct wasm_code {
    uint32_t ngroups;         /* local declaration groups with count > 0 */
    wasm_localgroup *groups;  /* points into m->groups */
    uint32_t nlocals;         /* declared locals (params NOT included) */
    /* Instruction bytes: from the first instruction up to and including
     * the function's final `end`. */
    const uint8_t *body;
    size_t body_len;
    size_t offset;            /* offset of body in m->bytes (for messages) */
    /* Filled by wasm__validate: */
    uint32_t max_stack;       /* highest operand stack height in values
                                 (locals and params not counted) */
    uint32_t max_depth;       /* deepest control nesting, the function's
                                 own body block counting as 1 */
} wasm_code;

struct wasm_module {
    uint8_t *bytes;           /* owned copy of the binary */
    size_t len;
    uint64_t fingerprint;     /* fnv1a of bytes (snapshots name their module by it) */

    uint32_t ntypes;
    wasm_functype *types;     /* type section */
    uint8_t *typepool;        /* storage of the types' valtype arrays */

    uint32_t nimports;
    wasm_import *imports;

    /* Function space: imported functions first. func_types[i] is the type
     * index of function i. Defined function i has code[i - nfuncs_imported]. */
    uint32_t nfuncs, nfuncs_imported;
    uint32_t *func_types;

    uint32_t ntables, ntables_imported;
    wasm_tabletype *tables;

    uint32_t nmems, nmems_imported;   /* at most 1 in total (2.0) */
    wasm_limits *mems;

    uint32_t nglobals, nglobals_imported;
    wasm_globaldef *globals;

    uint32_t nexports;
    wasm_export *exports;

    bool has_start;
    uint32_t start;           /* function index */

    uint32_t nelems;
    wasm_elem *elems;

    bool has_datacount;       /* a data count section was present */
    uint32_t datacount;       /* its value (== ndatas once decoded); 0 if
                                 absent (data.drop/memory.init then invalid) */
    uint32_t ndatas;
    wasm_data *datas;

    uint32_t ncode;           /* == nfuncs - nfuncs_imported */
    wasm_code *code;
    wasm_localgroup *groups;  /* storage of every wasm_code.groups */

    /* Set by wasm__validate: per function index, whether ref.func may name
     * it inside a function body (it is referenced in an element segment,
     * an export or a global's initializer). nfuncs bytes. */
    uint8_t *func_declared;
    bool validated;

    /* Debug names from the "name" custom section (NULL when absent or when
     * that section is malformed, which the spec does not treat as an
     * error): the module's name, and per function index its name or NULL
     * (nfuncs entries). */
    char *name;
    char **func_names;

    /* Back-end's translated code, freed by back_free (if set) from
     * wasm__destroy. */
    void *back;
    void (*back_free)(struct wasm_module *m);
    /* The compiled tier's loaded library (aot.c), freed by aot_free. */
    void *aot;
    void (*aot_free)(struct wasm_module *m);
    void *aot_bgs;            /* a background build (aot.c), shared with its thread */
    int *aot_bg_state;        /* its state: 1 running, 2 built, 3 failed (NULL: none) */
};

/* ---- front-end API ---- */

/* Decode a binary module (copying bytes). AO_EFORMAT if malformed,
 * AO_EUNSUPPORTED for SIMD, threads and other later proposals, AO_ELIMIT
 * for engine limits, AO_ENOMEM. On failure *out is NULL and nothing is
 * leaked. */
int wasm__decode(const uint8_t *bytes, size_t len, struct wasm_module **out, ao_error *err);
/* Validate a decoded module. AO_EINVAL if invalid, AO_ELIMIT for engine
 * limits (locals), AO_ENOMEM. Calling it again is harmless. */
int wasm__validate(struct wasm_module *m, ao_error *err);
/* Free everything (NULL is fine). Calls m->back_free(m) first if set. */
void wasm__destroy(struct wasm_module *m);

/* ---- small helpers ---- */

/* Type of function funcidx (imported or defined). */
static inline const wasm_functype *wasm__func_type(const struct wasm_module *m, uint32_t funcidx)
{
    return &m->types[m->func_types[funcidx]];
}

/* Debug name of function funcidx, or NULL. */
static inline const char *wasm__func_name(const struct wasm_module *m, uint32_t funcidx)
{
    return m->func_names && funcidx < m->nfuncs ? m->func_names[funcidx] : NULL;
}

/* Type of local `idx` of defined function `c` whose type is `ft`: params
 * first, then the local groups (binary search). idx must be valid. */
static inline uint8_t wasm__local_type(const wasm_functype *ft, const wasm_code *c, uint32_t idx)
{
    if (idx < ft->nparams)
        return ft->params[idx];
    uint32_t lo = 0, hi = c->ngroups;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->groups[mid].first <= idx)
            lo = mid;
        else
            hi = mid;
    }
    return c->groups[lo].type;
}

#endif
