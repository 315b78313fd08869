/*
 * net.h - the node's HTTP faces. For now: the Arweave-compatible gateway
 * over a weave (libmicrohttpd, its internal thread pool).
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

struct weave;

typedef struct net_gateway net_gateway;   /* opaque */

typedef struct net_gateway_options {
    const char *host;        /* IPv4 address to bind; NULL = "127.0.0.1" */
    uint16_t port;           /* 0 = any free port (see net_gateway_port) */
    unsigned threads;        /* thread pool size; 0 = 4 */
    size_t max_body;         /* 0 = NET_MAX_BODY */
} net_gateway_options;

#define NET_MAX_BODY (10u * 1024 * 1024)

/* Start serving w (which must outlive the gateway). opt may be NULL. */
int net_gateway_start(struct weave *w, const net_gateway_options *opt, net_gateway **out,
                      ao_error *err);
/* The port actually bound. */
uint16_t net_gateway_port(const net_gateway *g);
/* Stop accepting, finish the requests in flight, free. NULL is fine. */
void net_gateway_stop(net_gateway *g);

#endif
