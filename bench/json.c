/*
 * json.c - benchmark of the two JSON libraries available on Debian 12,
 * cJSON and jansson, on the Compute Unit's hot path: parse an AO evaluation
 * result (Output, Messages with Tags, Spawns, Assignments, GasUsed), walk
 * the Messages and their Tags, and serialise it again. Three result sizes
 * (~2, ~8 and ~20 KB); prints microseconds per parse+walk+serialise for
 * each library and the jansson/cJSON time ratio (> 1: cJSON is faster).
 */
#include <cJSON.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A deterministic AO result with n_msgs outgoing messages. */
static char *make_result(int n_msgs)
{
    ao_buf b;
    ao_buf_init(&b);
    ao_buf_printf(&b, "{\"Output\":{\"data\":\"Balance: 1000\\nTransferred 25 to "
                      "x7Wj3aQk9_Zb-0L2QmZ8yN4rT6uV1wXyZaBcDeFgHiJ\\n\\u001b[32mok\\u001b[0m\","
                      "\"prompt\":\"aos> \",\"print\":true},\"Messages\":[");
    for (int i = 0; i < n_msgs; i++) {
        ao_buf_printf(&b,
            "%s{\"Target\":\"Tg%041d\",\"Anchor\":\"%032d\",\"Data\":\"{\\\"amount\\\":%d,"
            "\\\"memo\\\":\\\"payment n\\u00b0%d \\u2713\\\"}\",\"Tags\":["
            "{\"name\":\"Data-Protocol\",\"value\":\"ao\"},"
            "{\"name\":\"Variant\",\"value\":\"ao.TN.1\"},"
            "{\"name\":\"Type\",\"value\":\"Message\"},"
            "{\"name\":\"From-Process\",\"value\":\"Pr%041d\"},"
            "{\"name\":\"From-Module\",\"value\":\"Mo%041d\"},"
            "{\"name\":\"Ref_\",\"value\":\"%d\"},"
            "{\"name\":\"Action\",\"value\":\"Credit-Notice\"},"
            "{\"name\":\"Quantity\",\"value\":\"%d\"},"
            "{\"name\":\"Sender\",\"value\":\"Se%041d\"}]}",
            i ? "," : "", i, i * 7, i * 100 + 5, i, i, i, 1000 + i, i * 25, i);
    }
    ao_buf_printf(&b, "],\"Spawns\":[],\"Assignments\":[{\"Processes\":[\"P%042d\"],"
                      "\"Message\":\"M%042d\"}],\"GasUsed\":%d}", 1, 2, 123456789);
    size_t len;
    return (char *)ao_buf_take(&b, &len);
}

/* ---- one round per library: parse, walk, serialise ---- */

static long round_cjson(const char *text, size_t len, size_t *out_len)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return -1;
    long actions = 0;
    const cJSON *msg, *tag;
    cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(root, "Messages")) {
        cJSON_ArrayForEach(tag, cJSON_GetObjectItemCaseSensitive(msg, "Tags")) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(tag, "name");
            if (cJSON_IsString(n) && !strcmp(n->valuestring, "Action"))
                actions++;
        }
    }
    const cJSON *gas = cJSON_GetObjectItemCaseSensitive(root, "GasUsed");
    if (!cJSON_IsNumber(gas))
        actions = -1;
    char *out = cJSON_PrintUnformatted(root);
    *out_len = out ? strlen(out) : 0;
    cJSON_free(out);
    cJSON_Delete(root);
    return out ? actions : -1;
}

static long round_jansson(const char *text, size_t len, size_t *out_len)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root)
        return -1;
    long actions = 0;
    json_t *msgs = json_object_get(root, "Messages");
    size_t i, j;
    json_t *msg, *tag;
    json_array_foreach(msgs, i, msg) {
        json_array_foreach(json_object_get(msg, "Tags"), j, tag) {
            const char *n = json_string_value(json_object_get(tag, "name"));
            if (n && !strcmp(n, "Action"))
                actions++;
        }
    }
    if (!json_is_integer(json_object_get(root, "GasUsed")))
        actions = -1;
    char *out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    *out_len = out ? strlen(out) : 0;
    free(out);
    json_decref(root);
    return out ? actions : -1;
}

typedef long (*round_fn)(const char *, size_t, size_t *);

/* Best of 3 runs of `iters` rounds; microseconds per round. */
static double time_rounds(round_fn f, const char *text, size_t len, int iters, long want)
{
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        for (int i = 0; i < iters; i++) {
            size_t ol;
            if (f(text, len, &ol) != want) {
                fprintf(stderr, "json bench: wrong result\n");
                exit(1);
            }
        }
        double dt = (now_s() - t0) / iters * 1e6;
        if (dt < best)
            best = dt;
    }
    return best;
}

int main(void)
{
    static const int sizes[] = { 2, 12, 32 };   /* messages: ~2, ~8, ~20 KB */
    printf("%-10s %8s %12s %12s %8s\n", "result", "bytes", "cJSON us", "jansson us", "ratio");
    double sum_c = 0, sum_j = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char *text = make_result(sizes[s]);
        size_t len = strlen(text);
        size_t lc = 0, lj = 0;
        long ac = round_cjson(text, len, &lc), aj = round_jansson(text, len, &lj);
        if (ac != sizes[s] || aj != sizes[s]) {
            fprintf(stderr, "json bench: libraries disagree (%ld, %ld actions)\n", ac, aj);
            return 1;
        }
        int iters = (int)(4000000 / len) + 50;   /* ~0.3 s per library */
        double tc = time_rounds(round_cjson, text, len, iters, ac);
        double tj = time_rounds(round_jansson, text, len, iters, aj);
        sum_c += tc;
        sum_j += tj;
        char label[32];
        snprintf(label, sizeof label, "%d msgs", sizes[s]);
        printf("%-10s %8zu %12.1f %12.1f %7.2fx\n", label, len, tc, tj, tj / tc);
        free(text);
    }
    printf("overall jansson/cJSON time ratio: %.2f (%s is faster)\n", sum_j / sum_c,
           sum_j > sum_c ? "cJSON" : "jansson");
    return 0;
}
