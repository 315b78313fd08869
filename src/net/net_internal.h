/*
 * net_internal.h - internals shared by the files of src/net (not part of
 * net.h): the HTTP server core every face runs on (server.c), and the
 * libcurl request helper the HTTP clients use (http_client.c).
 */
#ifndef AO_NET_INTERNAL_H
#define AO_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "net/net.h"

/* ---- server core (server.c) ---- */

struct MHD_Connection;

/* One request as a face sees it. path is the URL path (percent-decoded
 * by the HTTP library, no query string). body is bounded by max_body. */
typedef struct net_req {
    const char *method;
    const char *path;
    const uint8_t *body;
    size_t body_len;
    char ip[64];                    /* client address ("" if unknown) */
    struct MHD_Connection *conn;
} net_req;

#define NET_RESP_MAX_HEADERS 160

typedef struct net_resp {
    unsigned status;                /* 0 until set */
    const char *ctype;              /* static string or NULL */
    char *ctype_owned;              /* an owned content type (overrides) */
    ao_buf body;
    size_t nheaders;
    char *hname[NET_RESP_MAX_HEADERS];   /* owned copies */
    char *hvalue[NET_RESP_MAX_HEADERS];
} net_resp;

/* Query parameter value (NULL when absent or given without a value). */
const char *net_req_query(const net_req *rq, const char *name);
/* Whether a query parameter is present at all (with or without value). */
bool net_req_has_query(const net_req *rq, const char *name);
/* Request header value or NULL. */
const char *net_req_header(const net_req *rq, const char *name);

/* Set the response: status, content type (static) and body (copied). */
int net_resp_set(net_resp *rs, unsigned status, const char *ctype, const void *p, size_t n);
/* Status + JSON body taken from b (b is left empty). */
int net_resp_json(net_resp *rs, unsigned status, ao_buf *b);
/* {"error": msg} with status. */
int net_resp_error(net_resp *rs, unsigned status, const char *msg);
/* An extra response header (copied). */
int net_resp_header(net_resp *rs, const char *name, const char *value);
/* Content type copied (for values that come from data). */
int net_resp_ctype(net_resp *rs, const char *ctype);

/* The status net.h gives an AO_E* code on a unit face. */
unsigned net_status_of(int rc);
/* An error answer for a unit's code: status net_status_of(rc), body
 * {"error": err->msg} (a generic text when the message is empty). */
int net_resp_code(net_resp *rs, int rc, const ao_error *err);

/* A face: its routes, given a request, fill the response. The core handles
 * OPTIONS, GET /health, GET /metrics, body limits (413), CORS, logging and
 * metrics before and after. */
typedef void (*net_handler)(void *ctx, const net_req *rq, net_resp *rs);

typedef struct net_core_options {
    const char *name;               /* "su", "cu", "mu", "gateway": log unit
                                       and metric prefix */
    const char *host;               /* NULL = 127.0.0.1 */
    uint16_t port;
    unsigned threads;               /* pool size (0 = 16) */
    bool thread_per_connection;     /* instead of a pool (blocking routes) */
    size_t max_body;                /* 0 = NET_MAX_BODY */
    unsigned timeout_s;             /* 0 = NET_TIMEOUT_S */
    const char *allow_methods;      /* CORS Allow-Methods; NULL = default */
} net_core_options;

typedef struct net_core net_core;

int net_core_start(const net_core_options *o, net_handler h, void *ctx, net_core **out,
                   ao_error *err);

/* What net_su_start & co. return (net.h's opaque net_server). */
struct net_server {
    net_core *core;
    void *unit;
};
/* Start a face: net_server over a core with the face's defaults
 * (threads 16). */
int net_server_start_face(const char *name, const net_server_options *opt, bool per_connection,
                          net_handler h, void *unit, net_server **out, ao_error *err);
uint16_t net_core_port(const net_core *c);
void net_core_stop(net_core *c);

/* Whether s (n bytes) is a 43-char base64url id of 32 bytes. */
bool net_is_id(const char *s, size_t n);

/* Split path ("/a/b/c") into up to max segments (pointers into path,
 * lengths); returns the count, or max + 1 if there are more. A leading
 * '/' is required (else 0 and *bad = true). "/" gives one empty segment. */
size_t net_path_split(const char *path, const char **seg, size_t *len, size_t max, bool *bad);

/* The HTTP client (http_client.c) is public: see net.h. */

#endif
