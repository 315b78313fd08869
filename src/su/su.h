/*
 * su.h - the Scheduler Unit: decides and keeps the durable order of every
 * process's messages (PROTOCOL.md §2). It knows nothing of HTTP: each
 * function below is one route of the SU's HTTP face (src/net) and writes
 * the exact JSON body the real SU answers; errors are AO_E* codes with the
 * reason in err (the face maps them to 4xx/5xx {"error": reason}).
 *
 * Storage:
 *   DIR/su.db   SQLite (WAL, synchronous=FULL): one row per assignment
 *               (process, nonce, timestamp, block height, hash chain,
 *               message id, assignment id) and the process records. It also
 *               holds the raw bytes of items not yet confirmed stored in the
 *               data layer, so that a crash between the two commits is
 *               repaired at the next open (re-uploaded, idempotently).
 *   data layer  the message/process item and its signed Assignment item
 *               (PROTOCOL.md §2.3 tag order), both stored before the answer.
 *
 * Durability: su_post_item / su_assign return AO_OK only once the
 * assignment row is committed (fsync) AND both items are durable in the
 * data layer. Many concurrent callers share commits (a writer thread batches
 * them: group commit). An acknowledged slot is never lost or reused after a
 * crash; an unacknowledged one is either fully present or absent.
 *
 * Order: one process's assignments are strictly serial (per-process lock:
 * nonce, timestamp, hash chain and signature are made under it, and rows
 * are committed in nonce order); different processes proceed in parallel.
 * Nonce 0 is the process itself; then +1 per message or assignment.
 * Timestamps (ms) strictly increase per process: max(now, last + 1), so
 * timestamp cursors with an exclusive `from` never skip a message.
 * Block-Height is the weave's last sealed height, a 12-digit string in
 * tags and JSON (cached, refreshed at most every second). Epoch is 0. Hash-Chain as PROTOCOL.md §2.3.
 *
 * Thread safety: every function may be called from any thread at once,
 * except su_close().
 */
#ifndef AO_SU_H
#define AO_SU_H

#include "base/base.h"
#include "crypto/crypto.h"

#include "weave/weave.h"

typedef struct su su;   /* opaque */

typedef struct su_options {
    const char *dir;                 /* su.db lives here (created) */
    const weave_client *data;        /* the data layer (required; copied;
                                        its ctx outlives the SU): items and
                                        assignments are put there, block
                                        height comes from its get_info */
    const crypto_wallet *wallet;     /* signs assignments and the location
                                        record; copied; its address names
                                        this SU (a Process's Scheduler tag) */
    const char *url;                 /* public base URL, published in the
                                        Scheduler-Location record at open;
                                        NULL = publish nothing */
    uint64_t location_ttl_ms;        /* Time-To-Live; 0 = 86400000 */
    size_t max_batch;                /* assignments per commit; 0 = 1024 */
    bool no_fsync;                   /* benches only: NOT durable */
    /* Clock for tests (ms since epoch); NULL = wall clock. */
    int64_t (*now_ms)(void *ctx);
    void *clock_ctx;
} su_options;

int su_open(const su_options *opt, su **out, ao_error *err);
/* Finishes the commits in flight, stops the writer, frees. NULL is fine. */
void su_close(su *s);
/* The SU wallet's address (43 chars). */
const char *su_address(const su *s);

/* What POST / answers, plus the slot, for in-process callers. */
typedef struct su_ack {
    char id[44];            /* the message / process id (the tx id for assign) */
    char assignment[44];    /* the Assignment item's id */
    char process[44];       /* the process it was scheduled on */
    int64_t timestamp;      /* ms */
    uint64_t nonce;
    bool duplicate;         /* already scheduled: the earlier slot is returned */
} su_ack;

/* POST / : a signed Process or Message item. Verifies the signature,
 * checks Data-Protocol=ao and Type (Process|Message; the first Type tag
 * wins), refuses any tag name or value ending in "+link", a Process
 * without Module or whose Scheduler tag is not this SU, a Message whose
 * target is not a process of this SU (AO_ENOTFOUND), a Message without a
 * target. A Message carrying From-Process (pushed by an MU) is also
 * de-duplicated by its deep hash. The same id twice answers the first slot
 * (duplicate = true). body (may be NULL) gets {"timestamp":<ms>,"id":".."}.
 * Codes: AO_EVERIFY, AO_EFORMAT, AO_EINVAL (bad tags), AO_ENOTFOUND,
 * AO_ELIMIT, AO_EIO (storage). */
int su_post_item(su *s, const uint8_t *raw, size_t len, su_ack *ack, ao_buf *body,
                 ao_error *err);

/* POST /?process-id=P&assign=TX[&base-layer][&exclude=a,b] : assign an
 * existing transaction (found in the data layer) to process P. The Assignment
 * carries Message=TX and one Exclude tag per csv value. The same (P, TX)
 * twice answers the first slot. base_layer: TX must be an L1 transaction
 * in a sealed block (for now: any stored item in a sealed block).
 * body gets {"timestamp":<ms>,"id":"<assignment id>"}. */
int su_assign(su *s, const char *process_id, const char *tx_id, bool base_layer,
              const char *exclude_csv, su_ack *ack, ao_buf *body, ao_error *err);

/* GET / : {"timestamp":"<ms>","address":"<wallet address>"} */
int su_info_json(su *s, ao_buf *body, ao_error *err);

