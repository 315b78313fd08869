/*
 * store.c - the weave's storage: opening a data dir (schema, crash
 * recovery of the blob tail), the writer thread with group commit (blob
 * bytes appended and fdatasync'd, then one SQLite transaction fsync'd per
 * batch), block sealing (instant or on an interval), put (decode, verify,
 * bundle walk, done in the caller's thread) and checksum-verified gets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "weave/weave_internal.h"

/* ---- small helpers ---- */

int64_t weave_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int weave_sql_err(sqlite3 *db, ao_error *err, const char *what)
{
    return ao_err_set(err, AO_EIO, "weave: %s: %s", what, db ? sqlite3_errmsg(db) : "no database");
}

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc_hw(const uint8_t *p, size_t n)
{
    uint64_t c = 0xFFFFFFFFu;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32 ^ 0xFFFFFFFFu;
}
#endif

/* CRC-32C (Castagnoli), the SSE4.2 instruction when present. */
uint32_t weave_crc32c(const void *data, size_t n)
{
    const uint8_t *p = data;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return crc_hw(p, n);
#endif
    pthread_once(&crc_once, crc_init);
    uint32_t c = 0xFFFFFFFFu;
    while (n--)
        c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

void weave_cursor_encode(int64_t v, char out[WEAVE_CURSOR_MAX])
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    ao_b64url_encode_to(b, 8, out);
}

int weave_cursor_decode(const char *s, int64_t *v, ao_error *err)
{
    ao_buf b;
    ao_buf_init(&b);
    size_t n = strlen(s);
    if (n != 11 || ao_b64url_decode(s, n, &b, NULL) != AO_OK || b.len != 8) {
        ao_buf_free(&b);
        return ao_err_set(err, AO_EINVAL, "weave: bad cursor '%.40s'", s);
    }
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = (x << 8) | b.data[i];
    ao_buf_free(&b);
    if (x > (uint64_t)INT64_MAX)
        return ao_err_set(err, AO_EINVAL, "weave: bad cursor '%s'", s);
    *v = (int64_t)x;
    return AO_OK;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int r = fsync(fd);
    close(fd);
    return r;
}

static char *blob_path(const weave *w, uint32_t file)
{
    size_t n = strlen(w->dir) + 40;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/blobs/%06u.blob", w->dir, file);
    return p;
}

