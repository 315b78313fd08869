/*
 * snapshot.c - snapshot and restore of an instance's mutable state: its
 * defined memories, mutable globals and tables, and which element/data
 * segments were dropped, compressed with zstd. A snapshot restores into a
 * fresh instance of the same module (checked by a fingerprint of the module
 * bytes), in any store, and execution continues identically.
 *
 * Layout before compression (little endian):
 *   "AOWS" u32 version=2, u64 fnv1a(module bytes), u64 module length
 *   u32 nmems, per defined memory: u64 pages, u8 log2(unit), u64 nruns,
 *       per run of non-zero units (ascending, not touching): u64 first
 *       unit, u64 count, count << shift bytes (the units not in a run are
 *       zero: an idle memory costs its written pages, not its size)
 * (version 1, still restored: per defined memory u64 pages, all bytes)
 *   u32 nglobals, per defined mutable global: u64 bits (funcref: u64
 *       function index + 1, 0 = null; externref: only null)
 *   u32 ntables, per defined table: u64 size, per element u64 as funcref
 *   u32 nelems, per segment: u64 remaining length (0 once dropped)
 *   u32 ndatas, per segment: u8 dropped
 */
#include "wasm/wasm_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zstd.h>

#define SNAP_MAGIC "AOWS"
#define SNAP_VERSION 1u          /* deltas, and full snapshots of version 1 */
#define SNAP_VERSION_FULL 2u     /* full snapshots written now */
#define SNAP_UNIT_SHIFT 12u      /* unit of the runs of a full snapshot: 4 KiB */
#define FULL_LEVEL 1             /* zstd level of full snapshots */
#define DELTA_MAGIC "AOWD"
#define DELTA_LEVEL 1   /* zstd level of deltas (bench/snapshot.c measures) */

/* Identity of a snapshot: a 64-bit hash of its uncompressed body (which,
 * for a delta, holds the parent's identity). It detects mistakes (a delta
 * applied to the wrong state), not attacks. Four independent lanes so that
 * a 64 MiB body hashes in a few milliseconds. */
static uint64_t rotl64(uint64_t x, unsigned r) { return (x << r) | (x >> (64 - r)); }

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static uint64_t snap_hash(const uint8_t *p, size_t n)
{
    const uint64_t K = 0x9fb21c651e98df25ull;
    uint64_t a = 0x243f6a8885a308d3ull, b = 0x13198a2e03707344ull;
    uint64_t c = 0xa4093822299f31d0ull, d = 0x082efa98ec4e6c89ull;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a = rotl64(a ^ ao_rd_u64le(p + i), 29) * K;
        b = rotl64(b ^ ao_rd_u64le(p + i + 8), 29) * K;
        c = rotl64(c ^ ao_rd_u64le(p + i + 16), 29) * K;
        d = rotl64(d ^ ao_rd_u64le(p + i + 24), 29) * K;
    }
    for (; i + 8 <= n; i += 8)
        a = rotl64(a ^ ao_rd_u64le(p + i), 29) * K;
    for (; i < n; i++)
        b = rotl64(b ^ p[i], 29) * K;
    return mix64(mix64(a) ^ rotl64(mix64(b), 17) ^ rotl64(mix64(c), 31) ^ rotl64(mix64(d), 47) ^ n);
}

static int put_u32(ao_buf *b, uint32_t v)
{
    uint8_t x[4];
    ao_wr_u32le(x, v);
    return ao_buf_append(b, x, 4);
}

/* Reference -> portable number: 0 null, else function index + 1. */
static int ref_encode(wasm_instance *inst, uint8_t type, uint64_t bits, uint64_t *out)
{
    if (bits == 0) {
        *out = 0;
        return AO_OK;
    }
    if (type != WASM_FUNCREF)
        return AO_EUNSUPPORTED;
    wasm_func *f = (wasm_func *)(uintptr_t)bits;
    const wasm_module *m = inst->m;
    if (m->ncode && f >= inst->own_funcs && f < inst->own_funcs + m->ncode) {
        *out = (uint64_t)(f - inst->own_funcs) + m->nfuncs_imported + 1;
        return AO_OK;
    }
    for (uint32_t i = 0; i < m->nfuncs_imported; i++) {
        if (inst->funcs[i] == f) {
            *out = (uint64_t)i + 1;
            return AO_OK;
        }
    }
    return AO_EUNSUPPORTED;
}