/* GET /timestamp[?process-id=] : {"timestamp":"<ms>","block_height":"<12 digits>"} */
int su_timestamp_json(su *s, const char *process_id, ao_buf *body, ao_error *err);

/* Query of GET /{id}. Strings are the raw query values (NULL = absent);
 * the SU validates them (AO_EINVAL "invalid from ..." for nonsense). */
typedef struct su_query {
    const char *process_id;
    const char *from;        /* timestamp, exclusive */
    const char *to;          /* timestamp, inclusive */
    const char *limit;       /* default 100, max 1000 (larger is capped) */
    const char *from_nonce;  /* nonce mode: -1 includes the process */
    const char *to_nonce;
    bool show_anchor;
} su_query;

/* GET /{id} : if id is a process, one schedule page (PROTOCOL.md §2.2,
 * process as edge 0 on the first page, cursors = timestamps, or nonces in
 * nonce mode); if id is a scheduled message or assigned tx (of
 * q->process_id when given), its node {"message":..,"assignment":..};
 * else AO_ENOTFOUND "Message or Process not found". q may be NULL. */
int su_get_json(su *s, const char *id, const su_query *q, ao_buf *body, ao_error *err);

/* GET /processes/{pid} : the process record (PROTOCOL.md §2.2). */
int su_process_json(su *s, const char *process_id, ao_buf *body, ao_error *err);

/* GET /{pid}/latest : the newest node {"message":..,"assignment":..}. */
int su_latest_json(su *s, const char *process_id, ao_buf *body, ao_error *err);

/* AO_OK if this SU schedules process_id, AO_ENOTFOUND if not. */
int su_has_process(su *s, const char *process_id, ao_error *err);

/* ---- su_log: the read routes rebuilt from the data layer alone ----
 * For a Compute Unit that lost the SU, or never had it (a "holographic"
 * rebuild from Arweave): the schedule of a process is read back from the
 * signed Assignment items in the data layer, and each route below writes
 * byte for byte the body the SU's function of the same role writes for the
 * same stored items, with the same codes and reasons.
 *
 * A process is the item `pid` (data.get); its Scheduler tag names the SU's
 * wallet address, and only Assignment items OWNED by that address count
 * (anyone can put an item with Type=Assignment in the weave; foreign ones
 * are ignored). They are found with data.query_transactions (Type=
 * Assignment, Process=pid, owners=[scheduler], oldest first, tags only) and
 * ordered by their Nonce tag. Per process a cache keeps the verified slots
 * and the cursor of the last row seen: every call refreshes it, asking only
 * for rows after that cursor.
 *
 * Checks, each an AO_EFORMAT with the reason rather than wrong data (and
 * kept: the data layer is permanent, so every later call for that process
 * answers the same error): two assignments with one nonce ("equivocation"),
 * a Hash-Chain that is not the SU's (PROTOCOL.md §2.3, from nonce 0 on), a
 * timestamp lower than the previous one, a message scheduled twice, a
 * malformed tag, an item whose bytes are not the ones asked for. A missing
 * nonce is not an error: only the contiguous prefix from nonce 0 is served
 * (the rest is not there yet) and the later slots wait in the cache until
 * the gap is filled. Items read for a node must be the ids asked for; an
 * Assignment item must be owned by the scheduler with the cached slot's
 * tags, and its signature is verified (once per slot); else that read
 * fails (AO_EFORMAT; AO_EVERIFY for a bad signature).
 *
 * The kind of a slot is not written in the Assignment item: nonce 0 is the
 * process; a slot with an Exclude tag is an assigned transaction; any other
 * is shown as a message ("message":{...}) if its item is one the SU's
 * POST / would have scheduled on this process (Data-Protocol=ao,
 * Type=Message, target = the process, no +link tag), else as an assigned
 * transaction ("message":null). Only a Message item targeting the process
 * that was put in the data layer directly and then assigned (su_assign
 * without exclude) reads differently from the SU (as a message).
 *
 * Thread safety: every function may be called from any thread at once,
 * except su_log_close(). */
typedef struct su_log su_log;   /* opaque */

/* Reads schedules from the data layer `data` (copied; its ctx outlives the
 * su_log). It needs get and query_transactions (AO_EINVAL otherwise);
 * get_meta is used when present. */
int su_log_open(const weave_client *data, su_log **out, ao_error *err);
/* Frees the caches. NULL is fine. */
void su_log_close(su_log *l);
/* = su_process_json: the record of pid, with the block height and
 * timestamp of its nonce-0 assignment. AO_ENOTFOUND "Process not found". */
int su_log_process_json(su_log *l, const char *pid, ao_buf *body, ao_error *err);
/* = su_get_json: a schedule page of a process id (same query rules and
 * AO_EINVAL reasons), or the node of a message / assigned tx of
 * q->process_id; without process_id the processes already in the cache are
 * searched. Else AO_ENOTFOUND "Message or Process not found". */
int su_log_get_json(su_log *l, const char *id, const su_query *q, ao_buf *body, ao_error *err);
/* = su_latest_json: the node of the newest slot of the served prefix. */
int su_log_latest_json(su_log *l, const char *pid, ao_buf *body, ao_error *err);
/* {"timestamp":"<ms of the last slot of pid, or 0>","block_height":
 * "<12 digits: the Block-Height of that slot, or 0>"}; an unknown (or
 * NULL) pid answers 0 and 000000000000. */
int su_log_timestamp_json(su_log *l, const char *pid, ao_buf *body, ao_error *err);

#endif
