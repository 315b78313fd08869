/* test_aos_determinism.c - the aos module (build/aos.wasm) on src/host is
 * deterministic over a long mixed message log: the same log run twice in
 * fresh processes gives the same result JSON (GasUsed included) for every
 * message and the same memory bytes at the end; a third run that takes an
 * engine snapshot half-way, restores it into a fresh module + process and
 * continues gives the same results and final memory too.
 *
 * The log (built from the message index, no randomness): spawn, load the
 * token blueprint, give the owner a balance, then a mix of state-changing
 * printing Evals, token Transfers (owner -> holders, holder -> holder,
 * some failing for balance), Evals that Send (outbox Messages), Evals of
 * math.random, erroring Evals (rolled back) and plain Inbox messages.
 * Under AddressSanitizer the log is shorter (AOS_DET_MESSAGES) to keep the
 * run to a few seconds; the mix is the same. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "host/host.h"

#if defined(__SANITIZE_ADDRESS__)
#define AOS_DET_MESSAGES 300
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AOS_DET_MESSAGES 300
#endif
#endif
#ifndef AOS_DET_MESSAGES
#define AOS_DET_MESSAGES 1000
#endif
#define AOS_DET_SNAPSHOT_AT (AOS_DET_MESSAGES / 2)

#define PID "PROCESS_ID_0000000000000000000000000000000"
#define OWNER "OWNER_ADDRESS_00000000000000000000000000000"
static const char *ENV = "{\"Process\":{\"Id\":\"" PID "\",\"Owner\":\"" OWNER "\",\"Tags\":["
                         "{\"name\":\"Type\",\"value\":\"Process\"},{\"name\":\"Name\",\"value\":\"det\"},"
                         "{\"name\":\"Module\",\"value\":\"MODULE\"}]},"
                         "\"Module\":{\"Id\":\"MODULE\",\"Owner\":\"" OWNER "\",\"Tags\":[]}}";

static ao_buf g_wasm;

static int setup_module(void **state)
{
    (void)state;
    const char *path = getenv("AO_AOS_WASM");
    if (!path) path = "build/aos.wasm";
    ao_buf_init(&g_wasm);
    ao_error err = {0};
    if (ao_file_read(path, &g_wasm, &err) != AO_OK) {
        fprintf(stderr, "cannot read %s: %s (make build/aos.wasm)\n", path, err.msg);
        return -1;
    }
    return 0;
}

static int teardown_module(void **state)
{
    (void)state;
    ao_buf_free(&g_wasm);
    return 0;
}

/* Message i (0-based) of the log, as JSON. kind_out tells what it is. */
enum { K_SPAWN, K_EVAL, K_TRANSFER, K_SEND, K_ERROR, K_INBOX };

