/*
 * test_spec.c - runs the official WebAssembly core test suite (wast2json
 * form: NAME.json + NAME.N.wasm) against the engine, through the public API
 * of src/wasm/wasm.h only.
 *
 * Usage: test_spec [-v] [PATH...]
 *   PATH is a .json script or a folder of them; a relative PATH that does not
 *   exist is also looked up under SHARED/wasm-spec/. Without PATH it runs
 *   SHARED/wasm-spec/core and SHARED/wasm-spec/memory64, where SHARED is
 *   $AO_SHARED (set by the Makefile), else ../shared from the repo root.
 *   -v prints every failure (not only the first few per script) and notes
 *   (trap text differences, malformed modules refused as invalid).
 *
 * Every command that checks something has its own count: module (must load
 * and instantiate), module_definition, action (must not trap) and every
 * assert_*. Text-format (.wat) modules are counted as skipped.
 *
 * Each script runs in a fresh wasm_store, in a child process, so that an
 * engine crash or hang in one script is reported (the commands not run are
 * counted as failed) and the other scripts still run.
 *
 * tests/wasm/spec_known_failures.txt may list scripts that are known to fail
 * ("folder/NAME.json COUNT" per line): up to COUNT failures of such a script
 * are reported loudly as "known failures" and counted apart; more than COUNT
 * are real failures.
 *
 * With AO_WASM_TIER=compiled (wasm.h) every module runs on the compiled
 * tier; each module is named on a line "compiled: FILE", or
 * "interpreted: FILE: REASON" if the tier does not take it
 * (tests/wasm/test_spec_compiled.sh).
 *
 * Final line: "N passed, N failed, N skipped"; exit status 1 if any failed.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "wasm/wasm.h"
#include "vectors.h"

#define MAX_SHOWN_FAILURES 15
#define KNOWN_FAILURES_FILE "tests/wasm/spec_known_failures.txt"

/* Counts of one script; lives in shared memory so the parent still sees
 * them if the child dies. */
typedef struct spec_counts {
    long passed, failed, skipped, notes;
    long done;      /* commands handled so far */
    long total;     /* commands that count */
    long line;      /* line of the command being run */
} spec_counts;

typedef struct spec_named {
    char *name;
    wasm_instance *inst;
} spec_named;

typedef struct spec_runner {
    bool verbose;
    const char *dir;      /* folder of the script */
    const char *script;   /* display name, e.g. core/i32.json */
    spec_counts *cnt;
    long shown;

    wasm_store *store;
    wasm_module **mods;
    size_t nmods, capmods;
    wasm_instance *current;
    spec_named *named;     /* "$M" -> instance */
    size_t nnamed;
    spec_named *reg;       /* "as" -> instance */
    size_t nreg;

    /* the spectest host module */
    struct {
        const char *name;
        wasm_extern ext;
        bool ok;
    } spectest[16];
    size_t nspectest;
} spec_runner;

/* ---------------------------------------------------------------- util */

