/*
 * vectors.h - header-only helpers shared by the tests and benchmarks that
 * read the reference material in shared/: locate the folder ($AO_SHARED,
 * which the Makefile sets to the shared/ beside the repository, else
 * ../shared from the repository root), load vectors/ans104.json with cJSON,
 * read its fields and decode its hex / base64 / base64url strings. Static
 * functions only: each binary that includes it gets its own copy.
 */
#ifndef AO_TESTS_VECTORS_H
#define AO_TESTS_VECTORS_H

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

/* The shared folder, or NULL with a message on stderr. */
static inline const char *vec_shared_dir(void)
{
    const char *env = getenv("AO_SHARED");
    const char *dir = env && *env ? env : "../shared";
    if (access(dir, R_OK) == 0)
        return dir;
    fprintf(stderr, "shared folder not found at %s (set AO_SHARED)\n", dir);
    return NULL;
}

/* Path of a file under the shared folder, in a static buffer; NULL if the
 * file is not there. */
static inline const char *vec_shared_path(const char *rel)
{
    static char path[4096];
    const char *dir = vec_shared_dir();
    if (!dir)
        return NULL;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (access(path, R_OK) == 0)
        return path;
    fprintf(stderr, "%s not found (set AO_SHARED)\n", path);
    return NULL;
}

/* The parsed vectors file (caller frees with cJSON_Delete), or NULL. */
static inline cJSON *vec_load(void)
{
    const char *p = vec_shared_path("vectors/ans104.json");
    if (!p)
        return NULL;
    ao_buf b;
    ao_buf_init(&b);
    if (ao_file_read(p, &b, NULL) != AO_OK)
        return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    ao_buf_free(&b);
    return j;
}

static inline const char *vec_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A number, or a decimal string; -1 when missing. */
static inline long vec_int(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsNumber(v))
        return (long)v->valuedouble;
    if (cJSON_IsString(v))
        return strtol(v->valuestring, NULL, 10);
    return -1;
}

static inline const cJSON *vec_arr(const cJSON *root, const char *key)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    return cJSON_IsArray(a) ? a : NULL;
}

/* The element of array root[arr] whose "name" is name, or NULL. */
static inline const cJSON *vec_find(const cJSON *root, const char *arr, const char *name)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, vec_arr(root, arr)) {
        const char *n = vec_str(it, "name");
        if (n && !strcmp(n, name))
            return it;
    }
    return NULL;
}

/* Decoders: out must be initialised (ao_buf_init or = {0}); it is reset,
 * then filled. Return AO_OK or an error code. */
static inline int vec_hex(const char *s, ao_buf *out)
{
    ao_buf_reset(out);
    return s ? ao_hex_decode(s, strlen(s), out, NULL) : AO_EINVAL;
}

static inline int vec_b64url(const char *s, ao_buf *out)
{
    ao_buf_reset(out);
    return s ? ao_b64url_decode(s, strlen(s), out, NULL) : AO_EINVAL;
}

/* Standard base64 with padding: mapped to the url alphabet, '=' dropped. */
static inline int vec_b64(const char *s, ao_buf *out)
{
    ao_buf_reset(out);
    if (!s)
        return AO_EINVAL;
    size_t n = strlen(s);
    char *t = malloc(n + 1);
    if (!t)
        return AO_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++)
        t[k++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
    int rc = ao_b64url_decode(t, k, out, NULL);
    free(t);
    return rc;
}

/* Lowercase hex of up to 64 bytes in a static buffer (for comparisons). */
static inline const char *vec_tohex(const uint8_t *p, size_t n)
{
    static char h[2 * 64 + 1];
    if (n > 64)
        n = 64;
    ao_hex_encode_to(p, n, h);
    return h;
}

/* verify.<key> as -1 (missing), 0 (false or "throws..."), 1 (true). */
static inline int vec_verdict(const cJSON *o, const char *key)
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
