/*
 * test_crank_crash.c - exactly-once pushes across crashes: `ao up`
 * ($AO_BUILD/ao) runs as a child process; one Eval makes aos process A Send
 * N messages (Action=Hit, Batch, I) to process B, and the node is killed
 * with SIGKILL at a random moment of that crank, then restarted, ROUNDS
 * times. When a crank has finished before a kill is due (the MU queue is
 * empty), a new batch of N is started, so every kill lands while pushes are
 * pending. After the last restart, once the MU queue is idle, B counts
 * every (Batch, I) it received: each must have arrived exactly once.
 *
 * Sizes: AO_CRASH_MSGS (N, default 200; 60 under ASan) and
 * AO_CRASH_ROUNDS (default 20; 6 under ASan); AO_CRASH_SPAN_MS (first
 * upper bound of the random delay before a kill, default 1500). The acceptance run of the
 * issue is AO_CRASH_MSGS=10000 AO_CRASH_ROUNDS=20 (docs/node.md).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "node_test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_MSGS 60
#define DEFAULT_ROUNDS 6
#else
#define DEFAULT_MSGS 200
#define DEFAULT_ROUNDS 20
#endif

static pid_t g_child = -1;
static int g_starts;

static long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* Starts `ao up` on g_dir and waits until node.json names it and its MU
 * answers /health; fills g_info. */
static void node_up(void)
{
    const char *build = getenv("AO_BUILD");
    char bin[512], log[512];
    snprintf(bin, sizeof bin, "%s/ao", build && *build ? build : "build");
    snprintf(log, sizeof log, "%s/node-%d.log", g_dir, g_starts++);
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        FILE *o = freopen("/dev/null", "w", stdout);
        FILE *e = freopen(log, "w", stderr);
        (void)o;
        (void)e;
        execl(bin, "ao", "up", "--data", g_dir, "--any-ports", "--log-level", "warn",
              "--block-interval", "200", "--cu-threads", "2", (char *)NULL);
        _exit(127);
    }
    g_child = p;
    char path[512];
    snprintf(path, sizeof path, "%s/node.json", g_dir);
    int64_t end = ao_mono_ms() + 120000;
    for (;;) {
        assert_true(ao_mono_ms() < end);
        int status;
        if (waitpid(p, &status, WNOHANG) == p)
            fail_msg("ao up exited (status %d), see %s", status, log);
        ao_buf b;
        ao_buf_init(&b);
        cJSON *j = NULL;
        if (ao_file_read(path, &b, NULL) == AO_OK)
            j = cJSON_ParseWithLength((const char *)b.data, b.len);
        ao_buf_free(&b);
        const cJSON *jp = j ? cJSON_GetObjectItemCaseSensitive(j, "pid") : NULL;
        if (cJSON_IsNumber(jp) && (pid_t)jp->valuedouble == p) {
            memset(&g_info, 0, sizeof g_info);
            snprintf(g_info.gateway_url, sizeof g_info.gateway_url, "%s", jstr(j, "gateway"));
            snprintf(g_info.su_url, sizeof g_info.su_url, "%s", jstr(j, "su"));
            snprintf(g_info.cu_url, sizeof g_info.cu_url, "%s", jstr(j, "cu"));
            snprintf(g_info.mu_url, sizeof g_info.mu_url, "%s", jstr(j, "mu"));
            snprintf(g_info.su_address, sizeof g_info.su_address, "%s", jstr(j, "suAddress"));
            snprintf(g_info.mu_address, sizeof g_info.mu_address, "%s", jstr(j, "muAddress"));
            snprintf(g_info.aos_module, sizeof g_info.aos_module, "%s", jstr(j, "aosModule"));
            cJSON_Delete(j);
            char url[256];
            snprintf(url, sizeof url, "%s/health", g_info.mu_url);
            ao_buf h;
            ao_buf_init(&h);
            long st = http("GET", url, NULL, 0, NULL, &h);
            ao_buf_free(&h);
            if (st == 200)
                return;
        } else {
            cJSON_Delete(j);
        }
        usleep(50 * 1000);
    }
}

