/*
 * host.c - process modules on the engine: load a module for its format,
 * instantiate it with the imports of host_imports.c, call handle() as the
 * ao loader's ccall does (arguments on the module's own stack), turn its
 * {ok, response} into the result of PROTOCOL.md §4.2, and roll the memory
 * back when a message fails.
 */
#include "host/host_internal.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

/* ---- limits ---- */

int host_parse_memory_limit(const char *s, uint64_t *bytes, ao_error *err)
{
    *bytes = 0;
    if (!s) return ao_err_set(err, AO_EINVAL, "host: no Memory-Limit");
    const char *p = s;
    while (*p == ' ') p++;
    uint64_t v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (v > (1ull << 53) / 10) return ao_err_set(err, AO_ELIMIT, "host: Memory-Limit '%s' too large", s);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (!digits) return ao_err_set(err, AO_EINVAL, "host: Memory-Limit '%s' has no number", s);
    while (*p == ' ' || *p == '-') p++;
    static const struct { const char *u; unsigned shift; } units[] = {
        {"", 0}, {"b", 0}, {"kb", 10}, {"mb", 20}, {"gb", 30}, {"tb", 40}};
    size_t ul = strlen(p);
    while (ul && p[ul - 1] == ' ') ul--;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strlen(units[i].u) == ul && strncasecmp(p, units[i].u, ul) == 0) {
            if (v > ((1ull << 53) >> units[i].shift))
                return ao_err_set(err, AO_ELIMIT, "host: Memory-Limit '%s' too large", s);
            *bytes = v << units[i].shift;
            return AO_OK;
        }
    }
    return ao_err_set(err, AO_EINVAL, "host: Memory-Limit '%s' has an unknown unit", s);
}

/* ---- modules ---- */

/* wasm64 formats: the emscripten4 names with i64 pointers and a 64-bit
 * memory (MODULES.md §1). */
static const struct { const char *name; host_format fmt; bool ptr64; } host_formats[] = {
    {"emscripten-3.1.6", HOST_FMT_OWN, false},
    {"wasm32-unknown-emscripten", HOST_FMT_EMSCRIPTEN1, false},
    {"wasm32-unknown-emscripten2", HOST_FMT_EMSCRIPTEN2, false},
    {"wasm32-unknown-emscripten3", HOST_FMT_EMSCRIPTEN3, false},
    {"wasm32-unknown-emscripten4", HOST_FMT_EMSCRIPTEN4, false},
    {"wasm32-unknown-emscripten-metering", HOST_FMT_EMSCRIPTEN4, false},
    {"wasm64-unknown-emscripten-draft_2024_02_15", HOST_FMT_EMSCRIPTEN4, true},
    {"wasm64-unknown-emscripten-draft_2024_10_16-metering", HOST_FMT_EMSCRIPTEN4, true},
    {NULL, HOST_FMT_OWN, false},
};

/* Does the import's type match "params:results"? 'p' is a pointer or a
 * size_t: i32, or i64 in a wasm64 module. */
static bool sig_matches(const char *sig, const wasm_functype *ft, bool ptr64)
{
    if (!sig)
        return true;
    uint32_t np = 0, nr = 0;
    bool res = false;
    for (const char *c = sig; *c; c++) {
        if (*c == ':') { res = true; continue; }
        uint8_t t = *c == 'i' ? WASM_I32 : *c == 'I' ? WASM_I64 : *c == 'f' ? WASM_F32
                  : *c == 'p' ? (ptr64 ? WASM_I64 : WASM_I32) : WASM_F64;
        if (!res) {
            if (np >= ft->nparams || ft->params[np] != t) return false;
            np++;
        } else {
            if (nr >= ft->nresults || ft->results[nr] != t) return false;
            nr++;
        }
    }
    return np == ft->nparams && nr == ft->nresults;
}

