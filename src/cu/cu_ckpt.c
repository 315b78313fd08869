/*
 * cu_ckpt.c - checkpoints of a process's memory: an engine snapshot of the
 * instance (its non-zero 4 KiB units, zstd, checksummed: wasm.h) in
 * DIR/checkpoints/PID-NONCE-CRON.snap with its row in cu.db (a cold resume
 * makes the instance from it directly), and, with checkpoint_to_data, a
 * zstd frame of the whole linear memory as a data item signed
 * by the CU's wallet (tags Data-Protocol=ao, Type=Checkpoint, Process,
 * Module, Nonce, Timestamp, Epoch, Block-Height, Hash-Chain, SHA-256 of the
 * memory, and the CU's own evaluation keys Cron-Ordinal, Cron-Index,
 * Cron-Next, Scheduled-Timestamp). Resuming takes the latest of the local
 * one and the data layer's ones from trusted owners (this CU's wallet and
 * trusted_owners) and checks the memory's SHA-256. Local checkpoints of
 * earlier versions (PID-NONCE-CRON.zst: the zstd frame of the memory) are
 * still read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "cu/cu_internal.h"
#include "item/item.h"

static void sha_b64(const uint8_t *p, size_t n, char out[80])
{
    uint8_t h[AO_SHA256_LEN];
    crypto_sha256(p, n, h);
    ao_b64url_encode_to(h, sizeof h, out);
}

static int put_to_data(cu *c, cu_proc *p, const cu_ckpt_row *r, const uint8_t *z, size_t zlen,
                       ao_error *err)
{
    char v[10][64];
    snprintf(v[0], 64, "%lld", (long long)r->ordinate);
    snprintf(v[1], 64, "%lld", (long long)r->timestamp);
    snprintf(v[2], 64, "%lld", (long long)r->block_height);
    snprintf(v[3], 64, "%lld", (long long)r->cron);
    snprintf(v[4], 64, "%lld", (long long)r->cron_index);
    snprintf(v[5], 64, "%lld", (long long)r->cron_next);
    snprintf(v[6], 64, "%lld", (long long)r->sched_ts);
    snprintf(v[7], 64, "%llu", (unsigned long long)r->mem_len);
    struct { const char *n, *v; } t[] = {
        {"Data-Protocol", "ao"}, {"Type", "Checkpoint"}, {"Process", p->pid}, {"Module", r->module},
        {"Nonce", v[0]}, {"Timestamp", v[1]}, {"Epoch", "0"}, {"Block-Height", v[2]},
        {"Hash-Chain", r->hash_chain}, {"SHA-256", r->sha256}, {"Cron-Ordinal", v[3]},
        {"Cron-Index", v[4]}, {"Cron-Next", v[5]}, {"Scheduled-Timestamp", v[6]},
        {"Memory-Length", v[7]}, {"Content-Encoding", "zstd"}};
    item_tag tags[16];
    size_t n = sizeof t / sizeof t[0];
    for (size_t i = 0; i < n; i++) {
        tags[i].name = (const uint8_t *)t[i].n;
        tags[i].name_len = strlen(t[i].n);
        tags[i].value = (const uint8_t *)t[i].v;
        tags[i].value_len = strlen(t[i].v);
    }
    item_fields f = {.tags = tags, .ntags = n, .data = z, .data_len = zlen};
    ao_buf raw;
    ao_buf_init(&raw);
    uint8_t id[ITEM_ID_LEN];
    int rc = item_sign(c->wallet, &f, &raw, id, err);
    if (rc == AO_OK) {
        weave_put_result pr;
        rc = c->opt.data.put(c->opt.data.ctx, raw.data, raw.len, &pr, err);
    }
    ao_buf_free(&raw);
    return rc;
}

int cu_ckpt_write(cu *c, cu_proc *p, ao_error *err)
{
    if (!p->hp) return AO_OK;
    size_t len;
    const uint8_t *mem = host_process_memory(p->hp, &len);
    cu_ckpt_row r;
    memset(&r, 0, sizeof r);
    r.timestamp = p->last.timestamp;
    r.ordinate = p->last.ordinate;
    r.cron = p->last.cron;
    r.block_height = p->last.block_height;
    r.sched_ts = p->sched_ts;
    r.cron_next = p->cron_next;
    r.cron_index = p->cron_index;
    r.mem_len = len;
    snprintf(r.hash_chain, sizeof r.hash_chain, "%s", p->last.hash_chain);
    snprintf(r.module, sizeof r.module, "%s", p->mod->id);
    int rc = AO_OK;
    uint8_t *z = NULL;
    size_t zlen = 0;
    if (c->opt.checkpoint_to_data) {
        /* the data layer's form: the whole memory, zstd (level 1, with the
         * frame's checksum), and its SHA-256 for the tag */
        sha_b64(mem, len, r.sha256);
        size_t bound = ZSTD_compressBound(len);
        z = malloc(bound);
        if (!z) return ao_err_set(err, AO_ENOMEM, "cu: out of memory for a checkpoint");
        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        zlen = cctx ? ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 1) : (size_t)-1;
        if (cctx && !ZSTD_isError(zlen)) zlen = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
        if (cctx && !ZSTD_isError(zlen)) zlen = ZSTD_compress2(cctx, z, bound, mem, len);
        ZSTD_freeCCtx(cctx);
        if (ZSTD_isError(zlen)) {
            free(z);
            return ao_err_set(err, AO_EIO, "cu: zstd: %s", ZSTD_getErrorName(zlen));
        }
    }
    /* the local form: an engine snapshot (non-zero units only: a cold
     * resume neither decompresses nor copies the whole memory) */
    ao_buf snap;
    ao_buf_init(&snap);
    rc = host_process_snapshot(p->hp, &snap, err);
    if (rc != AO_OK) {
        free(z);
        ao_buf_free(&snap);
        return rc;
    }
    snprintf(r.file, sizeof r.file, "%s-%lld-%lld.snap", p->pid, (long long)r.ordinate, (long long)r.cron);
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoints/%s", c->dir, r.file);
    if (c->opt.no_fsync) {
        FILE *f = fopen(path, "wb");
        rc = f && fwrite(snap.data, 1, snap.len, f) == snap.len ? AO_OK
                                                                 : ao_err_set(err, AO_EIO, "cu: cannot write %s", path);
        if (f) fclose(f);
    } else
        rc = ao_file_write_atomic(path, snap.data, snap.len, 0644, err);
    ao_buf_free(&snap);
    if (rc == AO_OK) rc = cu_store_put_ckpt(c->store, p->pid, &r, err);
    if (rc == AO_OK && c->opt.checkpoint_to_data && c->opt.data.put) {
        ao_error e = {0};
        if (put_to_data(c, p, &r, z, zlen, &e) != AO_OK)
            ao_log(AO_LOG_WARN, "cu", "checkpoint of %s to the data layer: %s", p->pid, e.msg);
    }
    free(z);
    if (rc != AO_OK) return rc;
    p->dirty = false;
    p->since_ckpt = 0;
    p->eval_ms_since_ckpt = 0;
    pthread_mutex_lock(&c->mu);
    c->checkpoints++;
    pthread_mutex_unlock(&c->mu);
    return AO_OK;
}

