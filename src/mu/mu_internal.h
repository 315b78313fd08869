/*
 * mu_internal.h - shared between the Messenger Unit's files: the mu struct,
 * the durable job queue (queue.c), the building of pushed items from
 * results (push.c) and the workers and cron poller (worker.c).
 *
 * A job is one row of mu.db's `jobs` table. Its identity (source, kind,
 * idx, process) is UNIQUE, so inserting the same job twice is a no-op:
 *   crank    pull the result of item_id on process, queue its outbox
 *   message  post the signed bytes `raw` (target: a process) or store them
 *            in the data layer (target: a wallet)
 *   spawn    post the signed Process item `raw`
 *   spawned  post the signed Spawned notice `raw` to the parent
 *   assign   assign item_id to process (flag = base layer, arg = exclude)
 * state: 0 pending, 1 done, 2 dead (dead letter, with reason).
 */
#ifndef AO_MU_INTERNAL_H
#define AO_MU_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include <cJSON.h>

#include "mu/mu.h"

#define MU_UNIT "mu"

#define MU_ST_PENDING 0
#define MU_ST_DONE 1
#define MU_ST_DEAD 2

/* An item taken in by POST / is first stored as an "intake" job held for
 * mu_options.intake_hold_ms; the commit that queues its crank deletes it.
 * If the MU dies between the SU's answer and that commit, the intake job
 * runs after the restart: it posts the item to the SU again (the SU
 * answers the slot it gave) and cranks it, so no scheduled message goes
 * uncranked. */
#define MU_INTAKE_HOLD_MS 60000

typedef struct mu_job {
    int64_t rowid;          /* 0 for a job not yet stored */
    char *source;
    char *kind;
    int64_t idx;
    char *process;
    char *item_id;          /* pushed item id, cranked msg id or assigned tx */
    char *target;           /* message/notice target (NULL otherwise) */
    char *initial;          /* the user item the chain started from (Pushed-For) */
    char *arg;              /* assign: exclude csv; message: its Assignments tag */
    int flag;               /* assign: base layer */
    int wait;               /* waits for earlier spawns / same-target pushes of its source */
    uint8_t *raw;           /* signed bytes (message, spawn, spawned) */
    size_t raw_len;
    uint32_t attempts;
    int state;              /* for rows inserted already dead */
    char *reason;
    int64_t next_at;        /* not claimed before (ms); 0 = at once */
    bool drop_intake;       /* stored with it: the intake job of `source`
                               is deleted (kind NULL: only that) */
} mu_job;

typedef struct mu_jobs {
    mu_job *v;
    size_t n, cap;
} mu_jobs;

typedef struct mu_proc_info {
    char pid[48];
    char *module;           /* Module tag, NULL if none */
    char *scheduler;        /* Scheduler tag, NULL if none */
} mu_proc_info;

typedef struct mu_rate_entry {
    char key[96];
    uint32_t count;
} mu_rate_entry;

struct mu {
    mu_options opt;
    crypto_wallet *wallet;
    char address[AO_ADDRESS_MAX];

    pthread_mutex_t lock;       /* guards db, pending, running, stop */
    pthread_cond_t cond;        /* work arrived / a job finished / stop */
    sqlite3 *db;
    sqlite3_stmt *st_insert, *st_claim, *st_claim_all, *st_done, *st_retry, *st_dead, *st_next;
    sqlite3_stmt *st_drop_intake;
    uint64_t pending;           /* rows in state 0 */
    ao_metric *depth;           /* ao_mu_queue_depth gauge = pending */
    int sync_full;              /* current PRAGMA synchronous: 1 FULL, 0 OFF, -1 unknown */
    int64_t *running;           /* rowids being worked on */
    size_t nrunning;
    bool stop;
    int64_t stall_until;        /* mono ms: mu.db failed, claim nothing before */
    pthread_t *threads;
    size_t nthreads;
    pthread_t cron_thread;
    bool cron_started;

    /* Group commit of the cranks mu_post/mu_assign promise to clients:
     * concurrent callers share one durable commit. */
    pthread_mutex_t gc_lock;
    pthread_cond_t gc_cond;
    mu_jobs gc_queue;
    uint64_t gc_enq, gc_done;   /* sequence numbers queued / committed */
    uint64_t gc_fail_from, gc_fail_to;   /* a failed batch: (from, to] */
    ao_error gc_err;
    bool gc_busy;

    pthread_mutex_t cache_lock; /* process records */
    mu_proc_info *procs;
    size_t nprocs, capprocs;

