/*
 * base.h - the foundation every other component builds on: the error
 * convention, growable byte buffers, strict base64url and hex codecs, and
 * whole-file helpers, logging and metrics.
 *
 * Error convention (used everywhere in the project):
 *   - functions return 0 (AO_OK) on success and a negative AO_E* code on
 *     failure;
 *   - they take a caller-owned `ao_error *err` (may be NULL) and fill it with
 *     the code and a human-readable reason on failure;
 *   - nothing aborts or exits on bad input.
 */
#ifndef AO_BASE_H
#define AO_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define AO_OK 0
#define AO_EINVAL      (-1)  /* malformed input or argument */
#define AO_ENOMEM      (-2)  /* allocation failed */
#define AO_EIO         (-3)  /* file or system I/O */
#define AO_ECRYPTO     (-4)  /* a crypto library call failed */
#define AO_EFORMAT     (-5)  /* bytes do not follow the format */
#define AO_ENOTFOUND   (-6)  /* no such thing */
#define AO_EVERIFY     (-7)  /* signature or hash did not verify */
#define AO_ELIMIT      (-8)  /* a size or count limit was exceeded */
#define AO_EUNSUPPORTED (-9) /* valid, but not supported here */
#define AO_ETRAP       (-10) /* a WebAssembly trap */
#define AO_ESTATE      (-11) /* call not allowed in the current state */
#define AO_EBUSY       (-12) /* not ready yet: work in progress, ask again */
#define AO_EDENIED     (-13) /* refused by policy (trust, rate limit) */

#define AO_ERRMSG_MAX 256

typedef struct ao_error {
    int code;
    char msg[AO_ERRMSG_MAX];
} ao_error;

/* Fill *err (if non-NULL) with code and a printf-style message; returns code. */
int ao_err_set(ao_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an already-filled message: "prefix: old message". Returns err->code. */
int ao_err_wrap(ao_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ao_err_clear(ao_error *err);
/* Short constant name of a code, e.g. "EINVAL". */
const char *ao_strerror(int code);

/* ---- growable byte buffer ---- */
typedef struct ao_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} ao_buf;

void ao_buf_init(ao_buf *b);
void ao_buf_free(ao_buf *b);
void ao_buf_reset(ao_buf *b);                 /* len = 0, keeps memory */
int ao_buf_reserve(ao_buf *b, size_t extra);  /* room for len+extra */
int ao_buf_append(ao_buf *b, const void *p, size_t n);
int ao_buf_append_byte(ao_buf *b, uint8_t c);
int ao_buf_append_str(ao_buf *b, const char *s);
int ao_buf_printf(ao_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int ao_buf_append_u16le(ao_buf *b, uint16_t v);
int ao_buf_append_u64le(ao_buf *b, uint64_t v);
/* Detach the bytes (NUL-terminated one past len); caller frees. */
uint8_t *ao_buf_take(ao_buf *b, size_t *len);

/* ---- base64url: RFC 4648 section 5, no padding ---- */
/* Strict decode: rejects '=' padding, '+', '/', whitespace, any foreign
 * character, a length of 1 mod 4, and non-zero unused trailing bits. */
int ao_b64url_decode(const char *s, size_t slen, ao_buf *out, ao_error *err);
/* Encoded length without the NUL. */
size_t ao_b64url_encoded_len(size_t n);
/* Writes ao_b64url_encoded_len(n)+1 bytes into out (NUL-terminated). */
void ao_b64url_encode_to(const uint8_t *p, size_t n, char *out);
/* Malloc'd NUL-terminated string, or NULL on allocation failure. */
char *ao_b64url_encode(const uint8_t *p, size_t n);

/* ---- hex (lowercase out, either case in) ---- */
int ao_hex_decode(const char *s, size_t slen, ao_buf *out, ao_error *err);
void ao_hex_encode_to(const uint8_t *p, size_t n, char *out); /* 2n+1 bytes */
char *ao_hex_encode(const uint8_t *p, size_t n);

/* ---- files ---- */
int ao_file_read(const char *path, ao_buf *out, ao_error *err);
/* Write to path atomically: temp file in the same folder, fsync, rename,
 * fsync of the folder. mode as for open(2), e.g. 0600 for secrets. */
int ao_file_write_atomic(const char *path, const void *p, size_t n, int mode,
                         ao_error *err);

/* ---- logging (log.c) ----
 * One line per event on stderr: "2026-11-24T06:45:01.123Z INFO  su: text",
 * or with json on: {"time":"...","level":"info","unit":"su","msg":"..."}.
 * Thread-safe; a line is written with one write(2). */
typedef enum { AO_LOG_DEBUG = 0, AO_LOG_INFO, AO_LOG_WARN, AO_LOG_ERROR, AO_LOG_OFF } ao_log_level;
void ao_log_configure(ao_log_level min_level, bool json);
/* Parse "debug", "info", "warn", "error", "off". AO_EINVAL otherwise. */
int ao_log_level_parse(const char *s, ao_log_level *out);
bool ao_log_enabled(ao_log_level level);
void ao_log(ao_log_level level, const char *unit, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- metrics (metrics.c): process-wide counters and gauges, rendered in
 * the Prometheus text format. Names follow Prometheus rules
 * ([a-zA-Z_:][a-zA-Z0-9_:]*); a name is registered on first use, with its
 * help text; thread-safe and cheap (atomic add after the first lookup). */
typedef struct ao_metric ao_metric;   /* opaque, lives until exit */
/* Find or create; NULL only on a bad name or no memory. gauge=false: counter. */
ao_metric *ao_metric_get(const char *name, const char *help, bool gauge);
void ao_metric_add(ao_metric *m, int64_t delta);
void ao_metric_set(ao_metric *m, int64_t value);
int64_t ao_metric_value(const ao_metric *m);
/* Append every metric ("# HELP", "# TYPE", "name value") to out. */
int ao_metrics_render(ao_buf *out);

/* ms since the Unix epoch (CLOCK_REALTIME) and a monotonic ms clock. */
int64_t ao_now_ms(void);
int64_t ao_mono_ms(void);

/* ---- SQLite statement counters (sqlstat.c) ----
 * Virtual-machine steps run so far by the prepared statements of db whose
 * SQL contains sql_part: a measure of the work a query does, for tests
 * that check a query uses its index. */
struct sqlite3;
int64_t ao_sql_steps(struct sqlite3 *db, const char *sql_part);

/* ---- little helpers ---- */
static inline uint16_t ao_rd_u16le(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t ao_rd_u32le(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t ao_rd_u64le(const uint8_t *p) {
    return (uint64_t)ao_rd_u32le(p) | ((uint64_t)ao_rd_u32le(p + 4) << 32);
}
static inline void ao_wr_u16le(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void ao_wr_u32le(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void ao_wr_u64le(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#endif
