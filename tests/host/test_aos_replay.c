/* test_aos_replay.c - the aos Lua library's own test traffic run through
 * build/aos.wasm on the project's engine and compared with native lua5.3.
 *
 * Records the traffic with `AOS_RECORD=FILE lua5.3 tests/aos/run.lua` (see
 * tests/aos/harness.lua: per process a "# spawn NAME" line, then per
 * message three lines msg, env, native response), replays every process in
 * a fresh host_process and compares each module response with the native
 * one as JSON values (object key order aside; error positions name
 * "aos/lua/dir/x.lua:" natively and "dir.x.lua:" in the module, and the
 * places searched for a missing module differ: both are normalised, as
 * tests/aos/replay.js does). One count per recorded process; ends with
 * "N passed, N failed". */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "host/host.h"

/* "aos/lua/a/b.lua:" -> "a.b.lua:"; runs of "\n\tno file ..." or
 * "\n\tno embedded module ..." lines -> "\n\t(searched)". */
static char *canon_str(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n + 16), *q = o;
    if (!o) return NULL;
    const char *p = s;
    while (*p) {
        if (strncmp(p, "aos/lua/", 8) == 0) {
            const char *e = p + 8;
            while (*e && (e[0] != '.' || strncmp(e, ".lua:", 5) != 0) &&
                   (*e == '/' || *e == '_' || *e == '-' || (*e >= 'a' && *e <= 'z') ||
                    (*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9')))
                e++;
            if (strncmp(e, ".lua:", 5) == 0 && e > p + 8) {
                for (const char *c = p + 8; c < e; c++) *q++ = *c == '/' ? '.' : *c;
                p = e;
                continue;
            }
        }
        if (strncmp(p, "\n\tno file ", 10) == 0 || strncmp(p, "\n\tno embedded module ", 21) == 0) {
            while (strncmp(p, "\n\tno file ", 10) == 0 || strncmp(p, "\n\tno embedded module ", 21) == 0) {
                p += 2;
                while (*p && *p != '\n') p++;
            }
            memcpy(q, "\n\t(searched)", 12);
            q += 12;
            continue;
        }
        *q++ = *p++;
    }
    *q = 0;
    return o;
}

static void canon(cJSON *v)
{
    if (cJSON_IsString(v)) {
        char *c = canon_str(v->valuestring);
        if (c) {
            cJSON_SetValuestring(v, c);
            free(c);
        }
    }
    for (cJSON *c = v->child; c; c = c->next) canon(c);
}

static char *read_line(FILE *f)
{
    ao_buf b;
    ao_buf_init(&b);
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n') ao_buf_append_byte(&b, (uint8_t)c);
    if (c == EOF && b.len == 0) { ao_buf_free(&b); return NULL; }
    ao_buf_append_byte(&b, 0);
    return (char *)b.data;
}

int main(void)
{
    const char *lua = getenv("LUA") ? getenv("LUA") : "lua5.3";
    char rec[] = "/tmp/aos-replay-XXXXXX";
    int fd = mkstemp(rec);
    if (fd < 0) { printf("cannot create a temporary file\n0 passed, 1 failed\n"); return 1; }
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "AOS_RECORD=%s %s tests/aos/run.lua >/dev/null 2>&1", rec, lua);
    if (system(cmd) != 0)
        printf("note: the native run reported failures (they are that suite's to report)\n");
    FILE *f = fopen(rec, "r");
    ao_buf wasm;
    ao_buf_init(&wasm);
    ao_error err = {0};
    host_module *m = NULL;
    if (!f || ao_file_read("build/aos.wasm", &wasm, &err) != AO_OK ||
        host_module_new(wasm.data, wasm.len, NULL, &m, &err) != AO_OK) {
        printf("setup failed: %s\n0 passed, 1 failed\n", err.msg);
        if (f) fclose(f);
        unlink(rec);
        ao_buf_free(&wasm);
        return 1;
    }
    int passed = 0, failed = 0, messages = 0;
    host_process *p = NULL;
    char *name = NULL;
    bool bad = false;
    char *line;
    while ((line = read_line(f))) {
        if (strncmp(line, "# spawn ", 8) == 0) {
            if (name) { if (bad) failed++; else { passed++; printf("ok   %s\n", name); } }
            free(name);
            name = strdup(line + 8);
            bad = false;
            host_process_free(p);
            p = NULL;
            if (host_process_new(m, NULL, &p, &err) == AO_OK) {
                host_process_set_rollback(p, false);   /* the native run keeps state after an Error */
            } else {
                printf("FAIL %s: %s\n", name, err.msg);
                bad = true;
            }
            free(line);
            continue;
        }
        char *env = read_line(f), *want = read_line(f);
        messages++;
        if (!env || !want || !p) {
            if (!bad) printf("FAIL %s: %s\n", name ? name : "?", p ? "truncated record" : "no process");
            bad = true;
            free(line); free(env); free(want);
            if (!env || !want) break;
            continue;
        }
        host_result r;
        cJSON *got = NULL, *exp = cJSON_Parse(want);
        if (host_process_handle(p, line, env, &r, &err) != AO_OK) {
            printf("FAIL %s: handle: %s\n", name, err.msg);
            bad = true;
        } else {
            cJSON *doc = r.raw ? cJSON_Parse(r.raw) : NULL;
            cJSON *ok = doc ? cJSON_GetObjectItemCaseSensitive(doc, "ok") : NULL;
            if (cJSON_IsTrue(ok))
                got = cJSON_DetachItemFromObjectCaseSensitive(doc, "response");
            cJSON_Delete(doc);
            if (got && exp) { canon(got); canon(exp); }
            if (!got || !exp || !cJSON_Compare(got, exp, true)) {
                if (!bad) printf("FAIL %s\n", name);
                bad = true;
                char *g = got ? cJSON_PrintUnformatted(got) : NULL;
                printf("  message %d\n  module: %.600s\n  native: %.600s\n", messages,
                       g ? g : (r.raw ? r.raw : (r.error ? r.error : "(none)")), want);
                free(g);
            }
            host_result_free(&r);
        }
        cJSON_Delete(got);
        cJSON_Delete(exp);
        free(line); free(env); free(want);
    }
    if (name) { if (bad) failed++; else { passed++; printf("ok   %s\n", name); } }
    free(name);
    host_process_free(p);
    host_module_free(m);
    ao_buf_free(&wasm);
    fclose(f);
    unlink(rec);
    printf("%d messages replayed\n", messages);
    if (passed + failed == 0) failed = 1;
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
