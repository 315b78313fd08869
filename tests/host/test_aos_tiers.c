/* test_aos_tiers.c - the aos module (build/aos.wasm) on src/host gives
 * identical results on the interpreter and on the compiled tier (wasm.h,
 * docs/wasm.md): the same message log run on each tier gives the same
 * result JSON for every message (GasUsed included) and the same memory
 * bytes; a run that switches tiers every few messages (snapshot, then a
 * process of the other tier restored from it) too; and out of gas happens
 * at the same point with the same GasUsed on both tiers.
 *
 * The compiled library of aos is built once (cc -O2, a minute or more on a
 * loaded machine) into the cache AO_WASM_CACHE, by default build/aot, and
 * reused by later runs. The log is the one of test_aos_determinism.c in
 * short: spawn, token blueprint, transfers (some failing), printing Evals,
 * Sends, erroring Evals (rolled back), math.random, plain notes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "host/host.h"
#include "wasm/wasm.h"

#if defined(__SANITIZE_ADDRESS__)
#define AOS_TIER_MESSAGES 80
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AOS_TIER_MESSAGES 80
#endif
#endif
#ifndef AOS_TIER_MESSAGES
#define AOS_TIER_MESSAGES 240
#endif
#define AOS_TIER_SWITCH_EVERY 7

#define PID "PROCESS_ID_0000000000000000000000000000000"
#define OWNER "OWNER_ADDRESS_00000000000000000000000000000"
static const char *ENV = "{\"Process\":{\"Id\":\"" PID "\",\"Owner\":\"" OWNER "\",\"Tags\":["
                         "{\"name\":\"Type\",\"value\":\"Process\"},{\"name\":\"Name\",\"value\":\"det\"},"
                         "{\"name\":\"Module\",\"value\":\"MODULE\"}]},"
                         "\"Module\":{\"Id\":\"MODULE\",\"Owner\":\"" OWNER "\",\"Tags\":[]}}";

static ao_buf g_wasm;
static char **g_want;          /* interpreter results of the log */
static uint8_t *g_want_mem;
static size_t g_want_len;
static ao_metric *g_calls;     /* ao_wasm_compiled_calls_total */

static char *log_message(int i)
{
    char from[64], tags[512], data[512];
    long long ts = 1700000000000LL + i * 1000LL;
    snprintf(from, sizeof from, "%s", OWNER);
    data[0] = 0;
    if (i == 0) {
        snprintf(tags, sizeof tags, "{\"name\":\"Type\",\"value\":\"Process\"},{\"name\":\"Name\",\"value\":\"det\"}");
    } else if (i == 1 || i == 2) {
        snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Eval\"}");
        snprintf(data, sizeof data, i == 1 ? "require('blueprints.token'); return Ticker"
                                           : "Balances[Owner] = '1000000000000'; return Balances[Owner]");
    } else {
        switch (i % 8) {
        case 0:
        case 4:
            snprintf(tags, sizeof tags,
                     "{\"name\":\"Action\",\"value\":\"Transfer\"},{\"name\":\"Recipient\",\"value\":\"HOLDER%02d\"},"
                     "{\"name\":\"Quantity\",\"value\":\"%d\"}", i % 41, 100 + i);
            break;
        case 1:
            snprintf(from, sizeof from, "HOLDER%02d", (i * 7) % 41);
            snprintf(tags, sizeof tags,
                     "{\"name\":\"Action\",\"value\":\"Transfer\"},{\"name\":\"Recipient\",\"value\":\"HOLDER%02d\"},"
                     "{\"name\":\"Quantity\",\"value\":\"%d\"}", (i * 3) % 41, 50 + i % 300);
            break;
        case 2:
            snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Eval\"}");
            snprintf(data, sizeof data,
                     "C = (C or 0) + %d; L = L or {}; L[#L + 1] = C; print('c=' .. C .. ' n=' .. #L); "
                     "return C * 1.5 .. ' ' .. math.sqrt(C) .. ' ' .. (0/0 ~= 0/0 and 'nan' or '')", i);
            break;
        case 3:
            snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Eval\"}");
            snprintf(data, sizeof data,
                     "Send({Target = 'T%d', Action = 'Ping', Data = 'n ' .. %d}); return 'sent'", i % 13, i);
            break;
        case 5:
            snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Eval\"}");
            snprintf(data, sizeof data, "C = -1; Balances[Owner] = '0'; error('boom %d')", i);
            break;
        case 6:
            snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Eval\"}");
            snprintf(data, sizeof data,
                     "R = (R or 0) + math.random(1, 1000000); return R .. ' ' .. Balances['HOLDER%02d']", i % 41);
            break;
        default:
            snprintf(tags, sizeof tags, "{\"name\":\"Action\",\"value\":\"Note\"},{\"name\":\"Seq\",\"value\":\"%d\"}", i);
            snprintf(data, sizeof data, "note %d", i);
            break;
        }
    }
    char *m = malloc(2048);
    if (!m) return NULL;
    if (i == 0)
        snprintf(m, 2048,
                 "{\"Id\":\"" PID "\",\"Owner\":\"%s\",\"From\":\"%s\",\"Target\":\"" PID "\","
                 "\"Module\":\"MODULE\",\"Timestamp\":%lld,\"Block-Height\":100,\"Tags\":[%s],\"Data\":\"\"}",
                 from, from, ts, tags);
    else
        snprintf(m, 2048,
                 "{\"Id\":\"MSG%d\",\"Owner\":\"%s\",\"From\":\"%s\",\"Target\":\"" PID "\","
                 "\"Module\":\"MODULE\",\"Timestamp\":%lld,\"Block-Height\":%d,\"Tags\":[%s],\"Data\":\"%s\"}",
                 i, from, from, ts, 100 + i / 10, tags, data);
    return m;
}

