/*
 * su_internal.h - the SU's private structures shared by its files:
 * su.c (open/close, su.db, the per-process table, the group-commit writer,
 * crash repair), su_post.c (POST / and assign: checks, slots, the signed
 * Assignment item), su_read.c (the JSON reads), su_json.c (the JSON
 * writers and query parsing shared by su_read.c and su_log.c) and
 * su_log.c (the read routes rebuilt from the data layer alone).
 */
#ifndef AO_SU_INTERNAL_H
#define AO_SU_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "su/su.h"
#include "item/item.h"

#define SU_ID_LEN 43
#define SU_READERS 4     /* read connections in the pool */

/* kinds of assignment rows */
enum { SU_KIND_PROCESS = 0, SU_KIND_MESSAGE = 1, SU_KIND_ASSIGN = 2 };

/* ticket states */
enum { SU_T_QUEUED = 0, SU_T_COMMITTED, SU_T_FAILED, SU_T_DONE };

typedef struct su_proc su_proc;

/* One assignment on its way to durability. Built under the process lock,
 * committed by the writer, uploaded by its caller. Duplicates that find it
 * in flight hold a reference and wait for it to finish. */
typedef struct su_ticket {
    struct su_ticket *next;        /* writer queue */
    struct su_ticket *pnext, *pprev;   /* the process's in-flight list */
    su_proc *proc;
    uint64_t gen;                  /* proc->gen when built */
    int kind;
    uint64_t nonce;
    int64_t timestamp;
    int64_t height;
    char process[SU_ID_LEN + 1];
    char message[SU_ID_LEN + 1];
    char assignment[SU_ID_LEN + 1];
    char hash_chain[SU_ID_LEN + 1];
    char dh[65];                   /* b64url deep hash of MU-pushed items, or "" */
    const uint8_t *item_raw;       /* caller's bytes; NULL for assign */
    size_t item_len;
    ao_buf araw;                   /* the signed Assignment item */
    int state;                     /* SU_T_*, under s->qmu */
    atomic_int refs;
} su_ticket;

struct su_proc {
    struct su_proc *hnext;         /* hash chain */
    char id[SU_ID_LEN + 1];
    pthread_mutex_t mu;
    uint64_t next_nonce;           /* 0 = process not (yet) scheduled */
    int64_t last_ts;
    uint8_t last_assignment[32];
    uint8_t last_chain[32];
    atomic_bool committed;         /* its nonce-0 row is in su.db */
    atomic_ullong gen;             /* bumped when a failed commit reloads it */
    su_ticket *inflight;           /* head of the in-flight list */
};

typedef struct su_reader {
    sqlite3 *db;
    sqlite3_stmt *by_msg;          /* (message, process?) -> row */
    sqlite3_stmt *by_dh;
    sqlite3_stmt *pending;
    bool busy;
} su_reader;

/* A row of the assignments table. */
typedef struct su_row {
    char process[SU_ID_LEN + 1];
    uint64_t nonce;
    int64_t timestamp;
    int64_t height;
    char hash_chain[SU_ID_LEN + 1];
    char message[SU_ID_LEN + 1];
    char assignment[SU_ID_LEN + 1];
    int kind;
} su_row;

struct su {
    char *dir;
    weave_client data;
    crypto_wallet *wallet;
    char address[AO_ADDRESS_MAX];
    size_t max_batch;
    bool no_fsync;
    int64_t (*now_fn)(void *ctx);
    void *clock_ctx;

    /* process table */
    pthread_rwlock_t plock;
    su_proc **buckets;
    size_t nbuckets, nprocs;

    /* block height cache */
    pthread_mutex_t hmu;
    int64_t height;
    int64_t height_at;             /* mono ms of the last refresh; 0 = never */

    /* read connections */
    pthread_mutex_t rmu;
    pthread_cond_t rcv;
    su_reader readers[SU_READERS];

    /* writer */
    sqlite3 *wdb;
    sqlite3_stmt *ins_row, *ins_pending, *del_pending;
    pthread_t writer;
    bool writer_started;
    pthread_mutex_t qmu;
    pthread_cond_t qcv;            /* writer waits for work */
    pthread_cond_t dcv;            /* callers wait for their ticket */
    su_ticket *qhead, *qtail;
    size_t qlen;
    char (*uploaded)[SU_ID_LEN + 1];   /* assignment ids to drop from pending */
    size_t nuploaded, capuploaded;
    bool stop;
    atomic_bool retry_uploads;     /* an upload failed: the writer retries
                                      the pending rows when idle */
};