int host_module_new(const uint8_t *wasm, size_t len, const char *format,
                    host_module **out, ao_error *err)
{
    *out = NULL;
    if (!format || !*format)
        format = "emscripten-3.1.6";
    int fi = -1;
    for (int i = 0; host_formats[i].name; i++)
        if (strcmp(host_formats[i].name, format) == 0) fi = i;
    if (fi < 0)
        return ao_err_set(err, AO_EUNSUPPORTED, "host: unsupported Module-Format '%s'", format);
    host_module *m = calloc(1, sizeof *m);
    if (!m)
        return ao_err_set(err, AO_ENOMEM, "host: out of memory");
    m->fmt = host_formats[fi].fmt;
    m->ptr64 = host_formats[fi].ptr64;
    m->format = strdup(format);
    int rc = m->format ? wasm_module_new(wasm, len, &m->wm, err)
                       : ao_err_set(err, AO_ENOMEM, "host: out of memory");
    if (rc != AO_OK) {
        host_module_free(m);
        return rc;
    }
    m->nimports = wasm_module_import_count(m->wm);
    m->defs = calloc(m->nimports + 1, sizeof *m->defs);
    if (!m->defs) {
        host_module_free(m);
        return ao_err_set(err, AO_ENOMEM, "host: out of memory");
    }
    /* the exported memory, its width and maximum (checked first: a 32/64-bit
     * mismatch shows in every pointer import too) */
    bool have_mem = false;
    for (size_t i = 0; i < wasm_module_export_count(m->wm); i++) {
        wasm_export_desc e;
        wasm_module_export(m->wm, i, &e);
        if (e.type.kind == WASM_EXTERN_MEMORY) {
            if (e.type.memory.is64 != m->ptr64) {
                ao_err_set(err, AO_EUNSUPPORTED, "host: the module's memory is %d-bit, Module-Format %s "
                           "is for %d-bit modules", e.type.memory.is64 ? 64 : 32, format,
                           m->ptr64 ? 64 : 32);
                host_module_free(m);
                return AO_EUNSUPPORTED;
            }
            m->mem_max_pages = e.type.memory.has_max ? e.type.memory.max
                               : m->ptr64 ? HOST_HEAP_MAX64 / 65536 : 65536;
            have_mem = true;
        }
    }
    if (!have_mem) {
        host_module_free(m);
        return ao_err_set(err, AO_EUNSUPPORTED, "host: the module exports no memory");
    }
    for (size_t i = 0; i < m->nimports; i++) {
        wasm_import_desc d;
        wasm_module_import(m->wm, i, &d);
        const host_import_def *def = d.type.kind == WASM_EXTERN_FUNC
                                         ? host_import_find(m->fmt, d.module, d.name) : NULL;
        if (!def) {
            ao_err_set(err, AO_EUNSUPPORTED, "host: unknown import %s.%s (format %s)",
                       d.module, d.name, format);
            host_module_free(m);
            return AO_EUNSUPPORTED;
        }
        if (!sig_matches(def->sig, &d.type.func, m->ptr64)) {
            ao_err_set(err, AO_EUNSUPPORTED, "host: import %s.%s has an unexpected type",
                       d.module, d.name);
            host_module_free(m);
            return AO_EUNSUPPORTED;
        }
        m->defs[i] = def;
    }
    *out = m;
    return AO_OK;
}

void host_module_free(host_module *m)
{
    if (!m) return;
    wasm_module_free(m->wm);
    free(m->defs);
    free(m->format);
    free(m);
}

const char *host_module_format(const host_module *m) { return m->format; }

/* ---- instances ---- */

static int host_import_tramp(wasm_call_ctx *ctx, void *user, const wasm_val *args, wasm_val *results)
{
    host_import_ctx *ic = user;
    return ic->def->fn(ic->p, ctx, &ic->type, args, results);
}

static wasm_func *export_func(host_process *p, const char *name, const char *minified)
{
    wasm_extern e;
    const char *n = p->m->fmt == HOST_FMT_EMSCRIPTEN1 && minified ? minified : name;
    if (wasm_instance_export(p->inst, n, &e) != AO_OK || e.kind != WASM_EXTERN_FUNC)
        return NULL;
    return e.of.func;
}

