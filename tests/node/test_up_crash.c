/*
 * test_up_crash.c - exactly once across crashes of the whole node: `ao up`
 * (the binary, $AO_BUILD/ao) runs a ping-pong of two aos processes for
 * 300 rounds; while the MU cranks it, the node is SIGKILLed 6 times at
 * random moments and started again on the same data folder. In the end
 * both processes must count exactly 300 (a lost push would stall the
 * chain short of it, a duplicated one would count past it), and stay
 * there; a last SIGTERM stops the node with exit code 0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include "node_test_util.h"

#define ROUNDS 300
#define KILLS 6

extern char **environ;

static pid_t g_child = -1;
static char g_ao[512];

/* Copy node.json's field into out. */
static void json_field(const cJSON *j, const char *key, char *out, size_t cap)
{
    const char *v = jstr(j, key);
    assert_non_null(v);
    assert_true(strlen(v) < cap);
    strcpy(out, v);
}

/* Start `ao up` on g_dir with free ports; wait for "ready", read node.json. */
static void up(void)
{
    char out[600], nj[600];
    snprintf(out, sizeof out, "%s/up.out", g_dir);
    snprintf(nj, sizeof nj, "%s/node.json", g_dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *argv[] = { g_ao, "up", "--any-ports", "--data", g_dir, "--log-level", "warn",
                     "--block-interval", "300", NULL };
    assert_int_equal(posix_spawn(&g_child, g_ao, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    bool ready = false;
    for (int i = 0; i < 1200 && !ready; i++) {
        ao_buf b;
        ao_buf_init(&b);
        if (ao_file_read(out, &b, NULL) == AO_OK && b.len && ao_buf_append_byte(&b, 0) == AO_OK)
            ready = strstr((char *)b.data, "\nready") != NULL;
        ao_buf_free(&b);
        int st;
        if (!ready && waitpid(g_child, &st, WNOHANG) == g_child)
            fail_msg("ao up exited during start (status %d)", st);
        if (!ready)
            usleep(100 * 1000);
    }
    assert_true(ready);
    ao_buf b;
    file_bytes(nj, &b);
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    ao_buf_free(&b);
    assert_non_null(j);
    json_field(j, "gateway", g_info.gateway_url, sizeof g_info.gateway_url);
    json_field(j, "su", g_info.su_url, sizeof g_info.su_url);
    json_field(j, "cu", g_info.cu_url, sizeof g_info.cu_url);
    json_field(j, "mu", g_info.mu_url, sizeof g_info.mu_url);
    json_field(j, "suAddress", g_info.su_address, sizeof g_info.su_address);
    json_field(j, "muAddress", g_info.mu_address, sizeof g_info.mu_address);
    json_field(j, "aosModule", g_info.aos_module, sizeof g_info.aos_module);
    cJSON_Delete(j);
}

static int stop(int sig)
{
    int st = -1;
    if (g_child > 0) {
        kill(g_child, sig);
        waitpid(g_child, &st, 0);
        g_child = -1;
    }
    return st;
}

static int group_setup(void **state)
{
    (void)state;
    ao_log_configure(AO_LOG_WARN, false);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *b = getenv("AO_BUILD");
    snprintf(g_ao, sizeof g_ao, "%s/ao", b && *b ? b : "build");
    if (access(g_ao, X_OK) != 0) {
        fprintf(stderr, "no ao binary at %s\n", g_ao);
        return -1;
    }
    g_dir = strdup("/tmp/ao-up-crash-XXXXXX");
    if (!g_dir || !mkdtemp(g_dir))
        return -1;
    ao_error err = { 0 };
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_user, &err) != AO_OK)
        return -1;
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(g_user, &olen);
    crypto_owner_address_b64(owner, olen, g_user_addr);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    stop(SIGKILL);
    crypto_wallet_free(g_user);
    if (g_dir)
        rm_rf(g_dir);
    free(g_dir);
    curl_global_cleanup();
    return 0;
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

static void ping_pong_survives_sigkills_exactly_once(void **state)
{
    (void)state;
    up();
    char a[44], b[44], code[512];
    spawn_process("crash-pinger", a);
    spawn_process("crash-ponger", b);
    snprintf(code, sizeof code,
             "Count = 0; Handlers.add('pong', 'Pong', function(msg) Count = Count + 1; "
             "if Count < %d then Send({ Target = msg.From, Action = 'Ping' }) end end); "
             "return 'a'",
             ROUNDS);
    char *d = eval_data(a, code);
    assert_string_equal(d, "a");
    free(d);
    d = eval_data(b, "Count = 0; Handlers.add('ping', 'Ping', function(msg) "
                     "Count = Count + 1; msg.reply({ Action = 'Pong' }) end); return 'b'");
    assert_string_equal(d, "b");
    free(d);
    snprintf(code, sizeof code, "Send({ Target = '%s', Action = 'Ping' }); return 'go'", b);
    d = eval_data(a, code);
    assert_string_equal(d, "go");
    free(d);

    /* kill the node while it cranks, start it again, and again */
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int k = 0; k < KILLS; k++) {
        usleep((useconds_t)(200 + rand() % 1300) * 1000);
        int st = stop(SIGKILL);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        up();
    }

    /* where the crank was after the kills (for the log: timing-dependent) */
    d = eval_data(a, "tostring(Count)");
    fprintf(stderr, "after %d kills: %s of %d rounds\n", KILLS, d, ROUNDS);
    free(d);

    char want[16];
    snprintf(want, sizeof want, "%d", ROUNDS);
    int64_t end = ao_mono_ms() + 600 * 1000;
    d = NULL;
    do {
        free(d);
        d = eval_data(a, "tostring(Count)");
        if (!strcmp(d, want))
            break;
        usleep(500 * 1000);
    } while (ao_mono_ms() < end);
    assert_string_equal(d, want);
    free(d);
    end = ao_mono_ms() + 60 * 1000;
    d = NULL;
    do {
        free(d);
        d = eval_data(b, "tostring(Count)");
        if (!strcmp(d, want))
            break;
        usleep(300 * 1000);
    } while (ao_mono_ms() < end);
    assert_string_equal(d, want);
    free(d);
    sleep(2);
    d = eval_data(a, "tostring(Count)");
    assert_string_equal(d, want);
    free(d);
    d = eval_data(b, "tostring(Count)");
    assert_string_equal(d, want);
    free(d);

    /* nothing went to the dead letters */
    char url[256];
    long hst;
    snprintf(url, sizeof url, "%s/dead-letters", g_info.mu_url);
    cJSON *dl = http_json("GET", url, NULL, 0, NULL, &hst);
    assert_int_equal(hst, 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(dl, "deadLetters")), 0);
    cJSON_Delete(dl);

    int st = stop(SIGTERM);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ping_pong_survives_sigkills_exactly_once),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
