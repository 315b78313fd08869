/* cli_ao.c - the `ao` commands that talk to a running network over HTTP,
 * the way aoconnect does, so they work against any node (ours or another
 * implementation): spawn, send, eval, result, results, dryrun.
 *
 * Where the units are: --mu-url/--cu-url/--gateway-url, else the
 * environment (MU_URL, CU_URL, GATEWAY_URL, as aoconnect names them), else
 * the node.json of a local `ao up` (--node FILE, $AO_NODE, or
 * ./.ao-data/node.json), else the `ao up` defaults on 127.0.0.1.
 *
 * Exit codes (also in `ao help`): 0 success; 1 the process answered with an
 * Error; 2 bad usage or bad input; 3 a unit could not be reached or
 * answered an HTTP error. */
#include "cli.h"
#include "cli_client.h"

#include <cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *ao_usage_common =
    "common options:\n"
    "  --mu-url U, --cu-url U, --gateway-url U   unit URLs (env MU_URL, CU_URL,\n"
    "               GATEWAY_URL; default: node.json of a local `ao up`)\n"
    "  --node FILE  a node.json to read the URLs from (env AO_NODE)\n"
    "  --wallet W   signing wallet (env AO_WALLET; default ~/.aos.json, made\n"
    "               on first use)\n"
    "  --json       machine-readable output (one JSON document)\n"
    "  --timeout MS how long to wait for a result (default 30000)\n"
    "exit codes: 0 ok, 1 the process answered an Error, 2 bad usage or input,\n"
    "            3 a unit unreachable or an HTTP error\n";

/* ---- option parsing shared by the commands ---- */

typedef struct {
    cli_ctx c;
    const char *action, *data, *module, *scheduler, *cron, *name, *process, *sort;
    const char *from, *owner;
    const char *authority[16];
    size_t nauthority;
    item_tag tags[64];
    size_t ntags;
    long limit, interval_ms;
    bool follow, no_wait;
    const char *pos[4];
    size_t npos;
} opts;

static int take_tag(opts *o, const char *cmd, const char *v)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v) {
        fprintf(stderr, "ao %s: --tag '%s' is not NAME=VALUE\n", cmd, v);
        return -1;
    }
    if (o->ntags >= sizeof o->tags / sizeof o->tags[0]) {
        fprintf(stderr, "ao %s: too many --tag options\n", cmd);
        return -1;
    }
    o->tags[o->ntags++] = (item_tag){ (const uint8_t *)v, (size_t)(eq - v),
                                      (const uint8_t *)eq + 1, strlen(eq + 1) };
    return 0;
}

#define PARSE_HELP (-1)