/* ---- schema ---- */

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS items("
    " seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, sig_type INTEGER NOT NULL,"
    " owner_address TEXT NOT NULL, target TEXT, anchor TEXT,"
    " data_offset INTEGER NOT NULL, data_size INTEGER NOT NULL, raw_size INTEGER NOT NULL,"
    " content_type TEXT, height INTEGER NOT NULL, bundled_in TEXT,"
    " stored_at INTEGER NOT NULL, file INTEGER NOT NULL, offset INTEGER NOT NULL,"
    " crc INTEGER NOT NULL, blob INTEGER);"
    "CREATE INDEX IF NOT EXISTS items_owner ON items(owner_address, seq);"
    "CREATE INDEX IF NOT EXISTS items_target ON items(target, seq) WHERE target IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS items_bundle ON items(bundled_in, seq) WHERE bundled_in IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS items_height ON items(height, seq);"
    "CREATE TABLE IF NOT EXISTS tags(item INTEGER NOT NULL, position INTEGER NOT NULL,"
    " name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(item, position)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS tags_nv ON tags(name, value, item);"
    "CREATE TABLE IF NOT EXISTS blocks(height INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " timestamp INTEGER NOT NULL, previous TEXT NOT NULL, tx_count INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS blobs(seq INTEGER PRIMARY KEY, raw BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS mirror(seq INTEGER PRIMARY KEY, tx TEXT, posted_at INTEGER);"
    "CREATE INDEX IF NOT EXISTS mirror_tx ON mirror(tx) WHERE tx IS NOT NULL;";

int weave_open_db(weave *w, sqlite3 **db, bool writer, ao_error *err)
{
    size_t n = strlen(w->dir) + 16;
    char *path = malloc(n);
    if (!path)
        return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
    snprintf(path, n, "%s/index.db", w->dir);
    int flags = SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                              : SQLITE_OPEN_READONLY);
    int rc = sqlite3_open_v2(path, db, flags, NULL);
    free(path);
    if (rc != SQLITE_OK) {
        int r = weave_sql_err(*db, err, "open index.db");
        sqlite3_close(*db);
        *db = NULL;
        return r;
    }
    sqlite3_busy_timeout(*db, 10000);
    const char *pragmas = writer
        ? (w->opt.no_fsync ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
                           : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;")
        : "PRAGMA query_only=1;";
    if (sqlite3_exec(*db, pragmas, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(*db, "PRAGMA cache_size=-16384;", NULL, NULL, NULL) != SQLITE_OK) {
        int r = weave_sql_err(*db, err, "pragmas");
        sqlite3_close(*db);
        *db = NULL;
        return r;
    }
    return AO_OK;
}

/* ---- read connections ---- */

static const char *RQ_SQL[WQ_COUNT] = {
    [WQ_GET_LOC] = "SELECT file, offset, raw_size, crc, data_offset, data_size, blob FROM items WHERE id=?1",
    [WQ_META] = "SELECT i.seq, i.id, i.sig_type, i.owner_address, i.target, i.anchor,"
                " i.data_offset, i.data_size, i.raw_size, i.content_type, i.height,"
                " i.bundled_in, i.stored_at, i.file, i.offset, i.crc, b.id, b.timestamp, i.blob"
                " FROM items i LEFT JOIN blocks b ON b.height = i.height WHERE i.seq=?1",
    [WQ_TAGS] = "SELECT name, value FROM tags WHERE item=?1 ORDER BY position",
    [WQ_SEQ_OF_ID] = "SELECT seq FROM items WHERE id=?1",
    [WQ_TAG_DESC] = "SELECT item FROM tags WHERE name=?1 AND value=?2 AND item<=?3 ORDER BY item DESC LIMIT 1",
    [WQ_TAG_ASC] = "SELECT item FROM tags WHERE name=?1 AND value=?2 AND item>=?3 ORDER BY item ASC LIMIT 1",
    [WQ_OWNER_DESC] = "SELECT seq FROM items INDEXED BY items_owner WHERE owner_address=?1 AND seq<=?3 ORDER BY seq DESC LIMIT 1",
    [WQ_OWNER_ASC] = "SELECT seq FROM items INDEXED BY items_owner WHERE owner_address=?1 AND seq>=?3 ORDER BY seq ASC LIMIT 1",
    [WQ_TARGET_DESC] = "SELECT seq FROM items INDEXED BY items_target WHERE target=?1 AND seq<=?3 ORDER BY seq DESC LIMIT 1",
    [WQ_TARGET_ASC] = "SELECT seq FROM items INDEXED BY items_target WHERE target=?1 AND seq>=?3 ORDER BY seq ASC LIMIT 1",
    [WQ_BUNDLE_DESC] = "SELECT seq FROM items INDEXED BY items_bundle WHERE bundled_in=?1 AND seq<=?3 ORDER BY seq DESC LIMIT 1",
    [WQ_BUNDLE_ASC] = "SELECT seq FROM items INDEXED BY items_bundle WHERE bundled_in=?1 AND seq>=?3 ORDER BY seq ASC LIMIT 1",
    [WQ_ALL_DESC] = "SELECT seq FROM items WHERE seq<=?3 ORDER BY seq DESC LIMIT 1",
    [WQ_ALL_ASC] = "SELECT seq FROM items WHERE seq>=?3 ORDER BY seq ASC LIMIT 1",
    [WQ_HMIN] = "SELECT seq FROM items WHERE height>=?1 ORDER BY height ASC, seq ASC LIMIT 1",
    [WQ_HMAX] = "SELECT seq FROM items WHERE height<=?1 ORDER BY height DESC, seq DESC LIMIT 1",
    [WQ_BLOCK] = "SELECT height, id, previous, timestamp, tx_count FROM blocks WHERE height=?1",
};

sqlite3_stmt *weave_stmt(weave_rconn *c, int which, ao_error *err)
{
    if (!c->st[which]) {
        if (sqlite3_prepare_v3(c->db, RQ_SQL[which], -1, SQLITE_PREPARE_PERSISTENT,
                               &c->st[which], NULL) != SQLITE_OK) {
            weave_sql_err(c->db, err, "prepare");
            return NULL;
        }
    } else {
        sqlite3_reset(c->st[which]);
        sqlite3_clear_bindings(c->st[which]);
    }
    return c->st[which];
}

static void rconn_free(weave_rconn *c)
{
    if (!c)
        return;
    for (int i = 0; i < WQ_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->db);
    free(c);
}

int weave_rconn_get(weave *w, weave_rconn **out, ao_error *err)
{
    pthread_mutex_lock(&w->rmu);
    if (w->npool) {
        *out = w->pool[--w->npool];
        pthread_mutex_unlock(&w->rmu);
        return AO_OK;
    }
    pthread_mutex_unlock(&w->rmu);
    weave_rconn *c = calloc(1, sizeof *c);
    if (!c)
        return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
    int r = weave_open_db(w, &c->db, false, err);
    if (r) {
        free(c);
        return r;
    }
    *out = c;
    return AO_OK;
}

void weave_rconn_put(weave *w, weave_rconn *c)
{
    for (int i = 0; i < WQ_COUNT; i++)
        if (c->st[i])
            sqlite3_reset(c->st[i]);
    pthread_mutex_lock(&w->rmu);
    if (w->npool < WEAVE_READER_POOL) {
        w->pool[w->npool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&w->rmu);
    rconn_free(c);
}

/* ---- blob reads ---- */

static int rfd_of(weave *w, uint32_t file, int *fd, ao_error *err)
{
    pthread_mutex_lock(&w->rmu);
    if (file >= w->nrfds) {
        size_t n = file + 8;
        int *p = realloc(w->rfds, n * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&w->rmu);
            return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
        }
        for (size_t i = w->nrfds; i < n; i++)
            p[i] = -1;
        w->rfds = p;
        w->nrfds = n;
    }
    if (w->rfds[file] < 0) {
        char *path = blob_path(w, file);
        if (path)
            w->rfds[file] = open(path, O_RDONLY | O_CLOEXEC);
        free(path);
        if (w->rfds[file] < 0) {
            pthread_mutex_unlock(&w->rmu);
            return ao_err_set(err, AO_EIO, "weave: blob file %u: %s", file, strerror(errno));
        }
    }
    *fd = w->rfds[file];
    pthread_mutex_unlock(&w->rmu);
    return AO_OK;
}

/* Bytes stored inside SQLite: [offset, offset+len) of blobs row `blob`. */
static int inline_read(weave_rconn *c, const weave_loc *l, const char *id, uint8_t *dst,
                       ao_error *err)
{
    sqlite3_blob *b = NULL;
    if (sqlite3_blob_open(c->db, "main", "blobs", "raw", l->blob, 0, &b) != SQLITE_OK) {
        int r = ao_err_set(err, AO_EIO, "weave: item %s: stored bytes missing: %s", id,
                           sqlite3_errmsg(c->db));
        sqlite3_blob_close(b);
        return r;
    }
    int r = AO_OK;
    if ((uint64_t)sqlite3_blob_bytes(b) < l->offset + l->len ||
        sqlite3_blob_read(b, dst, (int)l->len, (int)l->offset) != SQLITE_OK)
        r = ao_err_set(err, AO_EIO, "weave: item %s: short read of its stored bytes", id);
    sqlite3_blob_close(b);
    return r;
}

int weave_blob_read(weave *w, weave_rconn *c, const weave_loc *l, const char *id, ao_buf *out,
                    ao_error *err)
{
    size_t start = out->len;
    int r;
    if ((r = ao_buf_reserve(out, l->len)))
        return ao_err_set(err, r, "weave: out of memory");
    if (l->file < 0) {
        if ((r = inline_read(c, l, id, out->data + start, err)))
            return r;
    } else {
        int fd = -1;
        if ((r = rfd_of(w, (uint32_t)l->file, &fd, err)))
            return r;
        uint64_t got = 0;
        while (got < l->len) {
            ssize_t k = pread(fd, out->data + start + got, l->len - got, (off_t)(l->offset + got));
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                return ao_err_set(err, AO_EIO, "weave: item %s: short read of blob file %lld at %llu",
                                  id, (long long)l->file, (unsigned long long)(l->offset + got));
            got += (uint64_t)k;
        }
    }
    if (weave_crc32c(out->data + start, l->len) != l->crc)
        return ao_err_set(err, AO_EIO, "weave: item %s: stored bytes fail their checksum (corrupt)", id);
    out->len = start + l->len;
    return AO_OK;
}

static int get_loc(weave *w, const char *id, bool data_only, ao_buf *out, ao_error *err)
{
    weave_rconn *c;
    int r = weave_rconn_get(w, &c, err);
    if (r)
        return r;
    sqlite3_stmt *st = weave_stmt(c, WQ_GET_LOC, err);
    if (!st) {
        weave_rconn_put(w, c);
        return AO_EIO;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    if (s != SQLITE_ROW) {
        r = s == SQLITE_DONE ? ao_err_set(err, AO_ENOTFOUND, "weave: no item %.64s", id)
                             : weave_sql_err(c->db, err, "get");
        weave_rconn_put(w, c);
        return r;
    }
    weave_loc l = { sqlite3_column_int64(st, 0),
                    sqlite3_column_type(st, 6) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 6),
                    (uint64_t)sqlite3_column_int64(st, 1), (uint64_t)sqlite3_column_int64(st, 2),
                    (uint32_t)sqlite3_column_int64(st, 3) };
    uint64_t doff = (uint64_t)sqlite3_column_int64(st, 4);
    uint64_t dlen = (uint64_t)sqlite3_column_int64(st, 5);
    sqlite3_reset(st);
    if (!data_only) {
        r = weave_blob_read(w, c, &l, id, out, err);
        weave_rconn_put(w, c);
        return r;
    }
    ao_buf tmp;
    ao_buf_init(&tmp);
    r = weave_blob_read(w, c, &l, id, &tmp, err);
    weave_rconn_put(w, c);
    if (!r && (doff + dlen > tmp.len))
        r = ao_err_set(err, AO_EIO, "weave: item %s: data range outside the item", id);
    if (!r && ao_buf_append(out, tmp.data + doff, dlen))
        r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
    ao_buf_free(&tmp);
    return r;
}

int weave_get(weave *w, const char *id, ao_buf *out, ao_error *err)
{
    return get_loc(w, id, false, out, err);
}

int weave_get_data(weave *w, const char *id, ao_buf *out, ao_error *err)
{
    return get_loc(w, id, true, out, err);
}

int weave_has(weave *w, const char *id, ao_error *err)
{
    weave_rconn *c;
    int r = weave_rconn_get(w, &c, err);
    if (r)
        return r;
    sqlite3_stmt *st = weave_stmt(c, WQ_SEQ_OF_ID, err);
    if (!st) {
        weave_rconn_put(w, c);
        return AO_EIO;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    r = s == SQLITE_ROW ? AO_OK
      : s == SQLITE_DONE ? ao_err_set(err, AO_ENOTFOUND, "weave: no item %.64s", id)
      : weave_sql_err(c->db, err, "has");
    weave_rconn_put(w, c);
    return r;
}

/* ---- put: the entries of one put (the item and everything bundled in it) ---- */

typedef struct put_entry {
    uint8_t id[ITEM_ID_LEN];
    char id_b64[WEAVE_ID_MAX];
    uint16_t sig_type;
    char owner_address[AO_ADDRESS_MAX];
    char target[WEAVE_ID_MAX], anchor[WEAVE_ID_MAX];
    item_tag *tags;
    size_t ntags;
    const uint8_t *content_type;
    size_t content_type_len;
    uint64_t raw_off, raw_len, data_off, data_len;
    uint32_t crc;
    int parent;                  /* entry index of the bundle, -1 for the top */
} put_entry;

typedef struct put_req {
    const uint8_t *raw;
    size_t len;
    put_entry *e;
    size_t n, cap;
    int rc;
    ao_error err;
    bool done;
    bool nomirror;               /* WEAVE_PUT_NOMIRROR: not queued upstream */
    weave_put_result res;
    struct put_req *next;
} put_req;

static bool tag_is(const item_tag *t, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    return t->name_len == nl && memcmp(t->name, name, nl) == 0 &&
           t->value_len == vl && memcmp(t->value, value, vl) == 0;
}

static int collect(put_req *q, const uint8_t *raw, size_t len, int parent, int depth,
                   bool verify, item *it, ao_error *err)
{
    int r = verify ? item_verify(raw, len, it, err) : item_decode(raw, len, it, err);
    if (r)
        return r;
    if (q->n == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 4;
        put_entry *p = realloc(q->e, nc * sizeof *p);
        if (!p)
            return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
        q->e = p;
        q->cap = nc;
    }
    int me = (int)q->n++;
    put_entry *e = &q->e[me];
    memset(e, 0, sizeof *e);
    item_id(it, e->id);
    ao_b64url_encode_to(e->id, ITEM_ID_LEN, e->id_b64);
    e->sig_type = it->sig_type;
    item_owner_address(it, e->owner_address);
    if (it->target)
        ao_b64url_encode_to(it->target, ITEM_TARGET_LEN, e->target);
    if (it->anchor)
        ao_b64url_encode_to(it->anchor, ITEM_ANCHOR_LEN, e->anchor);
    e->ntags = it->ntags;
    if (it->ntags) {
        e->tags = malloc(it->ntags * sizeof *e->tags);
        if (!e->tags)
            return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
        memcpy(e->tags, it->tags, it->ntags * sizeof *e->tags);
    }
    const item_tag *ct = item_find_tag(it, "Content-Type");
    if (ct) {
        e->content_type = ct->value;
        e->content_type_len = ct->value_len;
    }
    e->raw_off = (uint64_t)(raw - q->raw);
    e->raw_len = len;
    e->data_off = (uint64_t)(it->data - raw);
    e->data_len = it->data_len;
    e->crc = weave_crc32c(raw, len);
    e->parent = parent;

    bool fmt = false, ver = false;
    for (size_t i = 0; i < it->ntags; i++) {
        fmt |= tag_is(&it->tags[i], "Bundle-Format", "binary");
        ver |= tag_is(&it->tags[i], "Bundle-Version", "2.0.0");
    }
    if (!(fmt && ver) || depth >= WEAVE_MAX_NEST)
        return AO_OK;
    item_bundle b;
    const uint8_t *data = it->data;
    size_t dlen = it->data_len;
    if ((r = item_bundle_parse(data, dlen, &b, err)))
        return ao_err_wrap(err, "item %s is tagged as a bundle", e->id_b64);
    char bid[WEAVE_ID_MAX];
    memcpy(bid, e->id_b64, sizeof bid);
    for (size_t i = 0; i < b.count && !r; i++) {
        r = collect(q, b.entries[i].raw, b.entries[i].len, me, depth + 1, verify, it, err);
        if (r) {
            ao_err_wrap(err, "bundle %s item %zu", bid, i);
            break;
        }
        /* the header id must be the id of this (direct) inner item */
        for (size_t k = 0; k < q->n; k++) {
            if (q->e[k].raw_off == (uint64_t)(b.entries[i].raw - q->raw) && q->e[k].parent == me) {
                if (memcmp(q->e[k].id, b.entries[i].header_id, ITEM_ID_LEN) != 0)
                    r = ao_err_set(err, AO_EFORMAT,
                                   "bundle %s item %zu: header id does not match the item's id",
                                   bid, i);
                break;
            }
        }
    }
    item_bundle_free(&b);
    return r;
}

static void req_free_entries(put_req *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->e[i].tags);
    free(q->e);
    q->e = NULL;
    q->n = q->cap = 0;
}

/* ---- writer thread ---- */

static int wexec(weave *w, const char *sql, ao_error *err)
{
    if (sqlite3_exec(w->wdb, sql, NULL, NULL, NULL) != SQLITE_OK)
        return weave_sql_err(w->wdb, err, sql);
    return AO_OK;
}

static int seal_block(weave *w, int64_t height, ao_error *err)
{
    int64_t ts = weave_now_ms();
    if (ts < w->last_ts)
        ts = w->last_ts;
    crypto_hash *h = crypto_hash_new(CRYPTO_SHA384);
    if (!h)
        return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
    uint8_t b8[8];
    if (height > 0)
        crypto_hash_update(h, w->last_id, 48);
    ao_wr_u64le(b8, (uint64_t)height);
    crypto_hash_update(h, b8, 8);
    ao_wr_u64le(b8, (uint64_t)ts);
    crypto_hash_update(h, b8, 8);
    sqlite3_stmt *st = w->w_ids_at;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, height);
    uint64_t count = 0;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        crypto_hash_update(h, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        count++;
    }
    sqlite3_reset(st);
    uint8_t id[48];
    crypto_hash_final(h, id);
    crypto_hash_free(h);
    if (s != SQLITE_DONE)
        return weave_sql_err(w->wdb, err, "block ids");
    char idb[WEAVE_BLOCK_ID_MAX], prev[WEAVE_BLOCK_ID_MAX] = "";
    ao_b64url_encode_to(id, 48, idb);
    if (height > 0)
        ao_b64url_encode_to(w->last_id, 48, prev);
    st = w->w_ins_block;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, height);
    sqlite3_bind_text(st, 2, idb, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, ts);
    sqlite3_bind_text(st, 4, prev, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, (int64_t)count);
    s = sqlite3_step(st);
    sqlite3_reset(st);
    if (s != SQLITE_DONE)
        return weave_sql_err(w->wdb, err, "insert block");
    w->last_height = height;
    memcpy(w->last_id, id, 48);
    w->last_ts = ts;
    return AO_OK;
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* AO_OK inserted, 1 already indexed (nothing inserted), <0 error. */
static int insert_entry(weave *w, put_req *q, size_t k, int64_t height, int64_t file,
                        uint64_t top_off, int64_t blob, int64_t now, ao_error *err)
{
    put_entry *e = &q->e[k];
    sqlite3_stmt *st = w->w_ins_item;
    int64_t seq = w->next_seq;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);   /* optional columns are bound only when present */
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, e->id_b64, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, e->sig_type);
    sqlite3_bind_text(st, 4, e->owner_address, -1, SQLITE_TRANSIENT);
    bind_opt_text(st, 5, e->target);
    bind_opt_text(st, 6, e->anchor);
    sqlite3_bind_int64(st, 7, (int64_t)e->data_off);
    sqlite3_bind_int64(st, 8, (int64_t)e->data_len);
    sqlite3_bind_int64(st, 9, (int64_t)e->raw_len);
    if (e->content_type)
        sqlite3_bind_text(st, 10, (const char *)e->content_type, (int)e->content_type_len,
                          SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 11, height);
    if (e->parent >= 0)
        sqlite3_bind_text(st, 12, q->e[e->parent].id_b64, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 13, now);
    sqlite3_bind_int64(st, 14, file);
    sqlite3_bind_int64(st, 15, (int64_t)(top_off + e->raw_off));
    sqlite3_bind_int64(st, 16, e->crc);
    if (file < 0)
        sqlite3_bind_int64(st, 17, blob);
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    if (s != SQLITE_DONE)
        return weave_sql_err(w->wdb, err, "insert item");
    if (sqlite3_changes(w->wdb) == 0)
        return 1;   /* already indexed: nothing inserted */
    st = w->w_ins_tag;
    for (size_t i = 0; i < e->ntags; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, seq);
        sqlite3_bind_int(st, 2, (int)i);
        sqlite3_bind_text(st, 3, (const char *)e->tags[i].name, (int)e->tags[i].name_len,
                          SQLITE_STATIC);
        sqlite3_bind_text(st, 4, (const char *)e->tags[i].value, (int)e->tags[i].value_len,
                          SQLITE_STATIC);
        s = sqlite3_step(st);
        sqlite3_reset(st);
        if (s != SQLITE_DONE)
            return weave_sql_err(w->wdb, err, "insert tag");
    }
    w->next_seq++;
    return AO_OK;
}

