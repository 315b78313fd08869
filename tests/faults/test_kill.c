/* test_kill.c - the fault harness: runs `ao up` as a child process, drives
 * a workload through the MU over HTTP (Evals to process A that each Send
 * one message to process B), and at a random moment of each round SIGKILLs
 * the node (some rounds first SIGSTOP it for a while, then SIGCONT), then
 * restarts it on the same data folder. Afterwards it checks:
 *   - no acknowledged message lost: every id the MU answered 202 is in
 *     A's SU schedule;
 *   - no slot reused: A's nonces are 0..n-1, ids unique, the Hash-Chain
 *     valid link by link (PROTOCOL.md §2.3);
 *   - no push duplicated and none lost: B's schedule holds exactly one
 *     message Pushed-For each message of A's schedule;
 *   - every result equal to a fault-free run: a fresh CU (in this process,
 *     reading the node's SU and gateway over HTTP) recomputes A's results
 *     and they equal the node's, message by message.
 * A post that got no 202 is retried with the same bytes after the restart,
 * as a client does (the SU answers a replay with its first slot).
 * FAULT_ROUNDS (default 3) sets the number of kill rounds; FAULT_SEED the
 * random seed (default: the time, printed). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "../node/node_test_util.h"
#include "cu/cu.h"
#include "net/net.h"

static char g_ao[512];
static pid_t g_child = -1;
static char g_pid_a[44], g_pid_b[44];

/* acknowledged ids of messages to A */
static char (*g_acked)[44];
static size_t g_nacked, g_capacked;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static void add_acked(const char *id)
{
    pthread_mutex_lock(&g_mu);
    if (g_nacked == g_capacked) {
        g_capacked = g_capacked ? g_capacked * 2 : 256;
        g_acked = realloc(g_acked, g_capacked * sizeof *g_acked);
    }
    snprintf(g_acked[g_nacked++], 44, "%s", id);
    pthread_mutex_unlock(&g_mu);
}

static bool read_node_json(pid_t want)
{
    char path[512];
    snprintf(path, sizeof path, "%s/node.json", g_dir);
    ao_buf b;
    ao_buf_init(&b);
    if (ao_file_read(path, &b, NULL) != AO_OK) { ao_buf_free(&b); return false; }
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    ao_buf_free(&b);
    if (!j) return false;
    const cJSON *p = cJSON_GetObjectItem(j, "pid");
    bool ok = cJSON_IsNumber(p) && (pid_t)p->valuedouble == want && jstr(j, "mu") && jstr(j, "su") &&
              jstr(j, "cu") && jstr(j, "gateway") && jstr(j, "aosModule") && jstr(j, "suAddress") &&
              jstr(j, "muAddress");
    if (ok) {
        snprintf(g_info.gateway_url, sizeof g_info.gateway_url, "%s", jstr(j, "gateway"));
        snprintf(g_info.su_url, sizeof g_info.su_url, "%s", jstr(j, "su"));
        snprintf(g_info.cu_url, sizeof g_info.cu_url, "%s", jstr(j, "cu"));
        snprintf(g_info.mu_url, sizeof g_info.mu_url, "%s", jstr(j, "mu"));
        snprintf(g_info.su_address, sizeof g_info.su_address, "%s", jstr(j, "suAddress"));
        snprintf(g_info.mu_address, sizeof g_info.mu_address, "%s", jstr(j, "muAddress"));
        snprintf(g_info.aos_module, sizeof g_info.aos_module, "%s", jstr(j, "aosModule"));
    }
    cJSON_Delete(j);
    return ok;
}

static void node_up(void)
{
    char log[512];
    snprintf(log, sizeof log, "%s/up.log", g_dir);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
        execl(g_ao, g_ao, "up", "--data", g_dir, "--any-ports", (char *)NULL);
        _exit(127);
    }
    g_child = c;
    for (int i = 0; i < 600; i++) {
        if (read_node_json(c)) {
            ao_buf b;
            ao_buf_init(&b);
            char url[256];
            snprintf(url, sizeof url, "%s/", g_info.mu_url);
            long st = http("GET", url, NULL, 0, NULL, &b);
            ao_buf_free(&b);
            if (st == 200) return;
        }
        int status;
        if (waitpid(c, &status, WNOHANG) == c) fail_msg("ao up exited (see %s)", log);
        usleep(50 * 1000);
    }
    fail_msg("ao up did not come up (see %s)", log);
}