    pthread_mutex_t rate_lock;
    int64_t rate_minute;
    mu_rate_entry *rates;
    size_t nrates, caprates;
};

/* ---- jobs (queue.c) ---- */
void mu_job_free(mu_job *j);
int mu_jobs_push(mu_jobs *js, mu_job *j);     /* takes ownership of *j's fields */
void mu_jobs_free(mu_jobs *js);
/* A crank job for (msg on pid). */
int mu_job_crank(mu_jobs *js, const char *msg, const char *pid, const char *initial);
/* The intake job of an item taken in by POST / (raw copied), held until
 * next_at; and a job that only deletes the intake job of id. */
int mu_job_intake(mu_jobs *js, const char *id, const char *pid, const char *target,
                  const uint8_t *raw, size_t len, int64_t next_at);
int mu_job_drop_intake(mu_jobs *js, const char *id);

/* Queue, all with m->lock held. */
int mu_q_open(mu *m, ao_error *err);
void mu_q_close(mu *m);
/* Durability of the next commits: FULL (fsync) for rows that must
 * survive a crash before anything acts on them (new signed pushes, a
 * crank promised to a client); OFF for outcomes whose loss only makes a
 * job run again (done marks of idempotent jobs, retries). A later FULL
 * commit makes the earlier ones durable too (one WAL, fsynced in order).
 * With no_fsync everything is OFF. */
void mu_q_durable(mu *m, bool full);
int mu_q_begin(mu *m, ao_error *err);
int mu_q_commit(mu *m, ao_error *err);
void mu_q_rollback(mu *m);
/* INSERT OR IGNORE; *added (may be NULL) += 1 if new and pending. */
int mu_q_insert(mu *m, const mu_job *j, uint64_t *added, ao_error *err);
/* Insert all in one transaction; pending count updated. */
int mu_q_insert_all(mu *m, const mu_jobs *js, ao_error *err);
/* The next ready job not running: 1 found (*out filled), 0 none (then
 * *wake = the earliest next_at of a pending job, or 0). */
int mu_q_claim(mu *m, int64_t now, mu_job *out, int64_t *wake, ao_error *err);
int mu_q_mark_done(mu *m, int64_t rowid, ao_error *err);
int mu_q_mark_retry(mu *m, int64_t rowid, uint32_t attempts, int64_t next_at,
                    const char *reason, ao_error *err);
int mu_q_mark_dead(mu *m, int64_t rowid, uint32_t attempts, const char *reason,
                   ao_error *err);
/* The Spawned notice of a dead spawn dies with it. */
int mu_q_kill_notice(mu *m, const mu_job *spawn, ao_error *err);
int mu_q_count_pending(mu *m, uint64_t *out, ao_error *err);
/* Publishes m->pending as the ao_mu_queue_depth gauge. */
void mu_q_gauge(mu *m);
int mu_q_dead_json(mu *m, ao_buf *body, ao_error *err);
int mu_q_monitor_add(mu *m, const char *pid, const uint8_t *raw, size_t len, ao_error *err);
int mu_q_monitor_del(mu *m, const char *pid, ao_error *err);
/* Monitored pids and cursors (NULL = from the start); free both lists. */
int mu_q_monitors(mu *m, char ***pids, char ***cursors, size_t *n, ao_error *err);
int mu_q_monitor_cursor(mu *m, const char *pid, const char *cursor, ao_error *err);

/* ---- pushes (push.c) ---- */
/* Process record of pid (cached): AO_ENOTFOUND when no SU schedules it. */
int mu_proc_lookup(mu *m, const char *pid, mu_proc_info *out, ao_error *err);
void mu_proc_info_free(mu_proc_info *p);
/* Jobs for the outbox of one result (cJSON object text in json/len) of
 * process pid; source names the result (the cranked item id, or a cron
 * cursor), initial is the Pushed-For value (NULL: none). */
int mu_outbox_jobs(mu *m, const char *json, size_t len, const char *source,
                   const char *pid, const char *initial, mu_jobs *out, ao_error *err);
/* The same from a parsed result (root is freed). */
int mu_outbox_jobs_json(mu *m, cJSON *root, const char *source, const char *pid,
                        const char *initial, mu_jobs *out, ao_error *err);
/* Does the work of one job (no lock held); on AO_OK `next` gets the jobs
 * to queue in the transaction that marks it done. */
int mu_job_run(mu *m, const mu_job *j, mu_jobs *next, ao_error *err);

/* ---- workers (worker.c) ---- */
int mu_workers_start(mu *m, ao_error *err);
void mu_workers_stop(mu *m);

#endif