/* Index one request inside the open transaction. Its bytes go into the
 * blobs table (up to inline_max) or to wbuf (the blob file). */
static int index_req(weave *w, put_req *q, int64_t now, ao_error *err)
{
    put_entry *top = &q->e[0];
    memcpy(q->res.id, top->id_b64, WEAVE_ID_MAX);
    int64_t height = w->last_height + 1;
    bool in_db = q->len <= w->opt.inline_max;
    int64_t file = in_db ? -1 : (int64_t)w->blob_file;
    uint64_t top_off = in_db ? 0 : w->blob_off + w->wbuf.len;
    int64_t blob = w->next_seq;
    int r = insert_entry(w, q, 0, height, file, top_off, blob, now, err);
    if (r == 1) {              /* idempotent: already stored */
        q->res.is_new = false;
        return AO_OK;
    }
    for (size_t k = 1; k < q->n && r == 0; k++) {
        r = insert_entry(w, q, k, height, file, top_off, blob, now, err);
        if (r == 0)
            q->res.inner_new++;
        else if (r == 1)
            r = 0;
    }
    if (r)
        return r;
    if (w->opt.mirror && !q->nomirror) {   /* queued upstream in the same commit */
        sqlite3_stmt *st = w->w_ins_mirror;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, blob);
        int s = sqlite3_step(st);
        sqlite3_reset(st);
        if (s != SQLITE_DONE)
            return weave_sql_err(w->wdb, err, "queue for the mirror");
    }
    if (in_db) {
        sqlite3_stmt *st = w->w_ins_blob;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, blob);
        sqlite3_bind_blob(st, 2, q->raw, (int)q->len, SQLITE_STATIC);
        int s = sqlite3_step(st);
        sqlite3_reset(st);
        if (s != SQLITE_DONE)
            return weave_sql_err(w->wdb, err, "insert blob");
    } else if (ao_buf_append(&w->wbuf, q->raw, q->len)) {
        return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
    }
    q->res.is_new = true;
    q->res.height = height;
    if (w->opt.block_interval_ms == 0)
        r = seal_block(w, height, err);
    return r;
}

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static int open_blob_for_write(weave *w, uint32_t file, bool truncate_all, ao_error *err)
{
    char *path = blob_path(w, file);
    if (!path)
        return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | (truncate_all ? O_TRUNC : 0), 0644);
    free(path);
    if (fd < 0)
        return ao_err_set(err, AO_EIO, "weave: blob file %u: %s", file, strerror(errno));
    if (w->blob_fd >= 0)
        close(w->blob_fd);
    w->blob_fd = fd;
    w->blob_file = file;
    return AO_OK;
}