/* p continues from checkpoint r as process hp. */
static int resumed(cu_proc *p, const cu_ckpt_row *r, host_process *hp, bool dirty)
{
    host_process_free(p->hp);
    p->hp = hp;
    memset(&p->last, 0, sizeof p->last);
    p->last.timestamp = r->timestamp;
    p->last.ordinate = r->ordinate;
    p->last.cron = r->cron;
    p->last.block_height = r->block_height;
    snprintf(p->last.hash_chain, sizeof p->last.hash_chain, "%s", r->hash_chain);
    p->sched_ts = r->sched_ts;
    p->cron_next = r->cron_next;
    p->cron_index = r->cron_index;
    p->started = true;
    p->dirty = dirty;
    p->since_ckpt = 0;
    p->eval_ms_since_ckpt = 0;
    return AO_OK;
}

static int64_t tag_i64(const weave_item_meta *m, const char *name, bool *ok)
{
    for (size_t i = 0; i < m->ntags; i++)
        if (strcmp(m->tags[i].name, name) == 0) {
            char *end;
            long long v = strtoll(m->tags[i].value, &end, 10);
            if (*end || !*m->tags[i].value) *ok = false;
            return v;
        }
    *ok = false;
    return 0;
}

static const char *tag_str(const weave_item_meta *m, const char *name)
{
    for (size_t i = 0; i < m->ntags; i++)
        if (strcmp(m->tags[i].name, name) == 0) return m->tags[i].value;
    return NULL;
}