static void spec_fail(spec_runner *r, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void spec_fail(spec_runner *r, long line, const char *fmt, ...)
{
    r->cnt->failed++;
    if (!r->verbose && r->shown >= MAX_SHOWN_FAILURES) {
        if (r->shown == MAX_SHOWN_FAILURES)
            printf("  %s: more failures not shown (use -v)\n", r->script);
        r->shown++;
        return;
    }
    r->shown++;
    va_list ap;
    va_start(ap, fmt);
    printf("  FAIL %s:%ld: ", r->script, line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static void spec_note(spec_runner *r, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void spec_note(spec_runner *r, long line, const char *fmt, ...)
{
    r->cnt->notes++;
    if (!r->verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("  note %s:%ld: ", r->script, line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

static const char *spec_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}


static int spec_type_of(const char *s)
{
    if (!s) return -1;
    if (!strcmp(s, "i32")) return WASM_I32;
    if (!strcmp(s, "i64")) return WASM_I64;
    if (!strcmp(s, "f32")) return WASM_F32;
    if (!strcmp(s, "f64")) return WASM_F64;
    if (!strcmp(s, "funcref")) return WASM_FUNCREF;
    if (!strcmp(s, "externref")) return WASM_EXTERNREF;
    return -1;
}

static void spec_fmt_val(const wasm_val *v, char *out, size_t n)
{
    switch (v->type) {
    case WASM_I32: case WASM_F32:
        snprintf(out, n, "%s:0x%08" PRIx32, wasm_valtype_name(v->type), v->of.i32);
        break;
    case WASM_I64: case WASM_F64:
        snprintf(out, n, "%s:0x%016" PRIx64, wasm_valtype_name(v->type), v->of.i64);
        break;
    case WASM_FUNCREF:
        snprintf(out, n, "funcref:%p", (void *)v->of.func);
        break;
    case WASM_EXTERNREF:
        snprintf(out, n, "externref:%p", v->of.ext);
        break;
    default:
        snprintf(out, n, "type-0x%02x", v->type);
    }
}

/* Parses a decimal bit pattern (unsigned; a leading '-' is also taken). */
static bool spec_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    if (s[0] == '-')
        *out = (uint64_t)strtoll(s, &end, 10);
    else
        *out = strtoull(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* An argument value (never a NaN pattern name). */
static bool spec_parse_arg(const cJSON *j, wasm_val *v)
{
    int t = spec_type_of(spec_str(j, "type"));
    const char *s = spec_str(j, "value");
    uint64_t x = 0;
    memset(v, 0, sizeof *v);
    if (t < 0 || !s) return false;
    v->type = (uint8_t)t;
    switch (t) {
    case WASM_I32: case WASM_F32:
        if (!spec_parse_u64(s, &x)) return false;
        v->of.i32 = (uint32_t)x;
        return true;
    case WASM_I64: case WASM_F64:
        if (!spec_parse_u64(s, &x)) return false;
        v->of.i64 = x;
        return true;
    case WASM_FUNCREF:
        if (strcmp(s, "null")) return false;   /* only null is expressible */
        v->of.func = NULL;
        return true;
    case WASM_EXTERNREF:
        if (!strcmp(s, "null")) { v->of.ext = NULL; return true; }
        if (!spec_parse_u64(s, &x)) return false;
        v->of.ext = (void *)(uintptr_t)(x + 1);
        return true;
    }
    return false;
}

/* Does result v match the expected JSON value? */
static bool spec_match(const cJSON *j, const wasm_val *v, char *why, size_t n)
{
    int t = spec_type_of(spec_str(j, "type"));
    const char *s = spec_str(j, "value");
    char got[64];
    spec_fmt_val(v, got, sizeof got);
    if (t < 0) {
        snprintf(why, n, "unsupported expected type '%s'", spec_str(j, "type") ? spec_str(j, "type") : "?");
        return false;
    }
    if (v->type != t) {
        snprintf(why, n, "expected a %s, got %s", wasm_valtype_name((uint8_t)t), got);
        return false;
    }
    if (t == WASM_F32 && s && !strncmp(s, "nan:", 4)) {
        uint32_t b = v->of.f32;
        bool ok = !strcmp(s, "nan:canonical") ? (b & 0x7fffffffu) == 0x7fc00000u
                                               : (b & 0x7fc00000u) == 0x7fc00000u;
        if (!ok) snprintf(why, n, "expected %s, got %s", s, got);
        return ok;
    }
    if (t == WASM_F64 && s && !strncmp(s, "nan:", 4)) {
        uint64_t b = v->of.f64;
        bool ok = !strcmp(s, "nan:canonical")
                      ? (b & 0x7fffffffffffffffull) == 0x7ff8000000000000ull
                      : (b & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
        if (!ok) snprintf(why, n, "expected %s, got %s", s, got);
        return ok;
    }
    if (!s) {
        /* a reference with no value: any non-null reference */
        bool ok = (t == WASM_FUNCREF) ? v->of.func != NULL
                  : (t == WASM_EXTERNREF) ? v->of.ext != NULL : false;
        if (!ok) snprintf(why, n, "expected a non-null %s, got %s", wasm_valtype_name((uint8_t)t), got);
        return ok;
    }
    wasm_val e;
    if (!spec_parse_arg(j, &e)) {
        snprintf(why, n, "cannot parse expected value '%s'", s);
        return false;
    }
    bool ok;
    switch (t) {
    case WASM_I32: case WASM_F32: ok = v->of.i32 == e.of.i32; break;
    case WASM_I64: case WASM_F64: ok = v->of.i64 == e.of.i64; break;
    case WASM_FUNCREF: ok = v->of.func == e.of.func; break;
    default: ok = v->of.ext == e.of.ext; break;
    }
    if (!ok) {
        char exp[64];
        spec_fmt_val(&e, exp, sizeof exp);
        snprintf(why, n, "expected %s, got %s", exp, got);
    }
    return ok;
}

/* ------------------------------------------------------- spectest host */

static int spec_host_nop(wasm_call_ctx *ctx, void *user, const wasm_val *args, wasm_val *results)
{
    (void)ctx; (void)user; (void)args; (void)results;
    return 0;
}

static void spec_add_host(spec_runner *r, const char *name, wasm_extern ext, int rc)
{
    size_t i = r->nspectest++;
    r->spectest[i].name = name;
    r->spectest[i].ext = ext;
    r->spectest[i].ok = rc == AO_OK;
}

static void spec_make_spectest(spec_runner *r)
{
    static const uint8_t p_i32[] = { WASM_I32 }, p_i64[] = { WASM_I64 },
                         p_f32[] = { WASM_F32 }, p_f64[] = { WASM_F64 },
                         p_i32_f32[] = { WASM_I32, WASM_F32 },
                         p_f64_f64[] = { WASM_F64, WASM_F64 };
    static const struct { const char *name; uint32_t n; const uint8_t *p; } fns[] = {
        { "print", 0, NULL },          { "print_i32", 1, p_i32 },
        { "print_i64", 1, p_i64 },     { "print_f32", 1, p_f32 },
        { "print_f64", 1, p_f64 },     { "print_i32_f32", 2, p_i32_f32 },
        { "print_f64_f64", 2, p_f64_f64 },
    };
    wasm_extern ext;
    int rc;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        wasm_functype ft = { fns[i].n, 0, fns[i].p, NULL };
        memset(&ext, 0, sizeof ext);
        ext.kind = WASM_EXTERN_FUNC;
        rc = wasm_func_new_host(r->store, &ft, spec_host_nop, NULL, &ext.of.func, NULL);
        spec_add_host(r, fns[i].name, ext, rc);
    }
    static const struct { const char *name; uint8_t type; uint64_t bits; } gl[] = {
        { "global_i32", WASM_I32, 666 },
        { "global_i64", WASM_I64, 666 },
        { "global_f32", WASM_F32, 0x4426a666u },            /* 666.6f */
        { "global_f64", WASM_F64, 0x4084d4cccccccccdull },  /* 666.6 */
    };
    for (size_t i = 0; i < sizeof gl / sizeof gl[0]; i++) {
        wasm_val v;
        memset(&v, 0, sizeof v);
        v.type = gl[i].type;
        if (gl[i].type == WASM_I32 || gl[i].type == WASM_F32)
            v.of.i32 = (uint32_t)gl[i].bits;
        else
            v.of.i64 = gl[i].bits;
        memset(&ext, 0, sizeof ext);
        ext.kind = WASM_EXTERN_GLOBAL;
        rc = wasm_global_new(r->store, &v, false, &ext.of.global, NULL);
        spec_add_host(r, gl[i].name, ext, rc);
    }
    wasm_limits tl = { 10, 20, true, false };
    memset(&ext, 0, sizeof ext);
    ext.kind = WASM_EXTERN_TABLE;
    rc = wasm_table_new(r->store, WASM_FUNCREF, &tl, &ext.of.table, NULL);
    spec_add_host(r, "table", ext, rc);
    wasm_limits tl64 = { 10, 20, true, true };
    memset(&ext, 0, sizeof ext);
    ext.kind = WASM_EXTERN_TABLE;
    rc = wasm_table_new(r->store, WASM_FUNCREF, &tl64, &ext.of.table, NULL);
    spec_add_host(r, "table64", ext, rc);
    wasm_limits ml = { 1, 2, true, false };
    memset(&ext, 0, sizeof ext);
    ext.kind = WASM_EXTERN_MEMORY;
    rc = wasm_memory_new(r->store, &ml, &ext.of.memory, NULL);
    spec_add_host(r, "memory", ext, rc);
}

/* ---------------------------------------------------- modules, linking */

static wasm_instance *spec_find(spec_named *tab, size_t n, const char *name)
{
    for (size_t i = n; i-- > 0;)   /* the latest binding wins */
        if (!strcmp(tab[i].name, name))
            return tab[i].inst;
    return NULL;
}

static bool spec_bind(spec_named **tab, size_t *n, const char *name, wasm_instance *inst)
{
    spec_named *t = realloc(*tab, (*n + 1) * sizeof *t);
    if (!t) return false;
    *tab = t;
    t[*n].name = strdup(name);
    if (!t[*n].name) return false;
    t[*n].inst = inst;
    (*n)++;
    return true;
}

/* Decodes file; the module is kept (freed after the store). */
static int spec_load(spec_runner *r, const char *file, wasm_module **out, ao_error *err)
{
    *out = NULL;
    if (!file) return ao_err_set(err, AO_EINVAL, "command has no filename");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", r->dir, file);
    ao_buf b;
    ao_buf_init(&b);
    int rc = ao_file_read(path, &b, err);
    if (rc != AO_OK) {
        ao_buf_free(&b);
        return rc;
    }
    wasm_module *m = NULL;
    ao_err_clear(err);
    rc = wasm_module_new(b.data ? b.data : (const uint8_t *)"", b.len, &m, err);
    ao_buf_free(&b);
    if (rc != AO_OK) {
        if (rc > 0 || rc == 0) rc = AO_EINVAL;
        return rc;
    }
    if (!m) return ao_err_set(err, AO_ESTATE, "wasm_module_new returned AO_OK but no module");
    if (wasm_tier_default() == WASM_TIER_COMPILED) {
        /* AO_WASM_TIER=compiled: name the modules and the tier they run on */
        ao_error why;
        ao_err_clear(&why);
        if (wasm_module_compiled(m) || wasm_module_compile(m, NULL, &why) == AO_OK)
            printf("compiled: %s\n", file);
        else
            printf("interpreted: %s: %s\n", file, why.msg);
        fflush(stdout);
    }
    if (r->nmods == r->capmods) {
        size_t nc = r->capmods ? r->capmods * 2 : 16;
        wasm_module **t = realloc(r->mods, nc * sizeof *t);
        if (!t) {
            wasm_module_free(m);
            return ao_err_set(err, AO_ENOMEM, "out of memory");
        }
        r->mods = t;
        r->capmods = nc;
    }
    r->mods[r->nmods++] = m;
    *out = m;
    return AO_OK;
}

/* Resolves the imports of m. Returns false (with a reason) if one is not
 * found: that is a link error. */
static bool spec_resolve(spec_runner *r, const wasm_module *m, wasm_extern *ext, size_t n,
                         char *why, size_t whyn)
{
    for (size_t i = 0; i < n; i++) {
        wasm_import_desc d;
        memset(&d, 0, sizeof d);
        wasm_module_import(m, i, &d);
        const char *mod = d.module ? d.module : "", *name = d.name ? d.name : "";
        memset(&ext[i], 0, sizeof ext[i]);
        wasm_instance *inst = spec_find(r->reg, r->nreg, mod);
        if (inst) {
            if (wasm_instance_export(inst, name, &ext[i]) != AO_OK) {
                snprintf(why, whyn, "unknown import %s.%s", mod, name);
                return false;
            }
            continue;
        }
        if (!strcmp(mod, "spectest")) {
            size_t k;
            for (k = 0; k < r->nspectest; k++)
                if (!strcmp(r->spectest[k].name, name)) break;
            if (k == r->nspectest) {
                snprintf(why, whyn, "unknown import spectest.%s", name);
                return false;
            }
            if (!r->spectest[k].ok) {
                snprintf(why, whyn, "host object spectest.%s could not be created", name);
                return false;
            }
            ext[i] = r->spectest[k].ext;
            continue;
        }
        snprintf(why, whyn, "unknown import %s.%s (module not registered)", mod, name);
        return false;
    }
    return true;
}

/* Instantiates m. Returns AO_OK, a link error (resolve failure or engine
 * error) or AO_ETRAP. */
static int spec_instantiate(spec_runner *r, const wasm_module *m, wasm_instance **out,
                            wasm_trap *trap, char *why, size_t whyn)
{
    size_t n = wasm_module_import_count(m);
    wasm_extern *ext = calloc(n ? n : 1, sizeof *ext);
    *out = NULL;
    memset(trap, 0, sizeof *trap);
    if (!ext) {
        snprintf(why, whyn, "out of memory");
        return AO_ENOMEM;
    }
    if (!spec_resolve(r, m, ext, n, why, whyn)) {
        free(ext);
        return AO_ENOTFOUND;
    }
    ao_error err;
    ao_err_clear(&err);
    int rc = wasm_instantiate(r->store, m, ext, n, out, trap, &err);
    free(ext);
    if (rc == AO_OK && !*out) {
        snprintf(why, whyn, "wasm_instantiate returned AO_OK but no instance");
        return AO_ESTATE;
    }
    if (rc == AO_ETRAP)
        snprintf(why, whyn, "trap: %s (%s)", wasm_trap_name(trap->code), trap->msg);
    else if (rc != AO_OK)
        snprintf(why, whyn, "%s: %s", ao_strerror(rc), err.msg);
    if (rc > 0) rc = AO_EINVAL;
    return rc;
}

/* ------------------------------------------------------------ actions */

typedef struct spec_result {
    int rc;              /* AO_OK, AO_ETRAP, or another error */
    wasm_trap trap;
    wasm_val *vals;
    size_t nvals;
    char why[512];
} spec_result;

static void spec_action(spec_runner *r, const cJSON *act, spec_result *res)
{
    memset(res, 0, sizeof *res);
    res->rc = AO_EINVAL;
    const char *type = spec_str(act, "type"), *field = spec_str(act, "field");
    const char *modname = spec_str(act, "module");
    wasm_instance *inst = modname ? spec_find(r->named, r->nnamed, modname) : r->current;
    if (!type || !field) {
        snprintf(res->why, sizeof res->why, "malformed action");
        return;
    }
    if (!inst) {
        snprintf(res->why, sizeof res->why, "no module instance %s", modname ? modname : "(current)");
        return;
    }
    wasm_extern ext;
    memset(&ext, 0, sizeof ext);
    /* 0xff marks an escaped U+0000 (see spec_mark_nul_escapes) */
    size_t flen = strlen(field);
    char *name = malloc(flen + 1);
    if (!name) {
        snprintf(res->why, sizeof res->why, "out of memory");
        return;
    }
    for (size_t i = 0; i <= flen; i++)
        name[i] = field[i] == (char)0xff ? '\0' : field[i];
    int found = wasm_instance_export_n(inst, name, flen, &ext);
    free(name);
    if (found != AO_OK) {
        snprintf(res->why, sizeof res->why, "no export \"%s\"", field);
        return;
    }
    if (!strcmp(type, "get")) {
        if (ext.kind != WASM_EXTERN_GLOBAL || !ext.of.global) {
            snprintf(res->why, sizeof res->why, "export \"%s\" is not a global", field);
            return;
        }
        res->vals = calloc(1, sizeof *res->vals);
        if (!res->vals) {
            snprintf(res->why, sizeof res->why, "out of memory");
            return;
        }
        wasm_global_get(ext.of.global, &res->vals[0]);
        res->nvals = 1;
        res->rc = AO_OK;
        return;
    }
    if (strcmp(type, "invoke")) {
        snprintf(res->why, sizeof res->why, "unknown action type %s", type);
        return;
    }
    if (ext.kind != WASM_EXTERN_FUNC || !ext.of.func) {
        snprintf(res->why, sizeof res->why, "export \"%s\" is not a function", field);
        return;
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(act, "args");
    size_t nargs = (size_t)cJSON_GetArraySize(args);
    wasm_val *av = calloc(nargs ? nargs : 1, sizeof *av);
    wasm_functype ft;
    memset(&ft, 0, sizeof ft);
    wasm_func_type(ext.of.func, &ft);
    res->nvals = ft.nresults;
    res->vals = calloc(ft.nresults ? ft.nresults : 1, sizeof *res->vals);
    if (!av || !res->vals) {
        free(av);
        snprintf(res->why, sizeof res->why, "out of memory");
        return;
    }
    size_t i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, args) {
        if (!spec_parse_arg(a, &av[i])) {
            free(av);
            snprintf(res->why, sizeof res->why, "cannot parse argument %zu", i);
            return;
        }
        i++;
    }
    ao_error err;
    ao_err_clear(&err);
    res->rc = wasm_func_call(r->store, ext.of.func, av, nargs, res->vals, res->nvals,
                             &res->trap, &err);
    free(av);
    if (res->rc == AO_ETRAP)
        snprintf(res->why, sizeof res->why, "trap: %s (%s)", wasm_trap_name(res->trap.code),
                 res->trap.msg);
    else if (res->rc != AO_OK)
        snprintf(res->why, sizeof res->why, "call failed: %s: %s", ao_strerror(res->rc), err.msg);
}

/* ----------------------------------------------------------- commands */

/* Loose match of the spec's trap text with the engine's: one is a prefix
 * of the other; WASM_TRAP_TABLE_OOB also stands for "undefined element". */
static bool spec_trap_text_matches(wasm_trap_code code, const char *got, const char *text)
{
    if (!got) return false;
    size_t g = strlen(got), t = strlen(text), n = g < t ? g : t;
    if (n > 0 && !strncmp(got, text, n)) return true;
    return code == WASM_TRAP_TABLE_OOB && !strncmp(text, "undefined element", 17);
}

static bool spec_is_text(const cJSON *cmd)
{
    const char *mt = spec_str(cmd, "module_type");
    const char *f = spec_str(cmd, "filename");
    if (mt && !strcmp(mt, "text")) return true;
    size_t n = f ? strlen(f) : 0;
    return n > 4 && !strcmp(f + n - 4, ".wat");
}

static void spec_command(spec_runner *r, const cJSON *cmd)
{
    const char *type = spec_str(cmd, "type");
    const cJSON *lj = cJSON_GetObjectItemCaseSensitive(cmd, "line");
    long line = cJSON_IsNumber(lj) ? (long)lj->valuedouble : 0;
    const char *file = spec_str(cmd, "filename");
    spec_counts *c = r->cnt;
    char why[512] = "";
    ao_error err;
    ao_err_clear(&err);
    wasm_module *m = NULL;
    wasm_instance *inst = NULL;
    wasm_trap trap;
    c->line = line;
    if (!type) {
        spec_fail(r, line, "command without type");
        return;
    }

    if (!strcmp(type, "module") || !strcmp(type, "module_definition")) {
        bool def = !strcmp(type, "module_definition");
        const char *name = spec_str(cmd, "name");
        if (!def) r->current = NULL;  /* later commands must not use a stale one */
        if (spec_is_text(cmd)) {
            c->skipped++;
            return;
        }
        int rc = spec_load(r, file, &m, &err);
        if (rc != AO_OK) {
            spec_fail(r, line, "module %s does not load: %s: %s", file, ao_strerror(rc), err.msg);
            return;
        }
        if (def) {
            c->passed++;
            return;
        }
        rc = spec_instantiate(r, m, &inst, &trap, why, sizeof why);
        if (rc != AO_OK) {
            spec_fail(r, line, "module %s does not instantiate: %s", file, why);
            return;
        }
        r->current = inst;
        if (name && !spec_bind(&r->named, &r->nnamed, name, inst)) {
            spec_fail(r, line, "out of memory");
            return;
        }
        c->passed++;
        return;
    }
    if (!strcmp(type, "register")) {
        const char *name = spec_str(cmd, "name"), *as = spec_str(cmd, "as");
        inst = name ? spec_find(r->named, r->nnamed, name) : r->current;
        if (!inst || !as) {
            spec_fail(r, line, "register: no module instance %s", name ? name : "(current)");
            return;
        }
        if (!spec_bind(&r->reg, &r->nreg, as, inst))
            spec_fail(r, line, "out of memory");
        return;   /* not a check of its own */
    }
    if (!strcmp(type, "action") || !strcmp(type, "assert_return") ||
        !strcmp(type, "assert_trap") || !strcmp(type, "assert_exhaustion")) {
        const cJSON *act = cJSON_GetObjectItemCaseSensitive(cmd, "action");
        const char *field = act ? spec_str(act, "field") : NULL;
        spec_result res;
        spec_action(r, act, &res);
        if (!strcmp(type, "action") || !strcmp(type, "assert_return")) {
            if (res.rc != AO_OK) {
                spec_fail(r, line, "%s \"%s\": %s", type, field ? field : "?", res.why);
            } else if (!strcmp(type, "action")) {
                c->passed++;
            } else {
                const cJSON *exp = cJSON_GetObjectItemCaseSensitive(cmd, "expected");
                size_t ne = (size_t)cJSON_GetArraySize(exp);
                bool ok = ne == res.nvals;
                if (!ok)
                    snprintf(why, sizeof why, "expected %zu results, got %zu", ne, res.nvals);
                size_t i = 0;
                const cJSON *e;
                cJSON_ArrayForEach(e, exp) {
                    if (!ok) break;
                    char w[256];
                    if (!spec_match(e, &res.vals[i], w, sizeof w)) {
                        ok = false;
                        snprintf(why, sizeof why, "result %zu: %s", i, w);
                    }
                    i++;
                }
                if (ok)
                    c->passed++;
                else
                    spec_fail(r, line, "assert_return \"%s\": %s", field ? field : "?", why);
            }
        } else {
            const char *text = spec_str(cmd, "text");
            bool exh = !strcmp(type, "assert_exhaustion");
            if (res.rc != AO_ETRAP) {
                spec_fail(r, line, "%s \"%s\": expected trap \"%s\", got %s", type,
                          field ? field : "?", text ? text : "",
                          res.rc == AO_OK ? "a normal return" : res.why);
            } else if (exh && res.trap.code != WASM_TRAP_STACK_EXHAUSTED) {
                spec_fail(r, line, "assert_exhaustion \"%s\": expected \"call stack exhausted\", got %s",
                          field ? field : "?", res.why);
            } else {
                const char *got = wasm_trap_name(res.trap.code);
                if (text && !spec_trap_text_matches(res.trap.code, got, text))
                    spec_note(r, line, "trap text: expected \"%s\", engine says \"%s\"", text,
                              got ? got : "(null)");
                c->passed++;
            }
        }
        free(res.vals);
        return;
    }
    if (!strcmp(type, "assert_malformed") || !strcmp(type, "assert_invalid")) {
        bool malformed = !strcmp(type, "assert_malformed");
        if (spec_is_text(cmd)) {
            c->skipped++;
            return;
        }
        int rc = spec_load(r, file, &m, &err);
        if (rc == AO_OK) {
            spec_fail(r, line, "%s %s (\"%s\"): the module was accepted", type, file,
                      spec_str(cmd, "text") ? spec_str(cmd, "text") : "");
            return;
        }
        if (rc == AO_EIO || rc == AO_ENOTFOUND) {
            spec_fail(r, line, "%s: cannot read %s: %s", type, file, err.msg);
            return;
        }
        if (malformed && rc != AO_EFORMAT)
            spec_note(r, line, "malformed module %s refused with %s, not EFORMAT: %s", file,
                      ao_strerror(rc), err.msg);
        if (!malformed && rc != AO_EINVAL)
            spec_note(r, line, "invalid module %s refused with %s, not EINVAL: %s", file,
                      ao_strerror(rc), err.msg);
        c->passed++;
        return;
    }
    if (!strcmp(type, "assert_unlinkable") || !strcmp(type, "assert_uninstantiable")) {
        bool unlinkable = !strcmp(type, "assert_unlinkable");
        if (spec_is_text(cmd)) {
            c->skipped++;
            return;
        }
        int rc = spec_load(r, file, &m, &err);
        if (rc != AO_OK) {
            spec_fail(r, line, "%s: module %s does not load: %s: %s", type, file,
                      ao_strerror(rc), err.msg);
            return;
        }
        rc = spec_instantiate(r, m, &inst, &trap, why, sizeof why);
        if (rc == AO_OK)
            spec_fail(r, line, "%s %s: instantiation succeeded", type, file);
        else if (unlinkable && rc == AO_ETRAP)
            spec_fail(r, line, "assert_unlinkable %s: expected a link error, got %s", file, why);
        else if (!unlinkable && rc != AO_ETRAP)
            spec_fail(r, line, "assert_uninstantiable %s: expected a trap, got %s", file, why);
        else
            c->passed++;
        return;
    }
    spec_fail(r, line, "unknown command type %s", type);
}

static bool spec_counts_command(const cJSON *cmd)
{
    const char *type = spec_str(cmd, "type");
    return type && strcmp(type, "register");
}

/* cJSON's strings are NUL-terminated, so a name holding U+0000 would be
 * cut short. Such escapes ("\u0000") are replaced by a 0xff byte (never
 * part of valid UTF-8, hence of a wasm name) before parsing, and turned back
 * into U+0000 when the name is looked up (wasm_instance_export_n). */
static void spec_mark_nul_escapes(char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        if (r[0] == '\\' && r[1] == 'u' && !strncmp(r + 2, "0000", 4)) {
            *w++ = (char)0xff;
            r += 6;
        } else if (r[0] == '\\' && r[1]) {
            *w++ = *r++;
            *w++ = *r++;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* Runs one script inside the current process. */
static void spec_run_script(const char *path, const char *dir, const char *display,
                            bool verbose, spec_counts *cnt)
{
    spec_runner r;
    memset(&r, 0, sizeof r);
    r.verbose = verbose;
    r.dir = dir;
    r.script = display;
    r.cnt = cnt;
    ao_buf b;
    ao_error err;
    ao_buf_init(&b);
    if (ao_file_read(path, &b, &err) != AO_OK || ao_buf_append_byte(&b, 0) != AO_OK) {
        spec_fail(&r, 0, "cannot read script: %s", err.msg);
        ao_buf_free(&b);
        return;
    }
    spec_mark_nul_escapes((char *)b.data);
    cJSON *root = cJSON_Parse((const char *)b.data);
    ao_buf_free(&b);
    const cJSON *cmds = cJSON_GetObjectItemCaseSensitive(root, "commands");
    if (!cJSON_IsArray(cmds)) {
        spec_fail(&r, 0, "not a wast2json script");
        cJSON_Delete(root);
        return;
    }
    const cJSON *cmd;
    cJSON_ArrayForEach(cmd, cmds)
        if (spec_counts_command(cmd)) cnt->total++;
    if (wasm_store_new(&r.store, &err) != AO_OK || !r.store) {
        spec_fail(&r, 0, "wasm_store_new: %s", err.msg);
        cJSON_Delete(root);
        return;
    }
    spec_make_spectest(&r);
    cJSON_ArrayForEach(cmd, cmds) {
        spec_command(&r, cmd);
        if (spec_counts_command(cmd)) cnt->done++;
    }
    wasm_store_free(r.store);
    for (size_t i = 0; i < r.nmods; i++)
        wasm_module_free(r.mods[i]);
    free(r.mods);
    for (size_t i = 0; i < r.nnamed; i++) free(r.named[i].name);
    for (size_t i = 0; i < r.nreg; i++) free(r.reg[i].name);
    free(r.named);
    free(r.reg);
    cJSON_Delete(root);
}

/* ------------------------------------------------------------- driver */

typedef struct spec_known {
    char name[256];
    long count;
    bool seen;
} spec_known;

typedef struct spec_totals {
    long passed, failed, skipped, known, notes, scripts;
    spec_known *known_list;
    size_t nknown;
    bool verbose;
    unsigned timeout;
} spec_totals;

static void spec_load_known(spec_totals *t)
{
    FILE *f = fopen(KNOWN_FAILURES_FILE, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char name[256];
        long count;
        if (line[0] == '#' || sscanf(line, "%255s %ld", name, &count) != 2) continue;
        spec_known *k = realloc(t->known_list, (t->nknown + 1) * sizeof *k);
        if (!k) break;
        t->known_list = k;
        snprintf(k[t->nknown].name, sizeof k[t->nknown].name, "%s", name);
        k[t->nknown].count = count;
        k[t->nknown].seen = false;
        t->nknown++;
    }
    fclose(f);
}

static void spec_run_file(spec_totals *t, const char *path)
{
    /* folder of the script, and "folder/NAME.json" as its display name */
    char dir[4096], display[512];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = path;
    if (slash) {
        *slash = '\0';
        base = slash + 1;
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    const char *parent = strrchr(dir, '/');
    parent = parent ? parent + 1 : dir;
    if (snprintf(display, sizeof display, "%s/%s", parent, base) >= (int)sizeof display)
        display[sizeof display - 1] = '\0';

    spec_counts *cnt = mmap(NULL, sizeof *cnt, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (cnt == MAP_FAILED) {
        printf("  FAIL %s: mmap failed\n", display);
        t->failed++;
        return;
    }
    memset(cnt, 0, sizeof *cnt);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(t->timeout);
        spec_run_script(path, dir, display, t->verbose, cnt);
        fflush(stdout);
        exit(0);
    }
    int status = 0;
    if (pid < 0) {
        spec_run_script(path, dir, display, t->verbose, cnt);   /* no fork: run here */
    } else {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    }
    spec_counts c = *cnt;
    munmap(cnt, sizeof *cnt);
    if (pid > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        long lost = c.total - c.done;
        if (lost < 1) lost = 1;
        if (WIFSIGNALED(status))
            printf("  FAIL %s:%ld: the runner died (signal %d%s) at this command; "
                   "%ld command(s) not run counted as failed\n",
                   display, c.line, WTERMSIG(status),
                   WTERMSIG(status) == SIGALRM ? ", timeout" : "", lost);
        else
            printf("  FAIL %s: the runner exited with status %d (sanitizer report above?); "
                   "counted as %ld failure(s)\n", display, WEXITSTATUS(status), lost);
        c.failed += lost;
    }
    long known = 0;
    for (size_t i = 0; i < t->nknown; i++) {
        spec_known *k = &t->known_list[i];
        if (strcmp(k->name, display)) continue;
        k->seen = true;
        if (c.failed == 0) {
            printf("  !! %s is listed in %s (%ld) but now passes: remove it from the list\n",
                   display, KNOWN_FAILURES_FILE, k->count);
        } else if (c.failed <= k->count) {
            known = c.failed;
            c.failed = 0;
        } else {
            printf("  !! %s: %ld failures, more than the %ld listed as known\n", display,
                   c.failed, k->count);
        }
    }
    printf("%-36s %6ld passed %6ld failed %6ld skipped", display, c.passed, c.failed, c.skipped);
    if (known) printf("  %ld KNOWN FAILURES", known);
    if (c.notes) printf("  (%ld notes)", c.notes);
    printf("\n");
    t->passed += c.passed;
    t->failed += c.failed;
    t->skipped += c.skipped;
    t->known += known;
    t->notes += c.notes;
    t->scripts++;
}

static int spec_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void spec_run_dir(spec_totals *t, const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        printf("  FAIL %s: cannot open folder\n", path);
        t->failed++;
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json")) continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn) break;
        names = nn;
        names[n] = malloc(strlen(path) + l + 2);
        if (!names[n]) break;
        sprintf(names[n], "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, spec_cmp);
    if (n == 0) {
        printf("  FAIL %s: no .json scripts\n", path);
        t->failed++;
    }
    long p0 = t->passed, f0 = t->failed, s0 = t->skipped, k0 = t->known;
    for (size_t i = 0; i < n; i++) {
        spec_run_file(t, names[i]);
        free(names[i]);
    }
    free(names);
    const char *folder = strrchr(path, '/');
    folder = folder ? folder + 1 : path;
    printf("folder %s (%zu scripts): %ld passed / %ld failed / %ld skipped", folder, n,
           t->passed - p0, t->failed - f0, t->skipped - s0);
    if (t->known - k0) printf(" / %ld KNOWN FAILURES", t->known - k0);
    printf("\n");
}

static void spec_run_path(spec_totals *t, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("  FAIL %s: %s\n", path, strerror(errno));
        t->failed++;
        return;
    }
    if (S_ISDIR(st.st_mode))
        spec_run_dir(t, path);
    else
        spec_run_file(t, path);
}

static const char *spec_shared_dir(void)
{
    const char *dir = vec_shared_dir();
    return dir ? dir : "../shared";
}

int main(int argc, char **argv)
{
    spec_totals t;
    memset(&t, 0, sizeof t);
    t.timeout = 300;
    const char *to = getenv("AO_SPEC_TIMEOUT");
    if (to && atoi(to) > 0) t.timeout = (unsigned)atoi(to);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int npaths = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) t.verbose = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: test_spec [-v] [SCRIPT.json | FOLDER]...\n");
            return 0;
        } else npaths++;
    }
    spec_load_known(&t);
    const char *shared = spec_shared_dir();
    char path[4096];
    if (npaths == 0) {
        static const char *sets[] = { "core", "memory64" };
        for (size_t i = 0; i < 2; i++)
            if (snprintf(path, sizeof path, "%s/wasm-spec/%s", shared, sets[i]) < (int)sizeof path)
                spec_run_path(&t, path);
    } else {
        for (int i = 1; i < argc; i++) {
            if (!strcmp(argv[i], "-v")) continue;
            struct stat st;
            if (stat(argv[i], &st) != 0 && argv[i][0] != '/') {
                if (snprintf(path, sizeof path, "%s/wasm-spec/%s", shared, argv[i]) < (int)sizeof path)
                    spec_run_path(&t, path);
            } else {
                spec_run_path(&t, argv[i]);
            }
        }
    }
    for (size_t i = 0; i < t.nknown; i++)
        if (!t.known_list[i].seen && npaths == 0)
            printf("  !! %s listed in %s was not run\n", t.known_list[i].name, KNOWN_FAILURES_FILE);
    free(t.known_list);
    if (t.known)
        printf("!! %ld KNOWN FAILURES (listed in %s) counted as skipped\n", t.known,
               KNOWN_FAILURES_FILE);
    if (t.notes && !t.verbose)
        printf("%ld notes (run with -v to see them)\n", t.notes);
    printf("%ld scripts\n", t.scripts);
    printf("%ld passed, %ld failed, %ld skipped\n", t.passed, t.failed, t.skipped + t.known);
    return t.failed ? 1 : 0;
}
