/*
 * aot.c - the compiled tier at run time: loading a module's library,
 * attaching it to instances, entering compiled code from the engine (traps
 * as values through sigsetjmp/longjmp, call depth, gas), calls from
 * compiled code to imports and table entries, and the mirrors of the
 * engine's memory and tables that the library reads. docs/wasm.md.
 *
 * The engine's objects hold all the state: globals are read and written in
 * place (the library gets pointers to them), the memory's data pointer and
 * size are mirrored (re-read on entry and after every call out), and the
 * function tables are mirrored as wasm-rt funcrefs (rebuilt on entry and
 * after calls out when the engine's table changed). Gas lives in the
 * context while compiled code runs and goes back to the store at every
 * exit and call out.
 */
#include "wasm/aot.h"

#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- function type registry (structural, process-wide) ---- */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { uint32_t np, nr; int *t; } *reg;
static uint32_t nreg, capreg;

static uint32_t rt_functype(uint32_t np, uint32_t nr, const int *types)
{
    pthread_mutex_lock(&reg_mu);
    uint32_t id = 0;
    for (uint32_t i = 0; i < nreg; i++)
        if (reg[i].np == np && reg[i].nr == nr &&
            (np + nr == 0 || !memcmp(reg[i].t, types, (np + nr) * sizeof(int)))) {
            id = i + 1;
            break;
        }
    if (!id) {
        if (nreg == capreg) {
            uint32_t nc = capreg ? capreg * 2 : 64;
            void *n = realloc(reg, nc * sizeof *reg);
            if (!n)
                goto out;
            reg = n;
            capreg = nc;
        }
        int *t = malloc((np + nr + 1) * sizeof(int));
        if (!t)
            goto out;
        if (np + nr)
            memcpy(t, types, (np + nr) * sizeof(int));
        reg[nreg].np = np;
        reg[nreg].nr = nr;
        reg[nreg].t = t;
        id = ++nreg;
    }
out:
    pthread_mutex_unlock(&reg_mu);
    return id ? id : 0xffffffffu;
}

static int rt_valtype(uint8_t t)
{
    switch (t) {
    case WASM_I32: return 0;
    case WASM_I64: return 1;
    case WASM_F32: return 2;
    case WASM_F64: return 3;
    case WASM_FUNCREF: return 4;
    default: return 5;
    }
}

uint32_t wasm__aot_type_id(const wasm_functype *ft)
{
    int t[2 * WASM_MAX_FUNC_VALUES + 2];
    uint32_t n = 0;
    for (uint32_t i = 0; i < ft->nparams && n < 2 * WASM_MAX_FUNC_VALUES; i++)
        t[n++] = rt_valtype(ft->params[i]);
    for (uint32_t i = 0; i < ft->nresults && n < 2 * WASM_MAX_FUNC_VALUES; i++)
        t[n++] = rt_valtype(ft->results[i]);
    return rt_functype(ft->nparams, ft->nresults, t);
}

/* ---- entries ---- */

typedef struct aot_entry {
    sigjmp_buf jb;
    struct aot_entry *prev;
    wasm_store *s;
    aot_ictx *c;
    wasm_trap *trap;
    uint32_t base;            /* s->nframes at entry */
} aot_entry;

static __thread aot_entry *cur;
static __thread uintptr_t stack_low;   /* this thread's stack limit for compiled code */

/* Compiled frames are native: deep recursion with big frames could end
 * the thread's stack before the call depth limit, so compiled code traps
 * with "call stack exhausted" when fewer than AOT_STACK_MARGIN bytes of
 * the thread's stack remain (room for host calls and the engine). */
#define AOT_STACK_MARGIN (256u * 1024u)

static uintptr_t thread_stack_limit(void)
{
    if (stack_low)
        return stack_low;
    pthread_attr_t a;
    void *addr = NULL;
    size_t size = 0;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        if (pthread_attr_getstack(&a, &addr, &size) != 0)
            addr = NULL;
        pthread_attr_destroy(&a);
    }
    if (addr && size > 2 * AOT_STACK_MARGIN && here > (uintptr_t)addr &&
        here < (uintptr_t)addr + size)
        stack_low = (uintptr_t)addr + AOT_STACK_MARGIN;
    else
        stack_low = here > 4 * AOT_STACK_MARGIN ? here - 4 * AOT_STACK_MARGIN : 1;
    return stack_low;
}