/* The latest trusted checkpoint of p in the data layer, at or before
 * `before`, as a row (file = the item id). */
static int find_foreign(cu *c, cu_proc *p, int64_t before, cu_ckpt_row *best, ao_error *err)
{
    if (!c->opt.data.query_transactions) return AO_ENOTFOUND;
    /* owners as the data layer names them: base64url(SHA-256(key)) */
    const char **owners = calloc(c->ntrusted + 1, sizeof *owners);
    if (!owners) return ao_err_set(err, AO_ENOMEM, "cu: out of memory");
    size_t no = 0;
    char own[AO_ADDRESS_MAX];
    size_t olen;
    const uint8_t *key = crypto_wallet_owner(c->wallet, &olen);
    crypto_owner_address_b64(key, olen, own);
    owners[no++] = own;
    for (size_t i = 0; i < c->ntrusted; i++) owners[no++] = c->trusted[i];
    const char *type[] = {"Checkpoint"}, *proc[] = {p->pid};
    weave_tag_filter tf[2] = {{"Type", type, 1}, {"Process", proc, 1}};
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    f.owners = owners;
    f.nowners = no;
    f.tags = tf;
    f.ntags = 2;
    f.first = 100;
    f.sort = WEAVE_HEIGHT_DESC;
    weave_tx_page pg;
    memset(&pg, 0, sizeof pg);
    int rc = c->opt.data.query_transactions(c->opt.data.ctx, &f, &pg, err);
    free(owners);
    if (rc != AO_OK) return rc;
    bool found = false;
    for (size_t i = 0; i < pg.n; i++) {
        const weave_item_meta *m = &pg.rows[i];
        bool ok = true;
        cu_ckpt_row r;
        memset(&r, 0, sizeof r);
        r.ordinate = tag_i64(m, "Nonce", &ok);
        r.timestamp = tag_i64(m, "Timestamp", &ok);
        r.block_height = tag_i64(m, "Block-Height", &ok);
        r.cron = tag_i64(m, "Cron-Ordinal", &ok);
        r.cron_index = tag_i64(m, "Cron-Index", &ok);
        r.cron_next = tag_i64(m, "Cron-Next", &ok);
        r.sched_ts = tag_i64(m, "Scheduled-Timestamp", &ok);
        r.mem_len = (uint64_t)tag_i64(m, "Memory-Length", &ok);
        const char *sha = tag_str(m, "SHA-256"), *mod = tag_str(m, "Module"), *hc = tag_str(m, "Hash-Chain");
        if (!ok || !sha || !mod || r.timestamp > before || strcmp(mod, p->mod->id) != 0) continue;
        snprintf(r.sha256, sizeof r.sha256, "%s", sha);
        snprintf(r.module, sizeof r.module, "%s", mod);
        snprintf(r.hash_chain, sizeof r.hash_chain, "%s", hc ? hc : "");
        snprintf(r.file, sizeof r.file, "%s", m->id);
        if (!found || r.timestamp > best->timestamp ||
            (r.timestamp == best->timestamp &&
             (r.ordinate > best->ordinate || (r.ordinate == best->ordinate && r.cron > best->cron)))) {
            *best = r;
            found = true;
        }
    }
    weave_tx_page_free(&pg);
    return found ? AO_OK : AO_ENOTFOUND;
}

static int later(const cu_ckpt_row *a, const cu_ckpt_row *b)
{
    if (a->timestamp != b->timestamp) return a->timestamp > b->timestamp;
    if (a->ordinate != b->ordinate) return a->ordinate > b->ordinate;
    return a->cron > b->cron;
}