int host__call(host_process *p, wasm_func *f, const uint64_t *a, size_t na, uint64_t *r,
               wasm_trap *trap)
{
    wasm_val args[4], res[1];
    wasm_functype ft;
    wasm_func_type(f, &ft);
    int rc = AO_OK;
    if (na > 4 || ft.nparams != na || ft.nresults > 1 ||
        (ft.nresults && ft.results[0] != WASM_I32 && ft.results[0] != WASM_I64))
        rc = AO_EINVAL;
    for (size_t i = 0; i < na && rc == AO_OK; i++) {
        args[i].type = ft.params[i];
        if (ft.params[i] == WASM_I32) args[i].of.i32 = (uint32_t)a[i];
        else if (ft.params[i] == WASM_I64) args[i].of.i64 = a[i];
        else rc = AO_EINVAL;
    }
    if (rc == AO_OK)
        rc = wasm_func_call(p->s, f, args, na, res, ft.nresults, trap, NULL);
    if (rc == AO_OK && r)
        *r = !ft.nresults ? 0 : ft.results[0] == WASM_I64 ? res[0].of.i64 : res[0].of.i32;
    if (rc != AO_OK && rc != AO_ETRAP) {
        trap->code = WASM_TRAP_HOST;
        snprintf(trap->msg, sizeof trap->msg, "call with an unexpected signature");
        rc = AO_ETRAP;
    }
    return rc;
}

/* invoke_* saves the stack pointer at every call (aos: ~135 a message), so
 * an accessor export is replaced by the global it reads or writes. */
int host__stack_save(host_process *p, uint64_t *sp, wasm_trap *trap)
{
    if (p->g_sp_get) {
        wasm_val v;
        wasm_global_get(p->g_sp_get, &v);
        *sp = v.type == WASM_I64 ? v.of.i64 : v.of.i32;
        return AO_OK;
    }
    if (!p->f_stack_save) { *sp = 0; return AO_OK; }
    return host__call(p, p->f_stack_save, NULL, 0, sp, trap);
}

int host__stack_restore(host_process *p, uint64_t sp, wasm_trap *trap)
{
    if (p->g_sp_set) {
        wasm_val v;
        wasm_global_get(p->g_sp_set, &v);
        if (v.type == WASM_I64) v.of.i64 = sp;
        else v.of.i32 = (uint32_t)sp;
        if (wasm_global_set(p->g_sp_set, &v) == AO_OK)
            return AO_OK;
    }
    if (!p->f_stack_restore) return AO_OK;
    return host__call(p, p->f_stack_restore, &sp, 1, NULL, trap);
}

static void teardown(host_process *p)
{
    p->g_sp_get = p->g_sp_set = NULL;
    wasm_store_free(p->s);
    p->s = NULL;
    p->inst = NULL;
    p->mem = NULL;
    p->table = NULL;
    free(p->ictx);
    p->ictx = NULL;
}

/* A new store and instance. fresh: run the module's initialisation
 * (constructors, and main() for formats whose loader calls it). */
