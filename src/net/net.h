/*
 * net.h - the node's HTTP faces (libmicrohttpd): the Arweave-compatible
 * gateway over a weave, the SU, CU and MU faces over their units, and the
 * HTTP clients (libcurl) that let a unit talk to another unit or to a
 * gateway on another machine through the units' client tables.
 *
 * Gateway routes (every answer carries open CORS headers; every error is
 * a JSON body {"error":"..."} with a 4xx/5xx status; unknown ids are 404):
 *   GET  /info, GET /            network, height, current block
 *   GET  /raw/{id}               the item's data, Content-Type from its tag
 *   GET  /{id}, HEAD /{id}       the data, plus each tag as a response
 *                                header (name: value) where HTTP allows it
 *   GET  /tx/{id}                the item as an Arweave format-2 tx JSON
 *   GET  /tx/{id}/status         200 {block_height, block_indep_hash,
 *                                number_of_confirmations} or 202 Pending
 *   GET  /tx/{id}/data           the data, base64url (as Arweave nodes)
 *   GET  /block/height/{h}       the block JSON (indep_hash, height,
 *                                timestamp in seconds, previous_block, txs)
 *   POST /tx, POST /tx/{token}   a binary data item (or a bundle item, or
 *                                a bare binary bundle); idempotent; answers
 *                                {"id":..., "timestamp":ms, "height":h}
 *   POST /graphql (and /graphql/)  {query, variables, operationName};
 *                                200 {"data":...}, or 400 {"errors":[...]}
 *   GET  /graphql?query=...      the same, from the query string
 * Bodies above max_body bytes are refused with 413.
 */
#ifndef AO_NET_H
#define AO_NET_H

#include <stdint.h>

#include "base/base.h"
#include "cu/cu.h"
#include "mu/mu.h"
#include "weave/weave.h"

typedef struct net_gateway net_gateway;   /* opaque */
typedef struct net_mirror net_mirror;     /* opaque, see "upstream mirror" */

typedef struct net_gateway_options {
    const char *host;        /* IPv4 address to bind; NULL = "127.0.0.1" */
    uint16_t port;           /* 0 = any free port (see net_gateway_port) */
    unsigned threads;        /* thread pool size; 0 = 4 */
    size_t max_body;         /* 0 = NET_MAX_BODY */
    unsigned timeout_s;      /* idle connection timeout; 0 = NET_TIMEOUT_S */
    net_mirror *mirror;      /* served at GET /mirror; NULL: 404 there */
} net_gateway_options;

#define NET_MAX_BODY (10u * 1024 * 1024)
/* A connection idle this long (a client stalling mid-request) is closed. */
#define NET_TIMEOUT_S 60

/* Start serving w (which must outlive the gateway). opt may be NULL. */
int net_gateway_start(struct weave *w, const net_gateway_options *opt, net_gateway **out,
                      ao_error *err);
/* The port actually bound. */
uint16_t net_gateway_port(const net_gateway *g);
/* Stop accepting, finish the requests in flight, free. NULL is fine. */
void net_gateway_stop(net_gateway *g);

/* ---- unit faces ----
 * Every face answers GET /health ({"status":"ok"}) and GET /metrics (the
 * Prometheus page, ao_metrics_render), open CORS, errors as JSON
 * {"error":"..."} (AO_EINVAL/EFORMAT/EVERIFY -> 400, EDENIED -> 403,
 * ENOTFOUND -> 404 (the SU answers 400 "Message or Process not found" as
 * the real one does), ELIMIT -> 413, EUNSUPPORTED -> 400 (CU: 413 for
 * limits), EIO and others -> 500, ESTATE -> 503), bodies above max_body
 * -> 413, and logs one line per request at debug level.
 *   SU: routes of PROTOCOL.md §2 over su.h.
 *   CU: routes of PROTOCOL.md §4 over cu.h (AO_EBUSY -> 202 with the body).
 *   MU: routes of PROTOCOL.md §3 over mu.h (POST / -> 202), plus
 *       GET /dead-letters. */
struct su;

typedef struct net_server net_server;   /* opaque */

typedef struct net_server_options {
    const char *host;        /* IPv4 address to bind; NULL = "127.0.0.1" */
    uint16_t port;           /* 0 = any free port (net_server_port) */
    unsigned threads;        /* 0 = 16 (CU /result calls may block) */
    size_t max_body;         /* 0 = NET_MAX_BODY */
    unsigned timeout_s;      /* idle connection timeout; 0 = NET_TIMEOUT_S */
} net_server_options;

int net_su_start(struct su *s, const net_server_options *opt, net_server **out, ao_error *err);
int net_cu_start(struct cu *c, const net_server_options *opt, net_server **out, ao_error *err);
int net_mu_start(struct mu *m, const net_server_options *opt, net_server **out, ao_error *err);
uint16_t net_server_port(const net_server *s);
void net_server_stop(net_server *s);   /* NULL is fine */

/* ---- HTTP clients of the units' client tables ----
 * Each fills a table whose ctx is allocated here; free it with the
 * matching _free. URLs without a trailing '/'. Timeouts: connect 5 s,
 * whole request 60 s (CU /result: 10 min). Statuses map back to codes:
 * 2xx -> AO_OK (CU 202 -> AO_EBUSY), 400 -> AO_EINVAL, 403 -> AO_EDENIED,
 * 404 -> AO_ENOTFOUND, 413 -> AO_ELIMIT, other/unreachable -> AO_EIO,
 * with the answer's "error" text in err. */
