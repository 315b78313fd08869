/*
 * cli_wasm.c - `ao wasm`: validate WebAssembly modules and run one exported
 * function of a module on the project's engine (src/wasm/wasm.h).
 *
 *   ao wasm validate MODULE.wasm
 *   ao wasm run [--gas-limit N] [--memory-limit PAGES] [--tier interp|compiled]
 *               [--cache DIR] MODULE.wasm EXPORT [ARG...]
 *   ao wasm compile [--cache DIR] [-O N] MODULE.wasm
 *
 * Arguments are typed: i32:5, i64:-1, f32:1.5, f64:0.5; a float written as
 * 0x followed by hex digits only is a bit pattern (f64:0x7ff8000000000000),
 * so NaN payloads can be given exactly. externref:null, externref:N and
 * funcref:null are accepted too. Results are printed one per line as
 * type:value, then "gas: N".
 *
 * Exit codes: validate 0 valid, 1 invalid/malformed/unsupported, 2 usage or
 * I/O error; run 0 ok, 1 trap, 2 usage or load error (including modules
 * that import anything: no imports are provided).
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "wasm/wasm.h"

static void cli_wasm_usage(FILE *f)
{
    fprintf(f,
            "usage: ao wasm validate MODULE.wasm\n"
            "       ao wasm run [--gas-limit N] [--memory-limit PAGES] [--tier interp|compiled]\n"
            "                   [--cache DIR] MODULE.wasm EXPORT [ARG...]\n"
            "       ao wasm compile [--cache DIR] [-O N] MODULE.wasm\n"
            "\n"
            "validate  decode and validate a binary module; exit 0 if valid,\n"
            "          1 if malformed, invalid or unsupported (with the reason)\n"
            "run       instantiate the module (it must not import anything) and call\n"
            "          the exported function EXPORT with typed arguments:\n"
            "            i32:5  i64:-1  f32:1.5  f64:0.5  f64:0x7ff8000000000000 (bits)\n"
            "            externref:null  externref:N  funcref:null\n"
            "          prints each result as type:value, then the gas used;\n"
            "          exit 0 ok, 1 trap, 2 usage or load error\n"
            "  --gas-limit N         trap with \"out of gas\" beyond N units of gas\n"
            "  --memory-limit PAGES  memories may not grow beyond PAGES 64 KiB pages\n"
            "  --tier T              interp (default: AO_WASM_TIER) or compiled: native\n"
            "                        code through wasm2c and cc, same results and gas;\n"
            "                        a module the tier does not take is an error\n"
            "  --cache DIR           where compiled modules are kept (default:\n"
            "                        AO_WASM_CACHE, else ~/.cache/ao/wasm)\n"
            "compile   build the compiled tier's library of a module into the cache\n"
            "          (C optimisation level N, default 2) so that later runs and\n"
            "          nodes find it; exit 0 compiled, 1 the tier does not take the\n"
            "          module (with the reason), 2 usage or load error\n");
}


static bool cli_wasm_all_hex(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
            return false;
    return true;
}

/* Integer text: signed or unsigned decimal, or 0x hex; must fit in bits. */
static bool cli_wasm_parse_int(const char *s, unsigned bits, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s) return false;
    if (s[0] == '-') {
        long long v = strtoll(s, &end, 0);
        if (errno || *end) return false;
        if (bits == 32 && v < INT32_MIN) return false;
        *out = (uint64_t)v;
        if (bits == 32) *out &= 0xffffffffu;
        return true;
    }
    if (s[0] == '+') s++;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || !*s || *s == '-') return false;
    if (bits == 32 && v > 0xffffffffull) return false;
    *out = v;
    return true;
}

