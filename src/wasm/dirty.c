/*
 * dirty.c - write tracking of wasm memories for delta snapshots.
 *
 * After a snapshot (full or delta) every committed page of an instance's
 * defined memories is made read-only. The first write to a page - by wasm
 * code, by memory.fill/copy/init, or by host C code through
 * wasm_memory_data() - faults; the SIGSEGV handler below finds the memory
 * in a lock-free registry, marks the page dirty and makes it writable, and
 * the write is retried. The interpreter's hot path is unchanged, and a page
 * costs one fault per snapshot interval however often it is written.
 *
 * The same faults serve transactions (txn.c): while one is open, the
 * handler first saves the page's pre-image into the undo log of the thread
 * that began it (room reserved at begin: the handler never allocates).
 *
 * Writes the kernel makes (read(2) into wasm memory) do not fault: they fail
 * with EFAULT on a protected page. Hosts mark such ranges first with
 * wasm_memory_mark_dirty(). Faults at addresses that are not a protected
 * page of a tracked memory go to the handler installed before ours (ASan,
 * libFuzzer, or the default action).
 */
#include "wasm/wasm_internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Registry of tracked memories. Slots are claimed with a compare-and-swap
 * and read by the fault handler on any thread; base/len are kept in the
 * slot so that a handler never dereferences another thread's memory. */
#define TRACK_SLOTS 16384

typedef struct track_slot {
    _Atomic(wasm_memory *) mem;
    _Atomic uintptr_t base;
    _Atomic size_t len;        /* committed bytes (mem->size) */
} track_slot;

static track_slot g_slots[TRACK_SLOTS];
static atomic_uint g_slots_hi;             /* slots in use are below this */
static unsigned g_shift;                   /* log2 of the tracking page */
static struct sigaction g_old;             /* the SIGSEGV action before ours */
static bool g_installed;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void chain(int sig, siginfo_t *si, void *uc)
{
    if (g_old.sa_flags & SA_SIGINFO) {
        if (g_old.sa_sigaction) {
            g_old.sa_sigaction(sig, si, uc);
            return;
        }
    } else if (g_old.sa_handler != SIG_DFL && g_old.sa_handler != SIG_IGN) {
        g_old.sa_handler(sig);
        return;
    }
    /* default action: restore it; the faulting instruction runs again */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
}

/* Save the pre-image of page pg for mem's open transaction. */
static bool undo_save(wasm_memory *mem, size_t pg)
{
    wasm_undo *u = mem->txn_log;
    if (u->n >= u->cap)
        return false;
    size_t ps = (size_t)1 << g_shift;
    memcpy(u->data + (u->n << g_shift), mem->data + (pg << g_shift), ps);
    u->ent[u->n].mem = mem;
    u->ent[u->n].pg = pg;
    u->n++;
    if (u->n > u->hw)
        u->hw = u->n;
    return true;
}

/* Is page pg writable at the moment (tracking on)? */
static bool page_is_open(const wasm_memory *mem, size_t pg)
{
    uint8_t d = mem->dirty[pg];
    if (mem->txn_log)
        return (d & WASM_DIRTY_TXN) != 0;
    return (d & WASM_DIRTY_SNAP) && !(d & WASM_DIRTY_REPROT);
}

/* In a transaction a fault opens the whole aligned group of pages around
 * the written one (pre-images saved for each): a message's writes come in
 * a few runs (aos: ~62 pages in ~5 runs), so this takes ~6 faults instead
 * of ~60. Whether an opened page really changed (for the next delta) is
 * decided at commit by comparing it with its pre-image. */