/* Returns 0 to go on, PARSE_HELP when help was printed, 2 on bad usage. */
static int parse(opts *o, int argc, char **argv, const char *usage)
{
    memset(o, 0, sizeof *o);
    o->limit = -1;
    o->interval_ms = 1000;
    o->c.timeout_ms = 30000;
    const char *cmd = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("%s\n%s", usage, ao_usage_common);
            return PARSE_HELP;
        }
        if (!strcmp(a, "--json")) { o->c.json = true; continue; }
        if (!strcmp(a, "--follow")) { o->follow = true; continue; }
        if (!strcmp(a, "--no-wait")) { o->no_wait = true; continue; }
        if (!cli_is_flag(a)) {   /* ids and code may begin with '-' */
            if (o->npos >= sizeof o->pos / sizeof o->pos[0]) {
                fprintf(stderr, "ao %s: too many arguments\n%s", cmd, usage);
                return 2;
            }
            o->pos[o->npos++] = a;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "ao %s: unknown option or missing value: %s\n%s", cmd, a, usage);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--mu-url")) o->c.mu_url = v;
        else if (!strcmp(a, "--cu-url")) o->c.cu_url = v;
        else if (!strcmp(a, "--gateway-url")) o->c.gateway_url = v;
        else if (!strcmp(a, "--node")) o->c.node_file = v;
        else if (!strcmp(a, "--wallet")) o->c.wallet_path = v;
        else if (!strcmp(a, "--action")) o->action = v;
        else if (!strcmp(a, "--data")) o->data = v;
        else if (!strcmp(a, "--module")) o->module = v;
        else if (!strcmp(a, "--scheduler")) o->scheduler = v;
        else if (!strcmp(a, "--cron")) o->cron = v;
        else if (!strcmp(a, "--name")) o->name = v;
        else if (!strcmp(a, "--process")) o->process = v;
        else if (!strcmp(a, "--sort")) o->sort = v;
        else if (!strcmp(a, "--from")) o->from = v;
        else if (!strcmp(a, "--owner")) o->owner = v;
        else if (!strcmp(a, "--authority")) {
            if (o->nauthority >= sizeof o->authority / sizeof o->authority[0]) {
                fprintf(stderr, "ao %s: too many --authority options\n", cmd);
                return 2;
            }
            o->authority[o->nauthority++] = v;
        } else if (!strcmp(a, "--tag")) {
            if (take_tag(o, cmd, v))
                return 2;
        } else if (!strcmp(a, "--limit") || !strcmp(a, "--timeout") || !strcmp(a, "--interval")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || end == v || n < 0 || n > 100000000) {
                fprintf(stderr, "ao %s: %s needs a number, got '%s'\n", cmd, a, v);
                return 2;
            }
            if (!strcmp(a, "--limit")) o->limit = n;
            else if (!strcmp(a, "--timeout")) o->c.timeout_ms = n;
            else o->interval_ms = n;
        } else {
            fprintf(stderr, "ao %s: unknown option '%s'\n%s", cmd, a, usage);
            return 2;
        }
    }
    ao_error err;
    if (cli_ctx_resolve(&o->c, &err)) {
        fprintf(stderr, "ao %s: %s\n", cmd, err.msg);
        return 2;
    }
    return 0;
}

/* A --data value: @FILE reads a file, @- stdin, else the text itself. */
static int load_data(const char *cmd, const char *d, ao_buf *out)
{
    ao_error err;
    if (!d)
        return 0;
    if (d[0] == '@') {
        if (cli_read_input(d + 1, out, &err)) {
            fprintf(stderr, "ao %s: --data %s: %s\n", cmd, d, err.msg);
            return -1;
        }
        return 0;
    }
    return ao_buf_append_str(out, d) ? -1 : 0;
}

static int finish(const opts *o, int rc, const ao_error *err)
{
    if (rc)
        fprintf(stderr, "ao %s: %s\n", o->c.cmd, err->msg);
    return rc == AO_OK ? 0 : cli_exit_code(rc);
}

/* ---- spawn ---- */

static const char *spawn_usage =
    "usage: ao spawn [--module M] [--scheduler S] [--name N] [--authority A]...\n"
    "                [--cron 10-seconds] [--tag NAME=VALUE]... [--data D] [--no-wait]\n"
    "\n"
    "Spawns a process (aos by default: the newest Module named aos on the\n"
    "gateway) scheduled on S (default: the node's SU) and prints its id. The\n"
    "MU's address (from node.json) is added as Authority unless --authority is\n"
    "given. Waits for the process's first result unless --no-wait.\n";

static int cmd_spawn(int argc, char **argv)
{
    opts o;
    int rc = parse(&o, argc, argv, spawn_usage);
    if (rc)
        return rc == PARSE_HELP ? 0 : rc;
    o.c.cmd = "spawn";
    if (o.npos) {
        fprintf(stderr, "ao spawn: unexpected argument '%s'\n%s", o.pos[0], spawn_usage);
        return 2;
    }
    ao_error err;
    ao_buf data, result;
    ao_buf_init(&data);
    ao_buf_init(&result);
    char pid[64] = "";
    if (load_data("spawn", o.data, &data)) {
        rc = 2;
        goto done;
    }
    cli_spawn_spec s = { .module = o.module, .scheduler = o.scheduler, .name = o.name,
                         .cron = o.cron, .authority = o.authority,
                         .nauthority = o.nauthority, .tags = o.tags, .ntags = o.ntags,
                         .data = data.data, .data_len = data.len };
    rc = cli_spawn(&o.c, &s, pid, &err);
    if (rc == AO_OK && !o.no_wait)
        rc = cli_wait_result(&o.c, pid, pid, &result, &err);
    if (rc == AO_OK) {
        if (o.c.json)
            printf("{\"process\":\"%s\"%s%s}\n", pid, result.len ? ",\"result\":" : "",
                   result.len ? (const char *)result.data : "");
        else
            printf("%s\n", pid);
    }
    rc = finish(&o, rc, &err);
done:
    ao_buf_free(&data);
    ao_buf_free(&result);
    return rc;
}