/* Commit one batch: index, write + sync blobs, commit. Fills each req. */
static void commit_batch(weave *w, put_req *batch)
{
    ao_error err;
    ao_err_clear(&err);
    int64_t save_seq = w->next_seq, save_h = w->last_height, save_ts = w->last_ts;
    uint8_t save_id[48];
    memcpy(save_id, w->last_id, 48);
    int r = AO_OK;
    if (w->blob_off >= WEAVE_BLOB_FILE_LIMIT) {
        char *dir = malloc(strlen(w->dir) + 8);
        r = dir ? open_blob_for_write(w, w->blob_file + 1, true, &err)
                : ao_err_set(&err, AO_ENOMEM, "weave: out of memory");
        if (!r) {
            w->blob_off = 0;
            sprintf(dir, "%s/blobs", w->dir);
            if (!w->opt.no_fsync)
                fsync_dir(dir);
        }
        free(dir);
    }
    ao_buf_reset(&w->wbuf);
    if (!r)
        r = wexec(w, "BEGIN", &err);
    int64_t now = weave_now_ms();
    for (put_req *q = batch; q && !r; q = q->next)
        if (q->rc == AO_OK) {
            q->err.code = 0;
            int rq = index_req(w, q, now, &q->err);
            if (rq)
                r = ao_err_set(&err, rq, "%s", q->err.msg);
        }
    if (!r && w->wbuf.len) {
        if (write_all(w->blob_fd, w->wbuf.data, w->wbuf.len, w->blob_off) != 0)
            r = ao_err_set(&err, AO_EIO, "weave: blob write: %s", strerror(errno));
        else if (!w->opt.no_fsync && fdatasync(w->blob_fd) != 0)
            r = ao_err_set(&err, AO_EIO, "weave: blob fdatasync: %s", strerror(errno));
    }
    if (!r)
        r = wexec(w, "COMMIT", &err);
    if (r) {
        sqlite3_exec(w->wdb, "ROLLBACK", NULL, NULL, NULL);
        w->next_seq = save_seq;
        w->last_height = save_h;
        w->last_ts = save_ts;
        memcpy(w->last_id, save_id, 48);
        for (put_req *q = batch; q; q = q->next)
            if (q->rc == AO_OK) {
                q->rc = err.code ? err.code : AO_EIO;
                q->err = err;
            }
        return;
    }
    w->blob_off += w->wbuf.len;
}

