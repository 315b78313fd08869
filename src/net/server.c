/*
 * server.c - the HTTP server core every face of the node runs on
 * (libmicrohttpd): request bodies collected up to max_body (413 beyond),
 * OPTIONS and open CORS, GET /health and GET /metrics, JSON errors, the
 * AO_E* -> status mapping, one debug log line and a few counters per
 * request. A face only supplies a handler that fills a net_resp.
 */
#include "net/net.h"
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "weave/gql.h"

struct net_core {
    struct MHD_Daemon *d;
    net_handler handler;
    void *ctx;
    size_t max_body;
    uint16_t port;
    char name[16];
    const char *allow_methods;
    ao_metric *m_requests, *m_errors, *m_server_errors, *m_ms, *m_bytes_in, *m_bytes_out;
};

/* Bodies up to this many times the limit are drained before the 413, so
 * a client still sending reliably reads the answer. */
#define DRAIN_FACTOR 8

typedef struct request {
    ao_buf body;
    bool too_big;
    bool answered;
    int64_t start_ms;
} request;

/* ---- request accessors ---- */

const char *net_req_query(const net_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct {
    const char *name;
    bool found;
} has_arg;

static enum MHD_Result has_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    has_arg *h = cls;
    if (key && !strcmp(key, h->name)) {
        h->found = true;
        return MHD_NO;
    }
    return MHD_YES;
}

bool net_req_has_query(const net_req *rq, const char *name)
{
    has_arg h = { name, false };
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, has_iter, &h);
    return h.found;
}

const char *net_req_header(const net_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

/* ---- responses ---- */

int net_resp_set(net_resp *rs, unsigned status, const char *ctype, const void *p, size_t n)
{
    rs->status = status;
    rs->ctype = ctype;
    ao_buf_reset(&rs->body);
    return n ? ao_buf_append(&rs->body, p, n) : AO_OK;
}

int net_resp_json(net_resp *rs, unsigned status, ao_buf *b)
{
    rs->status = status;
    rs->ctype = "application/json; charset=utf-8";
    ao_buf_free(&rs->body);
    rs->body = *b;
    ao_buf_init(b);
    return AO_OK;
}

int net_resp_error(net_resp *rs, unsigned status, const char *msg)
{
    rs->status = status;
    rs->ctype = "application/json; charset=utf-8";
    ao_buf_reset(&rs->body);
    if (!msg || !*msg)
        msg = status >= 500 ? "internal error" : "bad request";
    if (ao_buf_append_str(&rs->body, "{\"error\":") ||
        weave_gql_json_string(&rs->body, msg, strlen(msg)) ||
        ao_buf_append_str(&rs->body, "}"))
        return AO_ENOMEM;
    return AO_OK;
}

int net_resp_header(net_resp *rs, const char *name, const char *value)
{
    if (rs->nheaders >= NET_RESP_MAX_HEADERS)
        return AO_ELIMIT;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return AO_ENOMEM;
    }
    rs->hname[rs->nheaders] = n;
    rs->hvalue[rs->nheaders] = v;
    rs->nheaders++;
    return AO_OK;
}

int net_resp_ctype(net_resp *rs, const char *ctype)
{
    char *c = strdup(ctype);
    if (!c)
        return AO_ENOMEM;
    free(rs->ctype_owned);
    rs->ctype_owned = c;
    return AO_OK;
}

static void resp_free(net_resp *rs)
{
    ao_buf_free(&rs->body);
    free(rs->ctype_owned);
    for (size_t i = 0; i < rs->nheaders; i++) {
        free(rs->hname[i]);
        free(rs->hvalue[i]);
    }
}

unsigned net_status_of(int rc)
{
    switch (rc) {
    case AO_OK:
        return 200;
    case AO_EINVAL: case AO_EFORMAT: case AO_EVERIFY: case AO_EUNSUPPORTED:
        return 400;
    case AO_EDENIED:
        return 403;
    case AO_ENOTFOUND:
        return 404;
    case AO_ELIMIT:
        return 413;
    case AO_ESTATE:
        return 503;
    case AO_EBUSY:
        return 202;
    default:
        return 500;
    }
}

int net_resp_code(net_resp *rs, int rc, const ao_error *err)
{
    unsigned st = net_status_of(rc);
    if (st < 400)
        st = 500;
    return net_resp_error(rs, st, err && err->msg[0] ? err->msg : NULL);
}

/* ---- helpers ---- */

bool net_is_id(const char *s, size_t n)
{
    if (n != 43)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    /* the last char of 43 carries 2 unused bits that must be zero */
    return strchr("AEIMQUYcgkosw048", s[42]) != NULL;
}