static int group_open(wasm_memory *mem, size_t pg)
{
    size_t n = (size_t)(mem->size >> g_shift);
    size_t a = pg & ~(((size_t)1 << WASM_TXN_GROUP_SHIFT) - 1);
    size_t b = a + ((size_t)1 << WASM_TXN_GROUP_SHIFT);
    if (b > n)
        b = n;
    if (b > mem->dirty_cap)
        b = mem->dirty_cap;
    if (pg < a || pg >= b)
        return -1;
    size_t n0 = mem->txn_log->n;
    uint32_t opened = 0;
    for (size_t q = a; q < b; q++) {
        uint8_t d = mem->dirty[q];
        if (d & WASM_DIRTY_TXN)
            continue;
        if (q < mem->txn_npages) {
            if (!undo_save(mem, q))
                goto undo;
        } else {
            d |= WASM_DIRTY_SNAP | WASM_DIRTY_CHG;   /* grown in this transaction: no pre-image */
        }
        mem->dirty[q] = (uint8_t)(d | WASM_DIRTY_TXN);
        opened |= 1u << (q - a);
    }
    if (mprotect(mem->data + (a << g_shift), (b - a) << g_shift, PROT_READ | PROT_WRITE) == 0)
        return 0;
undo:
    for (size_t q = a; q < b; q++)
        if (opened & (1u << (q - a)))
            mem->dirty[q] &= (uint8_t)~WASM_DIRTY_TXN;
    mem->txn_log->n = n0;
    return -1;
}

/* Make page pg writable and record the write: for the next delta, and for
 * an open transaction (its pre-image first). 0 done, -1 failed. */
static int page_open(wasm_memory *mem, size_t pg)
{
    mem->faults++;
    if (mem->txn_log)
        return group_open(mem, pg);
    uint8_t d = mem->dirty[pg];
    if (mprotect(mem->data + (pg << g_shift), (size_t)1 << g_shift, PROT_READ | PROT_WRITE) != 0)
        return -1;
    mem->dirty[pg] = (uint8_t)((d | WASM_DIRTY_SNAP) & ~WASM_DIRTY_REPROT);
    return 0;
}

/* The slot of the memory in the latest transaction begun on this thread:
 * looked at first (a slot is always safe to read). */
static __thread unsigned t_hint;

static bool try_slot(unsigned i, uintptr_t a, bool *handled)
{
    uintptr_t base = atomic_load_explicit(&g_slots[i].base, memory_order_acquire);
    size_t len = atomic_load_explicit(&g_slots[i].len, memory_order_acquire);
    if (!base || a < base || a - base >= len)
        return false;
    wasm_memory *mem = atomic_load_explicit(&g_slots[i].mem, memory_order_acquire);
    size_t pg = (size_t)(a - base) >> g_shift;
    *handled = mem && mem->tracking && pg < mem->dirty_cap && !page_is_open(mem, pg) &&
               page_open(mem, pg) == 0;
    return true;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    uintptr_t a = (uintptr_t)si->si_addr;
    bool handled = false;
    unsigned h = t_hint;
    if (!(h && h <= TRACK_SLOTS && try_slot(h - 1, a, &handled))) {
        unsigned hi = atomic_load_explicit(&g_slots_hi, memory_order_acquire);
        for (unsigned i = 0; i < hi; i++)
            if (try_slot(i, a, &handled))
                break;
    }
    errno = saved;
    if (handled)
        return;
    /* beyond a memory's size: the bounds check of compiled code (aot.c) */
    wasm__aot_fault(a);
    chain(sig, si, uc);
}

static void install(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    unsigned sh = 12;
    while (sh < 16 && ((size_t)1 << sh) < (size_t)(ps > 0 ? ps : 4096))
        sh++;
    g_shift = sh;
    if (((size_t)1 << sh) != (size_t)(ps > 0 ? ps : 4096))
        return;   /* page size not a power of two in 4..64 KiB: no tracking */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &g_old) == 0)
        g_installed = true;
}

unsigned wasm__track_shift(void)
{
    pthread_once(&g_once, install);
    return g_shift;
}