static int cli_wasm_parse_arg(const char *text, uint8_t want, wasm_val *v)
{
    const char *colon = strchr(text, ':');
    memset(v, 0, sizeof *v);
    if (!colon) return -1;
    size_t tl = (size_t)(colon - text);
    const char *s = colon + 1;
    uint8_t t;
    if (tl == 3 && !strncmp(text, "i32", 3)) t = WASM_I32;
    else if (tl == 3 && !strncmp(text, "i64", 3)) t = WASM_I64;
    else if (tl == 3 && !strncmp(text, "f32", 3)) t = WASM_F32;
    else if (tl == 3 && !strncmp(text, "f64", 3)) t = WASM_F64;
    else if (tl == 9 && !strncmp(text, "externref", 9)) t = WASM_EXTERNREF;
    else if (tl == 7 && !strncmp(text, "funcref", 7)) t = WASM_FUNCREF;
    else return -1;
    if (t != want) return -2;
    v->type = t;
    uint64_t x;
    char *end;
    switch (t) {
    case WASM_I32:
        if (!cli_wasm_parse_int(s, 32, &x)) return -1;
        v->of.i32 = (uint32_t)x;
        return 0;
    case WASM_I64:
        if (!cli_wasm_parse_int(s, 64, &x)) return -1;
        v->of.i64 = x;
        return 0;
    case WASM_F32:
        if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) && cli_wasm_all_hex(s + 2)) {
            if (!cli_wasm_parse_int(s, 32, &x)) return -1;
            v->of.f32 = (uint32_t)x;
            return 0;
        } else {
            errno = 0;
            float f = strtof(s, &end);
            if (!*s || *end) return -1;
            memcpy(&v->of.f32, &f, 4);
            return 0;
        }
    case WASM_F64:
        if ((s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) && cli_wasm_all_hex(s + 2)) {
            if (!cli_wasm_parse_int(s, 64, &x)) return -1;
            v->of.f64 = x;
            return 0;
        } else {
            double d = strtod(s, &end);
            if (!*s || *end) return -1;
            memcpy(&v->of.f64, &d, 8);
            return 0;
        }
    case WASM_EXTERNREF:
        if (!strcmp(s, "null")) return 0;
        if (!cli_wasm_parse_int(s, 64, &x) || x == UINT64_MAX) return -1;
        v->of.ext = (void *)(uintptr_t)(x + 1);
        return 0;
    default: /* funcref */
        return strcmp(s, "null") ? -1 : 0;
    }
}

static void cli_wasm_print_val(const wasm_val *v)
{
    switch (v->type) {
    case WASM_I32:
        printf("i32:%" PRId32 "\n", (int32_t)v->of.i32);
        break;
    case WASM_I64:
        printf("i64:%" PRId64 "\n", (int64_t)v->of.i64);
        break;
    case WASM_F32: {
        float f;
        memcpy(&f, &v->of.f32, 4);
        if (isnan(f)) printf("f32:nan:0x%08" PRIx32 "\n", v->of.f32);
        else printf("f32:%.9g\n", (double)f);
        break;
    }
    case WASM_F64: {
        double d;
        memcpy(&d, &v->of.f64, 8);
        if (isnan(d)) printf("f64:nan:0x%016" PRIx64 "\n", v->of.f64);
        else printf("f64:%.17g\n", d);
        break;
    }
    case WASM_FUNCREF:
        printf("funcref:%s\n", v->of.func ? "function" : "null");
        break;
    case WASM_EXTERNREF:
        if (v->of.ext) printf("externref:%" PRIu64 "\n", (uint64_t)(uintptr_t)v->of.ext - 1);
        else printf("externref:null\n");
        break;
    default:
        printf("unknown type 0x%02x\n", v->type);
    }
}

/* The trap's name, then its message when it says more. */
static void cli_wasm_print_trap(const wasm_trap *t)
{
    const char *name = wasm_trap_name(t->code);
    fprintf(stderr, "%s", name ? name : "trap");
    if (t->msg[0] && (!name || strcmp(t->msg, name)))
        fprintf(stderr, ": %s", t->msg);
    if (t->code == WASM_TRAP_HOST)
        fprintf(stderr, " (host code %" PRId64 ")", t->host_code);
}

static int cli_wasm_load(const char *path, wasm_module **m, ao_error *err)
{
    ao_buf b;
    ao_buf_init(&b);
    int rc = ao_file_read(path, &b, err);
    if (rc == AO_OK)
        rc = wasm_module_new(b.data ? b.data : (const uint8_t *)"", b.len, m, err);
    ao_buf_free(&b);
    return rc;
}

static int cli_wasm_validate(int argc, char **argv)
{
    if (argc != 2) {
        cli_wasm_usage(stderr);
        return 2;
    }
    ao_error err;
    ao_err_clear(&err);
    ao_buf b;
    ao_buf_init(&b);
    int rc = ao_file_read(argv[1], &b, &err);
    if (rc != AO_OK) {
        fprintf(stderr, "ao wasm: %s\n", err.msg);
        ao_buf_free(&b);
        return 2;
    }
    wasm_module *m = NULL;
    rc = wasm_module_new(b.data ? b.data : (const uint8_t *)"", b.len, &m, &err);
    ao_buf_free(&b);
    if (rc != AO_OK) {
        const char *what = rc == AO_EFORMAT ? "malformed"
                           : rc == AO_EUNSUPPORTED ? "unsupported" : "invalid";
        printf("%s: %s: %s\n", argv[1], what, err.msg);
        return 1;
    }
    size_t ni = wasm_module_import_count(m), ne = wasm_module_export_count(m);
    printf("%s: valid (%zu import%s, %zu export%s)\n", argv[1], ni, ni == 1 ? "" : "s", ne,
           ne == 1 ? "" : "s");
    wasm_module_free(m);
    return 0;
}