/* The small state every snapshot carries whole: mutable globals, tables,
 * element and data segment state. */
static int snap_put_tail(wasm_instance *inst, ao_buf *b, ao_error *err)
{
    const wasm_module *m = inst->m;
    ao_buf raw = *b;
    int rc = 0;
    rc |= put_u32(&raw, m->nglobals - m->nglobals_imported);
    for (uint32_t i = m->nglobals_imported; i < m->nglobals && !rc; i++) {
        wasm_global *g = inst->globals[i];
        if (!g->mut)
            continue;
        uint64_t v = g->v;
        if (g->type == WASM_FUNCREF || g->type == WASM_EXTERNREF) {
            if (ref_encode(inst, g->type, g->v, &v)) {
                *b = raw;
                return ao_err_set(err, AO_EUNSUPPORTED,
                                  "wasm snapshot: global %u holds a reference that cannot be saved", i);
            }
        }
        rc |= ao_buf_append_u64le(&raw, v);
    }
    rc |= put_u32(&raw, m->ntables - m->ntables_imported);
    for (uint32_t i = m->ntables_imported; i < m->ntables && !rc; i++) {
        wasm_table *t = inst->tables[i];
        rc |= ao_buf_append_u64le(&raw, t->size);
        for (uint64_t k = 0; k < t->size && !rc; k++) {
            uint64_t v;
            if (ref_encode(inst, t->elem, (uint64_t)(uintptr_t)t->elems[k], &v)) {
                *b = raw;
                return ao_err_set(err, AO_EUNSUPPORTED,
                                  "wasm snapshot: table %u element %llu is not null or a function "
                                  "of this instance", i, (unsigned long long)k);
            }
            rc |= ao_buf_append_u64le(&raw, v);
        }
    }
    rc |= put_u32(&raw, m->nelems);
    for (uint32_t i = 0; i < m->nelems && !rc; i++)
        rc |= ao_buf_append_u64le(&raw, inst->elem_len[i]);
    rc |= put_u32(&raw, m->ndatas);
    for (uint32_t i = 0; i < m->ndatas && !rc; i++)
        rc |= ao_buf_append_byte(&raw, inst->data_dropped[i]);
    *b = raw;
    if (rc)
        return ao_err_set(err, AO_ENOMEM, "wasm snapshot: out of memory");
    return AO_OK;
}

/* Start (or restart) write tracking of every defined memory. */
static void snap_track_all(wasm_instance *inst)
{
    const wasm_module *m = inst->m;
    for (uint32_t i = m->nmems_imported; i < m->nmems; i++)
        wasm__track_start(inst->mems[i]);
}

/* One zstd frame with its content checksum (a corrupt snapshot is refused
 * rather than restored into a wrong state). */
static size_t zcompress(ZSTD_CCtx *z, void *dst, size_t cap, const void *src, size_t len, int level)
{
    ZSTD_CCtx_reset(z, ZSTD_reset_session_and_parameters);
    size_t r = ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(r))
        r = ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(r))
        return r;
    return ZSTD_compress2(z, dst, cap, src, len);
}

static bool unit_zero(const uint8_t *p, size_t n)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    for (size_t i = 0; i < n / 8; i += 4)
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3])
            return false;
    return true;
}

/* The runs of non-zero 4 KiB units of a memory (full snapshot, v2). */
static int put_mem_nonzero(wasm_memory *mem, ao_buf *raw)
{
    const unsigned sh = SNAP_UNIT_SHIFT;
    const size_t us = (size_t)1 << sh;
    size_t n = (size_t)(mem->size >> sh);
    int rc = ao_buf_append_u64le(raw, mem->pages);
    rc |= ao_buf_append_byte(raw, (uint8_t)sh);
    size_t count_at = raw->len;
    rc |= ao_buf_append_u64le(raw, 0);
    if (rc)
        return AO_ENOMEM;
    uint64_t nruns = 0;
    size_t p = 0;
    while (p < n) {
        while (p < n && unit_zero(mem->data + (p << sh), us))
            p++;
        if (p == n)
            break;
        size_t q = p + 1;
        while (q < n && !unit_zero(mem->data + (q << sh), us))
            q++;
        rc |= ao_buf_append_u64le(raw, p);
        rc |= ao_buf_append_u64le(raw, q - p);
        rc |= ao_buf_append(raw, mem->data + (p << sh), (q - p) << sh);
        if (rc)
            return AO_ENOMEM;
        nruns++;
        p = q;
    }
    ao_wr_u64le(raw->data + count_at, nruns);
    return AO_OK;
}

