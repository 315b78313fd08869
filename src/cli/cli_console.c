/* cli_console.c - `ao console`: an interactive aos shell over HTTP.
 *
 *   ao console [PID | NAME | --new NAME] [common options]
 *
 * Each line (or a multi-line chunk: input continues while the Lua is
 * incomplete, checked with the Lua 5.3 parser) is sent as an Eval message
 * through the MU; the result's output is printed and its prompt becomes the
 * console's prompt. A live feed polls the CU's /results every two seconds
 * and prints what other messages made the process print (Output.print),
 * without disturbing the line being typed (readline's callback interface).
 * Dot commands: .load FILE, .load-blueprint NAME, .editor (until .done),
 * .help, .exit.
 * A unit that cannot be reached is reported and the console keeps going,
 * so it survives the node being stopped and started again. */
#include "cli.h"
#include "cli_client.h"

#include <cJSON.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#define FEED_MS 2000

typedef struct console {
    cli_ctx c;
    char pid[64];
    char prompt[512];
    ao_buf pending;        /* lines of an incomplete chunk */
    bool editor;           /* in .editor mode */
    bool quit;
    bool color;
    char cursor[512];      /* live feed position */
    bool feed_started;
    int64_t next_feed;
    lua_State *L;          /* only for syntax checks */
    bool rl_on;            /* readline's callback handler installed */
} console;

static console *g_con;   /* readline's callback has no user pointer */

static const char *col(const console *k, const char *code)
{
    return k->color ? code : "";
}

/* Print text above the line being edited, then restore it. */
static void print_above(console *k, const char *text, bool is_error)
{
    if (!k->rl_on) {
        fprintf(is_error ? stderr : stdout, "%s%s%s\n", col(k, is_error ? "\033[31m" : ""), text,
                col(k, is_error ? "\033[0m" : ""));
        fflush(stdout);
        return;
    }
    char *saved = rl_copy_text(0, rl_end);
    int point = rl_point;
    rl_set_prompt("");
    rl_replace_line("", 0);
    rl_redisplay();
    fprintf(is_error ? stderr : stdout, "%s%s%s\n", col(k, is_error ? "\033[31m" : ""), text,
            col(k, is_error ? "\033[0m" : ""));
    fflush(stdout);
    rl_set_prompt(k->editor ? "... " : k->pending.len ? ">> " : k->prompt);
    rl_replace_line(saved ? saved : "", 0);
    rl_point = point;
    rl_redisplay();
    free(saved);
}

/* True when code fails to parse only because it ends too early. */
static bool lua_incomplete(console *k, const char *code, size_t len)
{
    int rc = luaL_loadbuffer(k->L, code, len, "=console");
    bool incomplete = false;
    if (rc == LUA_ERRSYNTAX) {
        size_t ml;
        const char *msg = lua_tolstring(k->L, -1, &ml);
        incomplete = msg && ml >= 5 && !strcmp(msg + ml - 5, "<eof>");
        if (incomplete) {   /* "return x" forms the console also accepts */
            lua_pop(k->L, 1);
            ao_buf b;
            ao_buf_init(&b);
            ao_buf_append_str(&b, "return ");
            ao_buf_append(&b, code, len);
            incomplete = luaL_loadbuffer(k->L, (const char *)b.data, b.len, "=console") ==
                             LUA_ERRSYNTAX;
            ao_buf_free(&b);
        }
    }
    lua_settop(k->L, 0);
    return incomplete;
}

/* The process's prompt for readline: colour codes wrapped in \001..\002 so
 * the line width is right, or dropped when colour is off. */
static void set_prompt_from(console *k, const char *prompt)
{
    if (!prompt || !*prompt)
        return;
    size_t o = 0, cap = sizeof k->prompt - 4;
    for (const char *p = prompt; *p && o < cap; p++) {
        if (*p == '\033' && p[1] == '[') {
            const char *e = p + 2;
            while (*e && !((*e >= 'A' && *e <= 'Z') || (*e >= 'a' && *e <= 'z')))
                e++;
            if (!*e)
                break;
            size_t n = (size_t)(e - p) + 1;
            if (k->color && o + n + 2 < cap) {
                k->prompt[o++] = '\001';
                memcpy(k->prompt + o, p, n);
                o += n;
                k->prompt[o++] = '\002';
            }
            p = e;
        } else if (*p != '\a') {
            k->prompt[o++] = *p;
        }
    }
    k->prompt[o] = 0;
}