/* A program (or test framework) may have installed its own SIGSEGV handler
 * since: put ours back in front, chaining to that one. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void ensure_installed(void)
{
    struct sigaction cur;
    if (sigaction(SIGSEGV, NULL, &cur) != 0)
        return;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_segv)
        return;
    pthread_mutex_lock(&g_lock);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    struct sigaction old;
    if (sigaction(SIGSEGV, &sa, &old) == 0 &&
        !((old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_segv))
        g_old = old;
    pthread_mutex_unlock(&g_lock);
}

void wasm__track_handler_check(void)
{
    if (g_installed)
        ensure_installed();
}

bool wasm__fault_handler_ready(void)
{
    pthread_once(&g_once, install);
    if (g_installed)
        ensure_installed();
    return g_installed;
}

static int slot_claim(wasm_memory *mem)
{
    for (unsigned i = 0; i < TRACK_SLOTS; i++) {
        wasm_memory *expect = NULL;
        if (atomic_compare_exchange_strong(&g_slots[i].mem, &expect, mem)) {
            unsigned hi = atomic_load(&g_slots_hi);
            while (hi <= i && !atomic_compare_exchange_weak(&g_slots_hi, &hi, i + 1))
                ;
            return (int)i + 1;
        }
    }
    return 0;
}

/* Publish where the memory is and how much of it is tracked. */
static void slot_publish(wasm_memory *mem, size_t len)
{
    track_slot *t = &g_slots[mem->track_slot - 1];
    atomic_store_explicit(&t->base, 0, memory_order_release);
    atomic_store_explicit(&t->len, len, memory_order_release);
    atomic_store_explicit(&t->base, (uintptr_t)mem->data, memory_order_release);
}

void wasm__track_release(wasm_memory *mem)
{
    wasm__undo_drop(mem);
    free(mem->txn_copy);
    mem->txn_copy = NULL;
    if (mem->track_slot) {
        track_slot *t = &g_slots[mem->track_slot - 1];
        atomic_store(&t->base, 0);
        atomic_store(&t->len, 0);
        atomic_store(&t->mem, NULL);
        mem->track_slot = 0;
    }
    mem->tracking = false;
    free(mem->dirty);
    mem->dirty = NULL;
    mem->dirty_cap = 0;
}

void wasm__track_moved(wasm_memory *mem)
{
    if (mem->track_slot)
        slot_publish(mem, (size_t)mem->size);
}

void wasm__track_stop(wasm_memory *mem)
{
    if (!mem->tracking)
        return;
    /* an open transaction keeps the pre-image of every page it has not
     * saved yet: no write will fault from now on */
    if (mem->txn_log) {
        for (size_t pg = 0; pg < mem->txn_npages; pg++)
            if (!(mem->dirty[pg] & WASM_DIRTY_TXN) && undo_save(mem, pg))
                mem->dirty[pg] |= WASM_DIRTY_TXN;
    }
    mem->tracking = false;
    mem->hot = false;
    mem->all_dirty = true;
    if (mem->size)
        mprotect(mem->data, (size_t)mem->size, PROT_READ | PROT_WRITE);
}

int wasm__track_start(wasm_memory *mem)
{
    unsigned sh = wasm__track_shift();
    if (!g_installed)
        goto whole;
    ensure_installed();
    /* marks for the pages the memory can have (its reservation can be larger:
     * the guard region of 32-bit memories, runtime.c) */
    size_t need = mem->reserved >> sh;
    if (mem->max_pages < (mem->reserved >> 16))
        need = (size_t)(mem->max_pages << 16) >> sh;
    if (mem->dirty_cap < need) {
        uint8_t *d = realloc(mem->dirty, need);
        if (!d)
            goto whole;
        mem->dirty = d;
        mem->dirty_cap = need;
    }
    if (!mem->track_slot && !(mem->track_slot = slot_claim(mem)))
        goto whole;
    slot_publish(mem, (size_t)mem->size);
    size_t used = (size_t)(mem->size >> sh);
    if (mem->tracking) {
        /* only pages written since the last start are writable */
        memset(mem->dirty, 0, used);
    } else {
        memset(mem->dirty, 0, mem->dirty_cap);
    }
    if (mem->size && mprotect(mem->data, (size_t)mem->size, PROT_READ) != 0) {
        mprotect(mem->data, (size_t)mem->size, PROT_READ | PROT_WRITE);
        goto whole;
    }
    mem->tracking = true;
    mem->hot = false;
    mem->all_dirty = false;
    return AO_OK;
whole:
    mem->tracking = false;
    mem->all_dirty = true;
    return AO_ENOMEM;
}

