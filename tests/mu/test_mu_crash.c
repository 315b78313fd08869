/* test_mu_crash.c - exactly-once pushes across crashes (issue 8,
 * acceptance 4, at the MU level). A child process runs the MU over a fake
 * SU that keeps the items it accepted in an SQLite file (de-duplicated by
 * id, like the real SU, counting re-posts) and a fake CU whose results fan
 * out: the user's message asks for F1 messages, each of those for F2 more.
 * The parent SIGKILLs the child at random moments, restarts it, and after
 * the last round lets it finish; then every expected push must have been
 * accepted exactly once: one accepted item per (level, index), none
 * missing, no dead letter.
 *
 * Scenario 3: the MU dies right after the SU accepted the user's message,
 * before it queued the crank, and nobody posts it again: the restarted MU
 * still pushes its whole outbox, once.
 *
 * Scenario 1: an Ed25519 MU wallet, 40 x 50 = 2,000 pushes (+40), 20
 * kills (8 under ASan). Scenario 2: an RSA (Arweave) wallet, whose
 * signatures are randomised, so a push signed twice would reach the SU
 * under two ids and count twice: 3 + 3 x 10 pushes, 5 kills.
 *
 * The child's queue runs with no_fsync: a SIGKILL loses no page cache,
 * and SQLite is atomic against process death whatever its sync mode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "item/item.h"
#include "mu/mu.h"
#include "vectors.h"

#if defined(__SANITIZE_ADDRESS__)
#define CRASH_ASAN 1
#else
#define CRASH_ASAN 0
#endif

/* How a child runs: re-posting the user's item as a client would; dying
 * the moment the SU has accepted the user's item (before the MU could
 * queue its crank); or only resuming what the queue holds. */
enum child_mode { CHILD_POST, CHILD_DIE_AFTER_SU, CHILD_RESUME };

typedef struct crash_env {
    char dir[128];
    char P[44], Q[44], MOD[44], SCH[44];
    int f1, f2;
    enum child_mode mode;
} crash_env;

/* ---- the fake units, in the child ---- */

typedef struct crash_su {
    pthread_mutex_t lock;
    sqlite3 *db;
    const crash_env *env;
    char root[44];
} crash_su;

static const char *tagval(const item *it, const char *name, char *buf, size_t cap)
{
    const item_tag *t = item_find_tag(it, name);
    if (!t || t->value_len >= cap)
        return NULL;
    memcpy(buf, t->value, t->value_len);
    buf[t->value_len] = 0;
    return buf;
}

static int csu_post(void *ctx, const uint8_t *raw, size_t len, ao_buf *out, ao_error *err)
{
    crash_su *s = ctx;
    item it;
    int rc = item_verify(raw, len, &it, err);
    if (rc)
        return rc;
    char id[44], lv[16], n[16];
    item_id_b64(&it, id);
    int level = tagval(&it, "Level", lv, sizeof lv) ? atoi(lv) : 0;
    int idx = tagval(&it, "N", n, sizeof n) ? atoi(n) : 0;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO accepted(id,level,n,raw) VALUES(?,?,?,?)",
                       -1, &st, NULL);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, level);
    sqlite3_bind_int(st, 3, idx);
    sqlite3_bind_blob(st, 4, raw, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE && sqlite3_changes(s->db) == 0 && level > 0)
        sqlite3_exec(s->db, "UPDATE stats SET reposts=reposts+1", NULL, NULL, NULL);
    pthread_mutex_unlock(&s->lock);
    if (level == 0 && s->env->mode == CHILD_DIE_AFTER_SU)
        _exit(0);   /* as if killed right after the SU's answer */
    if (rc != SQLITE_DONE)
        return ao_err_set(err, AO_EIO, "fake SU storage failed");
    ao_buf_printf(out, "{\"timestamp\":1,\"id\":\"%s\"}", id);
    return AO_OK;
}

static int csu_assign(void *ctx, const char *pid, const char *tx, bool bl, const char *ex,
                      ao_buf *out, ao_error *err)
{
    return ao_err_set(err, AO_EINVAL, "no assignments in this test");
}

