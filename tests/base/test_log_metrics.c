/* test_log_metrics.c - the event log (text and JSON lines, levels) and the
 * Prometheus metrics page. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

/* Run fn with stderr sent to a temp file; return what was written. */
static char *capture_stderr(void (*fn)(void))
{
    char path[] = "/tmp/ao_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(ao_file_read(path, &b, NULL), AO_OK);
    unlink(path);
    ao_buf_append_byte(&b, 0);
    return (char *)ao_buf_take(&b, NULL);
}

static void emit_text(void)
{
    ao_log_configure(AO_LOG_INFO, false);
    ao_log(AO_LOG_DEBUG, "su", "hidden %d", 1);
    ao_log(AO_LOG_WARN, "su", "slot %d\nassigned", 7);
}

static void emit_json(void)
{
    ao_log_configure(AO_LOG_DEBUG, true);
    ao_log(AO_LOG_ERROR, "cu", "bad \"quote\" and \\ back\ttab");
    ao_log_configure(AO_LOG_INFO, false);
}

static void log_text_filters_and_keeps_one_line(void **state)
{
    (void)state;
    char *out = capture_stderr(emit_text);
    assert_null(strstr(out, "hidden"));
    assert_non_null(strstr(out, "WARN  su: slot 7 assigned\n"));
    assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));   /* one line */
    assert_true(out[4] == '-' && out[10] == 'T');
    free(out);
}

static void log_json_escapes(void **state)
{
    (void)state;
    char *out = capture_stderr(emit_json);
    assert_non_null(strstr(out, "\"level\":\"error\",\"unit\":\"cu\","
                                "\"msg\":\"bad \\\"quote\\\" and \\\\ back\\u0009tab\"}\n"));
    assert_int_equal(strncmp(out, "{\"time\":\"", 9), 0);
    free(out);
}

static void log_level_parse(void **state)
{
    (void)state;
    ao_log_level l;
    assert_int_equal(ao_log_level_parse("WARN", &l), AO_OK);
    assert_int_equal(l, AO_LOG_WARN);
    assert_int_equal(ao_log_level_parse("loud", &l), AO_EINVAL);
    assert_int_equal(ao_log_level_parse(NULL, &l), AO_EINVAL);
}

static void metrics_counters_and_gauges(void **state)
{
    (void)state;
    ao_metric *c = ao_metric_get("test_items_total", "Items seen", false);
    ao_metric *g = ao_metric_get("test_queue_depth", "Queue\ndepth", true);
    assert_non_null(c);
    assert_ptr_equal(ao_metric_get("test_items_total", "other help", false), c);
    assert_null(ao_metric_get("9bad", "", false));
    assert_null(ao_metric_get("bad-name", "", false));
    ao_metric_add(c, 3);
    ao_metric_add(c, 2);
    ao_metric_set(g, 42);
    assert_int_equal(ao_metric_value(c), 5);
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(ao_metrics_render(&b), AO_OK);
    ao_buf_append_byte(&b, 0);
    const char *s = (const char *)b.data;
    assert_non_null(strstr(s, "# HELP test_items_total Items seen\n# TYPE test_items_total counter\n"
                              "test_items_total 5\n"));
    assert_non_null(strstr(s, "# HELP test_queue_depth Queue\\ndepth\n# TYPE test_queue_depth gauge\n"
                              "test_queue_depth 42\n"));
    ao_buf_free(&b);
}

static void clocks_move(void **state)
{
    (void)state;
    assert_true(ao_now_ms() > 1700000000000LL);
    int64_t a = ao_mono_ms();
    assert_true(ao_mono_ms() >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_text_filters_and_keeps_one_line),
        cmocka_unit_test(log_json_escapes),
        cmocka_unit_test(log_level_parse),
        cmocka_unit_test(metrics_counters_and_gauges),
        cmocka_unit_test(clocks_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
