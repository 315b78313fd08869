/*
 * aot_build.c - the compiled tier's build: rewritten module (aot_instr.c)
 * -> wasm2c (Debian's wabt) -> generated glue -> cc -shared -> a library
 * cached as <cache>/<key>.so, where the key hashes the rewritten module,
 * the ABI version and the compiler options. A library found in the cache is
 * reused; aot.c checks on load that it carries the same key.
 *
 * The glue (written here as C text) gives the library what wasm2c's output
 * needs at link time - wasm-rt's trap, type registry and memory growth, the
 * accessors of the "aot" imports - all forwarded to the engine through the
 * aot_host table, plus per-function entries (arguments and results as
 * 64-bit slots), per-type trampolines (table entries that are not this
 * instance's functions) and the aot_init function that describes it all.
 * wasm-rt's call depth counter, its limit and a native stack limit live in
 * the instance context (no thread-local storage: a process may load
 * thousands of libraries), set by the engine at each entry.
 */
#include "wasm/aot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *rt_header(void)
{
    static const char *cand[] = {"/usr/include/wasm-rt.h", "/usr/local/include/wasm-rt.h",
                                 "/usr/src/wasm2c/wasm-rt.h", NULL};
    for (int i = 0; cand[i]; i++)
        if (access(cand[i], R_OK) == 0)
            return cand[i];
    return NULL;
}

static int mkdirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == 0) {
            char c = tmp[i];
            tmp[i] = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            tmp[i] = c;
        }
    }
    return 0;
}

static void default_cache(char *out, size_t n)
{
    const char *e = getenv("AO_WASM_CACHE");
    if (e && *e) {
        snprintf(out, n, "%s", e);
        return;
    }
    e = getenv("XDG_CACHE_HOME");
    if (e && *e) {
        snprintf(out, n, "%s/ao/wasm", e);
        return;
    }
    e = getenv("HOME");
    if (e && *e) {
        snprintf(out, n, "%s/.cache/ao/wasm", e);
        return;
    }
    snprintf(out, n, "/tmp/ao-wasm");
}

/* Run argv with stdout+stderr into logpath; 0 if it exited with 0. */
static int run(char *const argv[], const char *logpath)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int fail_log(const char *what, const char *logpath, ao_error *err)
{
    char msg[300] = "";
    FILE *f = fopen(logpath, "r");
    if (f) {
        size_t n = fread(msg, 1, sizeof msg - 1, f);
        msg[n] = 0;
        fclose(f);
        for (char *p = msg; *p; p++)
            if (*p == '\n')
                *p = ' ';
    }
    return ao_err_set(err, AO_EUNSUPPORTED, "wasm aot: %s failed: %s", what, msg);
}

static const char *ctype(uint8_t t)
{
    switch (t) {
    case WASM_I32: return "u32";
    case WASM_I64: return "u64";
    case WASM_F32: return "f32";
    default: return "f64";
    }
}

static char letter(uint8_t t)
{
    switch (t) {
    case WASM_I32: return 'i';
    case WASM_I64: return 'j';
    case WASM_F32: return 'f';
    default: return 'd';
    }
}

/* C return type of a function type */
static void ret_type(const wasm_functype *ft, char *out, size_t n)
{
    if (ft->nresults == 0) {
        snprintf(out, n, "void");
    } else if (ft->nresults == 1) {
        snprintf(out, n, "%s", ctype(ft->results[0]));
    } else {
        size_t k = (size_t)snprintf(out, n, "struct wasm_multi_");
        for (uint32_t i = 0; i < ft->nresults && k + 2 < n; i++)
            out[k++] = letter(ft->results[i]);
        out[k] = 0;
    }
}

/* value expression -> 64-bit slot */
static void to_slot(ao_buf *b, uint8_t t, const char *expr)
{
    switch (t) {
    case WASM_F32: ao_buf_printf(b, "aot_bf(%s)", expr); break;
    case WASM_F64: ao_buf_printf(b, "aot_bd(%s)", expr); break;
    case WASM_I32: ao_buf_printf(b, "(u64)(u32)(%s)", expr); break;
    default: ao_buf_printf(b, "(u64)(%s)", expr); break;
    }
}

