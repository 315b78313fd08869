/*
 * node.h - a whole AO network in one process (`ao up`): the weave and its
 * gateway, an SU, a CU and an MU, each with its HTTP face on a local port,
 * wired to each other in-process (the in-process client tables live here:
 * they bind su.h/cu.h functions into cu_su_client / mu_su_client /
 * mu_cu_client, so the units never include one another).
 *
 * Data directory (created on first run; a restart keeps all state):
 *   DIR/wallets/{su,mu,cu}.json   the units' wallets (JWK, 0600), made on
 *                                 first run (SU: wallet_type; MU: Ed25519; CU: RSA
 *                                 unless told otherwise)
 *   DIR/weave/  DIR/su/  DIR/cu/  DIR/mu/   each part's own state
 *   DIR/node.json   written at every start: {"gateway":url,"su":url,
 *                   "cu":url,"mu":url,"suAddress":..,"muAddress":..,
 *                   "cuAddress":..,"aosModule":<module id>,"pid":<os pid>,
 *                   with an upstream also "upstream":url,"mirrorAddress":..}
 *   DIR/wallets/mirror.json       with an upstream and no upstream_wallet:
 *                                 the RSA wallet paying for its transactions
 *
 * With an upstream (node_options.upstream) the weave keeps the mirror
 * queue and a net_mirror writes it through; the units read through to the
 * upstream (net_weave_client_fallback); GET {gateway}/mirror shows the
 * progress.
 *
 * At start the project's aos module (build/aos.wasm, or aos_module_path)
 * is published to the weave as a Module item signed by the SU wallet with
 * the tags of PROTOCOL.md §1 (Module-Format, Input/Output-Encoding,
 * Memory-Limit, Compute-Limit, Content-Type=application/wasm, Name=aos),
 * once (idempotent: the same bytes and tags give the same module id across
 * restarts, which needs a deterministic signature: Ed25519 or a stored
 * item), and the SU's Scheduler-Location record is written with its URL.
 */
#ifndef AO_NODE_H
#define AO_NODE_H

#include "base/base.h"

typedef struct node node;   /* opaque */

typedef struct node_options {
    const char *data_dir;         /* required */
    const char *host;             /* bind address; NULL = 127.0.0.1 */
    uint16_t gateway_port;        /* 0 = 4000 (DEFAULT below) */
    uint16_t su_port;             /* 0 = 4001 */
    uint16_t cu_port;             /* 0 = 4002 */
    uint16_t mu_port;             /* 0 = 4003 */
    bool any_ports;               /* tests: bind free ports instead */
    const char *aos_module_path;  /* NULL = build/aos.wasm beside the binary
                                     or in the current folder */
    const char *su_wallet_type;   /* "ed25519" (default) or "rsa" */
    uint32_t block_interval_ms;   /* weave blocks; 0 = 2000 */
    unsigned cu_threads;          /* 0 = cores */
    uint64_t cu_memory_budget;    /* 0 = the CU default */
    const char *upstream;         /* an Arweave gateway: everything stored is
                                     written through to it (net_mirror) and
                                     items missing here are read from it;
                                     NULL = none */
    const char *upstream_wallet;  /* RSA wallet paying for the upstream
                                     transactions; NULL = DIR/wallets/
                                     mirror.json (made on first run) */
    uint32_t mirror_poll_ms;      /* 0 = the mirror's default */
} node_options;

#define NODE_DEFAULT_GATEWAY_PORT 4000
#define NODE_DEFAULT_SU_PORT 4001
#define NODE_DEFAULT_CU_PORT 4002
#define NODE_DEFAULT_MU_PORT 4003

int node_start(const node_options *opt, node **out, ao_error *err);
/* Stops the faces, then MU, CU, SU, weave, in that order. NULL is fine. */
void node_stop(node *n);

typedef struct node_info {
    char gateway_url[128], su_url[128], cu_url[128], mu_url[128];
    char su_address[64], mu_address[64], cu_address[64];
    char aos_module[64];
    char mirror_address[64];      /* "" without an upstream */
    char upstream[128];
} node_info;
void node_get_info(const node *n, node_info *out);

/* A CU's schedule reader over su_log (su.h): the SU's read routes rebuilt
 * from the data layer, for `ao cu --schedule-from-data`. l outlives it. */
struct su_log;
struct cu_su_client;
void node_cu_su_client_log(struct su_log *l, struct cu_su_client *out);

#endif
