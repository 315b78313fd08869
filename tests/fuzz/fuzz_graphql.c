/* fuzz_graphql.c - libFuzzer target for the GraphQL subset (src/weave/gql_*):
 * the input is query text, optionally followed by a NUL byte and the
 * variables JSON. It is parsed, then executed against a small weave (a
 * few signed items, made once per process); the response must always be
 * valid JSON holding either "data" or "errors". */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "item/item.h"
#include "weave/gql.h"
#include "weave/weave.h"

static weave *fz_weave;
static char fz_dir[64];

static void fz_cleanup(void)
{
    weave_close(fz_weave);
    fz_weave = NULL;
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fz_dir);
}

static void fz_setup(void)
{
    strcpy(fz_dir, "/tmp/ao-fuzz-gql-XXXXXX");
    if (!mkdtemp(fz_dir))
        abort();
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    o.no_fsync = true;
    if (weave_open(fz_dir, &o, &fz_weave, NULL))
        abort();
    atexit(fz_cleanup);
    crypto_wallet *w;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &w, NULL))
        abort();
    static const char *const names[] = { "Data-Protocol", "Type", "Name", "Content-Type" };
    static const char *const types[] = { "Process", "Message", "Module", "Scheduler-Location" };
    for (int i = 0; i < 8; i++) {
        item_tag tags[4] = {
            { (const uint8_t *)names[0], strlen(names[0]), (const uint8_t *)"ao", 2 },
            { (const uint8_t *)names[1], strlen(names[1]), (const uint8_t *)types[i % 4],
              strlen(types[i % 4]) },
            { (const uint8_t *)names[2], strlen(names[2]), (const uint8_t *)"n\xff\"x", 4 },
            { (const uint8_t *)names[3], strlen(names[3]), (const uint8_t *)"text/plain", 10 },
        };
        item_fields f = { NULL, NULL, tags, 4, (const uint8_t *)"data", 4 };
        ao_buf b;
        ao_buf_init(&b);
        if (item_sign(w, &f, &b, NULL, NULL) || weave_put(fz_weave, b.data, b.len, 0, NULL, NULL))
            abort();
        ao_buf_free(&b);
    }
    crypto_wallet_free(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fz_weave)
        fz_setup();
    const char *q = (const char *)data;
    const uint8_t *nul = memchr(data, 0, size);
    size_t qlen = nul ? (size_t)(nul - data) : size;
    const char *vars = nul ? (const char *)nul + 1 : NULL;
    size_t vlen = nul ? size - qlen - 1 : 0;

    weave_gql_doc *doc = NULL;
    if (weave_gql_parse(q, qlen, &doc, NULL) == AO_OK)
        weave_gql_doc_free(doc);

    ao_buf out;
    ao_buf_init(&out);
    bool failed;
    if (weave_gql_execute(fz_weave, q, qlen, vars, vlen, NULL, &out, &failed, NULL) == AO_OK) {
        cJSON *j = cJSON_ParseWithLength((const char *)out.data, out.len);
        if (!j)
            __builtin_trap();
        bool has_data = cJSON_GetObjectItem(j, "data") != NULL;
        bool has_errors = cJSON_GetObjectItem(j, "errors") != NULL;
        if (has_data == has_errors || has_errors != failed)
            __builtin_trap();
        cJSON_Delete(j);
    }
    ao_buf_free(&out);
    return 0;
}