static int csu_process(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    crash_su *s = ctx;
    if (strcmp(pid, s->env->P) && strcmp(pid, s->env->Q))
        return ao_err_set(err, AO_ENOTFOUND, "Process %s not found", pid);
    ao_buf_printf(out, "{\"process_id\":\"%s\",\"tags\":[{\"name\":\"Module\",\"value\":\"%s\"},"
                       "{\"name\":\"Scheduler\",\"value\":\"%s\"}]}",
                  pid, s->env->MOD, s->env->SCH);
    return AO_OK;
}

static void fan(ao_buf *out, const char *target, int level, int base, int count)
{
    ao_buf_append_str(out, "{\"Messages\":[");
    for (int i = 0; i < count; i++)
        ao_buf_printf(out, "%s{\"Target\":\"%s\",\"Anchor\":\"%032d\",\"Tags\":[{\"name\":"
                           "\"Level\",\"value\":\"%d\"},{\"name\":\"N\",\"value\":\"%d\"}],"
                           "\"Data\":\"push %d.%d\"}",
                      i ? "," : "", target, base + i, level, base + i, level, base + i);
    ao_buf_append_str(out, "],\"Spawns\":[],\"Assignments\":[]}");
}

/* The user's message fans out F1 level-1 messages; level-1 message n fans
 * out F2 level-2 messages numbered n*F2.. ; level 2 asks for nothing. */
static int ccu_result(void *ctx, const char *msg, const char *pid, ao_buf *out, ao_error *err)
{
    crash_su *s = ctx;
    if (strcmp(msg, s->root) == 0) {
        fan(out, s->env->Q, 1, 0, s->env->f1);
        return AO_OK;
    }
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(s->db, "SELECT level,n FROM accepted WHERE id=?", -1, &st, NULL);
    sqlite3_bind_text(st, 1, msg, -1, SQLITE_STATIC);
    int level = -1, n = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        level = sqlite3_column_int(st, 0);
        n = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    if (level < 0)
        return ao_err_set(err, AO_EIO, "fake CU: %s not scheduled yet", msg);
    if (level == 1)
        fan(out, s->env->Q, 2, n * s->env->f2, s->env->f2);
    else
        ao_buf_append_str(out, "{\"Messages\":[],\"Spawns\":[],\"Assignments\":[]}");
    return AO_OK;
}

static int cdata_put(void *ctx, const uint8_t *raw, size_t len, weave_put_result *res,
                     ao_error *err)
{
    return ao_err_set(err, AO_EINVAL, "no wallet targets in this test");
}

