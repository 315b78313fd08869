/*
 * fuzz_http_query.c - the request-target helpers of src/net: splitting a
 * path into segments (net_path_split), recognising ids (net_is_id) and
 * percent-encoding query values (net_url_escape, checked by decoding it
 * back with libcurl). Invariants: segments lie inside the path, never
 * contain '/', and joined with '/' give the path back; an id is exactly
 * 43 base64url chars; an escaped value has only unreserved chars and '%'
 * and decodes to the input.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    size_t n = strlen(s);

    const char *seg[8];
    size_t len[8];
    bool bad;
    size_t k = net_path_split(s, seg, len, 8, &bad);
    if (bad) {
        if (k != 0 || (n > 0 && s[0] == '/'))
            abort();
    } else if (k <= 8) {
        size_t total = 0;
        for (size_t i = 0; i < k; i++) {
            if (seg[i] < s || seg[i] + len[i] > s + n || memchr(seg[i], '/', len[i]))
                abort();
            if (seg[i] != s + 1 + total)
                abort();
            total += len[i] + 1;
        }
        if (total != n)
            abort();
    }

    if (net_is_id(s, n)) {
        if (n != 43)
            abort();
        for (size_t i = 0; i < n; i++)
            if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", s[i]))
                abort();
    }

    ao_buf b;
    ao_buf_init(&b);
    if (net_url_escape(&b, s) == AO_OK && b.len == 0) {
        if (n != 0)
            abort();
    } else if (b.len) {
        for (size_t i = 0; i < b.len; i++)
            if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%",
                        b.data[i]))
                abort();
        int outlen = 0;
        char *dec = curl_easy_unescape(NULL, (const char *)b.data, (int)b.len, &outlen);
        if (dec) {
            if ((size_t)outlen != n || memcmp(dec, s, n))
                abort();
            curl_free(dec);
        }
    }
    ao_buf_free(&b);
    free(s);
    return 0;
}