static void node_kill(void)
{
    if (g_child <= 0)
        return;
    kill(g_child, SIGKILL);
    int status;
    waitpid(g_child, &status, 0);
    g_child = -1;
}

static void node_term(void)
{
    if (g_child <= 0)
        return;
    kill(g_child, SIGTERM);
    int status;
    waitpid(g_child, &status, 0);
    g_child = -1;
}

/* The MU's ao_mu_queue_depth gauge (pushes and cranks not yet done). */
static long mu_depth(void)
{
    char url[256];
    snprintf(url, sizeof url, "%s/metrics", g_info.mu_url);
    ao_buf b;
    ao_buf_init(&b);
    long st = http("GET", url, NULL, 0, NULL, &b);
    long depth = -1;
    if (st == 200) {
        const char *s = strstr((const char *)b.data, "\nao_mu_queue_depth ");
        if (s)
            depth = strtol(s + strlen("\nao_mu_queue_depth "), NULL, 10);
    }
    ao_buf_free(&b);
    return depth;
}

static char *eval_data(const char *pid, const char *code)
{
    char mid[44];
    eval_on(pid, code, mid);
    cJSON *r = result_of(mid, pid);
    char *d = strdup(jstr(output_of(r), "data"));
    cJSON_Delete(r);
    return d;
}

static int crash_setup(void **state)
{
    (void)state;
    ao_log_configure(AO_LOG_WARN, false);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_dir = strdup("/tmp/ao-crank-crash-XXXXXX");
    if (!g_dir || !mkdtemp(g_dir))
        return -1;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_user, NULL) != AO_OK)
        return -1;
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(g_user, &olen);
    crypto_owner_address_b64(owner, olen, g_user_addr);
    return 0;
}

static int crash_teardown(void **state)
{
    (void)state;
    node_kill();
    crypto_wallet_free(g_user);
    if (g_dir && !getenv("AO_CRASH_KEEP"))
        rm_rf(g_dir);
    free(g_dir);
    curl_global_cleanup();
    return 0;
}

