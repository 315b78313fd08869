/* host_test_module.h - what the host tests share: the aos test module
 * (build/aos-test.wasm, or $AO_AOS_TEST_WASM) loaded once per group, new
 * processes on it, and one message with an Action tag and Data run through
 * host_process_handle with a fixed env. Included by test files only. */
#ifndef AO_TESTS_HOST_TEST_MODULE_H
#define AO_TESTS_HOST_TEST_MODULE_H

#include "base/base.h"
#include "host/host.h"

static ao_buf g_wasm;
static host_module *g_mod;

static int setup_module(void **state)
{
    (void)state;
    const char *path = getenv("AO_AOS_TEST_WASM");
    if (!path) path = "build/aos-test.wasm";
    ao_buf_init(&g_wasm);
    ao_error err = {0};
    if (ao_file_read(path, &g_wasm, &err) != AO_OK) {
        fprintf(stderr, "cannot read %s: %s (make aos)\n", path, err.msg);
        return -1;
    }
    if (host_module_new(g_wasm.data, g_wasm.len, NULL, &g_mod, &err) != AO_OK) {
        fprintf(stderr, "host_module_new: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown_module(void **state)
{
    (void)state;
    host_module_free(g_mod);
    ao_buf_free(&g_wasm);
    return 0;
}

static host_process *new_proc(const host_limits *lim)
{
    host_process *p = NULL;
    ao_error err = {0};
    int rc = host_process_new(g_mod, lim, &p, &err);
    if (rc != AO_OK) fprintf(stderr, "host_process_new: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    return p;
}

/* A message with an Action tag (or none) and Data. */
static char *msg_json(const char *action, const char *data, long long ts)
{
    char *s = malloc(strlen(data) * 2 + 256);
    assert_non_null(s);
    char tags[128] = "[]";
    if (action) snprintf(tags, sizeof tags, "[{\"name\":\"Action\",\"value\":\"%s\"}]", action);
    /* data given here never needs escaping beyond quotes */
    char *d = malloc(strlen(data) * 2 + 1), *q = d;
    for (const char *c = data; *c; c++) {
        if (*c == '"' || *c == '\\') *q++ = '\\';
        *q++ = *c;
    }
    *q = 0;
    sprintf(s, "{\"Id\":\"m%lld\",\"Owner\":\"o\",\"Target\":\"t\",\"Timestamp\":%lld,"
               "\"Block-Height\":1,\"Tags\":%s,\"Data\":\"%s\"}", ts, ts, tags, d);
    free(d);
    return s;
}

static const char *ENV = "{\"Process\":{\"Id\":\"p\",\"Owner\":\"o\",\"Tags\":[]},"
                         "\"Module\":{\"Id\":\"m\",\"Owner\":\"o\",\"Tags\":[]}}";

static void run(host_process *p, const char *action, const char *data, long long ts, host_result *r)
{
    char *m = msg_json(action, data, ts);
    ao_error err = {0};
    int rc = host_process_handle(p, m, ENV, r, &err);
    if (rc != AO_OK) fprintf(stderr, "handle: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    free(m);
}

#endif