/* ---- send / eval ---- */

static const char *send_usage =
    "usage: ao send PID [--action A] [--tag NAME=VALUE]... [--data D] [--no-wait]\n"
    "\n"
    "Sends a signed message to process PID through the MU and, unless\n"
    "--no-wait, prints its result (Output, Messages, Spawns, Error).\n";

static const char *eval_usage =
    "usage: ao eval PID 'lua code'|@FILE|@-\n"
    "\n"
    "Sends an Eval message to an aos process, waits for the result and\n"
    "prints what the code returned or printed; a Lua error exits 1.\n";

static int send_and_show(opts *o, const char *pid, bool eval_mode, const ao_buf *data)
{
    ao_error err;
    ao_buf result;
    ao_buf_init(&result);
    char id[64] = "";
    cli_message_spec m = { .target = pid, .action = eval_mode ? "Eval" : o->action,
                           .tags = o->tags, .ntags = o->ntags, .data = data->data,
                           .data_len = data->len };
    int rc = cli_send(&o->c, &m, id, &err);
    if (rc == AO_OK && o->no_wait) {
        printf(o->c.json ? "{\"id\":\"%s\"}\n" : "%s\n", id);
    } else if (rc == AO_OK) {
        rc = cli_wait_result(&o->c, id, pid, &result, &err);
        if (rc == AO_OK) {
            int shown = cli_show_result(&o->c, id, (const char *)result.data, eval_mode);
            ao_buf_free(&result);
            return shown;
        }
    }
    ao_buf_free(&result);
    return finish(o, rc, &err);
}

static int cmd_send(int argc, char **argv)
{
    opts o;
    int rc = parse(&o, argc, argv, send_usage);
    if (rc)
        return rc == PARSE_HELP ? 0 : rc;
    o.c.cmd = "send";
    if (o.npos != 1 || !cli_is_id(o.pos[0])) {
        fprintf(stderr, "ao send: give one process id (43 characters)\n%s", send_usage);
        return 2;
    }
    ao_buf data;
    ao_buf_init(&data);
    rc = load_data("send", o.data, &data) ? 2 : send_and_show(&o, o.pos[0], false, &data);
    ao_buf_free(&data);
    return rc;
}

static int cmd_eval(int argc, char **argv)
{
    opts o;
    int rc = parse(&o, argc, argv, eval_usage);
    if (rc)
        return rc == PARSE_HELP ? 0 : rc;
    o.c.cmd = "eval";
    if (o.npos != 2 || !cli_is_id(o.pos[0])) {
        fprintf(stderr, "ao eval: give a process id and the code\n%s", eval_usage);
        return 2;
    }
    ao_buf code;
    ao_buf_init(&code);
    rc = load_data("eval", o.pos[1], &code) ? 2 : send_and_show(&o, o.pos[0], true, &code);
    ao_buf_free(&code);
    return rc;
}

/* ---- result / dryrun ---- */

static const char *result_usage =
    "usage: ao result MSG --process PID\n"
    "\n"
    "Prints the result of message MSG of process PID, as the CU computes it.\n";

