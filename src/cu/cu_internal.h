/*
 * cu_internal.h - shared between the Compute Unit's files (not public):
 * message/env building from the SU's JSON (cu_msg.c), the result store in
 * cu.db (cu_store.c) and the checkpoint files (cu_ckpt.c).
 */
#ifndef AO_CU_INTERNAL_H
#define AO_CU_INTERNAL_H

#include <cjson/cJSON.h>
#include <pthread.h>

#include "cu/cu.h"
#include "host/host.h"

#define CU_ID_MAX 64

/* ---- msg/env building (cu_msg.c) ---- */

/* Address of an owner given as b64url key text: an Ethereum secp256k1 key
 * (65 bytes, 0x04..) gives the 0x keccak address, a typed-Ethereum owner
 * (42 ASCII "0x..") itself, anything else base64url(SHA-256(key)).
 * fallback (may be NULL) is used when key is NULL or undecodable. */
int cu_owner_address(const char *key_b64, const char *fallback, char out[AO_ADDRESS_MAX],
                     ao_error *err);

/* Lossy UTF-8: invalid sequences become U+FFFD (as JS's TextDecoder). */
char *cu_lossy_utf8(const uint8_t *p, size_t n);

/* The ordering keys of one evaluated message. */
typedef struct cu_order {
    int64_t timestamp;
    int64_t ordinate;        /* nonce (for a cron message: the nonce before it) */
    int64_t cron;            /* 0 = scheduled, k >= 1 = k-th cron after ordinate */
    int64_t block_height;
    char msg_id[CU_ID_MAX];  /* "" for cron */
    char hash_chain[CU_ID_MAX];
} cu_order;

/* Build the msg JSON of one SU edge node ({"message":M|null,"assignment":A})
 * for process pid. An assignment of an existing tx (message null or its id
 * differing from the Message tag) is read through data. */
int cu_msg_from_node(const cJSON *node, const char *pid, const weave_client *data,
                     char **msg_json, cu_order *ord, ao_error *err);

/* Tags JSON array of an item's weave meta. */
cJSON *cu_tags_from_meta(const weave_item_meta *m);
/* Copy of a {name,value} tags array, without tags named From or Owner when
 * strip is set. NULL on a malformed array. */
cJSON *cu_tags_copy(const cJSON *tags, bool strip);
/* Value of the first tag named name (exact), or NULL. */
const char *cu_tag_value(const cJSON *tags, const char *name);

/* ---- store (cu_store.c): DIR/cu.db ---- */
typedef struct cu_store cu_store;

typedef struct cu_result_row {
    cu_order ord;
    const char *cron_label;  /* NULL for scheduled */
    const char *json;
} cu_result_row;

typedef struct cu_ckpt_row {
    int64_t timestamp, ordinate, cron, block_height;
    int64_t sched_ts;        /* timestamp of the last scheduled message */
    int64_t cron_next;       /* next cron time (ms) or height */
    int64_t cron_index;      /* cron messages generated so far */
    char hash_chain[CU_ID_MAX];
    char module[CU_ID_MAX];
    char sha256[80];         /* b64url */
    char file[256];
    uint64_t mem_len;
} cu_ckpt_row;

int cu_store_open(const char *dir, bool no_fsync, cu_store **out, ao_error *err);
void cu_store_close(cu_store *s);
/* Insert (or replace with the same bytes) n rows in one transaction. */
int cu_store_put(cu_store *s, const char *pid, const cu_result_row *rows, size_t n,
                 ao_error *err);
/* The scheduled result of (pid, nonce); AO_ENOTFOUND if not evaluated. */
int cu_store_get_by_nonce(cu_store *s, const char *pid, int64_t nonce, ao_buf *json,
                          ao_error *err);
/* ao_sql_steps over the store's statements (tests). */
int64_t cu_store_steps(cu_store *s, const char *sql_part);
/* A page for /results or /cron (cron_only). Bounds are (ts, ordinate, cron)
 * tuples; have_* false = open. from is exclusive, to inclusive; for desc
 * from is the upper and to the lower bound. */
typedef struct cu_page_q {
    bool desc, cron_only;
    bool have_from, have_to;
    int64_t from[3], to[3];
    size_t limit;
} cu_page_q;
int cu_store_page(cu_store *s, const char *pid, const cu_page_q *q, ao_buf *body,
                  ao_error *err);