static void from_slot(ao_buf *b, uint8_t t, const char *expr)
{
    switch (t) {
    case WASM_F32: ao_buf_printf(b, "aot_tf(%s)", expr); break;
    case WASM_F64: ao_buf_printf(b, "aot_td(%s)", expr); break;
    case WASM_I32: ao_buf_printf(b, "(u32)(%s)", expr); break;
    default: ao_buf_printf(b, "(u64)(%s)", expr); break;
    }
}

/* A function that packs its parameters into io, runs `call`, and returns
 * the results from io. */
static void forwarder(ao_buf *b, const wasm_functype *ft, const char *decl_head,
                      const char *call)
{
    char rt[WASM_MAX_FUNC_VALUES + 32];
    ret_type(ft, rt, sizeof rt);
    ao_buf_printf(b, "%s %s", rt, decl_head);
    for (uint32_t i = 0; i < ft->nparams; i++)
        ao_buf_printf(b, ", %s a%u", ctype(ft->params[i]), i);
    uint32_t n = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    ao_buf_printf(b, ") {\n  u64 io[%u];\n", n ? n : 1);
    char ex[32];
    for (uint32_t i = 0; i < ft->nparams; i++) {
        snprintf(ex, sizeof ex, "a%u", i);
        ao_buf_printf(b, "  io[%u] = ", i);
        to_slot(b, ft->params[i], ex);
        ao_buf_printf(b, ";\n");
    }
    ao_buf_printf(b, "  %s;\n", call);
    if (ft->nresults == 1) {
        ao_buf_printf(b, "  return ");
        from_slot(b, ft->results[0], "io[0]");
        ao_buf_printf(b, ";\n");
    } else if (ft->nresults > 1) {
        ao_buf_printf(b, "  %s r;\n", rt);
        for (uint32_t i = 0; i < ft->nresults; i++) {
            snprintf(ex, sizeof ex, "io[%u]", i);
            ao_buf_printf(b, "  r.%c%u = ", letter(ft->results[i]), i);
            from_slot(b, ft->results[i], ex);
            ao_buf_printf(b, ";\n");
        }
        ao_buf_printf(b, "  return r;\n");
    }
    ao_buf_printf(b, "}\n");
}

