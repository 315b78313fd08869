/*
 * node_internal.h - pieces of src/node shared between its files: the
 * in-process client tables (node_clients.c) and the aos Module item
 * publication (node_module.c). Not for use outside src/node.
 */
#ifndef AO_NODE_INTERNAL_H
#define AO_NODE_INTERNAL_H

#include "base/base.h"
#include "crypto/crypto.h"
#include "cu/cu.h"
#include "mu/mu.h"
#include "su/su.h"
#include "weave/weave.h"

/* Tables whose ctx is the unit itself (it must outlive the table's users). */
void node_cu_su_client_local(su *s, cu_su_client *out);
/* node_cu_su_client_log (the same routes from su_log) is in node.h: the
 * `ao cu` command uses it too. */
void node_mu_su_client_local(su *s, mu_su_client *out);
void node_mu_cu_client_local(cu *c, mu_cu_client *out);

/* The Module item's tags (PROTOCOL.md §1) for this build's aos module. */
#define NODE_MODULE_FORMAT "emscripten-3.1.6"
#define NODE_MODULE_MEMORY_LIMIT "1-gb"
#define NODE_MODULE_COMPUTE_LIMIT "9000000000000"

/* Publish the module bytes at wasm_path as a Module item signed by
 * `signer`, once: DIR/aos-module.json remembers {"sha256","id"} of what
 * was published, so a restart with the same bytes (and the item still in
 * the weave) reuses the id whatever the signature scheme. id_out gets the
 * module id. */
int node_module_publish(weave *w, const crypto_wallet *signer, const char *wasm_path,
                        const char *record_path, char id_out[WEAVE_ID_MAX], ao_error *err);

#endif
