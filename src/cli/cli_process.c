/*
 * cli_process.c - `ao process`: run messages through a process module on
 * the project's engine (src/host).
 *
 *   ao process run [options] MODULE.wasm [INPUT]
 *
 * INPUT (default: standard input) holds one message per line as a JSON
 * array [msg, env] (PROTOCOL.md §4.3); blank lines are skipped. Each
 * result (PROTOCOL.md §4.2) is printed as one JSON line. Options:
 *   --format F            Module-Format (default: this project's build)
 *   --memory-limit L      Memory-Limit, e.g. 1-gb, 536870912
 *   --compute-limit N     gas per message
 *   --no-rollback         keep memory changes of messages that end in a
 *                         Lua error (traps still roll back)
 *   --memory-in FILE      start from this memory image (a checkpoint)
 *   --memory-out FILE     write the final memory image
 * Exit codes: 0 every message ok, 1 some message had an Error, 2 usage,
 * load or I/O error.
 */
#include "cli.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "host/host.h"

static void cli_process_usage(FILE *f)
{
    fprintf(f,
            "usage: ao process run [options] MODULE.wasm [INPUT]\n"
            "\n"
            "Runs messages through a process module (emscripten wasm with a\n"
            "handle(msg, env) export). INPUT (default stdin): one JSON array\n"
            "[msg, env] per line. Prints one result JSON per line.\n"
            "  --format F          Module-Format (default: emscripten-3.1.6, ours)\n"
            "  --memory-limit L    Memory-Limit, e.g. 1-gb or bytes\n"
            "  --compute-limit N   gas per message\n"
            "  --no-rollback       keep memory changes of messages ending in a Lua error\n"
            "  --memory-in FILE    start from this memory image\n"
            "  --memory-out FILE   write the final memory image\n"
            "exit 0 all ok, 1 some message had an Error, 2 usage/load/I-O error\n");
}

/* One input line -> msg and env JSON texts (malloc'd). */
static int cli_process_split(const char *line, char **msg, char **env, ao_error *err)
{
    cJSON *a = cJSON_Parse(line);
    if (!a || !cJSON_IsArray(a) || cJSON_GetArraySize(a) != 2) {
        cJSON_Delete(a);
        return ao_err_set(err, AO_EINVAL, "input line is not a JSON array [msg, env]");
    }
    *msg = cJSON_PrintUnformatted(cJSON_GetArrayItem(a, 0));
    *env = cJSON_PrintUnformatted(cJSON_GetArrayItem(a, 1));
    cJSON_Delete(a);
    if (!*msg || !*env) {
        free(*msg);
        free(*env);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    return AO_OK;
}

static int cli_process_run(int argc, char **argv)
{
    const char *format = NULL, *mem_in = NULL, *mem_out = NULL, *module = NULL, *input = NULL;
    host_limits lim = {0};
    bool rollback = true;
    ao_error err = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { cli_process_usage(stdout); return 0; }
        else if (!strcmp(a, "--format") && has_val) format = argv[++i];
        else if (!strcmp(a, "--memory-limit") && has_val) {
            if (host_parse_memory_limit(argv[++i], &lim.memory_limit, &err) != AO_OK) {
                fprintf(stderr, "ao process: %s\n", err.msg);
                return 2;
            }
        } else if (!strcmp(a, "--compute-limit") && has_val) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(argv[++i], &end, 10);
            if (errno || *end || argv[i][0] == '-' || !argv[i][0]) {
                fprintf(stderr, "ao process: bad --compute-limit '%s'\n", argv[i]);
                return 2;
            }
            lim.compute_limit = v;
        } else if (!strcmp(a, "--no-rollback")) rollback = false;
        else if (!strcmp(a, "--memory-in") && has_val) mem_in = argv[++i];
        else if (!strcmp(a, "--memory-out") && has_val) mem_out = argv[++i];
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ao process: unknown or incomplete option '%s'\n", a);
            cli_process_usage(stderr);
            return 2;
        } else if (!module) module = a;
        else if (!input) input = a;
        else { cli_process_usage(stderr); return 2; }
    }
    if (!module) { cli_process_usage(stderr); return 2; }

    int status = 2;
    ao_buf wasm, img;
    ao_buf_init(&wasm);
    ao_buf_init(&img);
    host_module *m = NULL;
    host_process *p = NULL;
    FILE *in = NULL;
    if (ao_file_read(module, &wasm, &err) != AO_OK || host_module_new(wasm.data, wasm.len, format, &m, &err) != AO_OK)
        goto fail;
    if (mem_in) {
        if (ao_file_read(mem_in, &img, &err) != AO_OK ||
            host_process_new_from_memory(m, &lim, img.data, img.len, &p, &err) != AO_OK)
            goto fail;
    } else if (host_process_new(m, &lim, &p, &err) != AO_OK) {
        goto fail;
    }
    host_process_set_rollback(p, rollback);
    in = input ? fopen(input, "r") : stdin;
    if (!in) { ao_err_set(&err, AO_EIO, "cannot open %s: %s", input, strerror(errno)); goto fail; }
    status = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ')) line[--n] = 0;
        if (n == 0) continue;
        char *msg = NULL, *env = NULL;
        host_result r;
        if (cli_process_split(line, &msg, &env, &err) != AO_OK) {
            fprintf(stderr, "ao process: line %ld: %s\n", lineno, err.msg);
            status = 2;
            break;
        }
        int rc = host_process_handle(p, msg, env, &r, &err);
        free(msg);
        free(env);
        if (rc != AO_OK) {
            fprintf(stderr, "ao process: line %ld: %s\n", lineno, err.msg);
            status = 2;
            break;
        }
        printf("%s\n", r.json);
        if (r.error && status == 0) status = 1;
        host_result_free(&r);
    }
    free(line);
    if (status != 2 && mem_out) {
        size_t len;
        const uint8_t *mem = host_process_memory(p, &len);
        if (ao_file_write_atomic(mem_out, mem, len, 0644, &err) != AO_OK) {
            fprintf(stderr, "ao process: %s\n", err.msg);
            status = 2;
        }
    }
    goto done;
fail:
    fprintf(stderr, "ao process: %s\n", err.msg);
done:
    if (in && in != stdin) fclose(in);
    host_process_free(p);
    host_module_free(m);
    ao_buf_free(&wasm);
    ao_buf_free(&img);
    return status;
}

int cli_process_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cli_process_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "run"))
        return cli_process_run(argc - 1, argv + 1);
    fprintf(stderr, "ao process: unknown subcommand '%s'\n", argv[1]);
    cli_process_usage(stderr);
    return 2;
}
