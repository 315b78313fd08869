/* cli_client.c - the HTTP client side shared by the network commands and
 * the console (cli_client.h): unit discovery, wallet, aoconnect-shaped
 * items, result polling and printing. */
#include "cli_client.h"

#include "net/net.h"

#include <cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ---- */

bool cli_is_id(const char *s)
{
    if (!s || strlen(s) != 43)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

bool cli_is_flag(const char *a)
{
    if (!strcmp(a, "-h"))
        return true;
    if (strncmp(a, "--", 2) != 0 || !a[2])
        return false;
    for (const char *p = a + 2; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '-'))
            return false;
    return true;
}

int cli_exit_code(int rc)
{
    return rc == AO_EINVAL || rc == AO_EFORMAT || rc == AO_ENOMEM ? 2 : 3;
}

int cli_read_input(const char *path, ao_buf *out, ao_error *err)
{
    if (strcmp(path, "-"))
        return ao_file_read(path, out, err);
    uint8_t tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, stdin)) > 0)
        if (ao_buf_append(out, tmp, n))
            return ao_err_set(err, AO_ENOMEM, "out of memory reading stdin");
    return ferror(stdin) ? ao_err_set(err, AO_EIO, "reading stdin failed") : AO_OK;
}

int cli_http(const char *method, const char *url, const void *body, size_t len,
             const char *ctype, long timeout_ms, ao_buf *out, ao_error *err)
{
    net_http_answer a;
    net_http_answer_init(&a);
    int rc = net_http_request(method, url, body, len, ctype, NULL, timeout_ms, &a, err);
    if (rc == AO_OK && a.status == 202) {
        rc = AO_EBUSY;
        ao_err_set(err, AO_EBUSY, "%s: still in progress", url);
    } else if (rc == AO_OK && (rc = net_http_code(&a, url, err)) != AO_OK) {
        rc = ao_err_set(err, AO_EIO, "%s", err ? err->msg : "HTTP error");
    }
    if (rc == AO_OK && out) {
        ao_buf_reset(out);
        if (ao_buf_append(out, a.body.data, a.body.len) || ao_buf_append_byte(out, 0))
            rc = ao_err_set(err, AO_ENOMEM, "out of memory");
        else
            out->len--;   /* NUL kept after the bytes for text use */
    }
    net_http_answer_free(&a);
    return rc;
}

static void copy_str(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
    size_t n = strlen(dst);
    while (n && dst[n - 1] == '/')   /* URLs without a trailing '/' */
        dst[--n] = 0;
}

/* ---- discovery ---- */

static int read_node_json(cli_ctx *c, const char *path, bool must, ao_error *err)
{
    ao_buf b;
    ao_buf_init(&b);
    int rc = ao_file_read(path, &b, err);
    if (rc) {
        ao_buf_free(&b);
        return must ? ao_err_wrap(err, "node file %s", path) : AO_OK;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    ao_buf_free(&b);
    if (!j)
        return ao_err_set(err, AO_EINVAL, "node file %s is not JSON", path);
    static const struct {
        const char *key;
        size_t off, cap;
        bool url;
    } keys[] = {
        { "mu", offsetof(cli_ctx, mu), CLI_URL_MAX, true },
        { "cu", offsetof(cli_ctx, cu), CLI_URL_MAX, true },
        { "gateway", offsetof(cli_ctx, gateway), CLI_URL_MAX, true },
        { "suAddress", offsetof(cli_ctx, su_address), 64, false },
        { "muAddress", offsetof(cli_ctx, mu_address), 64, false },
        { "aosModule", offsetof(cli_ctx, aos_module), 64, false },
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, keys[i].key));
        char *dst = (char *)c + keys[i].off;
        if (v && (!keys[i].url || !dst[0]))
            copy_str(dst, keys[i].cap, v);
    }
    cJSON_Delete(j);
    return AO_OK;
}

