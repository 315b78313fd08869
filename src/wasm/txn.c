/*
 * txn.c - transactions on an instance: begin marks the instance's state,
 * commit keeps what happened since, rollback puts back exactly the state at
 * begin (memory bytes and sizes, mutable globals, tables, segment state).
 *
 * Memory uses the write tracking of dirty.c: at begin every committed page
 * of the instance's defined memories is read-only; the first write to a
 * page saves the pre-images of its aligned group of 16 pages (64 KiB) into
 * the undo log of the beginning thread and makes the group writable (a
 * message's writes come in a few runs: one fault per group, not per page).
 * Commit marks for the next delta the saved pages whose bytes changed and
 * makes the opened pages read-only again (ready for the next transaction);
 * rollback copies the pre-images back and drops the pages a memory.grow
 * added (their contents are discarded, so a later grow sees zeros again).
 * Cost: one fault per group written and a 4 KiB copy per page of it, not
 * per page of memory. A memory that cannot be tracked (no
 * SIGSEGV handler, registry full) is copied whole at begin instead.
 *
 * The small state (globals, tables, segment state) is copied at begin.
 * Delta snapshots keep working across transactions: pages written in a
 * transaction stay marked for the next delta; a rolled back page is marked
 * too (it carries its unchanged bytes).
 */
#include "wasm/wasm_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void wasm__txn_free(wasm_instance *inst)
{
    const wasm_module *m = inst->m;
    if (inst->txn_telems)
        for (uint32_t i = 0; i < m->ntables - m->ntables_imported; i++)
            free(inst->txn_telems[i]);
    free(inst->txn_telems);
    free(inst->txn_globals);
    free(inst->txn_tsize);
    free(inst->txn_tcap);
    free(inst->txn_elem_len);
    free(inst->txn_data_dropped);
    inst->txn_telems = NULL;
    inst->txn_globals = NULL;
    inst->txn_tsize = NULL;
    inst->txn_tcap = NULL;
    inst->txn_elem_len = NULL;
    inst->txn_data_dropped = NULL;
}

static int small_save(wasm_instance *inst, ao_error *err)
{
    const wasm_module *m = inst->m;
    uint32_t ng = m->nglobals - m->nglobals_imported, nt = m->ntables - m->ntables_imported;
    if (!inst->txn_globals) {
        inst->txn_globals = calloc(ng + 1, sizeof *inst->txn_globals);
        inst->txn_tsize = calloc(nt + 1, sizeof *inst->txn_tsize);
        inst->txn_tcap = calloc(nt + 1, sizeof *inst->txn_tcap);
        inst->txn_telems = calloc(nt + 1, sizeof *inst->txn_telems);
        inst->txn_elem_len = calloc(m->nelems + 1, sizeof *inst->txn_elem_len);
        inst->txn_data_dropped = calloc(m->ndatas + 1, 1);
        if (!inst->txn_globals || !inst->txn_tsize || !inst->txn_tcap || !inst->txn_telems ||
            !inst->txn_elem_len || !inst->txn_data_dropped) {
            wasm__txn_free(inst);
            return ao_err_set(err, AO_ENOMEM, "wasm: out of memory for a transaction");
        }
    }
    for (uint32_t i = 0; i < ng; i++)
        inst->txn_globals[i] = inst->globals[m->nglobals_imported + i]->v;
    for (uint32_t i = 0; i < nt; i++) {
        const wasm_table *t = inst->tables[m->ntables_imported + i];
        if (t->size > inst->txn_tcap[i]) {
            void **e = realloc(inst->txn_telems[i], (size_t)t->size * sizeof *e);
            if (!e)
                return ao_err_set(err, AO_ENOMEM, "wasm: out of memory for a transaction");
            inst->txn_telems[i] = e;
            inst->txn_tcap[i] = t->size;
        }
        inst->txn_tsize[i] = t->size;
        if (t->size)
            memcpy(inst->txn_telems[i], t->elems, (size_t)t->size * sizeof(void *));
    }
    if (m->nelems)
        memcpy(inst->txn_elem_len, inst->elem_len, m->nelems * sizeof *inst->elem_len);
    if (m->ndatas)
        memcpy(inst->txn_data_dropped, inst->data_dropped, m->ndatas);
    return AO_OK;
}

