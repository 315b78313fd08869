/*
 * cu.h - the Compute Unit: turns a process's schedule into results by
 * running its module (src/host on src/wasm), so that anyone replaying the
 * same log gets the same bytes (PROTOCOL.md §4). It knows nothing of HTTP:
 * each function below is one route of the CU's HTTP face (src/net) and
 * writes the exact JSON body the real CU answers.
 *
 * Inputs, through client tables (in-process or HTTP, the CU cannot tell):
 *   cu_su_client  the SU's read routes, bodies as PROTOCOL.md §2.2;
 *   weave_client  the data layer: module bytes and tags, assigned
 *                 transactions, blocks (cron), checkpoint items.
 *
 * Evaluation: a process is loaded from its SU record and its Module item
 * (Module-Format, Memory-Limit, Compute-Limit, Input/Output-Encoding;
 * unsupported formats or limits above the CU maximum are refused with the
 * reason, AO_EUNSUPPORTED / AO_ELIMIT). A module is decoded once and shared
 * by every process that uses it. The schedule is evaluated in order from
 * the latest checkpoint; msg and env are built exactly as PROTOCOL.md §4.3;
 * Cron messages are generated between scheduled ones per Cron-Interval.
 * On Error, memory rolls back to before the message (host.h).
 *
 * Storage: DIR/cu.db (SQLite, WAL): results per message (the result JSON
 * without Memory, GasUsed, and the evaluation's ordering keys: timestamp,
 * ordinate = nonce, cron index), checkpoint index; DIR/checkpoints/ the
 * memory snapshots. Results are durable (fsync'd, group commit) before a
 * route answers them. The CU may lose anything: it rebuilds from
 * checkpoints and the log.
 *
 * Checkpoints: after checkpoint_every messages or checkpoint_ms of
 * evaluation, and on eviction; kept locally and put in the data layer as
 * a signed data item (tags Data-Protocol=ao, Type=Checkpoint, Process,
 * Module, Nonce, Timestamp, Epoch, Block-Height, Hash-Chain, SHA-256 of
 * the memory). Foreign checkpoints are used only from owners in
 * trusted_owners (default: this CU's own wallet). Resuming from a
 * checkpoint and replaying from genesis give identical results and memory.
 *
 * Memory: live instances are kept under memory_budget bytes; idle ones are
 * checkpointed and evicted (LRU). Parallel: processes evaluate on a pool
 * of `threads` workers; one process is never evaluated by two at once.
 *
 * Thread safety: every function may be called from any thread at once,
 * except cu_close().
 */
#ifndef AO_CU_H
#define AO_CU_H

#include "base/base.h"
#include "crypto/crypto.h"
#include "weave/weave.h"

typedef struct cu cu;   /* opaque */

/* The SU routes the CU reads. Each writes the SU's JSON body into out and
 * returns AO_OK; AO_ENOTFOUND for an unknown process/message; AO_EIO when
 * the SU cannot be reached. The client finds the right SU for pid itself
 * (Scheduler tag -> Scheduler-Location when there are many). */
typedef struct cu_su_client {
    void *ctx;
    /* GET /processes/{pid} */
    int (*process)(void *ctx, const char *pid, ao_buf *out, ao_error *err);
    /* GET /{pid}?process-id={pid}&from=&to=&limit= (from exclusive, to
     * inclusive, timestamps as decimal strings; NULL = open) */
    int (*schedule)(void *ctx, const char *pid, const char *from, const char *to,
                    size_t limit, ao_buf *out, ao_error *err);
    /* GET /{msg}?process-id={pid} */
    int (*message)(void *ctx, const char *pid, const char *msg_id, ao_buf *out, ao_error *err);
    /* GET /{pid}/latest */
    int (*latest)(void *ctx, const char *pid, ao_buf *out, ao_error *err);
    /* GET /timestamp?process-id={pid} */
    int (*timestamp)(void *ctx, const char *pid, ao_buf *out, ao_error *err);
} cu_su_client;

