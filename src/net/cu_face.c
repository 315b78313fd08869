/*
 * cu_face.c - the CU's HTTP face (PROTOCOL.md §4) over cu.h, on the shared
 * server core with a thread per connection (a /result call may block for
 * seconds while the process evaluates):
 *   GET  /                                   cu_info_json
 *   GET  /result/{msg}?process-id=P[&no-busy=1]   AO_EBUSY -> 202 + body
 *   GET  /results/{pid}?from&to&sort&limit
 *   POST /dry-run?process-id=P[&to=msg]      JSON message body
 *   GET  /state/{pid}[?to]                   octet-stream, Last-Timestamp,
 *                                            Last-Ordinate, Last-Block-Height
 *   GET  /cron/{pid}?from&to&limit
 */
#include "net/net.h"
#include "net/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu/cu.h"

static void answer(net_resp *rs, int rc, ao_buf *b, const ao_error *err)
{
    if (rc == AO_OK)
        net_resp_json(rs, 200, b);
    else if (rc == AO_EBUSY && b->len)
        net_resp_json(rs, 202, b);
    else if (rc == AO_EBUSY)
        net_resp_error(rs, 202, err->msg);
    else
        net_resp_code(rs, rc, err);
    ao_buf_free(b);
}

/* Query values that, when named, must carry a value. */
static bool missing_value(const net_req *rq, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (!net_req_query(rq, names[i]) && net_req_has_query(rq, names[i]))
            return true;
    return false;
}

static bool is_true(const char *v)
{
    return v && strcmp(v, "0") && strcmp(v, "false");
}

static void take_id(char id[WEAVE_ID_MAX], const char *s)
{
    memcpy(id, s, 43);
    id[43] = 0;
}

static void route_result(cu *c, const net_req *rq, net_resp *rs, const char *msg)
{
    const char *pid = net_req_query(rq, "process-id");
    if (!pid || !net_is_id(pid, strlen(pid))) {
        net_resp_error(rs, 400, "process-id (a 43-character id) is required");
        return;
    }
    bool no_busy = net_req_has_query(rq, "no-busy") &&
                   (!net_req_query(rq, "no-busy") || is_true(net_req_query(rq, "no-busy")));
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    int rc = cu_result(c, msg, pid, no_busy, &b, &err);
    answer(rs, rc, &b, &err);
}

static void route_dry_run(cu *c, const net_req *rq, net_resp *rs)
{
    const char *pid = net_req_query(rq, "process-id");
    if (!pid || !net_is_id(pid, strlen(pid))) {
        net_resp_error(rs, 400, "process-id (a 43-character id) is required");
        return;
    }
    const char *to = net_req_query(rq, "to");
    if ((to && !net_is_id(to, strlen(to))) || (!to && net_req_has_query(rq, "to"))) {
        net_resp_error(rs, 400, "to must be a 43-character message id");
        return;
    }
    if (rq->body_len == 0) {
        net_resp_error(rs, 400, "empty body: send the message as JSON");
        return;
    }
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    int rc = cu_dry_run(c, pid, to, (const char *)rq->body, rq->body_len, &b, &err);
    answer(rs, rc, &b, &err);
}

static void route_state(cu *c, const net_req *rq, net_resp *rs, const char *pid)
{
    static const char *const valued[] = { "to", NULL };
    if (missing_value(rq, valued)) {
        net_resp_error(rs, 400, "a query parameter is missing its value");
        return;
    }
    cu_state_meta meta = { 0 };
    ao_error err = { 0 };
    ao_buf mem;
    ao_buf_init(&mem);
    int rc = cu_state(c, pid, net_req_query(rq, "to"), &mem, &meta, &err);
    if (rc) {
        ao_buf_free(&mem);
        net_resp_code(rs, rc == AO_EBUSY ? AO_EIO : rc, &err);
        return;
    }
    ao_buf_free(&rs->body);
    rs->body = mem;
    rs->status = 200;
    rs->ctype = "application/octet-stream";
    char v[32];
    snprintf(v, sizeof v, "%lld", (long long)meta.timestamp);
    net_resp_header(rs, "Last-Timestamp", v);
    snprintf(v, sizeof v, "%lld", (long long)meta.ordinate);
    net_resp_header(rs, "Last-Ordinate", v);
    snprintf(v, sizeof v, "%lld", (long long)meta.block_height);
    net_resp_header(rs, "Last-Block-Height", v);
}

static void dispatch(void *ctx, const net_req *rq, net_resp *rs)
{
    cu *c = ctx;
    bool get = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
    bool post = !strcmp(rq->method, "POST");
    const char *seg[3];
    size_t len[3];
    bool badpath;
    size_t n = net_path_split(rq->path, seg, len, 3, &badpath);
    if (badpath || n > 2) {
        net_resp_error(rs, 404, "no such route");
        return;
    }
#define SEG0(lit) (len[0] == sizeof(lit) - 1 && !memcmp(seg[0], lit, sizeof(lit) - 1))
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    if (n == 1 && len[0] == 0) {
        if (!get) {
            net_resp_error(rs, 405, "method not allowed");
            return;
        }
        answer(rs, cu_info_json(c, &b, &err), &b, &err);
        return;
    }
    if (n == 1 && SEG0("dry-run")) {
        if (!post) {
            net_resp_error(rs, 405, "method not allowed");
            return;
        }
        route_dry_run(c, rq, rs);
        return;
    }
    if (n != 2 || !(SEG0("result") || SEG0("results") || SEG0("state") || SEG0("cron"))) {
        net_resp_error(rs, 404, "no such route");
        return;
    }
    if (!get) {
        net_resp_error(rs, 405, "method not allowed");
        return;
    }
    if (!net_is_id(seg[1], len[1])) {
        net_resp_error(rs, 400, "invalid id: expected 43 base64url characters");
        return;
    }
    char id[WEAVE_ID_MAX];
    take_id(id, seg[1]);
    static const char *const valued[] = { "from", "to", "sort", "limit", NULL };
    if (SEG0("result")) {
        route_result(c, rq, rs, id);
    } else if (SEG0("state")) {
        route_state(c, rq, rs, id);
    } else if (missing_value(rq, valued)) {
        net_resp_error(rs, 400, "a query parameter is missing its value");
    } else if (SEG0("results")) {
        int rc = cu_results(c, id, net_req_query(rq, "from"), net_req_query(rq, "to"),
                            net_req_query(rq, "sort"), net_req_query(rq, "limit"), &b, &err);
        answer(rs, rc, &b, &err);
    } else {
        int rc = cu_cron(c, id, net_req_query(rq, "from"), net_req_query(rq, "to"),
                         net_req_query(rq, "limit"), &b, &err);
        answer(rs, rc, &b, &err);
    }
#undef SEG0
}

int net_cu_start(struct cu *c, const net_server_options *opt, net_server **out, ao_error *err)
{
    return net_server_start_face("cu", opt, true, dispatch, c, out, err);
}
