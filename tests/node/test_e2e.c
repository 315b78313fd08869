/*
 * test_e2e.c - many cranks through a whole node (`ao up` as a library, all
 * HTTP in from outside, units in-process): a ping-pong of two aos
 * processes for 1,000 rounds and a spawn tree of 100 children, each
 * message counted inside the processes, so exactly-once delivery shows as
 * exact counts that stay put once the MU is idle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "node_test_util.h"

#define ROUNDS 1000
#define CHILDREN 100

/* Eval code on pid; its Output.data (malloc'd). */
static char *eval_data(const char *pid, const char *code)
{
    char mid[44];
    eval_on(pid, code, mid);
    cJSON *r = result_of(mid, pid);
    char *d = strdup(jstr(output_of(r), "data"));
    cJSON_Delete(r);
    return d;
}

/* Eval `expr` on pid until it gives `want` (or ~timeout_s passes);
 * returns the last value (malloc'd). */
static char *eval_until(const char *pid, const char *expr, const char *want, int timeout_s)
{
    char *got = NULL;
    int64_t end = ao_mono_ms() + (int64_t)timeout_s * 1000;
    do {
        free(got);
        got = eval_data(pid, expr);
        if (!strcmp(got, want))
            break;
        usleep(500 * 1000);
    } while (ao_mono_ms() < end);
    return got;
}

static void ping_pong_1000_rounds_exactly_once(void **state)
{
    (void)state;
    char a[44], b[44], code[512];
    spawn_process("pinger", a);
    spawn_process("ponger", b);
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

    char want[16];
    snprintf(want, sizeof want, "%d", ROUNDS);
    d = eval_until(a, "tostring(Count)", want, 600);
    assert_string_equal(d, want);
    free(d);
    d = eval_until(b, "tostring(Count)", want, 60);
    assert_string_equal(d, want);
    free(d);
    /* quiet now: nothing more arrives */
    sleep(2);
    d = eval_data(a, "tostring(Count)");
    assert_string_equal(d, want);
    free(d);
    d = eval_data(b, "tostring(Count)");
    assert_string_equal(d, want);
    free(d);
}

static void spawn_tree_of_100_children(void **state)
{
    (void)state;
    char p[44], code[1024];
    spawn_process("tree-root", p);
    /* each Spawned notice counted, and the children named by it kept */
    snprintf(code, sizeof code,
             "Spawned = 0; Children = {}; Handlers.add('spawned', 'Spawned', function(msg) "
             "Spawned = Spawned + 1; Children[msg.Tags.Process] = true end); "
             "for i = 1, %d do Spawn({ Data = 'child', Name = 'child-' .. i, "
             "Authority = '%s' }) end; return 'spawning'",
             CHILDREN, g_info.mu_address);
    char *d = eval_data(p, code);
    assert_string_equal(d, "spawning");
    free(d);
    char want[64];
    snprintf(want, sizeof want, "%d/%d", CHILDREN, CHILDREN);
    const char *expr = "local n = 0; for _ in pairs(Children) do n = n + 1 end; "
                       "return Spawned .. '/' .. n";
    d = eval_until(p, expr, want, 300);
    assert_string_equal(d, want);
    free(d);
    sleep(2);
    d = eval_data(p, expr);
    assert_string_equal(d, want);
    free(d);

    /* every child is a process of the SU, named as spawned */
    d = eval_data(p, "local ids = {}; for k in pairs(Children) do ids[#ids + 1] = k end; "
                     "table.sort(ids); return table.concat(ids, ',')");
    size_t seen = 0;
    for (char *save = NULL, *id = strtok_r(d, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        char url[256];
        long st;
        snprintf(url, sizeof url, "%s/processes/%s", g_info.su_url, id);
        cJSON *rec = http_json("GET", url, NULL, 0, NULL, &st);
        assert_int_equal(st, 200);
        const cJSON *tags = cJSON_GetObjectItemCaseSensitive(rec, "tags");
        assert_string_equal(tag_value(tags, "From-Process"), p);
        assert_non_null(strstr(tag_value(tags, "Name"), "child-"));
        cJSON_Delete(rec);
        seen++;
    }
    free(d);
    assert_int_equal(seen, CHILDREN);

    /* Stop the node here, not in the group teardown: the children may
     * still be evaluating, and the engine's page-fault handler (dirty
     * tracking, src/wasm/dirty.c) is in front of cmocka's signal handlers
     * only while a test runs (cmocka swaps them around each test and
     * fixture). */
    node_stop(g_node);
    g_node = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ping_pong_1000_rounds_exactly_once),
        cmocka_unit_test(spawn_tree_of_100_children),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