static char *log_message(int i, int *kind_out)
{
    char from[64], tags[512], data[512];
    long long ts = 1700000000000LL + i * 1000LL;
    snprintf(from, sizeof from, "%s", OWNER);
    data[0] = 0;
    int kind;
    if (i == 0) {
        kind = K_SPAWN;
        snprintf(tags, sizeof tags, "{\"name\":\"Type\",\"value\":\"Process\"},{\"name\":\"Name\",\"value\":\"det\"}");
    } else if (i == 1 || i == 2) {
        kind = K_EVAL;
        snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Eval\"}");
        snprintf(data, sizeof data, i == 1 ? "require('blueprints.token'); return Ticker"
                                           : "Balances[Owner] = '1000000000000'; return Balances[Owner]");
    } else {
        switch (i % 8) {
        case 0:
        case 4:
            kind = K_TRANSFER;   /* owner -> holder */
            snprintf(tags, sizeof tags,
                     "{\"name\":\"Action\",\"value\":\"Transfer\"},{\"name\":\"Recipient\",\"value\":\"HOLDER%02d\"},"
                     "{\"name\":\"Quantity\",\"value\":\"%d\"},{\"name\":\"X-Ref\",\"value\":\"r%d\"}",
                     i % 41, 100 + i, i);
            break;
        case 1:
            kind = K_TRANSFER;   /* holder -> holder; fails while the sender holds too little */
            snprintf(from, sizeof from, "HOLDER%02d", (i * 7) % 41);
            snprintf(tags, sizeof tags,
                     "{\"name\":\"Action\",\"value\":\"Transfer\"},{\"name\":\"Recipient\",\"value\":\"HOLDER%02d\"},"
                     "{\"name\":\"Quantity\",\"value\":\"%d\"}",
                     (i * 3) % 41, 50 + i % 300);
            break;
        case 2:
            kind = K_EVAL;
            snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Eval\"}");
            snprintf(data, sizeof data,
                     "C = (C or 0) + %d; L = L or {}; L[#L + 1] = C; print('c=' .. C .. ' n=' .. #L); return C",
                     i);
            break;
        case 3:
            kind = K_SEND;
            snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Eval\"}");
            snprintf(data, sizeof data,
                     "Send({Target = 'T%d', Action = 'Ping', Data = 'n ' .. %d, ['X-I'] = '%d'}); return 'sent'",
                     i % 13, i, i);
            break;
        case 5:
            kind = K_ERROR;
            snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Eval\"}");
            snprintf(data, sizeof data, "C = -1; Balances[Owner] = '0'; error('boom %d')", i);
            break;
        case 6:
            kind = K_EVAL;
            snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Eval\"}");
            snprintf(data, sizeof data,
                     "R = (R or 0) + math.random(1, 1000000); return R .. ' ' .. Balances['HOLDER%02d']",
                     i % 41);
            break;
        default:
            kind = K_INBOX;
            snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Note\"},{\"name\":\"Seq\",\"value\":\"%d\"}", i);
            snprintf(data, sizeof data, "note %d", i);
            break;
        }
    }
    *kind_out = kind;
    char *m = malloc(2048);
    if (!m) return NULL;
    snprintf(m, 2048,
             "{\"Id\":\"%s%d\",\"Owner\":\"%s\",\"From\":\"%s\",\"Target\":\"" PID "\","
             "\"Module\":\"MODULE\",\"Timestamp\":%lld,\"Block-Height\":%d,\"Tags\":[%s],\"Data\":\"%s\"}",
             i == 0 ? "" : "MSG", i, from, from, ts, 100 + i / 10, tags, data);
    if (i == 0) {   /* the spawn message's Id is the process id */
        snprintf(m, 2048,
                 "{\"Id\":\"" PID "\",\"Owner\":\"%s\",\"From\":\"%s\",\"Target\":\"" PID "\","
                 "\"Module\":\"MODULE\",\"Timestamp\":%lld,\"Block-Height\":100,\"Tags\":[%s],\"Data\":\"\"}",
                 from, from, ts, tags);
    }
    return m;
}