/* Send code as an Eval and show what came back. */
static void eval_code(console *k, const char *code, size_t len)
{
    ao_error err;
    char id[64];
    ao_buf result;
    ao_buf_init(&result);
    cli_message_spec m = { .target = k->pid, .action = "Eval", .data = (const uint8_t *)code,
                           .data_len = len };
    int rc = cli_send(&k->c, &m, id, &err);
    if (rc == AO_OK)
        rc = cli_wait_result(&k->c, id, k->pid, &result, &err);
    if (rc) {
        char line[AO_ERRMSG_MAX + 64];
        snprintf(line, sizeof line, "could not evaluate: %s", err.msg);
        print_above(k, line, true);
    } else {
        char *prompt = NULL, *error = NULL;
        char *text = cli_result_text((const char *)result.data, &prompt, &error);
        if (text)
            print_above(k, text, false);
        if (error) {
            char *line = malloc(strlen(error) + 16);
            if (line) {
                sprintf(line, "error: %s", error);
                print_above(k, line, true);
                free(line);
            }
        }
        set_prompt_from(k, prompt);
        free(text);
        free(prompt);
        free(error);
    }
    ao_buf_free(&result);
}

static void load_file(console *k, const char *path)
{
    while (*path == ' ')
        path++;
    ao_buf b;
    ao_error err;
    ao_buf_init(&b);
    if (!*path) {
        print_above(k, ".load needs a file name", true);
    } else if (ao_file_read(path, &b, &err)) {
        char line[AO_ERRMSG_MAX + 32];
        snprintf(line, sizeof line, ".load: %s", err.msg);
        print_above(k, line, true);
    } else {
        char line[1100];
        snprintf(line, sizeof line, "loading %s (%zu bytes)", path, b.len);
        print_above(k, line, false);
        eval_code(k, (const char *)b.data, b.len);
    }
    ao_buf_free(&b);
}

static const char *console_help =
    ".load FILE   evaluate a Lua file in the process\n"
    ".load-blueprint NAME  load a bundled blueprint (token, chatroom)\n"
    ".editor      type many lines; .done sends them, .cancel drops them\n"
    ".help        this text\n"
    ".exit        leave (Ctrl-D too)\n"
    "Anything else is Lua, sent as an Eval message; an incomplete chunk\n"
    "continues on the next line.";

static void on_line(char *line)
{
    console *k = g_con;
    if (!line) {   /* Ctrl-D */
        k->quit = true;
        printf("\n");
        return;
    }
    if (k->editor) {
        if (!strcmp(line, ".done") || !strcmp(line, ".cancel")) {
            k->editor = false;
            if (!strcmp(line, ".done") && k->pending.len)
                eval_code(k, (const char *)k->pending.data, k->pending.len);
            ao_buf_reset(&k->pending);
        } else {
            ao_buf_append_str(&k->pending, line);
            ao_buf_append_byte(&k->pending, '\n');
        }
    } else if (!k->pending.len && line[0] == '.') {
        add_history(line);
        if (!strcmp(line, ".exit") || !strcmp(line, ".quit")) {
            k->quit = true;
        } else if (!strcmp(line, ".help")) {
            print_above(k, console_help, false);
        } else if (!strcmp(line, ".editor")) {
            k->editor = true;
            print_above(k, "editor mode: .done to send, .cancel to drop", false);
        } else if (!strncmp(line, ".load-blueprint", 15)) {
            const char *name = line + 15;
            while (*name == ' ')
                name++;
            char code[320];
            snprintf(code, sizeof code, "require(\"blueprints.%.200s\"); return \"loaded %.60s\"",
                     name, name);
            if (!*name || strpbrk(name, "\"\\ "))
                print_above(k, ".load-blueprint needs a blueprint name (token, chatroom)", true);
            else
                eval_code(k, code, strlen(code));
        } else if (!strncmp(line, ".load", 5) && (line[5] == ' ' || !line[5])) {
            load_file(k, line + 5);
        } else {
            print_above(k, "unknown command (try .help)", true);
        }
    } else if (*line || k->pending.len) {
        ao_buf_append_str(&k->pending, line);
        ao_buf_append_byte(&k->pending, '\n');
        if (!lua_incomplete(k, (const char *)k->pending.data, k->pending.len)) {
            ao_buf_append_byte(&k->pending, 0);
            add_history((const char *)k->pending.data);
            eval_code(k, (const char *)k->pending.data, k->pending.len - 2);
            ao_buf_reset(&k->pending);
        }
    }
    free(line);
    if (!k->quit)
        rl_set_prompt(k->editor ? "... " : k->pending.len ? ">> " : k->prompt);
}

