/*
 * weave_internal.h - what the weave's files share: the weave struct, the
 * pool of read connections, blob reads with their checksum, CRC-32C, and
 * the schema. Not part of the public API (see weave.h).
 */
#ifndef AO_WEAVE_INTERNAL_H
#define AO_WEAVE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "weave/weave.h"

#define WEAVE_BLOB_FILE_LIMIT (1ull << 30)   /* roll to a new blob file */
#define WEAVE_READER_POOL 16

/* Cached statements of a read connection. */
enum {
    WQ_GET_LOC,        /* file, offset, raw_size, crc, data_offset, data_size by id */
    WQ_META,           /* the full row by seq */
    WQ_TAGS,           /* tags of one item */
    WQ_SEQ_OF_ID,
    WQ_TAG_DESC, WQ_TAG_ASC,
    WQ_OWNER_DESC, WQ_OWNER_ASC,
    WQ_TARGET_DESC, WQ_TARGET_ASC,
    WQ_BUNDLE_DESC, WQ_BUNDLE_ASC,
    WQ_ALL_DESC, WQ_ALL_ASC,
    WQ_HMIN, WQ_HMAX,
    WQ_BLOCK,
    WQ_COUNT
};

typedef struct weave_rconn {
    sqlite3 *db;
    sqlite3_stmt *st[WQ_COUNT];
} weave_rconn;

struct put_req;

struct weave {
    char *dir;
    weave_options opt;
    char network[WEAVE_NETWORK_MAX];

    /* writer side: used by the writer thread only (after open) */
    sqlite3 *wdb;
    sqlite3_stmt *w_ins_blob, *w_ins_item, *w_ins_tag, *w_ins_block, *w_ids_at;
    sqlite3_stmt *w_ins_mirror;         /* queues a new top-level item upstream */
    int blob_fd;
    uint32_t blob_file;
    uint64_t blob_off;
    int64_t next_seq;
    int64_t last_height;               /* last sealed block */
    uint8_t last_id[48];
    int64_t last_ts;
    uint64_t next_seal_ms;
    ao_buf wbuf;                        /* blob bytes of the current batch */

    /* queue of puts */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    struct put_req *head, *tail;
    bool stop;
    pthread_t thr;
    bool thr_started;

    /* readers */
    pthread_mutex_t rmu;
    weave_rconn *pool[WEAVE_READER_POOL];
    size_t npool;
    int *rfds;                          /* read fds by blob file number */
    size_t nrfds;

    /* the mirror queue's own write connection (mirror.c), opened on use */
    pthread_mutex_t mmu;
    sqlite3 *mdb;
};

uint32_t weave_crc32c(const void *p, size_t n);

int weave_rconn_get(weave *w, weave_rconn **out, ao_error *err);
void weave_rconn_put(weave *w, weave_rconn *c);
/* A cached statement (prepared on first use), reset and unbound. */
sqlite3_stmt *weave_stmt(weave_rconn *c, int which, ao_error *err);

/* Where an item's bytes are: blob file `file` at offset, or (file < 0)
 * inside SQLite, row `blob` of the blobs table, at offset. */
typedef struct weave_loc {
    int64_t file;
    int64_t blob;
    uint64_t offset, len;
    uint32_t crc;
} weave_loc;

/* Read the bytes and check the CRC; appended to out only if they match. */
int weave_blob_read(weave *w, weave_rconn *c, const weave_loc *l, const char *id, ao_buf *out,
                    ao_error *err);

int weave_sql_err(sqlite3 *db, ao_error *err, const char *what);
/* Open index.db: the writer (read-write, WAL, synchronous per options) or
 * a reader (query_only). */
int weave_open_db(weave *w, sqlite3 **db, bool writer, ao_error *err);

/* mirror.c: at open with opt.mirror, queue every top-level item stored
 * before mirroring was first turned on, or while the weave was opened
 * without it (weave_mirror_note_off, at an open without opt.mirror, marks
 * where that began); at close, free its connection. */
int weave_mirror_backlog(weave *w, ao_error *err);
int weave_mirror_note_off(weave *w, ao_error *err);
void weave_mirror_close(weave *w);
int64_t weave_now_ms(void);

void weave_cursor_encode(int64_t v, char out[WEAVE_CURSOR_MAX]);
int weave_cursor_decode(const char *s, int64_t *v, ao_error *err);

#endif