int wasm_instance_snapshot(wasm_instance *inst, ao_buf *out, ao_error *err)
{
    const wasm_module *m = inst->m;
    if (inst->txn)
        return ao_err_set(err, AO_ESTATE, "wasm snapshot: a transaction is open");
    if (!inst->snap_zctx && !(inst->snap_zctx = ZSTD_createCCtx()))
        return ao_err_set(err, AO_ENOMEM, "wasm snapshot: out of memory");
    ao_buf raw;
    ao_buf_init(&raw);
    int rc = ao_buf_append(&raw, SNAP_MAGIC, 4);
    rc |= put_u32(&raw, SNAP_VERSION_FULL);
    rc |= ao_buf_append_u64le(&raw, m->fingerprint);
    rc |= ao_buf_append_u64le(&raw, m->len);
    rc |= put_u32(&raw, m->nmems - m->nmems_imported);
    for (uint32_t i = m->nmems_imported; i < m->nmems && !rc; i++)
        rc |= put_mem_nonzero(inst->mems[i], &raw);
    if (rc) {
        ao_buf_free(&raw);
        return ao_err_set(err, AO_ENOMEM, "wasm snapshot: out of memory");
    }
    if ((rc = snap_put_tail(inst, &raw, err)) != AO_OK) {
        ao_buf_free(&raw);
        return rc;
    }
    size_t bound = ZSTD_compressBound(raw.len);
    if (ao_buf_reserve(out, bound)) {
        rc = ao_err_set(err, AO_ENOMEM, "wasm snapshot: out of memory");
    } else {
        size_t z = zcompress(inst->snap_zctx, out->data + out->len, bound, raw.data, raw.len,
                             FULL_LEVEL);
        if (ZSTD_isError(z))
            rc = ao_err_set(err, AO_EIO, "wasm snapshot: zstd: %s", ZSTD_getErrorName(z));
        else
            out->len += z;
    }
    if (rc == AO_OK) {
        inst->snap_head = true;
        inst->snap_id = snap_hash(raw.data, raw.len);
        inst->snap_seq = 0;
        snap_track_all(inst);
    }
    ao_buf_free(&raw);
    return rc;
}
/* ---- restore ---- */

typedef struct rd {
    const uint8_t *p, *end;
    bool bad;
} rd;