static void mirror_mem(aot_ictx *c)
{
    wasm_memory *m = c->inst->mem0;
    if (!m)
        return;
    c->mem.data = m->data;
    c->mem.pages = (uint32_t)m->pages;
    c->mem.max_pages = m->max_pages > 65535 ? 65535 : (uint32_t)m->max_pages;
    c->mem.size = m->size > 0xffffffffull ? 0xffffffffu : (uint32_t)m->size;
}

static aot_rt_ref ref_of(aot_ictx *c, wasm_func *f)
{
    aot_rt_ref r = {0, NULL, NULL};
    if (!f)
        return r;
    r.func_type = wasm__aot_type_id(f->type);
    if (f->inst == c->inst && f->fn) {
        r.func = c->am->lib.fptr[f->fn->funcidx - c->inst->m->nfuncs_imported];
        r.module_instance = c->w2c;
        return r;
    }
    /* any other function goes through the engine with the trampoline of
     * its type; a type no module type equals can never pass the check */
    const wasm_module *m = c->inst->m;
    r.func = c->am->lib.ntypes ? c->am->lib.tramp[0] : (void (*)(void))ref_of;
    for (uint32_t i = 0; i < m->ntypes; i++)
        if (wasm__functype_eq(&m->types[i], f->type)) {
            r.func = c->am->lib.tramp[i];
            break;
        }
    r.module_instance = f;
    return r;
}

/* Returns false on out of memory. */
static bool mirror_tabs(aot_ictx *c)
{
    const wasm_module *m = c->inst->m;
    for (uint32_t i = 0; i < m->ntables; i++) {
        aot_tab *at = &c->tabs[i];
        wasm_table *t = at->t;
        if (t->elem != WASM_FUNCREF) {
            at->rt.data = t->elems;
            at->rt.size = t->size > 0xffffffffull ? 0xffffffffu : (uint32_t)t->size;
            at->rt.max_size = 0xffffffffu;
            continue;
        }
        /* every change of a table bumps its epoch (interp.c, instance.c,
         * runtime.c, snapshot.c, txn.c): checked at each entry and after
         * each call out, so no longer a compare of the whole table */
        if (at->nseen == t->size && at->refs && at->epoch == t->epoch)
            continue;
        if (at->nseen != t->size) {
            aot_rt_ref *nr = realloc(at->refs, (t->size ? t->size : 1) * sizeof *nr);
            if (!nr)
                return false;
            at->refs = nr;
            at->nseen = t->size;
        }
        for (uint64_t k = 0; k < t->size; k++)
            at->refs[k] = ref_of(c, (wasm_func *)t->elems[k]);
        at->epoch = t->epoch;
        at->rt.data = at->refs;
        at->rt.size = (uint32_t)t->size;
        at->rt.max_size = 0xffffffffu;
    }
    return true;
}

__attribute__((noreturn)) static void rt_trap(int code)
{
    siglongjmp(cur->jb, code ? code : AOT_TRAP_UNREACHABLE);
}

/* Compiled code has no bounds checks: its memory's reservation covers any
 * i32 address plus offset and is PROT_NONE beyond the size (runtime.c), so
 * an access out of bounds faults here, from the SIGSEGV handler (dirty.c;
 * SA_NODEFER: the signal stays unblocked after the jump). Nothing was
 * written: the faulting instruction did not complete. Gas is exact: charges
 * are stored before any access that may alias them. */
void wasm__aot_fault(uintptr_t addr)
{
    aot_entry *e = cur;
    if (!e || !e->c || !e->c->inst->mem0)
        return;
    const wasm_memory *m = e->c->inst->mem0;
    uintptr_t base = (uintptr_t)m->data;
    if (addr < base || addr - base >= m->reserved || addr - base < m->size)
        return;
    siglongjmp(e->jb, AOT_TRAP_OOB);
}

static uint32_t rt_grow(aot_rt_mem *mm, uint32_t delta)
{
    aot_ictx *c = cur->c;
    wasm_memory *m = c->inst->mem0;
    int64_t r = -1;
    if (m && &c->mem == mm && m->pages + delta <= 65535)
        r = wasm_memory_grow(m, delta);
    mirror_mem(c);
    return r < 0 ? 0xffffffffu : (uint32_t)r;
}

/* Call f from compiled code of the current entry: io holds the arguments
 * and receives the results. The engine's rules for a call out of wasm:
 * the call counts as a frame, gas and memory are synced around it. */
