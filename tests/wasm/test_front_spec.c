/*
 * test_front_spec.c - the WebAssembly front-end (decoder + validator) over
 * the spec suite (core/ and memory64/ of shared/wasm-spec, located via
 * $AO_SHARED or ../shared): every binary module must decode
 * and validate (assert_unlinkable / assert_uninstantiable ones too), every
 * malformed one must fail in the decoder with AO_EFORMAT, every invalid one
 * must decode and then fail validation with AO_EINVAL. Text modules are
 * skipped and counted. Prints each mismatch and the totals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "base/base.h"
#include "wasm/wasm_module.h"
#include "vectors.h"

enum { ST_OK, ST_DECODE, ST_VALIDATE };

/* Decode, then validate if decoding worked; the first failure's code and
 * stage. The module is freed. */
static int load(const uint8_t *p, size_t n, int *stage, ao_error *err)
{
    wasm_module *m = NULL;
    int rc = wasm__decode(p, n, &m, err);
    if (rc) {
        assert_null(m);
        *stage = ST_DECODE;
        return rc;
    }
    rc = wasm__validate(m, err);
    *stage = rc ? ST_VALIDATE : ST_OK;
    wasm__destroy(m);
    return rc;
}

static char shared_dir[1024];

static bool dir_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *find_shared(void)
{
    const char *dir = vec_shared_dir();
    if (!dir || !dir_exists(dir))
        return NULL;
    snprintf(shared_dir, sizeof shared_dir, "%s", dir);
    return shared_dir;
}

typedef struct spec_stats {
    unsigned files, modules, malformed, invalid, linkish, text_skipped, mismatches;
    unsigned text_same;   /* rejections whose message holds the spec's text */
} spec_stats;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && strcmp(s + n - k, suf) == 0;
}

static void spec_file(const char *dir, const char *json, spec_stats *st)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, json);
    ao_buf text;
    ao_buf_init(&text);
    assert_int_equal(ao_file_read(path, &text, NULL), AO_OK);
    cJSON *root = cJSON_ParseWithLength((const char *)text.data, text.len);
    ao_buf_free(&text);
    assert_non_null(root);
    cJSON *cmds = cJSON_GetObjectItem(root, "commands");
    assert_non_null(cmds);
    unsigned bad = 0;
    cJSON *c;
    cJSON_ArrayForEach(c, cmds) {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(c, "type"));
        const char *fname = cJSON_GetStringValue(cJSON_GetObjectItem(c, "filename"));
        const char *mtype = cJSON_GetStringValue(cJSON_GetObjectItem(c, "module_type"));
        cJSON *line = cJSON_GetObjectItem(c, "line");
        if (!type || !fname)
            continue;
        int kind;   /* 0 valid, 1 malformed, 2 invalid */
        if (!strcmp(type, "module") || !strcmp(type, "module_definition") ||
            !strcmp(type, "assert_unlinkable") || !strcmp(type, "assert_uninstantiable"))
            kind = 0;
        else if (!strcmp(type, "assert_malformed"))
            kind = 1;
        else if (!strcmp(type, "assert_invalid"))
            kind = 2;
        else
            continue;
        if ((mtype && !strcmp(mtype, "text")) || ends_with(fname, ".wat")) {
            st->text_skipped++;
            continue;
        }
        if (kind == 0)
            st->modules++;
        else if (kind == 1)
            st->malformed++;
        else
            st->invalid++;
        if (!strcmp(type, "assert_unlinkable") || !strcmp(type, "assert_uninstantiable"))
            st->linkish++;
        snprintf(path, sizeof path, "%s/%s", dir, fname);
        ao_buf bin;
        ao_buf_init(&bin);
        assert_int_equal(ao_file_read(path, &bin, NULL), AO_OK);
        ao_error err;
        ao_err_clear(&err);
        int stage;
        int rc = load(bin.data, bin.len, &stage, &err);
        ao_buf_free(&bin);
        const char *want = NULL;
        if (kind == 0 && rc != AO_OK)
            want = "valid";
        else if (kind == 1 && !(stage == ST_DECODE && rc == AO_EFORMAT))
            want = "malformed (decode error)";
        else if (kind == 2 && !(stage == ST_VALIDATE && rc == AO_EINVAL))
            want = "invalid (validation error)";
        const char *spec_text = cJSON_GetStringValue(cJSON_GetObjectItem(c, "text"));
        if (kind != 0 && rc != AO_OK && spec_text && strstr(err.msg, spec_text))
            st->text_same++;
        if (want) {
            bad++;
            const char *text_want = cJSON_GetStringValue(cJSON_GetObjectItem(c, "text"));
            printf("  MISMATCH %s line %d %s: want %s [%s], got %s at %s: %s\n", json,
                   line ? line->valueint : 0, fname, want, text_want ? text_want : "",
                   ao_strerror(rc), stage == ST_DECODE ? "decode" : stage == ST_VALIDATE ? "validate" : "-",
                   rc ? err.msg : "accepted");
        }
    }
    cJSON_Delete(root);
    st->mismatches += bad;
    st->files++;
}

static void spec_dir(const char *sub, spec_stats *st)
{
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/wasm-spec/%s", shared_dir, sub);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("spec directory %s is missing", dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, ".json"))
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        assert_non_null(names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        spec_file(dir, names[i], st);
        free(names[i]);
    }
    free(names);
}

static void spec_suite(const char *sub, unsigned min_files)
{
    if (!find_shared())
        fail_msg("shared/ not found (set AO_SHARED)");
    spec_stats st = { 0 };
    spec_dir(sub, &st);
    printf("spec %s: %u files, %u valid modules (%u unlinkable/uninstantiable), %u malformed, "
           "%u invalid, %u text modules skipped, %u mismatches; %u of %u error messages "
           "contain the spec's wording\n",
           sub, st.files, st.modules, st.linkish, st.malformed, st.invalid, st.text_skipped,
           st.mismatches, st.text_same, st.malformed + st.invalid);
    assert_true(st.files >= min_files);
    assert_int_equal(st.mismatches, 0);
}

static void spec_core(void **state)
{
    (void)state;
    spec_suite("core", 90);
}

static void spec_memory64(void **state)
{
    (void)state;
    spec_suite("memory64", 25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_core),
        cmocka_unit_test(spec_memory64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