static host_module *new_module(wasm_tier tier)
{
    ao_error err = {0};
    host_module *m = NULL;
    wasm_tier_set_default(tier);   /* compiled: wasm_module_new compiles (cache) */
    int rc = host_module_new(g_wasm.data, g_wasm.len, NULL, &m, &err);
    wasm_tier_set_default(WASM_TIER_INTERP);
    if (rc != AO_OK) fprintf(stderr, "host_module_new: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    return m;
}

static host_process *new_process(host_module *m, wasm_tier tier, const host_limits *lim)
{
    ao_error err = {0};
    host_process *p = NULL;
    wasm_tier_set_default(tier);   /* the tier of the process's store */
    int rc = host_process_new(m, lim, &p, &err);
    wasm_tier_set_default(WASM_TIER_INTERP);
    if (rc != AO_OK) fprintf(stderr, "host_process_new: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    return p;
}

static host_process *from_snapshot(host_module *m, wasm_tier tier, const host_limits *lim,
                                   const ao_buf *snap)
{
    ao_error err = {0};
    host_process *p = NULL;
    wasm_tier_set_default(tier);
    int rc = host_process_new_from_snapshot(m, lim, snap->data, snap->len, &p, &err);
    wasm_tier_set_default(WASM_TIER_INTERP);
    if (rc != AO_OK) fprintf(stderr, "host_process_new_from_snapshot: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    return p;
}

/* Runs messages [from, to); with got != NULL stores each result, else
 * compares with g_want. */
static void run_range(host_process *p, int from, int to, char **got)
{
    for (int i = from; i < to; i++) {
        char *m = log_message(i);
        assert_non_null(m);
        host_result r;
        ao_error err = {0};
        int rc = host_process_handle(p, m, ENV, &r, &err);
        if (rc != AO_OK) fprintf(stderr, "message %d: %s\n", i, err.msg);
        assert_int_equal(rc, AO_OK);
        if (got) {
            got[i] = strdup(r.json);
            assert_non_null(got[i]);
        } else {
            if (strcmp(g_want[i], r.json) != 0)
                fprintf(stderr, "message %d differs:\n  interp:   %.400s\n  compiled: %.400s\n", i,
                        g_want[i], r.json);
            assert_string_equal(g_want[i], r.json);
        }
        host_result_free(&r);
        free(m);
    }
}

static void assert_memory_is_wanted(host_process *p)
{
    size_t len;
    const uint8_t *mem = host_process_memory(p, &len);
    assert_int_equal(len, g_want_len);
    assert_true(memcmp(mem, g_want_mem, len) == 0);
}

static int setup_module(void **state)
{
    (void)state;
    setenv("AO_WASM_CACHE", "build/aot", 0);
    const char *path = getenv("AO_AOS_WASM");
    if (!path) path = "build/aos.wasm";
    ao_buf_init(&g_wasm);
    ao_error err = {0};
    if (ao_file_read(path, &g_wasm, &err) != AO_OK) {
        fprintf(stderr, "cannot read %s: %s (make build/aos.wasm)\n", path, err.msg);
        return -1;
    }
    /* build (or find) the compiled library once */
    wasm_module *wm = NULL;
    if (wasm_module_new(g_wasm.data, g_wasm.len, &wm, &err) != AO_OK ||
        wasm_module_compile(wm, NULL, &err) != AO_OK) {
        fprintf(stderr, "compiling aos: %s\n", err.msg);
        if (wm) wasm_module_free(wm);
        return -1;
    }
    wasm_module_free(wm);
    g_calls = ao_metric_get("ao_wasm_compiled_calls_total", "", false);
    /* the interpreter's results: the reference */
    const int n = AOS_TIER_MESSAGES;
    g_want = calloc((size_t)n, sizeof *g_want);
    if (!g_want) return -1;
    host_module *m;
    host_process *p;
    if (host_module_new(g_wasm.data, g_wasm.len, NULL, &m, &err) != AO_OK) return -1;
    if (host_process_new(m, NULL, &p, &err) != AO_OK) return -1;
    int64_t c0 = ao_metric_value(g_calls);
    for (int i = 0; i < n; i++) {
        char *msg = log_message(i);
        host_result r;
        if (!msg || host_process_handle(p, msg, ENV, &r, &err) != AO_OK) return -1;
        g_want[i] = strdup(r.json);
        host_result_free(&r);
        free(msg);
    }
    if (ao_metric_value(g_calls) != c0) {
        fprintf(stderr, "the interpreter run entered compiled code\n");
        return -1;
    }
    const uint8_t *mem = host_process_memory(p, &g_want_len);
    g_want_mem = malloc(g_want_len ? g_want_len : 1);
    if (!g_want_mem) return -1;
    memcpy(g_want_mem, mem, g_want_len);
    host_process_free(p);
    host_module_free(m);
    return 0;
}

static int teardown_module(void **state)
{
    (void)state;
    for (int i = 0; g_want && i < AOS_TIER_MESSAGES; i++) free(g_want[i]);
    free(g_want);
    free(g_want_mem);
    ao_buf_free(&g_wasm);
    return 0;
}

static void log_on_compiled_tier_is_identical(void **state)
{
    (void)state;
    /* the reference log really is a mix */
    int errors = 0, sends = 0, failed_transfers = 0;
    for (int i = 0; i < AOS_TIER_MESSAGES; i++) {
        if (strstr(g_want[i], "\"Error\"")) errors++;
        if (strstr(g_want[i], "\"Messages\":[{")) sends++;
        if (strstr(g_want[i], "Insufficient Balance")) failed_transfers++;
    }
    assert_true(errors > AOS_TIER_MESSAGES / 10);
    assert_true(sends > AOS_TIER_MESSAGES / 4);
    assert_true(failed_transfers > 0);
    assert_non_null(strstr(g_want[1], "PNTS"));

    host_module *m = new_module(WASM_TIER_COMPILED);
    host_process *p = new_process(m, WASM_TIER_COMPILED, NULL);
    int64_t c0 = ao_metric_value(g_calls);
    run_range(p, 0, AOS_TIER_MESSAGES, NULL);
    assert_true(ao_metric_value(g_calls) > c0 + AOS_TIER_MESSAGES);   /* really compiled */
    assert_memory_is_wanted(p);
    host_process_free(p);
    host_module_free(m);
}

static void switching_tiers_every_few_messages_is_identical(void **state)
{
    (void)state;
    host_module *mi = new_module(WASM_TIER_INTERP);
    host_module *mc = new_module(WASM_TIER_COMPILED);
    wasm_tier tier = WASM_TIER_INTERP;
    host_process *p = new_process(mi, tier, NULL);
    int switches = 0;
    for (int at = 0; at < AOS_TIER_MESSAGES; at += AOS_TIER_SWITCH_EVERY) {
        int to = at + AOS_TIER_SWITCH_EVERY;
        if (to > AOS_TIER_MESSAGES) to = AOS_TIER_MESSAGES;
        int64_t c0 = ao_metric_value(g_calls);
        run_range(p, at, to, NULL);
        if (tier == WASM_TIER_COMPILED)
            assert_true(ao_metric_value(g_calls) > c0);
        else
            assert_true(ao_metric_value(g_calls) == c0);
        if (to == AOS_TIER_MESSAGES) break;
        ao_buf snap;
        ao_buf_init(&snap);
        ao_error err = {0};
        assert_int_equal(host_process_snapshot(p, &snap, &err), AO_OK);
        host_process_free(p);
        tier = tier == WASM_TIER_INTERP ? WASM_TIER_COMPILED : WASM_TIER_INTERP;
        p = from_snapshot(tier == WASM_TIER_INTERP ? mi : mc, tier, NULL, &snap);
        ao_buf_free(&snap);
        switches++;
    }
    assert_true(switches >= AOS_TIER_MESSAGES / AOS_TIER_SWITCH_EVERY - 1);
    assert_memory_is_wanted(p);
    host_process_free(p);
    host_module_free(mi);
    host_module_free(mc);
}

/* One message after the boot with a compute limit, on one tier (the limit
 * applies to the process's initialisation too: if that runs out of gas,
 * the error text is the result). */
static char *limited(host_module *m, wasm_tier tier, const ao_buf *boot, uint64_t limit,
                     int msg, uint64_t *gas)
{
    host_limits lim = {0, limit};
    ao_error e0 = {0};
    host_process *p = NULL;
    wasm_tier_set_default(tier);
    int rc0 = host_process_new_from_snapshot(m, &lim, boot->data, boot->len, &p, &e0);
    wasm_tier_set_default(WASM_TIER_INTERP);
    if (rc0 != AO_OK) {
        *gas = 0;
        char *o = strdup(e0.msg);
        assert_non_null(o);
        return o;
    }
    char *j = log_message(msg);
    host_result r;
    ao_error err = {0};
    assert_int_equal(host_process_handle(p, j, ENV, &r, &err), AO_OK);
    char *out = strdup(r.json);
    *gas = r.gas_used;
    host_result_free(&r);
    free(j);
    host_process_free(p);
    return out;
}

static void out_of_gas_at_the_same_point_on_both_tiers(void **state)
{
    (void)state;
    host_module *mi = new_module(WASM_TIER_INTERP);
    host_module *mc = new_module(WASM_TIER_COMPILED);
    host_process *p = new_process(mi, WASM_TIER_INTERP, NULL);
    run_range(p, 0, 3, NULL);
    ao_buf boot;
    ao_buf_init(&boot);
    ao_error err = {0};
    assert_int_equal(host_process_snapshot(p, &boot, &err), AO_OK);
    host_process_free(p);
    const int msgs[] = {4, 10, 13};   /* a transfer, an Eval with floats, a failing Eval */
    int init_oog = 0;
    for (size_t k = 0; k < sizeof msgs / sizeof msgs[0]; k++) {
        uint64_t full;
        char *ok = limited(mi, WASM_TIER_INTERP, &boot, 0, msgs[k], &full);
        free(ok);
        assert_true(full > 1000);
        const uint64_t limits[] = {1, full / 7, full / 2, full - 1, full};
        for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
            uint64_t gi, gc;
            char *ri = limited(mi, WASM_TIER_INTERP, &boot, limits[l], msgs[k], &gi);
            char *rc = limited(mc, WASM_TIER_COMPILED, &boot, limits[l], msgs[k], &gc);
            if (strcmp(ri, rc) != 0)
                fprintf(stderr, "message %d limit %llu:\n  interp:   %.300s\n  compiled: %.300s\n",
                        msgs[k], (unsigned long long)limits[l], ri, rc);
            assert_string_equal(ri, rc);
            assert_true(gi == gc);
            if (gi == 0) {
                assert_non_null(strstr(ri, "out of gas"));   /* during initialisation */
                init_oog++;
            } else if (limits[l] < full) {
                assert_true(gi > limits[l]);          /* stopped by the limit */
                assert_non_null(strstr(ri, "\"Error\""));
            } else {
                assert_true(gi == full);
            }
            free(ri);
            free(rc);
        }
    }
    assert_true(init_oog < 3 * 5 - 3);   /* most limits reached the message itself */
    ao_buf_free(&boot);
    host_module_free(mi);
    host_module_free(mc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_on_compiled_tier_is_identical),
        cmocka_unit_test(switching_tiers_every_few_messages_is_identical),
        cmocka_unit_test(out_of_gas_at_the_same_point_on_both_tiers),
    };
    return cmocka_run_group_tests(tests, setup_module, teardown_module);
}
