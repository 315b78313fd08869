/* test_base.c - base64url, hex, buffers, files and the error convention. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

static void b64url_roundtrip_lengths(void **state)
{
    (void)state;
    uint8_t in[64];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof in; n++) {
        char *s = ao_b64url_encode(in, n);
        assert_non_null(s);
        assert_int_equal(strlen(s), ao_b64url_encoded_len(n));
        ao_buf out;
        ao_buf_init(&out);
        assert_int_equal(ao_b64url_decode(s, strlen(s), &out, NULL), AO_OK);
        assert_int_equal(out.len, n);
        assert_memory_equal(out.data, in, n);
        ao_buf_free(&out);
        free(s);
    }
}

static void b64url_known_values(void **state)
{
    (void)state;
    char *s = ao_b64url_encode((const uint8_t *)"\xfb\xff\xfe", 3);
    assert_string_equal(s, "-__-");
    free(s);
    s = ao_b64url_encode((const uint8_t *)"hello", 5);
    assert_string_equal(s, "aGVsbG8");
    free(s);
}

static void b64url_rejects_foreign(void **state)
{
    (void)state;
    const char *bad[] = { "aGVsbG8=", "a+b/", "aGV sbG8", "a", "aGVsbG9", "ab\n" };
    /* "aGVsbG9": last char '9' leaves non-zero unused bits */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ao_buf out;
        ao_error err;
        ao_buf_init(&out);
        assert_int_equal(ao_b64url_decode(bad[i], strlen(bad[i]), &out, &err), AO_EINVAL);
        assert_int_equal(err.code, AO_EINVAL);
        assert_true(strlen(err.msg) > 0);
        ao_buf_free(&out);
    }
}

static void hex_roundtrip_and_reject(void **state)
{
    (void)state;
    ao_buf out;
    ao_buf_init(&out);
    assert_int_equal(ao_hex_decode("00ffAb10", 8, &out, NULL), AO_OK);
    assert_int_equal(out.len, 4);
    char *h = ao_hex_encode(out.data, out.len);
    assert_string_equal(h, "00ffab10");
    free(h);
    ao_buf_reset(&out);
    assert_int_equal(ao_hex_decode("abc", 3, &out, NULL), AO_EINVAL);
    ao_buf_reset(&out);
    assert_int_equal(ao_hex_decode("zz", 2, &out, NULL), AO_EINVAL);
    ao_buf_free(&out);
}

static void buf_append_and_take(void **state)
{
    (void)state;
    ao_buf b;
    ao_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ao_buf_printf(&b, "%d,", i), AO_OK);
    assert_int_equal(ao_buf_append_u64le(&b, 0x0102030405060708ull), AO_OK);
    assert_int_equal(ao_rd_u64le(b.data + b.len - 8), 0x0102030405060708ull);
    size_t n;
    uint8_t *p = ao_buf_take(&b, &n);
    assert_non_null(p);
    assert_int_equal(p[n], 0);
    assert_null(b.data);
    free(p);
}

static void file_atomic_write_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/ao-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    assert_int_equal(ao_file_write_atomic(path, "abc", 3, 0600, NULL), AO_OK);
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(ao_file_read(path, &b, NULL), AO_OK);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "abc", 3);
    ao_buf_free(&b);
    ao_error err;
    assert_int_equal(ao_file_read("/nonexistent/x", &b, &err), AO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/x"));
    unlink(path);
    rmdir(dir);
}

static void error_wrap(void **state)
{
    (void)state;
    ao_error err;
    assert_int_equal(ao_err_set(&err, AO_EFORMAT, "bad %s", "thing"), AO_EFORMAT);
    assert_int_equal(ao_err_wrap(&err, "item %d", 3), AO_EFORMAT);
    assert_string_equal(err.msg, "item 3: bad thing");
    assert_string_equal(ao_strerror(AO_EFORMAT), "EFORMAT");
    assert_int_equal(ao_err_set(NULL, AO_EIO, "x"), AO_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(b64url_roundtrip_lengths),
        cmocka_unit_test(b64url_known_values),
        cmocka_unit_test(b64url_rejects_foreign),
        cmocka_unit_test(hex_roundtrip_and_reject),
        cmocka_unit_test(buf_append_and_take),
        cmocka_unit_test(file_atomic_write_read),
        cmocka_unit_test(error_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