static const char *glue_head =
    "/* generated by the engine's compiled tier (src/wasm/aot_build.c) */\n"
    "#include <stdarg.h>\n"
    "#include <stdint.h>\n"
    "#include <string.h>\n"
    "#define CALL_INDIRECT(table, t, ft, x, ...) \\\n"
    "  ((LIKELY((x) < table.size) || (wasm_rt_trap((wasm_rt_trap_t)101), 0)), \\\n"
    "   (LIKELY(table.data[x].func != NULL) || (wasm_rt_trap((wasm_rt_trap_t)102), 0)), \\\n"
    "   (LIKELY(table.data[x].func_type == func_types[ft]) || \\\n"
    "    (wasm_rt_trap((wasm_rt_trap_t)103), 0)), \\\n"
    "   ((t)table.data[x].func)(__VA_ARGS__))\n"
    "#include \"m.h\"\n"
    "struct Z_aot_instance_t { u64 gas, lim; wasm_rt_memory_t *mem; void **tabs; u64 **globals;\n"
    "  uint32_t depth, maxd; uintptr_t slim; };\n"
    "#define FUNC_PROLOGUE \\\n"
    "  if (++((struct Z_aot_instance_t *)instance->Z_aotZ_gas)->depth > ((struct Z_aot_instance_t *)instance->Z_aotZ_gas)->maxd || \\\n"
    "      (uintptr_t)__builtin_frame_address(0) < ((struct Z_aot_instance_t *)instance->Z_aotZ_gas)->slim) \\\n"
    "    TRAP(EXHAUSTION);\n"
    "#include \"m.c\"\n"
    "typedef struct aot_host {\n"
    "  void (*trap)(int code) __attribute__((noreturn));\n"
    "  uint32_t (*functype)(uint32_t np, uint32_t nr, const int *types);\n"
    "  uint32_t (*grow)(wasm_rt_memory_t *m, uint32_t delta);\n"
    "  void (*call)(void *ctx, uint32_t idx, u64 *io);\n"
    "  void (*call_ref)(void *func, u64 *io);\n"
    "  void (*minit)(void *ctx, uint32_t seg, uint32_t d, uint32_t s, uint32_t n);\n"
    "  void (*ddrop)(void *ctx, uint32_t seg);\n"
    "} aot_host;\n"
    "typedef struct aot_lib {\n"
    "  uint32_t abi; const char *key; size_t inst_size;\n"
    "  void (*instantiate)(void *w2c, void *ctx);\n"
    "  uint32_t nfuncs; void (*const *entry)(void *w2c, u64 *io);\n"
    "  void (*const *fptr)(void);\n"
    "  uint32_t ntypes; void (*const *tramp)(void);\n"
    "} aot_lib;\n"
    "_Static_assert(sizeof(wasm_rt_memory_t) == 24 && sizeof(wasm_rt_funcref_t) == 24 &&\n"
    "  sizeof(wasm_rt_funcref_table_t) == 16, \"wasm-rt layout\");\n"
    "static const aot_host *H;\n"
    "void wasm_rt_trap(wasm_rt_trap_t c) { H->trap((int)c); }\n"
    "bool wasm_rt_is_initialized(void) { return true; }\n"
    "uint32_t wasm_rt_register_func_type(uint32_t np, uint32_t nr, ...) {\n"
    "  int t[2100]; va_list ap; va_start(ap, nr);\n"
    "  for (uint32_t i = 0; i < np + nr && i < 2100; i++) t[i] = va_arg(ap, int);\n"
    "  va_end(ap); return H->functype(np, nr, t);\n"
    "}\n"
    "uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *m, uint32_t d) { return H->grow(m, d); }\n"
    "static inline f32 aot_tf(u64 b) { u32 x = (u32)b; f32 f; memcpy(&f, &x, 4); return f; }\n"
    "static inline f64 aot_td(u64 b) { f64 f; memcpy(&f, &b, 8); return f; }\n"
    "static inline u64 aot_bf(f32 f) { u32 x; memcpy(&x, &f, 4); return x; }\n"
    "static inline u64 aot_bd(f64 f) { u64 x; memcpy(&x, &f, 8); return x; }\n"
    "u64 *Z_aotZ_gas(struct Z_aot_instance_t *c) { return &c->gas; }\n"
    "u64 *Z_aotZ_lim(struct Z_aot_instance_t *c) { return &c->lim; }\n"
    "void Z_aotZ_minit(struct Z_aot_instance_t *c, u32 d, u32 s, u32 n, u32 seg)\n"
    "  { H->minit(c, seg, d, s, n); }\n"
    "void Z_aotZ_ddrop(struct Z_aot_instance_t *c, u32 seg) { H->ddrop(c, seg); }\n"

    "static void aot_inst(void *w, void *c) { Z_aotm_instantiate((Z_aotm_instance_t *)w, c); }\n";

