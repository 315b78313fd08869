/* test_host_em4.c - src/host running modules with the imports of an
 * emscripten 3.1.5x ao module (tests/host/emproc/emproc.c), each test twice:
 * build/emproc32.wasm as wasm32-unknown-emscripten4 and build/emproc64.wasm
 * as wasm64-unknown-emscripten-draft_2024_02_15 (i64 pointers in handle,
 * the stack exports, setThrew and every import; 16-byte iovecs and size_t
 * results; addresses beyond 4 GiB). Also: every sandboxed import's answer,
 * longjmp, heap growth, rollback, snapshots, and the format/memory-width
 * checks at load. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "host/host.h"

#define FMT64 "wasm64-unknown-emscripten-draft_2024_02_15"
#define FMT32 "wasm32-unknown-emscripten4"
#define ENV "{\"Process\":{\"Id\":\"p\",\"Owner\":\"o\",\"Tags\":[]}}"

static bool g_64;          /* the group running: the wasm64 module or the wasm32 one */
static ao_buf g_wasm;
static host_module *g_mod;

static int setup_for(bool is64)
{
    g_64 = is64;
    const char *path = getenv(is64 ? "AO_EMPROC64_WASM" : "AO_EMPROC32_WASM");
    if (!path) path = is64 ? "build/emproc64.wasm" : "build/emproc32.wasm";
    ao_buf_init(&g_wasm);
    ao_error err = {0};
    if (ao_file_read(path, &g_wasm, &err) != AO_OK) {
        fprintf(stderr, "cannot read %s: %s (make %s)\n", path, err.msg, path);
        return -1;
    }
    if (host_module_new(g_wasm.data, g_wasm.len, is64 ? FMT64 : FMT32, &g_mod, &err) != AO_OK) {
        fprintf(stderr, "host_module_new: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int setup32(void **state) { (void)state; return setup_for(false); }
static int setup64(void **state) { (void)state; return setup_for(true); }

static int teardown(void **state)
{
    (void)state;
    host_module_free(g_mod);
    ao_buf_free(&g_wasm);
    return 0;
}

static host_process *new_proc(uint64_t memory_limit)
{
    host_limits lim = {.memory_limit = memory_limit, .compute_limit = 0};
    host_process *p = NULL;
    ao_error err = {0};
    int rc = host_process_new(g_mod, &lim, &p, &err);
    if (rc != AO_OK) fprintf(stderr, "host_process_new: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    return p;
}

static void run(host_process *p, const char *action, host_result *r)
{
    char msg[256];
    snprintf(msg, sizeof msg, "{\"Id\":\"m\",\"Tags\":[{\"name\":\"Action\",\"value\":\"%s\"}],\"Data\":\"\"}",
             action);
    ao_error err = {0};
    assert_int_equal(host_process_handle(p, msg, ENV, r, &err), AO_OK);
}

static void expect_output(host_process *p, const char *action, const char *want)
{
    host_result r;
    run(p, action, &r);
    if (r.error) fprintf(stderr, "%s: unexpected Error: %s\n", action, r.error);
    assert_null(r.error);
    char needle[512];
    snprintf(needle, sizeof needle, "\"Output\":\"%s\"", want);
    if (!strstr(r.json, needle)) fprintf(stderr, "%s: result %s lacks %s\n", action, r.json, needle);
    assert_non_null(strstr(r.json, needle));
    host_result_free(&r);
}

static void expect_error(host_process *p, const char *action, const char *want)
{
    host_result r;
    run(p, action, &r);
    assert_non_null(r.error);
    if (!strstr(r.error, want)) fprintf(stderr, "%s: Error '%s' lacks '%s'\n", action, r.error, want);
    assert_non_null(strstr(r.error, want));
    host_result_free(&r);
}

/* ---- tests ---- */

static void format_and_memory_width_must_agree(void **state)
{
    (void)state;
    host_module *m = NULL;
    ao_error err = {0};
    const char *other = g_64 ? FMT32 : FMT64;
    assert_int_equal(host_module_new(g_wasm.data, g_wasm.len, other, &m, &err), AO_EUNSUPPORTED);
    assert_null(m);
    assert_non_null(strstr(err.msg, g_64 ? "memory is 64-bit" : "memory is 32-bit"));
    if (g_64) {
        /* our own format is a wasm32 one too */
        assert_int_equal(host_module_new(g_wasm.data, g_wasm.len, NULL, &m, &err), AO_EUNSUPPORTED);
        assert_int_equal(host_module_new(g_wasm.data, g_wasm.len,
                                         "wasm64-unknown-emscripten-draft_2024_10_16-metering", &m, &err),
                         AO_OK);
        assert_string_equal(host_module_format(m), "wasm64-unknown-emscripten-draft_2024_10_16-metering");
    } else {
        assert_int_equal(host_module_new(g_wasm.data, g_wasm.len, "wasm32-unknown-emscripten-metering", &m, &err),
                         AO_OK);
    }
    host_module_free(m);
}

/* Every import the sandbox answers without doing anything: files do not
 * exist (-ENOENT), other syscalls are -ENOSYS, reads EBADF, seeks ESPIPE,
 * system() -1, mktime -1; nothing is written for time zones and dates. */
static void sandboxed_imports_answer_as_documented(void **state)
{
    (void)state;
    host_process *p = new_proc(0);
    expect_output(p, "Sandbox",
                  "openat=-44 fcntl=-52 ioctl=-52 dup3=-52 unlinkat=-52 rmdir=-52 renameat=-52 "
                  "readlinkat=-52 fd_read=8 fd_close=0 fd_seek=70 environ_get=0 monotonic=0 system=-1 "
                  "tzset=10 mktime=-1 localtime=0 gmtime=0 strftime=0 gas=0 wd_read=0 wd_close=0");
    expect_error(p, "Exit", "trap: exit(3)");
    expect_output(p, "Count", "count 2");
    host_process_free(p);
}

static void state_persists_and_failures_roll_back(void **state)
{
    (void)state;
    host_process *p = new_proc(0);
    expect_output(p, "Count", "count 1");
    expect_output(p, "Count", "count 2");
    expect_error(p, "Fail", "failed on purpose");
    expect_error(p, "Trap", "trap: unreachable");
    expect_error(p, "Abort", "trap: abort");
    expect_output(p, "Count", "count 3");
    host_process_free(p);
}

static void longjmp_through_invoke_with_i64_pointers(void **state)
{
    (void)state;
    host_process *p = new_proc(0);
    /* jumps() set state 1 then longjmp'd: setThrew(1, 0); adds() returned
     * normally through the same invoke_vjj; the stack pointer is restored */
    expect_output(p, "Longjmp", "state 1 threw 1 value 0 sum 42 sp kept");
    expect_output(p, "Count", "count 2");
    host_process_free(p);
}

static void fd_write_reads_16_byte_iovecs(void **state)
{
    (void)state;
    host_process *p = new_proc(0);
    host_result r;
    run(p, "Print", &r);
    assert_null(r.error);
    /* the whole size_t written (8 bytes in wasm64): no bits left of the ~0 it held */
    assert_non_null(strstr(r.json, "\"Output\":\"rc 0 written 13\""));
    assert_string_equal(r.stdout_text, "hello emproc\n");
    host_result_free(&r);
    host_process_free(p);
}

static void environ_sizes_and_time_are_64_bit(void **state)
{
    (void)state;
    host_process *p = new_proc(0);
    expect_output(p, "Env", "count 0 size 0");
    /* the deterministic clock: 10000 ms at the message's start, +1 per read */
    expect_output(p, "Time", "ns 10000000000 ms 10001");
    expect_output(p, "Time", "ns 10000000000 ms 10001");
    expect_output(p, "Weave", "open 0");
    host_process_free(p);
}

static void heap_grows_through_resize_heap(void **state)
{
    (void)state;
    host_process *p = new_proc(0);
    size_t before;
    host_process_memory(p, &before);
    host_result r;
    run(p, "Grow", &r);
    assert_null(r.error);
    /* the module saw the memory grow to the end of its 3 MiB block: the
     * size it asked for, in whole pages (more than +20% of 2 MiB) */
    unsigned long pages = 0;
    const char *o = strstr(r.json, "\"Output\":\"pages ");
    assert_non_null(o);
    assert_int_equal(sscanf(o, "\"Output\":\"pages %lu byte 7\"", &pages), 1);
    host_result_free(&r);
    size_t after;
    host_process_memory(p, &after);
    assert_int_equal(after, pages * 65536);
    assert_true(after > before && after >= (3u << 20) + (1u << 20));
    host_process_free(p);
}

static void addresses_beyond_4_gib(void **state)
{
    (void)state;
    host_process *p = new_proc(0);
    if (!g_64) {
        expect_output(p, "High", "no 64-bit addresses");
        host_process_free(p);
        return;
    }
    /* 4 GiB + 4104 bytes asked: exactly that, in whole pages (the +20% of
     * the old size is smaller) */
    expect_output(p, "High", "high 81985529216486895 pages 65537");
    size_t len;
    host_process_memory(p, &len);
    assert_int_equal(len, 65537ull * 65536);
    expect_output(p, "Count", "count 2");
    host_process_free(p);

    /* under a Memory-Limit of 64 MiB the growth fails and the module sees it */
    p = new_proc(64u << 20);
    expect_output(p, "High", "no memory");
    expect_output(p, "Count", "count 2");
    host_process_free(p);
}

static void a_failed_message_drops_the_pages_it_grew(void **state)
{
    (void)state;
    host_process *p = new_proc(0);
    size_t before;
    const uint8_t *m = host_process_memory(p, &before);
    uint8_t *copy = malloc(before);
    assert_non_null(copy);
    memcpy(copy, m, before);
    /* the module grows the memory by 3 MiB, writes there, then fails */
    expect_error(p, "GrowFail", "grew, then failed");
    size_t after;
    m = host_process_memory(p, &after);
    assert_int_equal(after, before);
    assert_true(memcmp(m, copy, before) == 0);
    free(copy);
    expect_output(p, "Count", "count 1");
    host_process_free(p);
}

static void snapshots_and_memory_checkpoints_resume(void **state)
{
    (void)state;
    host_process *p = new_proc(0);
    expect_output(p, "Count", "count 1");
    host_result r;
    run(p, "Grow", &r);
    assert_null(r.error);
    host_result_free(&r);

    ao_buf snap;
    ao_buf_init(&snap);
    ao_error err = {0};
    assert_int_equal(host_process_snapshot(p, &snap, &err), AO_OK);
    host_process *q = NULL;
    assert_int_equal(host_process_new_from_snapshot(g_mod, NULL, snap.data, snap.len, &q, &err), AO_OK);
    expect_output(q, "Count", "count 3");
    host_process_free(q);

    /* a raw memory checkpoint (the data layer's kind) */
    size_t len;
    const uint8_t *mem = host_process_memory(p, &len);
    q = NULL;
    assert_int_equal(host_process_new_from_memory(g_mod, NULL, mem, len, &q, &err), AO_OK);
    expect_output(q, "Count", "count 3");
    host_process_free(q);

    expect_output(p, "Count", "count 3");
    ao_buf_free(&snap);
    host_process_free(p);
}

static void messages_larger_than_the_stack_are_errors(void **state)
{
    (void)state;
    host_process *p = new_proc(0);
    size_t n = 2u << 20;   /* the modules' stack is 1 MiB */
    char *msg = malloc(n + 64);
    assert_non_null(msg);
    int k = snprintf(msg, 64, "{\"Id\":\"m\",\"Data\":\"");
    memset(msg + k, 'x', n);
    strcpy(msg + k + n, "\"}");
    host_result r;
    ao_error err = {0};
    assert_int_equal(host_process_handle(p, msg, ENV, &r, &err), AO_OK);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "too large for the module's stack"));
    host_result_free(&r);
    free(msg);
    expect_output(p, "Count", "count 1");
    host_process_free(p);
}

static void same_messages_same_memory(void **state)
{
    (void)state;
    static const char *const log[] = {"Count", "Longjmp", "Print", "Fail", "Grow", "Time", "Trap", "Count"};
    host_process *a = new_proc(0), *b = new_proc(0);
    for (size_t i = 0; i < sizeof log / sizeof log[0]; i++) {
        host_result ra, rb;
        run(a, log[i], &ra);
        run(b, log[i], &rb);
        assert_string_equal(ra.json, rb.json);
        host_result_free(&ra);
        host_result_free(&rb);
    }
    size_t la, lb;
    const uint8_t *ma = host_process_memory(a, &la), *mb = host_process_memory(b, &lb);
    assert_int_equal(la, lb);
    assert_true(memcmp(ma, mb, la) == 0);
    host_process_free(a);
    host_process_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_and_memory_width_must_agree),
        cmocka_unit_test(sandboxed_imports_answer_as_documented),
        cmocka_unit_test(state_persists_and_failures_roll_back),
        cmocka_unit_test(longjmp_through_invoke_with_i64_pointers),
        cmocka_unit_test(fd_write_reads_16_byte_iovecs),
        cmocka_unit_test(environ_sizes_and_time_are_64_bit),
        cmocka_unit_test(heap_grows_through_resize_heap),
        cmocka_unit_test(addresses_beyond_4_gib),
        cmocka_unit_test(a_failed_message_drops_the_pages_it_grew),
        cmocka_unit_test(snapshots_and_memory_checkpoints_resume),
        cmocka_unit_test(messages_larger_than_the_stack_are_errors),
        cmocka_unit_test(same_messages_same_memory),
    };
    int failed = cmocka_run_group_tests_name("wasm32-unknown-emscripten4", tests, setup32, teardown);
    return failed + cmocka_run_group_tests_name("wasm64-unknown-emscripten-draft_2024_02_15", tests, setup64,
                                                teardown);
}
