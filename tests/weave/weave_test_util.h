/*
 * weave_test_util.h - header-only helpers for the weave tests: temporary
 * data dirs, signing small items with tags, bundling them. Static
 * functions only (each test binary gets its own copy).
 */
#ifndef AO_TESTS_WEAVE_TEST_UTIL_H
#define AO_TESTS_WEAVE_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weave/weave.h"

/* mkdtemp'd dir; wtu_rmdir() removes it. */
static inline char *wtu_tmpdir(void)
{
    char *d = strdup("/tmp/ao-weave-test-XXXXXX");
    if (d && !mkdtemp(d)) {
        free(d);
        return NULL;
    }
    return d;
}

static inline void wtu_rmdir(char *d)
{
    if (!d)
        return;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", d);
    free(d);
}

/* Sign an item: tags as "name=value" strings, optional target (32 bytes),
 * data string. Appends to out; id_b64 (may be NULL) gets the id. */
static inline int wtu_item(const crypto_wallet *wl, const char *const *kv, size_t n,
                           const uint8_t *target, const void *data, size_t dlen,
                           ao_buf *out, char id_b64[WEAVE_ID_MAX])
{
    item_tag tags[16];
    if (n > 16)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        tags[i].name = (const uint8_t *)kv[i];
        tags[i].name_len = (size_t)(eq - kv[i]);
        tags[i].value = (const uint8_t *)eq + 1;
        tags[i].value_len = strlen(eq + 1);
    }
    item_fields f = { target, NULL, tags, n, data, dlen };
    uint8_t id[ITEM_ID_LEN];
    size_t start = out->len;
    int r = item_sign(wl, &f, out, id, NULL);
    (void)start;
    if (!r && id_b64)
        ao_b64url_encode_to(id, ITEM_ID_LEN, id_b64);
    return r;
}

#endif