static int instantiate(host_process *p, bool fresh, ao_error *err)
{
    const host_module *m = p->m;
    int rc = wasm_store_new(&p->s, err);
    if (rc != AO_OK) return rc;
    if (p->lim.memory_limit)
        wasm_store_set_max_memory_pages(p->s, p->lim.memory_limit / 65536);
    p->ictx = calloc(m->nimports + 1, sizeof *p->ictx);
    wasm_extern *imports = calloc(m->nimports + 1, sizeof *imports);
    if (!p->ictx || !imports) {
        free(imports);
        teardown(p);
        return ao_err_set(err, AO_ENOMEM, "host: out of memory");
    }
    for (size_t i = 0; i < m->nimports && rc == AO_OK; i++) {
        wasm_import_desc d;
        wasm_module_import(m->wm, i, &d);
        p->ictx[i].p = p;
        p->ictx[i].def = m->defs[i];
        p->ictx[i].type = d.type.func;
        imports[i].kind = WASM_EXTERN_FUNC;
        rc = wasm_func_new_host(p->s, &d.type.func, host_import_tramp, &p->ictx[i],
                                &imports[i].of.func, err);
    }
    wasm_trap trap;
    if (rc == AO_OK)
        rc = wasm_instantiate(p->s, m->wm, imports, m->nimports, &p->inst, &trap, err);
    free(imports);
    if (rc == AO_ETRAP)
        ao_err_set(err, AO_ETRAP, "host: instantiation trapped: %s", trap.msg);
    if (rc != AO_OK) {
        teardown(p);
        return rc;
    }
    wasm_extern e;
    if (wasm_instance_export(p->inst, m->fmt == HOST_FMT_EMSCRIPTEN1 ? "E" : "memory", &e) == AO_OK &&
        e.kind == WASM_EXTERN_MEMORY)
        p->mem = e.of.memory;
    if (wasm_instance_export(p->inst, m->fmt == HOST_FMT_EMSCRIPTEN1 ? "I" : "__indirect_function_table",
                             &e) == AO_OK && e.kind == WASM_EXTERN_TABLE)
        p->table = e.of.table;
    p->f_handle = export_func(p, "handle", "G");
    p->f_set_threw = export_func(p, "setThrew", "L");
    p->f_ctors = export_func(p, "__wasm_call_ctors", "F");
    p->f_main = export_func(p, "main", "H");
    p->f_stack_save = export_func(p, "stackSave", "M");
    if (!p->f_stack_save) p->f_stack_save = export_func(p, "emscripten_stack_get_current", NULL);
    p->f_stack_restore = export_func(p, "stackRestore", "N");
    if (!p->f_stack_restore) p->f_stack_restore = export_func(p, "_emscripten_stack_restore", NULL);
    p->f_stack_alloc = export_func(p, "stackAlloc", "O");
    if (!p->f_stack_alloc) p->f_stack_alloc = export_func(p, "_emscripten_stack_alloc", NULL);
    p->g_sp_get = wasm_func_global_getter(p->f_stack_save);    /* NULL-safe */
    p->g_sp_set = wasm_func_global_setter(p->f_stack_restore);
    p->f_stack_init = export_func(p, "emscripten_stack_init", NULL);
    p->f_stack_end = export_func(p, "emscripten_stack_get_end", NULL);
    if (!p->mem || !p->f_handle || !p->f_stack_save || !p->f_stack_restore || !p->f_stack_alloc) {
        teardown(p);
        return ao_err_set(err, AO_EUNSUPPORTED,
                          "host: the module lacks memory, handle or the stack exports");
    }
    p->now_ms = 10000;
    /* initialisation counts against the compute limit too (a module whose
     * constructors never end must not hang the host) */
    wasm_store_set_gas_limit(p->s, p->lim.compute_limit ? p->lim.compute_limit : UINT64_MAX);
    if (p->f_stack_init) {
        if (host__call(p, p->f_stack_init, NULL, 0, NULL, &trap) != AO_OK) goto trapped;
    }
    if (fresh && p->f_ctors) {
        if (host__call(p, p->f_ctors, NULL, 0, NULL, &trap) != AO_OK) goto trapped;
    }
    if (fresh && p->f_main && m->fmt != HOST_FMT_EMSCRIPTEN4 && m->fmt != HOST_FMT_OWN) {
        uint64_t a[2] = {0, 0};
        if (host__call(p, p->f_main, a, 2, NULL, &trap) != AO_OK) goto trapped;
    }
    wasm_store_set_gas_limit(p->s, UINT64_MAX);
    return AO_OK;
trapped:
    teardown(p);
    return ao_err_set(err, AO_ETRAP, "host: module initialisation trapped: %s", trap.msg);
}

static int process_alloc(const host_module *m, const host_limits *limits, host_process **out,
                         ao_error *err)
{
    *out = NULL;
    host_process *p = calloc(1, sizeof *p);
    if (!p) return ao_err_set(err, AO_ENOMEM, "host: out of memory");
    p->m = m;
    if (limits) p->lim = *limits;
    ao_buf_init(&p->out);
    *out = p;
    return AO_OK;
}

int host_process_new(const host_module *m, const host_limits *limits, host_process **out,
                     ao_error *err)
{
    int rc = process_alloc(m, limits, out, err);
    if (rc != AO_OK) return rc;
    rc = instantiate(*out, true, err);
    if (rc != AO_OK) {
        host_process_free(*out);
        *out = NULL;
    }
    return rc;
}

static bool unit_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    for (size_t i = 0; i < 4096 / 8; i += 4)
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3]) return false;
    return true;
}

/* Replace the memory with bytes (grown as needed; never smaller than the
 * instance's initial memory). Only the non-zero 4 KiB units are written
 * into a memory first emptied: untouched memory stays unallocated. */
