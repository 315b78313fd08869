/*
 * weave.h - the embedded local data layer ("the weave"): a permanent store
 * of signed ANS-104 data items and bundles on local disk, with an SQLite
 * index, blocks made on an interval, the queries a gateway's GraphQL
 * `transactions` / `blocks` need, and Scheduler-Location records.
 *
 * Layout of a data dir:
 *   DIR/index.db      SQLite (WAL, synchronous=FULL): the index (schema below)
 *   DIR/blobs/NNNNNN.blob  append-only files holding the raw bytes of items
 *                     larger than inline_max (smaller ones: table blobs)
 *
 * Durability: weave_put() returns AO_OK only once the item's bytes and its
 * index rows are on disk (blob file fdatasync'd, then the SQLite commit
 * fsync'd). Concurrent puts from several threads are grouped by one writer
 * thread into a single transaction and a single pair of fsyncs (group
 * commit); each caller blocks until its batch is durable.
 *
 * Integrity: every stored item has a CRC-32C of its raw bytes in the index;
 * reads check it and report a mismatch as AO_EIO ("... checksum mismatch
 * (corrupt) ..."); corrupt bytes are never returned.
 *
 * Ordering: every item has a `seq` (insertion order). Block heights never
 * decrease with seq, so "HEIGHT_ASC/DESC" is the order of seq, and the
 * cursors are positions in seq.
 *
 * Blocks: with block_interval_ms > 0 an item is put into the open block
 * (height = last sealed height + 1); the block row (id, timestamp,
 * previous) is written when the interval elapses (a block is sealed every
 * interval, empty or not). Until then the item's block is "pending"
 * (meta.block_sealed == false), as on Arweave. With block_interval_ms == 0
 * ("instant", for tests) every newly stored top-level item gets its own
 * block, sealed in the same commit; items inside a bundle share the block
 * of the bundle. Height 0 is a genesis block made when the weave is created.
 *
 * ---- SQLite schema (DIR/index.db; read-only for anyone but the weave) ----
 *   CREATE TABLE items(
 *     seq        INTEGER PRIMARY KEY,   -- insertion order, the cursor
 *     id         TEXT NOT NULL UNIQUE,  -- b64url, 43 chars
 *     sig_type   INTEGER NOT NULL,
 *     owner_address TEXT NOT NULL,      -- b64url(sha256(owner key))
 *     target     TEXT,                  -- b64url or NULL (GraphQL recipient)
 *     anchor     TEXT,                  -- b64url or NULL
 *     data_offset INTEGER NOT NULL,     -- offset of the data in the raw item
 *     data_size  INTEGER NOT NULL,
 *     raw_size   INTEGER NOT NULL,
 *     content_type TEXT,                -- Content-Type tag value or NULL
 *     height     INTEGER NOT NULL,      -- the block that includes it
 *     bundled_in TEXT,                  -- id of the enclosing bundle item
 *     stored_at  INTEGER NOT NULL,      -- ms since epoch
 *     file       INTEGER NOT NULL,      -- blob file number
 *     offset     INTEGER NOT NULL,      -- offset of the raw item in it
 *     crc        INTEGER NOT NULL,      -- CRC-32C of the raw item
 *     blob       INTEGER);              -- file = -1: blobs.seq holding the bytes
 *   CREATE INDEX items_owner  ON items(owner_address, seq);
 *   CREATE INDEX items_target ON items(target, seq) WHERE target IS NOT NULL;
 *   CREATE INDEX items_bundle ON items(bundled_in, seq) WHERE bundled_in IS NOT NULL;
 *   CREATE INDEX items_height ON items(height, seq);
 *   CREATE TABLE tags(item INTEGER NOT NULL,      -- items.seq
 *                     position INTEGER NOT NULL,  -- 0-based, signed order
 *                     name TEXT NOT NULL, value TEXT NOT NULL,
 *                     PRIMARY KEY(item, position)) WITHOUT ROWID;
 *   CREATE INDEX tags_nv ON tags(name, value, item);
 *   CREATE TABLE blocks(height INTEGER PRIMARY KEY,
 *                       id TEXT NOT NULL UNIQUE,     -- b64url of 48 bytes
 *                       timestamp INTEGER NOT NULL,  -- ms since epoch
 *                       previous TEXT NOT NULL,      -- "" for genesis
 *                       tx_count INTEGER NOT NULL);
 *   CREATE TABLE blobs(seq INTEGER PRIMARY KEY,   -- seq of the top-level item
 *                      raw BLOB NOT NULL);        -- its bytes (small items)
 *   CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);  -- network, version
 * Tag names/values are stored as TEXT holding the exact bytes (compared
 * with BINARY collation). Prefer the query API below over raw SQL: it runs
 * index-backed (a leapfrog join over the indexes, newest/oldest first).
 *
 * GraphQL mapping notes for the gateway: `owners` are owner ADDRESSES,
 * `recipients` are targets (b64url); block.timestamp on Arweave is in
 * SECONDS (timestamp_ms / 1000); a pending item has block = null.
 *
 * Thread safety: every function may be called from any thread
 * concurrently, except weave_close().
 */