static int child_main(const crash_env *env, bool final)
{
    ao_log_configure(AO_LOG_OFF, false);
    char path[256];
    crash_su s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    s.env = env;
    snprintf(path, sizeof path, "%s/fakesu.db", env->dir);
    if (sqlite3_open(path, &s.db) != SQLITE_OK)
        return 10;
    sqlite3_busy_timeout(s.db, 5000);
    sqlite3_exec(s.db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;", NULL, NULL, NULL);
    ao_buf root;
    ao_buf_init(&root);
    snprintf(path, sizeof path, "%s/root.bin", env->dir);
    if (ao_file_read(path, &root, NULL))
        return 11;
    item it;
    if (item_decode(root.data, root.len, &it, NULL))
        return 12;
    item_id_b64(&it, s.root);
    crypto_wallet *w;
    snprintf(path, sizeof path, "%s/mu-wallet.json", env->dir);
    if (crypto_wallet_load(path, &w, NULL))
        return 13;
    snprintf(path, sizeof path, "%s/mu", env->dir);
    mu_options o;
    memset(&o, 0, sizeof o);
    o.dir = path;
    o.wallet = w;
    o.su = (mu_su_client){ &s, csu_post, csu_assign, csu_process };
    o.cu = (mu_cu_client){ &s, ccu_result, NULL };
    o.data.put = cdata_put;
    o.workers = 4;
    o.backoff_ms = 5;
    o.backoff_max_ms = 50;
    o.no_fsync = true;
    o.intake_hold_ms = 200;
    mu *m;
    ao_error e = {0};
    if (mu_open(&o, &m, &e)) {
        fprintf(stderr, "child: mu_open: %s\n", e.msg);
        return 14;
    }
    /* Re-posting the user's item each round is what a client would do;
     * the SU answers the first slot and the crank is queued once. */
    if (env->mode != CHILD_RESUME && mu_post(m, root.data, root.len, NULL, NULL, &e)) {
        fprintf(stderr, "child: mu_post: %s\n", e.msg);
        return 15;
    }
    int rc = mu_wait_idle(m, 600000, &e) ? 16 : 0;
    if (rc == 0 && final) {
        ao_buf dl;
        ao_buf_init(&dl);
        mu_dead_letters_json(m, &dl, NULL);
        ao_buf_append_byte(&dl, 0);
        if (strcmp((char *)dl.data, "{\"deadLetters\":[]}") != 0) {
            fprintf(stderr, "child: dead letters: %.300s\n", (char *)dl.data);
            rc = 17;
        }
        ao_buf_free(&dl);
    }
    mu_close(m);
    crypto_wallet_free(w);
    ao_buf_free(&root);
    sqlite3_close(s.db);
    return rc;
}

/* ---- the parent ---- */

static void rand_id(char out[44])
{
    uint8_t b[32];
    FILE *f = fopen("/dev/urandom", "rb");
    assert_non_null(f);
    assert_int_equal(fread(b, 1, 32, f), 32);
    fclose(f);
    ao_b64url_encode_to(b, 32, out);
}

static void setup_env(crash_env *env, crypto_wallet *mu_wallet, int f1, int f2)
{
    memset(env, 0, sizeof *env);
    snprintf(env->dir, sizeof env->dir, "/tmp/ao-test-mu-crash-XXXXXX");
    assert_non_null(mkdtemp(env->dir));
    rand_id(env->P);
    rand_id(env->Q);
    rand_id(env->MOD);
    rand_id(env->SCH);
    env->f1 = f1;
    env->f2 = f2;
    char path[256];
    snprintf(path, sizeof path, "%s/mu-wallet.json", env->dir);
    assert_int_equal(crypto_wallet_save(mu_wallet, path, NULL), AO_OK);
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/fakesu.db", env->dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "PRAGMA journal_mode=WAL;"
                                  "CREATE TABLE accepted(id TEXT PRIMARY KEY, level INTEGER,"
                                  " n INTEGER, raw BLOB);"
                                  "CREATE TABLE stats(reposts INTEGER);"
                                  "INSERT INTO stats VALUES(0);", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    /* the user's message to P */
    crypto_wallet *user;
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &user, NULL), AO_OK);
    ao_buf tb, raw;
    ao_buf_init(&tb);
    ao_buf_init(&raw);
    assert_int_equal(ao_b64url_decode(env->P, 43, &tb, NULL), AO_OK);
    item_tag tags[2] = {
        { (const uint8_t *)"Data-Protocol", 13, (const uint8_t *)"ao", 2 },
        { (const uint8_t *)"Type", 4, (const uint8_t *)"Message", 7 },
    };
    item_fields fl = { .target = tb.data, .tags = tags, .ntags = 2,
                       .data = (const uint8_t *)"go", .data_len = 2 };
    assert_int_equal(item_sign(user, &fl, &raw, NULL, NULL), AO_OK);
    snprintf(path, sizeof path, "%s/root.bin", env->dir);
    assert_int_equal(ao_file_write_atomic(path, raw.data, raw.len, 0600, NULL), AO_OK);
    ao_buf_free(&tb);
    ao_buf_free(&raw);
    crypto_wallet_free(user);
}

static pid_t spawn_child(const crash_env *env, bool final)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(child_main(env, final));
    return pid;
}

static int accepted_count(const crash_env *env)
{
    char path[256];
    snprintf(path, sizeof path, "%s/fakesu.db", env->dir);
    sqlite3 *db;
    int n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 1000);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM accepted", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

/* Kills `kills` children at random moments: after 1..max_step more items
 * reached the SU, plus 0..5 ms; then runs one to the end. Returns how
 * many kills landed on a working child. */
