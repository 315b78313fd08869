/*
 * su_internal.h - the SU's private structures shared by its files:
 * su.c (open/close, su.db, the per-process table, the group-commit writer,
 * crash repair), su_post.c (POST / and assign: checks, slots, the signed
 * Assignment item) and su_read.c (the JSON reads).
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

/* su_read.c */
/* UTF-8 of bytes with invalid sequences replaced by U+FFFD (malloc'd). */
char *su_lossy_utf8(const uint8_t *p, size_t n);

#endif