static void make_glue(const wasm_module *m, const char *key, ao_buf *out)
{
    ao_buf b = *out;
    ao_buf_append_str(&b, glue_head);
    char head[160];
    /* multi-value result structs of every type (wasm2c defines those it uses) */
    for (uint32_t t = 0; t < m->ntypes; t++) {
        const wasm_functype *ft = &m->types[t];
        if (ft->nresults < 2)
            continue;
        char rt[WASM_MAX_FUNC_VALUES + 32];
        ret_type(ft, rt, sizeof rt);
        const char *nm = rt + 7;   /* past "struct " */
        ao_buf_printf(&b, "#ifndef %s\n#define %s %s\n%s {\n", nm, nm, nm, rt);
        for (uint32_t i = 0; i < ft->nresults; i++)
            ao_buf_printf(&b, "  %s %c%u;\n", ctype(ft->results[i]), letter(ft->results[i]), i);
        ao_buf_printf(&b, "};\n#endif\n");
    }
    if (m->nmems)
        ao_buf_printf(&b, "wasm_rt_memory_t *Z_aotZ_m0(struct Z_aot_instance_t *c) "
                          "{ return c->mem; }\n");
    for (uint32_t i = 0; i < m->ntables; i++) {
        const char *tt = m->tables[i].elem == WASM_FUNCREF ? "wasm_rt_funcref_table_t"
                                                           : "wasm_rt_externref_table_t";
        ao_buf_printf(&b, "%s *Z_aotZ_t%u(struct Z_aot_instance_t *c) { return (%s *)c->tabs[%u]; }\n",
                      tt, i, tt, i);
    }
    for (uint32_t i = 0; i < m->nglobals; i++)
        ao_buf_printf(&b, "%s *Z_aotZ_g%u(struct Z_aot_instance_t *c) { return (%s *)c->globals[%u]; }\n",
                      ctype(m->globals[i].type), i, ctype(m->globals[i].type), i);
    char call[96];
    for (uint32_t i = 0; i < m->nfuncs_imported; i++) {
        snprintf(head, sizeof head, "Z_aotZ_i%u(struct Z_aot_instance_t *c", i);
        snprintf(call, sizeof call, "H->call(c, %u, io)", i);
        forwarder(&b, wasm__func_type(m, i), head, call);
    }
    for (uint32_t t = 0; t < m->ntypes; t++) {
        snprintf(head, sizeof head, "aot_tr%u(void *f", t);
        ao_buf_append_str(&b, "static ");
        forwarder(&b, &m->types[t], head, "H->call_ref(f, io)");
    }
    for (uint32_t k = m->nfuncs_imported; k < m->nfuncs; k++) {
        const wasm_functype *ft = wasm__func_type(m, k);
        ao_buf_printf(&b, "static void aot_e%u(void *w, u64 *io) {\n  ", k);
        char rt[WASM_MAX_FUNC_VALUES + 32];
        ret_type(ft, rt, sizeof rt);
        if (ft->nresults)
            ao_buf_printf(&b, "%s r = ", rt);
        ao_buf_printf(&b, "Z_aotmZ_f%u((Z_aotm_instance_t *)w", k);
        char ex[32];
        for (uint32_t i = 0; i < ft->nparams; i++) {
            snprintf(ex, sizeof ex, "io[%u]", i);
            ao_buf_append_str(&b, ", ");
            from_slot(&b, ft->params[i], ex);
        }
        ao_buf_append_str(&b, ");\n");
        for (uint32_t i = 0; i < ft->nresults; i++) {
            if (ft->nresults == 1)
                snprintf(ex, sizeof ex, "r");
            else
                snprintf(ex, sizeof ex, "r.%c%u", letter(ft->results[i]), i);
            ao_buf_printf(&b, "  io[%u] = ", i);
            to_slot(&b, ft->results[i], ex);
            ao_buf_append_str(&b, ";\n");
        }
        ao_buf_append_str(&b, "}\n");
    }
    ao_buf_append_str(&b, "static void (*const aot_entries[])(void *, u64 *) = {\n");
    for (uint32_t k = m->nfuncs_imported; k < m->nfuncs; k++)
        ao_buf_printf(&b, "  aot_e%u,\n", k);
    ao_buf_append_str(&b, "  0 };\nstatic void (*const aot_fptrs[])(void) = {\n");
    for (uint32_t k = m->nfuncs_imported; k < m->nfuncs; k++)
        ao_buf_printf(&b, "  (void (*)(void))Z_aotmZ_f%u,\n", k);
    ao_buf_append_str(&b, "  0 };\nstatic void (*const aot_tramps[])(void) = {\n");
    for (uint32_t t = 0; t < m->ntypes; t++)
        ao_buf_printf(&b, "  (void (*)(void))aot_tr%u,\n", t);
    ao_buf_printf(&b,
                  "  0 };\n"
                  "int aot_init(const aot_host *h, aot_lib *out) {\n"
                  "  static int once;\n"
                  "  H = h;\n"
                  "  if (!once) { Z_aotm_init_module(); once = 1; }\n"
                  "  out->abi = %d; out->key = \"%s\"; out->inst_size = sizeof(Z_aotm_instance_t);\n"
                  "  out->instantiate = aot_inst; out->nfuncs = %u; out->entry = aot_entries;\n"
                  "  out->fptr = aot_fptrs; out->ntypes = %u; out->tramp = aot_tramps;\n"

                  "  return 0;\n}\n",
                  AOT_ABI_VERSION, key, m->ncode, m->ntypes);
    *out = b;
}