size_t net_path_split(const char *path, const char **seg, size_t *len, size_t max, bool *bad)
{
    *bad = false;
    if (!path || path[0] != '/') {
        *bad = true;
        return 0;
    }
    size_t n = 0;
    const char *s = path + 1;
    for (;;) {
        const char *e = strchr(s, '/');
        if (n == max)
            return max + 1;
        seg[n] = s;
        len[n] = e ? (size_t)(e - s) : strlen(s);
        n++;
        if (!e)
            return n;
        s = e + 1;
    }
}

/* ---- the daemon ---- */

static void add_cors(const net_core *nc, struct MHD_Response *r)
{
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(r, "Access-Control-Allow-Methods", nc->allow_methods);
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "*");
    MHD_add_response_header(r, "Access-Control-Expose-Headers", "*");
}

static enum MHD_Result send_resp(net_core *nc, struct MHD_Connection *c, net_resp *rs)
{
    size_t len = rs->body.len;
    uint8_t *p = len ? ao_buf_take(&rs->body, &len) : NULL;
    struct MHD_Response *r = p ? MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_FREE)
                               : MHD_create_response_from_buffer(0, (void *)"",
                                                                 MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(p);
        return MHD_NO;
    }
    const char *ct = rs->ctype_owned ? rs->ctype_owned : rs->ctype;
    if (ct)
        MHD_add_response_header(r, "Content-Type", ct);
    for (size_t i = 0; i < rs->nheaders; i++)
        MHD_add_response_header(r, rs->hname[i], rs->hvalue[i]);
    add_cors(nc, r);
    enum MHD_Result q = MHD_queue_response(c, rs->status, r);
    MHD_destroy_response(r);
    ao_metric_add(nc->m_bytes_out, (int64_t)len);
    return q;
}

static void client_ip(struct MHD_Connection *c, char *out, size_t cap)
{
    out[0] = 0;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                  (socklen_t)cap);
}

static void builtin_or_handler(net_core *nc, const net_req *rq, net_resp *rs, request *r)
{
    bool get = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
    if (!strcmp(rq->method, "OPTIONS")) {
        rs->status = 204;
        return;
    }
    if (r->too_big) {
        net_resp_error(rs, 413, "request body too large");
        return;
    }
    if (rq->path[0] != '/') {
        net_resp_error(rs, 400, "bad request target");
        return;
    }
    if (get && !strcmp(rq->path, "/health")) {
        ao_buf b;
        ao_buf_init(&b);
        if (ao_buf_append_str(&b, "{\"status\":\"ok\"}")) {
            ao_buf_free(&b);
            return;
        }
        net_resp_json(rs, 200, &b);
        return;
    }
    if (get && !strcmp(rq->path, "/metrics")) {
        rs->status = 200;
        rs->ctype = "text/plain; version=0.0.4; charset=utf-8";
        if (ao_metrics_render(&rs->body))
            rs->status = 0;
        return;
    }
    nc->handler(nc->ctx, rq, rs);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    net_core *nc = cls;
    request *r = *con_cls;
    if (!r) {
        /* name the server thread by its face ("mu-http"...), once, so
         * per-thread CPU time can be told apart (bench/e2e) */
        static _Thread_local bool named;
        if (!named) {
            char tn[16];
            snprintf(tn, sizeof tn, "%.10s-http", nc->name);
            pthread_setname_np(pthread_self(), tn);
            named = true;
        }
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        ao_buf_init(&r->body);
        r->start_ms = ao_mono_ms();
        *con_cls = r;
        /* a declared size far above the limit is refused at once */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            unsigned long long v = strtoull(cl, &end, 10);
            if (v / DRAIN_FACTOR > nc->max_body) {
                r->answered = true;
                net_resp rs = { 0 };
                ao_buf_init(&rs.body);
                net_resp_error(&rs, 413, "request body too large");
                enum MHD_Result q = send_resp(nc, c, &rs);
                resp_free(&rs);
                ao_metric_add(nc->m_requests, 1);
                ao_metric_add(nc->m_errors, 1);
                ao_log(AO_LOG_DEBUG, nc->name, "%s %s -> 413 (declared %llu bytes)", method,
                       url, v);
                return q;
            }
            if (v > nc->max_body)
                r->too_big = true;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!r->too_big && !r->answered) {
            if (r->body.len + *upload_data_size > nc->max_body) {
                r->too_big = true;
                ao_buf_free(&r->body);
            } else if (ao_buf_append(&r->body, upload_data, *upload_data_size)) {
                return MHD_NO;
            }
        }
        ao_metric_add(nc->m_bytes_in, (int64_t)*upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->answered)
        return MHD_YES;
    r->answered = true;

    net_req rq = { 0 };
    rq.method = method;
    rq.path = url;
    rq.body = r->body.data;
    rq.body_len = r->body.len;
    rq.conn = c;
    client_ip(c, rq.ip, sizeof rq.ip);
    net_resp rs = { 0 };
    ao_buf_init(&rs.body);
    builtin_or_handler(nc, &rq, &rs, r);
    if (rs.status == 0)
        net_resp_error(&rs, 500, "internal error");
    unsigned status = rs.status;
    enum MHD_Result q = send_resp(nc, c, &rs);
    resp_free(&rs);
    int64_t ms = ao_mono_ms() - r->start_ms;
    ao_metric_add(nc->m_requests, 1);
    ao_metric_add(nc->m_ms, ms);
    if (status >= 400)
        ao_metric_add(nc->m_errors, 1);
    if (status >= 500)
        ao_metric_add(nc->m_server_errors, 1);
    if (ao_log_enabled(AO_LOG_DEBUG))
        ao_log(AO_LOG_DEBUG, nc->name, "%s %s %s -> %u (%zu bytes in, %lld ms)", rq.ip, method,
               url, status, rq.body_len, (long long)ms);
    return q;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    request *r = *con_cls;
    if (r) {
        ao_buf_free(&r->body);
        free(r);
        *con_cls = NULL;
    }
}