static int cmd_result(int argc, char **argv)
{
    opts o;
    int rc = parse(&o, argc, argv, result_usage);
    if (rc)
        return rc == PARSE_HELP ? 0 : rc;
    o.c.cmd = "result";
    if (o.npos != 1 || !cli_is_id(o.pos[0]) || !o.process || !cli_is_id(o.process)) {
        fprintf(stderr, "ao result: give a message id and --process PID\n%s", result_usage);
        return 2;
    }
    ao_error err;
    ao_buf result;
    ao_buf_init(&result);
    rc = cli_wait_result(&o.c, o.pos[0], o.process, &result, &err);
    if (rc == AO_OK)
        rc = cli_show_result(&o.c, o.pos[0], (const char *)result.data, false);
    else
        rc = finish(&o, rc, &err);
    ao_buf_free(&result);
    return rc;
}

static const char *dryrun_usage =
    "usage: ao dryrun PID [--action A] [--tag NAME=VALUE]... [--data D] [--owner ADDR]\n"
    "\n"
    "Evaluates a message on the process's latest state without scheduling it\n"
    "(nothing is kept) and prints the result.\n";

static int cmd_dryrun(int argc, char **argv)
{
    opts o;
    int rc = parse(&o, argc, argv, dryrun_usage);
    if (rc)
        return rc == PARSE_HELP ? 0 : rc;
    o.c.cmd = "dryrun";
    if (o.npos != 1 || !cli_is_id(o.pos[0])) {
        fprintf(stderr, "ao dryrun: give one process id\n%s", dryrun_usage);
        return 2;
    }
    ao_error err;
    ao_buf data, result;
    ao_buf_init(&data);
    ao_buf_init(&result);
    if (load_data("dryrun", o.data, &data)) {
        rc = 2;
    } else {
        cli_message_spec m = { .target = o.pos[0], .action = o.action, .tags = o.tags,
                               .ntags = o.ntags, .data = data.data, .data_len = data.len,
                               .owner = o.owner };
        rc = cli_dryrun(&o.c, &m, &result, &err);
        rc = rc == AO_OK ? cli_show_result(&o.c, NULL, (const char *)result.data, false)
                         : finish(&o, rc, &err);
    }
    ao_buf_free(&data);
    ao_buf_free(&result);
    return rc;
}

/* ---- results ---- */

static const char *results_usage =
    "usage: ao results PID [--limit N] [--sort ASC|DESC] [--from CURSOR] [--follow]\n"
    "                      [--interval MS]\n"
    "\n"
    "Lists the results the CU has computed for PID (oldest first by default).\n"
    "--follow keeps polling every --interval ms (default 1000) and prints new\n"
    "results as they come, until interrupted.\n";

static volatile sig_atomic_t results_stop;
static void on_stop(int sig)
{
    (void)sig;
    results_stop = 1;
}