/* A feed result: shown when it printed something (aos marks those). */
static void feed_one(void *ctx, const char *cursor, const char *node_json)
{
    console *k = ctx;
    (void)cursor;
    cJSON *node = cJSON_Parse(node_json);
    cJSON *out = cJSON_GetObjectItemCaseSensitive(node, "Output");
    bool printed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(out, "print"));
    cJSON_Delete(node);
    if (!printed || !k->feed_started)
        return;
    char *shown = cli_result_text(node_json, NULL, NULL);
    if (shown)
        print_above(k, shown, false);
    free(shown);
}

/* One round of the live feed: new results that printed something. The
 * first round only finds where the feed starts. */
static void poll_feed(console *k)
{
    ao_error err;
    size_t n = 0;
    int rc = cli_results_page(&k->c, k->pid, k->feed_started ? k->cursor : NULL,
                              k->feed_started ? "ASC" : "DESC", k->feed_started ? 1000 : 1,
                              feed_one, k, k->cursor, sizeof k->cursor, &n, &err);
    if (rc == AO_OK)
        k->feed_started = true;
}

/* Find the process named name owned by the wallet, through GraphQL. */
static int find_by_name(console *k, const char *name, ao_error *err)
{
    crypto_wallet *w = NULL;
    int rc = cli_wallet(&k->c, &w, err);
    if (rc)
        return rc;
    char addr[AO_ADDRESS_MAX];
    size_t olen;
    const uint8_t *o = crypto_wallet_owner(w, &olen);
    crypto_owner_address_b64(o, olen, addr);
    crypto_wallet_free(w);
    cJSON *q = cJSON_CreateObject();
    cJSON *vars = cJSON_AddObjectToObject(q, "variables");
    cJSON_AddStringToObject(q, "query",
        "query($owners: [String!], $name: [String!]) { transactions(first: 1, owners: $owners,"
        " tags: [{name: \"Data-Protocol\", values: [\"ao\"]}, {name: \"Type\", values: "
        "[\"Process\"]}, {name: \"Name\", values: $name}]) { edges { node { id } } } }");
    cJSON_AddItemToObject(vars, "owners", cJSON_CreateStringArray((const char *[]){ addr }, 1));
    cJSON_AddItemToObject(vars, "name", cJSON_CreateStringArray((const char *[]){ name }, 1));
    char *body = cJSON_PrintUnformatted(q);
    cJSON_Delete(q);
    ao_buf out;
    ao_buf_init(&out);
    char url[CLI_URL_MAX + 16];
    snprintf(url, sizeof url, "%s/graphql", k->c.gateway);
    rc = body ? cli_http("POST", url, body, strlen(body), "application/json", 0, &out, err)
              : ao_err_set(err, AO_ENOMEM, "out of memory");
    free(body);
    cJSON *j = rc ? NULL : cJSON_ParseWithLength((const char *)out.data, out.len);
    cJSON *edges = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"),
                                         "transactions"), "edges");
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(edges, 0), "node"), "id"));
    if (rc == AO_OK && id)
        snprintf(k->pid, sizeof k->pid, "%s", id);
    else if (rc == AO_OK)
        rc = AO_ENOTFOUND;
    cJSON_Delete(j);
    ao_buf_free(&out);
    return rc;
}