static void call_out(aot_ictx *c, wasm_func *f, uint64_t *io)
{
    aot_entry *e = cur;
    wasm_store *s = e->s;
    uint32_t *dp = &c->h.depth, *mp = &c->h.maxd;
    uint32_t d = *dp, md = *mp;
    if (e->base + d >= s->max_depth) {
        wasm__trap_set(e->trap, WASM_TRAP_STACK_EXHAUSTED, NULL);
        siglongjmp(e->jb, AOT_TRAP_FILLED);
    }
    const wasm_functype *ft = f->type;
    size_t n = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    uint64_t *slots = s->sp;
    if (slots + n + 1 > s->stack_end) {
        wasm__trap_set(e->trap, WASM_TRAP_STACK_EXHAUSTED, NULL);
        siglongjmp(e->jb, AOT_TRAP_FILLED);
    }
    memcpy(slots, io, ft->nparams * sizeof(uint64_t));
    s->nframes = e->base + d;
    s->gas_used = c->h.gas;
    int rc;
    if (f->host) {
        uint64_t *osp = s->sp;
        s->sp = slots + n;
        rc = wasm__call_host(s, f, c->inst, slots, e->trap);
        s->sp = osp;
    } else {
        rc = wasm__run(s, f, slots, e->trap);
    }
    cur = e;
    *dp = d;
    *mp = md;
    s->nframes = e->base;
    c->h.gas = s->gas_used;
    mirror_mem(c);
    if (!mirror_tabs(c)) {
        wasm__trap_set(e->trap, WASM_TRAP_OUT_OF_MEMORY, NULL);
        siglongjmp(e->jb, AOT_TRAP_FILLED);
    }
    if (rc)
        siglongjmp(e->jb, AOT_TRAP_FILLED);
    memcpy(io, slots, ft->nresults * sizeof(uint64_t));
}

static void rt_call(void *ctx, uint32_t idx, uint64_t *io)
{
    aot_ictx *c = ctx;
    call_out(c, c->inst->funcs[idx], io);
}

static void rt_call_ref(void *func, uint64_t *io)
{
    call_out(cur->c, func, io);
}

/* memory.init: the interpreter's order - bounds, then the size charge */
static void rt_minit(void *ctx, uint32_t seg, uint32_t d, uint32_t s, uint32_t n)
{
    aot_ictx *c = ctx;
    wasm_instance *inst = c->inst;
    wasm_memory *m = inst->mem0;
    const wasm_data *ds = &inst->m->datas[seg];
    uint64_t len = inst->data_dropped[seg] ? 0 : ds->len, msz = m ? m->size : 0;
    if (d > msz || n > msz - d || s > len || n > len - s)
        rt_trap(AOT_TRAP_OOB);
    uint64_t ch = n >> 6;
    if (ch) {
        c->h.gas += ch;
        if (c->h.gas > c->h.lim)
            rt_trap(AOT_TRAP_UNREACHABLE);   /* out of gas */
    }
    if (n)
        memcpy(m->data + d, ds->bytes + s, n);
}

static void rt_ddrop(void *ctx, uint32_t seg)
{
    aot_ictx *c = ctx;
    c->inst->data_dropped[seg] = 1;
}

static const aot_host host = {rt_trap, rt_functype, rt_grow, rt_call, rt_call_ref, rt_minit,
                              rt_ddrop};

const aot_host *wasm__aot_host(void) { return &host; }

static wasm_trap_code map_trap(aot_ictx *c, int code, const char **msg)
{
    *msg = NULL;
    switch (code) {
    case AOT_TRAP_OOB: return WASM_TRAP_MEMORY_OOB;
    case AOT_TRAP_INT_OVERFLOW: return WASM_TRAP_INT_OVERFLOW;
    case AOT_TRAP_DIV_BY_ZERO: return WASM_TRAP_DIV_ZERO;
    case AOT_TRAP_INVALID_CONVERSION: return WASM_TRAP_INVALID_CONVERSION;
    case AOT_TRAP_EXHAUSTION: return WASM_TRAP_STACK_EXHAUSTED;
    case AOT_TRAP_UNDEFINED_ELEMENT: *msg = "undefined element"; return WASM_TRAP_TABLE_OOB;
    case AOT_TRAP_UNINITIALIZED: return WASM_TRAP_UNINITIALIZED;
    case AOT_TRAP_TYPE: case AOT_TRAP_CALL_INDIRECT: return WASM_TRAP_INDIRECT_TYPE;
    default:
        /* out of gas is an `unreachable` reached with gas above the limit */
        return c->h.gas > c->h.lim ? WASM_TRAP_OUT_OF_GAS : WASM_TRAP_UNREACHABLE;
    }
}