static int seal_interval(weave *w, ao_error *err)
{
    int r = wexec(w, "BEGIN", err);
    if (!r)
        r = seal_block(w, w->last_height + 1, err);
    if (!r)
        r = wexec(w, "COMMIT", err);
    if (r)
        sqlite3_exec(w->wdb, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

static void *writer_main(void *arg)
{
    weave *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (!w->head && !w->stop) {
            if (w->opt.block_interval_ms) {
                struct timespec ts;
                uint64_t at = w->next_seal_ms;
                ts.tv_sec = (time_t)(at / 1000);
                ts.tv_nsec = (long)(at % 1000) * 1000000;
                pthread_cond_timedwait(&w->cv_work, &w->mu, &ts);
            } else {
                pthread_cond_wait(&w->cv_work, &w->mu);
            }
        }
        bool stop = w->stop && !w->head;
        /* take up to max_batch requests */
        put_req *batch = w->head, *last = NULL;
        size_t n = 0;
        for (put_req *q = w->head; q && n < w->opt.max_batch; q = q->next, n++)
            last = q;
        if (last) {
            w->head = last->next;
            if (!w->head)
                w->tail = NULL;
            last->next = NULL;
        } else {
            batch = NULL;
        }
        pthread_mutex_unlock(&w->mu);

        if (w->opt.block_interval_ms && (uint64_t)weave_now_ms() >= w->next_seal_ms && !stop) {
            seal_interval(w, NULL);
            uint64_t now = (uint64_t)weave_now_ms();
            w->next_seal_ms += w->opt.block_interval_ms;
            if (w->next_seal_ms <= now)
                w->next_seal_ms = now + w->opt.block_interval_ms;
        }
        if (batch)
            commit_batch(w, batch);

        pthread_mutex_lock(&w->mu);
        for (put_req *q = batch; q; q = q->next)
            q->done = true;
        if (batch)
            pthread_cond_broadcast(&w->cv_done);
        if (stop)
            break;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int weave_put_many(weave *w, const uint8_t *const *raws, const size_t *lens, size_t n,
                   unsigned flags, weave_put_result *res, ao_error *err)
{
    if (n == 0)
        return AO_OK;
    put_req *q = calloc(n, sizeof *q);
    item *it = malloc(sizeof *it);
    int r = AO_OK;
    if (!q || !it) {
        r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
        goto done;
    }
    /* decode and verify everything first: one bad item refuses them all */
    for (size_t i = 0; i < n && !r; i++) {
        q[i].raw = raws[i];
        q[i].len = lens[i];
        q[i].nomirror = (flags & WEAVE_PUT_NOMIRROR) != 0;
        r = collect(&q[i], raws[i], lens[i], -1, 0, !(flags & WEAVE_PUT_NOVERIFY), it, err);
        if (r && n > 1)
            ao_err_wrap(err, "item %zu", i);
    }
    if (r)
        goto done;
    pthread_mutex_lock(&w->mu);
    if (w->stop) {
        pthread_mutex_unlock(&w->mu);
        r = ao_err_set(err, AO_ESTATE, "weave: closing");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (w->tail)
            w->tail->next = &q[i];
        else
            w->head = &q[i];
        w->tail = &q[i];
    }
    pthread_cond_signal(&w->cv_work);
    for (size_t i = 0; i < n; i++)
        while (!q[i].done)
            pthread_cond_wait(&w->cv_done, &w->mu);
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        if (q[i].rc && !r) {
            r = q[i].rc;
            if (err)
                *err = q[i].err;
        }
        if (res)
            res[i] = q[i].res;
    }
done:
    if (q)
        for (size_t i = 0; i < n; i++)
            req_free_entries(&q[i]);
    free(q);
    free(it);
    return r;
}

int weave_put(weave *w, const uint8_t *raw, size_t len, unsigned flags,
              weave_put_result *res, ao_error *err)
{
    return weave_put_many(w, &raw, &len, 1, flags, res, err);
}

int weave_put_bundle(weave *w, const uint8_t *raw, size_t len, unsigned flags,
                     weave_put_result **res, size_t *n, ao_error *err)
{
    if (res)
        *res = NULL;
    if (n)
        *n = 0;
    item_bundle b;
    int r = item_bundle_parse(raw, len, &b, err);
    if (r)
        return r;
    const uint8_t **raws = malloc((b.count ? b.count : 1) * sizeof *raws);
    size_t *lens = malloc((b.count ? b.count : 1) * sizeof *lens);
    weave_put_result *out = calloc(b.count ? b.count : 1, sizeof *out);
    if (!raws || !lens || !out) {
        r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
        goto done;
    }
    for (size_t i = 0; i < b.count && !r; i++) {
        uint8_t id[ITEM_ID_LEN];
        item *it = malloc(sizeof *it);
        if (!it) {
            r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
            break;
        }
        r = item_decode(b.entries[i].raw, b.entries[i].len, it, err);
        if (!r) {
            item_id(it, id);
            if (memcmp(id, b.entries[i].header_id, ITEM_ID_LEN) != 0)
                r = ao_err_set(err, AO_EFORMAT, "bundle item %zu: header id does not match the item's id", i);
        } else {
            ao_err_wrap(err, "bundle item %zu", i);
        }
        free(it);
        raws[i] = b.entries[i].raw;
        lens[i] = b.entries[i].len;
    }
    if (!r)
        r = weave_put_many(w, raws, lens, b.count, flags, out, err);
    if (!r) {
        if (n)
            *n = b.count;
        if (res) {
            *res = out;
            out = NULL;
        }
    }
done:
    free(raws);
    free(lens);
    free(out);
    item_bundle_free(&b);
    return r;
}

/* ---- open / close ---- */

void weave_options_default(weave_options *o)
{
    memset(o, 0, sizeof *o);
    o->block_interval_ms = 2000;
    o->max_batch = 4096;
    o->inline_max = 65536;
}

static int load_state(weave *w, ao_error *err)
{
    sqlite3_stmt *st;
    int r = AO_OK;
    /* network name: kept from creation */
    if (sqlite3_prepare_v2(w->wdb, "SELECT value FROM meta WHERE key='network'", -1, &st, NULL))
        return weave_sql_err(w->wdb, err, "meta");
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(w->network, sizeof w->network, "%s", (const char *)sqlite3_column_text(st, 0));
    } else {
        snprintf(w->network, sizeof w->network, "%s", w->opt.network ? w->opt.network : "ao-local");
        sqlite3_finalize(st);
        if (sqlite3_prepare_v2(w->wdb, "INSERT INTO meta(key, value) VALUES('network', ?1)", -1, &st, NULL))
            return weave_sql_err(w->wdb, err, "meta");
        sqlite3_bind_text(st, 1, w->network, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE)
            r = weave_sql_err(w->wdb, err, "meta");
    }
    sqlite3_finalize(st);
    if (r)
        return r;
    /* last sealed block */
    if (sqlite3_prepare_v2(w->wdb, "SELECT height, id, timestamp FROM blocks ORDER BY height DESC LIMIT 1",
                           -1, &st, NULL))
        return weave_sql_err(w->wdb, err, "blocks");
    bool have = sqlite3_step(st) == SQLITE_ROW;
    if (have) {
        w->last_height = sqlite3_column_int64(st, 0);
        ao_buf b;
        ao_buf_init(&b);
        const char *id = (const char *)sqlite3_column_text(st, 1);
        if (ao_b64url_decode(id, strlen(id), &b, NULL) == AO_OK && b.len == 48)
            memcpy(w->last_id, b.data, 48);
        ao_buf_free(&b);
        w->last_ts = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (!have) {   /* genesis */
        w->last_height = -1;
        if ((r = seal_interval(w, err)))
            return r;
    }
    /* next seq, current blob file and its indexed end */
    if (sqlite3_prepare_v2(w->wdb, "SELECT max(seq) FROM items", -1, &st, NULL))
        return weave_sql_err(w->wdb, err, "items");
    sqlite3_step(st);
    w->next_seq = sqlite3_column_int64(st, 0) + 1;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(w->wdb, "SELECT file, offset + raw_size FROM items WHERE file ="
                           " (SELECT max(file) FROM items WHERE file >= 0)"
                           " ORDER BY offset + raw_size DESC LIMIT 1",
                           -1, &st, NULL))
        return weave_sql_err(w->wdb, err, "items");
    uint32_t file = 0;
    uint64_t end = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        file = (uint32_t)sqlite3_column_int64(st, 0);
        end = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if ((r = open_blob_for_write(w, file, false, err)))
        return r;
    /* bytes past the last indexed item were never acknowledged: cut them */
    struct stat sb;
    if (fstat(w->blob_fd, &sb) != 0)
        return ao_err_set(err, AO_EIO, "weave: blob stat: %s", strerror(errno));
    if ((uint64_t)sb.st_size < end)
        return ao_err_set(err, AO_EIO, "weave: blob file %u is shorter (%lld) than its index says (%llu)",
                          file, (long long)sb.st_size, (unsigned long long)end);
    if ((uint64_t)sb.st_size > end) {
        if (ftruncate(w->blob_fd, (off_t)end) != 0 || (!w->opt.no_fsync && fsync(w->blob_fd) != 0))
            return ao_err_set(err, AO_EIO, "weave: blob truncate: %s", strerror(errno));
    }
    w->blob_off = end;
    return AO_OK;
}

static int prep(weave *w, const char *sql, sqlite3_stmt **st, ao_error *err)
{
    if (sqlite3_prepare_v3(w->wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return weave_sql_err(w->wdb, err, "prepare");
    return AO_OK;
}

int weave_open(const char *dir, const weave_options *opt, weave **out, ao_error *err)
{
    *out = NULL;
    weave *w = calloc(1, sizeof *w);
    if (!w)
        return ao_err_set(err, AO_ENOMEM, "weave: out of memory");
    if (opt)
        w->opt = *opt;
    else
        weave_options_default(&w->opt);
    if (!w->opt.max_batch)
        w->opt.max_batch = 4096;
    if (w->opt.inline_max > (1u << 30))   /* SQLite binds lengths as int */
        w->opt.inline_max = 1u << 30;
    w->blob_fd = -1;
    ao_buf_init(&w->wbuf);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv_work, NULL);
    pthread_cond_init(&w->cv_done, NULL);
    pthread_mutex_init(&w->rmu, NULL);
    pthread_mutex_init(&w->mmu, NULL);
    w->dir = strdup(dir);
    char *bdir = malloc(strlen(dir) + 8);
    int r = AO_OK;
    if (!w->dir || !bdir) {
        r = ao_err_set(err, AO_ENOMEM, "weave: out of memory");
        goto fail;
    }
    sprintf(bdir, "%s/blobs", dir);
    if ((mkdir(dir, 0755) != 0 && errno != EEXIST) || (mkdir(bdir, 0755) != 0 && errno != EEXIST)) {
        r = ao_err_set(err, AO_EIO, "weave: cannot create %s: %s", bdir, strerror(errno));
        goto fail;
    }
    if ((r = weave_open_db(w, &w->wdb, true, err)))
        goto fail;
    if ((r = wexec(w, SCHEMA, err)))
        goto fail;
    if ((r = prep(w, "INSERT INTO blobs(seq, raw) VALUES(?1, ?2)", &w->w_ins_blob, err)) ||
        (r = prep(w, "INSERT INTO items(seq, id, sig_type, owner_address, target, anchor,"
                     " data_offset, data_size, raw_size, content_type, height, bundled_in,"
                     " stored_at, file, offset, crc, blob) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,"
                     "?10,?11,?12,?13,?14,?15,?16,?17) ON CONFLICT(id) DO NOTHING", &w->w_ins_item, err)) ||
        (r = prep(w, "INSERT INTO tags(item, position, name, value) VALUES(?1,?2,?3,?4)",
                  &w->w_ins_tag, err)) ||
        (r = prep(w, "INSERT INTO blocks(height, id, timestamp, previous, tx_count)"
                     " VALUES(?1,?2,?3,?4,?5)", &w->w_ins_block, err)) ||
        (r = prep(w, "SELECT id FROM items WHERE height=?1 ORDER BY seq", &w->w_ids_at, err)) ||
        (r = prep(w, "INSERT OR IGNORE INTO mirror(seq) VALUES(?1)", &w->w_ins_mirror, err)))
        goto fail;
    if ((r = load_state(w, err)))
        goto fail;
    if ((r = w->opt.mirror ? weave_mirror_backlog(w, err) : weave_mirror_note_off(w, err)))
        goto fail;
    if (!w->opt.no_fsync) {
        fsync_dir(bdir);
        fsync_dir(dir);
    }
    w->next_seal_ms = (uint64_t)weave_now_ms() + w->opt.block_interval_ms;
    if (pthread_create(&w->thr, NULL, writer_main, w) != 0) {
        r = ao_err_set(err, AO_EIO, "weave: cannot start the writer thread");
        goto fail;
    }
    w->thr_started = true;
    free(bdir);
    *out = w;
    return AO_OK;
fail:
    free(bdir);
    weave_close(w);
    return r;
}

void weave_close(weave *w)
{
    if (!w)
        return;
    if (w->thr_started) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->cv_work);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thr, NULL);
    }
    for (size_t i = 0; i < w->npool; i++)
        rconn_free(w->pool[i]);
    for (size_t i = 0; i < w->nrfds; i++)
        if (w->rfds[i] >= 0)
            close(w->rfds[i]);
    free(w->rfds);
    sqlite3_finalize(w->w_ins_blob);
    sqlite3_finalize(w->w_ins_item);
    sqlite3_finalize(w->w_ins_tag);
    sqlite3_finalize(w->w_ins_block);
    sqlite3_finalize(w->w_ids_at);
    sqlite3_finalize(w->w_ins_mirror);
    weave_mirror_close(w);
    if (w->wdb)
        sqlite3_close(w->wdb);
    if (w->blob_fd >= 0)
        close(w->blob_fd);
    ao_buf_free(&w->wbuf);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv_work);
    pthread_cond_destroy(&w->cv_done);
    pthread_mutex_destroy(&w->rmu);
    pthread_mutex_destroy(&w->mmu);
    free(w->dir);
    free(w);
}