static const char *console_usage =
    "usage: ao console [PID | NAME | --new NAME] [options]\n"
    "\n"
    "An interactive aos shell. PID connects to a process; NAME connects to\n"
    "your process of that name (found on the gateway) or spawns it; --new\n"
    "NAME always spawns. Without either, NAME is \"default\".\n";

int cli_console_main(int argc, char **argv)
{
    console k;
    memset(&k, 0, sizeof k);
    k.c.cmd = "console";
    k.c.timeout_ms = 60000;
    const char *target = NULL, *new_name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--new") ? &new_name
                          : !strcmp(a, "--mu-url") ? &k.c.mu_url
                          : !strcmp(a, "--cu-url") ? &k.c.cu_url
                          : !strcmp(a, "--gateway-url") ? &k.c.gateway_url
                          : !strcmp(a, "--node") ? &k.c.node_file
                          : !strcmp(a, "--wallet") ? &k.c.wallet_path : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(console_usage, stdout);
            return 0;
        }
        if (slot && i + 1 < argc) {
            *slot = argv[++i];
        } else if (!cli_is_flag(a) && !target) {   /* ids may begin with '-' */
            target = a;
        } else {
            fprintf(stderr, "ao console: unknown option or missing value: %s\n%s", a,
                    console_usage);
            return 2;
        }
    }
    ao_error err;
    if (cli_ctx_resolve(&k.c, &err)) {
        fprintf(stderr, "ao console: %s\n", err.msg);
        return 2;
    }
    int rc = AO_OK;
    const char *name = new_name ? new_name : target && !cli_is_id(target) ? target
                                                                           : target ? NULL
                                                                                    : "default";
    if (target && cli_is_id(target) && !new_name)
        snprintf(k.pid, sizeof k.pid, "%s", target);
    else if (new_name || (rc = find_by_name(&k, name, &err)) == AO_ENOTFOUND) {
        cli_spawn_spec s = { .name = name };
        ao_buf first;
        ao_buf_init(&first);
        rc = cli_spawn(&k.c, &s, k.pid, &err);
        if (rc == AO_OK)
            rc = cli_wait_result(&k.c, k.pid, k.pid, &first, &err);
        ao_buf_free(&first);
        if (rc == AO_OK)
            printf("spawned %s (%s)\n", name, k.pid);
    }
    if (rc) {
        fprintf(stderr, "ao console: %s\n", err.msg);
        return cli_exit_code(rc);
    }
    k.L = luaL_newstate();
    if (!k.L) {
        fprintf(stderr, "ao console: out of memory\n");
        return 2;
    }
    ao_buf_init(&k.pending);
    k.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    snprintf(k.prompt, sizeof k.prompt, "aos> ");
    g_con = &k;
    printf("%sao console%s: process %s (.help for help)\n", col(&k, "\033[1m"), col(&k, "\033[0m"),
           k.pid);
    /* ask for the prompt the way the aos CLI does */
    eval_code(&k, "require('.process')._version", strlen("require('.process')._version"));
    rl_callback_handler_install(k.prompt, on_line);
    k.rl_on = true;
    k.next_feed = ao_mono_ms();
    while (!k.quit) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(STDIN_FILENO, &fds);
        int64_t wait = k.next_feed - ao_mono_ms();
        struct timeval tv = { wait > 0 ? wait / 1000 : 0, wait > 0 ? (wait % 1000) * 1000 : 0 };
        int n = select(STDIN_FILENO + 1, &fds, NULL, NULL, &tv);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && FD_ISSET(STDIN_FILENO, &fds))
            rl_callback_read_char();
        if (!k.quit && ao_mono_ms() >= k.next_feed) {
            poll_feed(&k);
            k.next_feed = ao_mono_ms() + FEED_MS;
        }
    }
    rl_callback_handler_remove();
    lua_close(k.L);
    ao_buf_free(&k.pending);
    return 0;
}