static int load_memory(host_process *p, const uint8_t *mem, size_t len, ao_error *err)
{
    uint64_t cur = wasm_memory_size(p->mem);
    if (len % 65536)
        return ao_err_set(err, AO_EINVAL, "host: memory image is not a whole number of pages");
    if (len < cur)
        return ao_err_set(err, AO_EINVAL, "host: memory image (%zu bytes) smaller than the initial memory",
                          len);
    if (len > cur && wasm_memory_grow(p->mem, (len - cur) / 65536) < 0)
        return ao_err_set(err, AO_ELIMIT, "host: memory image of %zu bytes exceeds the memory limit", len);
    uint8_t *d = wasm_memory_data(p->mem);
    if (((uintptr_t)mem & 7) || madvise(d, len, MADV_DONTNEED) != 0) {
        memcpy(d, mem, len);
        return AO_OK;
    }
    for (size_t off = 0; off < len; off += 4096)
        if (!unit_zero(mem + off)) memcpy(d + off, mem + off, 4096);
    return AO_OK;
}

int host_process_new_from_memory(const host_module *m, const host_limits *limits,
                                 const uint8_t *mem, size_t len, host_process **out, ao_error *err)
{
    int rc = process_alloc(m, limits, out, err);
    if (rc == AO_OK) rc = instantiate(*out, false, err);
    if (rc == AO_OK) rc = load_memory(*out, mem, len, err);
    if (rc != AO_OK && *out) {
        host_process_free(*out);
        *out = NULL;
    }
    return rc;
}

void host_process_free(host_process *p)
{
    if (!p) return;
    teardown(p);
    ao_buf_free(&p->out);
    free(p);
}

const uint8_t *host_process_memory(host_process *p, size_t *len)
{
    *len = p->mem ? (size_t)wasm_memory_size(p->mem) : 0;
    return p->mem ? wasm_memory_view(p->mem) : NULL;
}

int host_process_snapshot(host_process *p, ao_buf *out, ao_error *err)
{
    if (!p->inst) return ao_err_set(err, AO_ESTATE, "host: process has no instance");
    return wasm_instance_snapshot(p->inst, out, err);
}

int host_process_new_from_snapshot(const host_module *m, const host_limits *limits,
                                   const uint8_t *snap, size_t len, host_process **out,
                                   ao_error *err)
{
    int rc = process_alloc(m, limits, out, err);
    if (rc == AO_OK) rc = instantiate(*out, false, err);
    if (rc == AO_OK) rc = wasm_instance_restore((*out)->inst, snap, len, err);
    if (rc != AO_OK && *out) {
        host_process_free(*out);
        *out = NULL;
    }
    return rc;
}

int host_process_restore(host_process *p, const uint8_t *snap, size_t len, ao_error *err)
{
    teardown(p);
    int rc = instantiate(p, false, err);
    if (rc == AO_OK) rc = wasm_instance_restore(p->inst, snap, len, err);
    return rc;
}

/* ---- one message ---- */

static char *trap_text(const wasm_trap *t)
{
    const char *what;
    char buf[AO_ERRMSG_MAX + 32];
    switch (t->code) {
    case WASM_TRAP_OUT_OF_GAS: what = "out of gas"; break;
    case WASM_TRAP_OUT_OF_MEMORY: what = "out of memory"; break;
    default:
        snprintf(buf, sizeof buf, "trap: %s", t->msg[0] ? t->msg : wasm_trap_name(t->code));
        what = buf;
    }
    return strdup(what);
}

/* Copy the NUL-terminated string at addr. */
static char *read_cstr(host_process *p, uint64_t addr)
{
    uint64_t size = wasm_memory_size(p->mem);
    if (addr >= size) return NULL;
    const uint8_t *d = wasm_memory_view(p->mem) + addr;
    const uint8_t *nul = memchr(d, 0, size - addr);
    if (!nul) return NULL;
    return strndup((const char *)d, (size_t)(nul - d));
}

/* Stack left free for handle() itself when the arguments are written. */
#define HOST_STACK_HEADROOM (256u * 1024)