static int cli_wasm_run(int argc, char **argv)
{
    ao_log_configure(AO_LOG_WARN, false);   /* results and traps only: no engine notes */
    uint64_t gas_limit = UINT64_MAX, mem_pages = 0;
    bool has_mem = false;
    wasm_tier tier = wasm_tier_default();
    const char *cache = NULL;
    const char *pos[3] = { NULL, NULL, NULL };
    int npos = 0, argstart = argc;
    for (int i = 1; i < argc; i++) {
        if (npos < 2 && (!strcmp(argv[i], "--gas-limit") || !strcmp(argv[i], "--memory-limit"))) {
            uint64_t x;
            if (i + 1 >= argc || !cli_wasm_parse_int(argv[i + 1], 64, &x) || argv[i + 1][0] == '-') {
                fprintf(stderr, "ao wasm: %s needs a non-negative integer\n", argv[i]);
                return 2;
            }
            if (argv[i][2] == 'g') gas_limit = x;
            else { mem_pages = x; has_mem = true; }
            i++;
        } else if (npos < 2 && (!strcmp(argv[i], "--tier") || !strcmp(argv[i], "--cache"))) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ao wasm: %s needs a value\n", argv[i]);
                return 2;
            }
            ao_error terr;
            if (argv[i][2] == 'c') {
                cache = argv[i + 1];
            } else if (wasm_tier_parse(argv[i + 1], &tier, &terr) != AO_OK) {
                fprintf(stderr, "ao wasm: %s\n", terr.msg);
                return 2;
            }
            i++;
        } else if (npos < 2 && argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "ao wasm: unknown option %s\n", argv[i]);
            return 2;
        } else {
            pos[npos++] = argv[i];
            if (npos == 2) {
                argstart = i + 1;
                break;
            }
        }
    }
    if (npos < 2) {
        cli_wasm_usage(stderr);
        return 2;
    }
    const char *path = pos[0], *name = pos[1];
    int nargs = argc - argstart;
    ao_error err;
    ao_err_clear(&err);
    wasm_module *m = NULL;
    wasm_store *s = NULL;
    wasm_val *args = NULL, *res = NULL;
    int status = 2;
    int rc = cli_wasm_load(path, &m, &err);
    if (rc != AO_OK) {
        fprintf(stderr, "ao wasm: %s: %s\n", path, err.msg);
        return 2;
    }
    size_t ni = wasm_module_import_count(m);
    if (ni > 0) {
        for (size_t i = 0; i < ni; i++) {
            wasm_import_desc d;
            memset(&d, 0, sizeof d);
            wasm_module_import(m, i, &d);
            fprintf(stderr, "ao wasm: unresolved import %s.%s\n", d.module ? d.module : "?",
                    d.name ? d.name : "?");
        }
        goto out;
    }
    if (tier == WASM_TIER_COMPILED) {
        wasm_aot_opts ao = { cache, -1 };
        if (wasm_module_compile(m, &ao, &err) != AO_OK) {
            fprintf(stderr, "ao wasm: %s: %s\n", path, err.msg);
            goto out;
        }
    }
    if (wasm_store_new(&s, &err) != AO_OK) {
        fprintf(stderr, "ao wasm: %s\n", err.msg);
        goto out;
    }
    wasm_store_set_tier(s, tier);
    wasm_store_set_gas_limit(s, gas_limit);
    if (has_mem) wasm_store_set_max_memory_pages(s, mem_pages);
    wasm_instance *inst = NULL;
    wasm_trap trap;
    memset(&trap, 0, sizeof trap);
    rc = wasm_instantiate(s, m, NULL, 0, &inst, &trap, &err);
    if (rc == AO_ETRAP) {
        fprintf(stderr, "trap: ");
        cli_wasm_print_trap(&trap);
        fprintf(stderr, " (during instantiation)\n");
        printf("gas: %" PRIu64 "\n", wasm_store_gas_used(s));
        status = 1;
        goto out;
    }
    if (rc != AO_OK) {
        fprintf(stderr, "ao wasm: %s: cannot instantiate: %s\n", path, err.msg);
        goto out;
    }
    wasm_extern ext;
    memset(&ext, 0, sizeof ext);
    if (wasm_instance_export(inst, name, &ext) != AO_OK) {
        fprintf(stderr, "ao wasm: %s: no export named \"%s\"\n", path, name);
        goto out;
    }
    if (ext.kind != WASM_EXTERN_FUNC) {
        fprintf(stderr, "ao wasm: %s: export \"%s\" is not a function\n", path, name);
        goto out;
    }
    wasm_functype ft;
    memset(&ft, 0, sizeof ft);
    wasm_func_type(ext.of.func, &ft);
    if ((uint32_t)nargs != ft.nparams) {
        fprintf(stderr, "ao wasm: \"%s\" takes %u argument%s (", name, ft.nparams,
                ft.nparams == 1 ? "" : "s");
        for (uint32_t i = 0; i < ft.nparams; i++)
            fprintf(stderr, "%s%s", i ? " " : "", wasm_valtype_name(ft.params[i]));
        fprintf(stderr, "), %d given\n", nargs);
        goto out;
    }
    args = calloc(ft.nparams ? ft.nparams : 1, sizeof *args);
    res = calloc(ft.nresults ? ft.nresults : 1, sizeof *res);
    if (!args || !res) {
        fprintf(stderr, "ao wasm: out of memory\n");
        goto out;
    }
    for (uint32_t i = 0; i < ft.nparams; i++) {
        int prc = cli_wasm_parse_arg(argv[argstart + (int)i], ft.params[i], &args[i]);
        if (prc == -2) {
            fprintf(stderr, "ao wasm: argument %u \"%s\": parameter is a %s\n", i + 1,
                    argv[argstart + (int)i], wasm_valtype_name(ft.params[i]));
            goto out;
        }
        if (prc != 0) {
            fprintf(stderr, "ao wasm: argument %u \"%s\": expected %s:VALUE\n", i + 1,
                    argv[argstart + (int)i], wasm_valtype_name(ft.params[i]));
            goto out;
        }
    }
    rc = wasm_func_call(s, ext.of.func, args, ft.nparams, res, ft.nresults, &trap, &err);
    if (rc == AO_OK) {
        for (uint32_t i = 0; i < ft.nresults; i++)
            cli_wasm_print_val(&res[i]);
        printf("gas: %" PRIu64 "\n", wasm_store_gas_used(s));
        status = 0;
    } else if (rc == AO_ETRAP) {
        fprintf(stderr, "trap: ");
        cli_wasm_print_trap(&trap);
        fprintf(stderr, "\n");
        printf("gas: %" PRIu64 "\n", wasm_store_gas_used(s));
        status = 1;
    } else {
        fprintf(stderr, "ao wasm: call failed: %s\n", err.msg);
    }