static void sigkill_mid_crank_every_push_exactly_once(void **state)
{
    (void)state;
    long n = env_long("AO_CRASH_MSGS", DEFAULT_MSGS);
    long rounds = env_long("AO_CRASH_ROUNDS", DEFAULT_ROUNDS);
    assert_true(n > 0 && rounds > 0);
    unsigned seed = (unsigned)env_long("AO_CRASH_SEED", (long)(ao_now_ms() & 0x7fffffff));
    srand(seed);
    print_message("crank crash: %ld messages a batch, %ld kills, seed %u\n", n, rounds, seed);
    int64_t t0 = ao_mono_ms();

    node_up();
    char a[44], b[44], code[1024];
    spawn_process("crash-sender", a);
    spawn_process("crash-receiver", b);
    char *d = eval_data(b, "Seen = {}; Hits = 0; Handlers.add('hit', 'Hit', function(msg) "
                           "local k = msg.Tags.Batch .. ':' .. msg.Tags.I; "
                           "Seen[k] = (Seen[k] or 0) + 1; Hits = Hits + 1 end); return 'b'");
    assert_string_equal(d, "b");
    free(d);
    snprintf(code, sizeof code,
             "Handlers.add('go', 'Go', function(msg) for i = 1, %ld do "
             "Send({ Target = '%s', Action = 'Hit', Batch = msg.Tags.Batch, I = tostring(i) }) "
             "end end); return 'a'",
             n, b);
    d = eval_data(a, code);
    assert_string_equal(d, "a");
    free(d);

    /* one batch: a Go message to A (its result holds N Sends) */
    int batches = 0;
    char go_id[44];
#define START_BATCH()                                                                       \
    do {                                                                                    \
        char bt[32];                                                                        \
        snprintf(bt, sizeof bt, "Batch=%d", ++batches);                                     \
        const char *kv[] = { "Data-Protocol=ao", "Variant=ao.TN.1", "Type=Message",         \
                             "Action=Go", bt, "SDK=ao-test" };                              \
        ao_buf raw;                                                                         \
        sign_item(kv, sizeof kv / sizeof kv[0], a, "", &raw, go_id);                        \
        post_mu(&raw, go_id);                                                               \
        ao_buf_free(&raw);                                                                  \
    } while (0)
    START_BATCH();

    /* Kill at a random moment: the delay is drawn in [20 ms, span]. The
     * first kill may land while the MU records the Go result's outbox (it
     * signs all N pushes and stores them in one transaction, so a kill
     * there loses the whole recording and the crank starts over); every
     * later one waits until the pushes are recorded (queue depth above 1),
     * so the kills land among the pushes and the test makes progress. */
    long span = env_long("AO_CRASH_SPAN_MS", 1500), mid_crank = 0, in_pushes = 0;
    assert_true(span > 0);
    for (long r = 0; r < rounds; r++) {
        long depth;
        if (r > 0) {
            int64_t until = ao_mono_ms() + 1800 * 1000;
            while ((depth = mu_depth()) == 1 && ao_mono_ms() < until)
                usleep(50 * 1000);
            if (depth == 0)
                START_BATCH();   /* this crank is done: kill in the next one */
        }
        long delay = 20 + rand() % span;
        usleep((useconds_t)delay * 1000);
        depth = mu_depth();
        node_kill();
        if (depth != 0)
            mid_crank++;
        else if (span > 200)
            span /= 2;   /* the crank was done before the kill: kill sooner */
        if (depth > 1)
            in_pushes++;
        node_up();
    }
    print_message("%ld of %ld kills with work pending, %ld among recorded pushes, %d batches\n",
                  mid_crank, rounds, in_pushes, batches);
    assert_true(mid_crank >= rounds / 2);
    assert_true(in_pushes >= rounds / 2);

    /* the last run: wait for the MU queue to drain */
    int64_t end = ao_mono_ms() + 3600 * 1000;
    long depth;
    while ((depth = mu_depth()) != 0) {
        assert_true(ao_mono_ms() < end);
        usleep(200 * 1000);
    }
    /* every (batch, i) counted once inside B */
    snprintf(code, sizeof code,
             "local dup, miss = 0, 0; for bt = 1, %d do for i = 1, %ld do "
             "local c = Seen[bt .. ':' .. i] or 0; if c == 0 then miss = miss + 1 "
             "elseif c > 1 then dup = dup + 1 end end end; "
             "return Hits .. ' hits, ' .. dup .. ' duplicated, ' .. miss .. ' missing'",
             batches, n);
    char want[128];
    snprintf(want, sizeof want, "%ld hits, 0 duplicated, 0 missing", n * batches);
    d = eval_data(b, code);
    print_message("receiver: %s (want %s)\n", d, want);
    assert_string_equal(d, want);
    free(d);
    /* the dead letter list is empty: nothing was given up */
    char url[256];
    snprintf(url, sizeof url, "%s/dead-letters", g_info.mu_url);
    long st;
    cJSON *dl = http_json("GET", url, NULL, 0, NULL, &st);
    assert_int_equal(st, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(dl, "deadLetters")), 0);
    cJSON_Delete(dl);
    /* and it stays so: nothing more arrives */
    sleep(1);
    d = eval_data(b, code);
    assert_string_equal(d, want);
    free(d);
    node_term();
    print_message("crank crash: %ld pushes, %ld kills, %.1f s\n", n * batches, rounds,
                  (double)(ao_mono_ms() - t0) / 1000.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sigkill_mid_crank_every_push_exactly_once),
    };
    return cmocka_run_group_tests(tests, crash_setup, crash_teardown);
}
