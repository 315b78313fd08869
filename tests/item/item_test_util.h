/*
 * item_test_util.h - header-only helpers for the item tests: locate the
 * shared folder (AO_SHARED, else ../shared from the repo root, else
 * /work/shared), load shared/vectors/ans104.json with cJSON and decode its
 * base64 / base64url / hex fields. Static functions only (each test binary
 * gets its own copy; nothing here is linked into other tests).
 */
#ifndef AO_TESTS_ITEM_TEST_UTIL_H
#define AO_TESTS_ITEM_TEST_UTIL_H

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

static inline const char *itu_shared_path(const char *rel)
{
    static char path[4096];
    const char *env = getenv("AO_SHARED");
    const char *dirs[] = { env, "../shared", "/work/shared" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        snprintf(path, sizeof path, "%s/%s", dirs[i], rel);
        if (access(path, R_OK) == 0)
            return path;
    }
    return NULL;
}

/* The parsed vectors (cJSON_Delete), or NULL with a message. */
static inline cJSON *itu_load(void)
{
    const char *p = itu_shared_path("vectors/ans104.json");
    if (!p) {
        fprintf(stderr, "shared/vectors/ans104.json not found (set AO_SHARED)\n");
        return NULL;
    }
    ao_buf b;
    ao_buf_init(&b);
    if (ao_file_read(p, &b, NULL) != AO_OK)
        return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    ao_buf_free(&b);
    return j;
}

static inline const char *itu_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline long itu_int(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

static inline const cJSON *itu_arr(const cJSON *root, const char *key)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    return cJSON_IsArray(a) ? a : NULL;
}

static inline const cJSON *itu_find(const cJSON *root, const char *arr, const char *name)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, itu_arr(root, arr)) {
        const char *n = itu_str(it, "name");
        if (n && !strcmp(n, name))
            return it;
    }
    return NULL;
}

/* Decode into out (reset first). Standard base64 with padding, base64url
 * without, or hex. Return AO_OK or an error code. */
static inline int itu_b64(const char *s, ao_buf *out)
{
    ao_buf_reset(out);
    if (!s)
        return AO_EINVAL;
    size_t n = strlen(s);
    char *t = malloc(n + 1);
    if (!t)
        return AO_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=')
            break;
        t[k++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    int rc = ao_b64url_decode(t, k, out, NULL);
    free(t);
    return rc;
}

static inline int itu_b64url(const char *s, ao_buf *out)
{
    ao_buf_reset(out);
    return s ? ao_b64url_decode(s, strlen(s), out, NULL) : AO_EINVAL;
}

static inline int itu_hex(const char *s, ao_buf *out)
{
    ao_buf_reset(out);
    return s ? ao_hex_decode(s, strlen(s), out, NULL) : AO_EINVAL;
}

/* Lowercase hex of n bytes in a static buffer (for comparisons). */
static inline const char *itu_tohex(const uint8_t *p, size_t n)
{
    static char h[2 * 64 + 1];
    if (n > 64)
        n = 64;
    ao_hex_encode_to(p, n, h);
    return h;
}

/* verify.<key> as -1 (missing), 0 (false or "throws..."), 1 (true). */
static inline int itu_verdict(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "verify");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(v, key);
    if (cJSON_IsBool(x))
        return cJSON_IsTrue(x) ? 1 : 0;
    if (cJSON_IsString(x))
        return 0;
    return -1;
}

#endif