/* su.c */
int64_t su_now(su *s);
int64_t su_block_height(su *s);
su_proc *su_proc_find(su *s, const char *pid);
su_proc *su_proc_get_or_add(su *s, const char *pid, ao_error *err);
su_reader *su_reader_take(su *s);
void su_reader_give(su *s, su_reader *r);
/* Row of message (optionally within process) or of deep hash dh (when dh
 * != NULL). AO_ENOTFOUND when none. */
int su_lookup(su *s, su_reader *r, const char *process, const char *message,
              const char *dh, su_row *row, ao_error *err);
/* Puts the pending bytes of one assignment (if any) into the data layer
 * and queues its pending row for removal. */
int su_repair_one(su *s, su_reader *r, const char *assignment, ao_error *err);
/* Hand a ticket to the writer (caller holds the process lock). */
void su_enqueue(su *s, su_ticket *t);
/* Wait until t leaves SU_T_QUEUED; returns its state. */
int su_wait_commit(su *s, su_ticket *t);
void su_mark_uploaded(su *s, const char *assignment);
/* An upload failed: have the writer retry the pending rows when idle. */
void su_upload_failed(su *s);
void su_ticket_set_state(su *s, su_ticket *t, int state);
void su_ticket_unref(su_ticket *t);
/* Row from a statement whose columns are process, nonce, timestamp,
 * height, hash_chain, message, assignment, kind. */
void su_row_from_stmt(sqlite3_stmt *st, su_row *row);

/* su_json.c: the JSON of the read routes, byte for byte the same whoever
 * supplies the rows and items. Writers append to b and return AO_OK or a
 * code (AO_ENOMEM; item decoding errors for stored items); on failure
 * nothing is left appended by su_json_node/page/process. */
/* UTF-8 of bytes with invalid sequences replaced by U+FFFD (malloc'd). */
char *su_lossy_utf8(const uint8_t *p, size_t n);
/* Bytes as a JSON string: lossy UTF-8 (U+FFFD per maximal invalid
 * subpart), escapes for '"', '\\' and control characters. */
int su_json_str(ao_buf *b, const void *p, size_t n);
int su_json_b64(ao_buf *b, const uint8_t *p, size_t n);     /* "<b64url>" */
int su_json_owner(ao_buf *b, const item *it);   /* {"address":..,"key":..} */
int su_json_tags(ao_buf *b, const item *it);    /* [{"name":..,"value":..}] */
/* UTF-8 anchor as text, else base64url with show_anchor, else null. */
int su_json_anchor(ao_buf *b, const item *it, bool show_anchor);
/* M = {id, owner, data, tags, signature, anchor, target} of a raw item, or
 * with assignment A = {id, owner, tags, signature, anchor:null, target:""}. */
int su_json_item(ao_buf *b, const uint8_t *raw, size_t len, bool assignment, bool show_anchor,
                 ao_error *err);
/* {"message":M|null,"assignment":A}; msg NULL writes "message":null (an
 * assigned existing transaction). */
int su_json_node(ao_buf *b, const uint8_t *msg, size_t mlen, const uint8_t *asg, size_t alen,
                 bool show_anchor, ao_error *err);
/* GET /processes/{pid}: the record of process item raw, with the height
 * and timestamp of its nonce-0 assignment. */
int su_json_process(ao_buf *body, const char *pid, int64_t height, int64_t timestamp,
                    const uint8_t *raw, size_t len, ao_error *err);

/* A schedule page query, validated. */
typedef struct su_page_q {
    bool nonce_mode, has_from;
    int64_t from, to, limit;   /* nonce mode: nonces, else timestamps;
                                  from exclusive, to inclusive */
} su_page_q;
/* Strict signed decimal (no '+', no spaces); false on nonsense/overflow. */
bool su_parse_i64(const char *s, int64_t *out);
/* The rules of GET /{id}'s query (AO_EINVAL "invalid ..."); q may be NULL. */
int su_parse_query(const su_query *q, su_page_q *pq, ao_error *err);
/* Writes one node of row (its {"message","assignment"} object) into b. */
typedef int (*su_node_fn)(void *ctx, const su_row *row, bool show_anchor, ao_buf *b,
                          ao_error *err);
/* One schedule page from rows[0..n): the rows of the range in order, at
 * most pq->limit + 1 of them (one more than the limit sets has_next_page).
 * Cursors are nonces in nonce mode, else timestamps; node writes each. */
int su_json_page(ao_buf *body, const su_row *rows, size_t n, const su_page_q *pq,
                 bool show_anchor, su_node_fn node, void *ctx, ao_error *err);

#endif