static host_process *new_process(host_module **mod)
{
    ao_error err = {0};
    host_process *p = NULL;
    assert_int_equal(host_module_new(g_wasm.data, g_wasm.len, NULL, mod, &err), AO_OK);
    int rc = host_process_new(*mod, NULL, &p, &err);
    if (rc != AO_OK) fprintf(stderr, "host_process_new: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    return p;
}

/* Runs messages [from, to) on p; with want == NULL stores each result JSON
 * in got[i], else compares with want[i]. Counts the kinds seen. */
static void run_range(host_process *p, int from, int to, char **want, char **got, int *counts)
{
    for (int i = from; i < to; i++) {
        int kind;
        char *m = log_message(i, &kind);
        assert_non_null(m);
        host_result r;
        ao_error err = {0};
        int rc = host_process_handle(p, m, ENV, &r, &err);
        if (rc != AO_OK) fprintf(stderr, "message %d: %s\n", i, err.msg);
        assert_int_equal(rc, AO_OK);
        if (counts) {
            counts[kind]++;
            if (r.error) counts[K_INBOX + 1]++;
            if (strstr(r.json, "\"Messages\":[{")) counts[K_INBOX + 2]++;
            if (strstr(r.json, "Insufficient Balance")) counts[K_INBOX + 3]++;
        }
        if (want) {
            if (strcmp(want[i], r.json) != 0)
                fprintf(stderr, "message %d differs:\n  first: %.400s\n  now:   %.400s\n", i, want[i], r.json);
            assert_string_equal(want[i], r.json);
        } else {
            got[i] = strdup(r.json);
            assert_non_null(got[i]);
        }
        host_result_free(&r);
        free(m);
    }
}

static uint8_t *copy_memory(host_process *p, size_t *len)
{
    const uint8_t *m = host_process_memory(p, len);
    uint8_t *c = malloc(*len ? *len : 1);
    assert_non_null(c);
    memcpy(c, m, *len);
    return c;
}

static void log_twice_and_through_a_snapshot_is_identical(void **state)
{
    (void)state;
    const int n = AOS_DET_MESSAGES;
    char **first = calloc((size_t)n, sizeof *first);
    assert_non_null(first);
    int counts[K_INBOX + 4] = {0};

    /* run 1 */
    host_module *m1;
    host_process *p1 = new_process(&m1);
    run_range(p1, 0, n, NULL, first, counts);
    size_t len1;
    uint8_t *mem1 = copy_memory(p1, &len1);
    host_process_free(p1);
    host_module_free(m1);

    /* the log really is a mix: errors rolled back, outbox messages, failed transfers */
    assert_true(counts[K_TRANSFER] > n / 5);
    assert_true(counts[K_ERROR] > n / 10);
    assert_true(counts[K_INBOX + 1] >= counts[K_ERROR]);
    assert_true(counts[K_INBOX + 2] > n / 4);
    assert_true(counts[K_INBOX + 3] > 0);
    assert_non_null(strstr(first[1], "PNTS"));
    assert_non_null(strstr(first[2], "1000000000000"));
    assert_non_null(strstr(first[4], "Debit-Notice"));   /* owner -> HOLDER04 went through */

    /* run 2: a fresh module and process, same log */
    host_module *m2;
    host_process *p2 = new_process(&m2);
    run_range(p2, 0, n, first, NULL, NULL);
    size_t len2;
    uint8_t *mem2 = copy_memory(p2, &len2);
    host_process_free(p2);
    host_module_free(m2);
    assert_int_equal(len1, len2);
    assert_true(memcmp(mem1, mem2, len1) == 0);

    /* run 3: snapshot at AOS_DET_SNAPSHOT_AT, restore into a fresh module + process, continue */
    host_module *m3;
    host_process *p3 = new_process(&m3);
    run_range(p3, 0, AOS_DET_SNAPSHOT_AT, first, NULL, NULL);
    ao_buf snap;
    ao_buf_init(&snap);
    ao_error err = {0};
    assert_int_equal(host_process_snapshot(p3, &snap, &err), AO_OK);
    host_process_free(p3);
    host_module_free(m3);
    host_module *m4;
    host_process *p4 = new_process(&m4);
    int rc = host_process_restore(p4, snap.data, snap.len, &err);
    if (rc != AO_OK) fprintf(stderr, "restore: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    ao_buf_free(&snap);
    run_range(p4, AOS_DET_SNAPSHOT_AT, n, first, NULL, NULL);
    size_t len4;
    uint8_t *mem4 = copy_memory(p4, &len4);
    host_process_free(p4);
    host_module_free(m4);
    assert_int_equal(len1, len4);
    assert_true(memcmp(mem1, mem4, len1) == 0);

    for (int i = 0; i < n; i++) free(first[i]);
    free(first);
    free(mem1);
    free(mem2);
    free(mem4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_twice_and_through_a_snapshot_is_identical),
    };
    return cmocka_run_group_tests(tests, setup_module, teardown_module);
}