static int cmd_results(int argc, char **argv)
{
    opts o;
    int rc = parse(&o, argc, argv, results_usage);
    if (rc)
        return rc == PARSE_HELP ? 0 : rc;
    o.c.cmd = "results";
    if (o.npos != 1 || !cli_is_id(o.pos[0])) {
        fprintf(stderr, "ao results: give one process id\n%s", results_usage);
        return 2;
    }
    if (o.sort && strcmp(o.sort, "ASC") && strcmp(o.sort, "DESC")) {
        fprintf(stderr, "ao results: --sort is ASC or DESC\n");
        return 2;
    }
    if (o.follow) {
        signal(SIGINT, on_stop);
        signal(SIGTERM, on_stop);
    }
    char cursor[512] = "";
    if (o.from)
        snprintf(cursor, sizeof cursor, "%s", o.from);
    ao_error err;
    do {
        size_t n = 0;
        rc = cli_results_page(&o.c, o.pos[0], cursor[0] ? cursor : NULL,
                              o.follow ? "ASC" : o.sort, o.limit, NULL, NULL, cursor,
                              sizeof cursor, &n, &err);
        if (rc)
            break;
        if (o.follow && !results_stop) {
            fflush(stdout);
            struct timespec ts = { o.interval_ms / 1000, (o.interval_ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
        }
    } while (o.follow && !results_stop);
    return finish(&o, rc, &err);
}

/* ---- status ---- */

static const char *status_usage =
    "usage: ao status [--json]\n"
    "\n"
    "Shows whether the node's gateway, CU and MU answer, and the progress of\n"
    "its upstream mirror (GET {gateway}/mirror): items waiting, posted in\n"
    "unmined transactions and confirmed, and the last upload error. Exits 3\n"
    "when a unit does not answer.\n";

static int cmd_status(int argc, char **argv)
{
    opts o;
    int rc = parse(&o, argc, argv, status_usage);
    if (rc)
        return rc == PARSE_HELP ? 0 : rc;
    o.c.cmd = "status";
    if (o.npos) {
        fprintf(stderr, "ao status: no arguments expected\n%s", status_usage);
        return 2;
    }
    const char *names[] = { "gateway", "cu", "mu" };
    const char *urls[] = { o.c.gateway, o.c.cu, o.c.mu };
    bool up[3];
    int code = 0;
    for (int i = 0; i < 3; i++) {
        char url[CLI_URL_MAX + 16];
        snprintf(url, sizeof url, "%s/health", urls[i]);
        ao_buf b;
        ao_buf_init(&b);
        ao_error err;
        up[i] = cli_http("GET", url, NULL, 0, NULL, 5000, &b, &err) == AO_OK;
        ao_buf_free(&b);
        if (!up[i])
            code = 3;
    }
    char url[CLI_URL_MAX + 16];
    snprintf(url, sizeof url, "%s/mirror", o.c.gateway);
    ao_buf m;
    ao_buf_init(&m);
    ao_error err;
    bool mirror = up[0] && cli_http("GET", url, NULL, 0, NULL, 5000, &m, &err) == AO_OK;
    ao_buf_append_byte(&m, 0);
    if (o.c.json) {
        printf("{");
        for (int i = 0; i < 3; i++)
            printf("\"%s\":{\"url\":\"%s\",\"up\":%s},", names[i], urls[i],
                   up[i] ? "true" : "false");
        printf("\"mirror\":%s}\n", mirror ? (const char *)m.data : "null");
    } else {
        for (int i = 0; i < 3; i++)
            printf("%-8s %s  %s\n", names[i], urls[i], up[i] ? "up" : "NOT ANSWERING");
        cJSON *j = mirror ? cJSON_Parse((const char *)m.data) : NULL;
        if (!j) {
            printf("mirror   %s\n", up[0] ? "none (the node runs without --upstream)"
                                         : "unknown (the gateway does not answer)");
        } else {
            const char *keys[] = { "pending", "posted", "confirmed", "unconfirmedTransactions",
                                   "transactionsPosted", "transactionsReposted", "errors" };
            const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "upstream");
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "address");
            printf("mirror   %s  (paying address %s)\n", cJSON_IsString(u) ? u->valuestring : "?",
                   cJSON_IsString(a) ? a->valuestring : "?");
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[k]);
                printf("  %-24s %.0f\n", keys[k], cJSON_IsNumber(v) ? v->valuedouble : 0.0);
            }
            const cJSON *le = cJSON_GetObjectItemCaseSensitive(j, "lastError");
            if (cJSON_IsString(le))
                printf("  %-24s %s\n", "lastError", le->valuestring);
        }
        cJSON_Delete(j);
    }
    ao_buf_free(&m);
    return code;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
} ao_cmds[] = {
    { "status", cmd_status },
    { "spawn", cmd_spawn }, { "send", cmd_send },       { "eval", cmd_eval },
    { "result", cmd_result }, { "results", cmd_results }, { "dryrun", cmd_dryrun },
};

int cli_ao_main(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof ao_cmds / sizeof ao_cmds[0]; i++)
        if (!strcmp(argv[0], ao_cmds[i].name))
            return ao_cmds[i].fn(argc, argv);
    fprintf(stderr, "ao: unknown command '%s'\n", argv[0]);
    return 2;
}