uint64_t wasm_memory_write_faults(const wasm_memory *mem) { return mem->faults; }

void wasm_memory_mark_dirty(wasm_memory *mem, uint64_t offset, uint64_t len)
{
    if (!mem->tracking || len == 0 || offset >= mem->size)
        return;
    if (len > mem->size - offset)
        len = mem->size - offset;
    size_t first = (size_t)(offset >> g_shift);
    size_t last = (size_t)((offset + len - 1) >> g_shift);
    for (size_t p = first; p <= last; p++) {
        if (page_is_open(mem, p))
            continue;
        if (page_open(mem, p) != 0) {
            wasm__track_stop(mem);
            return;
        }
    }
}

int wasm__track_resume(wasm_memory *mem)
{
    bool all = mem->all_dirty;
    int rc = wasm__track_start(mem);
    if (rc == AO_OK)
        mem->all_dirty = all;
    return rc;
}

/* ---- the per-thread undo log ---- */

static pthread_key_t g_undo_key;
static pthread_once_t g_undo_once = PTHREAD_ONCE_INIT;
static bool g_undo_key_ok;
static __thread wasm_undo *t_undo;

static void undo_destroy(void *p)
{
    wasm_undo *u = p;
    if (!u)
        return;
    if (u->data)
        munmap(u->data, u->cap << g_shift);
    free(u->ent);
    free(u);
}

static void undo_key_init(void)
{
    g_undo_key_ok = pthread_key_create(&g_undo_key, undo_destroy) == 0;
}

int wasm__undo_reserve(wasm_memory *mem, ao_error *err)
{
    pthread_once(&g_undo_once, undo_key_init);
    wasm_undo *u = t_undo;
    if (!u) {
        if (!g_undo_key_ok || !(u = calloc(1, sizeof *u)))
            return ao_err_set(err, AO_ENOMEM, "wasm: out of memory for the undo log");
        if (pthread_setspecific(g_undo_key, u) != 0) {
            free(u);
            return ao_err_set(err, AO_ENOMEM, "wasm: out of memory for the undo log");
        }
        t_undo = u;
    }
    size_t need = u->n + (size_t)(mem->size >> g_shift);
    if (need > u->cap) {
        size_t nc = u->cap ? u->cap : 256;
        while (nc < need)
            nc *= 2;
        struct wasm_undo_ent *e = realloc(u->ent, nc * sizeof *e);
        if (!e)
            return ao_err_set(err, AO_ENOMEM, "wasm: out of memory for the undo log");
        u->ent = e;
        void *d = u->data ? mremap(u->data, u->cap << g_shift, nc << g_shift, MREMAP_MAYMOVE)
                          : mmap(NULL, nc << g_shift, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (d == MAP_FAILED)
            return ao_err_set(err, AO_ENOMEM, "wasm: cannot map the undo log");
        u->data = d;
        u->cap = nc;
    }
    mem->txn_log = u;
    if (mem->track_slot)
        t_hint = (unsigned)mem->track_slot;
    return AO_OK;
}

/* Does the group of page pg hold a page marked CHG already? */
static bool group_changed(const wasm_memory *mem, size_t pg)
{
    size_t a = pg & ~(((size_t)1 << WASM_TXN_GROUP_SHIFT) - 1);
    size_t b = a + ((size_t)1 << WASM_TXN_GROUP_SHIFT);
    if (b > mem->dirty_cap)
        b = mem->dirty_cap;
    for (size_t q = a; q < b; q++)
        if (mem->dirty[q] & WASM_DIRTY_CHG)
            return true;
    return false;
}

/* At commit: SNAP|CHG on the saved pages whose bytes changed. A page not
 * yet SNAP is always compared (the next delta must carry it if changed);
 * one already SNAP only matters for its group's CHG (txn.c keeps changed
 * groups writable), so it is compared only while its group has no
 * changed page yet: in a hot group most pages are SNAP and the first
 * compared one usually differs. */
void wasm__undo_mark_changed(wasm_memory *mem)
{
    wasm_undo *u = mem->txn_log;
    if (!u || !mem->dirty)
        return;
    size_t ps = (size_t)1 << g_shift;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < u->n; i++) {
            if (u->ent[i].mem != mem)
                continue;
            size_t pg = u->ent[i].pg;
            if (pg >= mem->dirty_cap || (size_t)(pg + 1) << g_shift > mem->size)
                continue;
            uint8_t d = mem->dirty[pg];
            if (d & WASM_DIRTY_CHG)
                continue;
            if (pass == 0 ? (d & WASM_DIRTY_SNAP) != 0
                          : (!(d & WASM_DIRTY_SNAP) || group_changed(mem, pg)))
                continue;
            if (memcmp(mem->data + (pg << g_shift), u->data + (i << g_shift), ps) != 0)
                mem->dirty[pg] = (uint8_t)(d | WASM_DIRTY_SNAP | WASM_DIRTY_CHG);
        }
}