typedef struct cu_options {
    const char *dir;                 /* cu.db and checkpoints/ (created) */
    const crypto_wallet *wallet;     /* signs checkpoint items; copied */
    cu_su_client su;                 /* copied; ctx outlives the CU */
    weave_client data;               /* copied; ctx outlives the CU */
    unsigned threads;                /* evaluation workers; 0 = cores */
    uint64_t memory_budget;          /* bytes of live instance memory;
                                        0 = 2 GiB */
    uint32_t checkpoint_every;       /* messages; 0 = 1000 */
    uint32_t checkpoint_ms;          /* ms of evaluation; 0 = 60000 */
    bool checkpoint_to_data;         /* also put checkpoints in the data
                                        layer (default false: local only) */
    const char *const *trusted_owners;   /* checkpoint owners trusted
                                            besides this CU; may be NULL */
    size_t ntrusted_owners;
    uint64_t max_memory_limit;       /* 0 = 1 GiB (the real CU's default) */
    uint64_t max_compute_limit;      /* 0 = 9e12 */
    uint32_t busy_ms;                /* /result waits this long, then
                                        answers AO_EBUSY; 0 = 10000 */
    bool no_fsync;                   /* benches only: NOT durable */
} cu_options;

int cu_open(const cu_options *opt, cu **out, ao_error *err);
/* Finishes evaluations in flight, checkpoints live processes, frees. */
void cu_close(cu *c);
const char *cu_address(const cu *c);

/* GET / : {"address":"..","timestamp":<ms>} */
int cu_info_json(cu *c, ao_buf *body, ao_error *err);

/* GET /result/{msg}?process-id=P[&no-busy=1] : evaluates P up to msg (from
 * the SU: its Timestamp/Nonce; msg == P is the process's own first
 * message) and writes the result JSON (PROTOCOL.md §4.2, no Memory).
 * Waits up to busy_ms unless no_busy; then AO_EBUSY with body
 * {"message":"Evaluation of process P is in progress."} (the face answers
 * 202 with it). AO_ENOTFOUND if the SU knows no such message. */
int cu_result(cu *c, const char *msg_id, const char *pid, bool no_busy, ao_buf *body,
              ao_error *err);

/* GET /results/{pid}?from=&to=&sort=ASC|DESC&limit= : results already
 * evaluated, {"pageInfo":{"hasNextPage":b},"edges":[{"cursor":C,"node":R}]}
 * where C is base64 of {"timestamp","ordinate","cron","sort"}; from/to take
 * a cursor or a timestamp; limit default 25, max 1000. Strings are raw
 * query values (NULL = absent); nonsense gives AO_EINVAL. */
int cu_results(cu *c, const char *pid, const char *from, const char *to, const char *sort,
               const char *limit, ao_buf *body, ao_error *err);

/* POST /dry-run?process-id=P[&to=msg] : msg_json is the request body
 * ({Id,Owner,Target,Data,Tags,Anchor,...}); evaluated on a copy of the
 * latest state (or the state at `to`), never persisted; Read-Only true,
 * From = From-Process tag or Owner. Writes the result JSON. */
int cu_dry_run(cu *c, const char *pid, const char *to, const char *msg_json, size_t len,
               ao_buf *body, ao_error *err);

typedef struct cu_state_meta {
    int64_t timestamp;       /* of the last message evaluated */
    int64_t ordinate;        /* its nonce */
    int64_t block_height;
} cu_state_meta;

/* GET /state/{pid}?to= : the process's linear memory after its latest
 * evaluated message (or the one at timestamp `to`), and its meta (the face
 * sends Last-Timestamp, Last-Ordinate, Last-Block-Height headers). */
int cu_state(cu *c, const char *pid, const char *to, ao_buf *memory, cu_state_meta *meta,
             ao_error *err);

/* GET /cron/{pid}?from=&to=&limit= : results of cron messages, the same
 * connection shape as cu_results (limit default 500, max 1000). Evaluates
 * due crons up to now first. */
int cu_cron(cu *c, const char *pid, const char *from, const char *to, const char *limit,
            ao_buf *body, ao_error *err);

/* Checkpoint every live process now (tests, shutdown). */
int cu_checkpoint_all(cu *c, ao_error *err);

typedef struct cu_stats {
    uint64_t live_processes;
    uint64_t live_bytes;         /* instance memory held now */
    uint64_t evictions;
    uint64_t checkpoints;
    uint64_t messages_evaluated;
} cu_stats;
void cu_get_stats(cu *c, cu_stats *out);

#endif