static ao_metric *metric(const char *face, const char *what, const char *help)
{
    char name[96];
    snprintf(name, sizeof name, "ao_%s_http_%s", face, what);
    return ao_metric_get(name, help, false);
}

int net_core_start(const net_core_options *o, net_handler h, void *ctx, net_core **out,
                   ao_error *err)
{
    *out = NULL;
    net_core *nc = calloc(1, sizeof *nc);
    if (!nc)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    nc->handler = h;
    nc->ctx = ctx;
    nc->max_body = o->max_body ? o->max_body : NET_MAX_BODY;
    snprintf(nc->name, sizeof nc->name, "%s", o->name ? o->name : "http");
    nc->allow_methods = o->allow_methods ? o->allow_methods
                                         : "GET, HEAD, POST, DELETE, OPTIONS";
    nc->m_requests = metric(nc->name, "requests_total", "HTTP requests answered");
    nc->m_errors = metric(nc->name, "errors_total", "HTTP answers with status >= 400");
    nc->m_server_errors = metric(nc->name, "server_errors_total",
                                 "HTTP answers with status >= 500");
    nc->m_ms = metric(nc->name, "request_ms_total", "milliseconds spent answering requests");
    nc->m_bytes_in = metric(nc->name, "received_bytes_total", "request body bytes received");
    nc->m_bytes_out = metric(nc->name, "sent_bytes_total", "response body bytes sent");
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(o->port);
    const char *host = o->host ? o->host : "127.0.0.1";
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        free(nc);
        return ao_err_set(err, AO_EINVAL, "not an IPv4 address: %s", host);
    }
    unsigned threads = o->threads ? o->threads : 16;
    unsigned timeout = o->timeout_s ? o->timeout_s : NET_TIMEOUT_S;
    if (o->thread_per_connection)
        nc->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
                                 MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL,
                                 o->port, NULL, NULL, on_request, nc,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                 MHD_OPTION_CONNECTION_LIMIT, threads * 16,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, nc,
                                 MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
                                 MHD_OPTION_END);
    else
        nc->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, o->port,
                                 NULL, NULL, on_request, nc,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                 MHD_OPTION_THREAD_POOL_SIZE, threads,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, nc,
                                 MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
                                 MHD_OPTION_END);
    if (!nc->d) {
        free(nc);
        return ao_err_set(err, AO_EIO, "cannot listen on %s:%u", host, (unsigned)o->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(nc->d, MHD_DAEMON_INFO_BIND_PORT);
    nc->port = info ? info->port : o->port;
    ao_log(AO_LOG_DEBUG, nc->name, "listening on http://%s:%u", host, (unsigned)nc->port);
    *out = nc;
    return AO_OK;
}

uint16_t net_core_port(const net_core *c)
{
    return c->port;
}

void net_core_stop(net_core *c)
{
    if (!c)
        return;
    MHD_stop_daemon(c->d);
    free(c);
}

/* ---- net_server: the unit faces' handle ---- */

int net_server_start_face(const char *name, const net_server_options *opt, bool per_connection,
                          net_handler h, void *unit, net_server **out, ao_error *err)
{
    *out = NULL;
    if (!unit)
        return ao_err_set(err, AO_EINVAL, "%s face: no unit", name);
    net_server_options o = { 0 };
    if (opt)
        o = *opt;
    net_server *s = calloc(1, sizeof *s);
    if (!s)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    s->unit = unit;
    net_core_options co = { 0 };
    co.name = name;
    co.host = o.host;
    co.port = o.port;
    co.threads = o.threads ? o.threads : 16;
    co.thread_per_connection = per_connection;
    co.max_body = o.max_body;
    co.timeout_s = o.timeout_s;
    int rc = net_core_start(&co, h, unit, &s->core, err);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return AO_OK;
}

uint16_t net_server_port(const net_server *s)
{
    return net_core_port(s->core);
}

void net_server_stop(net_server *s)
{
    if (!s)
        return;
    net_core_stop(s->core);
    free(s);
}