out:
    free(args);
    free(res);
    if (s) wasm_store_free(s);
    if (m) wasm_module_free(m);
    return status;
}

static int cli_wasm_compile(int argc, char **argv)
{
    ao_log_configure(AO_LOG_WARN, false);
    const char *cache = NULL, *path = NULL;
    int olev = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--cache") && i + 1 < argc) {
            cache = argv[++i];
        } else if (!strcmp(argv[i], "-O") && i + 1 < argc) {
            const char *o = argv[++i];
            if (o[0] < '0' || o[0] > '3' || o[1]) {
                fprintf(stderr, "ao wasm: -O takes 0, 1, 2 or 3\n");
                return 2;
            }
            olev = o[0] - '0';
        } else if (argv[i][0] == '-' || path) {
            cli_wasm_usage(stderr);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        cli_wasm_usage(stderr);
        return 2;
    }
    ao_error err;
    ao_err_clear(&err);
    wasm_module *m = NULL;
    if (cli_wasm_load(path, &m, &err) != AO_OK) {
        fprintf(stderr, "ao wasm: %s: %s\n", path, err.msg);
        return 2;
    }
    wasm_aot_opts o = { cache, olev };
    int rc = wasm_module_compile(m, &o, &err);
    wasm_module_free(m);
    if (rc != AO_OK) {
        printf("%s: stays on the interpreter: %s\n", path, err.msg);
        return 1;
    }
    printf("%s: compiled\n", path);
    return 0;
}

int cli_wasm_main(int argc, char **argv)
{
    if (argc < 2) {
        cli_wasm_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        cli_wasm_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "validate"))
        return cli_wasm_validate(argc - 1, argv + 1);
    if (!strcmp(argv[1], "compile"))
        return cli_wasm_compile(argc - 1, argv + 1);
    if (!strcmp(argv[1], "run")) {
        for (int i = 2; i < argc; i++)
            if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                cli_wasm_usage(stdout);
                return 0;
            }
        return cli_wasm_run(argc - 1, argv + 1);
    }
    fprintf(stderr, "ao wasm: unknown subcommand '%s'\n", argv[1]);
    cli_wasm_usage(stderr);
    return 2;
}