static void node_kill(void)
{
    if (g_child <= 0) return;
    kill(g_child, SIGCONT);
    kill(g_child, SIGKILL);
    int status;
    waitpid(g_child, &status, 0);
    g_child = -1;
}

/* POST an item to the MU; true when it answered 202 with the id. */
static bool try_post_mu(const ao_buf *raw, const char *id)
{
    char url[256];
    snprintf(url, sizeof url, "%s/", g_info.mu_url);
    ao_buf b;
    ao_buf_init(&b);
    long st = http("POST", url, raw->data, raw->len, "application/octet-stream", &b);
    cJSON *j = st == 202 ? cJSON_ParseWithLength((const char *)b.data, b.len) : NULL;
    bool ok = j && jstr(j, "id") && strcmp(jstr(j, "id"), id) == 0;
    cJSON_Delete(j);
    ao_buf_free(&b);
    return ok;
}

static volatile bool g_stop;

/* posts that got no 202 (the node died under them): a client retries the
 * same item until it is acknowledged; the SU gives a replay its first slot */
typedef struct unacked { ao_buf raw; char id[44]; } unacked;
static unacked *g_unacked;
static size_t g_nunacked, g_capunacked, g_retried;

static void add_unacked(ao_buf *raw, const char *id)
{
    pthread_mutex_lock(&g_mu);
    if (g_nunacked == g_capunacked) {
        g_capunacked = g_capunacked ? g_capunacked * 2 : 16;
        g_unacked = realloc(g_unacked, g_capunacked * sizeof *g_unacked);
    }
    g_unacked[g_nunacked].raw = *raw;
    ao_buf_init(raw);
    snprintf(g_unacked[g_nunacked++].id, 44, "%s", id);
    pthread_mutex_unlock(&g_mu);
}

static void retry_unacked(void)
{
    for (size_t i = 0; i < g_nunacked; i++) {
        int tries = 0;
        while (!try_post_mu(&g_unacked[i].raw, g_unacked[i].id)) {
            if (++tries > 100) fail_msg("the MU never acknowledged %s", g_unacked[i].id);
            usleep(100 * 1000);
        }
        add_acked(g_unacked[i].id);
        ao_buf_free(&g_unacked[i].raw);
        g_retried++;
    }
    g_nunacked = 0;
}

static void *workload(void *arg)
{
    (void)arg;
    char code[160];
    static unsigned long counter;
    while (!g_stop) {
        snprintf(code, sizeof code, "N = (N or 0) + 1; Send({Target = '%s', Action = 'Note', Data = tostring(N)}); "
                 "return N", g_pid_b);
        const char *kv[] = {"Data-Protocol=ao", "Variant=ao.TN.1", "Type=Message", "Action=Eval"};
        ao_buf raw;
        char id[44];
        sign_item(kv, 4, g_pid_a, code, &raw, id);
        if (try_post_mu(&raw, id)) add_acked(id);
        else {
            add_unacked(&raw, id);
            usleep(100 * 1000);   /* the node is down: no busy loop */
        }
        ao_buf_free(&raw);
        counter++;
    }
    return NULL;
}

/* ---- the schedule as the SU serves it ---- */

typedef struct sched_entry {
    char id[44], assignment[44], hash_chain[48], pushed_for[44];
    long long nonce;
} sched_entry;