int cli_ctx_resolve(cli_ctx *c, ao_error *err)
{
    if (!c->timeout_ms)
        c->timeout_ms = 30000;
    copy_str(c->mu, sizeof c->mu, c->mu_url ? c->mu_url : getenv("MU_URL"));
    copy_str(c->cu, sizeof c->cu, c->cu_url ? c->cu_url : getenv("CU_URL"));
    copy_str(c->gateway, sizeof c->gateway, c->gateway_url ? c->gateway_url : getenv("GATEWAY_URL"));
    const char *node = c->node_file ? c->node_file : getenv("AO_NODE");
    int rc = read_node_json(c, node ? node : ".ao-data/node.json", node != NULL, err);
    if (rc)
        return rc;
    if (!c->mu[0])
        copy_str(c->mu, sizeof c->mu, "http://127.0.0.1:4003");
    if (!c->cu[0])
        copy_str(c->cu, sizeof c->cu, "http://127.0.0.1:4002");
    if (!c->gateway[0])
        copy_str(c->gateway, sizeof c->gateway, "http://127.0.0.1:4000");
    return AO_OK;
}

int cli_wallet(const cli_ctx *c, crypto_wallet **out, ao_error *err)
{
    const char *path = c->wallet_path ? c->wallet_path : getenv("AO_WALLET");
    char def[1024];
    if (!path) {
        const char *home = getenv("HOME");
        snprintf(def, sizeof def, "%s/.aos.json", home ? home : ".");
        path = def;
    }
    if (access(path, F_OK) == 0 || path != def) {
        if (crypto_wallet_load(path, out, err) == AO_OK)
            return AO_OK;
        ao_err_wrap(err, "wallet %s", path);
        return err ? (err->code = AO_EINVAL) : AO_EINVAL;   /* bad input, not a unit */
    }
    int rc = crypto_wallet_generate(CRYPTO_KEY_ARWEAVE, out, err);
    if (rc == AO_OK && (rc = crypto_wallet_save(*out, path, err)) != AO_OK) {
        crypto_wallet_free(*out);
        *out = NULL;
    }
    if (rc == AO_OK)
        fprintf(stderr, "ao %s: made a new wallet in %s\n", c->cmd, path);
    return rc;
}

/* The first GraphQL transaction's id and owner address for the given tags. */
static int gql_first(cli_ctx *c, const char *tags_json, char id[64], char owner[64], ao_error *err)
{
    ao_buf q, out;
    ao_buf_init(&q);
    ao_buf_init(&out);
    ao_buf_printf(&q, "{\"query\":\"query { transactions(tags: %s, sort: HEIGHT_DESC, first: 1)"
                      " { edges { node { id owner { address } } } } }\"}", tags_json);
    char url[CLI_URL_MAX + 16];
    snprintf(url, sizeof url, "%s/graphql", c->gateway);
    int rc = cli_http("POST", url, q.data, q.len, "application/json", 0, &out, err);
    cJSON *j = rc ? NULL : cJSON_ParseWithLength((const char *)out.data, out.len);
    cJSON *edges = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"),
                                         "transactions"), "edges");
    cJSON *node = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(edges, 0), "node");
    const char *i = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(node, "id"));
    const char *o = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(node, "owner"), "address"));
    if (rc == AO_OK && (!i || !o))
        rc = ao_err_set(err, AO_EINVAL, "the gateway %s has no such record", c->gateway);
    if (rc == AO_OK) {
        snprintf(id, 64, "%s", i);
        snprintf(owner, 64, "%s", o);
    }
    cJSON_Delete(j);
    ao_buf_free(&q);
    ao_buf_free(&out);
    return rc;
}

/* ---- items ---- */

/* 32 random characters, as aoconnect's anchors. */
static void random_anchor(uint8_t out[32])
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t rnd[32] = { 0 };
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t got = read(fd, rnd, sizeof rnd);
        (void)got;
        close(fd);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)abc[(rnd[i] ^ (uint8_t)(ts.tv_nsec >> (i % 24))) % 62];
}

#define TAG(n, v) ((item_tag){ (const uint8_t *)(n), strlen(n), (const uint8_t *)(v), strlen(v) })