static uint64_t rd_u64(rd *r)
{
    if (r->end - r->p < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t v = ao_rd_u64le(r->p);
    r->p += 8;
    return v;
}

static uint32_t rd_u32(rd *r)
{
    if (r->end - r->p < 4) {
        r->bad = true;
        return 0;
    }
    uint32_t v = ao_rd_u32le(r->p);
    r->p += 4;
    return v;
}

static const uint8_t *rd_bytes(rd *r, uint64_t n)
{
    if ((uint64_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    return q;
}

/* The small state (see snap_put_tail); checks only unless `apply`. */
static int tail_pass(wasm_instance *inst, rd *r, bool apply, ao_error *err)
{
    const wasm_module *m = inst->m;
    if (rd_u32(r) != m->nglobals - m->nglobals_imported)
        return ao_err_set(err, AO_EFORMAT, "wasm restore: global count differs");
    for (uint32_t i = m->nglobals_imported; i < m->nglobals; i++) {
        wasm_global *g = inst->globals[i];
        if (!g->mut)
            continue;
        uint64_t v = rd_u64(r);
        if (r->bad)
            return ao_err_set(err, AO_EFORMAT, "wasm restore: truncated globals");
        if (g->type == WASM_FUNCREF || g->type == WASM_EXTERNREF) {
            if (v > m->nfuncs || (v && g->type != WASM_FUNCREF))
                return ao_err_set(err, AO_EFORMAT, "wasm restore: bad reference in global %u", i);
            v = v ? (uint64_t)(uintptr_t)inst->funcs[v - 1] : 0;
        }
        if (apply)
            g->v = v;
    }
    if (rd_u32(r) != m->ntables - m->ntables_imported)
        return ao_err_set(err, AO_EFORMAT, "wasm restore: table count differs");
    for (uint32_t i = m->ntables_imported; i < m->ntables; i++) {
        wasm_table *t = inst->tables[i];
        uint64_t size = rd_u64(r);
        if (r->bad || size < t->size || size > WASM_MAX_TABLE_ELEMS ||
            (t->lim.has_max && size > t->lim.max))
            return ao_err_set(err, AO_EINVAL, "wasm restore: table %u size does not fit", i);
        if (apply && size > t->size && wasm__table_grow(t, size - t->size, NULL) < 0)
            return ao_err_set(err, AO_ENOMEM, "wasm restore: cannot grow table %u", i);
        for (uint64_t k = 0; k < size; k++) {
            uint64_t v = rd_u64(r);
            if (r->bad || v > m->nfuncs || (v && t->elem != WASM_FUNCREF))
                return ao_err_set(err, AO_EFORMAT, "wasm restore: bad table %u element", i);
            if (apply)
                t->elems[k] = v ? (void *)inst->funcs[v - 1] : NULL;
        }
        if (apply)
            t->epoch++;
    }
    if (rd_u32(r) != m->nelems)
        return ao_err_set(err, AO_EFORMAT, "wasm restore: element segment count differs");
    for (uint32_t i = 0; i < m->nelems; i++) {
        uint64_t n = rd_u64(r);
        if (r->bad || (n != 0 && n != m->elems[i].nitems))
            return ao_err_set(err, AO_EFORMAT, "wasm restore: bad element segment %u", i);
        if (apply)
            inst->elem_len[i] = n;
    }
    if (rd_u32(r) != m->ndatas)
        return ao_err_set(err, AO_EFORMAT, "wasm restore: data segment count differs");
    const uint8_t *dd = rd_bytes(r, m->ndatas);
    if (!dd || r->p != r->end)
        return ao_err_set(err, AO_EFORMAT, "wasm restore: bad data segment state");
    if (apply)
        for (uint32_t i = 0; i < m->ndatas; i++)
            inst->data_dropped[i] = dd[i] ? 1 : 0;
    return AO_OK;
}


/* One pass over the snapshot; applies it when `apply`, else only checks. */
static int restore_pass(wasm_instance *inst, const uint8_t *raw, size_t len, bool apply,
                        ao_error *err)
{
    const wasm_module *m = inst->m;
    rd r = {raw, raw + len, false};
    const uint8_t *magic = rd_bytes(&r, 4);
    uint32_t version = rd_u32(&r);
    if (!magic || memcmp(magic, SNAP_MAGIC, 4) != 0 ||
        (version != SNAP_VERSION && version != SNAP_VERSION_FULL))
        return ao_err_set(err, AO_EFORMAT, "wasm restore: not a snapshot of this engine version");
    uint64_t fp = rd_u64(&r), mlen = rd_u64(&r);
    if (r.bad || mlen != m->len || fp != m->fingerprint)
        return ao_err_set(err, AO_EINVAL, "wasm restore: the snapshot is of another module");
    if (rd_u32(&r) != m->nmems - m->nmems_imported)
        return ao_err_set(err, AO_EFORMAT, "wasm restore: memory count differs");
    for (uint32_t i = m->nmems_imported; i < m->nmems; i++) {
        wasm_memory *mem = inst->mems[i];
        uint64_t pages = rd_u64(&r);
        if (r.bad || pages > mem->max_pages || pages < mem->pages || pages > SIZE_MAX / WASM_PAGE)
            return ao_err_set(err, AO_EINVAL, "wasm restore: memory %u: %llu pages do not fit",
                              i, (unsigned long long)pages);
        if (version == SNAP_VERSION) {
            const uint8_t *bytes = rd_bytes(&r, pages * WASM_PAGE);
            if (!bytes)
                return ao_err_set(err, AO_EFORMAT, "wasm restore: truncated memory %u", i);
            if (apply) {
                if (pages > mem->pages && wasm_memory_grow(mem, pages - mem->pages) < 0)
                    return ao_err_set(err, AO_ENOMEM, "wasm restore: cannot grow memory %u", i);
                memcpy(mem->data, bytes, (size_t)(pages * WASM_PAGE));
            }
            continue;
        }
        const uint8_t *shp = rd_bytes(&r, 1);
        uint64_t nruns = rd_u64(&r);
        if (r.bad || *shp != SNAP_UNIT_SHIFT)
            return ao_err_set(err, AO_EFORMAT, "wasm restore: bad memory %u", i);
        unsigned sh = *shp;
        uint64_t nu = pages * WASM_PAGE >> sh, next = 0;
        if (apply) {
            if (pages > mem->pages && wasm_memory_grow(mem, pages - mem->pages) < 0)
                return ao_err_set(err, AO_ENOMEM, "wasm restore: cannot grow memory %u", i);
            /* every unit not in a run is zero: drop the current contents
             * (anonymous private pages read back as zero) */
            if (mem->size && madvise(mem->data, (size_t)mem->size, MADV_DONTNEED) != 0)
                memset(mem->data, 0, (size_t)mem->size);
        }
        for (uint64_t k = 0; k < nruns; k++) {
            uint64_t first = rd_u64(&r), count = rd_u64(&r);
            if (r.bad || count == 0 || first < next || first > nu || count > nu - first)
                return ao_err_set(err, AO_EFORMAT, "wasm restore: bad page run in memory %u", i);
            const uint8_t *bytes = rd_bytes(&r, count << sh);
            if (!bytes)
                return ao_err_set(err, AO_EFORMAT, "wasm restore: truncated memory %u", i);
            if (apply)
                memcpy(mem->data + (first << sh), bytes, (size_t)(count << sh));
            next = first + count + 1;
        }
    }
    return tail_pass(inst, &r, apply, err);
}

/* The largest snapshot body this instance could have been saved with. */
static uint64_t max_raw_size(const wasm_instance *inst)
{
    const wasm_module *m = inst->m;
    uint64_t total = 4 + 4 + 8 + 8 + 5 * 4;
#define ADD(x) do { uint64_t x_ = (x); total = total > UINT64_MAX - x_ ? UINT64_MAX : total + x_; } while (0)
    for (uint32_t i = m->nmems_imported; i < m->nmems; i++) {
        uint64_t p = inst->mems[i]->max_pages;
        ADD(8 + 1 + 8);
        ADD(p > UINT64_MAX / WASM_PAGE ? UINT64_MAX : p * WASM_PAGE);
        ADD(p > UINT64_MAX / 256 ? UINT64_MAX : p * 256);   /* v2 run headers: 16 per unit */
    }
    ADD((uint64_t)(m->nglobals - m->nglobals_imported) * 8);
    for (uint32_t i = m->ntables_imported; i < m->ntables; i++) {
        const wasm_table *t = inst->tables[i];
        uint64_t e = t->lim.has_max && t->lim.max < WASM_MAX_TABLE_ELEMS ? t->lim.max : WASM_MAX_TABLE_ELEMS;
        ADD(8 + e * 8);
    }
    ADD((uint64_t)m->nelems * 8);
    ADD(m->ndatas);
#undef ADD
    return total;
}

/* Decompress one zstd frame, growing the output as data arrives (a frame
 * header's size claim is not trusted), never beyond `bound` bytes. */
static int check_header(const wasm_module *m, const uint8_t *raw, ao_error *err)
{
    uint32_t v = ao_rd_u32le(raw + 4);
    if ((memcmp(raw, SNAP_MAGIC, 4) != 0 && memcmp(raw, DELTA_MAGIC, 4) != 0) ||
        (v != SNAP_VERSION && !(v == SNAP_VERSION_FULL && memcmp(raw, SNAP_MAGIC, 4) == 0)))
        return ao_err_set(err, AO_EFORMAT, "wasm restore: not a snapshot of this engine version");
    if (ao_rd_u64le(raw + 16) != m->len || ao_rd_u64le(raw + 8) != m->fingerprint)
        return ao_err_set(err, AO_EINVAL, "wasm restore: the snapshot is of another module");
    return AO_OK;
}

static int unzstd(const wasm_module *m, const uint8_t *snap, size_t len, uint64_t bound,
                  uint8_t **out, size_t *outlen, ao_error *err)
{
    bool checked = false;
    *out = NULL;
    *outlen = 0;
    ZSTD_DStream *ds = ZSTD_createDStream();
    if (!ds)
        return ao_err_set(err, AO_ENOMEM, "wasm restore: out of memory");
    ZSTD_initDStream(ds);
    size_t cap = 1u << 16, n = 0;
    unsigned long long hint = ZSTD_getFrameContentSize(snap, len);
    if (hint != ZSTD_CONTENTSIZE_UNKNOWN && hint != ZSTD_CONTENTSIZE_ERROR && hint > cap &&
        hint <= bound && hint < SIZE_MAX)
        cap = (size_t)hint;
    uint8_t *buf = malloc(cap);
    int rc = AO_OK;
    ZSTD_inBuffer in = {snap, len, 0};
    while (buf) {
        if (n == cap) {
            if (cap >= bound || cap > SIZE_MAX / 2) {
                rc = ao_err_set(err, AO_EFORMAT, "wasm restore: snapshot larger than this instance can hold");
                break;
            }
            size_t nc = cap * 2 > bound ? (size_t)bound : cap * 2;
            uint8_t *nb = realloc(buf, nc);
            if (!nb) {
                rc = ao_err_set(err, AO_ENOMEM, "wasm restore: out of memory");
                break;
            }
            buf = nb;
            cap = nc;
        }
        ZSTD_outBuffer ob = {buf, cap, n};
        size_t r = ZSTD_decompressStream(ds, &ob, &in);
        if (ZSTD_isError(r)) {
            rc = ao_err_set(err, AO_EFORMAT, "wasm restore: corrupt snapshot: %s", ZSTD_getErrorName(r));
            break;
        }
        n = ob.pos;
        if (!checked && n >= 24) {
            checked = true;
            if ((rc = check_header(m, buf, err)) != AO_OK)
                break;
        }
        if (r == 0) {
            if (in.pos != in.size)
                rc = ao_err_set(err, AO_EFORMAT, "wasm restore: trailing bytes after the snapshot");
            break;
        }
        if (in.pos == in.size && ob.pos < ob.size) {
            rc = ao_err_set(err, AO_EFORMAT, "wasm restore: truncated snapshot");
            break;
        }
    }
    if (!buf && rc == AO_OK)
        rc = ao_err_set(err, AO_ENOMEM, "wasm restore: out of memory");
    ZSTD_freeDStream(ds);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outlen = n;
    return AO_OK;
}

/* Tracking is off while a restore writes memories (no faults), and on
 * success restarts clean with the restored snapshot as the chain head. */
static void track_stop_all(wasm_instance *inst)
{
    const wasm_module *m = inst->m;
    for (uint32_t i = m->nmems_imported; i < m->nmems; i++)
        wasm__track_stop(inst->mems[i]);
}

static int apply_done(wasm_instance *inst, int rc, const uint8_t *raw, size_t len, uint64_t seq)
{
    if (rc != AO_OK) {
        inst->snap_head = false;   /* state is partly written: no delta fits it */
        return rc;
    }
    inst->snap_head = true;
    inst->snap_id = snap_hash(raw, len);
    inst->snap_seq = seq;
    snap_track_all(inst);
    return AO_OK;
}

static int delta_pass(wasm_instance *inst, const uint8_t *raw, size_t len, bool apply,
                      uint64_t *seq, ao_error *err);

int wasm_instance_restore(wasm_instance *inst, const uint8_t *snap, size_t len, ao_error *err)
{
    uint8_t *raw;
    size_t got;
    if (inst->txn)
        return ao_err_set(err, AO_ESTATE, "wasm restore: a transaction is open");
    uint64_t bound = max_raw_size(inst);
    bound = bound > UINT64_MAX / 2 ? UINT64_MAX : bound + bound / 256 + 1024;
    int rc = unzstd(inst->m, snap, len, bound, &raw, &got, err);
    if (rc)
        return rc;
    if (got >= 4 && memcmp(raw, DELTA_MAGIC, 4) == 0) {
        uint64_t seq = 0;
        rc = delta_pass(inst, raw, got, false, &seq, err);
        if (rc == AO_OK) {
            track_stop_all(inst);
            rc = apply_done(inst, delta_pass(inst, raw, got, true, &seq, err), raw, got, seq);
        }
        free(raw);
        return rc;
    }
    if (got > max_raw_size(inst)) {
        free(raw);
        return ao_err_set(err, AO_EFORMAT, "wasm restore: snapshot larger than this instance can hold");
    }
    rc = restore_pass(inst, raw, got, false, err);
    if (rc == AO_OK) {
        track_stop_all(inst);
        rc = apply_done(inst, restore_pass(inst, raw, got, true, err), raw, got, 0);
    }
    free(raw);
    return rc;
}

int wasm_instance_restore_delta(wasm_instance *inst, const uint8_t *delta, size_t len, ao_error *err)
{
    return wasm_instance_restore(inst, delta, len, err);
}

/* ---- delta snapshots ----
 * Layout before compression (little endian):
 *   "AOWD" u32 version=1, u64 fnv1a(module bytes), u64 module length,
 *   u64 parent id (snap_hash of the parent's body), u64 sequence (parent's + 1)
 *   u32 nmems, per defined memory: u64 pages, u8 log2(tracking page),
 *       u64 nruns, per run (ascending, not touching): u64 first tracking
 *       page, u64 count, count << shift bytes
 *   then the small state exactly as in a full snapshot (snap_put_tail).
 */

/* Append the runs of dirty pages of one memory (every page if untracked). */
static int put_mem_runs(wasm_memory *mem, ao_buf *raw)
{
    unsigned sh = wasm__track_shift();
    size_t n = (size_t)(mem->size >> sh);
    bool whole = !mem->tracking || mem->all_dirty;
    int rc = ao_buf_append_u64le(raw, mem->pages);
    rc |= ao_buf_append_byte(raw, (uint8_t)sh);
    size_t count_at = raw->len;
    rc |= ao_buf_append_u64le(raw, 0);
    if (rc)
        return AO_ENOMEM;
    uint64_t nruns = 0;
    size_t p = 0;
    while (p < n) {
        size_t q;
        if (whole) {
            q = n;
        } else {
            /* skip clean pages a word at a time (only the SNAP bit counts) */
            while (p + 8 <= n && (ao_rd_u64le(mem->dirty + p) & 0x0101010101010101ull) == 0)
                p += 8;
            while (p < n && !(mem->dirty[p] & WASM_DIRTY_SNAP))
                p++;
            if (p == n)
                break;
            q = p + 1;
            while (q < n && (mem->dirty[q] & WASM_DIRTY_SNAP))
                q++;
        }
        rc |= ao_buf_append_u64le(raw, p);
        rc |= ao_buf_append_u64le(raw, q - p);
        rc |= ao_buf_append(raw, mem->data + (p << sh), (q - p) << sh);
        if (rc)
            return AO_ENOMEM;
        nruns++;
        p = q;
    }
    ao_wr_u64le(raw->data + count_at, nruns);
    return AO_OK;
}

void wasm__snap_free(wasm_instance *inst)
{
    ZSTD_freeCCtx(inst->snap_zctx);
    inst->snap_zctx = NULL;
    ao_buf_free(&inst->snap_scratch);
}

/* Deltas reuse a compression context and a body buffer per instance (a
 * fresh 1 MiB buffer and context cost page faults every time); a buffer
 * grown past 16 MiB by a large delta is not kept. */
#define SCRATCH_KEEP ((size_t)16 << 20)

int wasm_instance_snapshot_delta(wasm_instance *inst, ao_buf *out, ao_error *err)
{
    const wasm_module *m = inst->m;
    if (inst->txn)
        return ao_err_set(err, AO_ESTATE, "wasm snapshot: a transaction is open");
    if (!inst->snap_head)
        return ao_err_set(err, AO_EINVAL, "wasm snapshot: no previous snapshot to take a delta from "
                          "(take a full snapshot first)");
    if (!inst->snap_zctx && !(inst->snap_zctx = ZSTD_createCCtx()))
        return ao_err_set(err, AO_ENOMEM, "wasm snapshot: out of memory");
    ao_buf *raw = &inst->snap_scratch;
    raw->len = 0;
    int rc = ao_buf_append(raw, DELTA_MAGIC, 4);
    rc |= put_u32(raw, SNAP_VERSION);
    rc |= ao_buf_append_u64le(raw, m->fingerprint);
    rc |= ao_buf_append_u64le(raw, m->len);
    rc |= ao_buf_append_u64le(raw, inst->snap_id);
    rc |= ao_buf_append_u64le(raw, inst->snap_seq + 1);
    rc |= put_u32(raw, m->nmems - m->nmems_imported);
    for (uint32_t i = m->nmems_imported; i < m->nmems && !rc; i++)
        rc |= put_mem_runs(inst->mems[i], raw);
    if (rc)
        rc = ao_err_set(err, AO_ENOMEM, "wasm snapshot: out of memory");
    else
        rc = snap_put_tail(inst, raw, err);
    if (rc == AO_OK) {
        size_t bound = ZSTD_compressBound(raw->len);
        if (ao_buf_reserve(out, bound)) {
            rc = ao_err_set(err, AO_ENOMEM, "wasm snapshot: out of memory");
        } else {
            size_t z = zcompress(inst->snap_zctx, out->data + out->len, bound, raw->data,
                                 raw->len, DELTA_LEVEL);
            if (ZSTD_isError(z))
                rc = ao_err_set(err, AO_EIO, "wasm snapshot: zstd: %s", ZSTD_getErrorName(z));
            else
                out->len += z;
        }
    }
    if (rc == AO_OK) {
        inst->snap_id = snap_hash(raw->data, raw->len);
        inst->snap_seq++;
        snap_track_all(inst);
    }
    if (raw->cap > SCRATCH_KEEP)
        ao_buf_free(raw);
    return rc;
}

static int delta_pass(wasm_instance *inst, const uint8_t *raw, size_t len, bool apply,
                      uint64_t *seq, ao_error *err)
{
    const wasm_module *m = inst->m;
    rd r = {raw, raw + len, false};
    const uint8_t *magic = rd_bytes(&r, 4);
    if (!magic || memcmp(magic, DELTA_MAGIC, 4) != 0 || rd_u32(&r) != SNAP_VERSION)
        return ao_err_set(err, AO_EFORMAT, "wasm restore: not a delta of this engine version");
    uint64_t fp = rd_u64(&r), mlen = rd_u64(&r);
    if (r.bad || mlen != m->len || fp != m->fingerprint)
        return ao_err_set(err, AO_EINVAL, "wasm restore: the delta is of another module");
    uint64_t parent = rd_u64(&r);
    *seq = rd_u64(&r);
    if (r.bad)
        return ao_err_set(err, AO_EFORMAT, "wasm restore: truncated delta");
    if (!inst->snap_head)
        return ao_err_set(err, AO_EINVAL, "wasm restore: delta %llu needs its parent state; "
                          "this instance has none (restore the full snapshot first)",
                          (unsigned long long)*seq);
    if (parent != inst->snap_id || *seq != inst->snap_seq + 1)
        return ao_err_set(err, AO_EINVAL, "wasm restore: delta %llu does not follow this "
                          "instance's state (snapshot %llu of another chain or position)",
                          (unsigned long long)*seq, (unsigned long long)inst->snap_seq);
    if (rd_u32(&r) != m->nmems - m->nmems_imported)
        return ao_err_set(err, AO_EFORMAT, "wasm restore: memory count differs");
    for (uint32_t i = m->nmems_imported; i < m->nmems; i++) {
        wasm_memory *mem = inst->mems[i];
        uint64_t pages = rd_u64(&r);
        if (r.bad || pages > mem->max_pages || pages < mem->pages || pages > SIZE_MAX / WASM_PAGE)
            return ao_err_set(err, AO_EINVAL, "wasm restore: memory %u: %llu pages do not fit",
                              i, (unsigned long long)pages);
        const uint8_t *shp = rd_bytes(&r, 1);
        uint64_t nruns = rd_u64(&r);
        if (r.bad || *shp < 12 || *shp > 16)
            return ao_err_set(err, AO_EFORMAT, "wasm restore: bad delta of memory %u", i);
        unsigned sh = *shp;
        uint64_t npg = pages * WASM_PAGE >> sh, next = 0;
        if (apply && pages > mem->pages && wasm_memory_grow(mem, pages - mem->pages) < 0)
            return ao_err_set(err, AO_ENOMEM, "wasm restore: cannot grow memory %u", i);
        for (uint64_t k = 0; k < nruns; k++) {
            uint64_t first = rd_u64(&r), count = rd_u64(&r);
            if (r.bad || count == 0 || first < next || first > npg || count > npg - first)
                return ao_err_set(err, AO_EFORMAT, "wasm restore: bad page run in memory %u", i);
            const uint8_t *bytes = rd_bytes(&r, count << sh);
            if (!bytes)
                return ao_err_set(err, AO_EFORMAT, "wasm restore: truncated memory %u", i);
            if (apply)
                memcpy(mem->data + (first << sh), bytes, (size_t)(count << sh));
            next = first + count + 1;
        }
    }
    return tail_pass(inst, &r, apply, err);
}