/* two independent 64-bit hashes */
static void hash2(const uint8_t *p, size_t n, uint64_t *a, uint64_t *b)
{
    uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        h1 = (h1 ^ p[i]) * 0x100000001b3ull;
        h2 = (h2 + p[i] + 1) * 0xff51afd7ed558ccdull;
        h2 ^= h2 >> 29;
    }
    *a = h1;
    *b = h2;
}

static void rm_tmp(const char *dir)
{
    static const char *files[] = {"m.wasm", "m.c", "m.h", "wasm-rt.h", "glue.c", "log",
                                  "out.so", NULL};
    char p[4400];
    for (int i = 0; files[i]; i++)
        if (snprintf(p, sizeof p, "%s/%s", dir, files[i]) < (int)sizeof p)
            unlink(p);
    rmdir(dir);
}

/* Build folders left by a process that ended during a build (the build
 * runs in the background; nothing finishes it then): removed when older
 * than an hour, so a build of another process sharing the cache is kept. */
static void sweep_stale_tmp(const char *cache)
{
    DIR *d = opendir(cache);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    char p[4200];
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(e->d_name, "tmp-", 4) != 0 ||
            snprintf(p, sizeof p, "%s/%s", cache, e->d_name) >= (int)sizeof p)
            continue;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && now - st.st_mtime > 3600)
            rm_tmp(p);
    }
    closedir(d);
}

int wasm__aot_prepare(const wasm_module *m, const wasm_aot_opts *opts, aot_job *j, ao_error *err)
{
    memset(j, 0, sizeof *j);
    ao_buf_init(&j->wasm);
    ao_buf_init(&j->glue);
    if (opts && opts->cache_dir)
        snprintf(j->cache, sizeof j->cache, "%s", opts->cache_dir);
    else
        default_cache(j->cache, sizeof j->cache);
    j->olev = 2;
    const char *oe = getenv("AO_WASM_AOT_OPT");
    if (opts && opts->opt_level >= 0)
        j->olev = opts->opt_level > 3 ? 3 : opts->opt_level;
    else if (oe && oe[0] >= '0' && oe[0] <= '3' && !oe[1])
        j->olev = oe[0] - '0';
    int rc = wasm__aot_instrument(m, &j->wasm, err);
    if (rc) {
        wasm__aot_job_free(j);
        return rc;
    }
    uint64_t h1, h2, g1, g2;
    hash2(j->wasm.data, j->wasm.len, &h1, &h2);
    /* the glue's fixed text is part of what is compiled */
    hash2((const uint8_t *)glue_head, strlen(glue_head), &g1, &g2);
    h1 ^= g1;
    h2 ^= g2 * 3;
    snprintf(j->key, sizeof j->key, "%016llx%016llx-a%d-O%d", (unsigned long long)h1,
             (unsigned long long)h2, AOT_ABI_VERSION, j->olev);
    snprintf(j->path, sizeof j->path, "%s/%s.so", j->cache, j->key);
    make_glue(m, j->key, &j->glue);
    if (!j->glue.data) {
        wasm__aot_job_free(j);
        return ao_err_set(err, AO_ENOMEM, "wasm aot: out of memory");
    }
    return AO_OK;
}

void wasm__aot_job_free(aot_job *j)
{
    ao_buf_free(&j->wasm);
    ao_buf_free(&j->glue);
}

bool wasm__aot_cached(const aot_job *j) { return access(j->path, R_OK) == 0; }