/* Sign an item with the context's wallet and POST it to the MU. */
static int sign_and_post(cli_ctx *c, const uint8_t *target, item_tag *tags, size_t ntags,
                         const uint8_t *data, size_t data_len, char id[64], ao_error *err)
{
    crypto_wallet *w = NULL;
    int rc = cli_wallet(c, &w, err);
    if (rc)
        return rc;
    uint8_t anchor[32];
    random_anchor(anchor);
    bool empty = data_len == 0;
    if (empty)
        tags[ntags++] = TAG("Content-Type", "text/plain");
    item_fields f = { .target = target, .anchor = anchor, .tags = tags, .ntags = ntags,
                      .data = empty ? (const uint8_t *)" " : data, .data_len = empty ? 1 : data_len };
    ao_buf raw, out;
    ao_buf_init(&raw);
    ao_buf_init(&out);
    uint8_t idb[ITEM_ID_LEN];
    rc = item_sign(w, &f, &raw, idb, err);
    crypto_wallet_free(w);
    if (rc == AO_OK)
        ao_b64url_encode_to(idb, sizeof idb, id);
    if (rc == AO_OK) {   /* the MU answers 202 Accepted */
        rc = cli_http("POST", c->mu, raw.data, raw.len, "application/octet-stream", 0, &out, err);
        if (rc == AO_EBUSY)
            rc = AO_OK;
    }
    ao_buf_free(&raw);
    ao_buf_free(&out);
    return rc;
}

int cli_spawn(cli_ctx *c, const cli_spawn_spec *s, char pid[64], ao_error *err)
{
    char module[64], scheduler[64], ignored[64];
    const char *mod = s->module ? s->module : c->aos_module[0] ? c->aos_module : NULL;
    const char *sch = s->scheduler ? s->scheduler : c->su_address[0] ? c->su_address : NULL;
    int rc = AO_OK;
    if (!mod && (rc = gql_first(c, "[{name: \\\"Data-Protocol\\\", values: [\\\"ao\\\"]}, "
                                   "{name: \\\"Type\\\", values: [\\\"Module\\\"]}, "
                                   "{name: \\\"Name\\\", values: [\\\"aos\\\"]}]",
                                module, ignored, err)) != AO_OK)
        return ao_err_wrap(err, "finding the aos module (give --module)");
    if (!sch && (rc = gql_first(c, "[{name: \\\"Data-Protocol\\\", values: [\\\"ao\\\"]}, "
                                   "{name: \\\"Type\\\", values: [\\\"Scheduler-Location\\\"]}]",
                                ignored, scheduler, err)) != AO_OK)
        return ao_err_wrap(err, "finding a scheduler (give --scheduler)");
    if (!mod)
        mod = module;
    if (!sch)
        sch = scheduler;
    if (!cli_is_id(mod) || !cli_is_id(sch))
        return ao_err_set(err, AO_EINVAL, "module and scheduler must be 43-character ids");
    size_t cap = 12 + s->nauthority + s->ntags;
    item_tag *tags = calloc(cap, sizeof *tags);
    if (!tags)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    size_t n = 0;
    tags[n++] = TAG("Data-Protocol", "ao");
    tags[n++] = TAG("Variant", "ao.TN.1");
    tags[n++] = TAG("Type", "Process");
    tags[n++] = TAG("Module", mod);
    tags[n++] = TAG("Scheduler", sch);
    tags[n++] = TAG("App-Name", "aos");
    if (s->name)
        tags[n++] = TAG("Name", s->name);
    for (size_t i = 0; i < s->nauthority; i++)
        tags[n++] = TAG("Authority", s->authority[i]);
    if (!s->nauthority && c->mu_address[0])
        tags[n++] = TAG("Authority", c->mu_address);
    if (s->cron) {
        tags[n++] = TAG("Cron-Interval", s->cron);
        tags[n++] = TAG("Cron-Tag-Action", "Cron");
    }
    for (size_t i = 0; i < s->ntags; i++)
        tags[n++] = s->tags[i];
    rc = sign_and_post(c, NULL, tags, n, s->data, s->data_len, pid, err);
    free(tags);
    return rc;
}

static int decode_target(const char *t, uint8_t out[32], ao_error *err)
{
    ao_buf b;
    ao_buf_init(&b);
    int rc = cli_is_id(t) ? ao_b64url_decode(t, 43, &b, err) : AO_EINVAL;
    if (rc == AO_OK && b.len == 32)
        memcpy(out, b.data, 32);
    else
        rc = ao_err_set(err, AO_EINVAL, "'%s' is not a process id", t);
    ao_buf_free(&b);
    return rc;
}

