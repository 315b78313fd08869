/*
 * mu.h - the Messenger Unit: takes signed messages in, routes them to the
 * target's SU, and cranks: pulls each result from the CU and pushes every
 * Message, Spawn and Assignment it asks for, then their results, until
 * nothing is left (PROTOCOL.md §3). It knows nothing of HTTP: each function
 * below is one route of the MU's HTTP face (src/net).
 *
 * Clients (in-process or HTTP, the MU cannot tell):
 *   mu_su_client   posting items and assignments to the right SU;
 *   mu_cu_client   reading results and cron results;
 *   weave_client   the data layer: messages to wallets are stored there,
 *                  process records are looked up there.
 *
 * Exactly once: the push queue is durable (DIR/mu.db, SQLite WAL,
 * synchronous=FULL). Every push has a deterministic identity (source item
 * id, kind, outbox index); the pushed item is signed once and its bytes are
 * stored in the queue before the first attempt, so a retry after a crash
 * posts the same id and the SU answers the first slot. A crash mid-crank
 * resumes at the next open. Unreachable units are retried with exponential
 * backoff; after max_attempts (or a 4xx that no retry can fix) the push
 * goes to the dead letter list with the reason, never silently dropped.
 *
 * Pushed items (MU-signed): Messages get tags as PROTOCOL.md §3 (minus
 * Data-Protocol, Type, From-Process, From-Module, Assignments; plus
 * Data-Protocol=ao, Type=Message, From-Process, From-Module, Pushed-For);
 * Spawns become Process items (Scheduler inherited when missing) followed
 * by the `Spawned` notice to the parent; Assignments become one SU assign
 * per listed process. A message whose target is not a process (no SU
 * schedules it) is stored in the data layer instead.
 *
 * Thread safety: every function may be called from any thread at once,
 * except mu_close().
 */
#ifndef AO_MU_H
#define AO_MU_H

#include "base/base.h"
#include "crypto/crypto.h"
#include "weave/weave.h"

typedef struct mu mu;   /* opaque */

/* Codes of every client op: AO_OK; AO_EIO when the unit cannot be reached
 * or answered 5xx (retried); AO_EBUSY for "in progress" (retried);
 * AO_ENOTFOUND; AO_EINVAL/AO_EVERIFY/AO_ELIMIT/... for a 4xx (not retried),
 * with the unit's reason in err. */
typedef struct mu_su_client {
    void *ctx;
    /* POST {SU}/ with a signed item. The client picks the SU: for a
     * Process, the one its Scheduler tag names; for a Message, the one
     * scheduling its target. out gets the SU's JSON {"timestamp","id"}. */
    int (*post)(void *ctx, const uint8_t *raw, size_t len, ao_buf *out, ao_error *err);
    /* POST {SU of pid}/?process-id=&assign=[&base-layer][&exclude=] */
    int (*assign)(void *ctx, const char *pid, const char *tx_id, bool base_layer,
                  const char *exclude_csv, ao_buf *out, ao_error *err);
    /* GET {SU}/processes/{pid}; AO_ENOTFOUND if no SU schedules pid. */
    int (*process)(void *ctx, const char *pid, ao_buf *out, ao_error *err);
} mu_su_client;

typedef struct mu_cu_client {
    void *ctx;
    /* GET /result/{msg}?process-id={pid}&no-busy=1 */
    int (*result)(void *ctx, const char *msg_id, const char *pid, ao_buf *out, ao_error *err);
    /* GET /cron/{pid}?from={cursor}&limit= (from NULL = start) */
    int (*cron)(void *ctx, const char *pid, const char *from, size_t limit, ao_buf *out,
                ao_error *err);
} mu_cu_client;

typedef struct mu_options {
    const char *dir;                 /* mu.db (created) */
    const crypto_wallet *wallet;     /* signs pushed items; copied */
    mu_su_client su;                 /* copied; ctx outlives the MU */
    mu_cu_client cu;
    weave_client data;
    unsigned workers;                /* crank threads; 0 = 4 */
    uint32_t max_attempts;           /* per push before dead letter; 0 = 20 */
    uint32_t backoff_ms;             /* first retry delay, doubling; 0 = 100 */
    uint32_t backoff_max_ms;         /* 0 = 30000 */
    uint32_t cron_poll_ms;           /* monitor poll interval; 0 = 10000 */
    /* Rate limits: items per minute; 0 = off (the default, as in `ao up`). */
    uint32_t rate_per_wallet;
    uint32_t rate_per_ip;
    bool no_fsync;                   /* benches only: NOT durable */
    uint32_t intake_hold_ms;         /* an item taken in by POST / whose
                                        crank was not queued (the MU died
                                        after the SU answered) is posted
                                        again and cranked after this long;
                                        0 = 60000 */
} mu_options;

/* Opens (creating) the queue and starts the workers, which resume any
 * crank a crash interrupted. */
int mu_open(const mu_options *opt, mu **out, ao_error *err);
/* Stops the workers after their current push (the queue keeps the rest). */
void mu_close(mu *m);
const char *mu_address(const mu *m);

/* POST / : verify the item (AO_EVERIFY), check Data-Protocol=ao and Type
 * Process|Message (AO_EINVAL), rate limits (AO_EDENIED, ip may be NULL),
 * store it as a held intake job, forward it to its SU (synchronously: an
 * SU refusal is returned as is), queue its crank durably (deleting the
 * intake job in the same commit), then answer {"message":"Processing DataItem",
 * "id":"<id>"} (the face answers 202). */
int mu_post(mu *m, const uint8_t *raw, size_t len, const char *ip, ao_buf *body, ao_error *err);

/* POST /?process-id=&assign=[&base-layer][&exclude=] :
 * {"message":"Processing Assignment","id":"<assignment id>"}, then cranks it. */
int mu_assign(mu *m, const char *pid, const char *tx_id, bool base_layer,
              const char *exclude_csv, ao_buf *body, ao_error *err);

/* POST /monitor/{pid} (raw: a signed item targeting pid) / DELETE: start or
 * stop pushing the outboxes of pid's cron results (durable). */
int mu_monitor(mu *m, const char *pid, const uint8_t *raw, size_t len, ao_error *err);
int mu_unmonitor(mu *m, const char *pid, ao_error *err);

/* GET /dead-letters : {"deadLetters":[{"id","source","kind","index",
 * "process","reason","attempts","time"}...]} */
int mu_dead_letters_json(mu *m, ao_buf *body, ao_error *err);

/* Queue depth: pushes not yet done (pending + in flight). */
uint64_t mu_pending(mu *m);
/* Wait until no push is pending (quiescent) or timeout_ms passes:
 * AO_OK or AO_EBUSY. For tests and `ao` tooling. */
int mu_wait_idle(mu *m, uint32_t timeout_ms, ao_error *err);

#endif
