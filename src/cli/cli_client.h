/* cli_client.h - what the network commands and the console share: finding
 * the units (flags, environment, node.json), the signing wallet, building
 * and posting Process and Message items like aoconnect, waiting for
 * results, and printing them. Everything goes over HTTP, so it works
 * against any node. */
#ifndef AO_CLI_CLIENT_H
#define AO_CLI_CLIENT_H

#include "base/base.h"
#include "crypto/crypto.h"
#include "item/item.h"

#define CLI_URL_MAX 512

typedef struct cli_ctx {
    const char *cmd;                 /* for messages: "spawn", "console" */
    /* given (NULL = not given) */
    const char *mu_url, *cu_url, *gateway_url, *node_file, *wallet_path;
    bool json;
    long timeout_ms;                 /* waiting for a result; 0 = 30000 */
    /* resolved by cli_ctx_resolve */
    char mu[CLI_URL_MAX], cu[CLI_URL_MAX], gateway[CLI_URL_MAX];
    char su_address[64], mu_address[64], aos_module[64];   /* "" if unknown */
} cli_ctx;

/* Fill the URLs: flags, then MU_URL/CU_URL/GATEWAY_URL, then node.json
 * (--node, $AO_NODE, ./.ao-data/node.json), then the `ao up` defaults.
 * AO_EINVAL for an unreadable --node file. */
int cli_ctx_resolve(cli_ctx *c, ao_error *err);

/* The signing wallet: --wallet, $AO_WALLET, else ~/.aos.json (an RSA
 * wallet is made there on first use). */
int cli_wallet(const cli_ctx *c, crypto_wallet **out, ao_error *err);

/* Read a file, or stdin for "-". */
int cli_read_input(const char *path, ao_buf *out, ao_error *err);

bool cli_is_id(const char *s);
/* Is argument a an option: "-h", or "--" and a name of lowercase letters
 * and '-'? Anything else is a positional argument, also when it begins
 * with '-': ids (base64url), Lua code ("-- comment", "-1"). */
bool cli_is_flag(const char *a);

/* Exit code of a failed call: 3 when a unit failed (AO_EIO, and any
 * answer from a unit), 2 otherwise (bad input). */
int cli_exit_code(int rc);

typedef struct cli_spawn_spec {
    const char *module, *scheduler, *name, *cron;   /* NULL = defaults */
    const char *const *authority;
    size_t nauthority;
    const item_tag *tags;
    size_t ntags;
    const uint8_t *data;
    size_t data_len;
} cli_spawn_spec;

/* Sign a Process item and POST it to the MU; pid gets its id. */
int cli_spawn(cli_ctx *c, const cli_spawn_spec *s, char pid[64], ao_error *err);

typedef struct cli_message_spec {
    const char *target;
    const char *action;      /* NULL = no Action tag */
    const item_tag *tags;
    size_t ntags;
    const uint8_t *data;
    size_t data_len;
    const char *owner;       /* dry-run only: Owner/From (default: the wallet) */
} cli_message_spec;

/* Sign a Message item and POST it to the MU; id gets its id. */
int cli_send(cli_ctx *c, const cli_message_spec *m, char id[64], ao_error *err);

/* GET {CU}/result/{msg}?process-id=pid, asking again while the CU answers
 * 202, up to the context's timeout. out gets the result JSON. */
int cli_wait_result(cli_ctx *c, const char *msg, const char *pid, ao_buf *out, ao_error *err);

/* POST {CU}/dry-run?process-id= with the message as aoconnect sends it. */
int cli_dryrun(cli_ctx *c, const cli_message_spec *m, ao_buf *out, ao_error *err);

/* Print a result (JSON mode: {"id":..,"result":..}; else Output, then
 * Messages/Spawns/Assignments summaries, Error on stderr). eval_mode prints
 * only what the code printed or returned. Returns the exit code: 0, or 1
 * when the result carries an Error. */
int cli_show_result(const cli_ctx *c, const char *id, const char *json, bool eval_mode);

/* Text a result shows to a person: Output.data (string), or
 * Output.data.output, or Output as text; NULL if none. *prompt (may be
 * NULL) gets Output.prompt or Output.data.prompt. Both malloc'd. */
char *cli_result_text(const char *json, char **prompt, char **error);

/* Called per result of a page with its cursor and node JSON. */
typedef void (*cli_result_fn)(void *ctx, const char *cursor, const char *node_json);

/* One page of GET {CU}/results/{pid}: each result goes to each(ctx, ..),
 * or, with each NULL, is printed (JSON mode: one JSON line
 * {"cursor","node"} per result); *n = results seen, last_cursor = the
 * last edge's cursor (unchanged when the page is empty). from/sort may be
 * NULL, limit < 0 = the CU's default. */
int cli_results_page(cli_ctx *c, const char *pid, const char *from, const char *sort,
                     long limit, cli_result_fn each, void *ctx, char *last_cursor,
                     size_t cursor_cap, size_t *n, ao_error *err);

/* One GET/POST to a unit; err gets "<what>: <the unit's error>". AO_EIO
 * when unreachable or any non-2xx answer except 202, which is AO_EBUSY. */
int cli_http(const char *method, const char *url, const void *body, size_t len,
             const char *ctype, long timeout_ms, ao_buf *out, ao_error *err);

#endif