static size_t fetch_schedule(const char *pid, sched_entry **out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    char from[64] = "";
    for (;;) {
        char url[512];
        snprintf(url, sizeof url, "%s/%s?process-id=%s&limit=1000%s%s", g_info.su_url, pid, pid,
                 from[0] ? "&from=" : "", from);
        long st;
        cJSON *j = http_json("GET", url, NULL, 0, NULL, &st);
        assert_int_equal(st, 200);
        const cJSON *edges = cJSON_GetObjectItem(j, "edges"), *e;
        cJSON_ArrayForEach(e, edges) {
            const cJSON *node = cJSON_GetObjectItem(e, "node");
            const cJSON *a = cJSON_GetObjectItem(node, "assignment");
            const cJSON *m = cJSON_GetObjectItem(node, "message");
            const cJSON *at = cJSON_GetObjectItem(a, "tags");
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                *out = realloc(*out, cap * sizeof **out);
            }
            sched_entry *s = &(*out)[n++];
            memset(s, 0, sizeof *s);
            const char *msg = tag_value(at, "Message");
            snprintf(s->id, sizeof s->id, "%s", msg ? msg : pid);
            const char *aid = jstr(a, "id"), *hc = tag_value(at, "Hash-Chain"), *nn = tag_value(at, "Nonce");
            assert_non_null(aid);
            assert_non_null(hc);
            assert_non_null(nn);
            snprintf(s->assignment, sizeof s->assignment, "%s", aid);
            snprintf(s->hash_chain, sizeof s->hash_chain, "%s", hc);
            s->nonce = atoll(nn);
            const char *pf = m ? tag_value(cJSON_GetObjectItem(m, "tags"), "Pushed-For") : NULL;
            if (pf) snprintf(s->pushed_for, sizeof s->pushed_for, "%s", pf);
            snprintf(from, sizeof from, "%s", jstr(e, "cursor") ? jstr(e, "cursor") : "");
        }
        const cJSON *pi = cJSON_GetObjectItem(j, "page_info");
        bool more = cJSON_IsTrue(cJSON_GetObjectItem(pi, "has_next_page"));
        cJSON_Delete(j);
        if (!more) break;
    }
    return n;
}

static void b64d(const char *s, ao_buf *out)
{
    ao_buf_init(out);
    assert_int_equal(ao_b64url_decode(s, strlen(s), out, NULL), AO_OK);
}

/* nonces 0..n-1, ids unique, Hash-Chain valid link by link */
static void check_schedule(const char *pid, const sched_entry *s, size_t n)
{
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        if (s[i].nonce != (long long)i) fail_msg("%s: slot %zu has nonce %lld", pid, i, s[i].nonce);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(s[k].id, s[i].id)) fail_msg("%s: message %s scheduled twice (%zu, %zu)", pid, s[i].id, k, i);
        uint8_t h[32];
        ao_buf in, x;
        if (i == 0) {
            b64d(pid, &in);
        } else {
            b64d(s[i - 1].assignment, &in);
            b64d(s[i - 1].hash_chain, &x);
            ao_buf_append(&in, x.data, x.len);
            ao_buf_free(&x);
        }
        crypto_sha256(in.data, in.len, h);
        ao_buf_free(&in);
        char want[48];
        ao_b64url_encode_to(h, 32, want);
        if (strcmp(want, s[i].hash_chain)) fail_msg("%s: Hash-Chain broken at nonce %zu", pid, i);
    }
}

/* ---- the fresh CU over the node's SU and gateway ---- */

/* All results of pid, paged (1000 at most per page), as one array of
 * nodes; page(ctx, from, body) fetches one page. */
typedef int (*page_fn)(void *ctx, const char *from, ao_buf *body);

static cJSON *all_results(page_fn page, void *ctx)
{
    cJSON *all = cJSON_CreateArray();
    char from[512] = "";
    for (;;) {
        ao_buf b;
        ao_buf_init(&b);
        assert_int_equal(page(ctx, from[0] ? from : NULL, &b), 0);
        cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
        ao_buf_free(&b);
        assert_non_null(j);
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(j, "edges")) {
            cJSON_AddItemToArray(all, cJSON_Duplicate(cJSON_GetObjectItem(e, "node"), 1));
            snprintf(from, sizeof from, "%s", jstr(e, "cursor") ? jstr(e, "cursor") : "");
        }
        bool more = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "pageInfo"), "hasNextPage"));
        cJSON_Delete(j);
        if (!more) break;
    }
    return all;
}