int cu_store_put_ckpt(cu_store *s, const char *pid, const cu_ckpt_row *r, ao_error *err);
/* Latest checkpoint of pid at or before timestamp `before` (INT64_MAX =
 * any); AO_ENOTFOUND if none. */
int cu_store_latest_ckpt(cu_store *s, const char *pid, int64_t before, cu_ckpt_row *r,
                         ao_error *err);

/* Cursor text (standard base64 of the JSON). */
char *cu_cursor_make(int64_t ts, int64_t ordinate, const char *cron_label, bool desc);
/* Parse a from/to value: a decimal timestamp or a cursor. For a plain
 * timestamp, tuple = (ts, fill, fill). */
int cu_cursor_parse(const char *s, int64_t fill, int64_t tuple[3], ao_error *err);

/* ---- the CU and its processes (cu.c, cu_ckpt.c) ---- */

typedef struct cu_mod {
    char id[CU_ID_MAX];
    ao_buf wasm;
    host_module *m;
    host_limits limits;
    char *env_json;          /* {"Id","Owner","Tags"} of the Module */
    uint64_t last_size;      /* memory of its latest instance (budgeting) */
    struct cu_mod *next;
} cu_mod;

typedef struct cu_proc {
    char pid[CU_ID_MAX];
    struct cu_proc *hnext, *qnext;
    /* guarded by cu.mu */
    bool queued, running;
    int64_t want_ts, served_ts;          /* evaluate up to (inclusive) */
    uint64_t want_latest, served_latest; /* requests for "everything" */
    bool want_now;                       /* also crons up to now */
    int64_t done_ts, done_nonce;         /* durable progress */
    bool done_any;
    uint64_t runs;                       /* finished runs */
    int last_rc;
    ao_error last_err;
    uint64_t lru;
    uint64_t mem_bytes;                  /* counted in cu.live_bytes */
    /* owned by whoever has running == true */
    bool loaded;
    cu_mod *mod;
    char *env_json;
    char owner[AO_ADDRESS_MAX];
    int64_t origin_ts, origin_height;
    int64_t cron_every;                  /* ms or blocks; 0 = no cron */
    bool cron_blocks;
    char *cron_interval;                 /* the tag value, for labels */
    char *cron_tags_json;                /* [{name,value}..] */
    host_process *hp;
    bool started;                        /* edge 0 evaluated */
    cu_order last;                       /* last evaluated message */
    int64_t sched_ts;                    /* timestamp of the last scheduled one */
    int64_t cron_next, cron_index;
    uint32_t since_ckpt;
    int64_t eval_ms_since_ckpt;
    bool dirty;                          /* evaluated since the checkpoint */
    bool shadow;                         /* a private replay (state/dry-run
                                            at an older message): nothing
                                            stored, not counted, not listed */
} cu_proc;

struct cu {
    cu_options opt;
    char *dir;
    crypto_wallet *wallet;
    char address[AO_ADDRESS_MAX];
    char **trusted;
    size_t ntrusted;
    cu_store *store;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    pthread_mutex_t mod_mu;
    cu_mod *mods;
    cu_proc **table;
    size_t table_size, nprocs;
    cu_proc *qhead, *qtail;
    pthread_t *workers;
    unsigned nworkers;
    bool stop;
    uint64_t lru_clock;
    uint64_t live_bytes, live_procs;
    uint64_t evictions, checkpoints, evaluated;
    pthread_mutex_t zmu;                 /* the resume buffer */
    uint8_t *zbuf;
    size_t zbuf_cap;
};

/* Write a checkpoint of p's current memory (locally; to the data layer if
 * configured). The caller owns p (running). */
int cu_ckpt_write(cu *c, cu_proc *p, ao_error *err);
/* Give p a live instance from its latest checkpoint (local, or a trusted
 * one from the data layer) at or before `before`; AO_ENOTFOUND if none. */
int cu_ckpt_resume(cu *c, cu_proc *p, int64_t before, ao_error *err);
/* The Cron-Interval value as ms or blocks. */
int cu_cron_parse(const char *s, int64_t *every, bool *blocks, ao_error *err);

#endif