static pthread_once_t metric_once = PTHREAD_ONCE_INIT;
static ao_metric *metric_calls;

static void metric_init(void)
{
    metric_calls = ao_metric_get("ao_wasm_compiled_calls_total",
                                 "calls into compiled wasm code from the engine", false);
}

int wasm__aot_run(wasm_store *s, wasm_func *f, uint64_t *fp, wasm_trap *trap)
{
    aot_ictx *c = f->inst->aot;
    pthread_once(&metric_once, metric_init);
    ao_metric_add(metric_calls, 1);
    if (s->nframes + 1 > s->max_depth) {
        wasm__trap_set(trap, WASM_TRAP_STACK_EXHAUSTED, NULL);
        return WASM_TRAP_STACK_EXHAUSTED;
    }
    uint32_t *dp = &c->h.depth, *mp = &c->h.maxd;
    aot_entry e;
    e.prev = cur;
    e.s = s;
    e.c = c;
    e.trap = trap;
    e.base = s->nframes;
    uint32_t sd = *dp, sm = *mp;
    uintptr_t sl = c->h.slim;
    c->h.slim = thread_stack_limit();
    *dp = 0;
    *mp = s->max_depth - s->nframes;
    c->h.gas = s->gas_used;
    c->h.lim = s->gas_limit;
    mirror_mem(c);
    if (!mirror_tabs(c)) {
        wasm__trap_set(trap, WASM_TRAP_OUT_OF_MEMORY, NULL);
        return WASM_TRAP_OUT_OF_MEMORY;
    }
    /* outside a transaction (which checks it at begin), a test framework may
     * have put its own SIGSEGV handler in front since: ours first again */
    if (!e.prev && (!c->inst->mem0 || !c->inst->mem0->txn_log))
        wasm__track_handler_check();
    cur = &e;
    int rc = 0;
    int code = sigsetjmp(e.jb, 0);
    if (code == 0) {
        c->am->lib.entry[f->fn->funcidx - f->inst->m->nfuncs_imported](c->w2c, fp);
    } else if (code == AOT_TRAP_FILLED) {
        rc = trap->code ? (int)trap->code : WASM_TRAP_HOST;
    } else {
        const char *msg;
        wasm_trap_code tc = map_trap(c, code, &msg);
        wasm__trap_set(trap, tc, msg);
        rc = (int)tc;
    }
    cur = e.prev;
    *dp = sd;
    *mp = sm;
    c->h.slim = sl;
    s->nframes = e.base;
    s->gas_used = c->h.gas;
    return rc;
}

/* ---- modules and instances ---- */

static int set_tier(wasm_instance *inst, wasm_tier tier, ao_error *err);

/* A background build: shared by the module and the builder thread (the
 * last one to let go frees it), so that a module can be freed while its
 * library is still being built. state: 1 running, 2 built, 3 failed. */
typedef struct aot_bg {
    int refs;
    int state;
    aot_job job;
} aot_bg;

static void bg_release(aot_bg *b)
{
    if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        wasm__aot_job_free(&b->job);
        free(b);
    }
}

static void aot_mod_free(wasm_module *m)
{
    if (m->aot_bgs) {
        bg_release(m->aot_bgs);
        m->aot_bgs = NULL;
        m->aot_bg_state = NULL;
    }
    aot_mod *am = m->aot;
    if (!am)
        return;
    free(am->type_ids);
    if (am->dl)
        dlclose(am->dl);
    free(am);
    m->aot = NULL;
}

bool wasm_module_compiled(const wasm_module *m)
{
    return m && __atomic_load_n(&m->aot, __ATOMIC_ACQUIRE);
}

static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;

/* Load the built library of job j as m's; m->aot is published once, under
 * load_mu. */
static int load_locked(wasm_module *m, const aot_job *j, ao_error *err)
{
    if (m->aot)
        return AO_OK;
    aot_mod *am = calloc(1, sizeof *am);
    if (!am)
        return ao_err_set(err, AO_ENOMEM, "wasm aot: out of memory");
    am->dl = dlopen(j->path, RTLD_NOW | RTLD_LOCAL);
    if (!am->dl) {
        const char *de = dlerror();
        free(am);
        return ao_err_set(err, AO_EUNSUPPORTED, "wasm aot: cannot load %s: %s", j->path,
                          de ? de : "?");
    }
    aot_init_fn init = (aot_init_fn)(uintptr_t)dlsym(am->dl, "aot_init");
    if (!init || init(&host, &am->lib) != 0 || am->lib.abi != AOT_ABI_VERSION ||
        strcmp(am->lib.key, j->key) != 0 || am->lib.nfuncs != m->ncode ||
        am->lib.ntypes != m->ntypes) {
        dlclose(am->dl);
        free(am);
        return ao_err_set(err, AO_EUNSUPPORTED, "wasm aot: %s is not this module's library",
                          j->path);
    }
    m->aot_free = aot_mod_free;
    __atomic_store_n(&m->aot, am, __ATOMIC_RELEASE);
    ao_log(AO_LOG_INFO, "wasm", "compiled tier: loaded %s", j->path);
    return AO_OK;
}

