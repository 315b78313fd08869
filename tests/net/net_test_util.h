/*
 * net_test_util.h - header-only helpers for the face tests: one HTTP call
 * (libcurl through net_http_request) returning status, body and JSON, and
 * a few JSON accessors. Static functions only.
 */
#ifndef AO_TESTS_NET_TEST_UTIL_H
#define AO_TESTS_NET_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "net/net_internal.h"

typedef struct ntu_answer {
    long status;
    ao_buf body;
    char ctype[128];
    char hdr[8][128];        /* the wanted headers, "" when absent */
    cJSON *json;             /* parsed body or NULL */
} ntu_answer;

static inline void ntu_free(ntu_answer *a)
{
    ao_buf_free(&a->body);
    cJSON_Delete(a->json);
    memset(a, 0, sizeof *a);
}

/* method base path [body]; want: NULL-terminated header names (or NULL). */
static inline long ntu_call(const char *method, const char *base, const char *path,
                            const void *body, size_t len, const char *ctype,
                            const char *const *want, ntu_answer *out)
{
    memset(out, 0, sizeof *out);
    ao_buf_init(&out->body);
    char url[2048];
    snprintf(url, sizeof url, "%s%s", base, path);
    net_http_answer a;
    net_http_answer_init(&a);
    ao_error err;
    if (net_http_request(method, url, body, len, ctype, want, 30000, &a, &err)) {
        fprintf(stderr, "request failed: %s\n", err.msg);
        net_http_answer_free(&a);
        return -1;
    }
    out->status = a.status;
    ao_buf_append(&out->body, a.body.data, a.body.len);
    snprintf(out->ctype, sizeof out->ctype, "%s", a.ctype ? a.ctype : "");
    for (size_t i = 0; want && want[i] && i < 8; i++)
        snprintf(out->hdr[i], sizeof out->hdr[i], "%s", a.hvalues[i] ? a.hvalues[i] : "");
    if (a.body.len)
        out->json = cJSON_ParseWithLength((const char *)a.body.data, a.body.len);
    net_http_answer_free(&a);
    return out->status;
}

static inline long ntu_get(const char *base, const char *path, ntu_answer *out)
{
    return ntu_call("GET", base, path, NULL, 0, NULL, NULL, out);
}

/* JSON path lookup: keys separated by '.', numbers index arrays. */
static inline cJSON *ntu_at(cJSON *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "."); tok && j; tok = strtok(NULL, ".")) {
        if (tok[0] >= '0' && tok[0] <= '9')
            j = cJSON_GetArrayItem(j, atoi(tok));
        else
            j = cJSON_GetObjectItemCaseSensitive(j, tok);
    }
    return j;
}

static inline const char *ntu_str(cJSON *j, const char *path)
{
    cJSON *v = ntu_at(j, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An answer is a JSON error {"error": non-empty string}. */
static inline bool ntu_is_error(const ntu_answer *a)
{
    const char *e = ntu_str(a->json, "error");
    return e && *e;
}

static inline bool ntu_body_is(const ntu_answer *a, const char *s)
{
    return a->body.len == strlen(s) && !memcmp(a->body.data, s, a->body.len);
}

#endif
