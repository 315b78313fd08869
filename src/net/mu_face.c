/*
 * mu_face.c - the MU's HTTP face (PROTOCOL.md §3) over mu.h, on the shared
 * server core:
 *   GET    /                          text "ao messenger unit"
 *   POST   /                          a signed item -> 202 {"message":
 *                                     "Processing DataItem","id"}
 *   POST   /?process-id=&assign=[&base-layer][&exclude=]  (both or neither)
 *                                     -> 202 {"message":"Processing
 *                                     Assignment","id"}
 *   POST   /monitor/{pid}             signed item -> 200 "Monitoring process"
 *   DELETE /monitor/{pid}             -> 200 "Process deleted"
 *   GET    /dead-letters              the pushes given up on, with reasons
 * The client's address is passed to mu_post (rate limits per IP).
 */
#include "net/net.h"
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

#include "mu/mu.h"

static const char *query_id(const net_req *rq, const char *name, bool *bad)
{
    const char *v = net_req_query(rq, name);
    if (!v || !net_is_id(v, strlen(v)))
        *bad = true;
    return v;
}

static void post_root(mu *m, const net_req *rq, net_resp *rs)
{
    bool has_pid = net_req_has_query(rq, "process-id");
    bool has_assign = net_req_has_query(rq, "assign");
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    int rc;
    if (has_pid || has_assign) {
        if (!has_pid || !has_assign) {
            net_resp_error(rs, 400, "process-id and assign go together");
            return;
        }
        bool bad = false;
        const char *pid = query_id(rq, "process-id", &bad);
        const char *tx = query_id(rq, "assign", &bad);
        if (bad) {
            net_resp_error(rs, 400, "process-id and assign must be 43-character ids");
            return;
        }
        rc = mu_assign(m, pid, tx, net_req_has_query(rq, "base-layer"),
                       net_req_query(rq, "exclude"), &b, &err);
    } else {
        if (rq->body_len == 0) {
            net_resp_error(rs, 400, "empty body: send a signed ANS-104 data item");
            return;
        }
        rc = mu_post(m, rq->body, rq->body_len, rq->ip[0] ? rq->ip : NULL, &b, &err);
    }
    if (rc)
        net_resp_code(rs, rc, &err);
    else
        net_resp_json(rs, 202, &b);
    ao_buf_free(&b);
}

static void dispatch(void *ctx, const net_req *rq, net_resp *rs)
{
    mu *m = ctx;
    bool get = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
    bool post = !strcmp(rq->method, "POST");
    bool del = !strcmp(rq->method, "DELETE");
    const char *seg[3];
    size_t len[3];
    bool badpath;
    size_t n = net_path_split(rq->path, seg, len, 3, &badpath);
    if (badpath || n > 2) {
        net_resp_error(rs, 404, "no such route");
        return;
    }
    ao_error err = { 0 };
    if (n == 1 && len[0] == 0) {
        if (post)
            post_root(m, rq, rs);
        else if (get)
            net_resp_set(rs, 200, "text/plain; charset=utf-8", "ao messenger unit", 17);
        else
            net_resp_error(rs, 405, "method not allowed");
        return;
    }
    if (n == 1 && len[0] == 12 && !memcmp(seg[0], "dead-letters", 12)) {
        if (!get) {
            net_resp_error(rs, 405, "method not allowed");
            return;
        }
        ao_buf b;
        ao_buf_init(&b);
        int rc = mu_dead_letters_json(m, &b, &err);
        if (rc)
            net_resp_code(rs, rc, &err);
        else
            net_resp_json(rs, 200, &b);
        ao_buf_free(&b);
        return;
    }
    if (n == 2 && len[0] == 7 && !memcmp(seg[0], "monitor", 7)) {
        if (!post && !del) {
            net_resp_error(rs, 405, "method not allowed");
            return;
        }
        if (!net_is_id(seg[1], len[1])) {
            net_resp_error(rs, 400, "invalid process id: expected 43 base64url characters");
            return;
        }
        char pid[WEAVE_ID_MAX];
        memcpy(pid, seg[1], 43);
        pid[43] = 0;
        int rc;
        if (post) {
            if (rq->body_len == 0) {
                net_resp_error(rs, 400, "empty body: send a signed item targeting the process");
                return;
            }
            rc = mu_monitor(m, pid, rq->body, rq->body_len, &err);
        } else {
            rc = mu_unmonitor(m, pid, &err);
        }
        if (rc)
            net_resp_code(rs, rc, &err);
        else if (post)
            net_resp_set(rs, 200, "text/plain; charset=utf-8", "Monitoring process", 18);
        else
            net_resp_set(rs, 200, "text/plain; charset=utf-8", "Process deleted", 15);
        return;
    }
    net_resp_error(rs, 404, "no such route");
}

int net_mu_start(struct mu *m, const net_server_options *opt, net_server **out, ao_error *err)
{
    return net_server_start_face("mu", opt, false, dispatch, m, out, err);
}