/* A remote gateway: GraphQL for queries and metadata, /raw for data,
 * POST /tx for puts, /info, Scheduler-Location via GraphQL. */
int net_weave_client_http(const char *gateway_url, weave_client *out, ao_error *err);
void net_weave_client_free(weave_client *c);

/* SU clients. The SU of a process is found through the data client: the
 * process's Scheduler tag, then its Scheduler-Location record (cached per
 * Time-To-Live), as scheduler-utils does. su_url_fixed (may be NULL) skips
 * the lookup and sends everything to one SU. `data` must outlive them. */
int net_cu_su_client_http(const weave_client *data, const char *su_url_fixed,
                          cu_su_client *out, ao_error *err);
void net_cu_su_client_free(cu_su_client *c);
int net_mu_su_client_http(const weave_client *data, const char *su_url_fixed,
                          mu_su_client *out, ao_error *err);
void net_mu_su_client_free(mu_su_client *c);

int net_mu_cu_client_http(const char *cu_url, mu_cu_client *out, ao_error *err);
void net_mu_cu_client_free(mu_cu_client *c);

/* ---- the upstream mirror (mirror.c) ----
 * Writes what a weave stores (its mirror queue: weave_options.mirror)
 * through to an upstream Arweave gateway as ANS-104 bundles inside signed
 * L1 format-2 transactions, and settles them once mined (see mirror.c). */
typedef struct net_mirror_options {
    const char *upstream;            /* gateway URL taking POST /tx */
    const crypto_wallet *wallet;     /* RSA wallet paying for the
                                        transactions (copied) */
    size_t max_items;                /* items per transaction; 0 = 1000 */
    size_t max_bytes;                /* bundle bytes per transaction (one
                                        larger item still goes alone);
                                        0 = 4 MiB */
    uint32_t poll_ms;                /* idle wait and confirmation poll;
                                        0 = 500 */
    uint32_t repost_ms;              /* post again what is not mined after
                                        this; 0 = 30 minutes */
    uint32_t backoff_max_ms;         /* longest retry delay; 0 = 30000 */
} net_mirror_options;

int net_mirror_start(weave *w, const net_mirror_options *o, net_mirror **out, ao_error *err);
/* Stops the thread (an upload in flight finishes first). NULL is fine. */
void net_mirror_stop(net_mirror *m);
/* The address of the wallet paying upstream. */
const char *net_mirror_address(const net_mirror *m);
/* GET /mirror: {"upstream","address","pending","posted","confirmed",
 * "unconfirmedTransactions","oldestPendingMs","transactionsPosted",
 * "transactionsConfirmed","transactionsReposted","errors","lastPostMs",
 * "lastConfirmMs","lastErrorMs","lastError"} */
int net_mirror_status_json(net_mirror *m, ao_buf *out, ao_error *err);

/* A data client that reads through to the upstream: get, get_data and
 * get_meta of an item `local` lacks fetch it from the Arweave gateway
 * `upstream` (net_weave_client_http), put it into w (verified, with
 * WEAVE_PUT_NOMIRROR) and answer from there; everything else goes to
 * `local` (copied; its ctx and w outlive the client). */
int net_weave_client_fallback(const weave_client *local, weave *w, const char *upstream,
                              weave_client *out, ao_error *err);
void net_weave_client_fallback_free(weave_client *c);

/* ---- a plain HTTP client (libcurl; http_client.c) ----
 * Used by the clients below and by the `ao` commands that talk to any
 * node over HTTP. */

typedef struct net_http_answer {
    long status;                    /* 0 if no answer */
    ao_buf body;
    char *ctype;                    /* Content-Type or NULL (owned) */
    /* up to 8 response headers asked for by name (see net_http_request) */
    char *hvalues[8];
} net_http_answer;

void net_http_answer_init(net_http_answer *a);
void net_http_answer_free(net_http_answer *a);

#define NET_HTTP_CONNECT_MS 5000
#define NET_HTTP_TIMEOUT_MS 60000
#define NET_HTTP_RESULT_TIMEOUT_MS 600000

/* One request. body may be NULL (then no body; POST sends an empty one).
 * want_headers (NULL-terminated, up to 8 names) are captured into
 * a->hvalues. timeout_ms 0 = NET_HTTP_TIMEOUT_MS. Returns AO_OK when an
 * answer of any status came back, AO_EIO when none did (err says why). */
int net_http_request(const char *method, const char *url, const void *body, size_t body_len,
                     const char *ctype, const char *const *want_headers, long timeout_ms,
                     net_http_answer *a, ao_error *err);

/* Map an answer to a code as net.h says (2xx -> AO_OK, 400 -> AO_EINVAL,
 * 403 -> AO_EDENIED, 404 -> AO_ENOTFOUND, 413 -> AO_ELIMIT, else AO_EIO),
 * with the answer's "error" text (or the body) in err. what names the
 * call for the message. */
int net_http_code(const net_http_answer *a, const char *what, ao_error *err);

/* Append s percent-encoded for a query value. */
int net_url_escape(ao_buf *b, const char *s);

#endif