static int crash_rounds(const crash_env *env, int kills, int max_step)
{
    int landed = 0;
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    for (int r = 0; r < kills; r++) {
        int start = accepted_count(env);
        int step = 1 + (int)(rand_r(&seed) % (unsigned)max_step);
        pid_t pid = spawn_child(env, false);
        int st;
        pid_t done = 0;
        int64_t until = ao_mono_ms() + 60000;
        while ((done = waitpid(pid, &st, WNOHANG)) == 0 && ao_mono_ms() < until &&
               accepted_count(env) < start + step)
            usleep(2000);
        if (done == 0) {
            usleep((useconds_t)(rand_r(&seed) % 5000));
            kill(pid, SIGKILL);
            assert_int_equal(waitpid(pid, &st, 0), pid);
        }
        if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
            landed++;
        else
            assert_int_equal(WEXITSTATUS(st), 0);
    }
    pid_t pid = spawn_child(env, true);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    return landed;
}

/* Every (level, n) accepted exactly once, none missing. */
static void check_exactly_once(const crash_env *env, int landed, int kills)
{
    char path[256];
    snprintf(path, sizeof path, "%s/fakesu.db", env->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT level, COUNT(*), COUNT(DISTINCT n), MIN(n), MAX(n)"
                                        " FROM accepted GROUP BY level ORDER BY level", -1, &st,
                                        NULL), SQLITE_OK);
    int want_count[3] = { 1, env->f1, env->f1 * env->f2 };
    int levels = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int level = sqlite3_column_int(st, 0);
        assert_true(level >= 0 && level <= 2);
        assert_int_equal(sqlite3_column_int(st, 1), want_count[level]);
        assert_int_equal(sqlite3_column_int(st, 2), want_count[level]);
        assert_int_equal(sqlite3_column_int(st, 3), 0);
        assert_int_equal(sqlite3_column_int(st, 4), want_count[level] - 1);
        levels++;
    }
    sqlite3_finalize(st);
    assert_int_equal(levels, env->f2 ? 3 : 2);
    int reposts = 0;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT reposts FROM stats", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        reposts = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    printf("mu crash: %d pushes exactly once; %d/%d kills landed mid-work; %d pushes "
           "re-posted after a crash, answered by the SU's de-duplication\n",
           want_count[1] + want_count[2], landed, kills, reposts);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", env->dir);
    assert_int_equal(system(cmd), 0);
}

static void crash_ed25519_fanout_2000(void **state)
{
    (void)state;
    crypto_wallet *w;
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &w, NULL), AO_OK);
    crash_env env;
    setup_env(&env, w, 40, 50);
    crypto_wallet_free(w);
    int kills = CRASH_ASAN ? 8 : 20;
    int landed = crash_rounds(&env, kills, 60);
    check_exactly_once(&env, landed, kills);
    /* most kills must have hit a child at work, or the test proves little */
    assert_true(landed * 2 >= kills);
}

/* The MU dies after the SU accepted the user's message but before the
 * crank was queued; nobody posts the message again, yet after the restart
 * its whole outbox is pushed, exactly once (the intake job). */
static void crash_between_su_answer_and_crank(void **state)
{
    (void)state;
    crypto_wallet *w;
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &w, NULL), AO_OK);
    crash_env env;
    setup_env(&env, w, 5, 4);
    crypto_wallet_free(w);
    env.mode = CHILD_DIE_AFTER_SU;
    pid_t pid = spawn_child(&env, false);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(accepted_count(&env), 1);   /* only the user's message */
    env.mode = CHILD_RESUME;
    pid = spawn_child(&env, true);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    check_exactly_once(&env, 1, 1);
}

static void crash_rsa_pushes_signed_once(void **state)
{
    (void)state;
    cJSON *V = vec_load();
    assert_non_null(V);
    const cJSON *k = vec_find(V, "keys", "rsa4096");
    assert_non_null(k);
    char *jwk = cJSON_PrintUnformatted(cJSON_GetObjectItem(k, "jwk"));
    crypto_wallet *w;
    assert_int_equal(crypto_wallet_parse(jwk, strlen(jwk), &w, NULL), AO_OK);
    free(jwk);
    cJSON_Delete(V);
    crash_env env;
    setup_env(&env, w, 3, 10);
    crypto_wallet_free(w);
    int landed = crash_rounds(&env, 5, 3);
    check_exactly_once(&env, landed, 5);
}

int main(void)
{
    ao_log_configure(AO_LOG_OFF, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crash_ed25519_fanout_2000),
        cmocka_unit_test(crash_rsa_pushes_signed_once),
        cmocka_unit_test(crash_between_su_answer_and_crank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
