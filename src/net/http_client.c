/*
 * http_client.c - the one libcurl request function the node's HTTP clients
 * use: a fresh easy handle per request over a process-wide share handle
 * (connection cache and DNS shared, so keep-alive connections are reused
 * across calls and threads), connect and total timeouts, no signals; and
 * the mapping of an answer's status back to an AO_E* code.
 */
#include "net/net_internal.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static CURLSH *g_share;
static bool g_ok;
static pthread_mutex_t g_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *u)
{
    (void)h;
    (void)access;
    (void)u;
    pthread_mutex_lock(&g_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *u)
{
    (void)h;
    (void)u;
    pthread_mutex_unlock(&g_locks[data]);
}

static void global_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&g_locks[i], NULL);
    g_share = curl_share_init();
    if (g_share) {
        curl_share_setopt(g_share, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(g_share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
        curl_share_setopt(g_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    }
    g_ok = true;
}

void net_http_answer_init(net_http_answer *a)
{
    memset(a, 0, sizeof *a);
    ao_buf_init(&a->body);
}

void net_http_answer_free(net_http_answer *a)
{
    ao_buf_free(&a->body);
    free(a->ctype);
    for (size_t i = 0; i < 8; i++)
        free(a->hvalues[i]);
    memset(a, 0, sizeof *a);
}

typedef struct {
    net_http_answer *a;
    const char *const *want;
    bool oom;
} hdr_ctx;

static size_t on_body(char *p, size_t size, size_t n, void *u)
{
    net_http_answer *a = u;
    if (ao_buf_append(&a->body, p, size * n))
        return 0;
    return size * n;
}

static char *trimmed_copy(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

static size_t on_header(char *p, size_t size, size_t n, void *u)
{
    hdr_ctx *h = u;
    size_t len = size * n;
    /* a new status line (redirect or 100-continue) restarts the headers */
    if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
        free(h->a->ctype);
        h->a->ctype = NULL;
        for (size_t i = 0; i < 8; i++) {
            free(h->a->hvalues[i]);
            h->a->hvalues[i] = NULL;
        }
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return len;
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vlen = len - nlen - 1;
    if (nlen == 12 && !strncasecmp(p, "Content-Type", 12)) {
        free(h->a->ctype);
        h->a->ctype = trimmed_copy(v, vlen);
        if (!h->a->ctype)
            h->oom = true;
    }
    for (size_t i = 0; h->want && h->want[i] && i < 8; i++)
        if (strlen(h->want[i]) == nlen && !strncasecmp(p, h->want[i], nlen)) {
            free(h->a->hvalues[i]);
            h->a->hvalues[i] = trimmed_copy(v, vlen);
            if (!h->a->hvalues[i])
                h->oom = true;
        }
    return len;
}

int net_http_request(const char *method, const char *url, const void *body, size_t body_len,
                     const char *ctype, const char *const *want_headers, long timeout_ms,
                     net_http_answer *a, ao_error *err)
{
    pthread_once(&g_once, global_init);
    if (!g_ok)
        return ao_err_set(err, AO_EIO, "libcurl could not be initialised");
    CURL *h = curl_easy_init();
    if (!h)
        return ao_err_set(err, AO_ENOMEM, "libcurl: no easy handle");
    struct curl_slist *hdrs = NULL;
    char ctline[160];
    bool oom = false;
    if (body || !strcmp(method, "POST")) {
        snprintf(ctline, sizeof ctline, "Content-Type: %s",
                 ctype ? ctype : "application/octet-stream");
        struct curl_slist *t = curl_slist_append(hdrs, ctline);
        oom |= !t;
        hdrs = t ? t : hdrs;
    }
    struct curl_slist *t = curl_slist_append(hdrs, "Accept: application/json");
    oom |= !t;
    hdrs = t ? t : hdrs;
    t = curl_slist_append(hdrs, "Expect:");   /* no 100-continue round trip */
    oom |= !t;
    hdrs = t ? t : hdrs;
    if (oom) {
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    hdr_ctx hc = { a, want_headers, false };
    if (g_share)
        curl_easy_setopt(h, CURLOPT_SHARE, g_share);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)NET_HTTP_CONNECT_MS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : NET_HTTP_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hc);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* an SU router answers 307 with the owning SU: follow it, keeping
     * the method and body */
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
    } else if (strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
    }
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    if (hc.oom)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    if (cc != CURLE_OK) {
        a->status = 0;
        return ao_err_set(err, AO_EIO, "%s %s: %s", method, url, curl_easy_strerror(cc));
    }
    a->status = status;
    return AO_OK;
}

int net_http_code(const net_http_answer *a, const char *what, ao_error *err)
{
    if (a->status >= 200 && a->status < 300)
        return AO_OK;
    int code;
    switch (a->status) {
    case 400: code = AO_EINVAL; break;
    case 403: code = AO_EDENIED; break;
    case 404: code = AO_ENOTFOUND; break;
    case 413: code = AO_ELIMIT; break;
    default: code = AO_EIO; break;
    }
    /* the answer's {"error": text}, else the start of the body */
    char msg[200] = "";
    cJSON *j = a->body.len ? cJSON_ParseWithLength((const char *)a->body.data, a->body.len)
                           : NULL;
    cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
    if (cJSON_IsString(e)) {
        snprintf(msg, sizeof msg, "%s", e->valuestring);
    } else {
        size_t n = a->body.len < sizeof msg - 1 ? a->body.len : sizeof msg - 1;
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = a->body.data[i];
            msg[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
        }
        msg[n] = 0;
    }
    cJSON_Delete(j);
    return ao_err_set(err, code, "%s: HTTP %ld: %s", what, a->status, msg);
}

int net_url_escape(ao_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int rc;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~')
            rc = ao_buf_append_byte(b, ch);
        else
            rc = ao_buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
        if (rc)
            return rc;
    }
    return AO_OK;
}
