/*
 * vectors_util.h - header-only helpers for the crypto tests: locate the
 * shared folder (AO_SHARED, else ../shared, else /work/shared), load
 * shared/vectors/ans104.json with cJSON and decode its hex / base64 /
 * base64url fields. Static functions only, so each test binary that
 * includes it gets its own private copy.
 */
#ifndef AO_TESTS_CRYPTO_VECTORS_UTIL_H
#define AO_TESTS_CRYPTO_VECTORS_UTIL_H

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

/* Path of a file under the shared folder, in a static buffer. */
static inline const char *vu_shared_path(const char *rel)
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

/* The parsed vectors file (caller frees with cJSON_Delete), or NULL. */
static inline cJSON *vu_load_vectors(void)
{
    const char *p = vu_shared_path("vectors/ans104.json");
    if (!p) {
        fprintf(stderr, "vectors: shared/vectors/ans104.json not found "
                        "(set AO_SHARED)\n");
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

static inline const char *vu_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline long vu_int(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsNumber(v))
        return (long)v->valuedouble;
    if (cJSON_IsString(v))
        return strtol(v->valuestring, NULL, 10);
    return -1;
}

/* Find the element of array `arr` (a key of root) whose "name" is name. */
static inline const cJSON *vu_find(const cJSON *root, const char *arr, const char *name)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, arr);
    const cJSON *it;
    cJSON_ArrayForEach(it, a) {
        const char *n = vu_str(it, "name");
        if (n && !strcmp(n, name))
            return it;
    }
    return NULL;
}

/* Decoders into a fresh ao_buf (caller frees); return AO_OK or an error. */
static inline int vu_hex(const char *s, ao_buf *out)
{
    ao_buf_init(out);
    return s ? ao_hex_decode(s, strlen(s), out, NULL) : AO_EINVAL;
}

static inline int vu_b64url(const char *s, ao_buf *out)
{
    ao_buf_init(out);
    return s ? ao_b64url_decode(s, strlen(s), out, NULL) : AO_EINVAL;
}

/* Standard base64 with padding: map to the url alphabet, drop '='. */
static inline int vu_b64(const char *s, ao_buf *out)
{
    ao_buf_init(out);
    if (!s)
        return AO_EINVAL;
    size_t n = strlen(s);
    char *t = malloc(n + 1);
    if (!t)
        return AO_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=')
            continue;
        t[m++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    int rc = ao_b64url_decode(t, m, out, NULL);
    free(t);
    return rc;
}

#endif