int cli_send(cli_ctx *c, const cli_message_spec *m, char id[64], ao_error *err)
{
    uint8_t target[32];
    int rc = decode_target(m->target, target, err);
    if (rc)
        return rc;
    item_tag *tags = calloc(m->ntags + 8, sizeof *tags);
    if (!tags)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    size_t n = 0;
    if (m->action)
        tags[n++] = TAG("Action", m->action);
    for (size_t i = 0; i < m->ntags; i++)
        tags[n++] = m->tags[i];
    tags[n++] = TAG("Data-Protocol", "ao");
    tags[n++] = TAG("Variant", "ao.TN.1");
    tags[n++] = TAG("Type", "Message");
    rc = sign_and_post(c, target, tags, n, m->data, m->data_len, id, err);
    free(tags);
    return rc;
}

int cli_wait_result(cli_ctx *c, const char *msg, const char *pid, ao_buf *out, ao_error *err)
{
    char url[CLI_URL_MAX + 160];
    snprintf(url, sizeof url, "%s/result/%s?process-id=%s", c->cu, msg, pid);
    int64_t deadline = ao_mono_ms() + c->timeout_ms;
    for (;;) {
        int rc = cli_http("GET", url, NULL, 0, NULL, c->timeout_ms, out, err);
        if (rc != AO_EBUSY || ao_mono_ms() >= deadline)
            return rc == AO_EBUSY ? ao_err_set(err, AO_EIO, "no result for %s after %ld ms", msg,
                                               c->timeout_ms)
                                  : rc;
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

int cli_dryrun(cli_ctx *c, const cli_message_spec *m, ao_buf *out, ao_error *err)
{
    char owner[AO_ADDRESS_MAX] = "";
    if (m->owner) {
        snprintf(owner, sizeof owner, "%s", m->owner);
    } else {
        crypto_wallet *w = NULL;
        int rc = cli_wallet(c, &w, err);
        if (rc)
            return rc;
        size_t olen;
        const uint8_t *o = crypto_wallet_owner(w, &olen);
        crypto_owner_address_b64(o, olen, owner);
        crypto_wallet_free(w);
    }
    cJSON *j = cJSON_CreateObject();
    cJSON *tags = cJSON_AddArrayToObject(j, "Tags");
    char *data = strndup(m->data_len ? (const char *)m->data : "1234", m->data_len ? m->data_len : 4);
    cJSON_AddStringToObject(j, "Id", "1234");
    cJSON_AddStringToObject(j, "Target", m->target);
    cJSON_AddStringToObject(j, "Owner", owner);
    cJSON_AddStringToObject(j, "Anchor", "0");
    cJSON_AddStringToObject(j, "Data", data ? data : "");
    free(data);
    item_tag fixed[4];
    size_t nf = 0;
    if (m->action)
        fixed[nf++] = TAG("Action", m->action);
    fixed[nf++] = TAG("Data-Protocol", "ao");
    fixed[nf++] = TAG("Type", "Message");
    fixed[nf++] = TAG("Variant", "ao.TN.1");
    for (size_t i = 0; i < m->ntags + nf; i++) {
        const item_tag *t = i < m->ntags ? &m->tags[i] : &fixed[i - m->ntags];
        cJSON *o = cJSON_CreateObject();
        char *name = strndup((const char *)t->name, t->name_len);
        char *value = strndup((const char *)t->value, t->value_len);
        cJSON_AddStringToObject(o, "name", name ? name : "");
        cJSON_AddStringToObject(o, "value", value ? value : "");
        free(name);
        free(value);
        cJSON_AddItemToArray(tags, o);
    }
    char *body = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!body)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    char url[CLI_URL_MAX + 80];
    snprintf(url, sizeof url, "%s/dry-run?process-id=%s", c->cu, m->target);
    int rc = cli_http("POST", url, body, strlen(body), "application/json", c->timeout_ms, out, err);
    free(body);
    return rc;
}

/* ---- showing results ---- */

static char *dup_json_text(const cJSON *v)
{
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    return cJSON_PrintUnformatted(v);
}

char *cli_result_text(const char *json, char **prompt, char **error)
{
    cJSON *j = cJSON_Parse(json);
    cJSON *out = cJSON_GetObjectItemCaseSensitive(j, "Output");
    cJSON *data = cJSON_IsObject(out) ? cJSON_GetObjectItemCaseSensitive(out, "data") : out;
    cJSON *p = cJSON_IsObject(out) ? cJSON_GetObjectItemCaseSensitive(out, "prompt") : NULL;
    if (cJSON_IsObject(data)) {
        if (!p)
            p = cJSON_GetObjectItemCaseSensitive(data, "prompt");
        data = cJSON_GetObjectItemCaseSensitive(data, "output");
    }
    char *text = dup_json_text(data);
    if (text && !*text) {
        free(text);
        text = NULL;
    }
    if (prompt)
        *prompt = cJSON_IsString(p) ? strdup(p->valuestring) : NULL;
    if (error)
        *error = dup_json_text(cJSON_GetObjectItemCaseSensitive(j, "Error"));
    cJSON_Delete(j);
    return text;
}

/* The value of tag `name` in a [{name,value}] array, or NULL. */
static const char *tag_of(const cJSON *tags, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name"));
        if (n && !strcmp(n, name))
            return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "value"));
    }
    return NULL;
}