/* Find (and, if build, build) m's library and load it. */
static int compile_locked(wasm_module *m, const wasm_aot_opts *opts, bool build, ao_error *err)
{
    if (m->aot)
        return AO_OK;
    aot_job j;
    int rc = wasm__aot_prepare(m, opts, &j, err);
    if (rc)
        return rc;
    if (!wasm__aot_cached(&j))
        rc = build ? wasm__aot_run_job(&j, err)
                   : ao_err_set(err, AO_ENOTFOUND, "wasm aot: %s not built yet", j.path);
    if (rc == AO_OK)
        rc = load_locked(m, &j, err);
    wasm__aot_job_free(&j);
    return rc;
}

int wasm_module_compile(wasm_module *m, const wasm_aot_opts *opts, ao_error *err)
{
    /* a background build of it in progress: wait for it rather than
     * running the compiler twice */
    while (m->aot_bg_state && __atomic_load_n(m->aot_bg_state, __ATOMIC_ACQUIRE) == 1) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&load_mu);
    int rc = compile_locked(m, opts, true, err);
    pthread_mutex_unlock(&load_mu);
    return rc;
}

static void *bg_build(void *arg)
{
    aot_bg *b = arg;
    ao_error err;
    int rc = wasm__aot_run_job(&b->job, &err);
    if (rc)
        ao_log(AO_LOG_INFO, "wasm", "module stays on the interpreter: %s", err.msg);
    __atomic_store_n(&b->state, rc ? 3 : 2, __ATOMIC_RELEASE);
    bg_release(b);
    return NULL;
}

void wasm__aot_start(wasm_module *m)
{
    ao_error err;
    const char *sync = getenv("AO_WASM_AOT_SYNC");
    bool now = sync && !strcmp(sync, "1");
    aot_bg *b = calloc(1, sizeof *b);
    if (!b)
        return;
    int rc = wasm__aot_prepare(m, NULL, &b->job, &err);
    if (rc == AO_OK && (now || wasm__aot_cached(&b->job))) {
        rc = wasm__aot_run_job(&b->job, &err);
        if (rc == AO_OK) {
            pthread_mutex_lock(&load_mu);
            rc = load_locked(m, &b->job, &err);
            pthread_mutex_unlock(&load_mu);
        }
        wasm__aot_job_free(&b->job);
        free(b);
        if (rc)
            ao_log(AO_LOG_INFO, "wasm", "module stays on the interpreter: %s", err.msg);
        return;
    }
    if (rc) {
        free(b);
        ao_log(AO_LOG_INFO, "wasm", "module stays on the interpreter: %s", err.msg);
        return;
    }
    /* not in the cache: build it while the interpreter serves */
    b->refs = 2;
    b->state = 1;
    m->aot_bgs = b;
    m->aot_bg_state = &b->state;
    m->aot_free = aot_mod_free;
    pthread_attr_t a;
    pthread_t t;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, bg_build, b) != 0) {
        b->state = 3;
        b->refs = 1;
    }
    pthread_attr_destroy(&a);
}

void wasm__aot_tier_up(wasm_instance *inst)
{
    wasm_module *m = (wasm_module *)inst->m;
    if (!wasm_module_compiled(m)) {
        ao_error err;
        aot_bg *bg = m->aot_bgs;
        pthread_mutex_lock(&load_mu);
        int rc = bg ? load_locked(m, &bg->job, &err) : compile_locked(m, NULL, false, &err);
        pthread_mutex_unlock(&load_mu);
        if (rc) {
            if (m->aot_bg_state)
                __atomic_store_n(m->aot_bg_state, 3, __ATOMIC_RELEASE);
            ao_log(AO_LOG_INFO, "wasm", "module stays on the interpreter: %s", err.msg);
            return;
        }
    }
    (void)set_tier(inst, WASM_TIER_COMPILED, NULL);
}