int wasm__aot_run_job(aot_job *j, ao_error *err)
{
    if (wasm__aot_cached(j))
        return AO_OK;
    const char *rth = rt_header();
    if (!rth)
        return ao_err_set(err, AO_EUNSUPPORTED, "wasm aot: wasm-rt.h not found (install wabt)");
    if (mkdirs(j->cache) != 0)
        return ao_err_set(err, AO_EIO, "wasm aot: cannot create %s", j->cache);
    sweep_stale_tmp(j->cache);
    int rc;
    char dir[4000], f[4200], logp[4200], cf[4200], hf[4200], so[4200];
    snprintf(dir, sizeof dir, "%s/tmp-XXXXXX", j->cache);
    if (!mkdtemp(dir))
        return ao_err_set(err, AO_EIO, "wasm aot: cannot create a directory in %s", j->cache);
    snprintf(f, sizeof f, "%s/m.wasm", dir);
    snprintf(logp, sizeof logp, "%s/log", dir);
    snprintf(cf, sizeof cf, "%s/m.c", dir);
    snprintf(hf, sizeof hf, "%s/wasm-rt.h", dir);
    snprintf(so, sizeof so, "%s/out.so", dir);
    rc = ao_file_write_atomic(f, j->wasm.data, j->wasm.len, 0644, err);
    if (rc)
        goto out;
    char *w2c[] = {"wasm2c", f, "-n", "aotm", "-o", cf, NULL};
    if (run(w2c, logp) != 0) {
        rc = fail_log("wasm2c", logp, err);
        goto out;
    }
    /* our CALL_INDIRECT (three distinct traps) replaces wasm2c's */
    ao_buf src;
    ao_buf_init(&src);
    rc = ao_file_read(cf, &src, err);
    if (rc == AO_OK) {
        char *p = src.len ? memmem(src.data, src.len, "#define CALL_INDIRECT(", 22) : NULL;
        if (p)
            memcpy(p + 8, "CALL_INDIRXCT", 13);
        p = src.len ? memmem(src.data, src.len, "#define FUNC_PROLOGUE", 21) : NULL;
        if (p)
            memcpy(p + 8, "FUNC_PROLOGXE", 13);
        rc = ao_file_write_atomic(cf, src.data, src.len, 0644, err);
    }
    ao_buf_free(&src);
    if (rc)
        goto out;
    ao_buf h;
    ao_buf_init(&h);
    ao_buf_printf(&h,
                  "#ifndef AOT_WASM_RT_WRAP\n#define AOT_WASM_RT_WRAP\n"
                  "#define wasm_rt_call_stack_depth aot_unused_depth_\n"
                  "#include \"%s\"\n#undef wasm_rt_call_stack_depth\n"
                  "#define wasm_rt_call_stack_depth (((struct Z_aot_instance_t *)instance->Z_aotZ_gas)->depth)\n#endif\n",
                  rth);
    rc = ao_file_write_atomic(hf, h.data, h.len, 0644, err);
    ao_buf_free(&h);
    if (rc)
        goto out;
    snprintf(f, sizeof f, "%s/glue.c", dir);
    rc = ao_file_write_atomic(f, j->glue.data, j->glue.len, 0644, err);
    if (rc)
        goto out;
    const char *cc = getenv("CC");
    char ol[8], inc[4100];
    snprintf(ol, sizeof ol, "-O%d", j->olev);
    snprintf(inc, sizeof inc, "-I%s", dir);
    char *ccv[] = {(char *)(cc && *cc ? cc : "cc"), ol, "-fPIC", "-shared", "-w", "-DNDEBUG",
                   "-ffp-contract=off", "-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=1",
                   "-DWASM_RT_USE_STACK_DEPTH_COUNT=1", inc, f, "-o", so, NULL};
    if (run(ccv, logp) != 0) {
        rc = fail_log("cc", logp, err);
        goto out;
    }
    if (rename(so, j->path) != 0)
        rc = ao_err_set(err, AO_EIO, "wasm aot: cannot move the library to %s", j->path);
out:
    rm_tmp(dir);
    return rc;
}