int cli_show_result(const cli_ctx *c, const char *id, const char *json, bool eval_mode)
{
    char *error = NULL;
    char *text = cli_result_text(json, NULL, &error);
    if (c->json) {
        if (id)
            printf("{\"id\":\"%s\",\"result\":%s}\n", id, json);
        else
            printf("{\"result\":%s}\n", json);
    } else {
        if (text)
            printf("%s\n", text);
        if (!eval_mode) {
            cJSON *j = cJSON_Parse(json);
            const cJSON *m;
            cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(j, "Messages")) {
                const cJSON *tags = cJSON_GetObjectItemCaseSensitive(m, "Tags");
                const char *action = tag_of(tags, "Action");
                const char *target =
                    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "Target"));
                const char *data = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "Data"));
                bool long_data = data && strlen(data) > 200;
                printf("-> message to %s%s%s%s%.200s%s\n", target ? target : "?",
                       action ? " Action=" : "", action ? action : "", data && *data ? ": " : "",
                       data ? data : "", long_data ? "..." : "");
            }
            int spawns = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "Spawns"));
            int assigns = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "Assignments"));
            if (spawns)
                printf("-> %d spawn%s\n", spawns, spawns == 1 ? "" : "s");
            if (assigns)
                printf("-> %d assignment%s\n", assigns, assigns == 1 ? "" : "s");
            cJSON_Delete(j);
        }
    }
    if (error && !c->json)
        fprintf(stderr, "error: %s\n", error);
    int code = error ? 1 : 0;
    free(text);
    free(error);
    return code;
}

int cli_results_page(cli_ctx *c, const char *pid, const char *from, const char *sort,
                     long limit, cli_result_fn each, void *ctx, char *last_cursor,
                     size_t cursor_cap, size_t *n, ao_error *err)
{
    ao_buf url, out;
    ao_buf_init(&url);
    ao_buf_init(&out);
    ao_buf_printf(&url, "%s/results/%s?sort=%s", c->cu, pid, sort ? sort : "ASC");
    if (limit >= 0)
        ao_buf_printf(&url, "&limit=%ld", limit);
    if (from) {
        ao_buf_append_str(&url, "&from=");
        net_url_escape(&url, from);
    }
    ao_buf_append_byte(&url, 0);
    int rc = cli_http("GET", (const char *)url.data, NULL, 0, NULL, 0, &out, err);
    cJSON *j = rc ? NULL : cJSON_ParseWithLength((const char *)out.data, out.len);
    cJSON *edges = cJSON_GetObjectItemCaseSensitive(j, "edges");
    if (rc == AO_OK && !cJSON_IsArray(edges))
        rc = ao_err_set(err, AO_EIO, "%s: the CU answered without edges", (const char *)url.data);
    *n = 0;
    const cJSON *e;
    if (rc)
        edges = NULL;
    cJSON_ArrayForEach(e, edges) {
        const char *cur = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "cursor"));
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(e, "node");
        char *node_text = cJSON_PrintUnformatted(node);
        if (each) {
            each(ctx, cur ? cur : "", node_text ? node_text : "null");
        } else if (c->json) {
            printf("{\"cursor\":\"%s\",\"node\":%s}\n", cur ? cur : "", node_text ? node_text : "null");
        } else {
            char *error = NULL;
            char *text = node_text ? cli_result_text(node_text, NULL, &error) : NULL;
            if (text)
                printf("%s\n", text);
            if (error)
                printf("error: %s\n", error);
            free(text);
            free(error);
        }
        free(node_text);
        if (cur)
            snprintf(last_cursor, cursor_cap, "%s", cur);
        (*n)++;
    }
    cJSON_Delete(j);
    ao_buf_free(&url);
    ao_buf_free(&out);
    return rc;
}