static int write_arg(host_process *p, const char *s, uint64_t *ptr, wasm_trap *trap)
{
    size_t n = strlen(s) + 1;
    if (n > UINT32_MAX / 2) { trap->code = WASM_TRAP_HOST; strcpy(trap->msg, "argument too large"); return AO_ETRAP; }
    uint64_t sz = n;
    if (p->f_stack_end) {
        /* the module tells where its stack ends: refuse an argument that
         * would not leave HOST_STACK_HEADROOM bytes for the call itself */
        uint64_t end = 0, sp = 0;
        int rc = host__call(p, p->f_stack_end, NULL, 0, &end, trap);
        if (rc == AO_OK) rc = host__stack_save(p, &sp, trap);
        if (rc != AO_OK) return rc;
        if (sp < end || sp - end < (uint64_t)n + 16 + HOST_STACK_HEADROOM) {
            trap->code = WASM_TRAP_HOST;
            snprintf(trap->msg, sizeof trap->msg,
                     "message too large for the module's stack (%zu bytes, %llu free)", n - 1,
                     (unsigned long long)(sp >= end ? sp - end : 0));
            return AO_ETRAP;
        }
    }
    int rc = host__call(p, p->f_stack_alloc, &sz, 1, ptr, trap);
    if (rc != AO_OK) return rc;
    uint64_t size = wasm_memory_size(p->mem);
    if (*ptr > size || n > size - *ptr) {
        trap->code = WASM_TRAP_MEMORY_OOB;
        snprintf(trap->msg, sizeof trap->msg, "argument does not fit on the module's stack");
        return AO_ETRAP;
    }
    memcpy(wasm_memory_data(p->mem) + *ptr, s, n);
    return AO_OK;
}

/* Build the §4.2 result from the module's response (may be NULL). */
static int build_result(host_result *out, const cJSON *resp, const char *error, uint64_t gas)
{
    cJSON *r = cJSON_CreateObject();
    if (!r) return AO_ENOMEM;
    const char *keys[] = {"Messages", "Spawns", "Assignments"};
    for (int i = 0; i < 3; i++) {
        const cJSON *v = resp ? cJSON_GetObjectItemCaseSensitive(resp, keys[i]) : NULL;
        cJSON *c = v && cJSON_IsArray(v) ? cJSON_Duplicate(v, 1) : cJSON_CreateArray();
        if (!c || !cJSON_AddItemToObject(r, keys[i], c)) { cJSON_Delete(c); cJSON_Delete(r); return AO_ENOMEM; }
    }
    const cJSON *o = resp ? cJSON_GetObjectItemCaseSensitive(resp, "Output") : NULL;
    cJSON *oc = o && !cJSON_IsNull(o) ? cJSON_Duplicate(o, 1) : cJSON_CreateString("");
    if (!oc || !cJSON_AddItemToObject(r, "Output", oc)) { cJSON_Delete(oc); cJSON_Delete(r); return AO_ENOMEM; }
    if (error && !cJSON_AddStringToObject(r, "Error", error)) { cJSON_Delete(r); return AO_ENOMEM; }
    if (!cJSON_AddNumberToObject(r, "GasUsed", (double)gas)) { cJSON_Delete(r); return AO_ENOMEM; }
    out->json = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    return out->json ? AO_OK : AO_ENOMEM;
}

/* A JSON value as error text: strings as they are, others printed. */
static char *value_text(const cJSON *v)
{
    if (!v) return strdup("(no error message)");
    if (cJSON_IsString(v)) return strdup(v->valuestring);
    return cJSON_PrintUnformatted(v);
}

/* The CU's other rollback rule: an Output (string, or its data) ending in
 * "not enough memory for buffer allocation" keeps the previous memory. */
static bool output_out_of_memory(const cJSON *o)
{
    static const char tail[] = "not enough memory for buffer allocation";
    if (cJSON_IsObject(o)) o = cJSON_GetObjectItemCaseSensitive(o, "data");
    if (!cJSON_IsString(o)) return false;
    size_t n = strlen(o->valuestring), t = sizeof tail - 1;
    return n >= t && memcmp(o->valuestring + n - t, tail, t) == 0;
}

/* A result bigger than HOST_MAX_RESULT_BYTES, or an outbox (Messages +
 * Spawns + Assignments) longer than HOST_MAX_OUTBOX, is an Error (rolled
 * back like any other): one hostile message cannot make its CU hold, store
 * and serve unbounded results, nor its MU push a flood. */