#ifndef AO_WEAVE_H
#define AO_WEAVE_H

#include "base/base.h"
#include "crypto/crypto.h"
#include "item/item.h"

typedef struct weave weave;   /* opaque */

#define WEAVE_ID_MAX      44   /* 43-char b64url id + NUL */
#define WEAVE_BLOCK_ID_MAX 65  /* 64-char b64url (48 bytes) + NUL */
#define WEAVE_CURSOR_MAX  256  /* opaque cursor string + NUL (ours are short;
                                  other gateways' longer) */
#define WEAVE_NETWORK_MAX 64
#define WEAVE_URL_MAX     2048
#define WEAVE_MAX_NEST    8    /* bundle nesting depth indexed */
#define WEAVE_PAGE_MAX    1000 /* largest `first` */

typedef struct weave_options {
    uint32_t block_interval_ms;  /* 0 = instant (a block per put); default
                                    via weave_options_default(): 2000 */
    bool no_fsync;               /* benches only: skip fsync (NOT durable) */
    const char *network;         /* network name for weave_info; NULL =
                                    "ao-local" (kept from creation) */
    size_t max_batch;            /* puts per group commit; 0 = 4096 */
    size_t inline_max;           /* items up to this size keep their bytes
                                    inside SQLite (one fsync per batch);
                                    larger ones go to the blob files. 0 =
                                    all in blob files. default 65536 */
    bool mirror;                 /* keep the upstream mirror's queue: every
                                    new top-level item (unless put with
                                    WEAVE_PUT_NOMIRROR) is queued in the
                                    commit that stores it; the first open
                                    with mirror on also queues every item
                                    stored before, and an open with it on
                                    after opens without it queues what was
                                    stored meanwhile (see "mirror queue") */
} weave_options;

void weave_options_default(weave_options *o);

/* Open (creating if needed) the weave in dir. opt may be NULL (defaults).
 * Starts the writer thread. Recovers from a crash: blob bytes beyond the
 * last indexed item are cut off. */
int weave_open(const char *dir, const weave_options *opt, weave **out, ao_error *err);
/* Seals nothing new, stops the writer (after pending puts finish), closes. */
void weave_close(weave *w);

/* ---- put ---- */

#define WEAVE_PUT_NOVERIFY 1u   /* caller already verified (MU/SU/bench);
                                   the layout is still decoded and checked */
#define WEAVE_PUT_NOMIRROR 2u   /* the item came from upstream: do not
                                   queue it for the mirror */

typedef struct weave_put_result {
    char id[WEAVE_ID_MAX];
    bool is_new;          /* false: already stored (idempotent, no change) */
    size_t inner_new;     /* items inside (nested) bundles newly indexed */
    int64_t height;       /* block that includes it */
} weave_put_result;

/* Put one binary data item. Verifies its signature (unless NOVERIFY) and
 * refuses an invalid item with the reason (the item_* error codes:
 * AO_EFORMAT, AO_ELIMIT, AO_EVERIFY, AO_EUNSUPPORTED). If it carries
 * Bundle-Format=binary and Bundle-Version=2.0.0 its data is parsed as a
 * bundle and every inner item is verified and indexed with bundled_in =
 * this id, recursively (to WEAVE_MAX_NEST); a bad inner item refuses the
 * whole put. Idempotent by id. Returns once durable. res may be NULL. */