void wasm__aot_instance_free(wasm_instance *inst)
{
    aot_ictx *c = inst->aot;
    if (!c)
        return;
    if (c->tabs)
        for (uint32_t i = 0; i < inst->m->ntables; i++) {
            free(c->tabs[i].refs);
        }
    free(c->tabs);
    free(c->tabp);
    free(c->globals);
    free(c->w2c);
    free(c);
    inst->aot = NULL;
}

int wasm_instance_set_tier(wasm_instance *inst, wasm_tier tier, ao_error *err)
{
    inst->tier_pinned = true;
    return set_tier(inst, tier, err);
}

static int set_tier(wasm_instance *inst, wasm_tier tier, ao_error *err)
{
    if (tier == WASM_TIER_INTERP) {
        wasm__aot_instance_free(inst);
        return AO_OK;
    }
    if (inst->aot)
        return AO_OK;
    const wasm_module *m = inst->m;
    if (!wasm_module_compiled(m))
        return ao_err_set(err, AO_EUNSUPPORTED, "wasm: module is not compiled");
    /* compiled code's bounds checks are the guard region and the handler */
    if (!wasm__fault_handler_ready())
        return ao_err_set(err, AO_EUNSUPPORTED, "wasm aot: no SIGSEGV handler for bounds checks");
    if (inst->mem0 && inst->mem0->reserved < (8ull << 30) + 65536)
        return ao_err_set(err, AO_EUNSUPPORTED, "wasm aot: memory has no guard region");
    aot_ictx *c = calloc(1, sizeof *c);
    if (!c)
        return ao_err_set(err, AO_ENOMEM, "wasm aot: out of memory");
    c->inst = inst;
    c->am = m->aot;
    c->w2c = calloc(1, c->am->lib.inst_size);
    c->tabs = calloc(m->ntables + 1, sizeof *c->tabs);
    c->tabp = calloc(m->ntables + 1, sizeof *c->tabp);
    c->globals = calloc(m->nglobals + 1, sizeof *c->globals);
    inst->aot = c;
    if (!c->w2c || !c->tabs || !c->tabp || !c->globals) {
        wasm__aot_instance_free(inst);
        return ao_err_set(err, AO_ENOMEM, "wasm aot: out of memory");
    }
    for (uint32_t i = 0; i < m->ntables; i++) {
        c->tabs[i].t = inst->tables[i];
        c->tabp[i] = &c->tabs[i].rt;
    }
    for (uint32_t i = 0; i < m->nglobals; i++)
        c->globals[i] = &inst->globals[i]->v;
    c->h.mem = &c->mem;
    c->h.tabs = c->tabp;
    c->h.globals = c->globals;
    mirror_mem(c);
    if (!mirror_tabs(c)) {
        wasm__aot_instance_free(inst);
        return ao_err_set(err, AO_ENOMEM, "wasm aot: out of memory");
    }
    c->am->lib.instantiate(c->w2c, c);
    return AO_OK;
}

wasm_tier wasm_instance_tier(const wasm_instance *inst)
{
    return inst->aot ? WASM_TIER_COMPILED : WASM_TIER_INTERP;
}

void wasm_store_set_tier(wasm_store *s, wasm_tier tier) { s->tier = (uint8_t)tier; }

/* ---- process-wide default ---- */

static pthread_once_t def_once = PTHREAD_ONCE_INIT;
static int def_tier;

static void def_init(void)
{
    const char *e = getenv("AO_WASM_TIER");
    def_tier = (e && !strcmp(e, "compiled")) ? WASM_TIER_COMPILED : WASM_TIER_INTERP;
}

wasm_tier wasm_tier_default(void)
{
    pthread_once(&def_once, def_init);
    return (wasm_tier)__atomic_load_n(&def_tier, __ATOMIC_RELAXED);
}

void wasm_tier_set_default(wasm_tier tier)
{
    pthread_once(&def_once, def_init);
    __atomic_store_n(&def_tier, (int)tier, __ATOMIC_RELAXED);
}

int wasm_tier_parse(const char *s, wasm_tier *out, ao_error *err)
{
    if (s && !strcmp(s, "interp")) {
        *out = WASM_TIER_INTERP;
        return AO_OK;
    }
    if (s && !strcmp(s, "compiled")) {
        *out = WASM_TIER_COMPILED;
        return AO_OK;
    }
    return ao_err_set(err, AO_EINVAL, "wasm: unknown tier '%s' (interp or compiled)",
                      s ? s : "");
}