static void small_restore(wasm_instance *inst)
{
    const wasm_module *m = inst->m;
    uint32_t ng = m->nglobals - m->nglobals_imported, nt = m->ntables - m->ntables_imported;
    for (uint32_t i = 0; i < ng; i++)
        inst->globals[m->nglobals_imported + i]->v = inst->txn_globals[i];
    for (uint32_t i = 0; i < nt; i++) {
        wasm_table *t = inst->tables[m->ntables_imported + i];
        /* a table only grows: its capacity covers the size at begin */
        t->size = inst->txn_tsize[i];
        if (t->size)
            memcpy(t->elems, inst->txn_telems[i], (size_t)t->size * sizeof(void *));
        t->epoch++;
    }
    if (m->nelems)
        memcpy(inst->elem_len, inst->txn_elem_len, m->nelems * sizeof *inst->elem_len);
    if (m->ndatas)
        memcpy(inst->data_dropped, inst->txn_data_dropped, m->ndatas);
}

/* Drop the pages grown since begin: back to `pages`, their contents
 * discarded (zero when grown again). */
static void mem_shrink(wasm_memory *mem, uint64_t pages)
{
    if (mem->pages <= pages)
        return;
    size_t keep = (size_t)(pages * WASM_PAGE), cut = (size_t)mem->size - keep;
    unsigned sh = wasm__track_shift();
    madvise(mem->data + keep, cut, MADV_DONTNEED);
    mprotect(mem->data + keep, cut, PROT_NONE);
    if (mem->dirty) {
        size_t a = keep >> sh, b = (size_t)(mem->size >> sh);
        if (b > mem->dirty_cap)
            b = mem->dirty_cap;
        if (a < b)
            memset(mem->dirty + a, 0, b - a);
    }
    mem->pages = pages;
    mem->size = keep;
    mem->store->mem_epoch++;
    wasm__track_moved(mem);
}

#define GROUP ((size_t)1 << WASM_TXN_GROUP_SHIFT)   /* pages of a hot group */

/* End of a transaction on a tracked memory. The pages it opened become
 * read-only again, except (keep_hot, a commit) the aligned groups in which
 * some page changed: those stay writable (HOT), and the next transaction
 * saves their pre-images at its begin instead of taking a fault and two
 * mprotect calls per group (only pages whose bytes changed are marked for
 * the next delta, by wasm__undo_mark_changed). A
 * message's writes go to the same few groups message after message (the
 * heap's top, the C stack), and on virtual machines where a page-table
 * change costs tens of microseconds this is most of the difference. A
 * group that was not changed is protected again. */
static void mem_end(wasm_memory *mem, bool keep_hot)
{
    if (mem->txn_log)
        wasm__undo_drop(mem);
    if (!mem->dirty)
        return;
    unsigned sh = wasm__track_shift();
    size_t n = (size_t)(mem->size >> sh);
    if (n > mem->dirty_cap)
        n = mem->dirty_cap;
    if (!mem->tracking) {
        for (size_t p = 0; p < mem->dirty_cap; p++)
            mem->dirty[p] &= (uint8_t)~(WASM_DIRTY_TXN | WASM_DIRTY_CHG | WASM_DIRTY_HOT);
        return;
    }
    const uint8_t T = WASM_DIRTY_TXN, C = WASM_DIRTY_CHG;
    size_t p = 0;
    while (p < n) {
        while (p + 8 <= n && (ao_rd_u64le(mem->dirty + p) & 0x0202020202020202ull) == 0)
            p += 8;
        while (p < n && !(mem->dirty[p] & T))
            p++;
        if (p == n)
            break;
        size_t g = p & ~(GROUP - 1), ge = g + GROUP < n ? g + GROUP : n;
        bool hot = false;
        for (size_t q = g; keep_hot && q < ge; q++)
            if ((mem->dirty[q] & (T | C)) == (T | C))
                hot = true;
        if (hot) {
            for (size_t q = p; q < ge; q++)
                if (mem->dirty[q] & T)
                    mem->dirty[q] = (uint8_t)((mem->dirty[q] & ~(T | C | WASM_DIRTY_REPROT)) |
                                              WASM_DIRTY_HOT);
            mem->hot = true;
            p = ge;
            continue;
        }
        size_t q = p;
        while (q < ge && (mem->dirty[q] & T)) {
            mem->dirty[q] = (uint8_t)((mem->dirty[q] & ~(T | C)) | WASM_DIRTY_REPROT);
            q++;
        }
        if (mprotect(mem->data + (p << sh), (q - p) << sh, PROT_READ) != 0) {
            wasm__track_stop(mem);
            return;
        }
        p = q;
    }
}