int cu_ckpt_resume(cu *c, cu_proc *p, int64_t before, ao_error *err)
{
    cu_ckpt_row local, foreign;
    int lrc = cu_store_latest_ckpt(c->store, p->pid, before, &local, err);
    if (lrc != AO_OK && lrc != AO_ENOTFOUND) return lrc;
    if (lrc == AO_OK && strcmp(local.module, p->mod->id) != 0) lrc = AO_ENOTFOUND;
    /* a process this CU evicted itself resumes from its own checkpoint of
     * the state it had; the data layer is asked only otherwise */
    bool own_latest = lrc == AO_OK && p->started && local.ordinate == p->last.ordinate &&
                      local.cron == p->last.cron && local.timestamp == p->last.timestamp;
    int frc = own_latest ? AO_ENOTFOUND : find_foreign(c, p, before, &foreign, NULL);
    if (lrc != AO_OK && frc != AO_OK) return ao_err_set(err, AO_ENOTFOUND, "cu: no checkpoint of %s", p->pid);
    bool use_foreign = frc == AO_OK && (lrc != AO_OK || later(&foreign, &local));
    cu_ckpt_row *r = use_foreign ? &foreign : &local;
    ao_buf z;
    ao_buf_init(&z);
    int rc;
    if (use_foreign)
        rc = c->opt.data.get_data(c->opt.data.ctx, r->file, &z, err);
    else {
        char path[4096];
        snprintf(path, sizeof path, "%s/checkpoints/%s", c->dir, r->file);
        rc = ao_file_read(path, &z, err);
    }
    if (rc != AO_OK) { ao_buf_free(&z); return rc; }
    size_t fl = strlen(r->file);
    if (!use_foreign && fl > 5 && !strcmp(r->file + fl - 5, ".snap")) {
        host_process *hp = NULL;
        rc = host_process_new_from_snapshot(p->mod->m, &p->mod->limits, z.data, z.len, &hp, err);
        ao_buf_free(&z);
        if (rc != AO_OK) return rc;
        return resumed(p, r, hp, false);
    }
    unsigned long long n = ZSTD_getFrameContentSize(z.data, z.len);
    if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n != r->mem_len || n > (1ULL << 34)) {
        ao_buf_free(&z);
        return ao_err_set(err, AO_EFORMAT, "cu: checkpoint %s of %s is not a zstd frame of %llu bytes", r->file,
                          p->pid, (unsigned long long)r->mem_len);
    }
    /* one reusable buffer (its pages stay mapped: no page faults per resume) */
    pthread_mutex_lock(&c->zmu);
    if (c->zbuf_cap < n) {
        free(c->zbuf);
        c->zbuf = malloc(n ? n : 1);
        c->zbuf_cap = c->zbuf ? n : 0;
    }
    uint8_t *mem = c->zbuf;
    if (!mem) {
        pthread_mutex_unlock(&c->zmu);
        ao_buf_free(&z);
        return ao_err_set(err, AO_ENOMEM, "cu: out of memory");
    }
    size_t got = ZSTD_decompress(mem, n, z.data, z.len);
    ao_buf_free(&z);
    char sha[80];
    if (ZSTD_isError(got) || got != n) {
        pthread_mutex_unlock(&c->zmu);
        return ao_err_set(err, AO_EFORMAT, "cu: checkpoint %s of %s does not decompress", r->file, p->pid);
    }
    /* a foreign checkpoint must hash to its SHA-256 tag; a local one is
     * covered by the zstd frame's checksum */
    if (use_foreign) sha_b64(mem, n, sha);
    if (use_foreign && strcmp(sha, r->sha256) != 0) {
        pthread_mutex_unlock(&c->zmu);
        return ao_err_set(err, AO_EVERIFY, "cu: checkpoint %s of %s: SHA-256 mismatch", r->file, p->pid);
    }
    host_process *hp = NULL;
    rc = host_process_new_from_memory(p->mod->m, &p->mod->limits, mem, n, &hp, err);
    pthread_mutex_unlock(&c->zmu);
    if (rc != AO_OK) return rc;
    /* a foreign one (or an old local .zst) is written locally at the next
     * checkpoint */
    return resumed(p, r, hp, true);
}
