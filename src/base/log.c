/*
 * log.c - the node's event log: one line per event on stderr, as text for
 * people or as JSON for machines, filtered by level. Every line is built in
 * memory and written with a single write(2), so lines from threads never
 * interleave.
 */
#include "base/base.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_min = AO_LOG_INFO;
static atomic_bool log_json = false;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void ao_log_configure(ao_log_level min_level, bool json)
{
    atomic_store(&log_min, (int)min_level);
    atomic_store(&log_json, json);
}

int ao_log_level_parse(const char *s, ao_log_level *out)
{
    for (int i = 0; s && i <= AO_LOG_OFF; i++)
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (ao_log_level)i;
            return AO_OK;
        }
    return AO_EINVAL;
}

bool ao_log_enabled(ao_log_level level)
{
    return (int)level >= atomic_load(&log_min) && level < AO_LOG_OFF;
}

/* Append s to b as the inside of a JSON string. */
static void json_escape(ao_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            ao_buf_append_byte(b, '\\');
            ao_buf_append_byte(b, *p);
        } else if (*p < 0x20) {
            ao_buf_printf(b, "\\u%04x", *p);
        } else {
            ao_buf_append_byte(b, *p);
        }
    }
}

void ao_log(ao_log_level level, const char *unit, const char *fmt, ...)
{
    if (!ao_log_enabled(level))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* a message is one line: newlines inside become spaces */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    ao_buf b;
    ao_buf_init(&b);
    if (atomic_load(&log_json)) {
        ao_buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"unit\":\"", when, level_names[level]);
        json_escape(&b, unit ? unit : "");
        ao_buf_append_str(&b, "\",\"msg\":\"");
        json_escape(&b, msg);
        ao_buf_append_str(&b, "\"}\n");
    } else {
        char lv[8];
        snprintf(lv, sizeof lv, "%s", level_names[level]);
        for (char *p = lv; *p; p++)
            *p = (char)(*p - 'a' + 'A');
        ao_buf_printf(&b, "%s %-5s %s: %s\n", when, lv, unit ? unit : "-", msg);
    }
    if (b.data) {
        ssize_t w = write(STDERR_FILENO, b.data, b.len);
        (void)w;
    }
    ao_buf_free(&b);
}

int64_t ao_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ao_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