static int node_page(void *ctx, const char *from, ao_buf *body)
{
    (void)ctx;
    char url[1024];
    snprintf(url, sizeof url, "%s/results/%s?sort=ASC&limit=1000%s%s", g_info.cu_url, g_pid_a,
             from ? "&from=" : "", from ? from : "");
    long st = http("GET", url, NULL, 0, NULL, body);
    return st == 200 ? 0 : -1;
}

static int fresh_page(void *ctx, const char *from, ao_buf *body)
{
    return cu_results(ctx, g_pid_a, from, NULL, "ASC", "1000", body, NULL) == AO_OK ? 0 : -1;
}

static void compare_with_fresh_cu(const char *last_msg, size_t nmsgs)
{
    /* make the node's CU evaluate everything */
    cJSON *r = result_of(last_msg, g_pid_a);
    cJSON_Delete(r);
    weave_client data;
    cu_su_client su;
    ao_error err = {0};
    assert_int_equal(net_weave_client_http(g_info.gateway_url, &data, &err), AO_OK);
    assert_int_equal(net_cu_su_client_http(&data, g_info.su_url, &su, &err), AO_OK);
    crypto_wallet *w;
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &w, NULL), AO_OK);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/fresh-cu", g_dir);
    cu_options co = {0};
    co.dir = dir;
    co.wallet = w;
    co.su = su;
    co.data = data;
    co.threads = 1;
    co.no_fsync = true;
    cu *c;
    int rc = cu_open(&co, &c, &err);
    if (rc) fail_msg("cu_open: %s", err.msg);
    ao_buf b;
    ao_buf_init(&b);
    rc = cu_result(c, last_msg, g_pid_a, true, &b, &err);
    if (rc) fail_msg("fresh cu_result: %s", err.msg);
    ao_buf_free(&b);
    cJSON *fe = all_results(fresh_page, c), *ne = all_results(node_page, NULL);
    int nf = cJSON_GetArraySize(fe), nn = cJSON_GetArraySize(ne);
    fprintf(stderr, "[faults] results: node CU %d, fresh CU %d, schedule %zu\n", nn, nf, nmsgs);
    assert_int_equal(nf, (int)nmsgs);
    assert_int_equal(nn, nf);
    for (int i = 0; i < nf; i++) {
        char *sa = cJSON_PrintUnformatted(cJSON_GetArrayItem(fe, i));
        char *sb = cJSON_PrintUnformatted(cJSON_GetArrayItem(ne, i));
        if (strcmp(sa, sb)) fail_msg("result %d differs:\nfresh %.400s\nnode  %.400s", i, sa, sb);
        free(sa);
        free(sb);
    }
    cJSON_Delete(fe);
    cJSON_Delete(ne);
    cu_close(c);
    crypto_wallet_free(w);
    net_cu_su_client_free(&su);
    net_weave_client_free(&data);
}