int weave_put(weave *w, const uint8_t *raw, size_t len, unsigned flags,
              weave_put_result *res, ao_error *err);

/* Put n items in one go: all are decoded/verified first (one invalid item
 * refuses them all, the error names its index), then queued together so
 * they share group commits. res (may be NULL) gets n results. Returns
 * once all are durable. Batches hold up to max_batch items, so a commit
 * failure may leave some stored: a retry is safe (idempotent). */
int weave_put_many(weave *w, const uint8_t *const *raws, const size_t *lens, size_t n,
                   unsigned flags, weave_put_result *res, ao_error *err);

/* Put the items of a bare ANS-104 bundle (no enclosing item, e.g. the
 * data of an L1 transaction): each becomes a top-level item (bundled_in
 * empty; bundles inside them are indexed as for weave_put). Header ids
 * must match. *res (may be NULL; free()) gets *n results. */
int weave_put_bundle(weave *w, const uint8_t *raw, size_t len, unsigned flags,
                     weave_put_result **res, size_t *n, ao_error *err);

/* ---- get ---- */

/* Raw item bytes by b64url id (appended to out), CRC-checked.
 * AO_ENOTFOUND if unknown; AO_EIO on a checksum mismatch or short read. */
int weave_get(weave *w, const char *id, ao_buf *out, ao_error *err);
/* Only the item's data payload (what GET /raw/{id} serves), CRC-checked. */
int weave_get_data(weave *w, const char *id, ao_buf *out, ao_error *err);
/* AO_OK if stored, AO_ENOTFOUND if not (or another error). */
int weave_has(weave *w, const char *id, ao_error *err);

typedef struct weave_tag {
    char *name;            /* NUL-terminated copy (may contain NULs: use len) */
    size_t name_len;
    char *value;
    size_t value_len;
} weave_tag;

/* Item metadata. Strings are owned by the struct: weave_meta_free(). */
typedef struct weave_item_meta {
    int64_t seq;
    char id[WEAVE_ID_MAX];
    unsigned sig_type;
    char owner_address[AO_ADDRESS_MAX];
    char *owner_key;       /* b64url owner; only with WEAVE_META_KEYS, else NULL */
    char *signature;       /* b64url; only with WEAVE_META_KEYS, else NULL */
    char target[WEAVE_ID_MAX];   /* "" when absent */
    char anchor[WEAVE_BLOCK_ID_MAX];   /* b64url, "" when absent (an L1
                                          transaction's last_tx: 64 chars) */
    size_t ntags;
    weave_tag *tags;       /* in signed order */
    uint64_t data_offset;  /* offset of the data inside the raw item */
    uint64_t data_size;
    uint64_t raw_size;
    char *content_type;    /* Content-Type tag value or NULL */
    int64_t height;        /* block that includes it */
    bool block_sealed;     /* false: block pending (GraphQL block: null) */
    char block_id[WEAVE_BLOCK_ID_MAX];   /* "" while pending */
    int64_t block_timestamp_ms;          /* 0 while pending */
    char bundled_in[WEAVE_ID_MAX];       /* "" when top-level */
    int64_t stored_at_ms;
    char cursor[WEAVE_CURSOR_MAX];       /* position of this row */
} weave_item_meta;

#define WEAVE_META_KEYS 1u   /* also read owner key and signature (one
                                read + CRC of the raw item) */

int weave_get_meta(weave *w, const char *id, unsigned fields,
                   weave_item_meta *out, ao_error *err);
void weave_meta_free(weave_item_meta *m);

/* ---- queries (GraphQL `transactions` / `blocks`) ---- */

typedef enum { WEAVE_HEIGHT_DESC = 0, WEAVE_HEIGHT_ASC = 1 } weave_sort;

typedef struct weave_tag_filter {
    const char *name;        /* NUL-terminated */
    const char *const *values;   /* any of these (OR) */
    size_t nvalues;
} weave_tag_filter;

/* All given filters must hold (AND); inside one array any element (OR). An
 * array with count 0 does not filter. */