static char *result_over_limits(const char *text, const cJSON *resp)
{
    char msg[160];
    size_t len = strlen(text);
    if (len > HOST_MAX_RESULT_BYTES) {
        snprintf(msg, sizeof msg, "result too large: %zu bytes, the limit is %u bytes", len,
                 (unsigned)HOST_MAX_RESULT_BYTES);
        return strdup(msg);
    }
    int n = 0;
    static const char *const boxes[] = {"Messages", "Spawns", "Assignments"};
    for (size_t i = 0; resp && i < 3; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(resp, boxes[i]);
        if (cJSON_IsArray(a)) n += cJSON_GetArraySize(a);
    }
    if (n > HOST_MAX_OUTBOX) {
        snprintf(msg, sizeof msg, "outbox too large: %d Messages, Spawns and Assignments, the limit is %d", n,
                 HOST_MAX_OUTBOX);
        return strdup(msg);
    }
    return NULL;
}

int host_process_handle(host_process *p, const char *msg_json, const char *env_json,
                        host_result *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    if (!p || !msg_json || !env_json)
        return ao_err_set(err, AO_EINVAL, "host: handle needs a process, msg and env");
    if (!p->inst)
        return ao_err_set(err, AO_ESTATE, "host: the process has no instance (an earlier rollback failed)");
    /* mark the state: on an Error it comes back exactly (memory bytes and
     * size, globals, table), at a cost proportional to the pages written */
    int trc = wasm_instance_txn_begin(p->inst, err);
    if (trc != AO_OK) return trc;

    p->now_ms = 10000;
    p->metered_gas = 0;
    ao_buf_reset(&p->out);
    wasm_store_set_gas_used(p->s, 0);
    wasm_store_set_gas_limit(p->s, p->lim.compute_limit ? p->lim.compute_limit : UINT64_MAX);

    wasm_trap trap = {0};
    uint64_t sp = 0, pm = 0, pe = 0, ret = 0;
    char *error = NULL, *text = NULL;
    int rc = host__stack_save(p, &sp, &trap);
    if (rc == AO_OK) rc = write_arg(p, msg_json, &pm, &trap);
    if (rc == AO_OK) rc = write_arg(p, env_json, &pe, &trap);
    if (rc == AO_OK) {
        uint64_t a[2] = {pm, pe};
        rc = host__call(p, p->f_handle, a, 2, &ret, &trap);
    }
    out->gas_used = wasm_store_gas_used(p->s) + p->metered_gas;
    wasm_store_set_gas_limit(p->s, UINT64_MAX);
    if (rc == AO_OK) {
        text = read_cstr(p, ret);
        rc = host__stack_restore(p, sp, &trap);
    }
    cJSON *doc = NULL;
    const cJSON *resp = NULL;
    bool trapped = rc != AO_OK, lost_memory = false;
    if (rc != AO_OK) {
        error = trap_text(&trap);
    } else if (!text || !*text) {
        error = strdup("the module returned no result");
    } else if (!(doc = cJSON_Parse(text))) {
        error = strdup("the module's result is not JSON");
    } else {
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(doc, "ok");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(doc, "response");
        if (!cJSON_IsTrue(ok)) {
            error = value_text(r);
        } else {
            resp = cJSON_IsObject(r) ? r : NULL;
            const cJSON *e = resp ? cJSON_GetObjectItemCaseSensitive(resp, "Error") : NULL;
            if (e && !cJSON_IsNull(e))
                error = value_text(e);
            else if (resp && output_out_of_memory(cJSON_GetObjectItemCaseSensitive(resp, "Output")))
                lost_memory = true;
            else if ((error = result_over_limits(text, resp)) != NULL)
                resp = NULL;   /* nothing of it goes out */
        }
    }
    out->raw = text;
    out->stdout_text = strndup(p->out.data ? (const char *)p->out.data : "", p->out.len);
    int brc = build_result(out, resp, error, out->gas_used);
    cJSON_Delete(doc);
    if (error) {
        out->error = error;
    }
    if ((error && (!p->no_rollback || trapped)) || lost_memory)
        wasm_instance_txn_rollback(p->inst);
    else
        wasm_instance_txn_commit(p->inst);
    if (brc != AO_OK || !out->stdout_text) {
        host_result_free(out);
        return ao_err_set(err, AO_ENOMEM, "host: out of memory for the result");
    }
    return AO_OK;
}

void host_process_set_rollback(host_process *p, bool on) { p->no_rollback = !on; }

void host_result_free(host_result *r)
{
    if (!r) return;
    free(r->json);
    free(r->error);
    free(r->stdout_text);
    free(r->raw);
    memset(r, 0, sizeof *r);
}