int wasm_instance_txn_begin(wasm_instance *inst, ao_error *err)
{
    const wasm_module *m = inst->m;
    if (inst->txn)
        return ao_err_set(err, AO_ESTATE, "wasm: a transaction is already open on this instance");
    int rc = small_save(inst, err);
    if (rc)
        return rc;
    /* a test framework or the program may have put its own SIGSEGV handler
     * in front since the last message: ours must see this one's faults */
    if (m->nmems > m->nmems_imported)
        wasm__track_handler_check();
    uint32_t i;
    for (i = m->nmems_imported; i < m->nmems; i++) {
        wasm_memory *mem = inst->mems[i];
        mem->txn_pages = mem->pages;
        mem->txn_npages = (size_t)(mem->size >> wasm__track_shift());
        if (!mem->tracking)
            wasm__track_resume(mem);
        if (mem->tracking && wasm__undo_reserve(mem, NULL) == AO_OK) {
            if (wasm__undo_open_writable(mem) == 0) {
                mem->txn = true;
                continue;
            }
            wasm__undo_drop(mem);
        }
        /* untracked: a whole copy */
        wasm__track_stop(mem);
        free(mem->txn_copy);
        mem->txn_copy = malloc(mem->size ? (size_t)mem->size : 1);
        if (!mem->txn_copy) {
            rc = ao_err_set(err, AO_ENOMEM, "wasm: out of memory for a transaction");
            break;
        }
        if (mem->size)
            memcpy(mem->txn_copy, mem->data, (size_t)mem->size);
        mem->txn = true;
    }
    if (rc) {
        for (uint32_t k = m->nmems_imported; k < i; k++) {
            wasm_memory *mem = inst->mems[k];
            mem_end(mem, false);
            free(mem->txn_copy);
            mem->txn_copy = NULL;
            mem->txn = false;
        }
        return rc;
    }
    inst->txn = true;
    return AO_OK;
}

void wasm_instance_txn_commit(wasm_instance *inst)
{
    const wasm_module *m = inst->m;
    if (!inst->txn)
        return;
    for (uint32_t i = m->nmems_imported; i < m->nmems; i++) {
        wasm_memory *mem = inst->mems[i];
        wasm__undo_mark_changed(mem);
        mem_end(mem, true);
        free(mem->txn_copy);
        mem->txn_copy = NULL;
        mem->txn = false;
    }
    inst->txn = false;
}

void wasm_instance_txn_rollback(wasm_instance *inst)
{
    const wasm_module *m = inst->m;
    if (!inst->txn)
        return;
    unsigned sh = wasm__track_shift();
    for (uint32_t i = m->nmems_imported; i < m->nmems; i++) {
        wasm_memory *mem = inst->mems[i];
        if (mem->txn_copy) {
            mem_shrink(mem, mem->txn_pages);
            if (mem->size)
                memcpy(mem->data, mem->txn_copy, (size_t)mem->size);
            free(mem->txn_copy);
            mem->txn_copy = NULL;
        } else if (mem->txn_log) {
            /* every saved page is writable now (or tracking stopped and all is) */
            wasm_undo *u = mem->txn_log;
            size_t ps = (size_t)1 << sh;
            for (size_t k = 0; k < u->n; k++)
                if (u->ent[k].mem == mem)
                    memcpy(mem->data + (u->ent[k].pg << sh), u->data + (k << sh), ps);
            mem_shrink(mem, mem->txn_pages);
        }
        mem_end(mem, false);
        mem->txn = false;
    }
    small_restore(inst);
    inst->txn = false;
}

bool wasm_instance_txn_open(const wasm_instance *inst) { return inst->txn; }