typedef struct weave_tx_filter {
    const char *const *ids;        size_t nids;
    const char *const *owners;     size_t nowners;      /* addresses */
    const char *const *recipients; size_t nrecipients;  /* targets */
    const char *const *bundled_in; size_t nbundled_in;  /* bundle ids */
    const weave_tag_filter *tags;  size_t ntags;
    int64_t height_min;            /* -1 = none (inclusive) */
    int64_t height_max;            /* -1 = none (inclusive) */
    size_t first;                  /* page size; 0 = 10; capped WEAVE_PAGE_MAX */
    const char *after;             /* cursor of the last row seen, or NULL */
    weave_sort sort;
    unsigned fields;               /* WEAVE_META_KEYS to fill keys/signatures */
} weave_tx_filter;

/* Zero every field, height_min = height_max = -1. */
void weave_tx_filter_init(weave_tx_filter *f);

typedef struct weave_tx_page {
    weave_item_meta *rows;   /* n rows, each with its cursor */
    size_t n;
    bool has_next_page;
} weave_tx_page;

/* AO_EINVAL for a bad cursor or an oversize filter. */
int weave_query_transactions(weave *w, const weave_tx_filter *f,
                             weave_tx_page *out, ao_error *err);
void weave_tx_page_free(weave_tx_page *p);

typedef struct weave_block {
    int64_t height;
    char id[WEAVE_BLOCK_ID_MAX];
    char previous[WEAVE_BLOCK_ID_MAX];   /* "" for genesis */
    int64_t timestamp_ms;
    uint64_t tx_count;
    char cursor[WEAVE_CURSOR_MAX];
} weave_block;

typedef struct weave_block_filter {
    const char *const *ids;  size_t nids;
    int64_t height_min;      /* -1 = none */
    int64_t height_max;      /* -1 = none */
    size_t first;            /* 0 = 10; capped WEAVE_PAGE_MAX */
    const char *after;
    weave_sort sort;
} weave_block_filter;

void weave_block_filter_init(weave_block_filter *f);

typedef struct weave_block_page {
    weave_block *rows;
    size_t n;
    bool has_next_page;
} weave_block_page;

int weave_query_blocks(weave *w, const weave_block_filter *f,
                       weave_block_page *out, ao_error *err);
void weave_block_page_free(weave_block_page *p);
/* One sealed block by height; AO_ENOTFOUND if not (yet) sealed. */
int weave_get_block(weave *w, int64_t height, weave_block *out, ao_error *err);

typedef struct weave_info {
    char network[WEAVE_NETWORK_MAX];
    int64_t height;                     /* last sealed block */
    char current[WEAVE_BLOCK_ID_MAX];   /* its id */
    int64_t timestamp_ms;               /* its timestamp */
    uint64_t items;                     /* items indexed (inner ones too) */
    uint64_t blocks;                    /* sealed blocks incl. genesis */
    uint64_t pending;                   /* items in the open block */
} weave_info;

int weave_get_info(weave *w, weave_info *out, ao_error *err);

/* ---- Scheduler-Location (PROTOCOL.md §5) ---- */

/* Sign with the SU wallet an item with tags Data-Protocol=ao,
 * Type=Scheduler-Location, Url=url, Time-To-Live=ttl_ms, and put it.
 * id_out (may be NULL) receives its id. */
int weave_scheduler_location_publish(weave *w, const crypto_wallet *su,
                                     const char *url, uint64_t ttl_ms,
                                     char id_out[WEAVE_ID_MAX], ao_error *err);

typedef struct weave_scheduler_location {
    char url[WEAVE_URL_MAX];       /* trailing '/' removed, as scheduler-utils */
    uint64_t ttl_ms;
    char address[AO_ADDRESS_MAX];  /* the SU's owner address */
    char id[WEAVE_ID_MAX];         /* the record's item id */
    int64_t height;
} weave_scheduler_location;

/* Latest (highest height, then newest) Scheduler-Location record whose
 * owner address is `address`. AO_ENOTFOUND if none; AO_EFORMAT if the
 * latest lacks Url or Time-To-Live (tag names matched case-insensitively). */
int weave_scheduler_location_resolve(weave *w, const char *address,
                                     weave_scheduler_location *out, ao_error *err);

/* ---- the mirror queue ----
 * With weave_options.mirror, the weave keeps the durable list of top-level
 * items still to be written to an upstream Arweave (src/net's mirror
 * uploads them as bundles in L1 transactions). An item is queued in the
 * same commit that stores it, so nothing acknowledged escapes the queue.
 * States: pending (tx NULL) -> posted (in L1 transaction tx) -> confirmed
 * (dropped from the queue, counted); a posted transaction that is never
 * confirmed is requeued (pending again). One uploader at a time. */