static void kill_rounds_lose_nothing(void **state)
{
    (void)state;
    const char *rs = getenv("FAULT_ROUNDS");
    int rounds = rs ? atoi(rs) : 3;
    const char *ss = getenv("FAULT_SEED");
    unsigned seed = ss ? (unsigned)atoi(ss) : (unsigned)ao_now_ms();
    fprintf(stderr, "[faults] %d rounds, seed %u\n", rounds, seed);
    srand(seed);
    node_up();
    spawn_process("fault-a", g_pid_a);
    spawn_process("fault-b", g_pid_b);
    int kills = 0, stops = 0;
    for (int r = 0; r < rounds; r++) {
        if (g_child < 0) node_up();
        retry_unacked();
        g_stop = false;
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, workload, NULL), 0);
        usleep((useconds_t)(50 + rand() % 1200) * 1000);
        if (rand() % 3 == 0) {
            kill(g_child, SIGSTOP);
            stops++;
            usleep((useconds_t)(200 + rand() % 800) * 1000);
            kill(g_child, SIGCONT);
            usleep((useconds_t)(rand() % 400) * 1000);
        }
        node_kill();
        kills++;
        g_stop = true;
        pthread_join(t, NULL);
    }
    node_up();
    retry_unacked();
    fprintf(stderr, "[faults] %d kills (%d after a SIGSTOP), %zu messages acknowledged (%zu after a retry)\n",
            kills, stops, g_nacked, g_retried);
    /* every acknowledged message reaches A's schedule (the MU may still be
     * forwarding what it queued before a kill) */
    sched_entry *sa = NULL;
    size_t na = 0, missing = 0;
    for (int tries = 0; tries < 300; tries++) {
        free(sa);
        na = fetch_schedule(g_pid_a, &sa);
        missing = 0;
        for (size_t i = 0; i < g_nacked; i++) {
            bool found = false;
            for (size_t k = 0; k < na && !found; k++) found = !strcmp(sa[k].id, g_acked[i]);
            if (!found) missing++;
        }
        if (!missing) break;
        usleep(200 * 1000);
    }
    fprintf(stderr, "[faults] A: %zu slots, %zu acknowledged missing\n", na, missing);
    assert_int_equal(missing, 0);
    check_schedule(g_pid_a, sa, na);
    /* one push to B per message of A (the process's own slot sends none) */
    sched_entry *sb = NULL;
    size_t nb = 0, pushed = 0, dup = 0;
    /* the MU cranks at the CU's pace (after each kill the CU replays from
     * its last checkpoint): wait while pushes keep arriving */
    int64_t last_progress = ao_mono_ms(), last_print = last_progress;
    size_t last_pushed = 0;
    for (;;) {
        free(sb);
        nb = fetch_schedule(g_pid_b, &sb);
        pushed = dup = 0;
        for (size_t k = 0; k < nb; k++)
            if (sb[k].pushed_for[0]) {
                pushed++;
                for (size_t q = 0; q < k; q++)
                    if (!strcmp(sb[q].pushed_for, sb[k].pushed_for)) dup++;
            }
        if (dup || pushed >= na - 1) break;
        int64_t now = ao_mono_ms();
        if (pushed > last_pushed) { last_pushed = pushed; last_progress = now; }
        if (now - last_progress > 60000) break;   /* stuck: a lost push */
        if (now - last_print > 30000) {
            fprintf(stderr, "[faults] waiting: %zu of %zu pushes so far\n", pushed, na - 1);
            last_print = now;
        }
        usleep(500 * 1000);
    }
    fprintf(stderr, "[faults] B: %zu slots, %zu pushes for %zu messages of A, %zu duplicated\n", nb, pushed,
            na - 1, dup);
    assert_int_equal(dup, 0);
    assert_int_equal(pushed, na - 1);
    check_schedule(g_pid_b, sb, nb);
    compare_with_fresh_cu(sa[na - 1].id, na);
    free(sa);
    free(sb);
    node_kill();
    fprintf(stderr, "[faults] invariants hold after %d kill rounds\n", kills);
}

static int k_setup(void **state)
{
    (void)state;
    ao_log_configure(AO_LOG_WARN, false);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *b = getenv("AO_BUILD");
    char cwd[256];
    if (!getcwd(cwd, sizeof cwd)) return -1;
    snprintf(g_ao, sizeof g_ao, "%s/%s/ao", b && b[0] == '/' ? "" : cwd, b ? b : "build");
    g_dir = strdup("/tmp/ao-faults-XXXXXX");
    if (!g_dir || !mkdtemp(g_dir)) return -1;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_user, NULL) != AO_OK) return -1;
    return 0;
}

static int k_teardown(void **state)
{
    (void)state;
    node_kill();
    crypto_wallet_free(g_user);
    if (g_dir && !getenv("FAULT_KEEP")) rm_rf(g_dir);
    free(g_dir);
    free(g_acked);
    for (size_t i = 0; i < g_nunacked; i++) ao_buf_free(&g_unacked[i].raw);
    free(g_unacked);
    curl_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(kill_rounds_lose_nothing, k_setup, k_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