/* At a transaction's begin: the pages that are writable already (left
 * open by the last transaction's end, or by writes outside one) will not
 * fault, so their pre-images are saved now. 0, or -1 if the log is full. */
int wasm__undo_open_writable(wasm_memory *mem)
{
    size_t n = mem->txn_npages < mem->dirty_cap ? mem->txn_npages : mem->dirty_cap;
    size_t p = 0;
    mem->hot = false;
    while (p < n) {
        while (p + 8 <= n && ao_rd_u64le(mem->dirty + p) == 0)
            p += 8;
        if (p >= n)
            break;
        uint8_t d = mem->dirty[p];
        bool open = (d & WASM_DIRTY_HOT) || ((d & WASM_DIRTY_SNAP) && !(d & WASM_DIRTY_REPROT));
        if (open && !(d & WASM_DIRTY_TXN)) {
            if (!undo_save(mem, p))
                return -1;
            mem->dirty[p] = (uint8_t)((d | WASM_DIRTY_TXN) & ~WASM_DIRTY_HOT);
        }
        p++;
    }
    return 0;
}

void wasm__track_cool(wasm_memory *mem)
{
    if (!mem->hot)
        return;
    mem->hot = false;
    if (!mem->tracking)
        return;
    size_t n = (size_t)(mem->size >> g_shift);
    if (n > mem->dirty_cap)
        n = mem->dirty_cap;
    size_t p = 0;
    while (p < n) {
        while (p < n && !(mem->dirty[p] & WASM_DIRTY_HOT))
            p++;
        size_t q = p;
        while (q < n && (mem->dirty[q] & WASM_DIRTY_HOT)) {
            mem->dirty[q] = (uint8_t)((mem->dirty[q] & ~WASM_DIRTY_HOT) | WASM_DIRTY_REPROT);
            q++;
        }
        if (q > p && mprotect(mem->data + (p << g_shift), (q - p) << g_shift, PROT_READ) != 0) {
            wasm__track_stop(mem);
            return;
        }
        p = q;
    }
}

void wasm__undo_drop(wasm_memory *mem)
{
    wasm_undo *u = mem->txn_log;
    if (!u)
        return;
    size_t k = 0;
    for (size_t i = 0; i < u->n; i++) {
        if (u->ent[i].mem == mem)
            continue;
        if (k != i) {
            u->ent[k] = u->ent[i];
            memcpy(u->data + (k << g_shift), u->data + (i << g_shift), (size_t)1 << g_shift);
        }
        k++;
    }
    u->n = k;
    /* a large message's pre-images are not kept resident: beyond 8 MiB
     * the log's pages go back to the system once it is empty */
    size_t keep = (size_t)8 << 20 >> g_shift;
    if (u->n == 0 && u->hw > keep) {
        madvise(u->data + (keep << g_shift), (u->cap - keep) << g_shift, MADV_DONTNEED);
        u->hw = keep;
    }
    mem->txn_log = NULL;
    if (t_hint == (unsigned)mem->track_slot)
        t_hint = 0;
}