typedef struct weave_mirror_batch {
    size_t n;
    int64_t *seqs;           /* queue keys (items.seq) */
    const uint8_t **raws;    /* raw items, pointing into buf */
    size_t *lens;
    size_t bytes;            /* sum of lens */
    ao_buf buf;
} weave_mirror_batch;

/* The oldest pending items, in store order, up to max_items and
 * max_bytes (at least one item, however large). out->n == 0: none. */
int weave_mirror_take(weave *w, size_t max_items, size_t max_bytes, weave_mirror_batch *out,
                      ao_error *err);
void weave_mirror_batch_free(weave_mirror_batch *b);
/* Mark the batch's items posted in L1 transaction tx at now_ms. */
int weave_mirror_posted(weave *w, const weave_mirror_batch *b, const char *tx, int64_t now_ms,
                        ao_error *err);

typedef struct weave_mirror_tx {
    char tx[WEAVE_ID_MAX];
    int64_t posted_at_ms;
    uint64_t items;
} weave_mirror_tx;

/* Posted, unconfirmed transactions, oldest first (at most max; free()). */
int weave_mirror_unconfirmed(weave *w, size_t max, weave_mirror_tx **out, size_t *n,
                             ao_error *err);
/* Settle a posted transaction: confirmed drops its items from the queue
 * (counted in weave_mirror_stats.confirmed); otherwise they are pending
 * again, to be posted anew. */
int weave_mirror_settle(weave *w, const char *tx, bool confirmed, ao_error *err);

typedef struct weave_mirror_stats {
    uint64_t pending;          /* items waiting for a transaction */
    uint64_t posted;           /* items in posted, unconfirmed ones */
    uint64_t confirmed;        /* items confirmed upstream, ever */
    uint64_t txs_posted;       /* distinct unconfirmed transactions */
    int64_t oldest_pending_ms; /* stored_at of the oldest pending, 0 if none */
} weave_mirror_stats;

int weave_mirror_get_stats(weave *w, weave_mirror_stats *out, ao_error *err);

/* ---- the data layer as the units see it ----
 * A table of operations over "a data layer": this process's own weave
 * (weave_client_local) or a remote Arweave-compatible gateway over HTTP
 * (src/net implements that one with /graphql, /raw, /tx). The units (SU,
 * CU, MU) use only this, so `ao up` and a multi-machine network run the
 * same unit code. Every operation has the meaning and codes of the weave_*
 * function of the same name; a remote one that cannot be reached answers
 * AO_EIO. ctx is owned by whoever made the client. */
typedef struct weave_client {
    void *ctx;
    int (*put)(void *ctx, const uint8_t *raw, size_t len, weave_put_result *res, ao_error *err);
    int (*put_many)(void *ctx, const uint8_t *const *raws, const size_t *lens, size_t n,
                    weave_put_result *res, ao_error *err);
    int (*get)(void *ctx, const char *id, ao_buf *out, ao_error *err);        /* raw item */
    int (*get_data)(void *ctx, const char *id, ao_buf *out, ao_error *err);
    int (*get_meta)(void *ctx, const char *id, unsigned fields, weave_item_meta *out,
                    ao_error *err);
    int (*query_transactions)(void *ctx, const weave_tx_filter *f, weave_tx_page *out,
                              ao_error *err);
    int (*query_blocks)(void *ctx, const weave_block_filter *f, weave_block_page *out,
                        ao_error *err);
    int (*get_info)(void *ctx, weave_info *out, ao_error *err);
    int (*scheduler_location_resolve)(void *ctx, const char *address,
                                      weave_scheduler_location *out, ao_error *err);
} weave_client;

/* A client over a local weave (no allocation; w must outlive it). */
void weave_client_local(weave *w, weave_client *out);
/* The same, for a unit that verifies every item itself before it puts it
 * (the SU): puts skip the second signature check (WEAVE_PUT_NOVERIFY; the
 * layout is still decoded and checked). */
void weave_client_local_verified(weave *w, weave_client *out);

#endif
